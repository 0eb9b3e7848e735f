package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
)

func runLineage(ctx context.Context, args []string, stdout io.Writer) error {
	fs := cli.NewFlags("artifacts lineage", "[flags] FILE", "Print the tree of an artifact's inputs back to the raw files, recursing into\ninputs that are artifacts. Each input is marked ok, CHANGED or missing.")
	fs.SetOutput(stdout)
	depth := fs.Int("depth", 32, "stop descending after this many levels")
	params := fs.Bool("params", false, "also print each artifact's parameters")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.UsageOf(fs, "lineage wants one FILE, got %d", fs.NArg())
	}
	root := fs.Arg(0)
	info, err := artifacts.Stat(root)
	if err != nil {
		return err
	}
	sum, err := artifacts.HashFile(root)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s  [%s, %s]  sha256 %s\n", root, info.Kind, info.Producer, short(sum))
	t := &tree{out: stdout, maxDepth: *depth, params: *params, seen: map[string]bool{sum: true}, ctx: ctx}
	if *params {
		t.printParams(info, "")
	}
	return t.walk(root, info, "", 1)
}

type tree struct {
	out      io.Writer
	maxDepth int
	params   bool
	seen     map[string]bool // by content hash: cycles and repeats
	ctx      context.Context
}

func (t *tree) printParams(info *artifacts.Info, prefix string) {
	if len(info.Params) == 0 {
		return
	}
	fmt.Fprintf(t.out, "%s    params: %s\n", prefix, info.Metadata[artifacts.MetaParams])
}

func (t *tree) walk(path string, info *artifacts.Info, prefix string, depth int) error {
	if err := t.ctx.Err(); err != nil {
		return err
	}
	for i, in := range info.Inputs {
		last := i == len(info.Inputs)-1
		branch, next := "├── ", "│   "
		if last {
			branch, next = "└── ", "    "
		}
		kind := "raw"
		if in.Kind != "" {
			kind = string(in.Kind)
		}
		st, err := checkInput(path, in)
		if err != nil {
			fmt.Fprintf(t.out, "%s%s%s  [%s]  error: %s\n", prefix, branch, in.Path, kind, cli.Message("artifacts", err))
			continue
		}
		mark := st.status
		if st.status == "changed" {
			mark = "CHANGED"
		}
		if st.path != "" && filepath.Clean(st.path) != filepath.Clean(in.Path) {
			mark += " (at " + st.path + ")"
		}
		line := fmt.Sprintf("%s%s%s  [%s", prefix, branch, in.Path, kind)
		var sub *artifacts.Info
		if in.Kind != "" && st.path != "" {
			if s, err := artifacts.Stat(st.path); err == nil {
				sub = s
				line += ", " + s.Producer
			} else {
				mark += "; unreadable: " + cli.Message("artifacts", err)
			}
		}
		fmt.Fprintf(t.out, "%s]  %s\n", line, mark)
		if sub == nil {
			continue
		}
		if t.params {
			t.printParams(sub, prefix+next)
		}
		key := in.SHA256
		if st.status == "changed" {
			key = st.now
		}
		if t.seen[key] {
			if len(sub.Inputs) > 0 {
				fmt.Fprintf(t.out, "%s%s(inputs shown above)\n", prefix, next)
			}
			continue
		}
		t.seen[key] = true
		if depth >= t.maxDepth {
			if len(sub.Inputs) > 0 {
				fmt.Fprintf(t.out, "%s%s… (--depth %d reached)\n", prefix, next, t.maxDepth)
			}
			continue
		}
		if err := t.walk(st.path, sub, prefix+next, depth+1); err != nil {
			return err
		}
	}
	return nil
}
