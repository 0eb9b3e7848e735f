// Package input reads the documents of a text-classification or language-modelling data set
// from the files people have: CSV/TSV (with or without a header), JSON lines, one document
// per line, WikiText .tokens, TREC .label and folder-per-class trees, any of them
// compressed with zstd (.zst) or gzip (.gz).
package input

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Formats that Open knows.
const (
	CSV    = "csv"    // RFC 4180, a header unless NoHeader
	TSV    = "tsv"    // tab-separated, no quoting, a header unless NoHeader
	JSONL  = "jsonl"  // one JSON object per line
	Lines  = "txt"    // one document per line
	Wiki   = "tokens" // WikiText .tokens: one document per article
	TREC   = "label"  // TREC "COARSE:fine question" lines, ISO-8859-1
	Folder = "dir"    // DIR/<label>/*.txt
)

// Formats lists the format names.
func Formats() []string { return []string{CSV, TSV, JSONL, Lines, Wiki, TREC, Folder} }

// Record is one document as read, before tokenization.
type Record struct {
	Fields []string // text fields, in --text-col order
	Label  string   // single label; "" = none
	Labels []string // labels of a multi-label document (MultiLabel sources); nil = none
	File   string   // where it came from (the file itself for folder inputs)
	Line   int      // 1-based line where it starts (0 for whole files)
}

// Options say how to read an input.
type Options struct {
	Format   string   // "" = from the extension (after .zst/.gz); a folder is Folder
	TextCols []string // column names, or 1-based numbers with NoHeader; JSON field names
	LabelCol string   // column name / number / JSON field; "" = "label" when present
	NoLabels bool     // ignore labels
	NoHeader bool     // CSV/TSV without a header row
	LabelSep string   // split label fields into several labels (multi-label)
	Fine     bool     // TREC: the 50 fine labels ("DESC:manner") instead of the 6 coarse
	Unsup    bool     // Folder: also read the "unsup" folder (unlabelled)
	Latin1   bool     // decode bytes as ISO-8859-1 (TREC files always are)
}

// Error is a problem with an input file: it names the file and line.
type Error struct {
	File string
	Line int // 0 if not about a line
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", loc, e.Msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

func errf(file string, line int, format string, a ...any) *Error {
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, a...)}
}

// nameList lists column or field names for an error message: each quoted
// (line breaks and bad bytes escaped) and cut to 40 bytes, at most 10 of
// them, so that a header of any size gives a short line.
func nameList(names []string) string {
	const maxNames, maxLen = 10, 40
	if len(names) == 0 {
		return "nothing"
	}
	var b strings.Builder
	for i, n := range names {
		if i == maxNames {
			fmt.Fprintf(&b, ", ... (%d more)", len(names)-maxNames)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if len(n) <= maxLen {
			b.WriteString(strconv.Quote(n))
			continue
		}
		cut := maxLen
		for cut > 0 && !utf8.RuneStart(n[cut]) {
			cut--
		}
		fmt.Fprintf(&b, "%s... (%d bytes)", strconv.Quote(n[:cut]), len(n))
	}
	return b.String()
}

// Source yields the records of one input.
type Source interface {
	// Next returns the next record, or io.EOF.
	Next() (Record, error)
	// MultiLabel reports whether records carry Labels rather than Label.
	MultiLabel() bool
	// Progress returns the bytes (of the file as stored) read so far and in all.
	Progress() (done, total int64)
	Close() error
}

// DetectFormat names the format of path from its extension (or Folder for a directory).
func DetectFormat(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		return Folder, nil
	}
	name := strings.ToLower(filepath.Base(path))
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".zst"), ".gz")
	switch filepath.Ext(name) {
	case ".csv":
		return CSV, nil
	case ".tsv", ".tab":
		return TSV, nil
	case ".jsonl", ".ndjson", ".json":
		return JSONL, nil
	case ".txt", ".text":
		return Lines, nil
	case ".tokens":
		return Wiki, nil
	case ".label":
		return TREC, nil
	}
	return "", errf(path, 0, "cannot tell the format from the name; give --format (one of %s)", strings.Join(Formats(), ", "))
}

// Open opens path as an input of the given options.
func Open(path string, o Options) (Source, error) {
	format := o.Format
	if format == "" {
		f, err := DetectFormat(path)
		if err != nil {
			return nil, err
		}
		format = f
	}
	if format == Folder {
		return openFolder(path, o)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errf(path, 0, "is a folder; --format %s reads files (use --format dir, or leave --format out)", format)
	}
	r, err := openFile(path)
	if err != nil {
		return nil, err
	}
	var s Source
	switch format {
	case CSV, TSV:
		s, err = newTable(path, r, o, format == TSV)
	case JSONL:
		s, err = newJSONL(path, r, o)
	case Lines:
		s, err = newLines(path, r, o)
	case Wiki:
		s, err = newWiki(path, r, o)
	case TREC:
		s, err = newTREC(path, r, o)
	default:
		err = errf(path, 0, "unknown --format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	return s, nil
}

// file is an opened input file: a buffered, transparently decompressed reader with a
// count of the stored bytes consumed.
type file struct {
	path  string
	f     *os.File
	cnt   *countReader
	zr    *zstd.Decoder
	gr    *gzip.Reader
	r     *bufio.Reader
	total int64
}

type countReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func openFile(path string) (*file, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	fl := &file{path: path, f: f, total: st.Size(), cnt: &countReader{r: f}}
	var r io.Reader = fl.cnt
	lower := strings.ToLower(path)
	switch {
	case strings.HasSuffix(lower, ".zst"):
		zr, err := zstd.NewReader(bufio.NewReaderSize(fl.cnt, 1<<16), zstd.WithDecoderMaxWindow(1<<31), zstd.WithDecoderConcurrency(1))
		if err != nil {
			f.Close()
			return nil, &Error{File: path, Msg: "cannot read zstd", Err: err}
		}
		fl.zr, r = zr, zr
	case strings.HasSuffix(lower, ".gz"):
		gr, err := gzip.NewReader(bufio.NewReaderSize(fl.cnt, 1<<16))
		if err != nil {
			f.Close()
			if errors.Is(err, io.EOF) {
				return nil, errf(path, 0, "empty file")
			}
			return nil, &Error{File: path, Msg: "not a valid gzip file", Err: err}
		}
		fl.gr, r = gr, gr
	}
	fl.r = bufio.NewReaderSize(r, 1<<20)
	if b, err := fl.r.Peek(3); err == nil && string(b) == "\ufeff" {
		fl.r.Discard(3) // a UTF-8 byte-order mark
	}
	return fl, nil
}

// readErr wraps a read error of the (possibly compressed) stream.
func (f *file) readErr(line int, err error) error {
	if f.zr != nil || f.gr != nil {
		return &Error{File: f.path, Line: line, Msg: "cannot decompress", Err: err}
	}
	return &Error{File: f.path, Line: line, Msg: "read error", Err: err}
}

func (f *file) progress() (int64, int64) { return f.cnt.n.Load(), f.total }

// Close releases the file.
func (f *file) Close() error {
	if f.zr != nil {
		f.zr.Close()
	}
	if f.gr != nil {
		f.gr.Close()
	}
	return f.f.Close()
}

// readLine returns the next line without its line end, or io.EOF. Lines may be long.
func (f *file) readLine() (string, error) {
	s, err := f.r.ReadString('\n')
	if err != nil {
		if err == io.EOF && s != "" {
			err = nil
		} else if err != io.EOF {
			return "", err
		}
	}
	if err != nil {
		return "", err
	}
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	return s, nil
}

// latin1 decodes ISO-8859-1 bytes (every byte is the code point of the same value).
func latin1(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

// splitLabels splits a label field by sep, trimming spaces and dropping empty parts.
func splitLabels(s, sep string) []string {
	out := []string{}
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
