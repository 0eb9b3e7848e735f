package tokenize

// English word-tokenizer tables (spaCy-like exceptions). Keys are lowercase.

// keepWhole are tokens never split further.
var keepWhole = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range []string{
		"'s", "'m", "'re", "'ve", "'ll", "'d", "n't", "’s", "’m", "’re", "’ve", "’ll", "’d", "n’t",
		"'em", "'cause", "'til", "'n'", "'tis", "'twas", "o'clock", "ma'am", "y'all", "'nuff",
		"'90s", "'80s", "'70s", "'60s", "'50s", "'00s",
		// abbreviations whose period belongs to the word
		"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "jr.", "sr.", "vs.", "etc.", "inc.", "ltd.",
		"co.", "corp.", "mt.", "ft.", "gen.", "gov.", "sen.", "rep.", "rev.", "lt.", "col.",
		"sgt.", "capt.", "cmdr.", "adm.", "messrs.", "mme.", "mlle.", "bros.", "dept.", "univ.",
		"jan.", "feb.", "mar.", "apr.", "jun.", "jul.", "aug.", "sep.", "sept.", "oct.", "nov.",
		"dec.", "ph.d.", "ala.", "ariz.", "ark.", "calif.", "colo.", "conn.", "del.", "fla.",
		"ga.", "ill.", "ind.", "kan.", "ky.", "la.", "md.", "mass.", "mich.", "minn.", "miss.",
		"mo.", "mont.", "neb.", "nev.", "okla.", "ore.", "pa.", "tenn.", "va.", "wash.",
		"wis.", "wyo.", "approx.", "esp.", "dept.", "fig.", "figs.", "vol.", "vols.", "no.",
		"nos.", "pp.", "ed.", "eds.", "est.",
	} {
		m[w] = true
	}
	return m
}()

// splitAt splits apostrophe-less contractions and colloquial forms, as spaCy's
// exceptions do: "dont" -> "do" "nt", "gonna" -> "gon" "na", "cannot" -> "can" "not".
var splitAt = func() map[string]int {
	m := map[string]int{}
	for _, v := range []string{"do", "does", "did", "is", "are", "was", "were", "ca", "could",
		"should", "would", "has", "have", "had", "ai", "must", "need", "might", "sha"} {
		m[v+"nt"] = len(v)
	}
	for _, w := range []string{"gonna", "wanna", "gotta", "cannot", "lemme", "gimme"} {
		m[w] = 3
	}
	m["gotta"] = 3 // got ta
	return m
}()
