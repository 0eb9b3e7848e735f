package tokcmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"github.com/ulmfit-go/ulmfit/artifacts"
	"github.com/ulmfit-go/ulmfit/artifacts/cli"
	"github.com/ulmfit-go/ulmfit/tokenize"
	"github.com/ulmfit-go/ulmfit/tokenize/input"
)

// makeSettings builds the tokenizer settings from --tokenizer-from and the flags.
func makeSettings(fs *pflag.FlagSet, o *options, inputs []string) (tokenize.Settings, error) {
	s := tokenize.Default()
	pretok := o.pretok
	switch pretok {
	case "yes", "no", "auto":
	default:
		return s, cli.Usage("--pretokenized %q: want yes, no or auto", pretok)
	}
	if o.settingsIn != "" {
		var err error
		if s, err = settingsOf(o.settingsIn); err != nil {
			return s, err
		}
	} else {
		if pretok == "auto" {
			wiki := true
			for _, p := range inputs {
				f := o.format
				if f == "" {
					f, _ = input.DetectFormat(p)
				}
				wiki = wiki && f == input.Wiki
			}
			if wiki {
				pretok = "yes"
			}
		}
		if pretok == "yes" {
			s = tokenize.Pretokenized()
		}
	}
	if fs.Changed("rules") {
		s.Rules = nil
		if o.rules != "none" {
			for _, r := range strings.Split(o.rules, ",") {
				if r = strings.TrimSpace(r); r != "" {
					s.Rules = append(s.Rules, r)
				}
			}
		}
	}
	if fs.Changed("no-bos") {
		s.AddBOS = !o.noBOS
	}
	if fs.Changed("add-eos") {
		s.AddEOS = o.addEOS
	}
	if fs.Changed("newline-token") {
		s.Newline = o.newline
	}
	if fs.Changed("rep-digits") {
		s.RepDigits = o.repDigits
	}
	if fs.Changed("split-hyphens") {
		s.SplitHyphens = o.splitHyph
	}
	if fs.Changed("split-urls") {
		s.KeepURLs = !o.noKeepURLs
	}
	if fs.Changed("no-mark-fields") {
		s.MarkFields = !o.noMarkField
	}
	if err := s.Validate(); err != nil {
		return s, cli.Usage("%v", err)
	}
	return s, nil
}

// settingsOf reads tokenizer settings from an artifact or a JSON file.
func settingsOf(path string) (tokenize.Settings, error) {
	if strings.HasSuffix(strings.ToLower(path), ".json") {
		b, err := os.ReadFile(path)
		if err != nil {
			return tokenize.Settings{}, err
		}
		s, err := tokenize.ParseSettings(b)
		if err != nil {
			return s, cli.BadInput(fmt.Errorf("%s: %w", path, err))
		}
		return s, nil
	}
	var raw json.RawMessage
	tr, err := artifacts.OpenTokens(path)
	if err == nil {
		raw = tr.Header().Tokenizer
		tr.Close()
	} else if errors.Is(err, artifacts.ErrWrongKind) {
		m, err2 := artifacts.ReadModel(path, "")
		if err2 != nil {
			return tokenize.Settings{}, err
		}
		raw = m.Tokenizer
	} else {
		return tokenize.Settings{}, err
	}
	if len(raw) == 0 {
		return tokenize.Settings{}, cli.BadInput(fmt.Errorf("%s: holds no tokenizer settings", path))
	}
	s, err := tokenize.ParseSettings(raw)
	if err != nil {
		return s, cli.BadInput(fmt.Errorf("%s: %w", path, err))
	}
	return s, nil
}

// labelNamesOf reads a class-names file: line k names the label value "k" (1-based, as
// AG News classes.txt).
func labelNamesOf(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var names []string
	for i, line := range strings.Split(strings.TrimRight(string(b), "\r\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			return nil, cli.BadInput(fmt.Errorf("%s:%d: empty class name", path, i+1))
		}
		names = append(names, line)
	}
	m := map[string]string{}
	for i, n := range names {
		m[strconv.Itoa(i+1)] = n
	}
	return m, nil
}

// labelsOf reads the label names of a tokens or classifier artifact.
func labelsOf(path string) ([]string, error) {
	var names []string
	tr, err := artifacts.OpenTokens(path)
	if err == nil {
		names = tr.Header().LabelNames
		tr.Close()
	} else if errors.Is(err, artifacts.ErrWrongKind) {
		m, err2 := artifacts.ReadModel(path, artifacts.KindClassifier)
		if err2 != nil {
			return nil, err
		}
		names = m.LabelNames
	} else {
		return nil, err
	}
	if len(names) == 0 {
		return nil, cli.BadInput(fmt.Errorf("%s: holds no label names (--labels-from wants a labelled tokens or classifier artifact)", path))
	}
	return names, nil
}
