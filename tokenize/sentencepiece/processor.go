package sentencepiece

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
)

// Processor segments text with a Model as spm_encode 0.1.97 does and decodes piece ids
// as spm_decode does. It supports unigram and BPE models. A Processor is read-only
// after NewProcessor returns and safe for concurrent use.
type Processor struct {
	model *Model
	kind  ModelType

	pieces   []string
	types    []PieceType
	scores   []float32
	normal   map[string]int32 // NORMAL, USER_DEFINED, UNUSED pieces (spm's pieces_)
	reserved map[string]int32 // CONTROL, UNKNOWN, BYTE pieces (spm's reserved_id_map_)
	decodeID []int32          // PieceToId(IdToPiece(id)), as spm_decode re-reads ids
	unkID    int32
	byteIDs  [256]int32 // byte fallback piece ids; -1 without byte fallback
	byteFB   bool

	norm   *normalizer
	denorm *normalizer // nil unless the model has a denormalizer charsmap

	trie        *pieceTrie // unigram: NORMAL and USER_DEFINED pieces
	userDefined *pieceTrie // nil when there are no user-defined pieces
	minScore    float32
	maxScore    float32
	unkScore    float32

	pool sync.Pool // *scratch
}

// scratch is the per-call working memory of Encode.
type scratch struct {
	norm  []byte
	best  []bestNode
	spans []span
	bpe   bpeScratch
}

// bytePiece is the piece name of byte b under byte fallback ("<0x41>").
func bytePiece(b byte) string {
	const hex = "0123456789ABCDEF"
	return string([]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'})
}

// NewProcessor checks m as spm's model loader does (non-empty, NUL-free, distinct
// pieces; exactly one unknown piece; all 256 byte pieces when byte_fallback is set) and
// prepares it for segmentation. Unigram and BPE models are supported; WORD and CHAR
// models are refused with an error naming the type.
func NewProcessor(m *Model) (*Processor, error) {
	if m == nil {
		return nil, errors.New("sentencepiece: NewProcessor: nil model")
	}
	switch m.Trainer.ModelType {
	case Unigram, BPE:
	case Word:
		return nil, errors.New("sentencepiece: model type WORD is not supported (only UNIGRAM and BPE)")
	case Char:
		return nil, errors.New("sentencepiece: model type CHAR is not supported (only UNIGRAM and BPE)")
	default:
		return nil, fmt.Errorf("sentencepiece: unknown model type %d", m.Trainer.ModelType)
	}
	n := len(m.Pieces)
	if n == 0 {
		return nil, errors.New("sentencepiece: model has no pieces")
	}
	if n >= userDefinedFlag {
		return nil, fmt.Errorf("sentencepiece: model has %d pieces, too many", n)
	}
	p := &Processor{
		model:    m,
		kind:     m.Trainer.ModelType,
		pieces:   make([]string, n),
		types:    make([]PieceType, n),
		scores:   make([]float32, n),
		normal:   make(map[string]int32, n),
		reserved: make(map[string]int32),
		unkID:    -1,
		byteFB:   m.Trainer.ByteFallback,
	}
	var byteFound [256]bool
	var userKeys []trieKey
	for i, pc := range m.Pieces {
		id := int32(i)
		if pc.Piece == "" {
			return nil, fmt.Errorf("sentencepiece: piece %d is empty", i)
		}
		if strings.IndexByte(pc.Piece, 0) >= 0 {
			return nil, fmt.Errorf("sentencepiece: piece %d (%q) contains a NUL byte", i, pc.Piece)
		}
		p.pieces[i], p.types[i], p.scores[i] = pc.Piece, pc.Type, pc.Score
		target := p.reserved
		if pc.Type == Normal || pc.Type == UserDefined || pc.Type == Unused {
			target = p.normal
		}
		if _, dup := target[pc.Piece]; dup {
			return nil, fmt.Errorf("sentencepiece: piece %d (%q) is already defined", i, pc.Piece)
		}
		target[pc.Piece] = id
		switch pc.Type {
		case UserDefined:
			userKeys = append(userKeys, trieKey{key: pc.Piece, id: id})
		case Unknown:
			if p.unkID >= 0 {
				return nil, fmt.Errorf("sentencepiece: piece %d (%q): a second unknown piece (the first is %d)", i, pc.Piece, p.unkID)
			}
			p.unkID = id
		case Byte:
			if !m.Trainer.ByteFallback {
				return nil, fmt.Errorf("sentencepiece: byte piece %q although byte_fallback is false", pc.Piece)
			}
			b, ok := parseBytePiece(pc.Piece)
			if !ok {
				return nil, fmt.Errorf("sentencepiece: byte piece %q is invalid", pc.Piece)
			}
			byteFound[b] = true
		}
	}
	if p.unkID < 0 {
		return nil, errors.New("sentencepiece: model has no unknown piece")
	}
	for b := range p.byteIDs {
		p.byteIDs[b] = -1
		if p.byteFB {
			if !byteFound[b] {
				return nil, fmt.Errorf("sentencepiece: byte_fallback is true but byte piece %s is missing", bytePiece(byte(b)))
			}
			p.byteIDs[b] = p.PieceToID(bytePiece(byte(b)))
		}
	}
	p.decodeID = make([]int32, n)
	for i, s := range p.pieces {
		p.decodeID[i] = p.PieceToID(s)
	}
	if len(userKeys) > 0 {
		p.userDefined = buildTrie(userKeys)
	}

	var err error
	if p.norm, err = newNormalizer(&m.Normalizer, m.Trainer.TreatWhitespaceAsSuffix, p.userDefined); err != nil {
		return nil, err
	}
	if d := m.Denormalizer; d != nil && len(d.PrecompiledCharsmap) > 0 {
		if p.denorm, err = newNormalizer(d, false, nil); err != nil {
			return nil, fmt.Errorf("sentencepiece: denormalizer: %w", err)
		}
	}

	if p.kind == Unigram {
		// spm starts min_score_ at FLT_MAX and max_score_ at FLT_MIN (the least
		// positive normal float, not the most negative one).
		p.minScore, p.maxScore = math.MaxFloat32, math.Float32frombits(0x00800000)
		for _, pc := range m.Pieces {
			if pc.Type == Normal {
				p.minScore = min(p.minScore, pc.Score)
				p.maxScore = max(p.maxScore, pc.Score)
			}
		}
		p.unkScore = p.minScore - unkPenalty
		keys := make([]trieKey, 0, len(p.normal))
		for i, pc := range m.Pieces {
			switch pc.Type {
			case Normal:
				keys = append(keys, trieKey{key: pc.Piece, id: int32(i), score: pc.Score})
			case UserDefined:
				keys = append(keys, trieKey{key: pc.Piece, id: int32(i) | userDefinedFlag})
			case Unused:
				// In the trie but never a candidate: a prefix path only.
				keys = append(keys, trieKey{key: pc.Piece, id: -1})
			}
		}
		p.trie = buildTrie(keys)
	}
	p.pool.New = func() any { return new(scratch) }
	return p, nil
}

func parseBytePiece(s string) (byte, bool) {
	if len(s) != 6 || s[:3] != "<0x" || s[5] != '>' {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[3:5]) {
		switch {
		case '0' <= c && c <= '9':
			v = v*16 + int(c-'0')
		case 'A' <= c && c <= 'F':
			v = v*16 + int(c-'A'+10)
		default:
			return 0, false
		}
	}
	return byte(v), true
}

// Model returns the model the Processor was built from; it must not be modified.
func (p *Processor) Model() *Model { return p.model }

// Len returns the number of pieces (the vocabulary size).
func (p *Processor) Len() int { return len(p.pieces) }

// Piece returns the text of piece id ("" when id is out of range).
func (p *Processor) Piece(id int32) string {
	if id < 0 || int(id) >= len(p.pieces) {
		return ""
	}
	return p.pieces[id]
}

// PieceID returns the id of the piece s and whether the model has it.
func (p *Processor) PieceID(s string) (int32, bool) {
	if id, ok := p.reserved[s]; ok {
		return id, true
	}
	id, ok := p.normal[s]
	return id, ok
}

// PieceToID returns the id of piece s, or the unknown id when the model lacks it (spm's
// PieceToId).
func (p *Processor) PieceToID(s string) int32 {
	if id, ok := p.PieceID(s); ok {
		return id
	}
	return p.unkID
}

// UnkID returns the id of the unknown piece.
func (p *Processor) UnkID() int32 { return p.unkID }

// Normalize returns text as the model's normalizer rewrites it before segmentation
// (charsmap rules, whitespace handling, Space for spaces).
func (p *Processor) Normalize(text string) string {
	return string(p.norm.normalize(nil, text))
}

// segment normalizes text into sc.norm and segments it into sc.spans.
func (p *Processor) segment(sc *scratch, text string) {
	sc.norm = p.norm.normalize(sc.norm[:0], text)
	sc.spans = sc.spans[:0]
	if p.kind == BPE {
		sc.spans = p.bpe(sc.norm, &sc.bpe, sc.spans)
		return
	}
	sc.best, sc.spans = p.unigram(sc.norm, sc.best, sc.spans)
}

func (p *Processor) put(sc *scratch) {
	if cap(sc.norm) > 1<<20 {
		return // do not keep huge buffers around
	}
	p.pool.Put(sc)
}

// Encode appends to dst the piece ids of text, exactly as spm_encode --output_format=id
// prints them for that line: a run of unknown characters is one unknown id, and with
// byte fallback an unknown character is the ids of its UTF-8 bytes' pieces.
func (p *Processor) Encode(dst []int32, text string) []int32 {
	sc := p.pool.Get().(*scratch)
	p.segment(sc, text)
	prevUnk := false
	for _, s := range sc.spans {
		unk := p.types[s.id] == Unknown
		switch {
		case unk && p.byteFB:
			for _, b := range sc.norm[s.start:s.end] {
				dst = append(dst, p.byteIDs[b])
			}
		case unk && prevUnk:
			// merged into the previous unknown piece
		default:
			dst = append(dst, s.id)
		}
		prevUnk = unk
	}
	p.put(sc)
	return dst
}

// EncodePieces returns the pieces of text, exactly as spm_encode --output_format=piece
// prints them: an unknown run is its (normalized) text, a byte-fallback byte "<0xXX>".
func (p *Processor) EncodePieces(text string) []string {
	sc := p.pool.Get().(*scratch)
	p.segment(sc, text)
	out := make([]string, 0, len(sc.spans))
	prevUnk := false
	for _, s := range sc.spans {
		unk := p.types[s.id] == Unknown
		w := sc.norm[s.start:s.end]
		switch {
		case unk && p.byteFB:
			for _, b := range w {
				out = append(out, bytePiece(b))
			}
		case unk && prevUnk:
			out[len(out)-1] += string(w)
		case unk || p.pieces[s.id] != string(w):
			out = append(out, string(w))
		default:
			out = append(out, p.pieces[s.id])
		}
		prevUnk = unk
	}
	p.put(sc)
	return out
}
