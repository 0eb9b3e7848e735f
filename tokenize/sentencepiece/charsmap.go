package sentencepiece

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// charsmap is a decoded NormalizerSpec.precompiled_charsmap: a Darts-clone double array
// whose keys are the UTF-8 strings a rule rewrites and whose values are offsets of the
// replacements in a pool of NUL-terminated strings.
//
// The blob is laid out as: a little-endian uint32 with the byte size of the double
// array, the double array (little-endian uint32 units), then the string pool.
type charsmap struct {
	units []uint32
	pool  string
}

// Darts-clone unit layout: bits 0-7 the label, bit 8 "has a leaf child", bit 9 the
// offset's scale flag, bits 10-30 the offset; a leaf unit has bit 31 set and its value
// in bits 0-30.
func dartsHasLeaf(u uint32) bool  { return u>>8&1 == 1 }
func dartsValue(u uint32) uint32  { return u & (1<<31 - 1) }
func dartsLabel(u uint32) uint32  { return u & (1<<31 | 0xFF) }
func dartsOffset(u uint32) uint32 { return u >> 10 << ((u & (1 << 9)) >> 6) }

// parseCharsmap decodes a precompiled charsmap blob; an empty blob is no charsmap (nil).
func parseCharsmap(blob []byte) (*charsmap, error) {
	if len(blob) == 0 {
		return nil, nil
	}
	if len(blob) <= 4 {
		return nil, fmt.Errorf("sentencepiece: precompiled charsmap: %d bytes, too short", len(blob))
	}
	size := binary.LittleEndian.Uint32(blob)
	if uint64(size) >= uint64(len(blob)) {
		return nil, fmt.Errorf("sentencepiece: precompiled charsmap: trie size %d exceeds the blob (%d bytes)", size, len(blob))
	}
	if size%4 != 0 || size == 0 {
		return nil, fmt.Errorf("sentencepiece: precompiled charsmap: trie size %d is not a positive multiple of 4", size)
	}
	trie := blob[4 : 4+size]
	units := make([]uint32, size/4)
	for i := range units {
		units[i] = binary.LittleEndian.Uint32(trie[4*i:])
	}
	return &charsmap{units: units, pool: string(blob[4+size:])}, nil
}

// longestPrefix returns the replacement for the longest rule that is a prefix of s and
// the number of bytes it covers; n is 0 when no rule matches.
func (c *charsmap) longestPrefix(s string) (repl string, n int) {
	units := c.units
	pos := dartsOffset(units[0])
	value := uint32(0)
	for i := 0; i < len(s); i++ {
		b := uint32(s[i])
		pos ^= b
		if pos >= uint32(len(units)) {
			break
		}
		u := units[pos]
		if dartsLabel(u) != b {
			break
		}
		pos ^= dartsOffset(u)
		if dartsHasLeaf(u) {
			if pos >= uint32(len(units)) {
				break
			}
			n = i + 1
			value = dartsValue(units[pos])
		}
	}
	if n == 0 {
		return "", 0
	}
	if value >= uint32(len(c.pool)) {
		// A broken model: a rule past the pool. spm would read out of bounds; treat
		// the rule as mapping to nothing.
		return "", n
	}
	repl = c.pool[value:]
	if i := strings.IndexByte(repl, 0); i >= 0 {
		repl = repl[:i]
	}
	return repl, n
}
