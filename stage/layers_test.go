package stage

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const modulePrefix = "github.com/ulmfit-go/ulmfit/"

// stageModules are the modules that each build one stage binary. A stage
// that imports another stage's code cannot be swapped on its own, so none
// may (docs/ARCHITECTURE.md, "What may import what").
var stageModules = []string{"tokenize", "pretrain", "lmtune", "clftune", "evaluate", "ensemble"}

// allowedImport reports whether code in module from may import the package
// path (relative to modulePrefix), and if not, why.
func allowedImport(from, path string) (bool, string) {
	to, _, _ := strings.Cut(path, "/")
	if to == from {
		return true, ""
	}
	// tokenize is also the tokenizer library (the package and its
	// subpackages other than its command); stage's fixtures and evaluate's
	// predictor tokenize text with it.
	tokenizerLib := to == "tokenize" && !strings.HasPrefix(path, "tokenize/cmd")
	switch from {
	case "artifacts":
		return false, "artifacts is the ground layer and imports nothing of ours"
	case "nn":
		return false, "nn is the numerics and imports nothing of ours"
	case "stage":
		if to == "artifacts" || to == "nn" || tokenizerLib {
			return true, ""
		}
		return false, "the stage library is below the stages"
	case "e2e":
		return true, ""
	}
	if slices.Contains(stageModules, to) && !(from == "evaluate" && tokenizerLib) {
		return false, "a stage module never imports another stage module"
	}
	return true, ""
}

// TestLayers parses the imports of every Go file in the repository, tests
// included, and fails on one that crosses the layers.
func TestLayers(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("want the repository root at %s: %v", root, err)
	}
	files := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "out" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		from, _, ok := strings.Cut(filepath.ToSlash(rel), "/")
		if !ok {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			// nn stays numerics: no plotting or terminal code either.
			if from == "nn" && (strings.HasPrefix(path, "gonum.org/v1/plot") || strings.HasPrefix(path, "golang.org/x/term")) {
				t.Errorf("%s imports %s: nn is numerics only", rel, path)
			}
			if !strings.HasPrefix(path, modulePrefix) {
				continue
			}
			// the SentencePiece package is a self-contained format library
			if strings.HasPrefix(filepath.ToSlash(rel), "tokenize/sentencepiece/") {
				t.Errorf("%s imports %s: tokenize/sentencepiece imports nothing of ours", rel, path)
			}
			if ok, why := allowedImport(from, strings.TrimPrefix(path, modulePrefix)); !ok {
				t.Errorf("%s imports %s: %s", rel, path, why)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("parsed only %d Go files under %s: is this the repository?", files, root)
	}
}

func TestAllowedImport(t *testing.T) {
	tests := []struct {
		from, path string
		want       bool
	}{
		{"lmtune", "stage/train", true},
		{"lmtune", "pretrain/fastai", false},
		{"ensemble", "evaluate/predict", false},
		{"evaluate", "tokenize", true},
		{"evaluate", "tokenize/corpus", true},
		{"evaluate", "tokenize/cmd/tokenize", false},
		{"clftune", "tokenize", false},
		{"stage", "tokenize/corpus", true},
		{"stage", "clftune/cmd/clftune", false},
		{"nn", "artifacts", false},
		{"artifacts", "nn", false},
		{"e2e", "clftune", true},
		{"pretrain", "artifacts/cli", true},
	}
	for _, tt := range tests {
		if got, _ := allowedImport(tt.from, tt.path); got != tt.want {
			t.Errorf("allowedImport(%q, %q) = %v, want %v", tt.from, tt.path, got, tt.want)
		}
	}
}
