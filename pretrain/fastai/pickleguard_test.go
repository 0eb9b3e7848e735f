package fastai

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/artifacts/cli"
)

func le64(n uint64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], n)
	return string(b[:])
}

// TestScanPickle: well-formed streams give their length (through STOP, or
// through a frame that extends past it); hostile ones are errors naming the
// opcode and offset, before gopickle allocates anything.
func TestScanPickle(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n        int    // want length, when ok
		err      string // want error substring
	}{
		{"list of strings", "\x80\x02]q\x00(X\x01\x00\x00\x00aq\x01e.trailing", 16, ""},
		{"text protocol", "(lp0\nS'a'\np1\naI12\na.", 20, ""},
		{"global + reduce", "\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.", 34, ""},
		{"frame past stop", "\x80\x04\x95" + le64(3) + "K\x01.", 14, ""},
		{"frame then stop", "\x80\x04\x95" + le64(2) + "K\x01.", 14, ""},
		{"long1", "\x8a\x02\x01\x02.", 5, ""},
		{"empty", "", 0, "no data"},
		{"opcode 0xff", "\xff", 0, "byte 0: unknown opcode 0xff"},
		{"BYTEARRAY8 322 GB", "\x96\x06\x00\x00\x12K\x00\x00\x00\x0f", 0, "BYTEARRAY8 declares 322424537094 bytes but only 1 remain"},
		{"BINUNICODE8", "\x8d" + le64(1<<62) + ".", 0, "BINUNICODE8 declares"},
		{"BINBYTES8", "\x8e" + le64(2) + "x", 0, "BINBYTES8 declares 2 bytes but only 1 remain"},
		{"BINBYTES 4 GB", "B\xf3\xf3\xf3\xf3\xf3\xf300\v\xc8\xf8g000000000000000000", 0, "BINBYTES declares 4092851187 bytes"},
		{"BINUNICODE", "X\x05\x00\x00\x00abc", 0, "BINUNICODE declares 5 bytes but only 3 remain"},
		{"BINSTRING negative", "T\xff\xff\xff\xff.", 0, "BINSTRING has a negative length"},
		{"FRAME beyond data", "\x95\x06\x00\x00\x12K\x00\x00\x00P", 0, "FRAME declares"},
		{"short length", "\x8e\x01\x02", 0, "BINBYTES8 needs a length of 8 bytes, 2 remain"},
		{"SHORT_BINUNICODE", "\x8c\x09abc", 0, "SHORT_BINUNICODE declares 9 bytes"},
		{"LONG1 of zero bytes", "\x8a\x00.", 0, "LONG1 integer of 0 bytes"},
		{"LONG4 huge", "\x8b\x00\x00\x01\x00" + strings.Repeat("\x01", 1<<16) + ".", 0, "LONG4 integer of 65536 bytes"},
		{"INT text too long", "I" + strings.Repeat("9", 5000) + "\n.", 0, "INT argument of 5000 bytes is too long"},
		{"GLOBAL without newline", "cos\nsystem", 0, "GLOBAL: no end of line"},
		{"fixed arg cut", "\x80\x02J\x01\x02", 0, "BININT needs 4 bytes, 2 remain"},
		{"no STOP", "\x80\x02]q\x00", 0, "byte 5: no STOP opcode"},
		{"unknown later", "\x80\x02\x00", 0, "byte 2: unknown opcode 0x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := scanPickle([]byte(tc.in), 0)
			if tc.err == "" {
				if err != nil || n != tc.n {
					t.Fatalf("scanPickle = %d, %v; want %d, nil", n, err, tc.n)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("scanPickle = %d, %v; want an error with %q", n, err, tc.err)
			}
		})
	}
}

// TestUnpickleRecovers: a stream that passes the scan but makes gopickle
// panic (an unhashable set item) is an error.
func TestUnpickleRecovers(t *testing.T) {
	_, _, err := unpickle([]byte("\x80\x04\x8f(C\x01x\x90."), 7, nil)
	if err == nil || !strings.Contains(err.Error(), "malformed pickle at byte 7") {
		t.Fatalf("err = %v, want a malformed pickle error", err)
	}
	obj, n, err := unpickle([]byte("\x80\x02K\x05.rest"), 0, nil)
	if err != nil || obj != 5 || n != 5 {
		t.Fatalf("unpickle = %v, %d, %v; want 5, 5, nil", obj, n, err)
	}
}

// TestFloat32sBounds: a view may not claim more elements than its storage
// holds (an expanded stride-0 view of 2^40 elements would allocate 4 TB),
// nor overflow its index arithmetic.
func TestFloat32sBounds(t *testing.T) {
	st := &storage{key: "0", dtype: dtFloat32, numel: 4, data: make([]byte, 16)}
	for _, tc := range []struct {
		name          string
		shape, stride []int
		off           int
		ok            bool
	}{
		{"whole", []int{2, 2}, []int{2, 1}, 0, true},
		{"transposed", []int{2, 2}, []int{1, 2}, 0, true},
		{"offset", []int{3}, []int{1}, 1, true},
		{"empty at end", []int{0}, []int{1}, 4, true},
		{"expanded", []int{1 << 40}, []int{0}, 0, false},
		{"huge dims", []int{1 << 32, 1 << 32}, []int{0, 0}, 0, false},
		{"negative dim", []int{-1, -4}, []int{1, 1}, 0, false},
		{"huge stride", []int{2}, []int{1 << 62}, 0, false},
		{"past the end", []int{2}, []int{1}, 3, false},
		{"offset past the end", []int{1}, []int{1}, 4, false},
		{"negative offset", []int{1}, []int{1}, -1, false},
		{"negative stride", []int{2}, []int{-1}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &torchTensor{Shape: tc.shape, Stride: tc.stride, Offset: tc.off, st: st}
			_, err := x.Float32s()
			if (err == nil) != tc.ok {
				t.Fatalf("Float32s error %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestZipDeclaredSizes: a zip record whose declared sizes exceed the file
// (or deflate's expansion limit) is refused before it is read.
func TestZipDeclaredSizes(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "m/data.pkl", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("\x80\x02}q\x00."))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	if _, err := loadTorch(good); err != nil {
		t.Fatalf("good archive: %v", err)
	}
	// Patch the central directory's uncompressed and compressed sizes.
	cd := bytes.LastIndex(good, []byte("PK\x01\x02"))
	for _, tc := range []struct {
		name string
		off  int // within the central directory header
		want string
	}{
		{"compressed size", 20, "declares 4294967294 bytes but the whole file has"},
		{"uncompressed size", 24, "declares 4294967294 bytes from 6 compressed ones"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(good)
			binary.LittleEndian.PutUint32(b[cd+tc.off:], 0xfffffffe)
			_, err := loadTorch(b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestArchiveDeclaredSize: a tar member claiming more bytes than the
// archive could hold is refused before anything is allocated for it.
func TestArchiveDeclaredSize(t *testing.T) {
	dir := t.TempDir()
	for _, gz := range []bool{false, true} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		// Write a header whose size is a lie, then stop (truncated archive).
		if err := tw.WriteHeader(&tar.Header{Name: "m/lstm_fwd.pth", Mode: 0o644, Size: 1 << 30, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		name := "x.tar"
		if gz {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(b)
			zw.Close()
			b, name = z.Bytes(), "x.tgz"
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := openSource([]string{p})
		if err == nil || !strings.Contains(err.Error(), "declares 1073741824 bytes, more than the archive can hold") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// TestImportHostileFiles: the reliability helper's crashers through the
// CLI: one line naming the file, exit 2, no output.
func TestImportHostileFiles(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, weights string
		want          string
	}{
		{"bytearray8", "\x96\x06\x00\x00\x12K\x00\x00\x00\x0f", "w.pth: not a PyTorch checkpoint"},
		{"0xff", "\xff", "w.pth: not a PyTorch checkpoint"},
		{"binbytes", "B\xf3\xf3\xf3\xf3\xf3\xf300\v\xc8\xf8g000000000000000000", "w.pth: not a PyTorch checkpoint"},
		{"empty", "", "w.pth: not a PyTorch checkpoint"},
		{"zip with bad pickle", "", "w.pth: not a PyTorch checkpoint: m/data.pkl: malformed pickle at byte 0: unknown opcode 0xff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := []byte(tc.weights)
			if tc.name == "zip with bad pickle" {
				var buf bytes.Buffer
				zw := zip.NewWriter(&buf)
				f, _ := zw.CreateHeader(&zip.FileHeader{Name: "m/data.pkl", Method: zip.Store})
				f.Write([]byte("\xff"))
				zw.Close()
				w = buf.Bytes()
			}
			p := filepath.Join(dir, "w.pth")
			if err := os.WriteFile(p, w, 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "o.lm")
			err := runImport(context.Background(), []string{"-q", "--out", out, p, td("itos_v2.pkl")}, &bytes.Buffer{})
			if err == nil {
				t.Fatal("no error")
			}
			msg := cli.Message("pretrain", err)
			if !strings.Contains(msg, tc.want) || strings.ContainsAny(msg, "\n\r") || len(msg) > 400 {
				t.Errorf("message %q, want one short line with %q", msg, tc.want)
			}
			if code := cli.ExitCode(err); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("output written despite the error")
			}
		})
	}
}

// TestDeepNesting: {'model': {'model': ...}} nested 50,000 times is an
// error (stateDict unwraps a few levels iteratively; recursing once per level,
// a file of some tens of MB could overflow the stack, which cannot be recovered).
func TestDeepNesting(t *testing.T) {
	const n = 50000
	var b bytes.Buffer
	b.WriteString("\x80\x02")
	for range n {
		b.WriteString("}\x8c\x05model")
	}
	b.WriteString("}")
	b.WriteString(strings.Repeat("s", n))
	b.WriteString(".")
	obj, _, err := unpickle(b.Bytes(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = stateDict(obj, b.Len())
	if err == nil || !strings.Contains(err.Error(), "holds no tensors") {
		t.Fatalf("err = %v, want a no-tensors error", err)
	}
}
