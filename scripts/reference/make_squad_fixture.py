#!/usr/bin/env python3
"""Writes the fixtures of fttrain's extractive QA (`QuestionAnsweringFixtureTests`) into a directory
(Tests/FTTrainTests/Fixtures/qa):

  vocab.txt, tokenizer_config.json  a small uncased WordPiece vocabulary trained by `tokenizers`
                                    on the contexts below (so the test needs no model asset)
  squad_cases.json                  three parts:
    "features":    Hugging Face's fast tokenizer (BertTokenizerFast on that vocabulary) and
                   run_qa.py's prepare_train_features / prepare_validation_features on the
                   examples, per (max_seq_length, doc_stride): every window's input_ids,
                   token_type_ids, offset_mapping (null outside the context, as the validation
                   features have it), the training start/end positions and the example index
    "postprocess": utils_qa.postprocess_qa_predictions (reproduced below line for line: the
                   examples package is not importable) on seeded float32 logits of those
                   windows, for SQuAD v1 and v2 (null threshold 0 and 1.5), n_best_size and
                   max_answer_length varied: the predicted text per example, and for v2 the
                   score difference
    "metrics":     the official SQuAD v1.1 and v2.0 evaluation scripts' logic (reproduced below:
                   normalize_answer, exact match and F1 as max over the gold answers; v2's empty
                   gold for unanswerable questions, HasAns/NoAns totals), per case and in total

The `tokenizers` WordPiece trainer breaks ties in its own order, so a re-run may write another
(equally valid) vocabulary and ids: regenerate the three files together.

Usage:
  /tmp/refvenv/bin/python scripts/reference/make_squad_fixture.py Tests/FTTrainTests/Fixtures/qa
"""
import collections
import json
import os
import re
import string
import sys

import numpy as np
import tokenizers
import transformers
from tokenizers import BertWordPieceTokenizer
from transformers import BertTokenizerFast

CONTEXTS = [
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region "
    "in France. They were descended from Norse raiders and pirates from Denmark, Iceland and Norway who, "
    "under their leader Rollo, agreed to swear fealty to King Charles III of West Francia.",
    "Zürich's café owners opened 42 new cafés in 2019; the city's old town (Altstadt) is small. "
    "Fermentation-based brewing, called \"lagering\", needs cold cellars.",
    "Photosynthesis converts light energy into chemical energy. In plants it happens in the chloroplasts, "
    "which contain chlorophyll, the green pigment that absorbs red and blue light.",
    "张三在北京工作，他每天早上八点上班。",
]
EXAMPLES = [
    {"id": "q1", "question": "  Where is Normandy?", "context": 0, "answers": ["France", "in France"]},
    {"id": "q2", "question": "Who was the leader of the Norse?", "context": 0, "answers": ["Rollo"]},
    {"id": "q3", "question": "To whom did they swear fealty?", "context": 0, "answers": ["King Charles III of West Francia"]},
    {"id": "q4", "question": "How many cafés opened?", "context": 1, "answers": ["42"]},
    {"id": "q5", "question": "What needs cold cellars?", "context": 1, "answers": ["\"lagering\""]},
    {"id": "q6", "question": "Where does photosynthesis happen in plants?", "context": 2, "answers": ["in the chloroplasts"]},
    {"id": "q7", "question": "What colour is the moon?", "context": 2, "answers": []},
    {"id": "q8", "question": "张三在哪里工作？", "context": 3, "answers": ["北京"]},
    {"id": "q9", "question": "Which pigment absorbs light?", "context": 2, "answers": ["chlorophyll"]},
]
SETTINGS = [(384, 128), (40, 12), (28, 8)]


def squad_examples():
    out = []
    for e in EXAMPLES:
        context = CONTEXTS[e["context"]]
        starts = []
        for text in e["answers"]:
            starts.append(context.index(text))
        out.append({"id": e["id"], "question": e["question"], "context": context,
                    "answers": {"text": list(e["answers"]), "answer_start": starts}})
    return out


def prepare(tokenizer, examples, max_len, stride):
    """run_qa.py's prepare_train_features and prepare_validation_features (pad_on_right, no padding)."""
    questions = [e["question"].lstrip() for e in examples]
    enc = tokenizer(questions, [e["context"] for e in examples], truncation="only_second", max_length=max_len,
                    stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True, padding=False)
    features = []
    for i, offsets in enumerate(enc["offset_mapping"]):
        input_ids = enc["input_ids"][i]
        cls_index = input_ids.index(tokenizer.cls_token_id)
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
            "example": sample_index, "input_ids": input_ids, "token_type_ids": enc["token_type_ids"][i],
            "offsets": [list(o) if sequence_ids[k] == 1 else None for k, o in enumerate(offsets)],
            "start_position": start_position, "end_position": end_position,
        })
    return features


def postprocess(examples, features, all_start_logits, all_end_logits, version_2_with_negative, n_best_size,
                max_answer_length, null_score_diff_threshold, probabilities=None):
    """utils_qa.postprocess_qa_predictions (transformers/examples/pytorch/question-answering)."""
    features_per_example = collections.defaultdict(list)
    for i, feature in enumerate(features):
        features_per_example[feature["example"]].append(i)
    all_predictions, scores_diff_json = {}, {}
    for example_index, example in enumerate(examples):
        feature_indices = features_per_example[example_index]
        min_null_prediction = None
        prelim_predictions = []
        for feature_index in feature_indices:
            start_logits = all_start_logits[feature_index]
            end_logits = all_end_logits[feature_index]
            offset_mapping = features[feature_index]["offsets"]
            feature_null_score = start_logits[0] + end_logits[0]
            if min_null_prediction is None or min_null_prediction["score"] > feature_null_score:
                min_null_prediction = {"offsets": (0, 0), "score": feature_null_score,
                                       "start_logit": start_logits[0], "end_logit": end_logits[0]}
            start_indexes = np.argsort(start_logits)[-1: -n_best_size - 1: -1].tolist()
            end_indexes = np.argsort(end_logits)[-1: -n_best_size - 1: -1].tolist()
            for start_index in start_indexes:
                for end_index in end_indexes:
                    if (start_index >= len(offset_mapping) or end_index >= len(offset_mapping)
                            or offset_mapping[start_index] is None or len(offset_mapping[start_index]) < 2
                            or offset_mapping[end_index] is None or len(offset_mapping[end_index]) < 2):
                        continue
                    if end_index < start_index or end_index - start_index + 1 > max_answer_length:
                        continue
                    prelim_predictions.append({
                        "offsets": (offset_mapping[start_index][0], offset_mapping[end_index][1]),
                        "score": start_logits[start_index] + end_logits[end_index],
                        "start_logit": start_logits[start_index], "end_logit": end_logits[end_index]})
        if version_2_with_negative and min_null_prediction is not None:
            prelim_predictions.append(min_null_prediction)
            null_score = min_null_prediction["score"]
        predictions = sorted(prelim_predictions, key=lambda x: x["score"], reverse=True)[:n_best_size]
        if (version_2_with_negative and min_null_prediction is not None
                and not any(p["offsets"] == (0, 0) for p in predictions)):
            predictions.append(min_null_prediction)
        context = example["context"]
        for pred in predictions:
            offsets = pred.pop("offsets")
            pred["text"] = context[offsets[0]: offsets[1]]
        if len(predictions) == 0 or (len(predictions) == 1 and predictions[0]["text"] == ""):
            predictions.insert(0, {"text": "empty", "start_logit": 0.0, "end_logit": 0.0, "score": 0.0})
        scores = np.array([pred["score"] for pred in predictions])
        exp_scores = np.exp(scores - np.max(scores))
        probs = exp_scores / exp_scores.sum()
        if not version_2_with_negative:
            all_predictions[example["id"]] = predictions[0]["text"]
        else:
            i = 0
            while predictions[i]["text"] == "":
                i += 1
            best_non_null_pred = predictions[i]
            score_diff = null_score - best_non_null_pred["start_logit"] - best_non_null_pred["end_logit"]
            scores_diff_json[example["id"]] = float(score_diff)
            all_predictions[example["id"]] = "" if score_diff > null_score_diff_threshold else best_non_null_pred["text"]
        if probabilities is not None:  # the probability of the answer given (check_qa_export.py)
            answer = all_predictions[example["id"]]
            probabilities[example["id"]] = float(next(p for p, pred in zip(probs, predictions) if pred["text"] == answer))
    return all_predictions, scores_diff_json


# The official evaluation scripts (SQuAD v1.1 evaluate-v1.1.py, v2.0 evaluate-v2.0.py).
def normalize_answer(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def f1_v1(prediction, ground_truth):
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = collections.Counter(prediction_tokens) & collections.Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def em_v1(prediction, ground_truth):
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def get_tokens(s):
    return normalize_answer(s).split() if s else []


def compute_exact(a_gold, a_pred):
    return int(normalize_answer(a_gold) == normalize_answer(a_pred))


def compute_f1(a_gold, a_pred):
    gold_toks, pred_toks = get_tokens(a_gold), get_tokens(a_pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


METRIC_CASES = [
    ("The Eiffel Tower", ["the eiffel tower", "Eiffel Tower in Paris"]),
    ("in France.", ["France", "in France"]),
    ("an apple a day", ["apple day"]),
    ("Rollo's men", ["Rollo"]),
    ("Denmark, Iceland and Norway", ["Norway", "Denmark, Iceland, and Norway"]),
    ("1,000 km", ["1000 km", "1,000 kilometres"]),
    ("café", ["Café", "cafe"]),
    ("theatre", ["the atre"]),
    ("the the the", ["the"]),
    ("Über-Straße", ["über straße"]),
    ("北京", ["北京", "在北京"]),
    ("red and blue light", ["blue and red light"]),
    ("", ["something"]),
    ("something", ["  "]),
    ("A", ["a"]),
    ("  spaced\tout\n words ", ["spaced out words"]),
    ("x_y and x-y", ["xy and x_y"]),
    ("", []),
    ("no answer here", []),
    ("green pigment", ["the green pigment", "chlorophyll"]),
]


def metrics():
    cases = []
    for prediction, golds in METRIC_CASES:
        c = {"prediction": prediction, "answers": golds}
        if golds:
            c["v1_exact"] = max(float(em_v1(prediction, g)) for g in golds)
            c["v1_f1"] = max(float(f1_v1(prediction, g)) for g in golds)
        gold_answers = [a for a in golds if normalize_answer(a)] or [""]
        c["v2_exact"] = float(max(compute_exact(a, prediction) for a in gold_answers))
        c["v2_f1"] = float(max(compute_f1(a, prediction) for a in gold_answers))
        c["normalized"] = normalize_answer(prediction)
        cases.append(c)
    answered = [c for c in cases if c["answers"]]
    v1 = {"exact_match": 100.0 * sum(c["v1_exact"] for c in answered) / len(answered),
          "f1": 100.0 * sum(c["v1_f1"] for c in answered) / len(answered)}
    has = [c for c in cases if any(normalize_answer(a) for a in c["answers"])]
    no = [c for c in cases if not any(normalize_answer(a) for a in c["answers"])]
    total = len(cases)
    v2 = {"exact": 100.0 * sum(c["v2_exact"] for c in cases) / total, "f1": 100.0 * sum(c["v2_f1"] for c in cases) / total,
          "total": total, "HasAns_exact": 100.0 * sum(c["v2_exact"] for c in has) / len(has),
          "HasAns_f1": 100.0 * sum(c["v2_f1"] for c in has) / len(has), "HasAns_total": len(has),
          "NoAns_exact": 100.0 * sum(c["v2_exact"] for c in no) / len(no),
          "NoAns_f1": 100.0 * sum(c["v2_f1"] for c in no) / len(no), "NoAns_total": len(no)}
    return {"cases": cases, "v1": v1, "v2": v2}


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    trainer = BertWordPieceTokenizer(lowercase=True, strip_accents=None, clean_text=True, handle_chinese_chars=True)
    texts = CONTEXTS + [e["question"] for e in EXAMPLES]
    trainer.train_from_iterator(texts, vocab_size=400, min_frequency=2, limit_alphabet=150,
                                special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    trainer.save_model(out_dir)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer", "model_max_length": 512}, f, indent=2)
    tokenizer = BertTokenizerFast.from_pretrained(out_dir)
    assert tokenizer.is_fast
    examples = squad_examples()
    feature_sets = []
    for max_len, stride in SETTINGS:
        feature_sets.append({"max_seq_length": max_len, "doc_stride": stride,
                             "features": prepare(tokenizer, examples, max_len, stride)})
    rng = np.random.default_rng(22)
    post = []
    for k, setting in enumerate(feature_sets[1:], start=1):
        features = setting["features"]
        starts = [rng.standard_normal(len(f["input_ids"])).astype(np.float32) for f in features]
        ends = [rng.standard_normal(len(f["input_ids"])).astype(np.float32) for f in features]
        runs = []
        for v2, n_best, max_answer, threshold in [(False, 20, 30, 0.0), (True, 20, 30, 0.0), (True, 5, 4, 1.5), (False, 3, 2, 0.0)]:
            predictions, diffs = postprocess(examples, features, starts, ends, v2, n_best, max_answer, threshold)
            runs.append({"version_2_with_negative": v2, "n_best_size": n_best, "max_answer_length": max_answer,
                         "null_score_diff_threshold": threshold, "predictions": predictions, "score_diff": diffs})
        post.append({"features": k, "start_logits": [s.tolist() for s in starts], "end_logits": [e.tolist() for e in ends],
                     "runs": runs})
    cases = {"format_version": 1, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
             "examples": examples, "features": feature_sets, "postprocess": post, "metrics": metrics()}
    with open(os.path.join(out_dir, "squad_cases.json"), "w") as f:
        json.dump(cases, f, ensure_ascii=False, indent=None, separators=(",", ":"))
    print(f"{sum(len(s['features']) for s in feature_sets)} features, {4 * len(post)} postprocess runs, "
          f"{len(METRIC_CASES)} metric cases -> {out_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
