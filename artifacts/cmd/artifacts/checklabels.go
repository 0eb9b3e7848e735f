package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
)

const checkLabelsDescription = `Check that labelled tokens artifacts can train and score a classifier, before
any training starts (make classify runs it right after tokenize):
  - TRAIN has labelled documents, of at least 2 classes;
  - every class of TRAIN has at least --min-per-class documents (a multi-label
    document counts for each of its labels);
  - TEST (optional) has labelled documents, uses TRAIN's label order, and has
    no label that no TRAIN document has (the classifier could never predict it).
Prints one summary line on success. Exit status 2, with one line naming the
file, the label and what to do, when a check fails.`

// defaultMinPerClass is the fewest documents of a class that check-labels
// accepts by default: with fewer, a 10% validation holdout keeps one or two of
// them, too few to learn the class or to measure how well it was learnt.
const defaultMinPerClass = 20

func runCheckLabels(ctx context.Context, args []string, stdout io.Writer) error {
	fs := cli.NewFlags("artifacts check-labels", "[flags] TRAIN.arrow [TEST.arrow]", checkLabelsDescription)
	fs.SetOutput(stdout)
	minPer := fs.Int("min-per-class", defaultMinPerClass, "fewest documents a class of TRAIN may have (0: no minimum)")
	quiet := fs.BoolP("quiet", "q", false, "print errors only")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return cli.UsageOf(fs, "check-labels wants TRAIN and optionally TEST, got %d argument(s)", fs.NArg())
	}
	if *minPer < 0 {
		return cli.UsageOf(fs, "--min-per-class %d: want 0 or more", *minPer)
	}
	train, err := artifacts.CountLabels(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	var test *artifacts.LabelCounts
	if fs.NArg() == 2 {
		if test, err = artifacts.CountLabels(ctx, fs.Arg(1)); err != nil {
			return err
		}
	}
	summary, err := checkLabels(train, test, *minPer)
	if err != nil {
		return cli.BadInput(err)
	}
	if !*quiet {
		fmt.Fprintln(stdout, summary)
	}
	return nil
}

// checkLabels runs the checks of check-labels on the counts of TRAIN (and TEST
// when not nil) and returns the summary line, or the first problem found.
func checkLabels(train, test *artifacts.LabelCounts, minPer int) (string, error) {
	if train.Labeled() == 0 {
		return "", fmt.Errorf("%s: none of its %d documents has a label: name the label column (tokenize --label-col, LABEL_COL= for make classify) or give labelled data", train.Where(), train.Docs)
	}
	var present []int
	for i, n := range train.PerLabel {
		if n > 0 {
			present = append(present, i)
		}
	}
	if len(present) < 2 {
		return "", fmt.Errorf("%s: every labelled document has the label %q: a classifier needs at least 2 classes; add documents of the other classes (or check that the label column is the right one)", train.Where(), train.Names[present[0]])
	}
	if test != nil {
		if err := checkTest(train, test); err != nil {
			return "", err
		}
	}
	// Classes below the minimum, fewest first (ties in label order).
	var few []int
	for i, n := range train.PerLabel {
		if n < int64(minPer) {
			few = append(few, i)
		}
	}
	slices.SortStableFunc(few, func(a, b int) int { return int(train.PerLabel[a] - train.PerLabel[b]) })
	if len(few) > 0 {
		c := few[0]
		more := ""
		if len(few) > 1 {
			var names []string
			for _, i := range few[1:min(len(few), 6)] {
				names = append(names, fmt.Sprintf("%q %d", train.Names[i], train.PerLabel[i]))
			}
			if len(few) > 6 {
				names = append(names, "...")
			}
			more = fmt.Sprintf(", and %d more classes have fewer than %d (%s)", len(few)-1, minPer, strings.Join(names, ", "))
		}
		return "", fmt.Errorf("%s: the class %q has only %d document(s)%s: with fewer than %d a class can hardly be learnt or measured; add documents, merge or drop the class, or go on anyway with --min-per-class %d (MIN_PER_CLASS=%d for make classify)",
			train.Where(), train.Names[c], train.PerLabel[c], more, minPer, train.PerLabel[c], train.PerLabel[c])
	}
	fewest := present[0]
	for _, i := range present {
		if train.PerLabel[i] < train.PerLabel[fewest] {
			fewest = i
		}
	}
	kind := "classes"
	if train.MultiLabel {
		kind = "labels (multi-label)"
	}
	s := fmt.Sprintf("%s: %d %s, %d labelled documents (fewest: %q, %d)", train.Where(), len(present), kind, train.Labeled(), train.Names[fewest], train.PerLabel[fewest])
	if train.Unlabeled > 0 {
		s += fmt.Sprintf(", %d without a label (not used by the classifier)", train.Unlabeled)
	}
	if test != nil {
		s += fmt.Sprintf("; %s: %d labelled documents, every label seen in training", test.Where(), test.Labeled())
	}
	return s + ": ok", nil
}

// checkTest checks TEST against TRAIN: same kind of labels, the same label
// order, labelled documents, and no label that no training document has.
func checkTest(train, test *artifacts.LabelCounts) error {
	if test.MultiLabel != train.MultiLabel {
		return fmt.Errorf("%s: multi-label is %v but %v in %s: tokenize both with the same label flags (--label-sep, the same label column)", test.Where(), test.MultiLabel, train.MultiLabel, train.Where())
	}
	if test.Labeled() == 0 {
		return fmt.Errorf("%s: none of its %d documents has a label, so there is nothing to score: give TEST the same label column as TRAIN, or leave TEST out", test.Where(), test.Docs)
	}
	for i, name := range test.Names {
		if test.PerLabel[i] > 0 && train.Count(name) == 0 {
			return fmt.Errorf("%s: the label %q (%d documents) is on no document of %s: the classifier can never predict it; add documents with it to TRAIN, or remove them from TEST", test.Where(), name, test.PerLabel[i], train.Where())
		}
	}
	if !slices.Equal(test.Names, train.Names) {
		return fmt.Errorf("%s: its labels (%s) are not those of %s (%s) in the same order: tokenize TEST with --labels-from %s", test.Where(), strings.Join(test.Names, ", "), train.Where(), strings.Join(train.Names, ", "), train.Path)
	}
	return nil
}
