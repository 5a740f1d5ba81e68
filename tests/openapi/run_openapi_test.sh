#!/usr/bin/env bash
# The OpenAPI validation test: runs the T8 e2e test (a real daemon, two AFs, a notification
# sink) with IOTSEC_T8_DUMP set, then validates every recorded response, error and
# notification body against TS29122_MonitoringEvent.yaml with Ajv (validate.js).
# usage: run_openapi_test.sh T8_TEST_BINARY SPEC_DIR
set -u
test_bin=${1:-}
spec=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/ajv" ]; then
    echo "openapi: tests/openapi/node_modules is missing: run scripts/setup (npm ci there)" >&2
    exit 1
fi
if [ ! -f "$spec/TS29122_MonitoringEvent.yaml" ]; then
    echo "openapi: no 3GPP OpenAPI files in '$spec' (configure with -DIOTSEC_3GPP_OPENAPI=DIR)" >&2
    exit 1
fi
out=$(mktemp -d /tmp/iotsec-openapi-XXXXXX)
trap 'rm -rf "$out"' EXIT
if ! IOTSEC_T8_DUMP=$out "$test_bin" >"$out/t8.log" 2>&1; then
    cat "$out/t8.log" >&2
    echo "openapi: the T8 e2e test failed" >&2
    exit 1
fi
node "$here/validate.js" "$spec" "$out" 40
