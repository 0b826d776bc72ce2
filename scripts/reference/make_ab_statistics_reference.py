#!/usr/bin/env python3
"""Print the reference numbers of Tests/FTTrainTests/ABStatisticsTests.swift and ABSplitTests.swift
as Swift literals (they are pasted into the tests; no fixture file).

Usage:
    /tmp/refvenv/bin/python scripts/reference/make_ab_statistics_reference.py

Requirements: statsmodels and scipy (the versions used are printed in the header comment).
Deterministic: fixed cases, no randomness.

For each case (x1, n1, x2, n2) of two arms (successes out of trials):
  * Wilson 95% interval of each arm    statsmodels proportion_confint(x, n, alpha=0.05, method="wilson")
  * pooled two-proportion z-test        statsmodels proportions_ztest([x1, x2], [n1, n2]) -> z, p
                                         (null when the pooled proportion is 0 or 1: z is 0/0)
  * Newcombe's interval of p1 - p2      statsmodels confint_proportions_2indep(x1, n1, x2, n2,
                                         method="newcomb", compare="diff", alpha=0.05)
and for ABSplit the SHA-256 positions of a few keys: the top 53 bits of the digest of the UTF-8
bytes over 2**53, with the arm a 0.9/0.1 split {"a": 0.9, "b": 0.1} gives them.
"""

import hashlib
import math
import warnings

import scipy
import statsmodels
from statsmodels.stats.proportion import (confint_proportions_2indep, proportion_confint,
                                          proportions_ztest)

CASES = [
    (451, 533, 440, 533),      # a Rotten Tomatoes-sized test split, close arms
    (9, 10, 5, 10),            # tiny arms
    (0, 20, 3, 25),            # an arm with no successes
    (20, 20, 18, 20),          # an arm with all successes
    (1, 1, 0, 1),              # one trial each
    (30, 40, 30, 40),          # equal: z = 0, p = 1
    (9500, 10000, 9300, 10000),  # large arms, small p-value
    (5000, 10000, 4000, 9000),   # very small p-value (erfc, not 1 - erf)
    (7, 7, 12, 12),            # both all right: the test is undefined
]

KEYS = ["client-42", "user-1", "user-2", "", "ü-Ärger", "x-client-id:7f3a"]


def f(value):
    if value is None or not math.isfinite(value):
        return "nil"
    return repr(float(value))


def main():
    warnings.simplefilter("ignore")
    print(f"// statsmodels {statsmodels.__version__}, scipy {scipy.__version__}")
    print("// (x1, n1, x2, n2, wilson1 low/high, wilson2 low/high, z, p, newcombe low/high)")
    for x1, n1, x2, n2 in CASES:
        l1, u1 = proportion_confint(x1, n1, alpha=0.05, method="wilson")
        l2, u2 = proportion_confint(x2, n2, alpha=0.05, method="wilson")
        pooled = (x1 + x2) / (n1 + n2)
        if 0 < pooled < 1:
            z, p = proportions_ztest([x1, x2], [n1, n2])
        else:
            z, p = None, None
        low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff", alpha=0.05)
        print(f"Case({x1}, {n1}, {x2}, {n2}, {f(l1)}, {f(u1)}, {f(l2)}, {f(u2)}, {f(z)}, {f(p)}, {f(low)}, {f(high)}),")
    print("// (key, position, arm of {a: 0.9, b: 0.1})")
    for key in KEYS:
        top = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") >> 11
        position = top / 2**53
        arm = "a" if position < 0.9 else "b"
        print(f'("{key}", {position!r}, "{arm}"),')


if __name__ == "__main__":
    main()
