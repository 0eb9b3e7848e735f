package fastai

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/nlpodyssey/gopickle/types"
	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/nn"
)

// Layout names a fastai checkpoint key layout.
type Layout string

// The layouts this package reads. An AWD_QRNN's layer N is
// 0.rnns.N.layers.0.linear.weight_raw + module.bias in v2; v1 adds
// module.weight (a copy of the raw weight), as for the LSTM.
const (
	LayoutV2  Layout = "fastai-v2"  // 0.encoder_dp.emb.weight, 0.rnns.N.weight_hh_l0_raw, no module.weight_hh_l0
	LayoutV1  Layout = "fastai-v1"  // as v2, plus 0.rnns.N.module.weight_hh_l0 (a copy of the raw weight)
	LayoutV07 Layout = "fastai-0.7" // 0.encoder_with_dropout.embed.weight, 0.rnns.N.module.weight_hh_l0_raw
)

// entry is one named tensor of a state dict, in file order.
type entry struct {
	name string
	t    *torchTensor
}

// stateDict extracts the named tensors of a loaded checkpoint: a state dict
// (OrderedDict or dict of tensors), possibly wrapped as {'model': ...,
// 'opt': ...} as fastai's Learner.save writes it.
//
// The tensors may hold at most fileSize elements in all: more is only
// possible with many names viewing one storage (tied weights are a few),
// and would let a small crafted file demand any amount of memory.
func stateDict(obj any, fileSize int) ([]entry, error) {
	items, ok := dictItems(obj)
	// Unwrap {'model': ...} (Learner.save) a few times at most: a crafted
	// file nesting it millions of times must not exhaust the stack.
	for range 4 {
		inner, found := modelEntry(items)
		if !found {
			break
		}
		items = inner
	}
	if !ok {
		if o, isObj := obj.(*opaqueObject); isObj {
			return nil, fmt.Errorf("the file pickles a whole %s object, not a state dict; in Python save model.state_dict() instead", o.class)
		}
		return nil, fmt.Errorf("the checkpoint holds a %s, want a state dict (a dict of tensors)", pyType(obj))
	}
	if len(items) == 0 {
		return nil, errors.New("the checkpoint's state dict is empty")
	}
	out := make([]entry, 0, len(items))
	var skipped []string
	for _, it := range items {
		k, ok := it.Key.(string)
		if !ok {
			return nil, fmt.Errorf("state dict key %s is a %s, want a string", short(it.Key), pyType(it.Key))
		}
		t, ok := it.Value.(*torchTensor)
		if !ok {
			skipped = append(skipped, k)
			continue
		}
		out = append(out, entry{k, t})
	}
	total := 0
	for _, e := range out {
		n := 1
		for _, d := range e.t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("%s has shape %s", oneLine(e.name, 60), short(e.t.Shape))
			}
			if d > 0 && n > (fileSize+1)/d {
				n = fileSize + 1
				break
			}
			n *= d
		}
		if total += n; total > fileSize {
			return nil, fmt.Errorf("the tensors claim more elements than the file has bytes (%d), from %s on: names share storage far beyond tied weights (corrupt or crafted file)", fileSize, oneLine(e.name, 60))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the checkpoint's top-level dict holds no tensors (keys: %s)", strings.Join(firstN(skipped, 8), ", "))
	}
	return out, nil
}

// ReadStateDict decodes the bytes of a torch.save file that holds a state
// dict (an OrderedDict or dict of tensors, possibly wrapped as {'model':
// ..., 'opt': ...}) into named float32 tensors, in file order; entries that
// are not tensors are skipped. Both torch formats (zip and legacy) and any
// float, integer or bool dtype are read; strided views are made contiguous.
func ReadStateDict(data []byte) (_ []artifacts.Tensor, err error) {
	defer func() { err = capErr(err) }()
	obj, err := loadTorch(data)
	if err != nil {
		return nil, err
	}
	sd, err := stateDict(obj, len(data))
	if err != nil {
		return nil, err
	}
	out := make([]artifacts.Tensor, len(sd))
	for i, e := range sd {
		v, err := e.t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", oneLine(e.name, 60), err)
		}
		out[i] = artifacts.Tensor{Name: e.name, Shape: append([]int{}, e.t.Shape...), Data: v}
	}
	return out, nil
}

// modelEntry returns the items of a non-empty dict under the key "model".
func modelEntry(items []types.DictEntry) ([]types.DictEntry, bool) {
	for _, it := range items {
		if it.Key == "model" {
			if inner, ok := dictItems(it.Value); ok && len(inner) > 0 {
				return inner, true
			}
		}
	}
	return nil, false
}

// dictItems returns the entries of a pickled dict or OrderedDict.
func dictItems(obj any) ([]types.DictEntry, bool) {
	switch d := obj.(type) {
	case *types.OrderedDict:
		out := make([]types.DictEntry, 0, d.Len())
		for e := d.List.Front(); e != nil; e = e.Next() {
			oe := e.Value.(*types.OrderedDictEntry)
			out = append(out, types.DictEntry{Key: oe.Key, Value: oe.Value})
		}
		return out, true
	case *types.Dict:
		return *d, true
	}
	return nil, false
}

func pyType(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case string:
		return "str"
	case int:
		return "int"
	case float64:
		return "float"
	case *types.List:
		return "list"
	case *types.Tuple:
		return "tuple"
	case *torchTensor:
		return "tensor"
	case *opaqueObject:
		return v.(*opaqueObject).class.String() + " object"
	}
	return fmt.Sprintf("%T", v)
}

// firstN returns at most n of s (each cut to one short line, as names come
// from the file) and how many more there are.
func firstN(s []string, n int) []string {
	out := make([]string, 0, min(len(s), n)+1)
	for _, x := range s[:min(len(s), n)] {
		out = append(out, oneLine(x, 60))
	}
	if len(s) > n {
		out = append(out, fmt.Sprintf("... (%d more)", len(s)-n))
	}
	return out
}

// lmLayer holds one recurrent layer's tensors.
type lmLayer struct {
	wih, whh, bih, bhh *torchTensor // LSTM
	w, b               *torchTensor // QRNN: linear weight [3H, window*In] and bias [3H]
}

// lmCheckpoint is an AWD-LSTM or AWD_QRNN language model found in a state
// dict.
type lmCheckpoint struct {
	layout Layout
	qrnn   bool // the recurrent layers are fastai QRNNs (AWD_QRNN)
	enc    *torchTensor
	layers []lmLayer
	decW   *torchTensor // nil in an encoder-only file
	decB   *torchTensor // nil when the decoder has no bias (fastai 0.7)
	names  map[*torchTensor]string
}

// Shape is the size of an AWD-LSTM or AWD_QRNN found in (or required of) a
// checkpoint.
type Shape struct {
	Arch   string // nn.ArchQRNN for an AWD_QRNN, "" for an AWD-LSTM
	Vocab  int    // rows of the embedding
	Emb    int    // embedding size (= last layer's hidden size)
	Hidden []int  // hidden size of each recurrent layer
}

// Layers is the number of recurrent (LSTM or QRNN) layers.
func (s Shape) Layers() int { return len(s.Hidden) }

func (s Shape) String() string {
	arch := ""
	if s.Arch == nn.ArchQRNN {
		arch = "a QRNN with "
	}
	return fmt.Sprintf("%svocab %d, emb %d, hidden %v", arch, s.Vocab, s.Emb, s.Hidden)
}

// qrnnWindow is the convolution window of QRNN layer l in fastai's
// AWD_QRNN (awdlstm.py: QRNN(..., window=2 if l == 0 else 1)): 2 in the
// first layer, 1 above. nn builds its QRNN layers the same way.
func qrnnWindow(l int) int {
	if l == 0 {
		return 2
	}
	return 1
}

// archWord names the recurrent layers in messages.
func archWord(qrnn bool) string {
	if qrnn {
		return "QRNN"
	}
	return "LSTM"
}

// parseLM finds an AWD-LSTM or AWD_QRNN language model in a state dict and
// checks that every tensor has the shape its neighbours imply. A QRNN layer
// l is fastai's rnns[l].layers[0].linear: WeightDropout(Linear,
// layer_names='weight') with keys layers.0.linear.weight_raw and
// layers.0.linear.module.bias (fastai v1 also keeps layers.0.linear.
// module.weight, a copy), or a plain Linear (layers.0.linear.weight|bias).
func parseLM(sd []entry) (*lmCheckpoint, error) {
	byName := make(map[string]*torchTensor, len(sd))
	keys := make([]string, 0, len(sd))
	for _, e := range sd {
		byName[e.name] = e.t
		keys = append(keys, e.name)
	}
	used := map[string]bool{}
	get := func(names ...string) (*torchTensor, string) {
		for _, n := range names {
			if t, ok := byName[n]; ok {
				used[n] = true
				return t, n
			}
		}
		return nil, ""
	}
	// Refuse classifiers and other architectures with a message that says so.
	for _, k := range keys {
		switch {
		case strings.HasPrefix(k, "0.module.") || strings.HasPrefix(k, "1.layers."):
			return nil, fmt.Errorf("this is a fastai text classifier (key %.60q), not a language model; import the LM it was fine-tuned from, or export/import classifiers with `pretrain export`", k)
		case strings.Contains(k, "forget_mult"):
			return nil, fmt.Errorf("this is not a fastai AWD_QRNN (key %.60q): fastai's QRNN has no forget_mult parameters", k)
		case strings.Contains(k, "attn") || strings.Contains(k, "transformer") || strings.HasPrefix(k, "0.pos_enc"):
			return nil, fmt.Errorf("this is not an AWD-LSTM checkpoint (key %.60q)", k)
		}
	}
	prefix := "0."
	if _, ok := byName["0.encoder.weight"]; !ok {
		if _, ok := byName["encoder.weight"]; !ok {
			return nil, fmt.Errorf("missing key 0.encoder.weight (expected a fastai AWD-LSTM LM: 0.encoder.weight, 0.rnns.N.*, 1.decoder.*); found %s", strings.Join(firstN(keys, 6), ", "))
		}
		prefix = "" // an encoder-only save (fastai 0.7's *_enc.h5, or learn.save_encoder)
	}
	ck := &lmCheckpoint{names: map[*torchTensor]string{}}
	name := func(t *torchTensor, n string) *torchTensor {
		if _, named := ck.names[t]; t != nil && !named {
			ck.names[t] = n // the first name of a shared (tied) tensor
		}
		return t
	}
	ck.enc = name(get(prefix + "encoder.weight"))
	layout := LayoutV2
	if t, n := get(prefix+"encoder_dp.emb.weight", prefix+"encoder_with_dropout.embed.weight"); t != nil {
		if strings.Contains(n, "encoder_with_dropout") {
			layout = LayoutV07
		}
		if !t.sameStorage(ck.enc) {
			if same, err := sameValues(t, ck.enc); err != nil || !same {
				return nil, fmt.Errorf("%s differs from %sencoder.weight; in fastai they are one tensor, so this checkpoint is not a fastai AWD-LSTM", n, prefix)
			}
		}
	}
	layerPrefixes := map[string]bool{} // "0.rnns.N." present, so that the loop below is linear
	qrnnLayer := map[string]bool{}     // "0.rnns.N." has keys "0.rnns.N.layers.*" (a QRNN)
	for _, k := range keys {
		if r, ok := strings.CutPrefix(k, prefix+"rnns."); ok {
			if i := strings.IndexByte(r, '.'); i > 0 {
				p := k[:len(k)-len(r)+i+1]
				layerPrefixes[p] = true
				if strings.HasPrefix(r[i+1:], "layers.") {
					qrnnLayer[p] = true
				}
			}
		}
	}
	for l := 0; ; l++ {
		p := fmt.Sprintf("%srnns.%d.", prefix, l)
		if !layerPrefixes[p] {
			break
		}
		isQRNN := qrnnLayer[p]
		if l == 0 {
			ck.qrnn = isQRNN
		} else if isQRNN != ck.qrnn {
			return nil, fmt.Errorf("%srnns.%d has %s keys but %srnns.0 has %s keys (found %s); fastai's AWD-LSTM and AWD_QRNN do not mix them",
				prefix, l, archWord(isQRNN), prefix, archWord(ck.qrnn), strings.Join(firstN(withPrefix(keys, p), 4), ", "))
		}
		var ly lmLayer
		var n string
		if isQRNN {
			q := p + "layers.0.linear."
			ly.w, n = get(q+"weight_raw", q+"weight")
			name(ly.w, n)
			if n == q+"weight_raw" {
				if _, ok := byName[q+"module.weight"]; ok {
					used[q+"module.weight"] = true // v1 keeps the (dropped-out) copy too
					if layout == LayoutV2 {
						layout = LayoutV1
					}
				}
			}
			ly.b, n = get(q+"module.bias", q+"bias")
			name(ly.b, n)
			var missing []string
			if ly.w == nil {
				missing = append(missing, q+"weight_raw")
			}
			if ly.b == nil {
				missing = append(missing, q+"module.bias")
			}
			if len(missing) > 0 {
				return nil, fmt.Errorf("QRNN layer %d: missing %s (found %s)", l, strings.Join(missing, ", "), strings.Join(firstN(withPrefix(keys, p), 6), ", "))
			}
			ck.layers = append(ck.layers, ly)
			continue
		}
		ly.whh, n = get(p+"weight_hh_l0_raw", p+"module.weight_hh_l0_raw", p+"module.weight_hh_l0", p+"weight_hh_l0")
		name(ly.whh, n)
		if strings.HasPrefix(n, p+"module.weight_hh_l0_raw") {
			layout = LayoutV07
		}
		if n == p+"weight_hh_l0_raw" {
			if _, ok := byName[p+"module.weight_hh_l0"]; ok {
				used[p+"module.weight_hh_l0"] = true // v1 keeps the (dropped-out) copy too
				if layout == LayoutV2 {
					layout = LayoutV1
				}
			}
		}
		ly.wih, n = get(p+"module.weight_ih_l0", p+"weight_ih_l0")
		name(ly.wih, n)
		ly.bih, n = get(p+"module.bias_ih_l0", p+"bias_ih_l0")
		name(ly.bih, n)
		ly.bhh, n = get(p+"module.bias_hh_l0", p+"bias_hh_l0")
		name(ly.bhh, n)
		var missing []string
		for _, m := range []struct {
			t    *torchTensor
			want string
		}{{ly.wih, "module.weight_ih_l0"}, {ly.whh, "weight_hh_l0_raw"}, {ly.bih, "module.bias_ih_l0"}, {ly.bhh, "module.bias_hh_l0"}} {
			if m.t == nil {
				missing = append(missing, p+m.want)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("LSTM layer %d: missing %s (found %s)", l, strings.Join(firstN(missing, 6), ", "), strings.Join(firstN(withPrefix(keys, p), 6), ", "))
		}
		ck.layers = append(ck.layers, ly)
	}
	if len(ck.layers) == 0 {
		return nil, fmt.Errorf("no LSTM layers: expected keys %srnns.0.*, found %s", prefix, strings.Join(firstN(keys, 6), ", "))
	}
	if prefix == "0." {
		ck.decW = name(get("1.decoder.weight"))
		ck.decB = name(get("1.decoder.bias"))
		if ck.decW == nil {
			return nil, fmt.Errorf("missing key 1.decoder.weight (found %s)", strings.Join(firstN(withPrefix(keys, "1."), 6), ", "))
		}
	}
	var extra []string
	for _, k := range keys {
		if !used[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		model := "AWD-LSTM"
		if ck.qrnn {
			model = "AWD_QRNN"
		}
		return nil, fmt.Errorf("unexpected keys for a fastai %s LM: %s", model, strings.Join(firstN(extra, 6), ", "))
	}
	ck.layout = layout
	if _, err := ck.shape(); err != nil {
		return nil, err
	}
	return ck, nil
}

func withPrefix(keys []string, p string) []string {
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, p) {
			out = append(out, k)
		}
	}
	return out
}

// shape infers the model size from the tensor shapes and checks them for
// consistency: encoder [V,E]; LSTM layer l: weight_ih [4H_l, In_l] with
// In_0 = E and In_l = H_(l-1), weight_hh [4H_l, H_l], biases [4H_l]; QRNN
// layer l: linear weight [3H_l, W_l*In_l] with the window W_0 = 2 and W_l = 1
// above (qrnnWindow), bias [3H_l]; the last layer's H = E (fastai always
// feeds the decoder the embedding size); decoder [V,E].
func (ck *lmCheckpoint) shape() (Shape, error) {
	bad := func(t *torchTensor, want []int) error {
		return fmt.Errorf("%s has shape %s, expected %v (from the shapes of the other tensors)", oneLine(ck.names[t], 60), short(t.Shape), want)
	}
	if len(ck.enc.Shape) != 2 {
		return Shape{}, fmt.Errorf("%s has shape %s, expected [vocab, emb]", oneLine(ck.names[ck.enc], 60), short(ck.enc.Shape))
	}
	s := Shape{Vocab: ck.enc.Shape[0], Emb: ck.enc.Shape[1]}
	if ck.qrnn {
		s.Arch = nn.ArchQRNN
	}
	in := s.Emb
	for l, ly := range ck.layers {
		if ck.qrnn {
			win := qrnnWindow(l)
			if len(ly.w.Shape) != 2 || ly.w.Shape[0]%3 != 0 || ly.w.Shape[0] == 0 {
				return Shape{}, fmt.Errorf("%s has shape %s, expected [3*hidden, %d] (window %d times input size %d)", oneLine(ck.names[ly.w], 60), short(ly.w.Shape), win*in, win, in)
			}
			h := ly.w.Shape[0] / 3
			if want := []int{3 * h, win * in}; !equalInts(ly.w.Shape, want) {
				return Shape{}, fmt.Errorf("%s has shape %s, expected %v (3*hidden %d, window %d times input size %d: fastai's AWD_QRNN has window 2 in layer 0, 1 above)",
					oneLine(ck.names[ly.w], 60), short(ly.w.Shape), want, h, win, in)
			}
			if want := []int{3 * h}; !equalInts(ly.b.Shape, want) {
				return Shape{}, bad(ly.b, want)
			}
			if l == len(ck.layers)-1 && h != s.Emb {
				return Shape{}, fmt.Errorf("the last QRNN layer has hidden size %d but the embedding size is %d; fastai's AWD_QRNN makes them equal", h, s.Emb)
			}
			s.Hidden = append(s.Hidden, h)
			in = h
			continue
		}
		if len(ly.whh.Shape) != 2 || ly.whh.Shape[0]%4 != 0 {
			return Shape{}, fmt.Errorf("%s has shape %s, expected [4*hidden, hidden]", oneLine(ck.names[ly.whh], 60), short(ly.whh.Shape))
		}
		h := ly.whh.Shape[1]
		if want := []int{4 * h, h}; !equalInts(ly.whh.Shape, want) {
			return Shape{}, bad(ly.whh, want)
		}
		if want := []int{4 * h, in}; !equalInts(ly.wih.Shape, want) {
			return Shape{}, bad(ly.wih, want)
		}
		for _, b := range []*torchTensor{ly.bih, ly.bhh} {
			if want := []int{4 * h}; !equalInts(b.Shape, want) {
				return Shape{}, bad(b, want)
			}
		}
		if l == len(ck.layers)-1 && h != s.Emb {
			return Shape{}, fmt.Errorf("the last LSTM layer has hidden size %d but the embedding size is %d; fastai's AWD-LSTM makes them equal", h, s.Emb)
		}
		s.Hidden = append(s.Hidden, h)
		in = h
	}
	if ck.decW != nil {
		if want := []int{s.Vocab, s.Emb}; !equalInts(ck.decW.Shape, want) {
			return Shape{}, bad(ck.decW, want)
		}
	}
	if ck.decB != nil {
		if want := []int{s.Vocab}; !equalInts(ck.decB.Shape, want) {
			return Shape{}, bad(ck.decB, want)
		}
	}
	return s, nil
}

// tied reports whether the decoder weight is the embedding (same storage
// or bitwise-equal values).
func (ck *lmCheckpoint) tied() (bool, error) {
	if ck.decW == nil || ck.decW.sameStorage(ck.enc) {
		return true, nil
	}
	return sameValues(ck.decW, ck.enc)
}

func sameValues(a, b *torchTensor) (bool, error) {
	if !equalInts(a.Shape, b.Shape) {
		return false, nil
	}
	av, err := a.Float32s()
	if err != nil {
		return false, err
	}
	bv, err := b.Float32s()
	if err != nil {
		return false, err
	}
	for i := range av {
		if math.Float32bits(av[i]) != math.Float32bits(bv[i]) {
			return false, nil
		}
	}
	return true, nil
}

// Require lists the sizes a caller insists on; zero fields are not checked.
type Require struct {
	Vocab  int // rows of the checkpoint's embedding
	Emb    int // embedding size
	Hidden int // hidden size of every recurrent layer but the last
	Layers int // number of recurrent (LSTM or QRNN) layers
}

// checkShape compares the inferred shape with what the caller requires.
func checkShape(file string, got Shape, want Require, layout Layout) error {
	var diffs []string
	if want.Vocab > 0 && want.Vocab != got.Vocab {
		diffs = append(diffs, fmt.Sprintf("vocab %d (found %d)", want.Vocab, got.Vocab))
	}
	if want.Emb > 0 && want.Emb != got.Emb {
		diffs = append(diffs, fmt.Sprintf("emb %d (found %d)", want.Emb, got.Emb))
	}
	if want.Layers > 0 && want.Layers != got.Layers() {
		diffs = append(diffs, fmt.Sprintf("%d layers (found %d)", want.Layers, got.Layers()))
	}
	if want.Hidden > 0 {
		for l := 0; l < got.Layers()-1; l++ {
			if got.Hidden[l] != want.Hidden {
				diffs = append(diffs, fmt.Sprintf("hidden %d (found %d in 0.rnns.%d)", want.Hidden, got.Hidden[l], l))
				break
			}
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	hint := ""
	if len(got.Hidden) > 1 {
		switch got.Hidden[0] {
		case 1152:
			hint = "; fastai v1/v2's WT103 release uses hidden 1152 (the paper's 1150 is the 2018 fastai 0.7 release)"
		case 1150:
			hint = "; the 2018 fastai 0.7 WT103 release uses hidden 1150 (fastai v1/v2's uses 1152)"
		}
	}
	return fmt.Errorf("%s (%s): shape mismatch: expected %s; the checkpoint is %s%s; drop the size flags to import it as it is",
		file, layout, strings.Join(diffs, ", "), got, hint)
}
