package fastai

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestReadTensors reads strided views and non-float32 dtypes from both
// torch formats and compares them with the values PyTorch printed.
func TestReadTensors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "refs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var refs struct {
		Tensors map[string]struct {
			Shape  []int     `json:"shape"`
			Values []float64 `json:"values"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal(b, &refs); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"tensors.pth", "tensors_legacy.pth"} {
		t.Run(file, func(t *testing.T) {
			sd, err := ReadStateDict(readTestdata(t, file))
			if err != nil {
				t.Fatal(err)
			}
			if len(sd) != len(refs.Tensors) {
				t.Fatalf("%d tensors, want %d", len(sd), len(refs.Tensors))
			}
			for _, e := range sd {
				want := refs.Tensors[e.Name]
				if !slices.Equal(e.Shape, want.Shape) {
					t.Errorf("%s: shape %v, want %v", e.Name, e.Shape, want.Shape)
					continue
				}
				for i := range e.Data {
					if e.Data[i] != float32(want.Values[i]) {
						t.Errorf("%s[%d] = %v, want %v", e.Name, i, e.Data[i], want.Values[i])
						break
					}
				}
			}
		})
	}
}

func TestHalfToFloat(t *testing.T) {
	for _, tc := range []struct {
		h    uint16
		want float32
	}{{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, 5.9604645e-08}, {0x8000, 0}, {0x3555, 0.33325195}} {
		if got := halfToFloat(tc.h); got != tc.want {
			t.Errorf("halfToFloat(%#x) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

// TestTruncated: a cut-off checkpoint is an error, not a panic.
func TestTruncated(t *testing.T) {
	for _, file := range []string{"v2.pth", "v1_legacy.pth", "v07_fwd.h5"} {
		b := readTestdata(t, file)
		for _, n := range []int{0, 10, len(b) / 2, len(b) - 9} {
			if _, err := loadTorch(b[:n]); err == nil {
				t.Errorf("%s cut at %d bytes: no error", file, n)
			}
		}
	}
}
