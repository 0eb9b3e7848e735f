package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestAlias(t *testing.T) {
	tests := []struct {
		args    []string
		want    float64
		changed bool
	}{
		{nil, 0.4, false},
		{[]string{"--output-dropout", "0.1"}, 0.1, true},
		{[]string{"--output-p", "0.2"}, 0.2, true},
		{[]string{"--output-p=0.3"}, 0.3, true},
		{[]string{"--out-p", "0.25"}, 0.25, true},
	}
	for _, tt := range tests {
		fs := NewFlags("x", "", "")
		var v float64
		fs.Float64Var(&v, "output-dropout", 0.4, "dropout")
		Alias(fs, "output-p", "output-dropout")
		Alias(fs, "out-p", "output-dropout")
		if err := Parse(fs, tt.args); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if v != tt.want || fs.Changed("output-dropout") != tt.changed {
			t.Errorf("%v: value %v changed %v, want %v %v", tt.args, v, fs.Changed("output-dropout"), tt.want, tt.changed)
		}
		var names []string
		fs.VisitAll(func(fl *pflag.Flag) { names = append(names, fl.Name) })
		if strings.Contains(strings.Join(names, " "), "-p") {
			t.Errorf("%v: visited %v, want no old spelling", tt.args, names)
		}
	}
	fs := NewFlags("x", "", "")
	var v float64
	fs.Float64Var(&v, "output-dropout", 0.4, "dropout")
	Alias(fs, "output-p", "output-dropout")
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.Usage()
	if !strings.Contains(help.String(), "--output-p for --output-dropout") || strings.Contains(help.String(), "  --output-p") {
		t.Errorf("help:\n%s\nwant the old spelling in the note only", help.String())
	}
}
