package report

import (
	"bytes"
	"image/png"
	"math"
	"strings"
	"testing"
)

// sameFloats compares with NaN equal to NaN.
func sameFloats(a, b []float64) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

func sameSeries(a, b []Series) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !sameFloats(a[i].X, b[i].X) || !sameFloats(a[i].Y, b[i].Y) ||
			!sameFloats(a[i].Lo, b[i].Lo) || !sameFloats(a[i].Hi, b[i].Hi) {
			return false
		}
	}
	return true
}

func TestReadSeriesTSV(t *testing.T) {
	nan := math.NaN()
	got, err := readSeriesTSV(strings.NewReader("series\tx\ty\tlo\thi\r\n# comment\nsemi\t1000\t5\t4\t6\n"+
		"semi\t100\t9\t8\t10\n\nscratch\t100\t12\t-\t-\nsemi\t500\t7\t\t\n"), "c.tsv")
	if err != nil {
		t.Fatal(err)
	}
	want := []Series{
		{Name: "semi", X: []float64{100, 500, 1000}, Y: []float64{9, 7, 5}, Lo: []float64{8, nan, 4}, Hi: []float64{10, nan, 6}},
		{Name: "scratch", X: []float64{100}, Y: []float64{12}, Lo: []float64{nan}, Hi: []float64{nan}},
	}
	if !sameSeries(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	three, err := readSeriesTSV(strings.NewReader("series\tx\ty\na\t2\t1\na\t1\t3\n"), "c.tsv")
	if err != nil || !sameSeries(three, []Series{{Name: "a", X: []float64{1, 2}, Y: []float64{3, 1}}}) {
		t.Fatalf("three columns: %+v, %v", three, err)
	}

	for _, c := range []struct{ name, data, want string }{
		{"empty", "", "c.tsv: empty"},
		{"no points", "series\tx\ty\n", "no points"},
		{"bad header", "name,x,y\n", `c.tsv:1: header "name,x,y"`},
		{"short row", "series\tx\ty\na\t1\n", "c.tsv:2: 2 fields, the header has 3"},
		{"bad x", "series\tx\ty\na\t1\t2\na\tten\t2\n", `c.tsv:3: x = "ten": want a finite number`},
		{"inf y", "series\tx\ty\na\t1\tInf\n", `c.tsv:2: y = "Inf"`},
		{"one bar end", "series\tx\ty\tlo\thi\na\t1\t2\t1\t-\n", "c.tsv:2: lo and hi: give both or neither"},
		{"bar misses y", "series\tx\ty\tlo\thi\na\t1\t2\t3\t4\n", "c.tsv:2: error bar [3, 4] does not contain y = 2"},
		{"no name", "series\tx\ty\n\t1\t2\n", "c.tsv:2: empty series name"},
	} {
		_, err := readSeriesTSV(strings.NewReader(c.data), "c.tsv")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestChartPNG(t *testing.T) {
	nan := math.NaN()
	c := Chart{Title: "low-shot", XLabel: "examples", YLabel: "error (%)", LogX: true, Series: []Series{
		{Name: "semi", X: []float64{100, 1000, 5452}, Y: []float64{20, 10, 5}, Lo: []float64{18, nan, 4}, Hi: []float64{25, nan, 6}},
		{Name: "scratch", X: []float64{100, 1000}, Y: []float64{40, 30}},
	}}
	var buf bytes.Buffer
	if err := ChartPNG(&buf, c); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 200 {
		t.Fatalf("image %v", b)
	}
	c.Series[1].X[0] = 0
	if err := ChartPNG(&buf, c); err == nil || !strings.Contains(err.Error(), "log scale") {
		t.Fatalf("x = 0 on a log scale: %v", err)
	}
	c.LogX = false
	if err := ChartPNG(&buf, c); err != nil {
		t.Fatalf("x = 0 on a linear scale: %v", err)
	}
	c.Series[0].Lo = c.Series[0].Lo[:1]
	if err := ChartPNG(&buf, c); err == nil {
		t.Fatal("ragged error bars accepted")
	}
}
