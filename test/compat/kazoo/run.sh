#!/usr/bin/env bash
# Runs kazoo's own installed test suite (python3-kazoo 2.8.0) against one server or ensemble.
#   test/compat/kazoo/run.sh zk       -> Apache ZooKeeper 3.8.0 (reference-zk.sh)
#   test/compat/kazoo/run.sh zephyr   -> ZephyrCoord (zephyr-server.sh)
#   test/compat/kazoo/run.sh zk-ensemble | zephyr-ensemble
#                                     -> a 3-member ensemble of either (test/support/ensemble-cli.ts,
#                                        needs dist/ built); clients get all three addresses
#   test/compat/kazoo/run.sh zk-readonly | zephyr-readonly
#                                     -> TestReadOnlyMode alone, on such an ensemble with local
#                                        sessions on (ZooKeeper's read-only server needs them)
# Extra arguments are passed to pytest (e.g. -k test_lock, -x); node ids such as
# kazoo/tests/test_lock.py::TestSemaphore are resolved against the installed package.
# Environment:
#   KAZOO_REPORT_DIR     where to write junit xml + log (default: the run's temp dir)
#   KAZOO_TEST_TIMEOUT   per-test timeout in seconds (default 120)
#   KAZOO_SUITE_TIMEOUT  whole-run timeout in seconds (default 900)
#   PYTHON               interpreter with kazoo + pytest (default /usr/bin/python3)
set -uo pipefail

kind=${1:-}
case "$kind" in
  zk)     launcher=reference-zk.sh ;;
  zephyr) launcher=zephyr-server.sh ;;
  zk-ensemble | zephyr-ensemble | zk-readonly | zephyr-readonly) launcher=ensemble ;;
  *) echo "usage: $0 zk|zephyr|zk-ensemble|zephyr-ensemble|zk-readonly|zephyr-readonly [pytest args...]" >&2; exit 2 ;;
esac
shift

here=$(cd "$(dirname "$0")" && pwd)
compat=$(cd "$here/.." && pwd)
python=${PYTHON:-/usr/bin/python3}
kazoo_dir=$("$python" -c 'import os, kazoo; print(os.path.dirname(kazoo.__file__))') || {
  echo "kazoo is not importable with $python" >&2; exit 2; }
site_dir=$(dirname "$kazoo_dir")
suite_timeout=${KAZOO_SUITE_TIMEOUT:-900}
export KAZOO_TEST_TIMEOUT=${KAZOO_TEST_TIMEOUT:-120}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kazoo-$kind.XXXXXX")
report_dir=${KAZOO_REPORT_DIR:-$tmp}
mkdir -p "$report_dir"
server_dir=$tmp/server

# shellcheck source=../server-lib.sh
. "$compat/server-lib.sh"
control=
deselected=$here/deselected.txt
[ "$launcher" = ensemble ] && deselected=$here/deselected-ensemble.txt
# The read-only run: one test class, which the ensemble run deselects, with its own settings.
ensemble_settings=()
readonly_test=kazoo/tests/test_connection.py::TestReadOnlyMode
case "$kind" in
  *-readonly)
    deselected=/dev/null
    ensemble_settings=(--set=localSessionsEnabled=true --set=localSessionsUpgradingEnabled=true)
    [ $# -eq 0 ] && set -- "$readonly_test"
    ;;
esac

cleanup() {
  if [ "$launcher" = ensemble ]; then
    stop_ensemble
  else
    "$compat/$launcher" stop "$server_dir" >/dev/null 2>&1 || true
    rm -rf "$server_dir/data"   # keep config + server logs for debugging
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$launcher" = ensemble ]; then
  echo "kazoo vs $kind: starting a 3-member ensemble (dir $server_dir)"
  # readonlymode.enabled and reconfigEnabled: kazoo's own harness starts its servers so. No
  # fault proxies: with them each member sees the others at other addresses, and the first
  # leader's membership, which reconfiguration writes to every member's files, would give a
  # restarted member the leader's view of its ports.
  if ! start_ensemble "$server_dir" "${kind%-*}" --no-proxy "${TEST_PROPERTIES[@]/#/--set=}" --set=maxClientCnxns=0 \
    --set=readonlymode.enabled=true --set=reconfigEnabled=true ${ensemble_settings[@]+"${ensemble_settings[@]}"}; then
    echo "kazoo vs $kind: ensemble failed to start" >&2
    exit 1
  fi
  servers=$ensemble_connect
  control=$ensemble_control
else
  port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  servers=127.0.0.1:$port
  echo "kazoo vs $kind: starting server on $servers (dir $server_dir)"
  if ! "$compat/$launcher" start "$server_dir" "$port"; then
    echo "kazoo vs $kind: server failed to start" >&2
    exit 1
  fi
fi
echo "kazoo vs $kind: servers $servers"

# deselected.txt (deselected-ensemble.txt for an ensemble) -> --deselect (node id prefixes) and -k "not (...)" (keyword expressions)
deselect_args=()
kexprs=()
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%%#*}
  line=$(echo "$line" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
  [ -z "$line" ] && continue
  if [[ "$line" == *::* || "$line" == *.py ]]; then
    deselect_args+=(--deselect "$line")
  else
    kexprs+=("not ($line)")
  fi
done < "$deselected"
if [ ${#kexprs[@]} -gt 0 ]; then
  kexpr=$(printf '%s and ' "${kexprs[@]}"); kexpr=${kexpr% and }
  deselect_args+=(-k "$kexpr")
fi

# Extra args: node ids written as kazoo/tests/... are resolved against the installed
# package (and replace the default "whole suite" target); anything else goes to pytest.
extra=()
targets=()
for a in "$@"; do
  if [[ "$a" == kazoo/* ]]; then targets+=("$site_dir/$a"); else extra+=("$a"); fi
done
[ ${#targets[@]} -eq 0 ] && targets=("$kazoo_dir/tests")

junit=$report_dir/kazoo-$kind.xml
log=$report_dir/kazoo-$kind.log

# PYTHONDONTWRITEBYTECODE + no:cacheprovider: write nothing under /usr/lib/python3.
# TRAVIS + ZOOKEEPER_VERSION: kazoo's marker for a CI run against a known server version; it runs
# test_build, which asserts the version the server reports (kazoo skips it otherwise).
# SIGINT on overall timeout lets pytest print its summary and write the junit xml.
(
  cd "$tmp" &&
  PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" \
  PYTHONDONTWRITEBYTECODE=1 \
  KAZOO_EXTERNAL_SERVER="$servers" \
  KAZOO_ENSEMBLE_CONTROL="$control" \
  TRAVIS=true ZOOKEEPER_VERSION=3.8.0 \
  timeout -s INT -k 30 "$suite_timeout" \
    "$python" -m pytest -p kazoo_external -p no:cacheprovider \
      --rootdir="$site_dir" -o junit_family=xunit2 --junitxml="$junit" \
      -rfE "${deselect_args[@]}" ${extra[@]+"${extra[@]}"} "${targets[@]}"
) 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

final=$(grep -E '^=+ .*(passed|failed|error|skipped|deselected|no tests ran).* in [0-9.]+s' "$log" | tail -1)
count() { echo "$final" | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+' || echo 0; }
passed=$(count passed); failed=$(count failed); errors=$(count 'errors?')
skipped=$(count skipped); deselected=$(count deselected)

status=ok
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] || grep -q 'KeyboardInterrupt' "$log"; then
  status="TIMED OUT after ${suite_timeout}s"; [ "$rc" -eq 0 ] && rc=1
elif [ "$rc" -eq 5 ]; then
  status="no tests ran"
elif [ "$rc" -ne 0 ]; then
  status="FAILED (pytest exit $rc)"
fi
[ "$failed" -gt 0 ] || [ "$errors" -gt 0 ] && [ "$rc" -eq 0 ] && rc=1

echo "kazoo vs $kind: $passed passed, $failed failed, $skipped skipped, $deselected deselected, $errors errors — $status"
echo "kazoo vs $kind: report $junit, log $log, server logs $server_dir"
[ "$rc" -eq 0 ] && exit 0
exit 1
