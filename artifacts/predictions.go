package artifacts

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Prediction is one document's prediction: its id, the true Label (-1 when
// unknown) or Labels (multi-label), the class probabilities and the
// predicted class.
type Prediction struct {
	ID     int64
	Label  int32
	Labels []int32
	Probs  []float32
	Pred   int32
}

// Predictions is a predictions artifact.
type Predictions struct {
	Lineage
	LabelNames []string        // class names; len = number of classes
	MultiLabel bool            // "ulmfit.multi_label"
	Rows       []Prediction    // one per document
	Metrics    json.RawMessage // optional ("ulmfit.metrics")
}

var predictionsCols = []colSpec{
	{"id", arrow.PrimitiveTypes.Int64},
	{"label", arrow.PrimitiveTypes.Int32},
	{"labels", arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int32)},
	{"probs", arrow.FixedSizeListOfNonNullable(1, arrow.PrimitiveTypes.Float32)},
	{"pred", arrow.PrimitiveTypes.Int32},
}

// predictionsBatchRows is the number of rows per record batch.
const predictionsBatchRows = 1 << 16

// WritePredictions writes p as a predictions artifact with columns id int64,
// label int32, labels list<int32> (null unless set), probs
// fixed_size_list<float32>[n_classes] and pred int32. n_classes is
// len(p.LabelNames). A NaN or ±Inf probability is refused (ErrNonFinite).
func WritePredictions(path string, p *Predictions) error {
	if p == nil {
		return fmt.Errorf("artifacts: WritePredictions %s: nil predictions", path)
	}
	nc := len(p.LabelNames)
	if nc == 0 {
		return fmt.Errorf("artifacts: WritePredictions %s: no label names (want one per class)", path)
	}
	for i, r := range p.Rows {
		if len(r.Probs) != nc {
			return fmt.Errorf("artifacts: WritePredictions %s: row %d (id %d) has %d probabilities, want %d", path, i, r.ID, len(r.Probs), nc)
		}
		if j := FirstNonFinite(r.Probs); j >= 0 {
			return fmt.Errorf("artifacts: WritePredictions %s: row %d (id %d): probability %d is %v: %w; nothing written", path, i, r.ID, j, r.Probs[j], ErrNonFinite)
		}
		if r.Pred < -1 || int(r.Pred) >= nc || r.Label < -1 || int(r.Label) >= nc {
			return fmt.Errorf("artifacts: WritePredictions %s: row %d (id %d): label %d / pred %d outside [-1,%d)", path, i, r.ID, r.Label, r.Pred, nc)
		}
		for _, l := range r.Labels {
			if l < 0 || int(l) >= nc {
				return fmt.Errorf("artifacts: WritePredictions %s: row %d (id %d): label %d outside [0,%d)", path, i, r.ID, l, nc)
			}
		}
	}
	meta, err := lineageMeta(KindPredictions, p.Lineage)
	if err != nil {
		return err
	}
	if err := putValue(meta, MetaLabels, p.LabelNames); err != nil {
		return err
	}
	meta[MetaMultiLabel] = strconv.FormatBool(p.MultiLabel)
	if err := putJSON(meta, MetaMetrics, p.Metrics); err != nil {
		return err
	}
	w, err := newArrowWriter(path, []arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "label", Type: arrow.PrimitiveTypes.Int32},
		{Name: "labels", Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int32), Nullable: true},
		{Name: "probs", Type: arrow.FixedSizeListOfNonNullable(int32(nc), arrow.PrimitiveTypes.Float32)},
		{Name: "pred", Type: arrow.PrimitiveTypes.Int32},
	}, meta)
	if err != nil {
		return err
	}
	for beg := 0; beg < len(p.Rows); beg += predictionsBatchRows {
		rows := p.Rows[beg:min(beg+predictionsBatchRows, len(p.Rows))]
		mem := w.mem
		ib := array.NewInt64Builder(mem)
		lb := array.NewInt32Builder(mem)
		lsb := listBuilder(mem, arrow.PrimitiveTypes.Int32)
		lsv := lsb.ValueBuilder().(*array.Int32Builder)
		pb := array.NewFixedSizeListBuilderWithField(mem, int32(nc), arrow.Field{Name: "item", Type: arrow.PrimitiveTypes.Float32})
		pv := pb.ValueBuilder().(*array.Float32Builder)
		prb := array.NewInt32Builder(mem)
		for _, r := range rows {
			ib.Append(r.ID)
			lb.Append(r.Label)
			if r.Labels == nil {
				lsb.AppendNull()
			} else {
				lsb.Append(true)
				lsv.AppendValues(r.Labels, nil)
			}
			pb.Append(true)
			pv.AppendValues(r.Probs, nil)
			prb.Append(r.Pred)
		}
		cols := []arrow.Array{ib.NewArray(), lb.NewArray(), lsb.NewArray(), pb.NewArray(), prb.NewArray()}
		for _, b := range []array.Builder{ib, lb, lsb, pb, prb} {
			b.Release()
		}
		if err := w.write(cols); err != nil {
			w.abort()
			return err
		}
	}
	return w.close()
}

// ReadPredictions reads a predictions artifact.
func ReadPredictions(path string) (*Predictions, error) {
	af, err := openArtifact(path, []Kind{KindPredictions}, predictionsCols)
	if err != nil {
		return nil, err
	}
	defer af.close()
	p := &Predictions{Lineage: af.lin}
	if err := af.metaJSON(MetaLabels, &p.LabelNames); err != nil {
		return nil, err
	}
	if p.MultiLabel, err = af.metaBool(MetaMultiLabel); err != nil {
		return nil, err
	}
	if p.Metrics, err = af.metaRaw(MetaMetrics); err != nil {
		return nil, err
	}
	nc := len(p.LabelNames)
	if size := af.schema.Field(af.col["probs"]).Type.(*arrow.FixedSizeListType).Len(); int(size) != nc {
		return nil, errorf(path, "column probs", ErrCorrupt, "holds %d probabilities per row but %s names %d classes", size, MetaLabels, nc)
	}
	for b := 0; b < af.numBatches(); b++ {
		rec, err := af.batch(b)
		if err != nil {
			return nil, err
		}
		err = readPredictions(af, rec, b, p)
		rec.Release()
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

func readPredictions(af *arrowFile, rec arrow.RecordBatch, b int, p *Predictions) error {
	ids := af.column(rec, "id").(*array.Int64)
	labs := af.column(rec, "label").(*array.Int32)
	labels := af.column(rec, "labels").(*array.List)
	probs := af.column(rec, "probs").(*array.FixedSizeList)
	preds := af.column(rec, "pred").(*array.Int32)
	for _, c := range []struct {
		a    arrow.Array
		name string
	}{{ids, "id"}, {labs, "label"}, {probs, "probs"}, {preds, "pred"}, {labels.ListValues(), "labels item"}, {probs.ListValues(), "probs item"}} {
		if err := af.noNulls(c.a, c.name, b); err != nil {
			return err
		}
	}
	nc := len(p.LabelNames)
	n := int(rec.NumRows())
	pv := probs.ListValues().(*array.Float32).Float32Values()
	all := append([]float32(nil), pv[0:n*nc]...)
	lo := labels.Offsets()
	lv := labels.ListValues().(*array.Int32).Int32Values()
	for i := 0; i < n; i++ {
		r := Prediction{ID: ids.Value(i), Label: labs.Value(i), Pred: preds.Value(i), Probs: all[i*nc : (i+1)*nc : (i+1)*nc]}
		if labels.IsValid(i) {
			r.Labels = append([]int32{}, lv[lo[i]:lo[i+1]]...)
		}
		if r.Label < -1 || int(r.Label) >= nc || r.Pred < -1 || int(r.Pred) >= nc {
			return errorf(af.path, fmt.Sprintf("record batch %d, row %d (id %d)", b, i, r.ID), ErrCorrupt, "label %d / pred %d outside [-1,%d)", r.Label, r.Pred, nc)
		}
		for _, l := range r.Labels {
			if l < 0 || int(l) >= nc {
				return errorf(af.path, fmt.Sprintf("record batch %d, row %d (id %d)", b, i, r.ID), ErrCorrupt, "label %d outside [0,%d)", l, nc)
			}
		}
		p.Rows = append(p.Rows, r)
	}
	return nil
}
