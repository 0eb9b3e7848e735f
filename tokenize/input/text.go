package input

import (
	"io"
	"strings"
)

// lines reads one document per line.
type lines struct {
	*file
	o    Options
	line int
}

func newLines(path string, f *file, o Options) (*lines, error) {
	l := &lines{file: f, o: o}
	if _, err := f.r.Peek(1); err == io.EOF {
		return nil, errf(path, 0, "empty file")
	}
	return l, nil
}

func (l *lines) MultiLabel() bool { return false }

func (l *lines) Progress() (int64, int64) { return l.progress() }

func (l *lines) Next() (Record, error) {
	s, err := l.readLine()
	if err == io.EOF {
		return Record{}, io.EOF
	}
	if err != nil {
		return Record{}, l.readErr(l.line+1, err)
	}
	l.line++
	if l.o.Latin1 {
		s = latin1(s)
	}
	return Record{Fields: []string{s}, File: l.path, Line: l.line}, nil
}

// wiki reads WikiText .tokens: a document per article, starting at a top-level heading
// " = Title = "; lines are joined with "\n" and blank lines dropped.
type wiki struct {
	*file
	line    int
	pending string // heading line that starts the next article
	pendAt  int
	eof     bool
	b       strings.Builder
}

func newWiki(path string, f *file, o Options) (*wiki, error) {
	if _, err := f.r.Peek(1); err == io.EOF {
		return nil, errf(path, 0, "empty file")
	}
	return &wiki{file: f}, nil
}

// IsWikiTitle reports whether a WikiText line is a top-level heading " = Title = ".
func IsWikiTitle(line string) bool {
	s := strings.TrimSpace(line)
	return len(s) >= 5 && strings.HasPrefix(s, "= ") && strings.HasSuffix(s, " =") &&
		!strings.HasPrefix(s, "= =") && !strings.HasSuffix(s, "= =")
}

func (w *wiki) MultiLabel() bool { return false }

func (w *wiki) Progress() (int64, int64) { return w.progress() }

func (w *wiki) Next() (Record, error) {
	w.b.Reset()
	start := 0
	if w.pending != "" {
		w.b.WriteString(w.pending)
		start = w.pendAt
		w.pending = ""
	}
	for !w.eof {
		s, err := w.readLine()
		if err == io.EOF {
			w.eof = true
			break
		}
		if err != nil {
			return Record{}, w.readErr(w.line+1, err)
		}
		w.line++
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if IsWikiTitle(s) && w.b.Len() > 0 {
			w.pending, w.pendAt = s, w.line
			break
		}
		if w.b.Len() == 0 {
			start = w.line
		} else {
			w.b.WriteByte('\n')
		}
		w.b.WriteString(s)
	}
	if w.b.Len() == 0 {
		return Record{}, io.EOF
	}
	return Record{Fields: []string{w.b.String()}, File: w.path, Line: start}, nil
}

// trec reads TREC question-classification files: "COARSE:fine question", ISO-8859-1.
type trec struct {
	*file
	o    Options
	line int
}

func newTREC(path string, f *file, o Options) (*trec, error) {
	if _, err := f.r.Peek(1); err == io.EOF {
		return nil, errf(path, 0, "empty file")
	}
	return &trec{file: f, o: o}, nil
}

func (t *trec) MultiLabel() bool { return false }

func (t *trec) Progress() (int64, int64) { return t.progress() }

func (t *trec) Next() (Record, error) {
	for {
		s, err := t.readLine()
		if err == io.EOF {
			return Record{}, io.EOF
		}
		if err != nil {
			return Record{}, t.readErr(t.line+1, err)
		}
		t.line++
		if strings.TrimSpace(s) == "" {
			continue
		}
		label, text, ok := strings.Cut(s, " ")
		coarse, fine, ok2 := strings.Cut(label, ":")
		if !ok || !ok2 || coarse == "" || fine == "" {
			return Record{}, errf(t.path, t.line, "not a TREC line %q: want \"COARSE:fine question text\"", trunc(s))
		}
		r := Record{Fields: []string{latin1(text)}, File: t.path, Line: t.line}
		if !t.o.NoLabels {
			r.Label = coarse
			if t.o.Fine {
				r.Label = label
			}
		}
		return r, nil
	}
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
