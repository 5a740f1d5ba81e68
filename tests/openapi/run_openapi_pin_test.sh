#!/usr/bin/env bash
# The PIN OpenAPI test: runs tests/e2e/test_pin (a real daemon, two AFs on PINs) with
# IOTSEC_PIN_DUMP set, then validates the QoS requests for PINEs and the PIN routing policies
# the northbound face accepted, and its ProblemDetails, against TS 29.122 / TS 29.522.
# usage: run_openapi_pin_test.sh PIN_TEST_BINARY SPEC_DIR
set -u
test_bin=${1:-}
spec=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/ajv" ]; then
    echo "openapi: tests/openapi/node_modules is missing: run scripts/setup (npm ci there)" >&2
    exit 1
fi
if [ ! -f "$spec/TS29122_AsSessionWithQoS.yaml" ]; then
    echo "openapi: no 3GPP OpenAPI files in '$spec' (configure with -DIOTSEC_3GPP_OPENAPI=DIR)" >&2
    exit 1
fi
out=$(mktemp -d /tmp/iotsec-openapi-pin-XXXXXX)
trap 'rm -rf "$out"' EXIT
if ! IOTSEC_PIN_DUMP=$out "$test_bin" >"$out/pin.log" 2>&1; then
    cat "$out/pin.log" >&2
    echo "openapi: the PIN e2e test failed" >&2
    exit 1
fi
node "$here/validate_pin.js" "$spec" "$out" 4
