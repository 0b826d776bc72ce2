#!/usr/bin/env python3
"""Generate the BERT WordPiece tokenizer fixture used by Tests/FTModelTests/TokenizerTests.swift.

Usage:
    python make_tokenizer_fixture.py MODEL_DIR OUT.json [--swift-tables PATH/BasicTokenizer.swift]

    MODEL_DIR  a Hugging Face BERT model directory with tokenizer.json, vocab.txt and
               (optionally) tokenizer_config.json, e.g. .cache/models/all-MiniLM-L6-v2
    OUT.json   where to write the fixture, normally Tests/FTModelTests/Fixtures/tokenizer_cases.json

    --swift-tables FILE
               additionally rewrite the block between "// BEGIN GENERATED CHARACTER TABLES" and
               "// END GENERATED CHARACTER TABLES" in FILE (Sources/FTModel/Tokenizer/BasicTokenizer.swift)
               with the character classes probed from the fast tokenizer (see below).

Requirements: `tokenizers` and `transformers` (no torch needed). Example:
    /tmp/refvenv/bin/python scripts/reference/make_tokenizer_fixture.py \
        .cache/models/all-MiniLM-L6-v2 Tests/FTModelTests/Fixtures/tokenizer_cases.json \
        --swift-tables Sources/FTModel/Tokenizer/BasicTokenizer.swift

What it writes:
  * library versions and the tokenizer settings;
  * "char_classes": code point ranges obtained by probing the FAST tokenizer's BertNormalizer and
    BertPreTokenizer one code point at a time: removed by clean_text, whitespace, punctuation,
    non-spacing marks removed by strip_accents, CJK characters spaced by handle_chinese_chars.
    The Rust crate behind the category tests (`unicode_categories`) has old Unicode tables, so these
    differ from current Unicode (Python's `unicodedata`, Swift's `Unicode.Scalar.Properties`): e.g.
    U+0890 (Cf since Unicode 14) is NOT removed by the fast tokenizer.  Its CJK ranges have
    0x2B920-0x2CEAF where the python tokenizer (and the usual documentation) has 0x2B820-0x2CEAF, so
    U+2B820..U+2B91F are not split off by the fast tokenizer;
  * "cases": each {"text", "pair"?, "max_length"?, "ids", "token_type_ids", "tokens", "slow_agrees",
    "slow_ids"? (only when the slow tokenizer differs)}.  The expected ids are those of the FAST
    tokenizer (`tokenizers.Tokenizer.from_file(MODEL_DIR/tokenizer.json)` with its padding and
    truncation disabled, then `enable_truncation(max_length, strategy="longest_first")` per case).
    The slow one is transformers' pure-python tokenizer (`BertTokenizerLegacy` in transformers >= 5,
    `BertTokenizer` before) built from vocab.txt and tokenizer_config.json.
"""

import argparse
import json
import os
import random
import sys
import unicodedata

import tokenizers
import transformers
from tokenizers import Tokenizer, normalizers, pre_tokenizers

try:  # transformers >= 5: BertTokenizer is the Rust-backed one, the python one is "legacy".
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as SlowBertTokenizer
except ImportError:  # transformers 4.x
    from transformers import BertTokenizer as SlowBertTokenizer

SEED = 20240607

# ---------------------------------------------------------------------------------------------
# Character classes of the fast tokenizer, probed one code point at a time.


def to_ranges(cps):
    cps = sorted(cps)
    out = []
    for cp in cps:
        if out and out[-1][1] + 1 == cp:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def probe_char_classes(strip_accents=True):
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
    cjk = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    nfd = normalizers.NFD()
    pre = pre_tokenizers.BertPreTokenizer()
    removed, whitespace, punctuation, mark, chinese = [], [], [], [], []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        r = clean.normalize_str("a" + c + "b")
        if r == "ab":
            removed.append(cp)
        elif r == "a b":
            whitespace.append(cp)
        if cjk.normalize_str(c) == " " + c + " ":
            chinese.append(cp)
        if [t for t, _ in pre.pre_tokenize_str("a" + c + "b")] == ["a", c, "b"]:
            punctuation.append(cp)
        # Only code points that are their own NFD can show up after NFD; test those for "Mn".
        if nfd.normalize_str(c) == c and strip.normalize_str("a" + c) == "a":
            mark.append(cp)
    return {
        "removed": to_ranges(removed),
        "whitespace": to_ranges(whitespace),
        "punctuation": to_ranges(punctuation),
        "nonspacing_mark": to_ranges(mark),
        "chinese": to_ranges(chinese),
    }


def swift_tables(classes):
    def arr(name, doc, ranges):
        lines = ["    /// " + doc, "    static let %s: [UInt32] = [" % name]
        row = []
        for lo, hi in ranges:
            row.append("0x%X, 0x%X," % (lo, hi))
            if len(row) == 6:
                lines.append("        " + " ".join(row))
                row = []
        if row:
            lines.append("        " + " ".join(row))
        lines.append("    ]")
        return "\n".join(lines)

    header = (
        "// Generated by scripts/reference/make_tokenizer_fixture.py from tokenizers %s by probing\n"
        "// BertNormalizer/BertPreTokenizer one code point at a time. Flat (lo, hi) pairs of closed ranges,\n"
        "// sorted. Do not edit by hand.\n" % tokenizers.__version__
    )
    body = "\n".join([
        "enum BertCharacterTables {",
        arr("removed", "Removed by clean_text (U+0000, U+FFFD, Cc/Cf/Co of the Rust crate's tables; not \\t \\n \\r).",
            classes["removed"]),
        arr("whitespace", "Mapped to a space by clean_text and split on by the pre-tokenizer.", classes["whitespace"]),
        arr("punctuation", "Each one is its own pre-token (ASCII punctuation or P* in the crate's tables).",
            classes["punctuation"]),
        arr("nonspacingMark", "Dropped after NFD by strip_accents (Mn in the crate's tables).",
            classes["nonspacing_mark"]),
        "}",
    ])
    return header + body + "\n"


def rewrite_swift_tables(path, classes):
    begin, end = "// BEGIN GENERATED CHARACTER TABLES\n", "// END GENERATED CHARACTER TABLES"
    src = open(path, encoding="utf-8").read()
    i, j = src.index(begin) + len(begin), src.index(end)
    open(path, "w", encoding="utf-8").write(src[:i] + swift_tables(classes) + src[j:])


# ---------------------------------------------------------------------------------------------
# Cases

LONG_100 = "a" * 100
LONG_101 = "a" * 101


def fixed_cases():
    singles = [
        # Reference from assets.md
        "A man is eating food.",
        # English
        "", " ", "   \t\n  ", "hello", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
        "I can't believe it's not butter!", "Don't you dare -- he said; \"really?\" (yes) [no] {maybe}",
        "unaffable", "Tokenization of unbelievably uncharacteristically long words", "ALL CAPS SENTENCE HERE",
        "MiXeD cAsE wOrDs", "e.g. i.e. etc. Mr. Dr. St. U.S.A.", "state-of-the-art well-known", "it's",
        "The year 1984 and 2024-06-07 at 13:45:00", "3.14159 2,718 1,000,000 1.000.000,00 1 000 000 10^6 1e-9 -42 +7",
        "50% off! 100$ or 99.99€ or £20 or ¥500 or ₹1,00,000 or ₿0.01 or ¢5 or ₩1000",
        "Visit https://www.example.com/path?query=1&b=2#frag or http://x.y/z_(w)",
        "mail me at john.doe+tag@example.co.uk!", "user_name__with___underscores", "#hashtag @mention $cashtag",
        "C++ C# F# .NET node.js x86_64 ARMv8", "!!!", "?!?!", "...", "…", "----", "'''", "\"\"\"", "a.b.c", "a!b?c",
        "((((nested))))", "<div class=\"x\">Hello&nbsp;<b>world</b></div>", "<br/><p>&amp;&lt;&gt;</p>",
        "`code` ~tilde~ ^caret^ |pipe| \\backslash\\ /slash/", "snake_case camelCase PascalCase kebab-case",
        "a\tb\nc\rd\r\ne", "line1\n\nline2\n\n\nline3", "  leading and trailing  ", "sentence.Another sentence!Third?",
        "[CLS] hello [SEP]", "hello [MASK] world", "a[UNK]b", "[cls] lowercase specials are not special",
        "[[SEP]]", "[PAD][PAD]", "[MASK" , "x [PAD] y",
        # Accented Latin
        "café", "Café au lait", "naïve façade", "mañana señor", "über Straße", "Ångström", "résumé", "Crème brûlée",
        "İstanbul", "DİYARBAKIR ıi", "ﬁnancial ﬂow", "œuvre Æsir", "Øresund", "Łódź", "Dvořák", "Ærøskøbing",
        "ẞ capital sharp s", "e\u0301le\u0300ve", "Ǆ ǅ ǆ", "ÀÉÎÕÜ", "Ĳssel", "ﬀ ﬃ ﬄ ﬅ ﬆ", "Ⅻ ⅻ ①②③ ¼ ½ ²³",
        "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ！", "ℌ ℍ ℕ ℙ ℚ ℝ ℤ", "K Å Ω (Kelvin, Angstrom, Ohm signs)",
        # Greek
        "ΟΔΟΣ", "Σίσυφος", "ὀδυσσεύς", "Καλημέρα κόσμε", "ΑΒΓΔ αβγδ ς σ Σ", "Ἀθῆναι",
        # Cyrillic
        "Привет, мир!", "ЁЛКА ёлка", "Їжак і ґава", "Съешь же ещё этих мягких французских булок",
        # Arabic / Hebrew
        "مرحبا بالعالم", "اللُّغَةُ الْعَرَبِيَّةُ", "٠١٢٣٤٥٦٧٨٩", "שלום עולם", "בְּרֵאשִׁית", "؟ ، ؛",
        # Indic
        "नमस्ते दुनिया", "हिन्दी", "क्षत्रिय", "বাংলা ভাষা", "தமிழ்", "ਪੰਜਾਬੀ",
        # Thai, other SE Asian
        "สวัสดีชาวโลก", "ภาษาไทย", "ພາສາລາວ", "ភាសាខ្មែរ", "မြန်မာ",
        # Chinese / Japanese / Korean
        "你好，世界！", "我爱北京天安门。", "中文English混合", "繁體中文測試", "𠀀𠀁 𪜀 𫝀 𫠠 𬺰", "a\U0002B820b\U0002B8B8c\U0002B91Fd\U0002B920e\U0002CEAFf\U0002CEB0g",
        "\U0002B81F\U0002B820 \U0002B91F\U0002B920", "豈更車 丽",
        "こんにちは世界", "カタカナ ひらがな 漢字", "ｶﾀｶﾅ", "東京タワーへ行きました。", "がぎぐげご パピプペポ",
        "안녕하세요 세계", "한국어", "\u1112\u1161\u11ab\u1100\u1173\u11af", "ㄱㄴㄷ ㅏㅑ",
        "⺀ ⼀ 〇 ㈠ ㊀",
        # Emoji
        "I love 🍕 and 🍣!", "👍", "👍🏽", "👍🏿👍🏻", "👨‍👩‍👧‍👦 family", "🏳️‍🌈", "🇺🇸 🇯🇵 🇩🇪", "❤️ ♥ ☺️", "😀😃😄😁",
        "🥺 🫠 🧑‍💻", "#️⃣ 1️⃣ *️⃣", "✔ ✓ ✗ ✘ ★ ☆",
        # Control, format and odd characters
        "a\u0000b", "a\u0007b", "a\u200bb", "soft\u00adhyphen", "\ufeffBOM at start", "replacement\ufffdchar",
        "zero\u200cwidth\u200djoiner", "rtl\u200fmark\u200e", "\u2060word\u2060joiner", "tag\U000E0041chars",
        "a\u0085b", "a\u000bb\u000cc", "a\u001cb\u001fc", "a\u007fb\u0080c\u009fd", "private\ue000use\U000F0000",
        "\u0890\u0891 new Cf", "a\u08e2b", "\u07fd\u0898 new marks", "\U00011938 dives akuru", "\u0378\u0379 unassigned",
        "a\u0301\u0302\u0303", "\u0301leading combining", "x\ufe0fy variation", "\U000e0100 vs",
        # Whitespace
        "a\u00a0b", "a\u3000b", "a\u2002b\u2003c\u2009d\u200ae", "a\u2028b\u2029c", "a\u202fb\u205fc\u1680d",
        "\t\ttabs\t", "\r\n", "\n", "\u00a0\u3000\u2003",
        # Math / symbols
        "∀x∈ℝ: x²≥0", "a≠b, a≤b, a≥b", "∑_{i=1}^{n} i = n(n+1)/2", "√2 ≈ 1.414 ± 0.001", "π r² × 2 ÷ 3 ∞",
        "→ ← ↑ ↓ ⇒ ⇔", "§ ¶ † ‡ • ° ™ © ®", "«quotes» „German“ “curly” ‘single’ ‹›", "— – ‐ ‑ ‒",
        "¿Qué? ¡Sí!", "Greek question mark;\u037e and ano teleia\u0387", "`backtick\u1fef",
        # Long words
        LONG_100, LONG_101, "b" * 99 + " " + "c" * 100, "x" * 150, "abc" * 40, "é" * 60,
        "e\u0301" * 60, "e\u0301" * 100, "ab" * 50 + ".", "supercalifragilisticexpialidocious",
        "pneumonoultramicroscopicsilicovolcanoconiosis", "https://example.com/" + "very-long-path-" * 10,
        # Mixed
        "Hello мир 世界 🌍 مرحبا שלום नमस्ते", "Zoë's café in Köln costs €3,50 — ça va?", "123abc456DEF",
        "résumé.pdf", "email:foo@bar.com;url:https://a.b/c?d=e", "日本語とEnglishのmix123",
    ]
    cases = [{"text": s} for s in singles]

    a = "The quick brown fox jumps over the lazy dog."
    b = "A fast auburn canine leaps above an idle hound!"
    short = "Yes."
    long = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    pairs = [
        (a, b, None), (short, long, None), (long, short, None), ("", "", None), ("", b, None), (a, "", None),
        ("How old are you?", "I am 6 years old.", None), ("你好", "世界", None), ("café", "CAFÉ", None),
        (a, b, 64), (a, b, 12), (a, b, 11), (a, b, 10), (a, b, 9), (a, b, 8), (a, b, 7), (a, b, 5), (a, b, 4),
        (short, long, 10), (long, short, 10), (short, long, 6), (long, short, 6), (short, long, 5), (long, short, 4),
        (long, long, 12), (long, long, 13), (long, long, 4),
        ("one two three four five six", long, 12), (long, "one two three four five six", 12),
        ("one two three four five six", "a b c d e f g h i j", 12), ("a b c d e f", "a b c d e f g", 9),
        ("a b c d e f g", "a b c d e f", 10), (a, "", 6), ("", a, 6),
        # Below the number of special tokens: the fast tokenizer then does not truncate at all.
        (a, b, 3), (a, b, 2),
    ]
    for t, p, m in pairs:
        c = {"text": t, "pair": p}
        if m is not None:
            c["max_length"] = m
        cases.append(c)
    for t, m in [(long, 2), (long, 3), (long, 4), (long, 10), (short, 3), (LONG_101 + " x", 3), ("", 2), (long, 1)]:
        cases.append({"text": t, "max_length": m})
    return cases


def random_cases(n):
    rng = random.Random(SEED)
    alphabets = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
        "éèêëàâäôöûüùçñÅåßİıÉÑØøæœﬁﬂĳ",
        "αβγδεζηθικλμνξοπρσςτυφχψωΑΒΓΔΣΩάέήίόύώ",
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗ",
        "ابتثجحخدذرزسشصضطظعغفقكلمنهوي\u064b\u064e\u0650",
        "אבגדהוזחטיכלמנסעפצקרשת\u05b0\u05b4",
        "कखगघचछजझटठडढणतथदधनपफबभमयरलवशसह\u093e\u093f\u0940\u094d\u0902",
        "กขคงจฉชซญฎฏฐดตถทธนบปผฝพฟภมยรลวศษสหฬอฮ\u0e31\u0e34\u0e35\u0e48\u0e49",
        "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年",
        "あいうえおかきくけこアイウエオカキクケコ漢字日本語",
        "가나다라마바사아자차카타파하한국어",
        "\u1100\u1102\u1103\u1161\u1162\u1165\u11a8\u11ab\u11af",
        "😀😂🥺🍕🌍👍🏽🏻🏿\u200d❤️🇺🇸🇯🇵✔★",
        "\u0000\u0007\u200b\u00ad\ufeff\ufffd\u200c\u200d\u2060\u0085\u007f\u0890\ue000",
        " \u00a0\u3000\t\n\r\u2003\u2028",
        "\u0301\u0302\u0308\u0327\u0323\u20dd\ufe0f\u07fd\u0898",
        "∀∈ℝ≠≤≥∑√≈±×÷∞→⇒€£¥₹©®™§¶•°«»„“”‘’—–…",
    ]
    words = ["the", "and", "running", "unbelievable", "café", "naïve", "straße", "ΟΔΟΣ", "привет", "東京",
             "안녕", "नमस्ते", "สวัสดี", "مرحبا", "שלום", "e\u0301", "İ", "[MASK]", "[CLS]", "http://a.b/c", "x@y.z"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 14)):
            r = rng.random()
            if r < 0.25:
                parts.append(rng.choice(words))
            elif r < 0.45:
                parts.append(" ")
            else:
                alpha = rng.choice(alphabets)
                parts.append("".join(rng.choice(alpha) for _ in range(rng.randint(1, 6))))
        out.append({"text": "".join(parts)})
    # A few random pairs with truncation.
    for _ in range(n // 10):
        t = out[rng.randrange(len(out))]["text"]
        p = out[rng.randrange(len(out))]["text"]
        out.append({"text": t, "pair": p, "max_length": rng.randint(4, 24)})
    return out


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("out_json")
    ap.add_argument("--swift-tables", metavar="FILE")
    ap.add_argument("--random", type=int, default=100, help="number of random strings (default 100)")
    args = ap.parse_args()

    fast = Tokenizer.from_file(os.path.join(args.model_dir, "tokenizer.json"))
    fast.no_padding()
    fast.no_truncation()

    cfg = {}
    cfg_path = os.path.join(args.model_dir, "tokenizer_config.json")
    if os.path.exists(cfg_path):
        cfg = json.load(open(cfg_path, encoding="utf-8"))
    slow = SlowBertTokenizer(
        vocab_file=os.path.join(args.model_dir, "vocab.txt"),
        do_lower_case=cfg.get("do_lower_case", True),
        strip_accents=cfg.get("strip_accents"),
        tokenize_chinese_chars=cfg.get("tokenize_chinese_chars", True),
        model_max_length=10**9,
    )

    transformers.logging.set_verbosity_error()
    cases = fixed_cases() + random_cases(args.random)
    results = []
    n_differ = 0
    for c in cases:
        text, pair, ml = c["text"], c.get("pair"), c.get("max_length")
        if ml is None:
            fast.no_truncation()
        else:
            fast.enable_truncation(ml, strategy="longest_first")
        enc = fast.encode(text, pair) if pair is not None else fast.encode(text)
        rec = dict(c)
        rec["ids"] = enc.ids
        rec["token_type_ids"] = enc.type_ids
        rec["tokens"] = enc.tokens
        try:
            kw = dict(truncation="longest_first", max_length=ml) if ml is not None else dict(truncation=False)
            kw["return_token_type_ids"] = True
            s = slow(text, pair, **kw) if pair is not None else slow(text, **kw)
            sids, stypes = s["input_ids"], s["token_type_ids"]
        except Exception as e:  # e.g. max_length below the number of special tokens
            sids, stypes = None, repr(e)
        agree = sids == enc.ids and stypes == enc.type_ids
        rec["slow_agrees"] = agree
        if not agree:
            n_differ += 1
            rec["slow_ids"] = sids
            if sids is not None:
                rec["slow_tokens"] = slow.convert_ids_to_tokens(sids)
            if sids is not None and stypes != enc.type_ids:
                rec["slow_token_type_ids"] = stypes
            elif sids is None:
                rec["slow_error"] = stypes
        results.append(rec)
    fast.no_truncation()

    classes = probe_char_classes()
    if args.swift_tables:
        rewrite_swift_tables(args.swift_tables, classes)

    fixture = {
        "generator": "scripts/reference/make_tokenizer_fixture.py",
        "versions": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
                     "python": sys.version.split()[0], "unicodedata": unicodedata.unidata_version,
                     "slow_class": SlowBertTokenizer.__name__},
        "model_dir": os.path.basename(os.path.normpath(args.model_dir)),
        "settings": {"do_lower_case": cfg.get("do_lower_case", True), "strip_accents": cfg.get("strip_accents"),
                     "tokenize_chinese_chars": cfg.get("tokenize_chinese_chars", True),
                     "vocab_size": fast.get_vocab_size()},
        "seed": SEED,
        "num_cases": len(results),
        "num_slow_differs": n_differ,
        "char_classes": classes,
    }
    # One case per line keeps the file diffable and small.
    with open(args.out_json, "w", encoding="utf-8") as f:
        head = json.dumps(fixture, ensure_ascii=False, separators=(",", ":"))
        f.write(head[:-1] + ',\n"cases":[\n')
        f.write(",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in results))
        f.write("\n]}\n")
    print("wrote %d cases (%d where slow != fast) to %s (%d bytes)"
          % (len(results), n_differ, args.out_json, os.path.getsize(args.out_json)))


if __name__ == "__main__":
    main()
