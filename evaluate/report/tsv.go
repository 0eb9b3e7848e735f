package report

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ReadSeriesTSV reads points for ChartPNG from a tab-separated file whose
// header is "series x y" or "series x y lo hi", one point per line (blank
// lines and lines starting with # are skipped). lo and hi are absolute
// error-bar ends; an empty, "-" or "nan" value leaves the point without a
// bar. Series keep the order of their first line; the points of a series
// are sorted by x. Errors name the file, the line and the field.
func ReadSeriesTSV(path string) ([]Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readSeriesTSV(f, path)
}

func readSeriesTSV(r io.Reader, path string) ([]Series, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var header []string
	var out []Series
	index := map[string]int{}
	line := 0
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", path, line, fmt.Sprintf(format, a...))
	}
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "\t")
		if header == nil {
			if !slices.Equal(fields, []string{"series", "x", "y"}) && !slices.Equal(fields, []string{"series", "x", "y", "lo", "hi"}) {
				return nil, bad("header %.80q: want the tab-separated columns series, x, y and optionally lo, hi", text)
			}
			header = fields
			continue
		}
		if len(fields) != len(header) {
			return nil, bad("%d fields, the header has %d (%s)", len(fields), len(header), strings.Join(header, ", "))
		}
		name := fields[0]
		if name == "" {
			return nil, bad("empty series name")
		}
		num := func(col int, optional bool) (float64, error) {
			v := strings.TrimSpace(fields[col])
			if optional && (v == "" || v == "-" || strings.EqualFold(v, "nan")) {
				return math.NaN(), nil
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return 0, bad("%s = %.40q: want a finite number", header[col], v)
			}
			return x, nil
		}
		x, err := num(1, false)
		if err != nil {
			return nil, err
		}
		y, err := num(2, false)
		if err != nil {
			return nil, err
		}
		i, ok := index[name]
		if !ok {
			i = len(out)
			index[name] = i
			out = append(out, Series{Name: name})
		}
		s := &out[i]
		s.X, s.Y = append(s.X, x), append(s.Y, y)
		if len(header) == 5 {
			lo, err := num(3, true)
			if err != nil {
				return nil, err
			}
			hi, err := num(4, true)
			if err != nil {
				return nil, err
			}
			if math.IsNaN(lo) != math.IsNaN(hi) {
				return nil, bad("lo and hi: give both or neither")
			}
			if !math.IsNaN(lo) && !(lo <= y && y <= hi) {
				return nil, bad("error bar [%g, %g] does not contain y = %g", lo, hi, y)
			}
			s.Lo, s.Hi = append(s.Lo, lo), append(s.Hi, hi)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", path, line+1, err)
	}
	if header == nil {
		return nil, fmt.Errorf("%s: empty: want a header line (series, x, y[, lo, hi]) and points", path)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no points after the header", path)
	}
	for i := range out {
		sortByX(&out[i])
	}
	return out, nil
}

// sortByX orders the points of s by x (stable, so equal x keep file order).
func sortByX(s *Series) {
	idx := make([]int, len(s.X))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case s.X[a] < s.X[b]:
			return -1
		case s.X[a] > s.X[b]:
			return 1
		}
		return 0
	})
	pick := func(v []float64) []float64 {
		if v == nil {
			return nil
		}
		out := make([]float64, len(idx))
		for i, j := range idx {
			out[i] = v[j]
		}
		return out
	}
	s.X, s.Y, s.Lo, s.Hi = pick(s.X), pick(s.Y), pick(s.Lo), pick(s.Hi)
}
