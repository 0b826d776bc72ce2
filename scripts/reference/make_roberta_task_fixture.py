#!/usr/bin/env python3
"""Writes Tests/FTTrainTests/Fixtures/roberta_task_cases.json: what Hugging Face's examples make of
token-classification and QA data with a byte-level BPE (RoBERTa) tokenizer, for
`RobertaTaskFixtureTests` (fttrain's `EncoderTokenizer.encodeWords`, `encodePairWindows`,
`TokenClassificationTask.encode` and `QuestionAnsweringFeatures.make` on a tokenizer.json-only
directory must give the same).

The tokenizer is the committed Tests/FTModelTests/Fixtures/roberta_tiny one (tokenizer.json +
tokenizer_config.json, no vocab.txt/merges.txt; made by make_roberta_reference.py).

  "words": run_ner.py's `tokenize_and_align_labels`: RobertaTokenizerFast loaded with
           add_prefix_space=True (run_ner's setting for RoBERTa), `is_split_into_words=True`,
           truncation to max_length; input_ids, word_ids, labels aligned to the first sub-token
           (-100 elsewhere) and, with label_all_tokens, to every sub-token (b_to_i_label).
  "qa":    run_qa.py's prepare_train_features / prepare_validation_features (pad_on_right, no
           padding) on make_squad_fixture.py's examples at three (max_seq_length, doc_stride):
           per window input_ids, sequence_ids, offset_mapping (null outside the context), start
           and end positions, example index. Roberta has no token types (all 0).

Usage:
  /tmp/refvenv/bin/python scripts/reference/make_roberta_task_fixture.py Tests/FTTrainTests/Fixtures/roberta_task_cases.json
"""
import json
import os
import sys

import tokenizers
import transformers
from transformers import RobertaTokenizerFast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_squad_fixture  # noqa: E402  (its examples and settings)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKENIZER = os.path.join(ROOT, "Tests/FTModelTests/Fixtures/roberta_tiny")

SENTENCES = [
    (["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
     ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"]),
    (["Peter", "Blackburn"], ["B-PER", "I-PER"]),
    (["张三", "在", "北京", "工作"], ["B-PER", "O", "B-LOC", "O"]),
    (["Café", "naïve", "Ångström", "moved", "to", "São", "Paulo"], ["O", "O", "B-PER", "O", "O", "B-LOC", "I-LOC"]),
    (["antidisestablishmentarianism", "is", "long", "👍🏽"], ["O", "O", "O", "O"]),
    (["The", "<mask>", "sat", ",", "then", "left", "!"], ["O", "O", "O", "O", "O", "O", "O"]),
    (["don't", "DON'T", "e-mail", "3.14"], ["O", "O", "O", "O"]),
]
MAX_LENGTHS = [None, 8, 5]


def aligned(word_ids, tags, labels, all_tokens):
    ids = {l: i for i, l in enumerate(labels)}
    b_to_i = []
    for l in labels:
        if l.startswith("B-") and l.replace("B-", "I-") in ids:
            b_to_i.append(ids[l.replace("B-", "I-")])
        else:
            b_to_i.append(ids[l])
    out, previous = [], None
    for w in word_ids:
        if w is None:
            out.append(-100)
        elif w != previous:
            out.append(ids[tags[w]])
        else:
            out.append(b_to_i[ids[tags[w]]] if all_tokens else -100)
        previous = w
    return out


def words_cases(tok):
    labels = sorted({t for _, tags in SENTENCES for t in tags})
    cases = []
    for words, tags in SENTENCES:
        for max_length in MAX_LENGTHS:
            kwargs = dict(is_split_into_words=True)
            if max_length is not None:
                kwargs.update(truncation=True, max_length=max_length)
            e = tok(words, **kwargs)
            word_ids = e.word_ids()
            cases.append({"words": words, "tags": tags, "max_length": max_length, "input_ids": e["input_ids"],
                          "word_ids": word_ids, "tokens": tok.convert_ids_to_tokens(e["input_ids"]),
                          "labels_first": aligned(word_ids, tags, labels, False),
                          "labels_all": aligned(word_ids, tags, labels, True)})
    return labels, cases


def qa_features(tok, examples, max_len, stride):
    questions = [e["question"].lstrip() for e in examples]
    enc = tok(questions, [e["context"] for e in examples], truncation="only_second", max_length=max_len,
              stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True, padding=False)
    features = []
    for i, offsets in enumerate(enc["offset_mapping"]):
        input_ids = enc["input_ids"][i]
        cls_index = input_ids.index(tok.cls_token_id)
        sequence_ids = enc.sequence_ids(i)
        sample_index = enc["overflow_to_sample_mapping"][i]
        answers = examples[sample_index]["answers"]
        if len(answers["answer_start"]) == 0:
            start_position = end_position = cls_index
        else:
            start_char = answers["answer_start"][0]
            end_char = start_char + len(answers["text"][0])
            token_start_index = 0
            while sequence_ids[token_start_index] != 1:
                token_start_index += 1
            token_end_index = len(input_ids) - 1
            while sequence_ids[token_end_index] != 1:
                token_end_index -= 1
            if not (offsets[token_start_index][0] <= start_char and offsets[token_end_index][1] >= end_char):
                start_position = end_position = cls_index
            else:
                while token_start_index < len(offsets) and offsets[token_start_index][0] <= start_char:
                    token_start_index += 1
                start_position = token_start_index - 1
                while offsets[token_end_index][1] >= end_char:
                    token_end_index -= 1
                end_position = token_end_index + 1
        features.append({
            "example": sample_index, "input_ids": input_ids, "sequence_ids": sequence_ids,
            "offsets": [list(o) if sequence_ids[k] == 1 else None for k, o in enumerate(offsets)],
            "all_offsets": [list(o) for o in offsets],
            "start_position": start_position, "end_position": end_position,
        })
    return features


def main(out_path):
    words_tok = RobertaTokenizerFast.from_pretrained(TOKENIZER, add_prefix_space=True)
    labels, words = words_cases(words_tok)
    tok = RobertaTokenizerFast.from_pretrained(TOKENIZER)
    assert not tok.add_prefix_space
    examples = make_squad_fixture.squad_examples()
    qa = [{"max_seq_length": m, "doc_stride": s, "features": qa_features(tok, examples, m, s)}
          for m, s in [(384, 128), (64, 16), (48, 8)]]
    flat = [{"id": e["id"], "question": e["question"], "context": e["context"], "answers": e["answers"]} for e in examples]
    out = {"format_version": 1, "tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
           "labels": labels, "words": words, "examples": flat, "qa": qa}
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(out_path, os.path.getsize(out_path), "bytes;", len(words), "word cases;",
          sum(len(s["features"]) for s in qa), "QA windows")


if __name__ == "__main__":
    main(sys.argv[1])
