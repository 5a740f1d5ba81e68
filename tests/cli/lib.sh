# Shared by the CLI tests that drive iotsecctl against a live iotsecd (sourced, not run).
# A test: `. "$(dirname "$0")/lib.sh"; cli_begin NAME BUILD_DIR; start_daemon; run ...;
# cli_end`. It gets $ctl, $iotsecd, $dir (removed at exit), $pid (the daemon), and after each
# `run` the command's stdout in $out and $dir/last, its stderr in $dir/err.

cli_begin() {
    cli_name=$1
    build=$2
    ctl="$build/tools/iotsecctl/iotsecctl"
    iotsecd="$build/src/daemon/iotsecd"
    dir=$(mktemp -d "/tmp/iotsec-cli-$1-XXXXXX")
    pass=0
    fail=0
    pid=""
    out=""
    trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
}

ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null; }
# Ports below the kernel's ephemeral range (32768+), which outbound connections take as source
# ports at any moment.
pick_port() { local p; while :; do p=$((20000 + RANDOM % 12000)); port_free $p && { echo $p; return; }; done; }

# run NAME WANT_EXIT JQ_CHECK|- CMD...: iotsecctl --dir $dir/inst CMD..., exit code and output.
run() {
    local name=$1 want=$2 check=$3 rc
    shift 3
    out=$("$ctl" --dir "$dir/inst" "$@" 2>"$dir/err")
    rc=$?
    echo "$out" >"$dir/last"
    if [ $rc -ne "$want" ]; then
        ko "$name: exit $rc, want $want ($(cat "$dir/err"))"
    elif [ "$check" != - ] && ! jq -e "$check" <<<"$out" >/dev/null 2>&1; then
        ko "$name: output '$out' fails $check"
    else
        ok
    fi
}

# Creates $dir/inst and starts iotsecd on it. iotsecctl finds the admin face through the
# configuration, so the SBI and admin ports are real ones picked here (the others are 0). A
# port taken between the pick and the bind, or a slow start on a loaded machine, is retried
# with fresh ports rather than failing the test.
start_daemon() {
    local attempt
    for attempt in 1 2 3; do
        rm -rf "$dir/inst"
        "$iotsecd" init --dir "$dir/inst" --sbi 127.0.0.1:$(pick_port) --admin 127.0.0.1:$(pick_port) \
            --northbound 127.0.0.1:0 --device 127.0.0.1:0 >/dev/null || { echo "init failed"; exit 1; }
        [ -n "${CLI_EXTRA_YAML:-}" ] && printf '%s\n' "$CLI_EXTRA_YAML" >>"$dir/inst/iotsec.yaml"
        "$iotsecd" run --dir "$dir/inst" >"$dir/ready" 2>"$dir/log" &
        pid=$!
        for _ in $(seq 300); do
            [ -s "$dir/ready" ] && break
            kill -0 $pid 2>/dev/null || break
            sleep 0.05
        done
        grep -q '"event":"ready"' "$dir/ready" && return 0
        kill $pid 2>/dev/null; wait $pid 2>/dev/null; pid=""
    done
    echo "daemon did not start"; cat "$dir/log"; exit 1
}

cli_end() {
    echo "$cli_name: $pass passed, $fail failed"
    if [ $fail -ne 0 ] && [ -f "$dir/log" ]; then
        echo "daemon log (last lines):"; tail -20 "$dir/log"
    fi
    [ $fail -eq 0 ]
}
