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
			obj, err := loadTorch(readTestdata(t, file))
			if err != nil {
				t.Fatal(err)
			}
			sd, err := stateDict(obj)
			if err != nil {
				t.Fatal(err)
			}
			if len(sd) != len(refs.Tensors) {
				t.Fatalf("%d tensors, want %d", len(sd), len(refs.Tensors))
			}
			for _, e := range sd {
				want := refs.Tensors[e.name]
				if !slices.Equal(e.t.Shape, want.Shape) {
					t.Errorf("%s: shape %v, want %v", e.name, e.t.Shape, want.Shape)
					continue
				}
				got, err := e.t.Float32s()
				if err != nil {
					t.Fatalf("%s: %v", e.name, err)
				}
				for i := range got {
					if got[i] != float32(want.Values[i]) {
						t.Errorf("%s[%d] = %v, want %v", e.name, i, got[i], want.Values[i])
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
