package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestDeterminism runs each stage twice in separate folders with the same inputs, seed and
// thread count and requires byte-identical outputs (with 1 and with 2 threads). It also
// compares 1 against 2 threads: no stage may depend on it when the CPU backend uses its
// own GEMM (AVX-512 CPUs); with OpenBLAS, whose split blocks may round differently, a
// training stage's difference is logged and documented (docs/reliability.md), not failed,
// and the stage runs once more at 1 and 2 threads with ULMFIT_BLAS=native, where they
// must agree (so that a machine with OpenBLAS checks the native GEMM's promise too).
func TestDeterminism(t *testing.T) {
	native := nativeGEMM(t)
	nativeEnv := []string{"ULMFIT_BLAS=native"}
	nativeByEnv := !native && nativeGEMMWith(t, nativeEnv)
	type stage struct {
		bin      string
		args     []string // with THREADS and OUT
		outs     []string // files to compare (OUT is o.arrow)
		threadOK bool     // 1 and 2 threads must agree
	}
	stagesDet := []stage{
		{"tokenize", []string{"-q", "--threads", "THREADS", fTrainCSV, "-o", "OUT", "--vocab-out", "v.arrow"}, []string{"o.arrow", "v.arrow"}, true},
		{"pretrain", []string{"-q", "--preset", "tiny", "--threads", "THREADS", "--seed", "5", "--epochs", "2", "--valid-frac", "0.1", "-o", "OUT", fTrain}, []string{"o.arrow"}, false},
		{"pretrain qrnn", []string{"-q", "--preset", "tiny", "--arch", "qrnn", "--threads", "THREADS", "--seed", "5", "--epochs", "2", "--valid-frac", "0.1", "-o", "OUT", fTrain}, []string{"o.arrow"}, false},
		{"pretrain vocab 1880", []string{"-q", "--preset", "tiny", "--threads", "THREADS", "--seed", "3", "--epochs", "2", "-o", "OUT", fTrainMF1}, []string{"o.arrow"}, false},
		{"lmtune", []string{"-q", "--preset", "tiny", "--threads", "THREADS", "--seed", "5", "--epochs", "2", "--from", fLM, "-o", "OUT", fTrain, fTest}, []string{"o.arrow"}, false},
		{"clftune", []string{"-q", "--threads", "THREADS", "--seed", "5", "--epochs", "5", "--bs", "16", "--from", fFT, "--data", fTrain, "--test", fTest, "-o", "OUT"}, []string{"o.arrow"}, false},
		{"clftune qrnn", []string{"-q", "--threads", "THREADS", "--seed", "5", "--epochs", "2", "--bs", "16", "--from-scratch", "--preset", "tiny", "--arch", "qrnn", "--data", fTrain, "-o", "OUT"}, []string{"o.arrow"}, false},
		{"clftune backward", []string{"-q", "--threads", "THREADS", "--seed", "5", "--epochs", "2", "--bs", "16", "--backward", "--from-scratch", "--preset", "tiny", "--data", fTrain, "-o", "OUT"}, []string{"o.arrow"}, false},
		{"evaluate", []string{"-q", "--threads", "THREADS", "--model", fCLF, "--data", fTest, "-o", "OUT", "--metrics", "m.json"}, []string{"o.arrow", "m.json"}, false},
		{"evaluate report", []string{"report", "-q", fPreds, "--out-dir", "rep"}, []string{"rep/metrics.json", "rep/report.md", "rep/confusion.png"}, true},
		{"ensemble", []string{"-q", fPreds, fPreds, "--weights", "0.3,0.7", "-o", "OUT"}, []string{"o.arrow", "o.metrics.json"}, true},
	}
	for _, s := range stagesDet {
		t.Run(s.bin, func(t *testing.T) {
			bin := s.bin
			if i := bytes.IndexByte([]byte(bin), ' '); i > 0 {
				bin = bin[:i]
			}
			outs := map[string]map[string][]byte{} // threads/run -> file -> bytes
			runs := []string{"1", "1", "2", "2"}
			if nativeByEnv && !s.threadOK {
				runs = append(runs, "1n", "2n") // threads, then n: ULMFIT_BLAS=native
			}
			for _, th := range runs {
				dir := caseDir(t, fixtureSet...)
				args := withOut(s.args, "o.arrow")
				for i := range args {
					if args[i] == "THREADS" {
						args[i] = th[:1]
					}
				}
				var env []string
				if len(th) > 1 {
					env = nativeEnv
				}
				r := runIn(context.Background(), dir, env, bin, args...)
				t.Logf("%s", r)
				wantOK(t, r)
				key := th + "a"
				if outs[key] != nil {
					key = th + "b"
				}
				outs[key] = map[string][]byte{}
				for _, o := range s.outs {
					outs[key][o] = fileBytes(t, filepath.Join(dir, o))
				}
			}
			if outs["1na"] != nil {
				for _, o := range s.outs {
					if !bytes.Equal(outs["1na"][o], outs["2na"][o]) {
						t.Errorf("%s with ULMFIT_BLAS=native: --threads 1 and 2 wrote different %s", s.bin, o)
					}
				}
			}
			for _, o := range s.outs {
				for _, th := range []string{"1", "2"} {
					if !bytes.Equal(outs[th+"a"][o], outs[th+"b"][o]) {
						t.Errorf("%s: two runs with --threads %s wrote different %s", s.bin, th, o)
					}
				}
				same := bytes.Equal(outs["1a"][o], outs["2a"][o])
				switch {
				case !same && (s.threadOK || native):
					t.Errorf("%s: --threads 1 and 2 wrote different %s", s.bin, o)
				case !same:
					t.Logf("%s: --threads 1 and 2 give different %s (float rounding of the split GEMM with OPENBLAS_CORETYPE=%q; documented)", s.bin, o, os.Getenv("OPENBLAS_CORETYPE"))
					threadLog.note(s.bin + " " + o + ": 1 vs 2 threads differ")
				default:
					threadLog.note(s.bin + " " + o + ": 1 vs 2 threads identical")
				}
			}
		})
	}
}

var threadLog faults
