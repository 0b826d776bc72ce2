#!/usr/bin/env python3
"""The token ids scripts/anchors/torch_sft.py trains on, for a few labelled Rotten Tomatoes rows, so
Tests/FTTrainTests/SFTTokenParityTests.swift can check that examples/smollm2_rotten_tomatoes_sft.yaml
gives fttrain the very same ids and labels (chat rendering, the answer's turn end, masking).

Usage:
    /tmp/refvenv/bin/python scripts/reference/make_smollm2_sft_ids_reference.py \
        .cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf \
        Tests/FTTrainTests/Fixtures/causal_lm/smollm2_sft_ids.json

Per row, as torch_sft.py builds its examples (the template and rendering copied from it): the text,
the label, input_ids = prompt ids (the user turn rendered with add_generation_prompt=True, tokenized
without special tokens) + answer ids (label + the template's turn end), labels = -100 over the
prompt + the answer ids. Only the tokenizer is read (no weights). Deterministic.
"""
import csv, io, json, os, sys

from transformers import AutoTokenizer

TEMPLATE = "Review: {text}\nIs this review fresh, rotten or plot? Answer with one word."
ROWS = [
    ("A joyless slog that never finds its footing.", "rotten"),
    ("Funny, warm and surprisingly wise -- the year's best \"comedy\".", "fresh"),
    ("A retired detective travels to Kyoto to find his estranged daughter, café owner Aiko.", "plot"),
    ("  Leading spaces,   runs of spaces, and an emoji 🎬 at the end ", "fresh"),
]


def main():
    path, out = sys.argv[1], sys.argv[2]
    directory, name = os.path.dirname(path) or ".", os.path.basename(path)
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    probe = tokenizer.apply_chat_template(
        [{"role": "user", "content": "u"}, {"role": "assistant", "content": "\x00"}], tokenize=False)
    turn_end = probe.split("\x00", 1)[1]
    cases = []
    for text, label in ROWS:
        messages = [{"role": "user", "content": TEMPLATE.format(text=text)}]
        rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        prompt = tokenizer(rendered, add_special_tokens=False).input_ids
        answer = tokenizer(label + turn_end, add_special_tokens=False).input_ids
        cases.append({"text": text, "label": label, "input_ids": prompt + answer, "labels": [-100] * len(prompt) + answer})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["text", "label"])
    writer.writerows(ROWS)
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"turn_end": turn_end, "csv": buffer.getvalue(), "cases": cases}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
