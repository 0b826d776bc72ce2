#!/usr/bin/env python3
"""Reference ε values for fttrain's federated privacy accountant, computed by Opacus.

Writes Tests/FTFederatedTests/Fixtures/rdp_reference.json: for several (sampling rate, noise
multiplier, rounds, delta), the RDP at fttrain's integer orders and the (ε, order) of Opacus's
get_privacy_spent over those orders.
  python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install opacus
  /tmp/refvenv/bin/python scripts/reference/make_privacy_reference.py Tests/FTFederatedTests/Fixtures/rdp_reference.json
"""
import json, sys, warnings
import opacus
from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

ORDERS = list(range(2, 65)) + [80, 96, 128, 192, 256]  # PrivacyAccountant.orders
CASES = [  # q, sigma, rounds, delta
    (1.0, 1.0, 10, 1e-5), (1.0, 4.0, 100, 1e-5), (0.5, 1.1, 50, 1e-5),
    (0.3, 0.8, 20, 1e-4), (0.1, 2.0, 1000, 1e-6), (0.01, 1.0, 10000, 1e-5),
]
out = {"opacus": opacus.__version__, "orders": ORDERS, "cases": []}
for q, sigma, rounds, delta in CASES:
    rdp = compute_rdp(q=q, noise_multiplier=sigma, steps=rounds, orders=ORDERS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eps, order = get_privacy_spent(orders=ORDERS, rdp=rdp, delta=delta)
    out["cases"].append({"q": q, "sigma": sigma, "rounds": rounds, "delta": delta,
                         "rdp": [float(x) for x in rdp], "epsilon": float(eps), "order": int(order)})
with open(sys.argv[1], "w") as f:
    json.dump(out, f, indent=1)
print(f"wrote {sys.argv[1]}: {len(CASES)} cases, opacus {opacus.__version__}")
