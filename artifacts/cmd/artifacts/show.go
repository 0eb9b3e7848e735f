package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
)

func runShow(ctx context.Context, args []string, stdout io.Writer) error {
	fs := cli.NewFlags("artifacts show", "[flags] FILE", "Describe an artifact: kind, format, producer, rows, schema, metadata,\nlineage and its first rows, decoded (token ids through the embedded vocab,\ntensors as name, shape and first values, predictions with label names).")
	fs.SetOutput(stdout)
	rows := fs.IntP("rows", "n", 5, "number of rows to decode")
	width := fs.Int("width", 160, "cut long metadata values and rows to this many characters (0 = no limit)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.UsageOf(fs, "show wants one FILE, got %d", fs.NArg())
	}
	if *rows < 0 {
		return cli.UsageOf(fs, "--rows %d: want 0 or more", *rows)
	}
	path := fs.Arg(0)
	info, err := artifacts.Stat(path)
	if err != nil {
		return err
	}
	w := &shower{out: stdout, width: *width}
	w.header(info)
	return w.rows(info, *rows)
}

type shower struct {
	out   io.Writer
	width int
}

func (w *shower) cut(s string) string {
	if w.width <= 0 || len(s) <= w.width {
		return s
	}
	cut := w.width
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d bytes)", len(s))
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func (w *shower) header(in *artifacts.Info) {
	p := func(format string, a ...any) { fmt.Fprintf(w.out, format, a...) }
	p("file:      %s\n", in.Path)
	p("kind:      %s (format %d)\n", in.Kind, in.Format)
	p("producer:  %s\n", in.Producer)
	p("size:      %s, %d record batches, %d rows\n", humanBytes(in.Size), in.Batches, in.Rows)
	p("schema:\n")
	for _, c := range in.Columns {
		p("  %s\n", c)
	}
	p("metadata:\n")
	for _, k := range in.MetadataKeys() {
		switch k {
		case artifacts.MetaKind, artifacts.MetaFormat, artifacts.MetaProducer, artifacts.MetaInputs:
			continue // shown above / below
		}
		p("  %s = %s\n", k, w.cut(in.Metadata[k]))
	}
	p("inputs:\n")
	if len(in.Inputs) == 0 {
		p("  (none)\n")
	}
	for _, i := range in.Inputs {
		kind := "raw"
		if i.Kind != "" {
			kind = string(i.Kind)
		}
		p("  %s  [%s]  sha256 %s\n", i.Path, kind, short(i.SHA256))
	}
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12] + "…"
	}
	return sum
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// rows decodes and prints the first n rows with the kind's reader.
func (w *shower) rows(in *artifacts.Info, n int) error {
	if n == 0 {
		return nil
	}
	p := func(format string, a ...any) { fmt.Fprintf(w.out, format, a...) }
	switch in.Kind {
	case artifacts.KindTokens:
		tr, err := artifacts.OpenTokens(in.Path)
		if err != nil {
			return err
		}
		defer tr.Close()
		h := tr.Header()
		p("first rows:\n")
		for i := 0; i < n; i++ {
			d, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			toks := make([]string, len(d.Tokens))
			for j, t := range d.Tokens {
				toks[j] = h.Vocab.Tokens[t]
			}
			label := labelName(h.LabelNames, d.Label)
			if d.Labels != nil {
				label = labelNames(h.LabelNames, d.Labels)
			}
			p("  %s\n", w.cut(fmt.Sprintf("id %d  label %s  %d tokens: %s", d.ID, label, len(d.Tokens), strings.Join(toks, " "))))
		}
	case artifacts.KindVocab:
		v, _, err := artifacts.ReadVocab(in.Path)
		if err != nil {
			return err
		}
		p("first rows:\n")
		for i := 0; i < n && i < v.Len(); i++ {
			p("  %d  %q  count %d\n", i, v.Tokens[i], v.Counts[i])
		}
	case artifacts.KindLM, artifacts.KindClassifier:
		m, err := artifacts.ReadModel(in.Path, in.Kind)
		if err != nil {
			return err
		}
		var params int
		for _, t := range m.Tensors {
			params += len(t.Data)
		}
		p("tensors:   %d parameters in %d tensors, direction %s", params, len(m.Tensors), m.Direction)
		if m.Vocab != nil {
			p(", vocab %d", m.Vocab.Len())
		}
		if len(m.OptState) > 0 {
			p(", %d optimizer-state tensors", len(m.OptState))
		}
		p("\n")
		for _, t := range m.Tensors {
			p("  %s\n", w.cut(fmt.Sprintf("%-28s %-14s %s", t.Name, shape(t.Shape), values(t.Data, n))))
		}
		for _, t := range m.OptState {
			p("  %s\n", w.cut(fmt.Sprintf("[opt] %-22s %-14s %s", t.Name, shape(t.Shape), values(t.Data, n))))
		}
	case artifacts.KindPredictions:
		pr, err := artifacts.ReadPredictions(in.Path)
		if err != nil {
			return err
		}
		p("first rows:\n")
		for i := 0; i < n && i < len(pr.Rows); i++ {
			r := pr.Rows[i]
			label := labelName(pr.LabelNames, r.Label)
			if r.Labels != nil {
				label = labelNames(pr.LabelNames, r.Labels)
			}
			probs := make([]string, len(r.Probs))
			for j, q := range r.Probs {
				probs[j] = fmt.Sprintf("%s %.3f", pr.LabelNames[j], q)
			}
			p("  %s\n", w.cut(fmt.Sprintf("id %d  label %s  pred %s  probs {%s}", r.ID, label, labelName(pr.LabelNames, r.Pred), strings.Join(probs, ", "))))
		}
	}
	return nil
}

func labelName(names []string, l int32) string {
	if l < 0 {
		return "-"
	}
	if int(l) < len(names) {
		return names[l]
	}
	return strconv.Itoa(int(l))
}

func labelNames(names []string, ls []int32) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = labelName(names, l)
	}
	return "[" + strings.Join(s, ",") + "]"
}

func shape(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func values(d []float32, n int) string {
	k := min(n, len(d))
	parts := make([]string, k)
	for i := range parts {
		parts[i] = strconv.FormatFloat(float64(d[i]), 'g', 5, 32)
	}
	s := "[" + strings.Join(parts, " ")
	if len(d) > k {
		s += " …"
	}
	return s + "]"
}
