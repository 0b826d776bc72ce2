#!/usr/bin/env bash
# Regenerates Sources/FTTrain/Report/TensorBoard/tensorboard_event.pb.swift from
# scripts/proto/tensorboard_event.proto with protoc (apt-get install protobuf-compiler) and
# protoc-gen-swift 1.39.0 (built from apple/swift-protobuf at that tag, the version Package.swift
# pins). The generated file is committed: building fttrain needs neither tool.
#   scripts/proto/generate_tensorboard.sh [PATH-TO-protoc-gen-swift]
set -euo pipefail
cd "$(dirname "$0")/../.."
plugin="${1:-$(command -v protoc-gen-swift || echo /tmp/swift-protobuf-build/.build/release/protoc-gen-swift)}"
[ -x "$plugin" ] || { echo "protoc-gen-swift not found: build it from swift-protobuf 1.39.0 and pass its path" >&2; exit 1; }
"$plugin" --version
protoc --plugin=protoc-gen-swift="$plugin" --proto_path=scripts/proto \
    --swift_out=Sources/FTTrain/Report/TensorBoard scripts/proto/tensorboard_event.proto
echo "wrote Sources/FTTrain/Report/TensorBoard/tensorboard_event.pb.swift"
