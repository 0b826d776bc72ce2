"""ONNX Runtime against fttrain on the ONNX files `fttrain export --format onnx` writes
(scripts/onnx_check.sh runs it; needs onnx, onnxruntime, numpy, safetensors — no torch).

  onnx_check.py make-tiny KIND VOCAB_TXT DIR
      A small random encoder directory (config.json, vocab.txt, model.safetensors) of KIND:
      bert (3 labels), bert-pruned (heads pruned in two layers, 2 labels), distilbert
      (sinusoidal positions, 2 labels), bert-base (no head), bert-token (a token classifier, 4 tags),
      bert-qa (a question-answering model: qa_outputs, start_logits and end_logits). Weights ~ N(0, 0.2): an output that
      ignores the mask, a position or a token type shows.
  onnx_check.py compare MODEL.onnx OUTPUTS.safetensors [--tolerance 1e-4] [--threads 2]
      onnx.checker (full check, with shape inference) on the file; its opset, input and output
      names and dynamic axes; then for every batch of OUTPUTS (`fttrain encoder-outputs`) ONNX
      Runtime's output on fttrain's padded batch, and on each text alone without padding, equal
      to fttrain's within the tolerance (max abs over a classifier's logits, or over real tokens'
      hidden states or per-token logits; padded positions' within 10x). Exit 1 on any failure.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np


def make_tiny(kind: str, vocab_txt: str, out: str) -> None:
    from safetensors.numpy import save_file

    rng = np.random.default_rng({"bert": 1, "bert-pruned": 2, "distilbert": 3, "bert-base": 4, "bert-token": 5, "bert-qa": 6}[kind])
    vocab = sum(1 for _ in open(vocab_txt, encoding="utf-8"))
    C, I, L, H, P = 32, 64, 2, 4, 64
    d = C // H
    normal = lambda *shape: (rng.standard_normal(shape) * 0.2).astype(np.float32)
    labels = {"bert": ["a", "b", "c"], "bert-pruned": ["neg", "pos"], "distilbert": ["neg", "pos"], "bert-base": None,
              "bert-token": ["O", "B-PER", "I-PER", "B-LOC"], "bert-qa": ["start", "end"]}[kind]
    head = {"bert-token": "BertForTokenClassification", "bert-qa": "BertForQuestionAnswering"}.get(kind)
    pruned = {0: [1], 1: [0, 3]} if kind == "bert-pruned" else {}
    t = {}
    if kind == "distilbert":
        config = {"model_type": "distilbert", "architectures": ["DistilBertForSequenceClassification"], "vocab_size": vocab,
                  "dim": C, "hidden_dim": I, "n_layers": L, "n_heads": H, "max_position_embeddings": P,
                  "sinusoidal_pos_embds": True, "activation": "gelu", "pad_token_id": 0}
        t["distilbert.embeddings.word_embeddings.weight"] = normal(vocab, C)
        position = np.arange(P)[:, None] / np.power(10000, 2 * (np.arange(C) // 2) / C)[None, :]
        table = np.zeros((P, C), np.float32)
        table[:, 0::2], table[:, 1::2] = np.sin(position[:, 0::2]), np.cos(position[:, 1::2])
        t["distilbert.embeddings.position_embeddings.weight"] = table
        t["distilbert.embeddings.LayerNorm.weight"] = 1 + normal(C)
        t["distilbert.embeddings.LayerNorm.bias"] = normal(C)
        for l in range(L):
            p = f"distilbert.transformer.layer.{l}."
            for m, (o, i) in {"attention.q_lin": (C, C), "attention.k_lin": (C, C), "attention.v_lin": (C, C),
                              "attention.out_lin": (C, C), "ffn.lin1": (I, C), "ffn.lin2": (C, I)}.items():
                t[p + m + ".weight"], t[p + m + ".bias"] = normal(o, i), normal(o)
            for n in ("sa_layer_norm", "output_layer_norm"):
                t[p + n + ".weight"], t[p + n + ".bias"] = 1 + normal(C), normal(C)
        t["pre_classifier.weight"], t["pre_classifier.bias"] = normal(C, C), normal(C)
    else:
        config = {"model_type": "bert", "architectures": [head or ("BertForSequenceClassification" if labels else "BertModel")],
                  "vocab_size": vocab, "hidden_size": C, "intermediate_size": I, "num_hidden_layers": L,
                  "num_attention_heads": H, "max_position_embeddings": P, "type_vocab_size": 2, "hidden_act": "gelu",
                  "layer_norm_eps": 1e-12, "pad_token_id": 0}
        if pruned:
            config["pruned_heads"] = {str(k): v for k, v in pruned.items()}
        t["bert.embeddings.word_embeddings.weight"] = normal(vocab, C)
        t["bert.embeddings.position_embeddings.weight"] = normal(P, C)
        t["bert.embeddings.token_type_embeddings.weight"] = normal(2, C)
        t["bert.embeddings.LayerNorm.weight"] = 1 + normal(C)
        t["bert.embeddings.LayerNorm.bias"] = normal(C)
        for l in range(L):
            p = f"bert.encoder.layer.{l}."
            A = (H - len(pruned.get(l, []))) * d
            for m, (o, i) in {"attention.self.query": (A, C), "attention.self.key": (A, C), "attention.self.value": (A, C),
                              "attention.output.dense": (C, A), "intermediate.dense": (I, C), "output.dense": (C, I)}.items():
                t[p + m + ".weight"], t[p + m + ".bias"] = normal(o, i), normal(o)
            for n in ("attention.output.LayerNorm", "output.LayerNorm"):
                t[p + n + ".weight"], t[p + n + ".bias"] = 1 + normal(C), normal(C)
        if head is None:  # per-token heads have no pooler (add_pooling_layer=False)
            t["bert.pooler.dense.weight"], t["bert.pooler.dense.bias"] = normal(C, C), normal(C)
    if kind == "bert-qa":
        config["id2label"] = {str(i): name for i, name in enumerate(labels)}
        config["label2id"] = {name: i for i, name in enumerate(labels)}
        t["qa_outputs.weight"], t["qa_outputs.bias"] = 5 * normal(2, C), normal(2)
    elif labels:
        config["id2label"] = {str(i): name for i, name in enumerate(labels)}
        config["label2id"] = {name: i for i, name in enumerate(labels)}
        t["classifier.weight"], t["classifier.bias"] = normal(len(labels), C), normal(len(labels))
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(config, indent=2))
    shutil.copy(vocab_txt, path / "vocab.txt")
    save_file(t, str(path / "model.safetensors"), metadata={"format": "pt"})


def compare(model_path: str, outputs_path: str, tolerance: float, threads: int) -> int:
    import onnx
    import onnxruntime as ort
    from safetensors.numpy import load_file

    failures = []
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    opset = {o.domain: o.version for o in model.opset_import}.get("", None)
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    dims = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in list(model.graph.input) + list(model.graph.output)}
    print(f"{Path(model_path).name}: checker passed; opset {opset}, IR {model.ir_version}, inputs {inputs}, outputs {outputs}, "
          f"{len(model.graph.initializer)} initializers, {len(model.graph.node)} nodes; dims {dims}")
    if opset != 17:
        failures.append(f"opset {opset}, expected 17")
    for name in inputs:
        if dims[name] != ["batch", "sequence"]:
            failures.append(f"input {name} has dims {dims[name]}, expected [batch, sequence]")
    tensors = load_file(outputs_path)
    if any(k.startswith("start_logits.") for k in tensors):
        names = ["start_logits", "end_logits"]  # optimum's question-answering outputs
    else:
        names = ["logits" if any(k.startswith("logits.") for k in tensors) else "last_hidden_state"]
    if outputs != names:
        failures.append(f"outputs {outputs}, expected {names}")
    # A sequence classifier's logits are one row per text; every other output one per token.
    per_text = names == ["logits"] and tensors["logits.0"].ndim == 2
    expected_inputs = ["input_ids", "attention_mask"] + (["token_type_ids"] if "token_type_ids" in inputs else [])
    if inputs != expected_inputs:
        failures.append(f"inputs {inputs}, expected optimum's {expected_inputs}")

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    # Real tokens must agree within the tolerance; padded positions' hidden states (which no
    # consumer reads: pooling and the head mask them out) are reported and held to 10x it.
    worst_batch = worst_single = worst_padding = 0.0
    batches = sorted({int(k.split(".")[1]) for k in tensors})
    shapes = []
    for n in batches:
        feed = {name: tensors[f"{name}.{n}"] for name in inputs}
        mask = tensors[f"attention_mask.{n}"].astype(bool)
        shapes.append(tuple(mask.shape))
        for task, got in zip(names, session.run(names, feed)):
            expected = tensors[f"{task}.{n}"]
            if got.shape != expected.shape:
                failures.append(f"batch {n}: ONNX Runtime's {task} has shape {got.shape}, fttrain's {expected.shape}")
                continue
            difference = np.abs(got - expected)
            if per_text:
                worst_batch = max(worst_batch, float(difference.max()))
            else:
                per_token = difference.max(axis=-1) if difference.ndim == 3 else difference
                worst_batch = max(worst_batch, float(per_token[mask].max()))
                if (~mask).any():
                    worst_padding = max(worst_padding, float(per_token[~mask].max()))
        # Each text alone, unpadded: a batch of 1 at its own length.
        for row in range(mask.shape[0]):
            length = int(mask[row].sum())
            single = {name: feed[name][row:row + 1, :length] for name in inputs}
            for task, got1 in zip(names, session.run(names, single)):
                expected = tensors[f"{task}.{n}"]
                want1 = expected[row:row + 1] if per_text else expected[row:row + 1, :length]
                worst_single = max(worst_single, float(np.abs(got1 - want1).max()))
    task = "/".join(names)
    largest = max(float(np.abs(tensors[f"{name}.{n}"]).max()) for n in batches for name in names)
    print(f"{len(batches)} batches (B, T) {shapes}: max |ORT - fttrain| {worst_batch:.2e} in padded batches, "
          f"{worst_single:.2e} each text alone (tolerance {tolerance:g})"
          + (f", {worst_padding:.2e} at padded positions" if not per_text else "") + f"; |fttrain {task}| up to {largest:.3g}")
    if not worst_batch <= tolerance:
        failures.append(f"padded batches differ by {worst_batch:.3e} > {tolerance:g}")
    if not worst_single <= tolerance:
        failures.append(f"single unpadded texts differ by {worst_single:.3e} > {tolerance:g}")
    if not worst_padding <= 10 * tolerance:
        failures.append(f"padded positions differ by {worst_padding:.3e} > {10 * tolerance:g}")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    tiny = sub.add_parser("make-tiny")
    tiny.add_argument("kind", choices=["bert", "bert-pruned", "distilbert", "bert-base", "bert-token", "bert-qa"])
    tiny.add_argument("vocab_txt")
    tiny.add_argument("out")
    cmp = sub.add_parser("compare")
    cmp.add_argument("model")
    cmp.add_argument("outputs")
    cmp.add_argument("--tolerance", type=float, default=1e-4)
    cmp.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.command == "make-tiny":
        make_tiny(args.kind, args.vocab_txt, args.out)
        return 0
    return compare(args.model, args.outputs, args.tolerance, args.threads)


if __name__ == "__main__":
    sys.exit(main())
