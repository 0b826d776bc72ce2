#!/usr/bin/env bash
# Formats the Swift sources with the project's swift-format configuration (.swift-format: 4-space
# indent, 150 columns, existing line breaks respected; rules that would rename or restructure code
# are off), or with --check lists the files that differ and exits 1.
#   scripts/format.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
if [ "${1:-}" = "--check" ]; then
    status=0
    while IFS= read -r file; do
        if ! diff -q <(swift-format format --configuration .swift-format "$file") "$file" >/dev/null; then
            echo "needs formatting: $file"
            status=1
        fi
    done < <(git ls-files '*.swift')
    exit $status
fi
swift-format format --configuration .swift-format --in-place --recursive Sources Tests Package.swift
