package artifacts

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// LabelCounts is how many documents of a tokens artifact carry each label.
type LabelCounts struct {
	Path       string
	Sources    []string // the raw files (inputs that are not artifacts) it was made from
	Names      []string // the artifact's label names, in index order
	MultiLabel bool
	Docs       int64   // every document
	Unlabeled  int64   // documents without any label
	PerLabel   []int64 // per label name: documents with that label (a multi-label document counts once for each of its labels)
}

// Where names the data for a message: the raw files with the artifact, e.g.
// "reviews.csv (out/reviews/tok/train.arrow)", or the artifact alone.
func (c *LabelCounts) Where() string {
	if len(c.Sources) == 0 {
		return c.Path
	}
	return fmt.Sprintf("%s (%s)", strings.Join(c.Sources, " + "), c.Path)
}

// Labeled is the number of documents that have at least one label.
func (c *LabelCounts) Labeled() int64 { return c.Docs - c.Unlabeled }

// Count returns the documents with label name, 0 when it is not a label of
// the artifact.
func (c *LabelCounts) Count(name string) int64 {
	for i, n := range c.Names {
		if n == name {
			return c.PerLabel[i]
		}
	}
	return 0
}

// CountLabels reads a tokens artifact end to end (one record batch in memory
// at a time) and counts its documents per label.
func CountLabels(ctx context.Context, path string) (*LabelCounts, error) {
	tr, err := OpenTokens(path)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	h := tr.Header()
	c := &LabelCounts{Path: path, Names: h.LabelNames, MultiLabel: h.MultiLabel, PerLabel: make([]int64, len(h.LabelNames))}
	for _, in := range h.Inputs {
		if in.Kind == "" {
			c.Sources = append(c.Sources, in.Path)
		}
	}
	for {
		if c.Docs%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		d, err := tr.Next()
		if err == io.EOF {
			return c, nil
		}
		if err != nil {
			return nil, fmt.Errorf("counting labels: %w", err)
		}
		c.Docs++
		switch {
		case d.Label >= 0:
			c.PerLabel[d.Label]++
		case len(d.Labels) > 0:
			for _, l := range d.Labels {
				c.PerLabel[l]++
			}
		default:
			c.Unlabeled++
		}
	}
}
