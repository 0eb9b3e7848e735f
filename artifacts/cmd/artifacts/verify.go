package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
)

// inputState is what became of a recorded input.
type inputState struct {
	path   string // where it was found ("" if missing)
	status string // "ok", "changed" or "missing"
	now    string // its hash now, when changed
}

// checkInput finds a recorded input (as recorded, i.e. relative to the
// working folder, else relative to the artifact's folder) and compares its
// hash.
func checkInput(artifact string, in artifacts.Input) (inputState, error) {
	cands := []string{in.Path}
	if !filepath.IsAbs(in.Path) {
		alt := filepath.Join(filepath.Dir(artifact), in.Path)
		if alt != filepath.Clean(in.Path) {
			cands = append(cands, alt)
		}
	}
	for _, c := range cands {
		sum, err := artifacts.HashFile(c)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return inputState{}, err
		}
		if sum == in.SHA256 {
			return inputState{path: c, status: "ok"}, nil
		}
		return inputState{path: c, status: "changed", now: sum}, nil
	}
	return inputState{status: "missing"}, nil
}

func runVerify(ctx context.Context, args []string, stdout io.Writer) error {
	fset := cli.NewFlags("artifacts verify", "[flags] FILE...", "Read each artifact end to end (kind, format, schema, checksums, values) and\ncheck every recorded input: ok, changed (its hash differs) or missing.\nExit status: 0 all readable and no input changed, 1 an input changed,\n2 a file is unreadable or damaged.")
	fset.SetOutput(stdout)
	quiet := fset.BoolP("quiet", "q", false, "print problems only")
	if err := cli.Parse(fset, args); err != nil {
		return err
	}
	if fset.NArg() == 0 {
		return cli.UsageOf(fset, "verify wants at least one FILE")
	}
	var bad error
	changed := 0
	for _, path := range fset.Args() {
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := artifacts.Verify(path)
		if err != nil && fset.NArg() == 1 {
			return err
		}
		if err != nil {
			fmt.Fprintf(stdout, "FAIL %s\n", cli.Message("artifacts", err))
			if bad == nil {
				bad = err
			}
			continue
		}
		lines := []string{}
		nchanged := 0
		for _, in := range info.Inputs {
			st, err := checkInput(path, in)
			if err != nil {
				lines = append(lines, fmt.Sprintf("  input %s: %v", in.Path, err))
				nchanged++
				continue
			}
			switch st.status {
			case "ok":
				if !*quiet {
					lines = append(lines, fmt.Sprintf("  input %s: ok", in.Path))
				}
			case "missing":
				lines = append(lines, fmt.Sprintf("  input %s: missing (not checked)", in.Path))
			case "changed":
				nchanged++
				lines = append(lines, fmt.Sprintf("  input %s: CHANGED at %s (sha256 now %s, recorded %s)", in.Path, st.path, short(st.now), short(in.SHA256)))
			}
		}
		changed += nchanged
		status := "ok  "
		if nchanged > 0 {
			status = "STALE"
		}
		if !*quiet || nchanged > 0 || len(lines) > 0 {
			fmt.Fprintf(stdout, "%s %s: %s format %d, %d rows, %d inputs\n", status, path, info.Kind, info.Format, info.Rows, len(info.Inputs))
			for _, l := range lines {
				fmt.Fprintln(stdout, l)
			}
		}
	}
	if bad != nil {
		return cli.BadInput(fmt.Errorf("some files failed verification (first: %w)", bad))
	}
	if changed > 0 {
		return fmt.Errorf("%d recorded input(s) changed since the artifacts were made: re-run the stages that made them", changed)
	}
	return nil
}
