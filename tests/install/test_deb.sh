#!/usr/bin/env bash
# `make deb` (scripts/deb) as a release would run it: the package's control fields and
# dependencies (dpkg-shlibdeps), its contents (binaries, SDK, man pages, completion, the unit,
# sysusers/tmpfiles, the OpenAPI documents, an example configuration), its maintainer scripts,
# and the binaries it ships run; lintian's errors when lintian is installed.
# usage: test_deb.sh SOURCE_DIR BUILD_DIR
set -u
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ko() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

if ! deb=$("$src/scripts/deb" "$build" "$tmp/out" 2>"$tmp/deb.log"); then
    cat "$tmp/deb.log" >&2
    echo "FAIL: scripts/deb" >&2
    exit 1
fi
[ -f "$deb" ] || { echo "FAIL: no package at '$deb'" >&2; exit 1; }

info=$(dpkg-deb --info "$deb")
for k in 'Package: iotsec' "Architecture: $(dpkg --print-architecture)" 'Depends: .*libssl3' \
    'Depends: .*libsqlite3' 'Depends: .*libnghttp2' 'Maintainer: ' 'Description: '; do
    grep -q "^ $k" <<<"$info" || ko "control lacks $k"
done
contents=$(dpkg-deb --contents "$deb" | awk '{print $6}')
for f in ./usr/bin/iotsecd ./usr/bin/iotsecctl ./usr/bin/iotsec-sim \
    ./usr/lib/libiotsec_device.a ./usr/include/iotsec/onboard.h \
    ./usr/lib/pkgconfig/iotsec-device.pc ./usr/lib/systemd/system/iotsecd.service \
    ./usr/lib/sysusers.d/iotsec.conf ./usr/lib/tmpfiles.d/iotsec.conf \
    ./usr/share/man/man1/iotsecctl.1.gz ./usr/share/man/man8/iotsecd.8.gz \
    ./usr/share/bash-completion/completions/iotsecctl ./usr/share/doc/iotsec/copyright \
    ./usr/share/doc/iotsec/openapi/admin.yaml ./usr/share/doc/iotsec/examples/iotsec.yaml; do
    grep -qx "$f" <<<"$contents" || ko "package lacks $f"
done
# Nothing of the build tree or of a test instance (no keys, no database) in the package.
grep -E '\.(key|db|o)$|/build/|/tmp/' <<<"$contents" && ko "build or instance files packaged"

dpkg-deb -x "$deb" "$tmp/root"
dpkg-deb -e "$deb" "$tmp/control"
for s in postinst postrm; do
    sh -n "$tmp/control/$s" || ko "$s is not valid sh"
done
grep -qx 'ExecStart=/usr/bin/iotsecd run --dir /var/lib/iotsec' \
    "$tmp/root/usr/lib/systemd/system/iotsecd.service" || ko "unit: ExecStart"
grep -q '^ExecReload=' "$tmp/root/usr/lib/systemd/system/iotsecd.service" || ko "unit: ExecReload"
grep -q '/var/lib/iotsec' "$tmp/root/usr/share/doc/iotsec/examples/iotsec.yaml" ||
    ko "the example configuration does not name /var/lib/iotsec"
grep -q "$tmp" "$tmp/root/usr/share/doc/iotsec/examples/iotsec.yaml" &&
    ko "the example configuration names the build's temporary directory"
want=$(sed -n 's/^project(iotsec VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
for b in iotsecd iotsecctl; do
    "$tmp/root/usr/bin/$b" --version 2>&1 | grep -q "$want" || ko "$b --version does not say $want"
done

if command -v lintian >/dev/null; then
    lintian --no-tag-display-limit "$deb" >"$tmp/lintian.log" 2>&1
    if grep -q '^E: ' "$tmp/lintian.log"; then
        grep '^E: ' "$tmp/lintian.log" >&2
        ko "lintian errors"
    fi
else
    echo "lintian not installed: skipped" >&2
fi
[ "$fail" -eq 0 ] && echo "deb: $(basename "$deb") ok" && exit 0
exit 1
