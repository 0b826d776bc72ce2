#!/usr/bin/env bash
# Installs what fttrain needs on a fresh Debian machine and builds it (release).
#   scripts/setup.sh            install system packages (when missing) and build
#   scripts/setup.sh --no-build install only
# Idempotent: packages already present are not reinstalled.
set -euo pipefail
cd "$(dirname "$0")/.."

# iproute2 and procps: the multi-host test (ip netns) and the dead-rank test (pgrep); libdnnl-dev:
# oneDNN's bfloat16 and int8 matrix products.
packages=(libopenmpi-dev openmpi-bin libopenblas-dev libdnnl-dev pkg-config iproute2 procps)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for lib in openblas ompi-c; do
    pkg-config --exists "$lib" || { echo "setup: pkg-config cannot find $lib after installing" >&2; exit 1; }
done

export PATH="/opt/swift/usr/bin:$PATH"
command -v swift >/dev/null || { echo "setup: swift not found (expected at /opt/swift)" >&2; exit 1; }
if [ "${1:-}" != "--no-build" ]; then
    swift build -c release --product fttrain
fi
