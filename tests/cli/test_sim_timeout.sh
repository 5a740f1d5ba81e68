#!/usr/bin/env bash
# iotsec-sim against a daemon that does not answer: stopped (SIGSTOP: connections are
# accepted, nothing is answered) and then gone. Each run must end on its own with exit
# status 2 and a message saying the daemon did not answer, within --timeout (2 s here) plus
# a little: the outer `timeout 60` only catches a simulator that hangs (exit 124 = failure).
# usage: test_sim_timeout.sh BUILD_DIR
set -u
. "$(dirname "$0")/lib.sh"
cli_begin sim-timeout "$1"
sim="$build/tools/iotsec-sim/iotsec-sim"

start_daemon

# a live daemon: the run works (the bound does not cut a healthy run short)
timeout 60 "$sim" fleet --dir "$dir/inst" --ready "$dir/ready" --devices 2 --timeout 2 \
    >"$dir/out" 2>"$dir/err"
rc=$?
[ $rc -eq 0 ] && ok || ko "live daemon: exit $rc ($(cat "$dir/err"))"

sim_silent() { # NAME MESSAGE_PATTERN
    timeout 60 "$sim" fleet --dir "$dir/inst" --ready "$dir/ready" --devices 2 --timeout 2 \
        >"$dir/out" 2>"$dir/err"
    local rc=$?
    if [ $rc -ne 2 ]; then
        ko "$1: exit $rc, want 2 ($(cat "$dir/err"))"
    elif ! grep -q "$2" "$dir/err"; then
        ko "$1: message: $(cat "$dir/err")"
    else
        ok
    fi
}

kill -STOP $pid
sim_silent "stopped daemon" "no answer from iotsecd"
kill -CONT $pid

kill $pid; wait $pid; pid=""
sim_silent "no daemon" "is the daemon of this instance running"

cli_end
