#!/usr/bin/env bash
# The validator's own test: a capture it must accept (documented operations, the router's
# 404/405, exchanges of another face, no answer) and one whose every line is a defect it must
# report (an undocumented route and method, a body, status or media type the document does not
# allow, a body where none is, no Location, a request body it would not accept, a bad
# ProblemDetails), with the undocumented routes listed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/ajv" ]; then
    echo "openapi: tests/openapi/node_modules is missing: run scripts/setup (npm ci there)" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
mkdir "$tmp/good" "$tmp/bad"
cp "$here/selftest/good.jsonl" "$tmp/good/"
cp "$here/selftest/bad.jsonl" "$tmp/bad/"
v() { node "$here/validate.js" --exchanges "$1" --api "admin:$here/selftest/api.yaml" --min 1; }
if ! v "$tmp/good" >"$tmp/good.log" 2>&1; then
    cat "$tmp/good.log" >&2
    echo "FAIL: the good capture was refused" >&2
    fail=1
fi
v "$tmp/bad" >"$tmp/bad.log" 2>&1 && { echo "FAIL: the bad capture passed" >&2; fail=1; }
lines=$(wc -l <"$here/selftest/bad.jsonl")
grep -q "openapi: $lines checked, $lines failures" "$tmp/bad.log" ||
    { cat "$tmp/bad.log" >&2; echo "FAIL: not one failure per bad line" >&2; fail=1; }
for want in 'UNDOCUMENTED routes \(3\)' 'admin GET /undocumented' 'admin PUT /things/\{id\}' 'device GET /elsewhere' \
    'body does not validate' 'status not documented' 'media type text/plain' \
    'a body where the documented status has none' 'no Location' \
    'accepted a request body that does not validate' 'not a ProblemDetails|body does not validate'; do
    grep -Eq "$want" "$tmp/bad.log" || { echo "FAIL: the report lacks '$want'" >&2; fail=1; }
done
[ "$fail" -eq 0 ] && echo "openapi selftest: ok"
exit "$fail"
