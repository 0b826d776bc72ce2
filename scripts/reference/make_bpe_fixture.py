#!/usr/bin/env python3
"""Reference cases for the byte-level BPE tokenizer (Tests/FTModelTests/ByteLevelBPETokenizerTests.swift).

Usage:
    python make_bpe_fixture.py GGUF_DIR ROTTEN_TOMATOES_CSV OUT_DIR [--check-written DIR]

    GGUF_DIR            the folder of SmolLM2-135M-Instruct.Q4_1.gguf (scripts/fetch_assets.sh puts it
                        in .cache/models/smollm2-135m-instruct)
    ROTTEN_TOMATOES_CSV .cache/data/rotten_tomatoes/rotten_tomatoes.csv (real English lines for the corpus)
    OUT_DIR             Tests/FTModelTests/Fixtures/bpe: writes
                          smollm2_cases.json   the real tokenizer's ids, decodes and chat renderings
                          tiny/tokenizer.json, tiny/tokenizer_config.json, tiny_cases.json
                                               a ~300-token ByteLevel BPE trained here by `tokenizers`
                          unicode_classes.json the code point classes of HF's pre-tokenizers
    --check-written DIR a tokenizer.json + tokenizer_config.json written by fttrain: loads it with
                        AutoTokenizer and checks its ids equal the reference's on every case and the first
                        2,000 Rotten Tomatoes texts. Make DIR with the Swift test that writes the real
                        tokenizer: FTTRAIN_BPE_WRITE_DIR=DIR swift test --skip-build \
                            --filter ByteLevelBPETokenizerTests/testWrittenTokenizerLoadsBackWithEqualIds

Requirements: transformers, tokenizers, gguf (no torch). Example:
    /tmp/refvenv/bin/python scripts/reference/make_bpe_fixture.py .cache/models/smollm2-135m-instruct \
        .cache/data/rotten_tomatoes/rotten_tomatoes.csv Tests/FTModelTests/Fixtures/bpe

Which tokenizer is "Hugging Face's": SmolLM2's own tokenizer.json (HuggingFaceTB/SmolLM2-135M-Instruct)
pre-tokenizes with Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False)], and
llama.cpp's "smollm" pre-tokenizer (the GGUF's tokenizer.ggml.pre) does the same. transformers' GGUF
loader drops the Digits step (it builds a plain ByteLevel pre-tokenizer), which changes the ids of a
few texts (whitespace before digits: "a  1"). The expected "ids" are those of the original pipeline:
the GGUF-derived tokenizer with its pre-tokenizer set back to the Sequence. Where transformers' GGUF
tokenizer differs, the case also has "ids_transformers_gguf" (fttrain's tokenizer.json loading of a
plain ByteLevel pre-tokenizer is checked against those).
"""

import argparse
import csv
import json
import os
import random
import sys
import tempfile

import tokenizers
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, processors
from transformers import AutoTokenizer

SEED = 20261207
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"

HAND_WRITTEN = [
    "Hello world, 你好! 123 tokens.",
    "",
    " ",
    "   ",
    "\n",
    "\n\n\n",
    " \n ",
    "\t",
    "Hello",
    " Hello",
    "  Hello",
    "Hello  ",
    "Hello   world",
    "The quick brown fox jumps over the lazy dog.",
    "It's a dog's life; they'll say we'd've done it. IT'S LOUD. You'RE 'Ll 'S",
    "'s 't 're 've 'm 'll 'd 'S 'T 'RE",
    "don't won't shan't y'all rock'n'roll",
    "''''s",
    "Numbers: 0 7 42 1234567890 3.14159 -273.15 1e-9 0x1F 1,000,000",
    "a  1",
    "a   12  3",
    "x1y22z333",
    "Room 101, floor 23rd, 2024-12-07T08:00:00Z",
    "١٢٣ ४५६ ⅫⅣ ½ ² ³ ①②",
    "def add(a, b):\n\treturn a + b\n\n\nclass Foo:\n    def __init__(self):\n        self.x = [1, 2, 3]\n",
    "if (x != y && z >= 0) { printf(\"%d\\n\", x); }   // trailing spaces   ",
    "for i in range(10):\n\t\tprint(i)  \n\t\n",
    "    indented\n        more\n\t\ttabs\n",
    "x=1;y=2;;;z==3 ...!!! ???",
    "https://example.com/path?query=1&b=two#frag",
    "email: someone@example.org, phone +1 (555) 010-9999",
    "我爱自然语言处理。",
    "这个手机的屏幕很好，电池也很耐用，就是价格有点贵。",
    "今天天气很好，我们去公园散步吧！",
    "质量不错，物流很快，下次还会再来购买。",
    "书的内容很一般，不值这个价钱。",
    "中文English混合mixed文本text 123个",
    "日本語のテキストも少し。カタカナとひらがな。",
    "한국어 문장도 있습니다.",
    "Привет, мир! Как дела?",
    "Γειά σου Κόσμε",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "😀 😃 😄 😁",
    "👍🏽 👋🏿 🧑🏻‍💻",
    "👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, ❤️ heart",
    "I love it!!! 😍😍😍",
    "café naïve résumé coöperate",
    "cafe\u0301 nai\u0308ve e\u0301\u0301\u0301",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319a\u0360\u035d\u0344lgo",
    "\u00a0non-breaking\u00a0space\u2003em space\u3000ideographic",
    "zero\u200bwidth\u200cjoiner\u200dtest\ufeffbom",
    "line\u2028separator\u2029paragraph\u0085next",
    "\r\nwindows\r\nlines\r\n",
    "\u00ad soft hyphen, \u2011 nb hyphen, \u2014 em dash, \u2026 ellipsis",
    "«quotes» “curly” ‘single’ „low“",
    "math: ∑ x² ≤ ∞, ∀ε>0 ∃δ",
    "\U0001d400\U0001d401 \U0001f600\U00010348 \U0010fffd",
    "\U00020000\U0002a6d6 rare ideographs",
    "\ue000 private use \U000f0000",
    "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|><|im_end|><|endoftext|>",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n",
    "text before<|endoftext|>text after",
    "<|im_start <|im_end |> <|im_start|",
    "<repo_name>fttrain<file_sep>main.swift<filename>x.py<gh_stars>10",
    " <|im_end|> spaced <|im_end|> ",
    "<|im_start|>",
    "a" * 200,
    "ab" * 150,
    " " * 40 + "x",
    "\n" * 20,
    "Supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
    "!!!???...,,,;;;:::",
    "~`@#$%^&*()_+-={}[]|\\:\";'<>?,./",
]


FUZZ_PIECES = [" ", "  ", "   ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2003", "\u200d", "\u0301", "'", "'s", "'S",
               "'ll", "'re", "'ve", "'d", "'m", "'t", "s", "ll", "a", "Z", "the", " the", "ing", "1", "23", "456", "\u0663",
               "\u00bd", "é", "你", "好", "の", "ж", "😀", "🏽", "👍", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im",
               "|>", "!", "?!", ".", ",", "...", "-", "_", "/", "\\", "(", ")", "{", "}", "#", "@", "$", "\u00ff", "\x00",
               "\x7f", "\u0085", "\ufffd", "\U0001d400", "\U0010ffff", "\ue000"]


def fuzz_texts(rng, n):
    return ["".join(rng.choice(FUZZ_PIECES) for _ in range(rng.randint(1, 14))) for _ in range(n)]


def rotten_tomatoes_lines(path, n, rng):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = [r["text"] for r in rows]
    return rng.sample(texts, n), texts


def fnv1a_ids(encodings):
    """FNV-1a 64 over every id (4 bytes little-endian) of every text, 0xFFFFFFFF after each text."""
    h = 0xCBF29CE484222325
    for ids in encodings:
        for v in list(ids) + [0xFFFFFFFF]:
            for k in range(4):
                h ^= (v >> (8 * k)) & 0xFF
                h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def original_pipeline(tok: Tokenizer) -> Tokenizer:
    """The GGUF-derived tokenizer with SmolLM2's own pre-tokenizer put back."""
    t = Tokenizer.from_str(tok.to_str())
    t.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True),
         pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    return t


def smollm2_cases(gguf_dir, texts):
    hf = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=GGUF_NAME)
    gguf_backend = hf.backend_tokenizer
    orig = original_pipeline(gguf_backend)
    cases = []
    differ = 0
    for text in texts:
        ids = orig.encode(text).ids
        case = {"text": text, "ids": ids}
        hf_ids = hf(text)["input_ids"]
        if hf_ids != ids:
            case["ids_transformers_gguf"] = hf_ids
            differ += 1
        case["decode"] = hf.decode(ids, skip_special_tokens=False)
        case["decode_skip_special"] = hf.decode(ids, skip_special_tokens=True)
        cases.append(case)
    # decoding of ids that split a character's bytes (invalid UTF-8 → U+FFFD as HF does)
    partial = []
    for text in ["👨‍👩‍👧‍👦", "你好世界", "😀x", "é"]:
        ids = orig.encode(text).ids
        for cut in range(1, len(ids) + 1):
            sub = ids[:cut]
            partial.append({"ids": sub, "decode": hf.decode(sub)})
        if len(ids) > 1:
            partial.append({"ids": ids[1:], "decode": hf.decode(ids[1:])})
    conversations = [
        [{"role": "user", "content": "Hello!"}],
        [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}],
        [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4."},
         {"role": "user", "content": "And 3+3?"}],
        [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Review: great film"},
         {"role": "assistant", "content": "positive"}, {"role": "user", "content": "多谢！\n\n  spaces  "}],
        [{"role": "assistant", "content": "I start."}, {"role": "user", "content": ""}],
        [{"role": "user", "content": "a"}, {"role": "system", "content": "late system"}],
    ]
    chats = []
    for messages in conversations:
        for gen in (False, True):
            chats.append({"messages": messages, "add_generation_prompt": gen,
                          "text": hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)})
    # the plain ChatML template (no default system message), rendered by transformers' jinja
    chatml = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
              " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
              "{% endif %}")
    plain = []
    for messages in conversations[:3]:
        for gen in (False, True):
            plain.append({"messages": messages, "add_generation_prompt": gen,
                          "text": hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen,
                                                         chat_template=chatml)})
    meta = {
        "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
        "source": f"{GGUF_NAME} via AutoTokenizer(gguf_file=...), pre-tokenizer Digits+ByteLevel",
        "cases_where_transformers_gguf_differs": differ,
        "chat_template": hf.chat_template,
        "chatml_template": chatml,
        "vocab_size": len(hf),
    }
    return {"meta": meta, "cases": cases, "partial_decodes": partial, "chats": chats, "chatml_chats": plain}, hf, orig


def train_tiny(corpus_texts, out_dir):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, min_frequency=2, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tok.train_from_iterator(corpus_texts, trainer=trainer)
    tok.add_tokens([tokenizers.AddedToken("fttrain", special=False, normalized=False)])
    # whitespace-absorbing added tokens (RoBERTa's <mask> style)
    tok.add_special_tokens([tokenizers.AddedToken("<mask>", lstrip=True, special=True, normalized=False),
                            tokenizers.AddedToken("<sep>", rstrip=True, special=True, normalized=False)])
    # the BOS before every text, as a Llama-style post-processor puts it (add_bos_token)
    tok.post_processor = processors.TemplateProcessing(
        single="<|endoftext|> $A", pair="<|endoftext|> $A <|endoftext|> $B", special_tokens=[("<|endoftext|>", 0)])
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    # merges in the older "a b" string form, to test both forms (the saved file uses pairs)
    with open(os.path.join(out_dir, "tokenizer.json"), encoding="utf-8") as f:
        j = json.load(f)
    j["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in j["model"]["merges"]]
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=False, indent=1)
    config = {
        "add_bos_token": True, "bos_token": "<|endoftext|>", "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>", "unk_token": None, "model_max_length": 512,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
                          "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
                          "{{ '<|im_start|>assistant\n' }}{% endif %}"),
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=1)
    return Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))


def unicode_classes():
    """Code point classes as HF's regex (onig) and Digits (Rust is_numeric) see them, as ranges."""
    bl = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    digits = pre_tokenizers.Digits(individual_digits=True)
    letter, number, space, numeric = [], [], [], []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if len(bl.pre_tokenize_str("a" + c)) == 1:  # continues a letter run
            letter.append(cp)
        elif len(bl.pre_tokenize_str("1" + c)) == 1:  # continues a number run
            number.append(cp)
        elif len(bl.pre_tokenize_str("!" + c)) == 2:  # does not continue a run of "other" characters
            space.append(cp)
        if len(digits.pre_tokenize_str("a" + c + "a")) == 3:
            numeric.append(cp)

    def ranges(cps):
        out = []
        for cp in cps:
            if out and out[-1][1] + 1 == cp:
                out[-1][1] = cp
            else:
                out.append([cp, cp])
        return out

    return {"letter": ranges(letter), "number": ranges(number), "whitespace": ranges(space),
            "digits_numeric": ranges(numeric)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf_dir")
    ap.add_argument("rotten_tomatoes_csv")
    ap.add_argument("out_dir")
    ap.add_argument("--check-written")
    ap.add_argument("--skip-unicode", action="store_true")
    args = ap.parse_args()
    rng = random.Random(SEED)
    rt_sample, rt_all = rotten_tomatoes_lines(args.rotten_tomatoes_csv, 120, rng)
    texts = HAND_WRITTEN + rt_sample + fuzz_texts(rng, 300)

    if args.check_written:
        ref = original_pipeline(AutoTokenizer.from_pretrained(args.gguf_dir, gguf_file=GGUF_NAME).backend_tokenizer)
        written = AutoTokenizer.from_pretrained(args.check_written)
        bad = 0
        for text in texts + rt_all[:2000]:
            if written(text)["input_ids"] != ref.encode(text).ids:
                bad += 1
                print("differs:", repr(text[:80]), file=sys.stderr)
        msgs = [{"role": "user", "content": "Hi"}]
        ok_chat = written.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        print(f"checked {len(texts) + 2000} texts: {bad} differ; chat: {ok_chat!r}")
        sys.exit(1 if bad else 0)

    os.makedirs(args.out_dir, exist_ok=True)
    data, hf, orig = smollm2_cases(args.gguf_dir, texts)
    all_ids = [e.ids for e in orig.encode_batch(rt_all)]
    data["rotten_tomatoes"] = {"texts": len(rt_all), "tokens": sum(map(len, all_ids)),
                               "ids_fnv1a64": f"{fnv1a_ids(all_ids):016x}"}
    with open(os.path.join(args.out_dir, "smollm2_cases.json"), "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=0)

    tiny_corpus = rng.sample(rt_all, 60) + HAND_WRITTEN[30:40]
    tiny = train_tiny(tiny_corpus, os.path.join(args.out_dir, "tiny"))
    tiny_hf = AutoTokenizer.from_pretrained(os.path.join(args.out_dir, "tiny"))
    tiny_cases = []
    strip_texts = ["a <mask> b", "a   <mask>   b", "<mask>", "  <mask>", "x<sep>  y", "x <sep>\n\ny <sep>",
                   "fttrain <mask><sep> <mask>  <sep>  fttrain", "\t<mask>\t<sep>\t", "<sep> <mask>", "a<sep>   <mask>b"]
    for text in texts[:90] + rt_sample[:10] + texts[-100:] + strip_texts:
        ids = tiny_hf(text)["input_ids"]
        tiny_cases.append({"text": text, "ids": ids, "decode": tiny_hf.decode(ids, skip_special_tokens=False),
                           "decode_skip_special": tiny_hf.decode(ids, skip_special_tokens=True)})
    with open(os.path.join(args.out_dir, "tiny_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"vocab_size": tiny.get_vocab_size(), "cases": tiny_cases}, f, ensure_ascii=False, indent=0)

    if not args.skip_unicode:
        with open(os.path.join(args.out_dir, "unicode_classes.json"), "w", encoding="utf-8") as f:
            json.dump(unicode_classes(), f)
    print(f"{len(data['cases'])} SmolLM2 cases ({data['meta']['cases_where_transformers_gguf_differs']} differ under "
          f"transformers' GGUF pre-tokenizer), {len(tiny_cases)} tiny cases, tiny vocab {tiny.get_vocab_size()}")


if __name__ == "__main__":
    main()
