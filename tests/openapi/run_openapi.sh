#!/usr/bin/env bash
# The OpenAPI tests' one runner: runs e2e test binaries (a real daemon each) with DUMP_VAR set
# to a fresh directory, where they record bodies or exchanges, then validates what they
# recorded with validate.js; @DUMP in the validator's arguments names that directory.
# usage: run_openapi.sh DUMP_VAR TEST_BINARY... -- VALIDATE_ARGS...
set -u
var=${1:?usage: run_openapi.sh DUMP_VAR TEST_BINARY... -- VALIDATE_ARGS...}
shift
bins=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    bins+=("$1")
    shift
done
shift
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/ajv" ]; then
    echo "openapi: tests/openapi/node_modules is missing: run scripts/setup (npm ci there)" >&2
    exit 1
fi
out=$(mktemp -d /tmp/iotsec-openapi-XXXXXX)
trap 'rm -rf "$out"' EXIT
for bin in "${bins[@]}"; do
    if ! env "$var=$out" "$bin" >"$out/$(basename "$bin").log" 2>&1; then
        cat "$out/$(basename "$bin").log" >&2
        echo "openapi: $(basename "$bin") failed" >&2
        exit 1
    fi
done
args=()
for a in "$@"; do
    args+=("${a//@DUMP/$out}")
done
exec node "$here/validate.js" "${args[@]}"
