#!/usr/bin/env bash
# The group message OpenAPI test: runs tests/e2e/test_group_delivery (a real daemon, AFs sending
# to a message group) with IOTSEC_GROUP_DUMP set, then validates the MbsGroupMsgDel requests and
# answers, the status notifications and the ProblemDetails against TS 29.522.
# usage: run_openapi_group_test.sh GROUP_TEST_BINARY SPEC_DIR
set -u
test_bin=${1:-}
spec=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/ajv" ]; then
    echo "openapi: tests/openapi/node_modules is missing: run scripts/setup (npm ci there)" >&2
    exit 1
fi
if [ ! -f "$spec/TS29522_MBSGroupMsgDelivery.yaml" ]; then
    echo "openapi: no 3GPP OpenAPI files in '$spec' (configure with -DIOTSEC_3GPP_OPENAPI=DIR)" >&2
    exit 1
fi
out=$(mktemp -d /tmp/iotsec-openapi-group-XXXXXX)
trap 'rm -rf "$out"' EXIT
if ! IOTSEC_GROUP_DUMP=$out "$test_bin" >"$out/group.log" 2>&1; then
    cat "$out/group.log" >&2
    echo "openapi: the group e2e test failed" >&2
    exit 1
fi
node "$here/validate_group.js" "$spec" "$out" 8
