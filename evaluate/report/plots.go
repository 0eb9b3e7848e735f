package report

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// blues is a white-to-dark-blue palette for the confusion matrix.
type blues int

func (n blues) Colors() []color.Color {
	cs := make([]color.Color, int(n))
	for i := range cs {
		t := float64(i) / float64(int(n)-1)
		cs[i] = color.RGBA{
			R: uint8(247 - t*(247-8)),
			G: uint8(251 - t*(251-48)),
			B: uint8(255 - t*(255-107)),
			A: 255,
		}
	}
	return cs
}

// grid adapts a row-normalized confusion matrix to plotter.GridXYZ: column
// c is the predicted class, row r the true class, drawn top to bottom.
type grid struct{ z [][]float64 }

func (g grid) Dims() (c, r int)   { return len(g.z), len(g.z) }
func (g grid) Z(c, r int) float64 { return g.z[len(g.z)-1-r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// ConfusionPNG renders the confusion matrix (rows: true class, columns:
// predicted class) as a heat map whose colour is the row-normalized rate
// (recall per cell) and whose text is the count.
func ConfusionPNG(w io.Writer, names []string, cm [][]int) error {
	n := len(names)
	if n == 0 || len(cm) != n {
		return fmt.Errorf("confusion matrix: %d rows for %d classes", len(cm), n)
	}
	z := make([][]float64, n)
	for i, row := range cm {
		z[i] = make([]float64, n)
		sum := 0
		for _, v := range row {
			sum += v
		}
		for j, v := range row {
			if sum > 0 {
				z[i][j] = float64(v) / float64(sum)
			}
		}
	}
	p := plot.New()
	p.Title.Text = "Confusion matrix (colour: row-normalized)"
	p.X.Label.Text = "predicted"
	p.Y.Label.Text = "true"
	hm := plotter.NewHeatMap(grid{z}, blues(64))
	hm.Min, hm.Max = 0, 1
	p.Add(hm)
	var xys plotter.XYs
	var texts []string
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			xys = append(xys, plotter.XY{X: float64(j), Y: float64(n - 1 - i)})
			texts = append(texts, fmt.Sprint(cm[i][j]))
		}
	}
	lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
	if err != nil {
		return err
	}
	for k := range lab.TextStyle {
		i, j := k/n, k%n
		lab.TextStyle[k].XAlign = draw.XCenter
		lab.TextStyle[k].YAlign = draw.YCenter
		if z[i][j] > 0.5 {
			lab.TextStyle[k].Color = color.White
		} else {
			lab.TextStyle[k].Color = color.Black
		}
	}
	p.Add(lab)
	p.NominalX(names...)
	rev := make([]string, n)
	for i, s := range names {
		rev[n-1-i] = s
	}
	p.NominalY(rev...)
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	side := vg.Length(2.2+0.45*float64(n)) * vg.Inch
	return writePNG(w, p, side, side)
}

// Series is one curve. Lo and Hi, when not nil, hold an error bar per point
// (absolute values, e.g. the minimum and maximum over seeds); a NaN in either
// leaves that point without a bar.
type Series struct {
	Name   string
	X, Y   []float64
	Lo, Hi []float64
}

// Chart is a line chart: one line per series, in the given order, with a
// legend; LogX puts x on a log scale (every x must then be > 0).
type Chart struct {
	Title, XLabel, YLabel string
	LogX                  bool
	Series                []Series
}

// CurvesPNG draws the series, sorted by name, on one plot with a legend.
func CurvesPNG(w io.Writer, title, xlabel string, series []Series) error {
	sort.SliceStable(series, func(a, b int) bool { return series[a].Name < series[b].Name })
	return ChartPNG(w, Chart{Title: title, XLabel: xlabel, Series: series})
}

// ChartPNG draws c as a PNG. Points of a series are joined in the order
// given; series with at most 50 points also get markers.
func ChartPNG(w io.Writer, c Chart) error {
	if len(c.Series) == 0 {
		return fmt.Errorf("no series to plot")
	}
	p := plot.New()
	p.Title.Text = c.Title
	p.X.Label.Text = c.XLabel
	p.Y.Label.Text = c.YLabel
	p.Legend.Top = true
	if c.LogX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	for i, s := range c.Series {
		if len(s.Y) != len(s.X) || (s.Lo != nil && len(s.Lo) != len(s.X)) || (s.Hi != nil && len(s.Hi) != len(s.X)) {
			return fmt.Errorf("series %s: %d x values, %d y, %d lo, %d hi", s.Name, len(s.X), len(s.Y), len(s.Lo), len(s.Hi))
		}
		xys := make(plotter.XYs, len(s.X))
		for k := range s.X {
			if c.LogX && !(s.X[k] > 0) {
				return fmt.Errorf("series %s: x = %g cannot be drawn on a log scale (want > 0)", s.Name, s.X[k])
			}
			xys[k] = plotter.XY{X: s.X[k], Y: s.Y[k]}
		}
		col := lineColors[i%len(lineColors)]
		ln, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("series %s: %w", s.Name, err)
		}
		ln.Color = col
		ln.Width = vg.Points(1.2)
		p.Add(ln)
		p.Legend.Add(s.Name, ln)
		if len(xys) <= 50 {
			sc, err := plotter.NewScatter(xys)
			if err == nil {
				sc.Color = col
				sc.Radius = vg.Points(2)
				p.Add(sc)
			}
		}
		if s.Lo != nil && s.Hi != nil {
			var bars errorBars
			for k := range s.X {
				lo, hi := s.Lo[k], s.Hi[k]
				if math.IsNaN(lo) || math.IsNaN(hi) {
					continue
				}
				bars.XYs = append(bars.XYs, xys[k])
				bars.YErrors = append(bars.YErrors, struct{ Low, High float64 }{s.Y[k] - lo, hi - s.Y[k]})
			}
			if len(bars.XYs) > 0 {
				eb, err := plotter.NewYErrorBars(bars)
				if err != nil {
					return fmt.Errorf("series %s: %w", s.Name, err)
				}
				eb.Color = col
				eb.LineStyle.Width = vg.Points(0.8)
				eb.CapWidth = vg.Points(5)
				p.Add(eb)
			}
		}
	}
	return writePNG(w, p, 7*vg.Inch, 4*vg.Inch)
}

// errorBars holds the points that have error bars and their offsets.
type errorBars struct {
	plotter.XYs
	plotter.YErrors
}

var lineColors = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
	color.RGBA{227, 119, 194, 255}, color.RGBA{127, 127, 127, 255},
}

func writePNG(w io.Writer, p *plot.Plot, width, height vg.Length) error {
	wt, err := p.WriterTo(width, height, "png")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}
