#!/usr/bin/env bash
# The NRF OpenAPI test: runs tests/e2e/test_nrf (a real daemon against the test NRF) with
# IOTSEC_NRF_DUMP set, then validates every NFRegister and NFUpdate body iotsecd sent, and the
# token exchange, against TS29510_Nnrf_NFManagement.yaml and TS29510_Nnrf_AccessToken.yaml.
# usage: run_openapi_nrf_test.sh NRF_TEST_BINARY SPEC_DIR
set -u
test_bin=${1:-}
spec=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/ajv" ]; then
    echo "openapi: tests/openapi/node_modules is missing: run scripts/setup (npm ci there)" >&2
    exit 1
fi
if [ ! -f "$spec/TS29510_Nnrf_NFManagement.yaml" ]; then
    echo "openapi: no 3GPP OpenAPI files in '$spec' (configure with -DIOTSEC_3GPP_OPENAPI=DIR)" >&2
    exit 1
fi
out=$(mktemp -d /tmp/iotsec-openapi-nrf-XXXXXX)
trap 'rm -rf "$out"' EXIT
if ! IOTSEC_NRF_DUMP=$out "$test_bin" >"$out/nrf.log" 2>&1; then
    cat "$out/nrf.log" >&2
    echo "openapi: the NRF e2e test failed" >&2
    exit 1
fi
node "$here/validate_nrf.js" "$spec" "$out" 10
