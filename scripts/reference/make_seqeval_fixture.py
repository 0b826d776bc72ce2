#!/usr/bin/env python3
"""Writes Tests/FTTrainTests/Fixtures/metrics/seqeval_cases.json: entity-level metrics computed by
seqeval (default mode) on hand-made and seeded random tag sequences, BIO and BIOES, for
`EntityMetricsFixtureTests`.

Each case: `truth`, `predicted` (lists of sentences of tags); `entities_true` (get_entities over
the joined sentences, [type, start, end]); `types`; per type precision/recall/f1/support; micro,
macro and weighted averages [p, r, f1]; token accuracy.

Usage: /tmp/refvenv/bin/pip install seqeval
       /tmp/refvenv/bin/python scripts/reference/make_seqeval_fixture.py Tests/FTTrainTests/Fixtures/metrics/seqeval_cases.json
"""
import json
import random
import sys
import warnings

import seqeval
from seqeval.metrics import accuracy_score, classification_report
from seqeval.metrics.sequence_labeling import get_entities

warnings.filterwarnings("ignore")


def case(name, truth, predicted):
    report = classification_report(truth, predicted, output_dict=True, digits=4)
    types = sorted(k for k in report if k not in ("micro avg", "macro avg", "weighted avg"))
    avg = lambda k: [report[k]["precision"], report[k]["recall"], report[k]["f1-score"]]
    return {
        "name": name, "truth": truth, "predicted": predicted,
        "entities_true": [list(e) for e in get_entities(truth)],
        "entities_predicted": [list(e) for e in get_entities(predicted)],
        "types": types,
        "precision": [report[t]["precision"] for t in types],
        "recall": [report[t]["recall"] for t in types],
        "f1": [report[t]["f1-score"] for t in types],
        "support": [int(report[t]["support"]) for t in types],
        "micro": avg("micro avg"), "macro": avg("macro avg"), "weighted": avg("weighted avg"),
        "accuracy": accuracy_score(truth, predicted),
    }


def random_tags(rng, scheme, types, n):
    prefixes = {"BIO": "BI", "BIOES": "BIES"}[scheme]
    return [rng.choice(["O", "O"] + [p + "-" + t for p in prefixes for t in types]) for _ in range(n)]


def main(out):
    cases = [
        case("guide example", [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]],
             [["B-PER", "I-PER", "O", "B-LOC", "O", "O"]]),
        case("I without B starts an entity", [["I-PER", "I-PER", "O", "B-ORG"]], [["B-PER", "I-PER", "O", "I-ORG"]]),
        case("type change inside", [["B-PER", "I-LOC", "O"], ["B-ORG"]], [["B-PER", "I-PER", "O"], ["O"]]),
        case("entity at sentence end", [["O", "B-LOC"], ["I-LOC", "O"]], [["O", "B-LOC"], ["B-LOC", "O"]]),
        case("BIOES", [["S-PER", "B-LOC", "I-LOC", "E-LOC", "O", "S-ORG"]],
             [["S-PER", "B-LOC", "E-LOC", "E-LOC", "O", "B-ORG"]]),
        case("no predictions", [["B-PER", "O"]], [["O", "O"]]),
        case("only false positives", [["O", "O"]], [["B-MISC", "O"]]),
    ]
    rng = random.Random(22)
    for scheme in ("BIO", "BIOES"):
        for k in range(4):
            types = ["PER", "LOC", "ORG"][: 1 + k % 3]
            lengths = [rng.randint(1, 12) for _ in range(rng.randint(1, 6))]
            truth = [random_tags(rng, scheme, types, n) for n in lengths]
            predicted = [[t if rng.random() < 0.6 else rng.choice(random_tags(rng, scheme, types, 3)) for t in s] for s in truth]
            cases.append(case(f"random {scheme} {k}", truth, predicted))
    with open(out, "w") as f:
        json.dump({"versions": {"seqeval": getattr(seqeval, "__version__", "1.2.2")}, "cases": cases}, f, indent=1)
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
