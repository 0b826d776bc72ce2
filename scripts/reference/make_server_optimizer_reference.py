#!/usr/bin/env python3
"""Flower's own FedAdam, FedYogi and FedAdagrad on fixed site results, 3 rounds:
Tests/FTFederatedTests/Fixtures/server_optimizer_reference.json, the reference of
`ServerOptimizerTests` (fttrain's coordinator must give the same global adapter within 1e-6).

Flower is not a dependency of fttrain; run this in a throw-away venv:
    python3 -m venv /tmp/flwrvenv && /tmp/flwrvenv/bin/pip install flwr numpy
    /tmp/flwrvenv/bin/python scripts/reference/make_server_optimizer_reference.py

Two layouts, each through each strategy's `aggregate_fit` with 3 sites (10, 30 and 60 examples):
- "fedavg": the parameters are the adapter itself, LoRA A (2, 3), B (4, 2) of one module and a
  dense head of 5 values: what the fedavg aggregation mode optimises;
- "svd": the parameters are the module's product B·A (4, 3), from factors of full rank 3: what
  the svd mode optimises (its re-factorisation at rank 3 is exact).
Every site result is a fixed array of float32 values (the sites' training is not the point here);
the strategies compute in float64. η 0.1, β₁ 0.9, β₂ 0.99, τ 1e-3 (the issue's defaults); FedAdagrad
has no β₁ in Flower (0).
"""
import json
import os
import sys

import flwr
import numpy as np
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.strategy import FedAdagrad, FedAdam, FedYogi

ROUNDS, EXAMPLES = 3, [10, 30, 60]
ETA, BETA1, BETA2, TAU = 0.1, 0.9, 0.99, 1e-3
rng = np.random.default_rng(20)


def f32(*shape, scale=0.5):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def adapter():
    return {"a": f32(2, 3), "b": f32(4, 2), "head": f32(5)}


def full_rank_factors():
    return {"a": f32(3, 3), "b": f32(4, 3)}


def product(f):
    return f["b"].astype(np.float64) @ f["a"].astype(np.float64)


cases = {}
# fedavg layout: [A, B, head]
initial = adapter()
sites = [[adapter() for _ in EXAMPLES] for _ in range(ROUNDS)]
cases["fedavg"] = {
    "initial": initial,
    "sites": sites,
    "params": lambda f: [f["a"].astype(np.float64), f["b"].astype(np.float64), f["head"].astype(np.float64)],
}
# svd layout: [B·A]
initial_svd = full_rank_factors()
sites_svd = [[full_rank_factors() for _ in EXAMPLES] for _ in range(ROUNDS)]
cases["svd"] = {"initial": initial_svd, "sites": sites_svd, "params": lambda f: [product(f)]}

strategies = {
    "fedadam": lambda p: FedAdam(initial_parameters=p, eta=ETA, beta_1=BETA1, beta_2=BETA2, tau=TAU),
    "fedyogi": lambda p: FedYogi(initial_parameters=p, eta=ETA, beta_1=BETA1, beta_2=BETA2, tau=TAU),
    "fedadagrad": lambda p: FedAdagrad(initial_parameters=p, eta=ETA, tau=TAU),
}

out = {
    "flwr_version": flwr.__version__,
    "eta": ETA, "beta1": BETA1, "beta2": BETA2, "tau": TAU,
    "examples": EXAMPLES,
    "layouts": {},
}
ok = Status(code=Code.OK, message="")
for layout, case in cases.items():
    entry = {
        "initial": {k: v.ravel().tolist() for k, v in case["initial"].items()},
        "sites": [[{k: v.ravel().tolist() for k, v in s.items()} for s in round_sites] for round_sites in case["sites"]],
        "global": {},
    }
    for name, make in strategies.items():
        strategy = make(ndarrays_to_parameters(case["params"](case["initial"])))
        rounds = []
        for r in range(ROUNDS):
            results = [
                (None, FitRes(status=ok, parameters=ndarrays_to_parameters(case["params"](s)), num_examples=n, metrics={}))
                for s, n in zip(case["sites"][r], EXAMPLES)
            ]
            parameters, _ = strategy.aggregate_fit(r + 1, results, [])  # Flower's rounds count from 1
            rounds.append([x.ravel().tolist() for x in parameters_to_ndarrays(parameters)])
        entry["global"][name] = rounds
    out["layouts"][layout] = entry

path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "Tests", "FTFederatedTests", "Fixtures", "server_optimizer_reference.json")
with open(path, "w") as f:
    json.dump(out, f)
print(f"wrote {path} (flwr {flwr.__version__})")
