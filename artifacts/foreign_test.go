package artifacts

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestForeignWriter reads a tokens artifact made the way another tool
// (pyarrow, polars) would make one: plain Arrow, uncompressed, nullable list
// items, no batch checksums, ulmfit metadata set by hand.
func TestForeignWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "foreign.arrow")
	md := arrow.MetadataFrom(map[string]string{
		"ulmfit.kind": "tokens", "ulmfit.format": "1", "ulmfit.producer": "a python script",
		"ulmfit.vocab": `["xxunk","xxpad","hello","world"]`, "ulmfit.labels": `["a","b"]`,
	})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "label", Type: arrow.PrimitiveTypes.Int32},
		{Name: "labels", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
		{Name: "tokens", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
		{Name: "extra", Type: arrow.BinaryTypes.String},
	}, &md)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewGoAllocator()
	b := array.NewRecordBuilder(mem, schema)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{7, 8}, nil)
	b.Field(1).(*array.Int32Builder).AppendValues([]int32{1, 0}, nil)
	b.Field(2).(*array.ListBuilder).AppendNulls(2)
	tb := b.Field(3).(*array.ListBuilder)
	tb.Append(true)
	tb.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{2, 3}, nil)
	tb.Append(true)
	b.Field(4).(*array.StringBuilder).AppendValues([]string{"x", "y"}, nil)
	rec := b.NewRecordBatch()
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	h, docs, err := ReadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Doc{{ID: 7, Label: 1, Tokens: []int32{2, 3}}, {ID: 8, Label: 0, Tokens: []int32{}}}
	if !reflect.DeepEqual(docs, want) || h.Producer != "a python script" || h.Vocab.Len() != 4 {
		t.Fatalf("got %+v %+v", docs, h)
	}
	if _, err := Verify(path); err != nil {
		t.Fatal(err)
	}
}
