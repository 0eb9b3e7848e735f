// Package tokenize turns raw text into word tokens the way fastai v2 prepares text for
// ULMFiT: a list of string rules (fix_html, replace_rep, replace_wrep, spec_add_spaces,
// rm_useless_spaces, replace_all_caps, replace_maj, lowercase), an English word tokenizer
// with spaCy-like rules, and xxbos at the start of each document.
//
// The rules work on strings, in fastai v2 order; the case rules (xxup, xxmaj) see the
// whitespace-separated chunks that fastai's regular expressions see. Everything is a
// hand-written byte/rune scanner (no regexp), and a Tokenizer reuses its buffers, so one
// Tokenizer per goroutine tokenizes tens of MB/s.
//
// Settings captures everything needed to tokenize new text identically later; it is
// stored as JSON in the tokens artifact (TokensHeader.Tokenizer) and in models.
package tokenize

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Special tokens, as in fastai.
const (
	UNK   = "xxunk"  // unknown word
	PAD   = "xxpad"  // padding
	BOS   = "xxbos"  // beginning of a document
	EOS   = "xxeos"  // end of a document
	FLD   = "xxfld"  // start of a text field: "xxfld 1 title xxfld 2 body"
	TKMaj = "xxmaj"  // next word was Capitalized
	TKUp  = "xxup"   // next word was ALL CAPS
	TKRep = "xxrep"  // "xxrep 4 !" for "!!!!"
	TKWRp = "xxwrep" // "xxwrep 3 very" for "very very very"
	NL    = "xxnl"   // a line break (or several): an ordinary vocabulary token
)

// DefaultSpecials is the special-token list, in vocabulary id order 0..8.
func DefaultSpecials() []string {
	return []string{UNK, PAD, BOS, EOS, FLD, TKMaj, TKUp, TKRep, TKWRp}
}

// Rule names, in the order they are applied (fastai v2 defaults.text_proc_rules).
const (
	RuleFixHTML         = "fix_html"
	RuleReplaceRep      = "replace_rep"
	RuleReplaceWrep     = "replace_wrep"
	RuleSpecAddSpaces   = "spec_add_spaces"
	RuleRmUselessSpaces = "rm_useless_spaces"
	RuleReplaceAllCaps  = "replace_all_caps"
	RuleReplaceMaj      = "replace_maj"
	RuleLowercase       = "lowercase"
)

// AllRules lists every rule in application order.
func AllRules() []string {
	return []string{RuleFixHTML, RuleReplaceRep, RuleReplaceWrep, RuleSpecAddSpaces,
		RuleRmUselessSpaces, RuleReplaceAllCaps, RuleReplaceMaj, RuleLowercase}
}

// SettingsVersion is the current Settings.Version.
const SettingsVersion = 1

// Settings is everything needed to tokenize raw text identically later. Its JSON form is
// stored in artifacts; Default() is what the tokenize stage uses unless told otherwise.
type Settings struct {
	Version int `json:"version"`
	// Tokenizer is "words" (rules + the spaCy-like word tokenizer), "whitespace" (text is
	// already tokenized, e.g. WikiText: split on whitespace, map UnkAlias to xxunk, then only
	// the case rules and lowercase apply) or "sentencepiece" (the rules as for "words", then
	// each whitespace-separated word is split into the pieces of SPModel, as fastai's
	// SentencePieceTokenizer does; the special tokens stay whole).
	Tokenizer string `json:"tokenizer"`
	// Rules enabled, by name (see AllRules). They always run in AllRules order.
	Rules []string `json:"rules"`
	// Specials are the special tokens, in vocabulary id order.
	Specials []string `json:"specials"`
	// AddBOS puts xxbos first in each document, AddEOS puts xxeos last.
	AddBOS bool `json:"add_bos"`
	AddEOS bool `json:"add_eos"`
	// MarkFields joins several text fields as "xxfld 1 a xxfld 2 b" (fastai mark_fields);
	// otherwise they are joined with a space. One field is never marked.
	MarkFields bool `json:"mark_fields"`
	// Newline, when not empty, is emitted for each run of whitespace that holds line breaks
	// (fastai's spaCy emits "\n" or "\n\n" tokens there; vocabularies cannot hold line
	// breaks, so one visible token stands for them). Empty: line breaks only separate words.
	Newline string `json:"newline,omitempty"`
	// KeepURLs keeps URLs and e-mail addresses whole (spec_add_spaces is not applied
	// inside them). fastai splits them at "/" and "#".
	KeepURLs bool `json:"keep_urls"`
	// RepDigits lets replace_rep rewrite repeated digits too ("1000" -> "1 xxrep 3 0"), as
	// fastai does; off by default so that numbers stay whole.
	RepDigits bool `json:"rep_digits"`
	// SplitHyphens splits "well-known" into "well - known" as recent spaCy does; off by
	// default (hyphenated words are kept whole).
	SplitHyphens bool `json:"split_hyphens"`
	// UnkAlias is a token of pretokenized text that means xxunk (WikiText "<unk>").
	UnkAlias string `json:"unk_alias,omitempty"`
	// SPModel is the SentencePiece model (the bytes of a .model file, a ModelProto) of the
	// "sentencepiece" tokenizer, and SPModelSHA256 its hex SHA-256, checked on load.
	SPModel       []byte `json:"sp_model,omitempty"`
	SPModelSHA256 string `json:"sp_model_sha256,omitempty"`
}

// Tokenizer names.
const (
	TokWords         = "words"
	TokWhitespace    = "whitespace"
	TokSentencePiece = "sentencepiece"
)

// WithSPModel returns s set to split words into the pieces of the SentencePiece model b
// (the bytes of a .model file).
func (s Settings) WithSPModel(b []byte) Settings {
	s.Tokenizer = TokSentencePiece
	s.SPModel = b
	sum := sha256.Sum256(b)
	s.SPModelSHA256 = hex.EncodeToString(sum[:])
	return s
}

// Default returns the fastai v2 defaults: all rules, xxbos, fields marked, newline
// tokens (xxnl), URLs and numbers kept whole, hyphenated words kept.
func Default() Settings {
	return Settings{
		Version:    SettingsVersion,
		Tokenizer:  TokWords,
		Rules:      AllRules(),
		Specials:   DefaultSpecials(),
		AddBOS:     true,
		MarkFields: true,
		Newline:    NL,
		KeepURLs:   true,
		UnkAlias:   "<unk>",
	}
}

// Pretokenized returns the settings for text that is already tokenized and separated by
// spaces, such as WikiText .tokens files: split on whitespace, "<unk>" becomes xxunk, and
// only replace_all_caps, replace_maj and lowercase apply.
func Pretokenized() Settings {
	s := Default()
	s.Tokenizer = TokWhitespace
	s.Rules = []string{RuleReplaceAllCaps, RuleReplaceMaj, RuleLowercase}
	return s
}

// Has reports whether rule name is enabled.
func (s *Settings) Has(name string) bool {
	for _, r := range s.Rules {
		if r == name {
			return true
		}
	}
	return false
}

// Validate checks names and the special-token list.
func (s *Settings) Validate() error {
	if s.Version < 1 || s.Version > SettingsVersion {
		return fmt.Errorf("tokenizer settings: version %d not supported (this build reads up to %d)", s.Version, SettingsVersion)
	}
	switch s.Tokenizer {
	case TokWords, TokWhitespace:
		if len(s.SPModel) > 0 {
			return fmt.Errorf("tokenizer settings: a SentencePiece model with tokenizer %q (it needs %q)", s.Tokenizer, TokSentencePiece)
		}
	case TokSentencePiece:
		if len(s.SPModel) == 0 {
			return fmt.Errorf("tokenizer settings: tokenizer %q without a SentencePiece model", s.Tokenizer)
		}
		if sum := sha256.Sum256(s.SPModel); hex.EncodeToString(sum[:]) != s.SPModelSHA256 {
			return fmt.Errorf("tokenizer settings: the SentencePiece model does not match its SHA-256 %q (damaged artifact?)", s.SPModelSHA256)
		}
	default:
		return fmt.Errorf("tokenizer settings: unknown tokenizer %q (want %s, %s or %s)", s.Tokenizer, TokWords, TokWhitespace, TokSentencePiece)
	}
	known := AllRules()
	for _, r := range s.Rules {
		ok := false
		for _, k := range known {
			ok = ok || r == k
		}
		if !ok {
			return fmt.Errorf("tokenizer settings: unknown rule %q (known: %s)", r, strings.Join(known, ", "))
		}
	}
	if len(s.Specials) == 0 || s.Specials[0] != UNK {
		return fmt.Errorf("tokenizer settings: specials must start with %s", UNK)
	}
	if strings.ContainsFunc(s.Newline, isSpace) {
		return fmt.Errorf("tokenizer settings: newline token %q must not contain whitespace", s.Newline)
	}
	seen := map[string]bool{}
	for _, t := range s.Specials {
		if t == "" || strings.ContainsFunc(t, isSpace) || seen[t] {
			return fmt.Errorf("tokenizer settings: bad or repeated special token %q", t)
		}
		seen[t] = true
	}
	return nil
}

// JSON returns the settings as JSON (for TokensHeader.Tokenizer / Model.Tokenizer).
func (s Settings) JSON() json.RawMessage {
	b, err := json.Marshal(s)
	if err != nil { // cannot happen: plain fields only
		panic(err)
	}
	return b
}

// ParseSettings reads settings stored by JSON; an empty message gives Default().
func ParseSettings(raw json.RawMessage) (Settings, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return Default(), nil
	}
	var s Settings
	if err := json.Unmarshal(raw, &s); err != nil {
		return Settings{}, fmt.Errorf("tokenizer settings: %w", err)
	}
	if err := s.Validate(); err != nil {
		return Settings{}, err
	}
	return s, nil
}
