package cpu

import "sync"

// job is one piece of parallel work: run processes the half-open range of
// items [lo, hi) as part number part (0 <= part < parts). Jobs are pointers to
// long-lived argument structs, so handing one to the pool does not allocate.
type job interface {
	run(part, lo, hi int)
}

// pool is a small persistent worker pool: threads-1 goroutines plus the
// calling goroutine. One parallel call runs at a time: a caller must hold the
// pool (acquire) while it fills the backend's shared job structs and runs
// them. A caller that cannot get it (a parallel op issued from inside
// ParallelFor, or from a second goroutine) runs its op serially instead, so
// nesting never deadlocks and the cores are never oversubscribed.
type pool struct {
	threads int
	mu      sync.Mutex
	work    []chan span
	done    chan struct{}
}

type span struct {
	j            job
	part, lo, hi int
}

func newPool(threads int) *pool {
	if threads < 1 {
		threads = 1
	}
	p := &pool{threads: threads, done: make(chan struct{}, threads)}
	for i := 1; i < threads; i++ {
		ch := make(chan span, 1)
		p.work = append(p.work, ch)
		go p.worker(ch)
	}
	return p
}

func (p *pool) worker(ch chan span) {
	for s := range ch {
		s.j.run(s.part, s.lo, s.hi)
		p.done <- struct{}{}
	}
}

// close stops the workers; later calls run serially.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ch := range p.work {
		close(ch)
	}
	p.work = nil
	p.threads = 1
}

// acquire takes the pool if it is free.
func (p *pool) acquire() bool { return p.mu.TryLock() }

// release gives the pool back.
func (p *pool) release() { p.mu.Unlock() }

// minWork is the amount of work (in rough "element operations") below which
// waking a worker costs more than it saves.
const minWork = 1 << 16

// parts returns how many parts n items of the given per-item cost should be
// split into.
func (p *pool) parts(n, cost int) int {
	t := p.threads
	if w := n * cost / minWork; w < t {
		t = w
	}
	if t > n {
		t = n
	}
	if t < 1 {
		t = 1
	}
	return t
}

// run splits [0, n) into parts contiguous ranges whose boundaries are
// multiples of align (except the end) and runs them on the pool, the calling
// goroutine taking part 0. The caller must hold the pool.
func (p *pool) run(j job, n, parts, align int) {
	if align < 1 {
		align = 1
	}
	blocks := (n + align - 1) / align
	parts = min(parts, blocks, len(p.work)+1)
	if parts <= 1 {
		j.run(0, 0, n)
		return
	}
	for i := 1; i < parts; i++ {
		p.work[i-1] <- span{j: j, part: i, lo: bound(i, parts, blocks, align, n), hi: bound(i+1, parts, blocks, align, n)}
	}
	j.run(0, 0, bound(1, parts, blocks, align, n))
	for i := 1; i < parts; i++ {
		<-p.done
	}
}

func bound(i, parts, blocks, align, n int) int {
	return min(blocks*i/parts*align, n)
}
