// Package report turns classification metrics and training logs into a
// Markdown report with PNG plots (confusion matrix heat map, training
// curves) and a metrics.json file.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ulmfit-go/ulmfit/stage/metrics"
)

// Source describes what was evaluated, for the report header and JSON.
type Source struct {
	Predictions string   `json:"predictions"`          // predictions artifact path
	SHA256      string   `json:"sha256,omitempty"`     // its content hash
	Producer    string   `json:"producer,omitempty"`   // the stage that wrote it
	Logs        []string `json:"logs,omitempty"`       // training logs plotted
	Parameters  any      `json:"parameters,omitempty"` // the producer's params
}

// File is one output file of the report.
type File struct {
	Name string
	Data []byte
}

// Build renders metrics.json, report.md, confusion.png (single-label) and
// the training-curve plots (when curves is non-nil and has data). Output is
// deterministic for the same inputs.
func Build(src Source, m *metrics.Report, curves *Curves) ([]File, error) {
	var files []File
	js, err := json.MarshalIndent(struct {
		Source  Source          `json:"source"`
		Metrics *metrics.Report `json:"metrics"`
	}{src, m}, "", "  ")
	if err != nil {
		return nil, err
	}
	files = append(files, File{"metrics.json", append(js, '\n')})

	var plots []string
	if !m.MultiLabel && len(m.Confusion) > 0 {
		var buf bytes.Buffer
		names := make([]string, len(m.Classes))
		for i, c := range m.Classes {
			names[i] = c.Name
		}
		if err := ConfusionPNG(&buf, names, m.Confusion); err != nil {
			return nil, fmt.Errorf("confusion plot: %w", err)
		}
		files = append(files, File{"confusion.png", buf.Bytes()})
	}
	if curves != nil {
		for _, pl := range []struct {
			file, title string
			s           []Series
		}{
			{"loss.png", "Training and validation loss", curves.Loss},
			{"error.png", "Error / accuracy / F1", curves.Score},
			{"lr.png", "Learning rate", curves.LR},
		} {
			if len(pl.s) == 0 {
				continue
			}
			var buf bytes.Buffer
			if err := CurvesPNG(&buf, pl.title, curves.XLabel, pl.s); err != nil {
				return nil, fmt.Errorf("%s: %w", pl.file, err)
			}
			files = append(files, File{pl.file, buf.Bytes()})
			plots = append(plots, pl.file)
		}
	}
	files = append(files, File{"report.md", markdown(src, m, plots)})
	return files, nil
}

func markdown(src Source, m *metrics.Report, plots []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Evaluation report\n\n")
	fmt.Fprintf(&b, "Predictions: `%s`", src.Predictions)
	if src.SHA256 != "" {
		fmt.Fprintf(&b, " (sha256 `%.16s…`)", src.SHA256)
	}
	if src.Producer != "" {
		fmt.Fprintf(&b, ", written by `%s`", src.Producer)
	}
	fmt.Fprintf(&b, ".\n\n")
	fmt.Fprintf(&b, "%d labeled documents scored", m.N)
	if m.Unlabeled > 0 {
		fmt.Fprintf(&b, ", %d unlabeled skipped", m.Unlabeled)
	}
	fmt.Fprintf(&b, ".\n\n## Summary\n\n| metric | value |\n|---|---|\n")
	if m.MultiLabel {
		fmt.Fprintf(&b, "| micro-F1 | %.4f |\n| macro-F1 | %.4f |\n| micro precision | %.4f |\n| micro recall | %.4f |\n",
			m.MicroF1, m.MacroF1, m.MicroPrecision, m.MicroRecall)
		fmt.Fprintf(&b, "| Hamming loss | %.4f |\n| subset accuracy | %.4f |\n| log-loss (mean BCE per label) | %.4f |\n| threshold | %g |\n",
			m.HammingLoss, m.Accuracy, m.LogLoss, m.Threshold)
	} else {
		fmt.Fprintf(&b, "| error rate | %.2f%% |\n| accuracy | %.2f%% |\n| macro-F1 | %.4f |\n| log-loss | %.4f |\n| majority-class error | %.2f%% |\n",
			100*m.ErrorRate, 100*m.Accuracy, m.MacroF1, m.LogLoss, 100*m.MajorityError)
	}
	fmt.Fprintf(&b, "\n## Per class\n\n| class | precision | recall | F1 | support | predicted |\n|---|---|---|---|---|---|\n")
	for _, c := range m.Classes {
		fmt.Fprintf(&b, "| %s | %.4f | %.4f | %.4f | %d | %d |\n", mdEscape(c.Name), c.Precision, c.Recall, c.F1, c.Support, c.Predicted)
	}
	if !m.MultiLabel && len(m.Confusion) > 0 {
		fmt.Fprintf(&b, "\n## Confusion matrix\n\nRows: true class; columns: predicted class.\n\n| true \\ pred |")
		for _, c := range m.Classes {
			fmt.Fprintf(&b, " %s |", mdEscape(c.Name))
		}
		fmt.Fprintf(&b, "\n|---|")
		for range m.Classes {
			fmt.Fprintf(&b, "---|")
		}
		fmt.Fprintln(&b)
		for i, row := range m.Confusion {
			fmt.Fprintf(&b, "| %s |", mdEscape(m.Classes[i].Name))
			for _, v := range row {
				fmt.Fprintf(&b, " %d |", v)
			}
			fmt.Fprintln(&b)
		}
		fmt.Fprintf(&b, "\n![confusion matrix](confusion.png)\n")
	}
	if len(plots) > 0 {
		fmt.Fprintf(&b, "\n## Training curves\n\nFrom:")
		for _, l := range src.Logs {
			fmt.Fprintf(&b, " `%s`", l)
		}
		fmt.Fprintf(&b, "\n\n")
		for _, p := range plots {
			fmt.Fprintf(&b, "![%s](%s)\n\n", strings.TrimSuffix(p, ".png"), p)
		}
	}
	return []byte(b.String())
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
