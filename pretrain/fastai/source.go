package fastai

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ulmfit-go/ulmfit/artifacts"
)

// source is a weights file and its itos pickle, read into memory.
type source struct {
	weights, itos         []byte
	weightsName, itosName string   // for messages: "archive.tgz:wt103-fwd/lstm_fwd.pth"
	files                 []string // the files the user named (lineage)
}

// maxMember bounds one archive member read into memory (the fastai v1/v2
// WT103 weights are ~180 MB).
const maxMember = 4 << 30

func isWeightsName(n string) bool {
	ext := strings.ToLower(filepath.Ext(n))
	return ext == ".pth" || ext == ".pt" || ext == ".h5" || ext == ".bin"
}

func isItosName(n string) bool { return strings.ToLower(filepath.Ext(n)) == ".pkl" }

func hidden(n string) bool {
	b := filepath.Base(n)
	return strings.HasPrefix(b, "._") || strings.HasPrefix(b, ".")
}

// openSource resolves the import arguments: an archive (.tgz, .tar.gz,
// .tar) holding one weights file and one .pkl; a folder holding them (what
// fastai's untar_data leaves); or a weights file followed by its .pkl.
func openSource(args []string) (*source, error) {
	switch len(args) {
	case 1:
		p := args[0]
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			return openDir(p)
		}
		if isWeightsName(p) {
			return nil, fmt.Errorf("%s: a weights file needs its vocab: pass the itos .pkl too (pretrain import %s ITOS.pkl)", p, p)
		}
		return openArchive(p)
	case 2:
		w, err := os.ReadFile(args[0])
		if err != nil {
			return nil, err
		}
		it, err := os.ReadFile(args[1])
		if err != nil {
			return nil, err
		}
		if isItosName(args[0]) && !isItosName(args[1]) {
			return nil, fmt.Errorf("%s: pass the weights file first, then the itos .pkl", args[0])
		}
		return &source{weights: w, itos: it, weightsName: args[0], itosName: args[1], files: args}, nil
	}
	return nil, fmt.Errorf("want 1 or 2 arguments (ARCHIVE.tgz | DIR | WEIGHTS.pth ITOS.pkl), got %d", len(args))
}

func pick(where string, names []string) (w, it string, err error) {
	var ws, is []string
	for _, n := range names {
		if hidden(n) {
			continue
		}
		switch {
		case isWeightsName(n):
			ws = append(ws, n)
		case isItosName(n):
			is = append(is, n)
		}
	}
	sort.Strings(ws)
	sort.Strings(is)
	if len(ws) != 1 || len(is) != 1 {
		return "", "", fmt.Errorf("%s: want exactly one weights file (.pth/.h5) and one itos .pkl, found weights %v and pickles %v; pass the pair explicitly (pretrain import WEIGHTS.pth ITOS.pkl)", where, ws, is)
	}
	return ws[0], is[0], nil
}

func openDir(dir string) (*source, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	w, it, err := pick(dir, names)
	if err != nil {
		return nil, err
	}
	wp, ip := filepath.Join(dir, w), filepath.Join(dir, it)
	wb, err := os.ReadFile(wp)
	if err != nil {
		return nil, err
	}
	ib, err := os.ReadFile(ip)
	if err != nil {
		return nil, err
	}
	return &source{weights: wb, itos: ib, weightsName: wp, itosName: ip, files: []string{wp, ip}}, nil
}

func openArchive(p string) (*source, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var head [2]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	// A member cannot hold more than the archive's bytes (or, gzipped, more
	// than deflate can expand them to): a header claiming more is corrupt,
	// and nothing is allocated for it.
	limit := st.Size()
	var r io.Reader = f
	if head == [2]byte{0x1f, 0x8b} {
		limit = st.Size() * maxDeflateRatio
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		defer gz.Close()
		r = gz
	}
	tr := tar.NewReader(r)
	members := map[string][]byte{}
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: not a fastai model archive (.tgz of a .pth and an itos .pkl): %w", p, err)
		}
		if h.Typeflag != tar.TypeReg || hidden(h.Name) || !(isWeightsName(h.Name) || isItosName(h.Name)) {
			continue
		}
		if h.Size > maxMember {
			return nil, fmt.Errorf("%s: member %s is %d bytes, too large", p, h.Name, h.Size)
		}
		if h.Size > limit {
			return nil, fmt.Errorf("%s: member %s declares %d bytes, more than the archive can hold (corrupt or truncated archive)", p, h.Name, h.Size)
		}
		b, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return nil, fmt.Errorf("%s: member %s: %w", p, h.Name, err)
		}
		if int64(len(b)) != h.Size {
			return nil, fmt.Errorf("%s: member %s: truncated archive (%d of %d bytes)", p, h.Name, len(b), h.Size)
		}
		members[h.Name] = b
		names = append(names, h.Name)
	}
	w, it, err := pick(p, names)
	if err != nil {
		return nil, err
	}
	return &source{weights: members[w], itos: members[it], weightsName: p + ":" + w, itosName: p + ":" + it, files: []string{p}}, nil
}

// guessDirection says "bwd" when a name looks like fastai's backward model
// (wt103-bwd.tgz, lstm_bwd.pth, bwd_wt103.h5).
func guessDirection(names ...string) string {
	for _, n := range names {
		if strings.Contains(strings.ToLower(filepath.Base(n)), "bwd") {
			return artifacts.DirBackward
		}
	}
	return artifacts.DirForward
}
