#!/usr/bin/env bash
# The SBI OpenAPI test: runs the SBI e2e tests (a real daemon, HTTP/2 and HTTP/1.1 over mutual
# TLS) with IOTSEC_SBI_DUMP set, so that every Nausf and Nudm exchange they make, success and
# error, is recorded, then validates each against TS29509_Nausf_UEAuthentication.yaml and
# TS29503_Nudm_UEAU.yaml (validate_sbi.js: operation, status, media type, body, Location).
# usage: run_openapi_sbi.sh SPEC_DIR TEST_BINARY...
set -u
spec=${1:-}
shift
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/ajv" ]; then
    echo "openapi: tests/openapi/node_modules is missing: run scripts/setup (npm ci there)" >&2
    exit 1
fi
if [ ! -f "$spec/TS29509_Nausf_UEAuthentication.yaml" ]; then
    echo "openapi: no 3GPP OpenAPI files in '$spec' (configure with -DIOTSEC_3GPP_OPENAPI=DIR)" >&2
    exit 1
fi
out=$(mktemp -d /tmp/iotsec-openapi-sbi-XXXXXX)
trap 'rm -rf "$out"' EXIT
for bin in "$@"; do
    if ! IOTSEC_SBI_DUMP=$out "$bin" >"$out/$(basename "$bin").log" 2>&1; then
        cat "$out/$(basename "$bin").log" >&2
        echo "openapi: $(basename "$bin") failed" >&2
        exit 1
    fi
done
node "$here/validate_sbi.js" "$spec" "$out" 100
