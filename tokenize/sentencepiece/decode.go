package sentencepiece

import (
	"strings"
	"unicode/utf8"
)

// Decode returns the text of the piece ids, as spm_decode --input_format=id prints it:
// Space becomes a space, the leading space that add_dummy_prefix (or
// remove_extra_whitespaces) implies is dropped, control pieces vanish, the unknown
// piece reads as TrainerSpec.UnkSurface (" ⁇ "), runs of byte pieces are decoded as
// UTF-8 (each malformed byte as U+FFFD), and a denormalizer charsmap is applied last.
// Ids out of range are skipped (spm_decode rejects the line).
func (p *Processor) Decode(ids []int32) string {
	var out []byte
	var bytes []byte
	flush := func() {
		for len(bytes) > 0 {
			r, l := utf8.DecodeRune(bytes)
			if r == utf8.RuneError && l == 1 {
				out = append(out, replacementChar...)
			} else {
				out = append(out, bytes[:l]...)
			}
			bytes = bytes[l:]
		}
	}
	spec := &p.model.Normalizer
	stripBOS := spec.AddDummyPrefix || spec.RemoveExtraWhitespaces
	bosWS := true // still expecting the leading space to drop
	bosWSSeen := false
	for _, id := range ids {
		if id < 0 || int(id) >= len(p.pieces) {
			continue
		}
		id = p.decodeID[id]
		piece := p.pieces[id]
		typ := p.types[id]
		if typ == Byte {
			b, _ := parseBytePiece(piece)
			bytes = append(bytes, b)
			continue
		}
		flush()
		if bosWSSeen || len(out) > 0 {
			bosWS = false
		}
		bosWSSeen = false
		switch typ {
		case Control:
			continue
		case Unknown:
			out = append(out, p.model.Trainer.UnkSurface...)
			continue
		}
		if bosWS && stripBOS {
			if strings.HasPrefix(piece, Space) {
				piece = piece[len(Space):]
				// With remove_extra_whitespaces every leading space goes.
				bosWSSeen = !spec.RemoveExtraWhitespaces
			}
		}
		for {
			i := strings.Index(piece, Space)
			if i < 0 {
				out = append(out, piece...)
				break
			}
			out = append(out, piece[:i]...)
			out = append(out, ' ')
			piece = piece[i+len(Space):]
		}
	}
	flush()
	if p.denorm != nil {
		return string(p.denorm.normalize(nil, string(out)))
	}
	return string(out)
}
