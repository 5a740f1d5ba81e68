#!/usr/bin/env bash
# `make install DESTDIR=...` as a packager runs it: the tree holds the daemon, the tools, the
# device SDK (libraries, headers, pkg-config files) and the service files; the unit passes
# `systemd-analyze verify` (when the machine has it); a program built with nothing but
# `pkg-config --cflags --libs iotsec-device` against the installed SDK compiles, links and runs.
# usage: test_install.sh SOURCE_DIR BUILD_DIR
set -u
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
fail=0
ko() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

if ! make -C "$src" --no-print-directory install BUILD="$build" DESTDIR="$root" PREFIX=/usr \
    >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    echo "FAIL: make install" >&2
    exit 1
fi

for f in usr/bin/iotsecd usr/bin/iotsecctl usr/bin/iotsec-sim; do
    [ -x "$root/$f" ] || ko "$f missing or not executable"
done
for f in usr/lib/libiotsec_device.a usr/lib/libiotsec_device_http.a usr/lib/libiotsec_crypto.a \
    usr/lib/libiotsec_base.a usr/include/iotsec/usim.h usr/include/iotsec/onboard.h \
    usr/include/iotsec/cred_store.h usr/include/iotsec/base/b64url.h \
    usr/include/iotsec/crypto/provision_crypto.h usr/lib/pkgconfig/iotsec-device.pc \
    usr/lib/pkgconfig/iotsec-device-http.pc usr/lib/systemd/system/iotsecd.service \
    usr/lib/sysusers.d/iotsec.conf usr/lib/tmpfiles.d/iotsec.conf \
    usr/share/bash-completion/completions/iotsecctl usr/share/man/man1/iotsecctl.1 \
    usr/share/man/man8/iotsecd.8; do
    [ -f "$root/$f" ] || ko "$f missing"
done
# Nothing of the build tree leaks into the install (no test binaries, no object files).
extra=$(cd "$root" && find . -type f | grep -vE '^\./usr/(bin|lib|include|share)/' || true)
[ -z "$extra" ] || ko "unexpected files: $extra"

unit=$root/usr/lib/systemd/system/iotsecd.service
grep -qx 'ExecStart=/usr/bin/iotsecd run --dir /var/lib/iotsec' "$unit" || ko "ExecStart does not name PREFIX/bin"
for k in Type=notify User=iotsec ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
    NoNewPrivileges=yes CapabilityBoundingSet= ReadWritePaths=/var/lib/iotsec \
    SystemCallFilter=@system-service; do
    grep -qx "$k" "$unit" || ko "unit lacks $k"
done
grep -q '^RestrictAddressFamilies=' "$unit" || ko "unit lacks RestrictAddressFamilies"
grep -q '^u iotsec ' "$root/usr/lib/sysusers.d/iotsec.conf" || ko "sysusers: no user iotsec"
grep -q '^d /var/lib/iotsec 0700 iotsec iotsec' "$root/usr/lib/tmpfiles.d/iotsec.conf" ||
    ko "tmpfiles: no 0700 instance directory"

if command -v systemd-analyze >/dev/null; then
    # verify resolves ExecStart on this machine: point it at the staged binary.
    mkdir -p "$tmp/verify"
    sed "s|^ExecStart=/usr/bin/iotsecd|ExecStart=$root/usr/bin/iotsecd|" "$unit" \
        >"$tmp/verify/iotsecd.service"
    # --man=no: the man pages are in the staging tree, not in this machine's man path.
    if ! systemd-analyze verify --man=no "$tmp/verify/iotsecd.service" >"$tmp/verify.log" 2>&1
    then
        ko "systemd-analyze verify: $(cat "$tmp/verify.log")"
    elif grep -q . "$tmp/verify.log"; then
        ko "systemd-analyze verify warned: $(cat "$tmp/verify.log")" # any warning is a defect
    fi
else
    echo "note: systemd-analyze not installed: unit not verified" >&2
fi

# A device program against the installed SDK only (not the source tree).
cat >"$tmp/dev.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <usim.h>
#include <base/b64url.h>
int main(void)
{
    uint8_t k[16] = {1}, opc[16] = {2}, rand[16] = {3}, autn[16] = {4}, b[6];
    struct usim u;
    struct usim_response r;
    usim_init(&u, k, opc);
    sqn_to_bytes(0x123456789abcULL, b);
    /* A forged AUTN must fail its MAC: proves Milenage really ran from the library. */
    enum usim_result res = usim_authenticate(&u, rand, autn, "5G:mnc001.mcc001.3gppnetwork.org",
                                             32, &r);
    usim_wipe(&u);
    printf("%d %d\n", sqn_from_bytes(b) == 0x123456789abcULL, res == USIM_MAC_FAILURE);
    return 0;
}
C
pc="pkg-config --define-variable=prefix=$root/usr"
export PKG_CONFIG_PATH=$root/usr/lib/pkgconfig
if ! flags=$($pc --cflags --libs iotsec-device 2>"$tmp/pc.err"); then
    ko "pkg-config iotsec-device: $(cat "$tmp/pc.err")"
elif ! cc -std=c11 -Wall -Werror -o "$tmp/dev" "$tmp/dev.c" $flags 2>"$tmp/cc.err"; then
    ko "compiling against the installed SDK ($flags): $(cat "$tmp/cc.err")"
elif [ "$("$tmp/dev")" != "1 1" ]; then
    ko "the SDK program ran wrong: $("$tmp/dev")"
fi
# The HTTP part resolves its dependencies (libcurl, libssl) too.
$pc --cflags --libs iotsec-device-http >/dev/null 2>&1 || ko "pkg-config iotsec-device-http"

# The installed tools run from the staged tree.
"$root/usr/bin/iotsecctl" --version | grep -q '^iotsecctl [0-9]' || ko "iotsecctl --version"
"$root/usr/bin/iotsecd" --version | grep -q '^iotsecd [0-9]' || ko "iotsecd --version"

[ $fail -eq 0 ] && echo "install: ok" && exit 0
exit 1
