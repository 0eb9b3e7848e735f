package input

import (
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
)

// folder reads DIR/<label>/*.txt (aclImdb style; .txt.gz and .txt.zst too): one document per file, labelled by
// its folder. The "unsup" folder is read only with Options.Unsup, unlabelled.
type folder struct {
	dir   string
	o     Options
	files []folderFile
	i     int
	done  atomic.Int64
	total int64
}

type folderFile struct {
	path  string
	label string
	size  int64
}

func openFolder(dir string, o Options) (*folder, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	f := &folder{dir: dir, o: o}
	var seen []string
	for _, e := range ents { // ReadDir sorts by name
		if !e.IsDir() {
			continue
		}
		seen = append(seen, e.Name())
		if e.Name() == "unsup" && !o.Unsup {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		files, err := os.ReadDir(sub)
		if err != nil {
			return nil, err
		}
		label := e.Name()
		if label == "unsup" || o.NoLabels {
			label = ""
		}
		for _, fe := range files {
			if fe.IsDir() || !IsTextFile(fe.Name()) {
				continue
			}
			info, err := fe.Info()
			if err != nil {
				return nil, err
			}
			f.files = append(f.files, folderFile{path: filepath.Join(sub, fe.Name()), label: label, size: info.Size()})
			f.total += info.Size()
		}
	}
	if len(f.files) == 0 {
		msg := "no DIR/<label>/*.txt files"
		if len(seen) > 0 {
			msg += " in folders " + strings.Join(seen, ", ")
			if len(seen) == 1 && seen[0] == "unsup" {
				msg += " (add --unsup to read unsup)"
			}
		}
		return nil, errf(dir, 0, "%s", msg)
	}
	sort.SliceStable(f.files, func(a, b int) bool { return f.files[a].path < f.files[b].path })
	return f, nil
}

func (f *folder) MultiLabel() bool { return false }

func (f *folder) Progress() (int64, int64) { return f.done.Load(), f.total }

func (f *folder) Close() error { return nil }

func (f *folder) Next() (Record, error) {
	if f.i >= len(f.files) {
		return Record{}, io.EOF
	}
	ff := f.files[f.i]
	f.i++
	b, err := readText(ff.path)
	if err != nil {
		return Record{}, err
	}
	f.done.Add(ff.size)
	text := string(b)
	if f.o.Latin1 {
		text = latin1(text)
	}
	return Record{Fields: []string{text}, Label: ff.label, File: ff.path}, nil
}

// IsTextFile reports whether a folder input reads the file: *.txt, optionally .gz or .zst
// compressed.
func IsTextFile(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".txt") || strings.HasSuffix(n, ".txt.gz") || strings.HasSuffix(n, ".txt.zst")
}

// readText reads a whole (possibly compressed) file.
func readText(path string) ([]byte, error) {
	if strings.HasSuffix(strings.ToLower(path), ".txt") {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, &Error{File: path, Msg: "cannot read", Err: err}
		}
		return b, nil
	}
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f.r)
	if err != nil {
		return nil, f.readErr(0, err)
	}
	return b, nil
}
