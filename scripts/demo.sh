#!/usr/bin/env bash
# The main job on the real default: installs what is missing, fetches all-MiniLM-L6-v2 and the
# Rotten Tomatoes corpus, builds fttrain (release) and fine-tunes the 3-class classifier
# (fresh / rotten / plot) with examples/rotten_tomatoes.yaml, printing the test metrics at the end.
#   scripts/demo.sh [more settings, e.g. --num-train-epochs 2]
# Output: runs/rotten_tomatoes/ (metrics.json, log.jsonl, model/, confusion_matrix.csv, errors.jsonl, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/fetch_assets.sh
exec ./.build/release/fttrain train --config examples/rotten_tomatoes.yaml "$@"
