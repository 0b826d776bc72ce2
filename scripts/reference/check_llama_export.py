#!/usr/bin/env python3
"""Checks fttrain's Llama exports against transformers, PEFT and gguf-py (scripts/llama_roundtrip.sh).

LOGITS files are written by `fttrain logits` (hidden command): `ids.N` (int64, prompt N's ids) and
`logits.N` (float32, T x V). PROMPTS is one prompt per line; with --chat each becomes a user turn
rendered by the tokenizer's chat template with the generation prompt (as `fttrain logits --chat`).
Each subcommand prints one JSON line of figures and exits 1 when a check fails:

  hf DIR PROMPTS LOGITS [--atol A]          AutoModelForCausalLM + AutoTokenizer load the exported
                                            directory: config/generation config keys, same ids, logits
  peft GGUF ADAPTER PROMPTS LOGITS [--atol] PEFT loads ADAPTER over transformers' model of GGUF: logits
                                            (and by how much the adapter moves them: not vacuous)
  gguf FILE DIR PROMPTS LOGITS [--atol A] [--weights-rtol W] [--own LOGITS2]
                                            gguf-py reads FILE (names, types, metadata); transformers
                                            loads it: weights against DIR/model.safetensors (relative
                                            difference: 0 for F32, <= 2^-11 for F16), the ids of
                                            DIR's tokenizer, logits against LOGITS (fttrain's of DIR)
                                            and against LOGITS2 (fttrain's of FILE) within 1e-4
  same LOGITS_A LOGITS_B [--atol A]         two fttrain logits files agree
  generate GGUF ADAPTER PROMPTS FTTRAIN [--max-new-tokens N]
                                            greedy answers of PEFT over GGUF to each prompt as a chat
                                            turn against FTTRAIN (`fttrain generate --input PROMPTS
                                            --chat` JSON lines): same text, same token count (EOS
                                            counted when generated); and how many answers the adapter
                                            changes (with it disabled: not vacuous when any)
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch
from safetensors.torch import load_file


def render(tok, prompts, chat):
    if not chat:
        return prompts
    return [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True) for p in prompts]


def read_prompts(path):
    return [l.rstrip("\n") for l in open(path, encoding="utf-8") if l.strip()]


def compare(model, tok, prompts, ours, chat):
    """(ids equal, largest |logit difference|, largest |logit|) over every prompt."""
    ids_equal, worst, scale = True, 0.0, 0.0
    with torch.no_grad():
        for n, text in enumerate(render(tok, prompts, chat)):
            ids = tok(text, return_tensors="pt").input_ids
            mine = ours[f"ids.{n}"]
            if ids[0].tolist() != mine.tolist():
                ids_equal = False
                print(f"prompt {n}: transformers ids {ids[0].tolist()[:12]}... fttrain {mine.tolist()[:12]}...", file=sys.stderr)
                continue
            logits = model(ids).logits[0].float()
            worst = max(worst, (logits - ours[f"logits.{n}"]).abs().max().item())
            scale = max(scale, logits.abs().max().item())
    return ids_equal, worst, scale


def load_gguf(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    directory, name = os.path.split(os.path.abspath(path))
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(directory, gguf_file=name)


def cmd_hf(a):
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig
    config = json.load(open(os.path.join(a.dir, "config.json")))
    missing = [k for k in ["architectures", "model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                           "num_attention_heads", "num_key_value_heads", "rms_norm_eps", "max_position_embeddings",
                           "tie_word_embeddings", "torch_dtype", "bos_token_id", "eos_token_id", "pad_token_id"] if k not in config]
    generation = GenerationConfig.from_pretrained(a.dir)
    tok = AutoTokenizer.from_pretrained(a.dir)
    model = AutoModelForCausalLM.from_pretrained(a.dir, dtype=torch.float32).eval()
    ours = load_file(a.logits)
    ids_equal, worst, scale = compare(model, tok, read_prompts(a.prompts), ours, a.chat)
    ok = (not missing and ids_equal and worst <= a.atol and type(model).__name__ == "LlamaForCausalLM"
          and generation.eos_token_id == config["eos_token_id"] and tok.chat_template is not None)
    print(json.dumps({"check": "hf", "architecture": type(model).__name__, "missing_config_keys": missing,
                      "generation_config": {"bos": generation.bos_token_id, "eos": generation.eos_token_id, "pad": generation.pad_token_id},
                      "chat_template": tok.chat_template is not None, "ids_equal": ids_equal,
                      "max_logit_diff": worst, "max_abs_logit": scale, "atol": a.atol, "ok": ok}))
    return 0 if ok else 1


def cmd_peft(a):
    from peft import PeftModel
    base, tok = load_gguf(a.gguf)
    prompts, ours = read_prompts(a.prompts), load_file(a.logits)
    with torch.no_grad():
        base_logits = [base(tok(t, return_tensors="pt").input_ids).logits[0] for t in render(tok, prompts, a.chat)]
    model = PeftModel.from_pretrained(base, a.adapter).eval()
    ids_equal, worst, scale = compare(model, tok, prompts, ours, a.chat)
    moved = max((ours[f"logits.{n}"] - b).abs().max().item() for n, b in enumerate(base_logits))
    ok = ids_equal and worst <= a.atol and moved > 10 * a.atol
    print(json.dumps({"check": "peft", "ids_equal": ids_equal, "max_logit_diff": worst, "max_abs_logit": scale,
                      "adapter_moves_logits_by": moved, "atol": a.atol, "ok": ok}))
    return 0 if ok else 1


def cmd_gguf(a):
    from gguf import GGUFReader
    reader = GGUFReader(a.file)
    field = lambda k: reader.fields[k].contents() if k in reader.fields else None
    types = sorted({t.tensor_type.name for t in reader.tensors})
    names = [t.name for t in reader.tensors]
    model, tok = load_gguf(a.file)
    from transformers import AutoTokenizer
    dir_tok = AutoTokenizer.from_pretrained(a.dir)
    reference = load_file(os.path.join(a.dir, "model.safetensors"))
    state = model.state_dict()
    # Relative to the value (at least the smallest normal half float, 2^-14): F16's rounding is <= 2^-11.
    weight_diff = max(((state[k].float() - v).abs() / v.abs().clamp(min=2.0 ** -14)).max().item() for k, v in reference.items())
    prompts = read_prompts(a.prompts)
    tokens_equal = all(tok(t).input_ids == dir_tok(t).input_ids for t in render(dir_tok, prompts, a.chat))
    ids_equal, worst, scale = compare(model, tok, prompts, load_file(a.logits), a.chat)
    own = None
    if a.own:
        own_ids, own, _ = compare(model, tok, prompts, load_file(a.own), a.chat)
        ids_equal = ids_equal and own_ids
    ok = (field("general.architecture") == "llama" and ids_equal and tokens_equal and worst <= a.atol
          and weight_diff <= a.weights_rtol and (own is None or own <= 1e-4) and "token_embd.weight" in names
          and field("tokenizer.chat_template") is not None)
    print(json.dumps({"check": "gguf", "file": os.path.basename(a.file), "tensors": len(names), "types": types,
                      "general.file_type": field("general.file_type"), "general.name": field("general.name"),
                      "tokens_in_metadata": len(reader.fields["tokenizer.ggml.tokens"].data),
                      "transformers_parameters": len(state), "max_weight_rel_diff": weight_diff, "tokenizer_ids_equal": tokens_equal,
                      "ids_equal": ids_equal, "max_logit_diff_vs_fttrain_dir": worst, "max_abs_logit": scale,
                      "max_logit_diff_vs_fttrain_same_file": own, "atol": a.atol, "ok": ok}))
    return 0 if ok else 1


def cmd_same(a):
    x, y = load_file(a.a), load_file(a.b)
    ok = x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x if k.startswith("ids."))
    worst = max((x[k] - y[k]).abs().max().item() for k in x if k.startswith("logits.")) if ok else float("inf")
    ok = ok and worst <= a.atol
    print(json.dumps({"check": "same", "max_logit_diff": worst, "atol": a.atol, "ok": ok}))
    return 0 if ok else 1


def cmd_generate(a):
    from peft import PeftModel
    base, tok = load_gguf(a.gguf)
    model = PeftModel.from_pretrained(base, a.adapter).eval()
    prompts = read_prompts(a.prompts)
    ours = [json.loads(l) for l in open(a.fttrain, encoding="utf-8") if l.strip()]

    def greedy(text):
        ids = tok(text, return_tensors="pt").input_ids
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=a.max_new_tokens, do_sample=False,
                             pad_token_id=tok.eos_token_id)
        return out[0, ids.shape[1]:].tolist()

    answers, changed = [], 0
    with torch.no_grad():
        for text in render(tok, prompts, True):
            new = greedy(text)
            with model.disable_adapter():
                changed += greedy(text) != new
            answers.append({"text": tok.decode(new, skip_special_tokens=True), "tokens": len(new)})
    # fttrain counts the answer's tokens without the EOS it stopped at ("stopped"); generate() keeps it.
    count = lambda o: o["tokens"] + (1 if o["stopped"] else 0)
    same = len(ours) == len(answers) and all(o["generated"] == t["text"] and count(o) == t["tokens"] for o, t in zip(ours, answers))
    for n, (t, o) in enumerate(zip(answers, ours)):
        print(f"prompt {n}: transformers + PEFT {t['text']!r} ({t['tokens']} tokens with EOS), fttrain {o['generated']!r} "
              f"({o['tokens']} tokens, stopped at EOS: {o['stopped']})", file=sys.stderr)
    print(json.dumps({"check": "generate", "prompts": len(answers), "answers": [t["text"] for t in answers],
                      "fttrain_answers": [o["generated"] for o in ours], "same": same,
                      "answers_the_adapter_changes": changed, "ok": same}, ensure_ascii=False))
    return 0 if same else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    h = sub.add_parser("hf"); h.add_argument("dir"); h.add_argument("prompts"); h.add_argument("logits")
    q = sub.add_parser("peft"); q.add_argument("gguf"); q.add_argument("adapter"); q.add_argument("prompts"); q.add_argument("logits")
    g = sub.add_parser("gguf"); g.add_argument("file"); g.add_argument("dir"); g.add_argument("prompts"); g.add_argument("logits")
    g.add_argument("--weights-rtol", type=float, default=0.0); g.add_argument("--own", default=None)
    s = sub.add_parser("same"); s.add_argument("a"); s.add_argument("b")
    for x in (h, q, g, s):
        x.add_argument("--atol", type=float, default=1e-4)
    for x in (h, q, g):
        x.add_argument("--chat", action="store_true")
    e = sub.add_parser("generate"); e.add_argument("gguf"); e.add_argument("adapter"); e.add_argument("prompts"); e.add_argument("fttrain")
    e.add_argument("--max-new-tokens", type=int, default=8)
    a = p.parse_args()
    return {"hf": cmd_hf, "peft": cmd_peft, "gguf": cmd_gguf, "same": cmd_same, "generate": cmd_generate}[a.command](a)


if __name__ == "__main__":
    sys.exit(main())
