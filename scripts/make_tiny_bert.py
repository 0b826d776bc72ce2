#!/usr/bin/env python3
"""A tiny random BERT directory for the MPI checks that must run in seconds with a debug binary
(scripts/mpi_tune_check.sh, scripts/mpi_select_check.sh): what Tests/TestSupport/TinyModelDirectory.swift
writes for `swift test`, from a shell script.

  python3 scripts/make_tiny_bert.py OUT_DIR [--seed S] [--hidden 32] [--layers 2] WORD...

OUT_DIR gets config.json (BertModel: 4 heads, intermediate 2 x hidden, 64 positions), vocab.txt
([PAD] [UNK] [CLS] [SEP] [MASK], then the words; lower-cased words only) and model.safetensors
(float32 under the names of sentence-transformers/all-MiniLM-L6-v2, N(0, 0.02) from Python's seeded
generator, LayerNorm weights 1 and biases 0). Standard library only, so the scripts need no venv.
"""
import argparse, json, os, random, struct


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("words", nargs="+")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--layers", type=int, default=2)
    args = p.parse_args()
    words = list(dict.fromkeys(args.words))
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocabulary) + "\n")
    H, L, positions, ffn = args.hidden, args.layers, 64, 2 * args.hidden
    config = {
        "model_type": "bert", "architectures": ["BertModel"], "vocab_size": len(vocabulary), "hidden_size": H,
        "num_hidden_layers": L, "num_attention_heads": 4, "intermediate_size": ffn, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "max_position_embeddings": positions,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute",
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)

    def norm(prefix):
        return [(prefix + ".LayerNorm.weight", [H]), (prefix + ".LayerNorm.bias", [H])]

    def dense(name, rows, columns):
        return [(name + ".weight", [rows, columns]), (name + ".bias", [rows])]

    shapes = [
        ("embeddings.word_embeddings.weight", [len(vocabulary), H]),
        ("embeddings.position_embeddings.weight", [positions, H]),
        ("embeddings.token_type_embeddings.weight", [2, H]),
    ] + norm("embeddings")
    for i in range(L):
        b = f"encoder.layer.{i}."
        for projection in ("query", "key", "value"):
            shapes += dense(b + "attention.self." + projection, H, H)
        shapes += dense(b + "attention.output.dense", H, H) + norm(b + "attention.output")
        shapes += dense(b + "intermediate.dense", ffn, H) + dense(b + "output.dense", H, ffn) + norm(b + "output")
    shapes += dense("pooler.dense", H, H)
    rng = random.Random(args.seed)
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, shape in shapes:
        count = 1
        for d in shape:
            count *= d
        if name.endswith("LayerNorm.weight"):
            values = [1.0] * count
        elif name.endswith(".bias"):
            values = [0.0] * count
        else:
            values = [rng.gauss(0, 0.02) for _ in range(count)]
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
