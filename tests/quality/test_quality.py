#!/usr/bin/env python3
"""Independent quality check of the copy copyd writes (Python 3 standard library only).

Runs `copyd generate` on every brief of corpus.json and judges the variants
with this file's own code and word lists (lexicon.json): nothing is shared
with the engine (src/copy, data/). See README.md in this folder for what is
checked and what the printed figures mean.

Environment:
  COPYD_BIN             the copyd binary (default /work/main/build/copyd)
  QUALITY_CORPUS        corpus file (default corpus.json next to this file)
  QUALITY_ONLY          comma-separated languages or brief ids to run (default all)
  QUALITY_FRAMES_STRICT 1 = also fail when a language's sentence-frame reuse is >= 10 %
  QUALITY_VERBOSE       1 = print every misspelled word and grammar error, not only failures

Exit status: 0 when every checked language passes (languages the engine does not
write yet are SKIPPED and printed as such), 1 on any failure, 2 on a broken setup
(missing binary, unreadable corpus).
"""

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
LANGS = ["es", "en", "pt", "fr", "it", "de"]

# Thresholds of the contract (README.md explains each).
KEY_POINT_MIN = 0.95          # share of (variant, key point) pairs present or honestly dropped
SPELLING_MIN = 0.99           # share of checked words hunspell accepts
GRAMMAR_MAX_PER_100 = 1.0     # French grammar errors per 100 words (typography aside)
JACCARD_MAX = 0.6             # word-bigram Jaccard similarity between two variants of one brief
FRAME_REUSE_TARGET = 0.10     # share of sentences whose frame appears in >= FRAME_BRIEFS briefs
FRAME_BRIEFS = 3
# The tone sweep: the first SWEEP_BASES briefs of each language are also run
# under each of the 20 tones of SPEC section 2 (spelling, grammar, rules and
# limits checked on all of them; they are left out of the frame figure, which
# is about different briefs). TONE_SHARED_MAX bounds the share of a tone's
# sentences that another tone of the same brief also writes: tones that read
# alike share most of their sentences.
SWEEP_BASES = 2
TONE_SHARED_MAX = 0.5
TONES = ["assertive", "casual", "formal", "humorous", "informative", "inspirational", "professional", "witty",
         "urgent", "emotional", "friendly", "authoritative", "conversational", "persuasive", "storytelling",
         "educational", "motivational", "empathetic", "confident", "playful"]

# Total characters of the post as published (headline, text, call to action,
# hashtag line joined by blank lines), per platform.
TOTAL_MAX = {"twitter": 280, "instagram": 2200, "linkedin": 3000, "tiktok": 2200}
HEADLINE_MAX = {"google_ads": 30, "email": 50, "youtube": 100}
TEXT_MAX = {"google_ads": 90}
NO_HASHTAG_PLATFORMS = {"email", "google_ads", "website", "blog"}
NO_EMOJI_PLATFORMS = {"google_ads"}       # Google Ads policy rejects emoji
TIGHT_PLATFORMS = {"twitter", "google_ads"}  # where dropping a key point is legitimate
TIGHT_CONTENT = {"email_subject", "blog_title"}  # a subject line or a title with a one-line standfirst
GRAMMALECTE_OFF = ["apos", "esp", "nbsp", "typo", "unit", "num"]   # typography options
GRAMMALECTE_TYPO_TYPES = {"apos", "esp", "nbsp", "typo", "unit", "num"}

WORD_RE = re.compile(r"[^\W_]+(?:['\u2019\-][^\W_]+)*")
URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.I)
HASHTAG_IN_TEXT_RE = re.compile(r"#[^\W_][\w\-]*")
SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?\u2026])\s+|\n+")


# ----------------------------------------------------------------- text helpers

def fold(s):
    """Case- and accent-insensitive form: casefold, strip combining marks, unify apostrophes."""
    s = unicodedata.normalize("NFKD", s.casefold().replace("\u2019", "'"))
    return "".join(c for c in s if not unicodedata.combining(c))


def words(s):
    return WORD_RE.findall(s)


def has_digit(tok):
    return any(c.isdigit() for c in tok)


def camel_split(tag):
    """'#ZapatosDeportivos' -> 'Zapatos Deportivos' (for banned-word search in hashtags)."""
    body = tag.lstrip("#")
    parts = re.findall(r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]*|[a-zß-öø-ÿ]+|\d+", body)
    return " ".join(parts) if parts else body


def whole_word_re(term, suffixes=()):
    """Regex for a folded term as whole word(s), optionally followed by one of
    the inflection suffixes (e.g. plural -s/-es)."""
    body = r"\s+".join(re.escape(p) for p in fold(term).split())
    suffix = "(?:" + "|".join(re.escape(x) for x in suffixes) + ")?" if suffixes else ""
    return re.compile(r"(?<![^\W_])" + body + suffix + r"(?![^\W_])")


def post_text(v):
    """The post as published: headline, text, call to action, hashtag line."""
    parts = [v.get("headline") or "", v.get("primary_text") or "", v.get("call_to_action") or "",
             " ".join(v.get("hashtags") or [])]
    return "\n\n".join(p for p in parts if p.strip())


def copy_text(v):
    """What is read as copy (no hashtag line)."""
    parts = [v.get("headline") or "", v.get("primary_text") or "", v.get("call_to_action") or ""]
    return "\n".join(p for p in parts if p.strip())


def brief_strings(obj):
    """Every string value in the brief (recursively)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from brief_strings(x)
    elif isinstance(obj, list):
        for x in obj:
            yield from brief_strings(x)


def brief_tokens(brief, exact=False):
    """Tokens of the brief's text fields, and the parts of hyphenated/elided
    ones: folded (default), or as written (exact=True, apostrophes unified)."""
    toks = set()
    for s in brief_strings(brief):
        for t in words(s.replace("\u2019", "'")):
            f = t if exact else fold(t)
            toks.add(f)
            toks.update(p for p in re.split(r"['\-]", f) if p)
    return toks


def copied_from_brief(tok, exact_toks, keep_case):
    """A word the brief wrote, as written or only capitalised (sentence start),
    or, where the language's case is not lexical (keep_case False), lowercased:
    the brief's 'Coworking space' gives a sentence-initial capital that the copy
    rightly drops. In German (keep_case) a noun the engine lowercased
    ('ratgeber' for the brief's 'Ratgeber') is not copied: hunspell judges it."""
    if tok in exact_toks or (tok[:1].lower() + tok[1:]) in exact_toks:
        return True
    return not keep_case and (tok[:1].upper() + tok[1:]) in exact_toks


SENTENCE_START_RE = re.compile(r"(?:^|[.!?\u2026]\s+)([^\W\d_])", re.M)
OPENERS = set("¿¡\"'«(“‘„[")


def lowercase_starts(s):
    """Sentences that start with a lowercase letter: at the start of a line
    (unless the line is a bullet: first visible character a symbol) and after
    . ! ? or an ellipsis followed by a space."""
    bad = []
    for line in s.split("\n"):
        stripped = line.lstrip()
        if not stripped:
            continue
        i = 0
        while i < len(stripped) and stripped[i] in OPENERS:
            i += 1
        first = stripped[i:i + 1]
        if first and first.isalpha() and first.islower():
            bad.append(trunc(stripped, 60))
        for m in re.finditer(r"[.!?]\s+[¿¡\"«“„(]?([^\W\d_])", stripped):
            if m.group(1).islower():
                bad.append(trunc(stripped[max(0, m.start() - 20):m.start() + 40], 60))
    return bad


def trunc(s, n=90):
    s = s.replace("\n", "\\n")
    return s if len(s) <= n else s[: n - 1] + "\u2026"


# ----------------------------------------------------------------- the checker

class Checker:
    def __init__(self, lexicon, corpus):
        self.lex = lexicon
        self.corpus = corpus
        self.failures = []          # (brief id, variant label, rule, detail)
        self.warnings = []
        self.stats = {l: self._new_stats() for l in LANGS}
        ranges = [(int(a, 16), int(b, 16)) for a, b in lexicon["emoji_ranges"]]
        self.emoji_ranges = sorted(ranges)
        self.price_res = {l: [whole_word_re(w) for w in ws]
                          for l, ws in lexicon["price_words"].items()}
        cur = "|".join(re.escape(w) for w in lexicon["currency_words"])
        pct = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in lexicon["percent_words"])
        self.money_res = [
            re.compile(r"[$\u20ac\u00a3\u00a5\u20b9\u20a9\u20bd\u00a2\u20a4]"),
            re.compile(r"\d[\d.,]*\s*(?:" + cur + r")(?![^\W_])"),
            re.compile(r"(?<![^\W_])(?:" + cur + r")\s*\d"),
            re.compile(r"\d\s*%"),
            re.compile(r"\d\s*(?:" + pct + r")(?![^\W_])"),
        ]

    @staticmethod
    def _new_stats():
        return {"briefs": 0, "skipped": 0, "errors": 0, "variants": 0, "restriction_fail": 0,
                "platform_fail": 0, "kp_total": 0, "kp_present": 0, "kp_dropped": 0,
                "sweep_briefs": 0, "tone_sent": 0, "tone_shared": 0, "tone_worst": (0.0, ""),
                "spell_words": 0, "spell_bad": 0, "spell_skipped": None, "bad_words": {},
                "gram_words": 0, "gram_errors": 0, "gram_skipped": None, "jaccard_max": 0.0,
                "jaccard_fail": 0, "frame_sentences": 0, "frame_reused": 0, "frames": {},
                "reported_missing": 0, "case_fail": 0}

    def fail(self, bid, vlabel, rule, detail, kind=None, lang=None):
        self.failures.append((bid, vlabel, rule, detail))
        if kind and lang:
            self.stats[lang][kind] += 1

    # -- detection primitives

    def emojis(self, s):
        out = []
        for c in s:
            o = ord(c)
            for a, b in self.emoji_ranges:
                if a <= o <= b:
                    out.append(c)
                    break
        return out

    def price_hits(self, lang, s):
        f = fold(s)
        hits = []
        for r in self.money_res:
            m = r.search(f)
            if m:
                hits.append(m.group(0))
        for r in self.price_res.get(lang, []):
            m = r.search(f)
            if m:
                hits.append(m.group(0))
        return hits

    # -- per variant

    def check_variant(self, entry, v, vlabel, out):
        b = entry["brief"]
        bid = entry["id"]
        lang = b["language"]
        checks = entry.get("checks", {})
        platform = normalise_platform(b["target_platform"])
        st = self.stats[lang]
        head = v.get("headline") or ""
        text = v.get("primary_text") or ""
        cta = v.get("call_to_action") or ""
        tags = v.get("hashtags")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            self.fail(bid, vlabel, "shape", "hashtags is not a list of strings: %r" % (tags,), "platform_fail", lang)
            tags = []
        if not isinstance(v.get("primary_text"), str) or not text.strip():
            self.fail(bid, vlabel, "shape", "primary_text missing or empty", "platform_fail", lang)
        fields = {"headline": head, "primary_text": text, "call_to_action": cta}
        post = post_text(v)
        tags_words = " ".join(camel_split(t) for t in tags)

        # ---- restrictions
        def rfail(rule, detail):
            self.fail(bid, vlabel, rule, detail, "restriction_fail", lang)

        if checks.get("no_price"):
            for name, s in list(fields.items()) + [("hashtags", tags_words)]:
                hits = self.price_hits(lang, s)
                if hits:
                    rfail("no_price", "%s mentions price %r: %r" % (name, hits[0], trunc(s)))
        if checks.get("no_emoji") or platform in NO_EMOJI_PLATFORMS:
            rule = "no_emoji" if checks.get("no_emoji") else "platform_no_emoji"
            for name, s in list(fields.items()) + [("hashtags", " ".join(tags))]:
                e = self.emojis(s)
                if e:
                    rfail(rule, "%s has emoji %s (U+%04X): %r" % (name, e[0], ord(e[0]), trunc(s)))
        if checks.get("no_hashtags") or platform in NO_HASHTAG_PLATFORMS:
            rule = "no_hashtags" if checks.get("no_hashtags") else "platform_no_hashtags"
            if tags:
                rfail(rule, "hashtags given: %r" % tags)
            for name, s in fields.items():
                m = HASHTAG_IN_TEXT_RE.search(URL_RE.sub(" ", s))
                if m:
                    rfail(rule, "%s has hashtag %r: %r" % (name, m.group(0), trunc(s)))
        if checks.get("no_exclamation"):
            for name, s in fields.items():
                if "!" in s or "\u00a1" in s or "\u203c" in s:
                    rfail("no_exclamation", "%s has '!': %r" % (name, trunc(s)))
        banned = list(checks.get("banned", []))
        bv = b.get("brand_voice") or {}
        banned += [w for w in (bv.get("dont_use") or []) if isinstance(w, str)]
        for term in banned:
            r = whole_word_re(term, self.lex["inflections"].get(lang, []))
            for name, s in list(fields.items()) + [("hashtags", tags_words)]:
                m = r.search(fold(s))
                if m:
                    rfail("banned_word", "%r found in %s: %r" % (term, name, trunc(s)))
        if "max_words" in checks:
            n = len(words(copy_text(v)))
            if n > checks["max_words"]:
                rfail("max_words", "%d words > %d (headline + text + call to action): %r"
                      % (n, checks["max_words"], trunc(copy_text(v), 200)))
        if "max_chars" in checks:
            n = len(post)
            if n > checks["max_chars"]:
                rfail("max_chars", "%d characters > %d (post as published)" % (n, checks["max_chars"]))
        # every restriction is either understood (in rules) or reported as not understood
        comp = v.get("compliance") or {}
        reported = set()
        for r in comp.get("rules") or []:
            if isinstance(r, dict) and isinstance(r.get("restriction"), str):
                reported.add(fold(r["restriction"]).strip())
        for r in comp.get("not_understood") or []:
            if isinstance(r, str):
                reported.add(fold(r).strip())
            elif isinstance(r, dict) and isinstance(r.get("restriction"), str):
                reported.add(fold(r["restriction"]).strip())
        for r in b.get("restrictions") or []:
            if fold(r).strip() not in reported:
                rfail("restriction_reported", "restriction %r neither in compliance.rules nor in "
                      "compliance.not_understood" % r)
        for r in b.get("compliance_requirements") or []:
            if fold(r).strip() not in reported and not any(fold(r).strip() in x for x in reported):
                st["reported_missing"] += 1

        # ---- sentences start with a capital letter
        for name, s in fields.items():
            for frag in lowercase_starts(s):
                self.fail(bid, vlabel, "capitalisation", "%s: sentence starts lowercase: %r" % (name, frag),
                          "case_fail", lang)

        # ---- platform limits
        def pfail(rule, detail):
            self.fail(bid, vlabel, rule, detail, "platform_fail", lang)

        if platform in TOTAL_MAX and len(post) > TOTAL_MAX[platform]:
            pfail("platform_total", "%s post is %d characters > %d" % (platform, len(post), TOTAL_MAX[platform]))
        if platform in HEADLINE_MAX and len(head) > HEADLINE_MAX[platform]:
            pfail("platform_headline", "%s headline %d characters > %d: %r"
                  % (platform, len(head), HEADLINE_MAX[platform], head))
        if platform in TEXT_MAX and len(text) > TEXT_MAX[platform]:
            pfail("platform_text", "%s primary_text %d characters > %d: %r"
                  % (platform, len(text), TEXT_MAX[platform], trunc(text, 120)))
        if platform == "instagram" and len(tags) > 30:
            pfail("platform_hashtags", "instagram: %d hashtags > 30" % len(tags))
        if platform == "google_ads" and "!" in head:
            pfail("platform_headline", "google_ads headline has '!': %r" % head)
        for t in tags:
            if not t.startswith("#") or len(t) < 2 or re.search(r"\s", t):
                pfail("hashtag_form", "hashtag %r does not start with '#' or has spaces" % t)
        if isinstance(b.get("max_length"), int) and len(text) > b["max_length"]:
            pfail("max_length", "primary_text %d characters > max_length %d" % (len(text), b["max_length"]))
        if isinstance(b.get("min_length"), int) and len(text) < b["min_length"]:
            pfail("min_length", "primary_text %d characters < min_length %d" % (len(text), b["min_length"]))

        # ---- key points
        dropped = {fold(x).strip() for x in ((out.get("extra_metadata") or {}).get("dropped_key_points") or [])
                   if isinstance(x, str)}
        may_drop = (platform in TIGHT_PLATFORMS or b.get("content_type") in TIGHT_CONTENT
                    or "max_words" in checks or "max_chars" in checks
                    or "max_length" in b)
        hay = fold(copy_text(v) + "\n" + tags_words)
        hay_words = set(words(hay))
        stop = set(self.lex["stopwords"].get(lang, []))
        for kp in b.get("key_points") or []:
            if not kp.strip():
                continue
            st["kp_total"] += 1
            if key_point_present(fold(kp.strip()), hay, hay_words, stop):
                st["kp_present"] += 1
            elif fold(kp.strip()) in dropped and may_drop:
                st["kp_dropped"] += 1
            else:
                why = "reported dropped on a platform/brief with room for it" if fold(kp.strip()) in dropped \
                    else "absent and not in extra_metadata.dropped_key_points"
                self.warnings.append((bid, vlabel, "key_point", "%r %s" % (kp, why)))

    # -- per brief

    def check_brief(self, entry, out):
        b = entry["brief"]
        lang = b["language"]
        st = self.stats[lang]
        variants = out.get("variants")
        if not isinstance(variants, list) or not variants:
            self.fail(entry["id"], "-", "shape", "no variants in the output", "platform_fail", lang)
            return []
        meta = out.get("extra_metadata") or {}
        if meta.get("language") not in (None, lang):
            self.fail(entry["id"], "-", "language", "extra_metadata.language is %r, asked %r"
                      % (meta.get("language"), lang), "platform_fail", lang)
        labels = []
        for i, v in enumerate(variants, 1):
            label = "v%d(%s)" % (i, v.get("variant_id", "?"))
            labels.append(label)
            st["variants"] += 1
            self.check_variant(entry, v, label, out)
        # pairwise similarity
        grams = [bigrams(copy_text(v)) for v in variants]
        for i in range(len(variants)):
            for j in range(i + 1, len(variants)):
                jac = jaccard(grams[i], grams[j])
                st["jaccard_max"] = max(st["jaccard_max"], jac)
                if jac >= JACCARD_MAX:
                    self.fail(entry["id"], "%s~%s" % (labels[i], labels[j]), "similarity",
                              "word-bigram Jaccard %.2f >= %.2f: %r vs %r"
                              % (jac, JACCARD_MAX, trunc(copy_text(variants[i]), 160),
                                 trunc(copy_text(variants[j]), 160)), "jaccard_fail", lang)
        return labels


def normalise_platform(p):
    p = re.sub(r"[\s\-]+", "_", p.strip().lower())
    return "twitter" if p == "x" else p


def key_point_present(kp, hay, hay_words, stop):
    """kp and hay are folded. Present: substring, or every content word found
    (a long word also matches a word sharing all but its last two letters)."""
    if kp in hay:
        return True
    content = [w for w in words(kp) if w not in stop]
    if not content:
        return False
    for w in content:
        if w in hay_words:
            continue
        if len(w) >= 6 and any(h.startswith(w[:-2]) for h in hay_words):
            continue
        return False
    return True


def bigrams(s):
    t = [fold(w) for w in words(s)]
    return {(t[i], t[i + 1]) for i in range(len(t) - 1)}


def jaccard(a, b):
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


# ----------------------------------------------------------------- running copyd

def run_copyd(binary, brief, workdir):
    """(status, payload): status 'ok' (output dict), 'skip' (unsupported language) or 'error' (text).
    Runs in workdir (a scratch folder): copyd creates its data folder in the
    working directory, which must not land in the source or build tree."""
    try:
        p = subprocess.run([binary, "generate", "-"], input=json.dumps(brief, ensure_ascii=False).encode(),
                           capture_output=True, timeout=60, cwd=workdir)
    except subprocess.TimeoutExpired:
        return "error", "copyd generate timed out after 60 s"
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode == 0:
        try:
            return "ok", json.loads(out)
        except ValueError as e:
            return "error", "output is not JSON (%s): %s" % (e, trunc(out, 200))
    try:
        err = json.loads(out)
    except ValueError:
        err = None
    code = (err or {}).get("error", {}).get("code") if isinstance(err, dict) else None
    if p.returncode == 1 and code == "unsupported_language":
        return "skip", err["error"].get("message", "")
    return "error", "exit %d: %s %s" % (p.returncode, trunc(out, 300), trunc(p.stderr.decode("utf-8", "replace"), 300))


# ----------------------------------------------------------------- spelling (hunspell)

def spelling(checker, results):
    """One hunspell process per language over the unique candidate words."""
    lex = checker.lex
    per_lang = {}   # lang -> list of (token, brief id, variant label)
    for entry, out, labels in results:
        lang = entry["brief"]["language"]
        btoks = brief_tokens(entry["brief"], exact=True)
        keep_case = lang in lex["case_is_lexical"]
        for v, label in zip(out["variants"], labels):
            s = HASHTAG_IN_TEXT_RE.sub(" ", URL_RE.sub(" ", copy_text(v)))
            for t in words(s.replace("\u2019", "'")):
                if has_digit(t) or copied_from_brief(t, btoks, keep_case):
                    continue
                per_lang.setdefault(lang, []).append((t, entry["id"], label))
    hunspell = shutil.which("hunspell")
    for lang, toks in per_lang.items():
        st = checker.stats[lang]
        dic = lex["hunspell"][lang]
        if not hunspell:
            st["spell_skipped"] = "hunspell not installed"
            continue
        if not any(os.path.exists(os.path.join(d, dic + ".dic"))
                   for d in ("/usr/share/hunspell", "/usr/share/myspell", "/usr/share/myspell/dicts")):
            st["spell_skipped"] = "dictionary %s not installed" % dic
            continue
        elis = set(lex["elisions"].get(lang, []))
        # what hunspell sees for each token: elided article split off where the dictionary needs it
        def forms(t):
            if "'" in t and lang in ("it", "pt"):
                pre, rest = t.split("'", 1)
                if fold(pre) in elis:
                    return [rest] if rest else []
            return [t]
        uniq = sorted({f for t, _, _ in toks for f in forms(t)})
        p = subprocess.run(["hunspell", "-d", dic, "-l"], input="\n".join(uniq).encode() + b"\n",
                           capture_output=True, timeout=60)
        bad_out = set(p.stdout.decode("utf-8", "replace").split())
        for t, bid, label in toks:
            st["spell_words"] += 1
            fs = forms(t)
            bad = any(f in bad_out or any(part in bad_out for part in re.split(r"['\-]", f) if part) for f in fs)
            if bad:
                st["spell_bad"] += 1
                st["bad_words"].setdefault(t, []).append("%s %s" % (bid, label))


# ----------------------------------------------------------------- French grammar (grammalecte)

def grammar_fr(checker, results):
    st = checker.stats["fr"]
    lines = []      # (text, brief id, label, brief tokens)
    for entry, out, labels in results:
        if entry["brief"]["language"] != "fr":
            continue
        btoks = brief_tokens(entry["brief"])
        for v, label in zip(out["variants"], labels):
            for part in (v.get("headline") or "", v.get("primary_text") or "", v.get("call_to_action") or ""):
                for line in part.split("\n"):
                    if line.strip():
                        lines.append((line.strip(), entry["id"], label, btoks))
    if not lines:
        return
    if not shutil.which("grammalecte-cli"):
        st["gram_skipped"] = "grammalecte-cli not installed"
        return
    with tempfile.TemporaryDirectory(prefix="copyd-quality-") as d:
        path = os.path.join(d, "fr.txt")
        with open(path, "w", encoding="utf-8") as f:
            for text, _, _, _ in lines:
                f.write(text + "\n")
        p = subprocess.run(["grammalecte-cli", "-f", path, "-j", "-off"] + GRAMMALECTE_OFF,
                           capture_output=True, timeout=120)
    try:
        data = json.loads(p.stdout.decode("utf-8", "replace"))
    except ValueError:
        checker.fail("fr", "-", "grammalecte", "grammalecte-cli did not answer JSON: %s"
                     % trunc(p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace"), 300))
        return
    for text, _, _, _ in lines:
        st["gram_words"] += len(words(text))
    for para in data.get("data", []):
        i = para.get("iParagraph", 0) - 1
        if not 0 <= i < len(lines):
            continue
        text, bid, label, btoks = lines[i]
        for e in para.get("lGrammarErrors", []):
            if e.get("sType") in GRAMMALECTE_TYPO_TYPES:
                continue
            span = text[e.get("nStart", 0):e.get("nEnd", 0)]
            span_words = [fold(w) for w in words(span)]
            if span_words and all(w in btoks for w in span_words):
                continue   # the brief's own words: not the engine's error
            st["gram_errors"] += 1
            checker.warnings.append((bid, label, "grammar_fr", "%s: %r in %r (%s)"
                                     % (e.get("sRuleId"), span, trunc(text, 100), e.get("sMessage", ""))))


# ----------------------------------------------------------------- sentence frames

def frames(checker, results):
    for entry, out, labels in results:
        if entry.get("sweep"):
            continue
        lang = entry["brief"]["language"]
        st = checker.stats[lang]
        btoks = brief_tokens(entry["brief"])
        stop = set(checker.lex["stopwords"].get(lang, []))
        for v in out["variants"]:
            text = (v.get("headline") or "") + "\n" + (v.get("primary_text") or "")
            for sent in SENTENCE_SPLIT_RE.split(text):
                fr = frame_of(sent, btoks, stop)
                if fr is None:
                    continue
                st["frame_sentences"] += 1
                st["frames"].setdefault(fr, set()).add(entry["id"])
                st.setdefault("_sent_frames", []).append(fr)
    for lang in LANGS:
        st = checker.stats[lang]
        st["frame_reused"] = sum(1 for fr in st.get("_sent_frames", []) if len(st["frames"][fr]) >= FRAME_BRIEFS)


def frame_of(sent, btoks, stop):
    """Masked, normalised sentence: runs of brief words (holding at least one
    content word) become <x>, numbers <n>; None when nothing of the engine's own is left."""
    toks = [fold(t) for t in words(sent)]
    out, run = [], []

    def flush():
        if run and any(t not in stop for t in run):
            if not out or out[-1] != "<x>":
                out.append("<x>")
        else:
            out.extend(run)
        run.clear()

    for t in toks:
        if t in btoks:
            run.append(t)
            continue
        flush()
        out.append("<n>" if has_digit(t) else t)
    flush()
    if not any(t not in ("<x>", "<n>") for t in out):
        return None
    return " ".join(out)


# ----------------------------------------------------------------- tone sweep

def tone_sweep(entries):
    """Copies of the first SWEEP_BASES briefs of each language, one per tone."""
    out, seen = [], {}
    for e in entries:
        lang = e["brief"]["language"]
        if seen.get(lang, 0) >= SWEEP_BASES:
            continue
        seen[lang] = seen.get(lang, 0) + 1
        for t in TONES:
            # without use_case: its calls to action are the same for every tone by design
            brief = {k: v for k, v in e["brief"].items() if k != "use_case"}
            out.append({"id": "%s@%s" % (e["id"], t), "checks": e["checks"], "sweep": e["id"],
                        "brief": dict(brief, tone=t)})
    return out


def sentences_of(entry, out):
    """The sentences of every variant, folded, less those made of the brief's
    own words only (a key point every tone repeats says nothing of the tone)."""
    btoks = brief_tokens(entry["brief"])
    got = set()
    for v in out["variants"]:
        text = "\n".join(v.get(k) or "" for k in ("headline", "primary_text", "call_to_action"))
        for sent in SENTENCE_SPLIT_RE.split(text):
            if frame_of(sent, btoks, set()) is None:
                continue
            got.add(" ".join(fold(t) for t in words(sent)))
    return got


def tone_voices(checker, results):
    """For each swept brief: the share of each tone's sentences that some other
    tone of the same brief writes too."""
    by_base = {}
    for entry, out, labels in results:
        if entry.get("sweep"):
            by_base.setdefault(entry["sweep"], {})[entry["brief"]["tone"]] = sentences_of(entry, out)
    for base, tones in by_base.items():
        lang = base.split("-")[0]
        st = checker.stats.get(lang)
        if st is None:
            continue
        for t, sents in tones.items():
            others = set()
            for u, s2 in tones.items():
                if u != t:
                    others |= s2
            shared = len(sents & others)
            st["tone_sent"] += len(sents)
            st["tone_shared"] += shared
            share = shared / len(sents) if sents else 0.0
            if share > st["tone_worst"][0]:
                st["tone_worst"] = (share, "%s@%s" % (base, t))


# ----------------------------------------------------------------- report

def pct(a, b):
    return "%.1f%%" % (100.0 * a / b) if b else "-"


def print_table(checker, status):
    cols = ["lang", "briefs", "status", "variants", "restr.fail", "platf.fail", "case.fail", "key points",
            "spelling", "grammar/100w", "max jacc.", "jacc.fail", "frame reuse", "tone shared (worst)"]
    rows = []
    for lang in LANGS:
        st = checker.stats[lang]
        if st["briefs"] == 0:
            continue
        if st["skipped"] == st["briefs"]:
            rows.append([lang, str(st["briefs"]), "SKIPPED (unsupported_language)"] + [""] * 11)
            continue
        kp = pct(st["kp_present"] + st["kp_dropped"], st["kp_total"])
        if st["kp_dropped"]:
            kp += " (%d dropped)" % st["kp_dropped"]
        spell = st["spell_skipped"] and "SKIP" or "%s of %d" % (
            pct(st["spell_words"] - st["spell_bad"], st["spell_words"]), st["spell_words"])
        if lang == "fr":
            gram = st["gram_skipped"] and "SKIP" or (
                "%.2f (%d in %d)" % (100.0 * st["gram_errors"] / st["gram_words"], st["gram_errors"],
                                     st["gram_words"]) if st["gram_words"] else "-")
        else:
            gram = "n/a"
        state = status[lang]
        tone = "-" if not st["tone_sent"] else "%s (%.0f%% %s)" % (
            pct(st["tone_shared"], st["tone_sent"]), 100 * st["tone_worst"][0], st["tone_worst"][1])
        rows.append([lang, "%d+%d" % (st["briefs"], st["sweep_briefs"]), state, str(st["variants"]), str(st["restriction_fail"]),
                     str(st["platform_fail"]), str(st["case_fail"]), kp, spell, gram, "%.2f" % st["jaccard_max"],
                     str(st["jaccard_fail"]), "%s of %d" % (pct(st["frame_reused"], st["frame_sentences"]),
                                                            st["frame_sentences"]), tone])
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(x.ljust(w) for x, w in zip(r, widths)))
    print()
    print("targets: restrictions and platform limits 100%%; key points >= %.0f%%; spelling >= %.0f%%; "
          "French grammar <= %.1f errors/100 words; Jaccard < %.1f; frame reuse < %.0f%% (report only%s); "
          "tone shared < %.0f%% for every swept tone"
          % (100 * KEY_POINT_MIN, 100 * SPELLING_MIN, GRAMMAR_MAX_PER_100, JACCARD_MAX,
             100 * FRAME_REUSE_TARGET, ", strict" if os.environ.get("QUALITY_FRAMES_STRICT") == "1" else "",
             100 * TONE_SHARED_MAX))
    print("briefs: corpus + tone sweep (the first %d briefs of each language under each of the %d tones); "
          "tone shared: sentences a tone writes that another tone of the same brief writes too"
          % (SWEEP_BASES, len(TONES)))


def selftest(lexicon):
    """The checker must be able to fail: feed it copy that breaks each rule
    (and clean copy that breaks none) before judging the engine. Returns a
    list of problems with the checker itself (empty when it works)."""
    problems = []
    entry = {"id": "selftest-es", "checks": {"no_price": True, "no_emoji": True, "no_hashtags": True,
                                             "no_exclamation": True, "banned": ["calidad"],
                                             "max_words": 12, "max_chars": 120},
             "brief": {"product_description": "Fontanero urgente en Valencia", "target_platform": "X",
                       "tone": "urgent", "language": "es", "key_points": ["Servicio 24 horas"],
                       "restrictions": ["sin precios"], "brand_voice": {"dont_use": ["barato"]}}}
    ok_rules = [{"restriction": "sin precios", "rule": "no_price"}]
    clean = {"variant_id": "clean", "headline": "Fontanero urgente en Valencia",
             "primary_text": "Servicio 24 horas para tu casa.", "call_to_action": "Llama ahora",
             "hashtags": [], "compliance": {"rules": ok_rules, "not_understood": []}}
    bad = {"variant_id": "bad", "headline": "¡calidad y precio de 19,99 €!",
           "primary_text": "Lo más barato 🚀 con un 20 % menos #Oferta " + "palabra " * 60,
           "call_to_action": "Compra ya!", "hashtags": ["#Calidad", "sin almohadilla"],
           "compliance": {"rules": [], "not_understood": []}}
    out = {"variants": [clean], "extra_metadata": {"language": "es", "dropped_key_points": []}}
    c = Checker(lexicon, {"briefs": [entry]})
    c.check_brief(entry, out)
    if c.failures or c.warnings:
        problems.append("clean copy flagged: %r" % (c.failures + c.warnings))
    c = Checker(lexicon, {"briefs": [entry]})
    c.check_brief(entry, {"variants": [bad, dict(bad, variant_id="bad2")],
                          "extra_metadata": {"language": "es", "dropped_key_points": []}})
    fired = {f[2] for f in c.failures}
    for rule in ("no_price", "no_emoji", "no_hashtags", "no_exclamation", "banned_word", "max_words",
                 "max_chars", "restriction_reported", "platform_total", "hashtag_form", "similarity",
                 "capitalisation"):
        if rule not in fired:
            problems.append("rule %s did not fire on copy that breaks it" % rule)
    if not any(w[2] == "key_point" for w in c.warnings):
        problems.append("a missing key point was not noticed")
    ga = dict(entry, checks={}, brief=dict(entry["brief"], target_platform="Google Ads", restrictions=[]))
    c = Checker(lexicon, {"briefs": [ga]})
    c.check_brief(ga, {"variants": [{"variant_id": "g", "headline": "Un titular demasiado largo para Google",
                                     "primary_text": "x " * 50, "call_to_action": "Llama", "hashtags": ["#x"]}]})
    fired = {f[2] for f in c.failures}
    for rule in ("platform_headline", "platform_text", "platform_no_hashtags"):
        if rule not in fired:
            problems.append("rule %s did not fire on Google Ads copy that breaks it" % rule)
    # two tones of one brief that write the same sentences share all of them
    sweep = [dict(entry, id="es-selftest@" + t, sweep="es-selftest", brief=dict(entry["brief"], tone=t))
             for t in ("urgent", "formal")]
    same = {"variants": [dict(clean, primary_text="Servicio 24 horas para tu casa. Llama cuando quieras.")]}
    c = Checker(lexicon, {"briefs": sweep})
    tone_voices(c, [(e, same, ["v1"]) for e in sweep])
    if c.stats["es"]["tone_worst"][0] < 1.0:
        problems.append("tone sweep did not see two tones writing the same sentences: %r" % (c.stats["es"]["tone_worst"],))
    btoks = brief_tokens(entry["brief"])
    if frame_of("La solución: fontanero urgente en Valencia.", btoks, set(lexicon["stopwords"]["es"])) \
            != "la solucion <x>":
        problems.append("sentence frame masking is wrong: %r"
                        % frame_of("La solución: fontanero urgente en Valencia.", btoks, set()))
    return problems


def main():
    binary = os.environ.get("COPYD_BIN", "/work/main/build/copyd")
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print("ERROR: copyd binary not found or not executable: %s (set COPYD_BIN)" % binary)
        return 2
    try:
        with open(os.environ.get("QUALITY_CORPUS", os.path.join(HERE, "corpus.json")), encoding="utf-8") as f:
            corpus = json.load(f)
        with open(os.path.join(HERE, "lexicon.json"), encoding="utf-8") as f:
            lexicon = json.load(f)
    except (OSError, ValueError) as e:
        print("ERROR: cannot read corpus or lexicon: %s" % e)
        return 2
    problems = selftest(lexicon)
    if problems:
        print("ERROR: the checker's self-test failed, its verdicts cannot be trusted:")
        for p in problems:
            print("  " + p)
        return 2
    entries = corpus["briefs"]
    ids = [e["id"] for e in entries]
    if len(set(ids)) != len(ids):
        print("ERROR: duplicate brief ids in the corpus")
        return 2
    only = [x for x in os.environ.get("QUALITY_ONLY", "").split(",") if x]
    if only:
        entries = [e for e in entries if e["id"] in only or e["brief"]["language"] in only]
    entries = entries + tone_sweep(entries)
    checker = Checker(lexicon, corpus)
    verbose = os.environ.get("QUALITY_VERBOSE") == "1"

    binary = os.path.abspath(binary)
    with tempfile.TemporaryDirectory(prefix="copyd-quality-") as workdir, \
            concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda e: run_copyd(binary, e["brief"], workdir), entries))

    results, skip_msgs = [], {}
    for entry, (state, payload) in zip(entries, answers):
        lang = entry["brief"]["language"]
        st = checker.stats[lang]
        if entry.get("sweep"):
            if state == "skip":
                continue
            st["sweep_briefs"] += 1
        else:
            st["briefs"] += 1
        if state == "skip":
            st["skipped"] += 1
            skip_msgs.setdefault(lang, payload)
        elif state == "error":
            st["errors"] += 1
            checker.fail(entry["id"], "-", "generate", payload)
        else:
            labels = checker.check_brief(entry, payload)
            if labels:
                results.append((entry, payload, labels))

    spelling(checker, results)
    grammar_fr(checker, results)
    frames(checker, results)
    tone_voices(checker, results)

    # language-level thresholds
    status = {}
    for lang in LANGS:
        st = checker.stats[lang]
        if st["briefs"] == 0:
            continue
        if st["skipped"] == st["briefs"]:
            status[lang] = "SKIPPED"
            continue
        if 0 < st["skipped"]:
            checker.fail(lang, "-", "partial_language", "%d of %d briefs answered unsupported_language"
                         % (st["skipped"], st["briefs"]))
        if st["kp_total"] and (st["kp_present"] + st["kp_dropped"]) / st["kp_total"] < KEY_POINT_MIN:
            checker.fail(lang, "-", "key_points", "coverage %s < %.0f%% (see key_point warnings)"
                         % (pct(st["kp_present"] + st["kp_dropped"], st["kp_total"]), 100 * KEY_POINT_MIN))
        if not st["spell_skipped"] and st["spell_words"] and \
                (st["spell_words"] - st["spell_bad"]) / st["spell_words"] < SPELLING_MIN:
            worst = sorted(st["bad_words"].items(), key=lambda kv: -len(kv[1]))[:15]
            checker.fail(lang, "-", "spelling", "%s of %d words accepted by hunspell < %.0f%%; rejected: %s"
                         % (pct(st["spell_words"] - st["spell_bad"], st["spell_words"]), st["spell_words"],
                            100 * SPELLING_MIN, ", ".join("%s (%d, e.g. %s)" % (w, len(w_at), w_at[0])
                                                          for w, w_at in worst)))
        if lang == "fr" and not st["gram_skipped"] and st["gram_words"] and \
                100.0 * st["gram_errors"] / st["gram_words"] > GRAMMAR_MAX_PER_100:
            checker.fail(lang, "-", "grammar_fr", "%d grammar errors in %d words = %.2f per 100 > %.1f "
                         "(see grammar_fr warnings)" % (st["gram_errors"], st["gram_words"],
                                                         100.0 * st["gram_errors"] / st["gram_words"],
                                                         GRAMMAR_MAX_PER_100))
        if os.environ.get("QUALITY_FRAMES_STRICT") == "1" and st["frame_sentences"] and \
                st["frame_reused"] / st["frame_sentences"] >= FRAME_REUSE_TARGET:
            checker.fail(lang, "-", "frame_reuse", "%s of sentences reuse a frame seen in >= %d briefs"
                         % (pct(st["frame_reused"], st["frame_sentences"]), FRAME_BRIEFS))
        if st["tone_sent"] and st["tone_worst"][0] >= TONE_SHARED_MAX:
            checker.fail(st["tone_worst"][1], "-", "tone_voice", "%.0f%% of its sentences are written by "
                         "another tone of the same brief too (limit %.0f%%)"
                         % (100 * st["tone_worst"][0], 100 * TONE_SHARED_MAX))
        status[lang] = "FAIL" if any(f[0] == lang or f[0].startswith(lang + "-") for f in checker.failures) \
            else "ok"

    print("copyd quality check: %d briefs, binary %s" % (len(entries), binary))
    print()
    for lang, msg in sorted(skip_msgs.items()):
        st = checker.stats[lang]
        if st["skipped"] == st["briefs"]:
            print("SKIPPED %s: %d briefs not checked, the engine does not write it yet (%s)"
                  % (lang, st["briefs"], msg))
    if skip_msgs:
        print()
    print_table(checker, status)

    # most reused frames, to show where the repetition comes from
    for lang in LANGS:
        st = checker.stats[lang]
        reused = sorted(((len(v), k) for k, v in st["frames"].items() if len(v) >= FRAME_BRIEFS), reverse=True)
        if reused:
            print("\n%s: most reused sentence frames (briefs: frame)" % lang)
            for n, k in reused[:8]:
                print("  %3d: %s" % (n, trunc(k, 110)))
    for lang in LANGS:
        st = checker.stats[lang]
        if st["bad_words"]:
            items = sorted(st["bad_words"].items(), key=lambda kv: (-len(kv[1]), kv[0]))
            shown = items if verbose else items[:20]
            print("\n%s: words hunspell rejects (%d distinct): %s%s" % (
                lang, len(items), ", ".join("%s x%d" % (w, len(a)) for w, a in shown),
                "" if len(shown) == len(items) else ", ..."))
        if st["reported_missing"]:
            print("\n%s: %d variant(s) do not report a compliance_requirement in compliance (warning)"
                  % (lang, st["reported_missing"]))
    if checker.warnings:
        print("\nWarnings (%d; counted in the figures above, they fail only through their threshold):"
              % len(checker.warnings))
        for w in (checker.warnings if verbose else checker.warnings[:40]):
            print("  WARN [%s %s] %s: %s" % w)
        if not verbose and len(checker.warnings) > 40:
            print("  ... %d more (QUALITY_VERBOSE=1 shows all)" % (len(checker.warnings) - 40))
    if checker.failures:
        print("\nFAILURES (%d):" % len(checker.failures))
        for f in checker.failures:
            print("  FAIL [%s %s] %s: %s" % f)
        print("\nRESULT: FAIL")
        return 1
    print("\nRESULT: PASS (%s)" % ", ".join("%s %s" % (l, status[l]) for l in LANGS if l in status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
