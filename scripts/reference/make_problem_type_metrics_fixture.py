#!/usr/bin/env python3
"""Generate the regression and multi-label metrics fixture used by
Tests/FTTrainTests/ProblemTypeMetricsFixtureTests.swift.

Usage:
    /tmp/refvenv/bin/python scripts/reference/make_problem_type_metrics_fixture.py \
        Tests/FTTrainTests/Fixtures/metrics/problem_type_cases.json

Deterministic (fixed seed). Values are float32 numbers widened exactly to float64, so the Swift
test reads back the very numbers scikit-learn and SciPy saw.

Regression cases ("regression"): "targets", "predictions"; expected from sklearn.metrics
mean_squared_error, its square root, mean_absolute_error, r2_score, and scipy.stats.pearsonr,
scipy.stats.spearmanr (ties: average ranks). One case has tied values on both sides.

Multi-label cases ("multi_label"): "truth" (N, L) 0/1, "probabilities" (N, L), "threshold";
predictions are probabilities >= threshold. Expected from sklearn with zero_division=0:
f1/precision/recall (average micro and macro), accuracy_score (subset accuracy), hamming_loss,
and precision_recall_fscore_support(average=None) per label. One case has a label absent from
both truth and predictions, and rows with no label. "threshold" may be a list, one per label
(per-label thresholds: label k is predicted when its probability is >= threshold[k]).

Multi-output regression cases ("multi_output_regression"): "targets", "predictions" (N, L);
"per_output" holds sklearn's multioutput='raw_values' mse, rmse (root_mean_squared_error), mae,
r2 and SciPy's pearsonr/spearmanr on each column; "average" holds multioutput='uniform_average'
for mse, rmse, mae, r2 and the mean of the per-output pearson and spearman.

Tuned thresholds ("tuned_thresholds"): "truth", "probabilities" (N, L), "fallback". Per label, as
scikit-learn users pick a threshold by hand: precision, recall, thresholds =
precision_recall_curve(truth[:, k], probabilities[:, k]); f1 = 2 p r / (p + r) (0 where p + r is
0) over all but the last point; the threshold at np.argmax(f1) (the lowest of equal maxima).
A label with no positive row keeps "fallback". "expected" holds the thresholds and the
multi-label metrics at them (as the multi-label cases).
"""
import json
import sys

import numpy as np
import scipy
import sklearn
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import (accuracy_score, f1_score, hamming_loss, mean_absolute_error, mean_squared_error,
                             precision_recall_curve, precision_recall_fscore_support, precision_score, r2_score,
                             recall_score, root_mean_squared_error)

SEED = 20261207


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def regression_case(name, y, p):
    y, p = f32(y), f32(p)
    mse = mean_squared_error(y, p)
    return {"name": name, "targets": y.tolist(), "predictions": p.tolist(),
            "mse": mse, "rmse": float(np.sqrt(mse)), "mae": mean_absolute_error(y, p), "r2": r2_score(y, p),
            "pearson": float(pearsonr(y, p)[0]), "spearman": float(spearmanr(y, p)[0])}


def multilabel_case(name, truth, probabilities, threshold):
    truth = np.asarray(truth, dtype=np.int64)
    probabilities = f32(probabilities)
    pred = (probabilities >= np.asarray(threshold, dtype=np.float64)).astype(np.int64)
    p, r, f, s = precision_recall_fscore_support(truth, pred, average=None, zero_division=0)
    case = {"name": name, "truth": truth.tolist(), "probabilities": probabilities.tolist(), "threshold": threshold,
            "subset_accuracy": accuracy_score(truth, pred), "hamming_loss": hamming_loss(truth, pred),
            "precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(), "support": s.tolist()}
    for avg in ("micro", "macro"):
        case[f"f1_{avg}"] = f1_score(truth, pred, average=avg, zero_division=0)
        case[f"precision_{avg}"] = precision_score(truth, pred, average=avg, zero_division=0)
        case[f"recall_{avg}"] = recall_score(truth, pred, average=avg, zero_division=0)
    return case


def multi_output_case(name, y, p):
    y, p = f32(y), f32(p)
    L = y.shape[1]
    pearson = [float(pearsonr(y[:, k], p[:, k])[0]) for k in range(L)]
    spearman = [float(spearmanr(y[:, k], p[:, k])[0]) for k in range(L)]
    per_output = {"mse": mean_squared_error(y, p, multioutput="raw_values").tolist(),
                  "rmse": root_mean_squared_error(y, p, multioutput="raw_values").tolist(),
                  "mae": mean_absolute_error(y, p, multioutput="raw_values").tolist(),
                  "r2": r2_score(y, p, multioutput="raw_values").tolist(), "pearson": pearson, "spearman": spearman}
    average = {"mse": mean_squared_error(y, p), "rmse": root_mean_squared_error(y, p), "mae": mean_absolute_error(y, p),
               "r2": r2_score(y, p), "pearson": float(np.mean(pearson)), "spearman": float(np.mean(spearman))}
    return {"name": name, "targets": y.tolist(), "predictions": p.tolist(), "per_output": per_output, "average": average}


def tuned_case(name, truth, probabilities, fallback):
    truth = np.asarray(truth, dtype=np.int64)
    probabilities = f32(probabilities)
    thresholds = []
    for k in range(truth.shape[1]):
        if truth[:, k].sum() == 0:
            thresholds.append(fallback)
            continue
        precision, recall, cut = precision_recall_curve(truth[:, k], probabilities[:, k])
        precision, recall = precision[:-1], recall[:-1]
        f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(precision),
                       where=(precision + recall) > 0)
        thresholds.append(float(cut[int(np.argmax(f1))]))
    expected = multilabel_case(name, truth, probabilities, thresholds)
    return {"name": name, "truth": truth.tolist(), "probabilities": probabilities.tolist(), "fallback": fallback,
            "expected": expected}


def main(out_path):
    rng = np.random.default_rng(SEED)
    y = rng.normal(2.0, 1.5, 40)
    regression = [
        regression_case("noisy", y, y + rng.normal(0, 0.8, 40)),
        regression_case("ties", [1, 2, 2, 3, 3, 3, 4, 5], [1.5, 2, 2, 2, 3.5, 3, 5, 4]),
        regression_case("anticorrelated", [0.1, 0.4, 0.3, 0.9, 0.7], [0.8, 0.5, 0.6, 0.05, 0.2]),
    ]
    truth = (rng.random((30, 5)) < [0.5, 0.3, 0.1, 0.6, 0.2]).astype(int)
    probs = np.clip(truth * 0.55 + rng.random((30, 5)) * 0.6 - 0.1, 0, 1)
    sparse_truth = truth.copy()
    sparse_truth[:, 2] = 0
    sparse_probs = probs.copy()
    sparse_probs[:, 2] = 0.1
    sparse_truth[:4, :] = 0
    multi = [
        multilabel_case("noisy", truth, probs, 0.5),
        multilabel_case("threshold_0.3", truth, probs, 0.3),
        multilabel_case("absent_label_and_empty_rows", sparse_truth, sparse_probs, 0.5),
    ]
    # Added cases draw from their own generator, so the cases above keep their values.
    rng = np.random.default_rng(SEED + 1)
    multi.append(multilabel_case("per_label_thresholds", truth, probs, [0.5, 0.3, 0.7, 0.45, 0.2]))
    y3 = rng.normal([0.0, 5.0, -2.0], [1.0, 3.0, 0.5], (25, 3))
    tied_y = np.round(y3 * 2) / 2
    multi_output = [
        multi_output_case("noisy_3", y3, y3 + rng.normal(0, [0.3, 2.0, 0.6], (25, 3))),
        multi_output_case("ties_3", tied_y, np.round((tied_y + rng.normal(0, 0.7, (25, 3))) * 2) / 2),
    ]
    truth_t = (rng.random((40, 4)) < [0.4, 0.15, 0.0, 0.6]).astype(int)
    scores = np.clip(truth_t * 0.3 + rng.random((40, 4)) * 0.7, 0.001, 0.999)
    scores[:6, 1] = 0.4  # tied scores
    tuned = [tuned_case("tuned", truth_t, scores, 0.5)]
    out = {"versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__, "scipy": scipy.__version__},
           "regression": regression, "multi_label": multi, "multi_output_regression": multi_output,
           "tuned_thresholds": tuned}
    with open(out_path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {len(regression)} regression, {len(multi)} multi-label, {len(multi_output)} multi-output and "
          f"{len(tuned)} tuned-threshold cases to {out_path}")


if __name__ == "__main__":
    main(sys.argv[1])
