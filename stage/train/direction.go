package train

import "slices"

// Orient writes the tokens of doc into dst (at least len(doc) long) in the
// order a model of that direction reads them: as they are for a forward
// model, back to front for a backward one (artifacts.DirBackward), as
// fastai's backwards models read a document (reverse_text flips each
// numericalized document, so a reversed document ends with its xxbos). It is
// the one place documents are reversed: the LM stream (LMData), the
// classifier's data (clftrain.LoadData) and the predictor's raw text.
// dst may be doc itself (in place); otherwise the two must not overlap.
func Orient(dst, doc []int32, backward bool) {
	n := len(doc)
	if n == 0 {
		return
	}
	dst = dst[:n]
	same := &dst[0] == &doc[0]
	switch {
	case !backward && !same:
		copy(dst, doc)
	case backward && same:
		slices.Reverse(dst)
	case backward:
		for j, t := range doc {
			dst[n-1-j] = t
		}
	}
}
