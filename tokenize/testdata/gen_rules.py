"""Generates testdata/golden/rules.txt: fastai v2's text rules (fastai/text/core.py,
re-typed here from its published source: plain Python `re`, no fastai install needed)
applied to hand-written and random strings. Each output line is a JSON array
[rule, input, expected]. Run: python3 testdata/gen_rules.py > testdata/golden/rules.txt"""
import html, json, random, re, sys

UNK, PAD, BOS, EOS, FLD, TK_REP, TK_WREP, TK_UP, TK_MAJ = "xxunk xxpad xxbos xxeos xxfld xxrep xxwrep xxup xxmaj".split()

def spec_add_spaces(t): return re.sub(r'([/#\\])', r' \1 ', t)
def rm_useless_spaces(t): return re.sub(' {2,}', ' ', t)
def replace_rep(t):
    def f(m):
        c, cc = m.groups()
        return f' {TK_REP} {len(cc)+1} {c} '
    return re.sub(r'(\S)(\1{2,})', f, t)
def replace_wrep(t):
    def f(m):
        c, cc, e = m.groups()
        return f' {TK_WREP} {len(cc.split())+2} {c} {e}'
    return re.sub(r'(?:\s|^)(\w+)\s+((?:\1\s+)+)\1(\s|\W|$)', f, t)
def fix_html(x):
    x = x.replace('#39;', "'").replace('amp;', '&').replace('#146;', "'").replace('nbsp;', ' ').replace(
        '#36;', '$').replace('\\n', "\n").replace('quot;', "'").replace('<br />', "\n").replace(
        '\\"', '"').replace('<unk>', UNK).replace(' @.@ ', '.').replace(' @-@ ', '-').replace('...', ' …')
    return html.unescape(x)
def replace_all_caps(t):
    def f(m):
        tok = f'{TK_UP} ' if len(m.groups()[1]) > 1 else ''
        return f"{m.groups()[0]}{tok}{m.groups()[1].lower()}"
    return re.sub(r'(\s|^)([A-Z]+[^a-z\s]*)(?=(\s|$))', f, t)
def replace_maj(t):
    def f(m):
        tok = f'{TK_MAJ} ' if len(m.groups()[1]) > 1 else ''
        return f"{m.groups()[0]}{tok}{m.groups()[1].lower()}"
    return re.sub(r'(\s|^)([A-Z][^A-Z\s]*)(?=(\s|$))', f, t)

RULES = {"fix_html": fix_html, "replace_rep": replace_rep, "replace_wrep": replace_wrep,
         "spec_add_spaces": spec_add_spaces, "rm_useless_spaces": rm_useless_spaces,
         "replace_all_caps": replace_all_caps, "replace_maj": replace_maj}

HAND = [
    "I loved it!!!! Sooooo good", "no no no no way", "very very very, good", "a a a ab",
    "the the", "go go go go.", "x x x x x y y y", "ha ha ha-ha", "1 2 3", "aaa", "...", "....",
    "It&#39;s a &quot;test&quot; &amp; more", " #39;s  quot;x quot; #36;5", "line\\nbreak",
    "a<br /><br />b", "say \\\"hi\\\"", "<unk> word", "1 @.@ 5 and well @-@ known", "&lt;b&gt; &eacute;",
    "A/B#C\\D", "two  spaces   three", "HELLO World I am OK. USA's", "NASA, FBI and CIA!", "Élan ÉCOLE",
    "The Cat", "A", "I", "(Hello)", "U.S. e.g.", "Mr. Smith", "ABC1 A1b", "naïve café", "ÀB",
    "wow wow wow\twow", "é é é", "ééé", "😀😀😀", "\n\n\n", "  ", "", "xxx", "x\u00a0x\u00a0x",
    "nbsp;&nbsp;", "&amp;amp;", "&#39;&#146;", "don't don't don't", "_ _ _", "ab ab ab!",
]

def rand_str(rng):
    alpha = list("aab AB  \n\t!.,'#/\\x1é-@;&") + ["ab", "AB", "Ab", "the ", "&amp;", "#39;", "<br />", "..."]
    return "".join(rng.choice(alpha) for _ in range(rng.randint(0, 24)))

def main():
    rng = random.Random(1)
    cases = HAND + [rand_str(rng) for _ in range(400)]
    out = sys.stdout
    for name, fn in RULES.items():
        for c in cases:
            out.write(json.dumps([name, c, fn(c)], ensure_ascii=False) + "\n")

main()
