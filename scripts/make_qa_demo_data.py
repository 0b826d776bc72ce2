#!/usr/bin/env python3
"""Writes a small synthetic SQuAD-style QA set (JSON Lines, Hugging Face `datasets`' `squad` rows:
id, question, context, answers {text, answer_start}) for a demo run of `task: question_answering`.

No QA data set ships with fttrain's assets and none is fetched: the contexts are short generated
biographies ("Maria Keller was born in Lyon in 1931. She worked as a chemist ..."), each with
questions about the birthplace, the year, the profession and the employer; with --v2 about a
third of the questions ask about something the context does not say (SQuAD v2's unanswerable).
Seeded, so the file is the same on every machine.

Usage: python3 scripts/make_qa_demo_data.py OUT.jsonl [--examples 600] [--v2] [--seed 22]
"""
import argparse
import json
import random

FIRST = ["Maria", "John", "Aiko", "Lars", "Fatima", "Pedro", "Olga", "Kwame", "Chen", "Lucia", "Omar", "Ingrid"]
LAST = ["Keller", "Smith", "Tanaka", "Berg", "Haddad", "Alves", "Ivanova", "Mensah", "Wei", "Romano", "Farouk", "Holm"]
CITIES = ["Lyon", "Boston", "Osaka", "Bergen", "Cairo", "Porto", "Kazan", "Accra", "Wuhan", "Naples", "Tunis", "Uppsala"]
JOBS = ["chemist", "architect", "violinist", "surgeon", "geologist", "journalist", "engineer", "botanist", "pilot", "teacher"]
EMPLOYERS = ["the city hospital", "a small newspaper", "the national railway", "a shipyard", "the university",
             "an aircraft maker", "the central bank", "a botanical garden"]
HOBBIES = ["sailing", "chess", "painting", "running", "gardening", "photography"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--examples", type=int, default=600)
    p.add_argument("--v2", action="store_true")
    p.add_argument("--seed", type=int, default=22)
    args = p.parse_args()
    rng = random.Random(args.seed)
    rows = []
    while len(rows) < args.examples:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        city, year, job, employer = rng.choice(CITIES), str(rng.randint(1900, 1999)), rng.choice(JOBS), rng.choice(EMPLOYERS)
        pronoun = rng.choice(["She", "He"])
        sentences = [f"{name} was born in {city} in {year}.", f"{pronoun} worked as a {job} for {employer}."]
        hobby = rng.choice(HOBBIES) if rng.random() < 0.5 else None
        if hobby:
            sentences.append(f"In later years {pronoun.lower()} was known for {hobby}.")
        filler = rng.choice(["", "The family moved often during those years. ", "Little else is recorded about the early life. "])
        context = filler + " ".join(sentences)
        facts = [(f"Where was {name} born?", city), (f"In which year was {name} born?", year),
                 (f"What did {name} work as?", job), (f"Who did {name} work for?", employer)]
        if hobby:
            facts.append((f"What was {name} known for?", hobby))
        for question, answer in facts:
            start = context.index(answer if answer != year else f"in {year}") + (3 if answer == year else 0)
            assert context[start:start + len(answer)] == answer
            rows.append({"question": question, "context": context, "answers": {"text": [answer], "answer_start": [start]}})
        if args.v2 and not hobby:
            rows.append({"question": f"What was {name} known for?", "context": context, "answers": {"text": [], "answer_start": []}})
    rows = rows[:args.examples]
    with open(args.out, "w", encoding="utf-8") as f:
        for k, row in enumerate(rows):
            f.write(json.dumps({"id": f"demo-{k}", **row}, ensure_ascii=False) + "\n")
    print(f"{len(rows)} questions ({sum(1 for r in rows if not r['answers']['text'])} unanswerable) -> {args.out}")


if __name__ == "__main__":
    main()
