package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// RNG is the deterministic random source of the package: a PCG generator
// (math/rand/v2) seeded explicitly. It is not safe for concurrent use. Its
// state can be saved and restored (State, SetState) so a resumed training run
// draws the same numbers as an uninterrupted one.
type RNG struct {
	pcg *rand.PCG
}

// NewRNG returns an RNG seeded with seed. Derive independent streams with
// NewRNG(seed ^ constant) or Child.
func NewRNG(seed uint64) *RNG {
	return &RNG{pcg: rand.NewPCG(seed, 0x9e3779b97f4a7c15)}
}

// Uint64 returns the next 64 random bits.
func (r *RNG) Uint64() uint64 { return r.pcg.Uint64() }

// Float32 returns a uniform number in [0,1) with 24 random bits:
// float32(Uint64()>>40) / 2^24. The formula is part of the contract (dropout
// masks must be identical across backends).
func (r *RNG) Float32() float32 { return float32(r.pcg.Uint64()>>40) / (1 << 24) }

// Float64 returns a uniform number in [0,1) with 53 random bits.
func (r *RNG) Float64() float64 { return float64(r.pcg.Uint64()>>11) / (1 << 53) }

// IntN returns a uniform integer in [0,n); n must be > 0.
func (r *RNG) IntN(n int) int {
	if n <= 0 {
		panic("nn: RNG.IntN with n <= 0")
	}
	// Lemire's multiply-shift with rejection, unbiased.
	un := uint64(n)
	for {
		x := r.pcg.Uint64()
		hi, lo := mulHiLo(x, un)
		if lo >= un || lo >= (-un)%un {
			return int(hi)
		}
	}
}

func mulHiLo(a, b uint64) (hi, lo uint64) {
	const mask32 = 1<<32 - 1
	a0, a1 := a&mask32, a>>32
	b0, b1 := b&mask32, b>>32
	w0 := a0 * b0
	t := a1*b0 + w0>>32
	w1 := t & mask32
	w2 := t >> 32
	w1 += a0 * b1
	hi = a1*b1 + w2 + w1>>32
	lo = a * b
	return
}

// Uniform fills x with draws from U(lo, hi).
func (r *RNG) Uniform(x []float32, lo, hi float32) {
	for i := range x {
		x[i] = lo + (hi-lo)*r.Float32()
	}
}

// Normal returns a standard normal draw (Box-Muller).
func (r *RNG) Normal() float64 {
	u1 := r.Float64()
	for u1 == 0 {
		u1 = r.Float64()
	}
	u2 := r.Float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// Perm returns a random permutation of [0,n) (Fisher-Yates).
func (r *RNG) Perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// Child returns a new RNG seeded from the next draw of r, for an independent
// stream (e.g. one per layer) that is still determined by r's seed.
func (r *RNG) Child() *RNG { return NewRNG(r.Uint64()) }

// State returns the generator state (for checkpoints).
func (r *RNG) State() ([]byte, error) {
	b, err := r.pcg.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("nn: saving rng state: %w", err)
	}
	return b, nil
}

// SetState restores a state returned by State.
func (r *RNG) SetState(b []byte) error {
	if err := r.pcg.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("nn: restoring rng state: %w", err)
	}
	return nil
}
