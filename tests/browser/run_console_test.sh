#!/usr/bin/env bash
# ctest's browser_console: the console test with the node modules of tests/browser (installed by
# scripts/setup from the committed lock file) and Debian's chromium.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for need in node /usr/bin/chromium "$here/node_modules/puppeteer-core"; do
    [ -e "$need" ] || command -v "$need" >/dev/null || {
        echo "browser_console: $need is missing: run scripts/setup" >&2; exit 1; }
done
cd "$here"
exec node console.test.js "$1" "$2"
