// Command tokdump prints documents of a tokens artifact as text, for a look at what the
// tokenizer made:
//
//	tokdump [-n 5] [--skip 0] FILE.tokens.arrow
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/tokenize"
)

func main() {
	cli.Main("tokdump", func(ctx context.Context, args []string) error { return run(args, os.Stdout) })
}

func run(args []string, w io.Writer) error {
	fs := cli.NewFlags("tokdump", "[flags] FILE.tokens.arrow", "Print documents of a tokens artifact as space-separated tokens.")
	n := fs.IntP("n", "n", 5, "documents to print")
	skip := fs.Int("skip", 0, "documents to skip first")
	header := fs.Bool("header", false, "print the header (labels, stats, tokenizer settings) first")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usage("want one tokens artifact")
	}
	tr, err := artifacts.OpenTokens(fs.Arg(0))
	if err != nil {
		return err
	}
	defer tr.Close()
	h := tr.Header()
	if *header {
		settings := string(h.Tokenizer)
		if s, err := tokenize.ParseSettings(h.Tokenizer); err == nil && len(s.SPModel) > 0 {
			n := len(s.SPModel)
			s.SPModel = nil // a model is hundreds of KB: its size and hash say which it is
			settings = fmt.Sprintf("%s (SentencePiece model: %d bytes)", s.JSON(), n)
		}
		fmt.Fprintf(w, "vocab %d tokens, labels %q (multi-label %v)\nstats %v\ntokenizer %s\n",
			h.Vocab.Len(), h.LabelNames, h.MultiLabel, h.Stats, settings)
	}
	for i := 0; i < *skip+*n; i++ {
		d, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if i < *skip {
			continue
		}
		toks := make([]string, len(d.Tokens))
		for k, id := range d.Tokens {
			toks[k] = h.Vocab.Tokens[id]
		}
		lab := ""
		switch {
		case d.Labels != nil:
			var ls []string
			for _, l := range d.Labels {
				ls = append(ls, h.LabelNames[l])
			}
			lab = strings.Join(ls, ";")
		case d.Label >= 0:
			lab = h.LabelNames[d.Label]
		}
		fmt.Fprintf(w, "[%d] %s: %s\n", d.ID, lab, strings.Join(toks, " "))
	}
	return nil
}
