#!/usr/bin/env python3
"""Rotten Tomatoes as instruction data: a seeded, stratified train/test split of snippets.

  python3 scripts/make_instruct_split.py CORPUS.csv OUT_DIR --train N --test M [--seed S] [--chars C]

Writes OUT_DIR/train.csv and OUT_DIR/test.csv with columns `text,label` (label fresh, rotten or
plot; the classes in the corpus's proportions). A text longer than C characters (default 300: the
plot summaries; reviews are under 256) is cut at the last space before C, so each is a snippet
that fits a short prompt. Standard library only, so both sides of the comparison read the very
same files.
"""
import argparse, csv, os, random


def snippet(text, limit):
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("corpus")
    p.add_argument("out")
    p.add_argument("--train", type=int, required=True)
    p.add_argument("--test", type=int, required=True)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--chars", type=int, default=300)
    args = p.parse_args()
    with open(args.corpus, newline="", encoding="utf-8") as f:
        rows = [(snippet(r["text"], args.chars), r["category"]) for r in csv.DictReader(f) if r["text"].strip()]
    by_label = {}
    for row in rows:
        by_label.setdefault(row[1], []).append(row)
    rng = random.Random(args.seed)
    train, test = [], []
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        n_test = round(args.test * len(group) / len(rows))
        n_train = round(args.train * len(group) / len(rows))
        test += group[:n_test]
        train += group[n_test:n_test + n_train]
    rng.shuffle(train)
    rng.shuffle(test)
    os.makedirs(args.out, exist_ok=True)
    for name, split in (("train", train), ("test", test)):
        with open(os.path.join(args.out, name + ".csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows(split)
    print(f"make_instruct_split: {len(train)} train, {len(test)} test rows in {args.out}")


if __name__ == "__main__":
    main()
