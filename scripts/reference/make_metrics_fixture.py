#!/usr/bin/env python3
"""Generate the classification-metrics fixture used by Tests/FTTrainTests/MetricsFixtureTests.swift.

Usage:
    /tmp/refvenv/bin/python scripts/reference/make_metrics_fixture.py \
        Tests/FTTrainTests/Fixtures/metrics/metrics_cases.json

Requirements: numpy and scikit-learn (the committed fixture was made with the versions recorded in
its "versions" field).  Deterministic: a fixed seed, no clock, so re-running it gives the same file.

Every case has K classes named by "class_names", integer "labels" and "predictions" in 0..<K and a
(N, K) "probabilities" matrix.  The probabilities are float32 values (what the Swift model produces)
widened exactly to float64 before sklearn sees them and before JSON stores them, so the Swift test,
which reads them back into Float, ranks exactly the same numbers (ties included) as sklearn did.

Expected values, all from sklearn with labels=range(K) (so every class has a row even when it is
absent from both labels and predictions) and zero_division=0:
  * "accuracy"                    accuracy_score
  * "precision"/"recall"/"f1"/"support"   precision_recall_fscore_support(average=None)
  * "macro", "weighted"           precision_recall_fscore_support(average=...) -> [p, r, f1]
  * "confusion_matrix"            confusion_matrix (rows true, columns predicted)
  * "auc_per_class"               roc_auc_score(y == k, proba[:, k]) for each class k (one-vs-rest,
                                  what label_binarize + average=None computes); null when class k is
                                  absent from the labels (or is every label): AUC is undefined there
  * "auc_macro"                   K > 2: roc_auc_score(y, proba, multi_class="ovr", average="macro",
                                  labels=range(K)) when every class is present; when some class is
                                  absent, sklearn returns NaN (older versions raised) and fttrain
                                  instead averages the defined classes, so the expected value is the
                                  nan-mean of auc_per_class and "sklearn_auc_macro" keeps sklearn's
                                  own answer (null for NaN) for the record.
                                  K = 2: roc_auc_score(y, proba[:, 1]), the binary AUC of the positive
                                  class (not the mean of both columns).
  * "argmax"                      np.argmax(proba, axis=1) (ties -> lowest index)
  * "reports"                     {digits: classification_report(labels=range(K),
                                  target_names=class_names, digits=digits, zero_division=0)}
"""

import json
import math
import sys
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (accuracy_score, classification_report, confusion_matrix,
                             precision_recall_fscore_support, roc_auc_score)

SEED = 20240611


def softmax32(logits):
    """Row softmax computed in float32, as the Swift model would hand it over."""
    z = logits.astype(np.float32)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def noisy_case(rng, n, k, class_prior, skill):
    """Labels drawn from class_prior; logits favour the true class by `skill`."""
    y = rng.choice(k, size=n, p=class_prior)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += skill
    return y, softmax32(logits)


def quantised_probabilities(rng, n, k, steps):
    """Probabilities on a coarse grid (multiples of 1/steps) so that many scores tie exactly."""
    rows = []
    for _ in range(n):
        cuts = np.sort(rng.integers(0, steps + 1, size=k - 1))
        parts = np.diff(np.concatenate([[0], cuts, [steps]]))
        rows.append(parts / steps)
    return np.asarray(rows, dtype=np.float32)


def build_cases():
    rng = np.random.default_rng(SEED)
    cases = []

    def add(name, class_names, y, proba, predictions=None, digits=(2, 4)):
        proba = np.asarray(proba, dtype=np.float32)
        y = np.asarray(y, dtype=np.int64)
        pred = np.argmax(proba, axis=1) if predictions is None else np.asarray(predictions, dtype=np.int64)
        cases.append(dict(name=name, class_names=class_names, labels=y, predictions=pred,
                          probabilities=proba, digits=digits))

    # Binary, moderately skilled classifier.
    y, p = noisy_case(rng, 24, 2, [0.5, 0.5], 1.0)
    add("binary", ["negative", "positive"], y, p)

    # Three balanced classes.
    y, p = noisy_case(rng, 30, 3, [1 / 3, 1 / 3, 1 / 3], 1.2)
    add("three_class", ["cold", "pneumonia", "cardiac"], y, p)

    # Imbalanced: one dominant class, one rare one; more digits to check the widths.
    y, p = noisy_case(rng, 40, 3, [0.8, 0.15, 0.05], 1.5)
    add("imbalanced", ["majority", "minority", "rare"], y, p, digits=(2, 4, 13))

    # A class that is never predicted: its precision is 0/0 -> 0 (zero_division=0), so its F1 too.
    y, p = noisy_case(rng, 20, 3, [0.4, 0.4, 0.2], 1.0)
    p[:, 2] *= 0.01  # class 2 never wins the argmax
    p = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    add("never_predicted", ["a", "b", "c"], y, p)

    # Ties everywhere: probabilities on a grid of quarters, argmax ties broken to the lowest index.
    y = rng.integers(0, 3, size=24)
    p = quantised_probabilities(rng, 24, 3, 4)
    add("ties_multiclass", ["x", "y", "z"], y, p)

    # Binary ties: scores on a grid of tenths, several positives and negatives share a score.
    y = rng.integers(0, 2, size=30)
    s = (rng.integers(0, 11, size=30) / 10).astype(np.float32)
    p = np.stack([np.float32(1) - s, s], axis=1)
    add("ties_binary", ["neg", "pos"], y, p)

    # A long class name (wider than "weighted avg") and a non-ASCII one (width counts code points).
    y, p = noisy_case(rng, 18, 3, [0.3, 0.3, 0.4], 1.0)
    add("long_names", ["pneumonia_suspected_with_complications", "普通感冒", "ok"], y, p)

    # Perfect predictions: every metric is 1 and the AUC is 1.
    y = np.array([0, 1, 2, 2, 1, 0, 3, 3, 2, 1, 0, 3])
    logits = rng.normal(size=(12, 4))
    logits[np.arange(12), y] += 10.0
    add("perfect", ["w", "x", "y", "z"], y, softmax32(logits))

    # A class absent from the labels (but predicted): support 0, recall 0/0 -> 0, AUC undefined.
    y = np.array([0, 2, 2, 0, 0, 2, 2, 0, 2, 0, 0, 2])
    logits = rng.normal(size=(12, 3))
    logits[np.arange(12), y] += 0.8
    add("class_absent_from_labels", ["first", "missing", "third"], y, softmax32(logits))

    # Exact binary halves in the report: classes "zero" and "two" get precision 3/8 = 0.375 and
    # "two" recall 3/8, which print as 0.38 (round half to even on the exact value; the "binary"
    # case's 5/8 = 0.625 prints as 0.62), so the Swift formatter must round exactly as Python does.
    y = [0, 0, 0, 1, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0, 2, 2, 2, 0]
    pred = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 1, 1, 2, 2, 2, 1]
    logits = rng.normal(size=(len(y), 3))
    add("rounding_halves", ["zero", "one", "two"], y, softmax32(logits), predictions=pred)

    return cases


def finite_or_none(x):
    x = float(x)
    return None if math.isnan(x) else x


def expected(case):
    names, y, pred, proba = case["class_names"], case["labels"], case["predictions"], case["probabilities"]
    k = len(names)
    labels = list(range(k))
    proba64 = proba.astype(np.float64)  # exact widening of the float32 values

    p, r, f, s = precision_recall_fscore_support(y, pred, labels=labels, average=None, zero_division=0)
    averages = {}
    for average in ("macro", "weighted"):
        ap, ar, af, _ = precision_recall_fscore_support(y, pred, labels=labels, average=average, zero_division=0)
        averages[average] = [float(ap), float(ar), float(af)]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        per_class = []
        for c in range(k):
            positives = (y == c).astype(int)
            if 0 < positives.sum() < len(y):
                per_class.append(float(roc_auc_score(positives, proba64[:, c])))
            else:
                per_class.append(None)
        if k == 2:
            sk_macro = roc_auc_score(y, proba64[:, 1]) if len(np.unique(y)) == 2 else float("nan")
            macro = finite_or_none(sk_macro)
        else:
            sk_macro = roc_auc_score(y, proba64, multi_class="ovr", average="macro", labels=labels)
            defined = [a for a in per_class if a is not None]
            macro = float(np.mean(defined)) if defined else None

    reports = {str(d): classification_report(y, pred, labels=labels, target_names=names, digits=d,
                                             zero_division=0)
               for d in case["digits"]}

    return dict(
        name=case["name"],
        class_names=names,
        labels=[int(v) for v in y],
        predictions=[int(v) for v in pred],
        probabilities=[[float(v) for v in row] for row in proba64],
        argmax=[int(v) for v in np.argmax(proba, axis=1)],
        accuracy=float(accuracy_score(y, pred)),
        precision=[float(v) for v in p],
        recall=[float(v) for v in r],
        f1=[float(v) for v in f],
        support=[int(v) for v in s],
        macro=averages["macro"],
        weighted=averages["weighted"],
        confusion_matrix=confusion_matrix(y, pred, labels=labels).astype(int).tolist(),
        auc_per_class=per_class,
        auc_macro=macro,
        sklearn_auc_macro=finite_or_none(sk_macro),
        reports=reports,
    )


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = dict(
        versions=dict(sklearn=sklearn.__version__, numpy=np.__version__),
        seed=SEED,
        cases=[expected(c) for c in build_cases()],
    )
    with open(sys.argv[1], "w", encoding="utf-8") as fh:
        json.dump(out, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    print(f"wrote {len(out['cases'])} cases to {sys.argv[1]}")


if __name__ == "__main__":
    main()
