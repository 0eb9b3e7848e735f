package tokenize

// Tokens is a reusable list of tokens stored back to back in one buffer.
type Tokens struct {
	Buf  []byte  // token bytes, back to back
	Ends []int32 // Ends[i] is the end of token i in Buf
}

// Reset empties the list, keeping its memory.
func (t *Tokens) Reset() { t.Buf, t.Ends = t.Buf[:0], t.Ends[:0] }

// Len is the number of tokens.
func (t *Tokens) Len() int { return len(t.Ends) }

// At returns token i; the bytes are valid until the next Reset.
func (t *Tokens) At(i int) []byte {
	start := int32(0)
	if i > 0 {
		start = t.Ends[i-1]
	}
	return t.Buf[start:t.Ends[i]]
}

// Strings returns copies of the tokens from index from on.
func (t *Tokens) Strings(from int) []string {
	out := make([]string, 0, t.Len()-from)
	for i := from; i < t.Len(); i++ {
		out = append(out, string(t.At(i)))
	}
	return out
}

func (t *Tokens) add(b []byte) {
	t.Buf = append(t.Buf, b...)
	t.Ends = append(t.Ends, int32(len(t.Buf)))
}

func (t *Tokens) addString(s string) {
	t.Buf = append(t.Buf, s...)
	t.Ends = append(t.Ends, int32(len(t.Buf)))
}
