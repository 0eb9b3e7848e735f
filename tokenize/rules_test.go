package tokenize

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// TestRulesGolden checks each string rule against fastai's regular-expression rules run
// by Python on the same inputs (testdata/gen_rules.py writes testdata/golden/rules.txt).
func TestRulesGolden(t *testing.T) {
	f, err := os.Open("testdata/golden/rules.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rules := map[string]func(string) string{
		RuleFixHTML:         FixHTML,
		RuleReplaceRep:      ReplaceRep,
		RuleReplaceWrep:     ReplaceWrep,
		RuleSpecAddSpaces:   SpecAddSpaces,
		RuleRmUselessSpaces: RmUselessSpaces,
		RuleReplaceAllCaps:  ReplaceAllCaps,
		RuleReplaceMaj:      ReplaceMaj,
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n, fails := 0, 0
	for sc.Scan() {
		var c [3]string
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		n++
		fn, ok := rules[c[0]]
		if !ok {
			t.Fatalf("unknown rule %q", c[0])
		}
		if got := fn(c[1]); got != c[2] {
			fails++
			if fails <= 20 {
				t.Errorf("%s(%q) = %q, fastai gives %q", c[0], c[1], got, c[2])
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d golden cases", n)
	}
	if fails > 0 {
		t.Errorf("%d of %d cases differ", fails, n)
	}
}
