#!/usr/bin/env python3
"""Reference files for fttrain's vocabulary extension (`add_tokens`, issue 22; design.md §3).

1. Tokenizer (JSON, --tokenizer OUT): all-MiniLM-L6-v2's tokenizer (uncased BERT WordPiece, 244 CJK
   characters) with `tokenizer.add_tokens(ADDED)` as transformers users call it, then for ~40
   Chinese + English texts the ids and `offset_mapping` of `tokenizer(text)` (with [CLS]/[SEP]),
   and for a few word lists `tokenizer(words, is_split_into_words=True)`'s ids and `word_ids()`
   (token classification). ADDED mixes CJK characters and words the vocabulary lacks, mixed-case
   and accented English (matched lower-cased / accent-stripped, since non-special added tokens are
   normalized), a two-word token, a token with punctuation, and "hello", which the vocabulary has
   (it keeps its id and is matched whole from then on).

2. Model (safetensors, --model OUT): a tiny random `BertForTokenClassification` (vocab 97, hidden
   32, 2 layers, 4 heads, intermediate 37, 16 positions, 5 labels, dropout 0, eager attention)
   whose parameters are stored as they were BEFORE `resize_token_embeddings(100)`; then resized
   (mean_resizing, transformers' default): `resized.word_embeddings` (100, 32) is the resized
   matrix (its last 3 rows are transformers' draws), `reference.mean_row` (32) the mean of the old
   rows; inputs using the new ids 97..99; logits, loss and every gradient of the resized model,
   in the layout of make_token_classification_reference.py (`grad.bert.embeddings.word_embeddings.weight`
   is (100, 32)).

Usage:
  /tmp/refvenv/bin/python scripts/reference/make_added_tokens_reference.py \
      --tokenizer Tests/FTModelTests/Fixtures/added_tokens_tokenizer.json \
      --model Tests/FTModelTests/Fixtures/added_tokens_model_reference.safetensors
(the tokenizer part reads .cache/models/all-MiniLM-L6-v2, or FTTRAIN_MODEL_DIR).
"""
import json
import os
import sys

FORMAT_VERSION = "1"
ADDED = ["新词", "鑫", "龘", "北京大学", "张三", "人工智能", "Fttrain", "café", "hello", "new york", "[foo]", "e-mail", "旅游业"]
TEXTS = [
    "我在北京大学学习新词",
    "张三在北京工作",
    "鑫鑫 龘 新 词 新词",
    "人工智能是未来",
    "人工智 能",
    "FTTRAIN and fttrain xfttrainy",
    "Fttrain fine-tunes BERT on CPUs.",
    "Café cafe CAFÉ Cafe\u0301",
    "hello world xhellox HELLO",
    "New York, new\tyork and NEW  YORK",
    "a[foo]b [FOO] [ foo ]",
    "send an e-mail or E-MAIL, not email",
    "北京大学的张三喜欢人工智能和旅游业。",
    "他说：“旅游业很重要！”",
    "今天天气很好，我们去北京大学。",
    "鑫龘鑫",
    "[CLS] 新词 [SEP] hello",
    "",
    "   ",
    "新词新词新词",
    "北京大学北京大学",
    "张三张三，李四",
    "résumé of the café owner in New York",
    "Ünïcödé wörds and 新词",
    "emoji 😀 新词 😀",
    "long wordpieceswithoutspaces新词hello",
    "unaffable 新词 unaffable",
    "数字 2026 年 12 月 人工智能",
    "中文English混合新词text",
    "Zhang San (张三) works at Peking University (北京大学).",
    "A café in 北京",
    "new york新词",
    "hello新词world",
    "multiple   spaces\nnew lines\t新词",
    "控制字符\u200b新\u200b词",
    "全角字符ＡＢＣ新词",
    "旅游业旅游",
    "[foo][foo]",
    "e-mail-e-mail",
    "的的的新词的",
]
WORDS = [
    ["张三", "在", "北京大学", "工作"],
    ["张", "三", "在", "北", "京", "大", "学", "工", "作"],
    ["Fttrain", "is", "new", "york", "新词们"],
    ["hello", "xhellox", "café", "e-mail"],
    ["鑫", "龘", "人工智能", "。"],
]


def tokenizer_fixture(out_path: str) -> None:
    from transformers import AutoTokenizer
    import tokenizers
    import transformers

    model_dir = os.environ.get("FTTRAIN_MODEL_DIR", ".cache/models/all-MiniLM-L6-v2")
    tok = AutoTokenizer.from_pretrained(model_dir)
    base = len(tok)
    tok.add_tokens(ADDED)
    texts = []
    for text in TEXTS:
        e = tok(text, return_offsets_mapping=True)
        texts.append({"text": text, "ids": e["input_ids"], "offsets": [list(o) for o in e["offset_mapping"]]})
    words = []
    for ws in WORDS:
        e = tok(ws, is_split_into_words=True)
        words.append({"words": ws, "ids": e["input_ids"], "word_ids": e.word_ids()})
    fixture = {
        "format_version": FORMAT_VERSION,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "base_size": base,
        "size": len(tok),
        "added": ADDED,
        "added_vocab": {k: v for k, v in tok.get_added_vocab().items() if not k.startswith("[") or k == "[foo]"},
        "texts": texts,
        "words": words,
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
    print(f"wrote {out_path}: {len(texts)} texts, {len(words)} word lists, {len(tok) - base} new ids")


def model_fixture(out_path: str) -> None:
    import torch
    import transformers
    from safetensors.torch import save_file
    from transformers import BertConfig, BertForTokenClassification

    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    torch.manual_seed(4331)
    config = BertConfig(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                        max_position_embeddings=16, type_vocab_size=2, hidden_act="gelu", hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0, layer_norm_eps=1e-12, classifier_dropout=0.0,
                        architectures=["BertForTokenClassification"], id2label=dict(enumerate(labels)),
                        label2id={l: i for i, l in enumerate(labels)})
    config._attn_implementation = "eager"
    model = BertForTokenClassification(config).float()
    with torch.no_grad():  # larger values than the 0.02 init, so every term shows in the gradients
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    config_json = config.to_json_string(use_diff=False)
    tensors = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items() if "position_ids" not in k}
    old = model.bert.embeddings.word_embeddings.weight.detach().clone()
    model.resize_token_embeddings(100)  # mean_resizing=True
    resized = model.bert.embeddings.word_embeddings.weight.detach().clone()
    assert torch.equal(resized[:97], old)
    tensors["resized.word_embeddings"] = resized.contiguous()
    tensors["reference.mean_row"] = old.mean(dim=0).contiguous()

    B, T = 2, 9
    ids = torch.tensor([[2, 97, 15, 98, 99, 40, 97, 3, 0], [2, 99, 98, 60, 97, 3, 0, 0, 0]])
    mask = (ids != 0).long()
    mask[0, 8] = 0
    types = torch.zeros_like(ids)
    labels_t = torch.tensor([[-100, 1, 2, 0, 3, -100, 4, -100, -100], [-100, 1, 0, 3, 4, -100, -100, -100, -100]])
    model.train()
    out = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels_t)
    out.loss.backward()
    tensors["input.input_ids"] = ids
    tensors["input.token_type_ids"] = types
    tensors["input.attention_mask"] = mask
    tensors["input.labels"] = labels_t
    tensors["output.logits"] = out.logits.detach().contiguous()
    tensors["output.loss"] = out.loss.detach().reshape(())
    for name, p in model.named_parameters():
        tensors["grad." + name] = p.grad.detach().clone().contiguous()
    metadata = {"format_version": FORMAT_VERSION, "torch": torch.__version__, "transformers": transformers.__version__,
                "config": config_json}
    save_file(tensors, out_path, metadata=metadata)
    print(f"wrote {out_path}: loss {out.loss.item():.6f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--tokenizer" in args:
        tokenizer_fixture(args[args.index("--tokenizer") + 1])
    if "--model" in args:
        model_fixture(args[args.index("--model") + 1])
