#!/usr/bin/env python3
"""Reference values of annotator agreement for `fttrain data agreement` (AgreementReferenceTests).

Cases are generated with a fixed seed (nominal and ordinal labels, two to five annotators, with and
without missing ratings); expected values come from the reference libraries, not re-derived:
  - Cohen's kappa: sklearn.metrics.cohen_kappa_score (plain, linear, quadratic; labels in the
    order fttrain uses) and statsmodels.stats.inter_rater.cohens_kappa (checked equal to sklearn);
  - Fleiss' kappa: statsmodels.stats.inter_rater.fleiss_kappa over aggregate_raters of the items
    every annotator rated;
  - Krippendorff's alpha: krippendorff.alpha(level_of_measurement="nominal"), NaN = missing;
  - per label: the same statistics on one-vs-rest binary ratings;
  - majority: the most frequent label, None on a tie.
Needs numpy, scikit-learn, statsmodels, krippendorff (a throw-away venv:
  python3 -m venv /tmp/agree-venv && /tmp/agree-venv/bin/pip install statsmodels scikit-learn krippendorff
  /tmp/agree-venv/bin/python scripts/reference/agreement_reference.py)
Writes Tests/FTTrainTests/Fixtures/data_tools/agreement_reference.json.
"""
import json
import math
import os
from collections import Counter

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../Tests/FTTrainTests/Fixtures/data_tools/agreement_reference.json")
rng = np.random.default_rng(18)


def sorted_labels(values):
    try:
        return sorted(values, key=lambda v: (float(v), v))
    except ValueError:
        return sorted(values)


def make_case(name, labels, annotators, items, agreement, missing):
    truth = rng.integers(0, len(labels), size=items)
    ratings = []
    for t in truth:
        row = []
        for _ in range(annotators):
            if rng.random() < missing:
                row.append(None)
            elif rng.random() < agreement:
                row.append(labels[t])
            else:
                # Disagreements land near the truth for ordinal labels.
                off = int(rng.integers(-1, 2)) if rng.random() < 0.7 else int(rng.integers(0, len(labels)))
                row.append(labels[min(max(t + off, 0), len(labels) - 1)])
        ratings.append(row)
    return {"name": name, "annotators": [f"ann{i + 1}" for i in range(annotators)], "ratings": ratings}


def nan_none(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def expected(case):
    ratings = case["ratings"]
    labels = sorted_labels({v for row in ratings for v in row if v is not None})
    code = {l: i for i, l in enumerate(labels)}
    coded = np.array([[np.nan if v is None else code[v] for v in row] for row in ratings], dtype=float)
    n_ann = coded.shape[1]
    complete = coded[~np.isnan(coded).any(axis=1)].astype(int)

    def fleiss(matrix, k):
        if len(matrix) == 0:
            return None
        table, _ = aggregate_raters(matrix, n_cat=k)
        return nan_none(fleiss_kappa(table, method="fleiss"))

    def alpha(matrix):
        return nan_none(krippendorff.alpha(reliability_data=matrix.T, level_of_measurement="nominal"))

    pairs = []
    for i in range(n_ann):
        for j in range(i + 1, n_ann):
            both = ~np.isnan(coded[:, i]) & ~np.isnan(coded[:, j])
            a, b = coded[both, i].astype(int), coded[both, j].astype(int)
            ks = list(range(len(labels)))
            plain = cohen_kappa_score(a, b, labels=ks)
            table = np.zeros((len(labels), len(labels)))
            for x, y in zip(a, b):
                table[x, y] += 1
            assert abs(cohens_kappa(table).kappa - plain) < 1e-12, (case["name"], "statsmodels vs sklearn")
            confusion = table.astype(int).tolist()
            pairs.append({
                "annotators": [case["annotators"][i], case["annotators"][j]], "items": int(both.sum()),
                "cohen_kappa": nan_none(plain),
                "linear": nan_none(cohen_kappa_score(a, b, labels=ks, weights="linear")),
                "quadratic": nan_none(cohen_kappa_score(a, b, labels=ks, weights="quadratic")),
                "confusion": confusion,
            })
    per_label = []
    for c, label in enumerate(labels):
        binary = np.where(np.isnan(coded), np.nan, (coded == c).astype(float))
        bin_complete = binary[~np.isnan(binary).any(axis=1)].astype(int)
        entry = {"label": label, "fleiss_kappa": fleiss(bin_complete, 2), "krippendorff_alpha": alpha(binary)}
        if n_ann == 2:
            both = ~np.isnan(binary).any(axis=1)
            entry["cohen_kappa"] = nan_none(cohen_kappa_score(binary[both, 0].astype(int), binary[both, 1].astype(int), labels=[0, 1]))
        per_label.append(entry)
    majority = []
    for row in ratings:
        counts = Counter(v for v in row if v is not None).most_common()
        majority.append(counts[0][0] if counts and (len(counts) == 1 or counts[0][1] > counts[1][1]) else None)
    return {
        "labels": labels, "complete_items": int(len(complete)),
        "fleiss_kappa": fleiss(complete, len(labels)), "krippendorff_alpha": alpha(coded),
        "pairs": pairs, "per_label": per_label, "majority": majority,
    }


def main():
    cases = [
        make_case("two_nominal", ["neg", "neu", "pos"], 2, 40, 0.75, 0.0),
        make_case("two_ordinal_missing", ["1", "2", "3", "4", "5"], 2, 50, 0.6, 0.08),
        make_case("three_nominal_missing", ["negative", "neutral", "positive"], 3, 60, 0.7, 0.1),
        make_case("five_four_labels", ["A", "B", "C", "D"], 5, 30, 0.8, 0.0),
        make_case("four_ordinal_missing", ["0", "1", "2", "10"], 4, 45, 0.55, 0.15),
    ]
    # A small hand-written case: Fleiss' classic shape with ties for the majority column.
    cases.append({"name": "hand_ties", "annotators": ["a", "b"], "ratings": [
        ["x", "x"], ["x", "y"], ["y", "y"], ["y", None], [None, None], ["z", "x"], ["z", "z"], ["x", "x"]]})
    for case in cases:
        case["expected"] = expected(case)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"source": "scripts/reference/agreement_reference.py", "cases": cases}, f, indent=1)
    print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
