package artifacts

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Tensor is a named float32 tensor, row-major.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Model is a language model or classifier: its tensors and everything needed
// to use or resume it, in one self-contained file.
type Model struct {
	Lineage                    // Kind is KindLM or KindClassifier
	Config     json.RawMessage // model config ("ulmfit.config")
	Vocab      *Vocab          // embedded ("ulmfit.vocab")
	Tokenizer  json.RawMessage // tokenizer settings ("ulmfit.tokenizer")
	LabelNames []string        // classifier only ("ulmfit.labels")
	Direction  string          // "fwd" | "bwd" ("ulmfit.direction")
	Tensors    []Tensor        // parameters and buffers (section "param")
	OptState   []Tensor        // optional optimizer state (section "opt")
	TrainState json.RawMessage // optional resume state ("ulmfit.train_state")
	Metrics    json.RawMessage // optional ("ulmfit.metrics")
}

// The directions of a model ("ulmfit.direction"): a forward model reads
// each document front to back, a backward one back to front (fastai's
// backwards=True models, which ULMFiT ensembles with the forward ones).
const (
	DirForward  = "fwd"
	DirBackward = "bwd"
)

// IsBackward reports whether dir, a model's Direction, is DirBackward.
func IsBackward(dir string) bool { return dir == DirBackward }

// Tensor returns the parameter tensor called name.
func (m *Model) Tensor(name string) (*Tensor, bool) {
	for i := range m.Tensors {
		if m.Tensors[i].Name == name {
			return &m.Tensors[i], true
		}
	}
	return nil, false
}

// Sections of a model file.
const (
	SectionParam = "param"
	SectionOpt   = "opt"
)

var modelCols = []colSpec{
	{"name", arrow.BinaryTypes.String},
	{"section", arrow.BinaryTypes.String},
	{"shape", arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int32)},
	{"data", arrow.ListOfNonNullable(arrow.PrimitiveTypes.Float32)},
}

// modelBatchFloats is roughly how many floats a model record batch holds
// (one tensor larger than this gets a batch of its own).
const modelBatchFloats = 1 << 23

func checkTensor(t *Tensor) error {
	n := 1
	for _, d := range t.Shape {
		if d < 0 || d > 1<<31-1 {
			return fmt.Errorf("artifacts: tensor %q has bad shape %v", t.Name, t.Shape)
		}
		n *= d
		if n > 1<<40 {
			return fmt.Errorf("artifacts: tensor %q has shape %v, too many values", t.Name, t.Shape)
		}
	}
	if n != len(t.Data) {
		return fmt.Errorf("artifacts: tensor %q has shape %v (%d values) but %d values", t.Name, t.Shape, n, len(t.Data))
	}
	if len(t.Data) > 1<<31-1 {
		return fmt.Errorf("artifacts: tensor %q has %d values, more than a list<float32> can hold", t.Name, len(t.Data))
	}
	return nil
}

// WriteModel writes m as an lm or classifier artifact: one row per tensor
// (name, section, shape, data). A tensor holding NaN or ±Inf is refused (an
// error wrapping ErrNonFinite) and nothing is written: an existing file at
// path stays as it was.
func WriteModel(path string, m *Model) error {
	if m == nil {
		return fmt.Errorf("artifacts: WriteModel %s: nil model", path)
	}
	if m.Kind != KindLM && m.Kind != KindClassifier {
		return fmt.Errorf("artifacts: WriteModel %s: kind %q, want lm or classifier", path, m.Kind)
	}
	if m.Direction != "" && m.Direction != "fwd" && m.Direction != "bwd" {
		return fmt.Errorf("artifacts: WriteModel %s: direction %q, want fwd or bwd", path, m.Direction)
	}
	type row struct {
		t       *Tensor
		section string
	}
	var rows []row
	seen := map[string]bool{}
	for _, sec := range []struct {
		ts   []Tensor
		name string
	}{{m.Tensors, SectionParam}, {m.OptState, SectionOpt}} {
		for i := range sec.ts {
			t := &sec.ts[i]
			if err := checkTensor(t); err != nil {
				return err
			}
			key := sec.name + "/" + t.Name
			if seen[key] {
				return fmt.Errorf("artifacts: WriteModel %s: tensor %q appears twice in section %s", path, t.Name, sec.name)
			}
			seen[key] = true
			rows = append(rows, row{t, sec.name})
		}
	}
	if err := CheckFinite(m.Tensors, m.OptState); err != nil {
		return fmt.Errorf("artifacts: WriteModel %s: %w; nothing written", path, err)
	}
	meta, err := lineageMeta(m.Kind, m.Lineage)
	if err != nil {
		return err
	}
	if err := putVocab(meta, m.Vocab); err != nil {
		return err
	}
	for _, kv := range []struct {
		key string
		raw json.RawMessage
	}{{MetaConfig, m.Config}, {MetaTokenizer, m.Tokenizer}, {MetaTrainState, m.TrainState}, {MetaMetrics, m.Metrics}} {
		if err := putJSON(meta, kv.key, kv.raw); err != nil {
			return err
		}
	}
	if m.LabelNames != nil {
		if err := putValue(meta, MetaLabels, m.LabelNames); err != nil {
			return err
		}
	}
	dir := m.Direction
	if dir == "" {
		dir = "fwd"
	}
	meta[MetaDirection] = dir

	w, err := newArrowWriter(path, []arrow.Field{
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "section", Type: arrow.BinaryTypes.String},
		{Name: "shape", Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int32)},
		{Name: "data", Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Float32)},
	}, meta)
	if err != nil {
		return err
	}
	for beg := 0; beg < len(rows); {
		end, floats := beg, 0
		for end < len(rows) && (end == beg || floats+len(rows[end].t.Data) <= modelBatchFloats) {
			floats += len(rows[end].t.Data)
			end++
		}
		mem := w.mem
		nb := array.NewStringBuilder(mem)
		sb := array.NewStringBuilder(mem)
		shb := listBuilder(mem, arrow.PrimitiveTypes.Int32)
		db := listBuilder(mem, arrow.PrimitiveTypes.Float32)
		shv := shb.ValueBuilder().(*array.Int32Builder)
		dv := db.ValueBuilder().(*array.Float32Builder)
		dv.Reserve(floats)
		for _, r := range rows[beg:end] {
			nb.Append(r.t.Name)
			sb.Append(r.section)
			shb.Append(true)
			for _, d := range r.t.Shape {
				shv.Append(int32(d))
			}
			db.Append(true)
			dv.AppendValues(r.t.Data, nil)
		}
		cols := []arrow.Array{nb.NewArray(), sb.NewArray(), shb.NewArray(), db.NewArray()}
		nb.Release()
		sb.Release()
		shb.Release()
		db.Release()
		if err := w.write(cols); err != nil {
			w.abort()
			return err
		}
		beg = end
	}
	return w.close()
}

// ReadModel reads an lm or classifier artifact. want selects the kind
// (KindLM or KindClassifier); "" accepts either.
func ReadModel(path string, want Kind) (*Model, error) {
	kinds := []Kind{KindLM, KindClassifier}
	if want != "" {
		if want != KindLM && want != KindClassifier {
			return nil, fmt.Errorf("artifacts: ReadModel %s: want %q, not a model kind", path, want)
		}
		kinds = []Kind{want}
	}
	af, err := openArtifact(path, kinds, modelCols)
	if err != nil {
		return nil, err
	}
	defer af.close()
	m := &Model{Lineage: af.lin, Direction: af.meta[MetaDirection]}
	for b := 0; b < af.numBatches(); b++ {
		rec, err := af.batch(b)
		if err != nil {
			return nil, err
		}
		err = readTensors(af, rec, b, m)
		rec.Release()
		if err != nil {
			return nil, err
		}
	}
	if m.Vocab, err = af.embeddedVocab(); err != nil {
		return nil, err
	}
	if err := af.metaJSON(MetaLabels, &m.LabelNames); err != nil {
		return nil, err
	}
	for _, kv := range []struct {
		key string
		dst *json.RawMessage
	}{{MetaConfig, &m.Config}, {MetaTokenizer, &m.Tokenizer}, {MetaTrainState, &m.TrainState}, {MetaMetrics, &m.Metrics}} {
		if *kv.dst, err = af.metaRaw(kv.key); err != nil {
			return nil, err
		}
	}
	switch m.Direction {
	case "fwd", "bwd":
	case "":
		m.Direction = "fwd"
	default:
		return nil, errorf(path, MetaDirection, ErrCorrupt, "%q, want fwd or bwd", m.Direction)
	}
	return m, nil
}

func readTensors(af *arrowFile, rec arrow.RecordBatch, b int, m *Model) error {
	names := af.column(rec, "name").(*array.String)
	secs := af.column(rec, "section").(*array.String)
	shapes := af.column(rec, "shape").(*array.List)
	data := af.column(rec, "data").(*array.List)
	for _, c := range []struct {
		a    arrow.Array
		name string
	}{{names, "name"}, {secs, "section"}, {shapes, "shape"}, {data, "data"}, {shapes.ListValues(), "shape item"}, {data.ListValues(), "data item"}} {
		if err := af.noNulls(c.a, c.name, b); err != nil {
			return err
		}
	}
	shv := shapes.ListValues().(*array.Int32).Int32Values()
	dv := data.ListValues().(*array.Float32)
	so, do := shapes.Offsets(), data.Offsets()
	for i := 0; i < int(rec.NumRows()); i++ {
		t := Tensor{Name: names.Value(i)}
		where := fmt.Sprintf("record batch %d, row %d (tensor %q)", b, i, t.Name)
		for _, d := range shv[so[i]:so[i+1]] {
			t.Shape = append(t.Shape, int(d))
		}
		if t.Shape == nil {
			t.Shape = []int{}
		}
		t.Data = make([]float32, do[i+1]-do[i])
		copy(t.Data, dv.Float32Values()[do[i]:do[i+1]])
		if err := checkTensor(&t); err != nil {
			return errorf(af.path, where, ErrCorrupt, "%v", err)
		}
		switch secs.Value(i) {
		case SectionParam:
			m.Tensors = append(m.Tensors, t)
		case SectionOpt:
			m.OptState = append(m.OptState, t)
		default:
			return errorf(af.path, where, ErrCorrupt, "section %q, want %s or %s", secs.Value(i), SectionParam, SectionOpt)
		}
	}
	return nil
}
