#!/usr/bin/env python3
"""A tiny random Llama directory for the MPI and federated checks (scripts/mpi_train_check.sh MODEL=llama,
scripts/mpi_federated_llama_check.sh): what Tests/TestSupport/TinyLlamaDirectory.swift writes
for `swift test`, from a shell script.

  python3 scripts/make_tiny_llama.py OUT_DIR [--seed S] [--hidden 32] [--layers 2]

OUT_DIR gets config.json (LlamaForCausalLM: 4 query heads, 2 key/value heads, tied embeddings),
model.safetensors (float32, N(0, 0.1) from Python's seeded generator; RMSNorm weights 1) and the
tiny byte-level BPE tokenizer of the bpe fixtures (tokenizer.json, tokenizer_config.json).
Standard library only, so the scripts need no venv.
"""
import argparse, json, os, random, shutil, struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER = os.path.join(ROOT, "Tests", "FTModelTests", "Fixtures", "bpe", "tiny")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--layers", type=int, default=2)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(TOKENIZER, name), os.path.join(args.out, name))
    tokenizer = json.load(open(os.path.join(TOKENIZER, "tokenizer.json"), encoding="utf-8"))
    ids = list(tokenizer["model"]["vocab"].values()) + [t["id"] for t in tokenizer["added_tokens"]]
    specials = {t["content"]: t["id"] for t in tokenizer["added_tokens"]}
    vocab, H, L = max(ids) + 1, args.hidden, args.layers
    heads, kv_heads, head_dim, ffn = 4, 2, H // 4, H * 3 // 2
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab, "hidden_size": H,
        "intermediate_size": ffn, "num_hidden_layers": L, "num_attention_heads": heads,
        "num_key_value_heads": kv_heads, "head_dim": head_dim, "hidden_act": "silu", "max_position_embeddings": 128,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": True,
        "bos_token_id": specials["<|endoftext|>"], "eos_token_id": specials["<|im_end|>"],
        "pad_token_id": specials["<|endoftext|>"],
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    shapes = [("model.embed_tokens.weight", [vocab, H])]
    for i in range(L):
        b = f"model.layers.{i}."
        shapes += [
            (b + "input_layernorm.weight", [H]), (b + "self_attn.q_proj.weight", [heads * head_dim, H]),
            (b + "self_attn.k_proj.weight", [kv_heads * head_dim, H]),
            (b + "self_attn.v_proj.weight", [kv_heads * head_dim, H]),
            (b + "self_attn.o_proj.weight", [H, heads * head_dim]), (b + "post_attention_layernorm.weight", [H]),
            (b + "mlp.gate_proj.weight", [ffn, H]), (b + "mlp.up_proj.weight", [ffn, H]),
            (b + "mlp.down_proj.weight", [H, ffn]),
        ]
    shapes.append(("model.norm.weight", [H]))
    rng = random.Random(args.seed)
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, shape in shapes:
        count = 1
        for d in shape:
            count *= d
        values = [1.0] * count if name.endswith("norm.weight") else [rng.gauss(0, 0.1) for _ in range(count)]
        blob = struct.pack(f"<{count}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(args.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


if __name__ == "__main__":
    main()
