package artifacts

import (
	"io"
	"sort"
)

// Info describes an artifact file: its lineage, layout and metadata.
type Info struct {
	Path string
	Lineage
	Size     int64             // bytes
	Batches  int               // record batches
	Rows     int64             // rows over all batches
	Columns  []string          // "name type", in schema order
	Metadata map[string]string // every schema metadata key
}

// MetadataKeys returns the metadata keys in sorted order.
func (in *Info) MetadataKeys() []string {
	keys := make([]string, 0, len(in.Metadata))
	for k := range in.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Stat opens the artifact at path, of any kind, checks its kind, format and
// the structure of every record batch's metadata, and describes it. It does
// not decode the rows; Verify does.
func Stat(path string) (*Info, error) {
	af, err := openArtifact(path, nil, nil)
	if err != nil {
		return nil, err
	}
	defer af.close()
	in := &Info{Path: path, Lineage: af.lin, Size: af.size, Batches: af.numBatches(), Metadata: af.meta}
	for _, f := range af.schema.Fields() {
		in.Columns = append(in.Columns, f.Name+" "+f.Type.String())
	}
	for i := 0; i < af.numBatches(); i++ {
		n, err := af.blockRows(i)
		if err != nil {
			return nil, err
		}
		in.Rows += n
	}
	return in, nil
}

// Verify reads the artifact at path end to end with the reader for its kind
// (checking schema, checksums and values) and describes it.
func Verify(path string) (*Info, error) {
	in, err := Stat(path)
	if err != nil {
		return nil, err
	}
	switch in.Kind {
	case KindTokens:
		tr, err := OpenTokens(path)
		if err != nil {
			return nil, err
		}
		defer tr.Close()
		for {
			if _, err := tr.Next(); err == io.EOF {
				break
			} else if err != nil {
				return nil, err
			}
		}
	case KindVocab:
		_, _, err = ReadVocab(path)
	case KindLM, KindClassifier:
		_, err = ReadModel(path, in.Kind)
	case KindPredictions:
		_, err = ReadPredictions(path)
	}
	if err != nil {
		return nil, err
	}
	return in, nil
}
