package train

// VocabRemap maps a new vocabulary onto an old one by token string, for
// transferring a language model to a target corpus with its own vocabulary
// (fastai's match_embeds): rows of tokens the old vocabulary knows are
// copied; rows of new tokens get the mean of all old rows (the mean
// embedding, or the mean decoder bias).
type VocabRemap struct {
	// Index[i] is the old id of new token i, or -1 if the old vocab lacks it.
	Index []int
	// Copied and Added count the new tokens found / not found in the old vocab.
	Copied, Added int
	// OldLen is the size of the old vocabulary.
	OldLen int
}

// NewVocabRemap matches newTokens against oldTokens by exact string.
func NewVocabRemap(oldTokens, newTokens []string) *VocabRemap {
	pos := make(map[string]int, len(oldTokens))
	for i, t := range oldTokens {
		if _, dup := pos[t]; !dup {
			pos[t] = i
		}
	}
	r := &VocabRemap{Index: make([]int, len(newTokens)), OldLen: len(oldTokens)}
	for i, t := range newTokens {
		if j, ok := pos[t]; ok {
			r.Index[i] = j
			r.Copied++
		} else {
			r.Index[i] = -1
			r.Added++
		}
	}
	return r
}

// Rows remaps a vocabulary-indexed tensor old [OldLen, width] (an embedding
// or decoder weight, or a decoder bias with width 1) to [len(Index), width].
// The mean row is accumulated in float64.
func (r *VocabRemap) Rows(old []float32, width int) []float32 {
	mean := make([]float32, width)
	if r.Added > 0 && r.OldLen > 0 {
		acc := make([]float64, width)
		for i := 0; i < r.OldLen; i++ {
			row := old[i*width : (i+1)*width]
			for j, v := range row {
				acc[j] += float64(v)
			}
		}
		for j := range acc {
			mean[j] = float32(acc[j] / float64(r.OldLen))
		}
	}
	out := make([]float32, len(r.Index)*width)
	for i, j := range r.Index {
		dst := out[i*width : (i+1)*width]
		if j >= 0 {
			copy(dst, old[j*width:(j+1)*width])
		} else {
			copy(dst, mean)
		}
	}
	return out
}
