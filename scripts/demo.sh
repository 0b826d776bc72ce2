#!/usr/bin/env bash
# The main job on the real default: installs what is missing, fetches all-MiniLM-L6-v2, builds
# fttrain (release) and embeds real sentences with it, printing their cosine similarities —
# related sentences score high, unrelated ones low.
#   scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/fetch_assets.sh
model=.cache/models/all-MiniLM-L6-v2
sentences=(
  "A man is eating food."
  "A man is eating a piece of bread."
  "A man is riding a horse."
  "A woman is playing violin."
  "The patient reports chest pain radiating to the left arm."
  "Refund requested: the order arrived damaged."
)
printf '%s\n' "${sentences[@]}" >/tmp/fttrain-demo.txt
./.build/release/fttrain tokenize --model-dir "$model" </tmp/fttrain-demo.txt | head -1 | sed 's/^/ids of the first sentence: /'
./.build/release/fttrain embed --model-dir "$model" --normalize </tmp/fttrain-demo.txt >/tmp/fttrain-demo.emb
echo "cosine similarity of normalised all-MiniLM-L6-v2 embeddings (rows and columns: sentences 1-${#sentences[@]}):"
for i in "${!sentences[@]}"; do printf '  %d. %s\n' "$((i + 1))" "${sentences[$i]}"; done
awk -F'[][, ]+' '{ for (i = 2; i < NF; i++) v[NR, i] = $i; n = NF }
  END { for (a = 1; a <= NR; a++) { line = sprintf("%3d", a)
          for (b = 1; b <= NR; b++) { s = 0; for (i = 2; i < n; i++) s += v[a, i] * v[b, i]; line = line sprintf(" %6.3f", s) }
          print line } }' /tmp/fttrain-demo.emb
rm -f /tmp/fttrain-demo.txt /tmp/fttrain-demo.emb
