#!/usr/bin/env bash
# Regenerates Sources/FTTrain/Export/ONNX/onnx.pb.swift, the committed swift-protobuf message code
# of ONNX (never run by the build or CI: the file is committed so no protoc plugin is built there).
#   scripts/generate_onnx_swift.sh
# Steps: onnx.proto3 is made from the onnx PyPI package's onnx.in.proto by onnx's own gen_proto
# translation (onnx ships onnx.proto, proto2, and that generator; newer releases no longer ship the
# .proto3 file itself); protoc from Debian's protobuf-compiler; protoc-gen-swift built once in a
# temporary directory from swift-protobuf 1.39.0, the version Package.swift names.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
work="${ONNX_GEN_DIR:-/tmp/onnx-swift-gen}"
mkdir -p "$work"
command -v protoc >/dev/null || apt-get install -y -qq protobuf-compiler >/dev/null
if [ ! -x "$work/venv/bin/python" ] || ! "$work/venv/bin/python" -c "import onnx" 2>/dev/null; then
    python3 -m venv "$work/venv" && "$work/venv/bin/pip" install --quiet onnx
fi
"$work/venv/bin/python" - "$work/onnx.proto3" <<'PY'
import pathlib, sys
import onnx, onnx.gen_proto as g
source = (pathlib.Path(onnx.__file__).parent / "onnx.in.proto").read_text()
pathlib.Path(sys.argv[1]).write_text(g.translate(source, proto=3, onnx_ml=False, package_name="onnx") + "\n")
print(f"onnx {onnx.__version__}: {sys.argv[1]}")
PY
if [ ! -x "$work/swift-protobuf/.build/release/protoc-gen-swift" ]; then
    rm -rf "$work/swift-protobuf"
    git clone -q --branch 1.39.0 https://github.com/apple/swift-protobuf "$work/swift-protobuf"
    (cd "$work/swift-protobuf" && swift build -c release --product protoc-gen-swift)
fi
(cd "$work" && protoc --plugin=protoc-gen-swift="$work/swift-protobuf/.build/release/protoc-gen-swift" \
    --swift_out=. --swift_opt=Visibility=Internal onnx.proto3)
cp "$work/onnx.pb.swift" Sources/FTTrain/Export/ONNX/onnx.pb.swift
echo "wrote Sources/FTTrain/Export/ONNX/onnx.pb.swift"
