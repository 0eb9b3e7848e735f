package cli

import (
	"bytes"
	"slices"
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

func TestAliasElement(t *testing.T) {
	tests := []struct {
		args    []string
		want    []float64
		changed bool
		err     string
	}{
		{nil, []float64{0.7, 0.99}, false, ""},
		{[]string{"--beta1", "0.9"}, []float64{0.9, 0.99}, true, ""},
		{[]string{"--beta2=0.999", "--beta1", "0.8"}, []float64{0.8, 0.999}, true, ""},
		{[]string{"--betas", "0.6,0.9", "--beta1", "0.8"}, []float64{0.8, 0.9}, true, ""},
		{[]string{"--beta1", "0.8", "--betas", "0.6,0.9"}, []float64{0.6, 0.9}, true, ""},
		{[]string{"--betas", "0.6", "--beta2", "0.9"}, nil, true, "no value 2"},
		{[]string{"--beta1", "x"}, nil, true, "want a number"},
	}
	for _, tt := range tests {
		fs := NewFlags("x", "", "")
		var betas []float64
		fs.Float64SliceVar(&betas, "betas", []float64{0.7, 0.99}, "Adam betas")
		AliasElement(fs, "beta1", "betas", &betas, 0)
		AliasElement(fs, "beta2", "betas", &betas, 1)
		err := Parse(fs, tt.args)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v: error %v, want one with %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if !slices.Equal(betas, tt.want) || fs.Changed("betas") != tt.changed {
			t.Errorf("%v: betas %v changed %v, want %v %v", tt.args, betas, fs.Changed("betas"), tt.want, tt.changed)
		}
		// The old flags are not params: their values are in --betas.
		p := Params(fs)
		if _, ok := p["beta1"]; ok || p["betas"] == nil {
			t.Errorf("%v: params %v, want betas and no beta1", tt.args, p)
		}
	}
	fs := NewFlags("x", "", "")
	var betas []float64
	fs.Float64SliceVar(&betas, "betas", []float64{0.7, 0.99}, "Adam betas")
	AliasElement(fs, "beta1", "betas", &betas, 0)
	AliasElement(fs, "beta2", "betas", &betas, 1)
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.Usage()
	if !strings.Contains(help.String(), "--beta1 for value 1 of --betas, --beta2 for value 2 of --betas.") || strings.Contains(help.String(), "  --beta1") {
		t.Errorf("help:\n%s\nwant the old flags in the note only", help.String())
	}
}
