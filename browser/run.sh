#!/usr/bin/env bash
# The browser test on its own: installs what it needs, runs it, and leaves
# screenshots of every page in target/browser-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash browser/setup.sh
INVITD_BROWSER_TESTS=1 cargo test -p invitd-server --test api browser
echo "screenshots: $(pwd)/target/browser-artifacts/"
