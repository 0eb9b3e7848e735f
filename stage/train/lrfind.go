package train

import (
	"bytes"
	"fmt"
	"io"
	"math"

	"github.com/ulmfit-go/ulmfit/artifacts"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// LRFindConfig configures fastai's learning-rate range test: the LR grows
// exponentially from Start to End over Iters steps, and the sweep stops early
// once the smoothed loss exceeds 4x its minimum (StopDiv).
type LRFindConfig struct {
	Start, End float64 // default 1e-7, 10
	Iters      int     // default 100
	StopDiv    bool
	Beta       float64 // loss smoothing, default 0.98
}

// DefaultLRFind is fastai's lr_find default.
func DefaultLRFind() LRFindConfig {
	return LRFindConfig{Start: 1e-7, End: 10, Iters: 100, StopDiv: true, Beta: 0.98}
}

// LRFinder records an LR sweep. Use LR(i) for step i's learning rate, feed
// each step's loss to Record, and stop when it returns true.
type LRFinder struct {
	Cfg    LRFindConfig
	LRs    []float64 // learning rate of each recorded step
	Losses []float64 // smoothed loss after each step (bias-corrected EMA)
	Raw    []float64 // raw loss of each step
	avg    float64
	best   float64
}

// NewLRFinder returns a finder; zero fields of cfg take fastai's defaults.
func NewLRFinder(cfg LRFindConfig) *LRFinder {
	d := DefaultLRFind()
	if cfg.Start <= 0 {
		cfg.Start = d.Start
	}
	if cfg.End <= 0 {
		cfg.End = d.End
	}
	if cfg.Iters <= 0 {
		cfg.Iters = d.Iters
	}
	if cfg.Beta <= 0 || cfg.Beta >= 1 {
		cfg.Beta = d.Beta
	}
	return &LRFinder{Cfg: cfg, best: math.Inf(1)}
}

// LR returns the learning rate of step i: Start*(End/Start)^(i/Iters).
func (f *LRFinder) LR(i int) float64 {
	return f.Cfg.Start * math.Pow(f.Cfg.End/f.Cfg.Start, float64(i)/float64(f.Cfg.Iters))
}

// Record adds the loss of the step that used learning rate lr and reports
// whether the sweep is over (Iters reached, loss not finite, or with StopDiv
// the smoothed loss above 4x its minimum).
func (f *LRFinder) Record(lr, loss float64) (stop bool) {
	f.avg = f.Cfg.Beta*f.avg + (1-f.Cfg.Beta)*loss
	sm := f.avg / (1 - math.Pow(f.Cfg.Beta, float64(len(f.Raw)+1)))
	f.LRs = append(f.LRs, lr)
	f.Raw = append(f.Raw, loss)
	f.Losses = append(f.Losses, sm)
	if math.IsNaN(sm) || math.IsInf(sm, 0) {
		return true
	}
	if f.Cfg.StopDiv && sm > 4*f.best {
		return true
	}
	f.best = math.Min(f.best, sm)
	return len(f.Raw) >= f.Cfg.Iters
}

// Suggestion is a suggested learning rate and the point it was read from.
type Suggestion struct {
	Method string  `json:"method"`
	LR     float64 `json:"lr"`
	Loss   float64 `json:"loss"`
}

// window returns the part of the curve fastai suggests from: the first
// Iters/10 points and the last 5 are dropped (fewer if the sweep was short),
// and non-finite points are cut off.
func (f *LRFinder) window() (lrs, losses []float64) {
	n := len(f.Losses)
	for n > 0 && (math.IsNaN(f.Losses[n-1]) || math.IsInf(f.Losses[n-1], 0)) {
		n--
	}
	lo, hi := f.Cfg.Iters/10, n-5
	if hi-lo < 3 {
		lo, hi = 0, n
	}
	return f.LRs[lo:hi], f.Losses[lo:hi]
}

// Valley is fastai's default suggestion ("valley"): find the longest
// decreasing subsequence of the smoothed loss and take the point
// len/3 + len/6 (about half way) into it.
func (f *LRFinder) Valley() (Suggestion, bool) {
	lrs, losses := f.window()
	n := len(losses)
	if n < 2 {
		return Suggestion{}, false
	}
	lds := make([]int, n)
	for i := range lds {
		lds[i] = 1
	}
	maxStart, maxEnd := 0, 0
	for i := 1; i < n; i++ {
		for j := 0; j < i; j++ {
			if losses[i] < losses[j] && lds[i] < lds[j]+1 {
				lds[i] = lds[j] + 1
			}
			if lds[maxEnd] < lds[i] {
				maxEnd = i
				maxStart = maxEnd - lds[maxEnd]
			}
		}
	}
	sections := float64(maxEnd-maxStart) / 3
	idx := maxStart + int(sections) + int(sections/2)
	idx = max(0, min(idx, n-1))
	return Suggestion{Method: "valley", LR: lrs[idx], Loss: losses[idx]}, true
}

// Steep is fastai's "steep" suggestion: the learning rate where the smoothed
// loss falls fastest against log(lr).
func (f *LRFinder) Steep() (Suggestion, bool) {
	lrs, losses := f.window()
	if len(losses) < 2 {
		return Suggestion{}, false
	}
	best, idx := math.Inf(1), 0
	for i := 0; i+1 < len(losses); i++ {
		g := (losses[i+1] - losses[i]) / (math.Log(lrs[i+1]) - math.Log(lrs[i]))
		if g < best {
			best, idx = g, i
		}
	}
	return Suggestion{Method: "steep", LR: lrs[idx], Loss: losses[idx]}, true
}

// WriteCSV writes "step,lr,loss,smoothed_loss" rows.
func (f *LRFinder) WriteCSV(w io.Writer) error {
	if _, err := fmt.Fprintln(w, "step,lr,loss,smoothed_loss"); err != nil {
		return err
	}
	for i := range f.LRs {
		if _, err := fmt.Fprintf(w, "%d,%g,%g,%g\n", i, f.LRs[i], f.Raw[i], f.Losses[i]); err != nil {
			return err
		}
	}
	return nil
}

// decadeTicks labels the powers of ten of a log axis ("1e-05").
type decadeTicks struct{}

// Ticks implements plot.Ticker.
func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		v := math.Pow(10, e)
		if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
			ts = append(ts, plot.Tick{Value: v, Label: fmt.Sprintf("1e%+03.0f", e)})
		}
	}
	return ts
}

// WritePNG draws the smoothed loss against the learning rate (log scale)
// with the suggestions marked, and writes it as PNG. As fastai's plot, the
// last 5 points (the explosion) are left out; the loss axis is cut at the
// starting loss plus the drop below it, so the valley stays readable.
func (f *LRFinder) WritePNG(w io.Writer, title string, marks ...Suggestion) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "learning rate (log scale)"
	p.Y.Label.Text = "smoothed loss"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = decadeTicks{}
	lrs, losses := f.LRs, f.Losses
	if n := len(lrs); n > 10 {
		lrs, losses = lrs[:n-5], losses[:n-5]
	}
	pts := make(plotter.XYs, 0, len(lrs))
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range lrs {
		if math.IsNaN(losses[i]) || math.IsInf(losses[i], 0) || lrs[i] <= 0 {
			continue
		}
		pts = append(pts, plotter.XY{X: lrs[i], Y: losses[i]})
		lo, hi = math.Min(lo, losses[i]), math.Max(hi, losses[i])
	}
	if len(pts) == 0 {
		return fmt.Errorf("lr finder: no finite losses to plot")
	}
	if top := pts[0].Y + (pts[0].Y - lo); top < hi {
		p.Y.Max = math.Max(top, lo+0.1*math.Abs(lo)+1e-3)
		p.Y.Min = lo - 0.05*(p.Y.Max-lo)
		for i := range pts {
			pts[i].Y = math.Min(pts[i].Y, p.Y.Max)
		}
	}
	line, err := plotter.NewLine(pts)
	if err != nil {
		return fmt.Errorf("lr finder plot: %w", err)
	}
	p.Add(line)
	for i, m := range marks {
		s, err := plotter.NewScatter(plotter.XYs{{X: m.LR, Y: m.Loss}})
		if err != nil {
			return fmt.Errorf("lr finder plot: %w", err)
		}
		s.GlyphStyle.Radius = vg.Points(4)
		s.GlyphStyle.Shape = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.BoxGlyph{}}[i%3]
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("%s %.2g", m.Method, m.LR), s)
	}
	p.Legend.Left = true // bottom left: the curve is flat there
	wt, err := p.WriterTo(6*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("lr finder plot: %w", err)
	}
	_, err = wt.WriteTo(w)
	return err
}

// WriteFiles writes base+".csv" and base+".png", each atomically
// (artifacts.WriteFileAtomic); both are rendered first, so that neither is
// written when one cannot be.
func (f *LRFinder) WriteFiles(base, title string, marks ...Suggestion) error {
	var csv, png bytes.Buffer
	if err := f.WriteCSV(&csv); err != nil {
		return err
	}
	if err := f.WritePNG(&png, title, marks...); err != nil {
		return err
	}
	for _, out := range []struct {
		path string
		data *bytes.Buffer
	}{{base + ".csv", &csv}, {base + ".png", &png}} {
		if err := artifacts.WriteFileAtomic(out.path, func(w io.Writer) error {
			_, err := w.Write(out.data.Bytes())
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}
