package train

import "github.com/ulmfit-go/ulmfit/nn"

// Stream identifies what a random stream is used for, so that independent
// uses never share numbers.
type Stream uint64

// Random stream purposes. Each is combined with the run seed and, where it
// applies, the epoch and step, so a resumed run draws exactly the numbers an
// uninterrupted run would have drawn without saving any generator state.
const (
	StreamInit    Stream = 1 // weight initialisation
	StreamShuffle Stream = 2 // document order, per epoch
	StreamBPTT    Stream = 3 // sequence length, per step
	StreamDropout Stream = 4 // dropout masks, per step
	StreamSplit   Stream = 5 // train/valid split
	StreamLRFind  Stream = 6 // the LR finder's data and dropout
)

// splitmix64 is one step of the SplitMix64 output function: a bijective
// mixer with good avalanche, used to combine seed parts.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Mix hashes a seed and any number of parts (stream, epoch, step, ...) into
// one 64-bit value. Different part lists give unrelated values.
func Mix(seed uint64, parts ...uint64) uint64 {
	h := splitmix64(seed ^ 0x243f6a8885a308d3)
	for _, p := range parts {
		h = splitmix64(h ^ splitmix64(p+0x13198a2e03707344))
	}
	return h
}

// NewRNG returns the generator of stream (seed, s, parts...), e.g.
// NewRNG(seed, StreamShuffle, epoch) or NewRNG(seed, StreamDropout, epoch, step).
func NewRNG(seed uint64, s Stream, parts ...uint64) *nn.RNG {
	all := append([]uint64{uint64(s)}, parts...)
	return nn.NewRNG(Mix(seed, all...))
}
