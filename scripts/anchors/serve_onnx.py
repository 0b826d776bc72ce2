"""The serving benchmark's anchor (issue 16): the guide's deployment stack — FastAPI + uvicorn +
ONNX Runtime — serving the ONNX file `fttrain export --format onnx` wrote, with the request and
response JSON of `fttrain serve`'s POST /v1/predict (/work/notes/serve_api.md, docs/serve.md):

  POST /v1/predict  {"model": "NAME" (optional), "inputs": "text" | ["t1", ...] | [["a", "b"], ...]}
                 -> {"id": "...", "model": "NAME", "predictions": [{"label": "pos",
                     "probabilities": {"neg": 0.1, "pos": 0.9}}, ...]}
  GET /health -> {"status": "ok"};  GET /info -> {"models": [{"name", "kind", "labels", "max_length"}]}
  errors: 400/404/413 with {"error": "...", "error_type": "validation" | "not_found" | "too_large"}

Tokenisation is Hugging Face `tokenizers` on the model directory's tokenizer.json (or its
vocab.txt as a BertWordPiece tokenizer, lower-cased unless tokenizer_config.json says otherwise),
truncated to --max-length as `fttrain predict` does; labels come from config.json's id2label.
ONNX Runtime runs with intra_op_num_threads = --threads (inter-op 1), in ONE uvicorn worker;
requests are handled as the usual FastAPI + ONNX Runtime tutorial does: an `async` endpoint that
tokenises and runs the session itself, one request at a time (no dynamic batching).

  python serve_onnx.py --onnx model.onnx --model-dir DIR [--name rt] [--host 127.0.0.1]
                       [--port 0] [--threads 2] [--max-length 128]

When ready it prints one line, as `fttrain serve` does: `serve_onnx: listening on http://HOST:PORT`.
"""

import argparse
import contextlib
import json
import os
import socket
import sys
import uuid
from pathlib import Path

import numpy as np
import onnxruntime as ort
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tokenizers import Tokenizer
from tokenizers.implementations import BertWordPieceTokenizer

MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_INPUTS = 64


class APIError(Exception):
    def __init__(self, status: int, message: str, kind: str):
        self.status, self.message, self.kind = status, message, kind


def load_tokenizer(model_dir: Path, max_length: int):
    """tokenizer.json if the directory has one, else vocab.txt as BERT's WordPiece."""
    if (model_dir / "tokenizer.json").exists():
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    else:
        lowercase = True
        config = model_dir / "tokenizer_config.json"
        if config.exists():
            lowercase = json.loads(config.read_text()).get("do_lower_case", True)
        tokenizer = BertWordPieceTokenizer(str(model_dir / "vocab.txt"), lowercase=lowercase)
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()
    return tokenizer


def labels_of(model_dir: Path) -> list:
    config = json.loads((model_dir / "config.json").read_text())
    id2label = config.get("id2label")
    if not id2label:
        sys.exit(f"serve_onnx: {model_dir}/config.json has no id2label: not a classifier")
    return [id2label[str(i)] for i in range(len(id2label))]


def parse_inputs(body) -> list:
    """The texts (str) or text pairs ((a, b)) of a request, or APIError 400 naming the problem."""
    if not isinstance(body, dict):
        raise APIError(400, "the request body must be a JSON object", "validation")
    if "inputs" not in body:
        raise APIError(400, "missing field \"inputs\"", "validation")
    raw = body["inputs"]
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise APIError(400, "\"inputs\" must be a string, an array of strings or an array of [text, pair] arrays", "validation")
    if not items:
        raise APIError(400, "\"inputs\" is empty", "validation")
    if len(items) > MAX_INPUTS:
        raise APIError(400, f"\"inputs\" has {len(items)} items, more than the limit {MAX_INPUTS}", "validation")
    texts = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, list) and len(item) == 2 and all(isinstance(t, str) for t in item):
            texts.append((item[0], item[1]))
        else:
            raise APIError(400, f"inputs[{i}] must be a string or a [text, pair] array of two strings", "validation")
        if (item if isinstance(item, str) else "".join(item)) == "":
            raise APIError(400, f"inputs[{i}] is empty", "validation")
    return texts


def build_app(args) -> FastAPI:
    model_dir = Path(args.model_dir)
    labels = labels_of(model_dir)
    tokenizer = load_tokenizer(model_dir, args.max_length)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(args.onnx, options, providers=["CPUExecutionProvider"])
    input_names = [i.name for i in session.get_inputs()]
    ready_line = f"serve_onnx: listening on http://{args.host}:{args.bound_port}"

    @contextlib.asynccontextmanager
    async def lifespan(app):
        print(ready_line, flush=True)  # the socket is listening: connections queue until the loop serves them
        yield

    app = FastAPI(lifespan=lifespan)

    @app.exception_handler(APIError)
    async def api_error(request: Request, error: APIError):
        return JSONResponse({"error": error.message, "error_type": error.kind}, status_code=error.status,
                            headers={"x-request-id": uuid.uuid4().hex})

    @app.get("/health")
    async def health():
        return JSONResponse({"status": "ok"}, headers={"x-request-id": uuid.uuid4().hex})

    @app.get("/info")
    async def info():
        return {"version": "serve_onnx", "models": [{"name": args.name, "kind": "classifier", "labels": labels,
                                                     "max_length": args.max_length, "lineage": None}], "routes": {}}

    @app.post("/v1/predict")
    async def predict(request: Request):
        request_id = uuid.uuid4().hex
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise APIError(413, f"the body has {len(raw)} bytes, more than the limit {MAX_BODY_BYTES}", "too_large")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as error:
            raise APIError(400, f"malformed JSON: {error}", "validation")
        texts = parse_inputs(body)
        name = body.get("model", args.name)
        if name != args.name:
            raise APIError(404, f"unknown model \"{name}\" (serving: {args.name})", "not_found")
        encodings = tokenizer.encode_batch(texts)
        T = max(len(e.ids) for e in encodings)
        feed = {k: np.zeros((len(encodings), T), np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
        for row, e in enumerate(encodings):
            n = len(e.ids)
            feed["input_ids"][row, :n] = e.ids
            feed["attention_mask"][row, :n] = e.attention_mask
            feed["token_type_ids"][row, :n] = e.type_ids
        logits = session.run(["logits"], {k: feed[k] for k in input_names})[0]
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities = exp / exp.sum(axis=1, keepdims=True)
        predictions = [{"label": labels[int(p.argmax())], "probabilities": {label: float(v) for label, v in zip(labels, p)}}
                       for p in probabilities]
        return JSONResponse({"id": request_id, "model": args.name, "predictions": predictions},
                            headers={"x-request-id": request_id})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", required=True, help="the ONNX file (fttrain export --format onnx)")
    parser.add_argument("--model-dir", required=True, help="the fttrain model directory: config.json (id2label), tokenizer")
    parser.add_argument("--name", default="rt")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed in the ready line)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("FTTRAIN_THREADS", "2")))
    parser.add_argument("--max-length", type=int, default=128)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    args.bound_port = sock.getsockname()[1]
    app = build_app(args)
    config = uvicorn.Config(app, workers=1, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
