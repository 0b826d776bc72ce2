#!/usr/bin/env bash
# Formats the Swift sources with the project's swift-format configuration (.swift-format: 4-space
# indent, 150 columns, existing line breaks respected; rules that would rename or restructure code
# are off), or with --check lists the files that differ and exits 1. With files (or folders) named,
# only those are formatted or checked; without, Sources, Tests and Package.swift (--check: every
# Swift file git tracks).
#   scripts/format.sh [--check] [FILE|DIR ...]
set -euo pipefail
export PATH="/opt/swift/usr/bin:$PATH"
check=0
if [ "${1:-}" = "--check" ]; then
    check=1
    shift
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
files=()
if [ $# -gt 0 ]; then
    # Named by the caller, relative to where it stands: folders give the Swift files below them.
    for path in "$@"; do
        if [ -d "$path" ]; then
            while IFS= read -r file; do files+=("$file"); done < <(find "$path" -name '*.swift' -type f | sort)
        elif [ -f "$path" ]; then
            files+=("$path")
        else
            echo "format.sh: $path: no such file or folder" >&2
            exit 2
        fi
    done
else
    cd "$root"
    while IFS= read -r file; do files+=("$file"); done < <(git ls-files '*.swift')
fi
if [ "$check" = 0 ] && [ $# -eq 0 ]; then
    exec swift-format format --configuration .swift-format --in-place --recursive Sources Tests Package.swift
fi
[ ${#files[@]} -gt 0 ] || exit 0
if [ "$check" = 1 ]; then
    status=0
    for file in "${files[@]}"; do
        if ! diff -q <(swift-format format --configuration "$root/.swift-format" "$file") "$file" >/dev/null; then
            echo "needs formatting: $file"
            status=1
        fi
    done
    exit $status
fi
swift-format format --configuration "$root/.swift-format" --in-place "${files[@]}"
