# Shared set-up of the benchmark scripts, sourced by them: the assets, the release build of
# fttrain, and the throw-away PyTorch environment ($TORCH_VENV if set, else .cache/bench-venv,
# created on first use with torch, transformers, peft, accelerate, scikit-learn, pyyaml and gguf;
# ~3 GB of wheels). `bench_setup NAME` sets `binary` and `venv`; NAME prefixes its messages.
bench_setup() {
    local name=$1 build_log
    scripts/fetch_assets.sh >/dev/null
    build_log=$(swift build -c release --product fttrain 2>&1) || { echo "$build_log" >&2; echo "$name: build failed" >&2; exit 1; }
    binary=$PWD/.build/release/fttrain
    venv=${TORCH_VENV:-.cache/bench-venv}
    if ! "$venv/bin/python" -c "import torch, transformers, peft, accelerate, sklearn, yaml, gguf" 2>/dev/null; then
        echo "$name: creating $venv (torch, transformers, peft, accelerate, scikit-learn, pyyaml, gguf)" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet torch transformers peft safetensors accelerate scikit-learn pyyaml gguf
    fi
}
