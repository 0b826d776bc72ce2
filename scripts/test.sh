#!/usr/bin/env bash
# The test command: installs what is missing, fetches the real model, builds and runs every test.
#   scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh --no-build
scripts/fetch_assets.sh
# Tests run the built binary (CommandLineTests), so build everything first.
swift build --build-tests
swift test --skip-build
