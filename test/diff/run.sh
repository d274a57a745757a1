#!/usr/bin/env bash
# Differential test: Apache ZooKeeper 3.8.0 vs ZephyrCoord on the same seeded operation sequences.
#   test/diff/run.sh [SEQUENCES=200] [OPS=200] [more runner args, e.g. --seed 1000 --keep-going --stats]
# Builds (unless DIFF_SKIP_BUILD=1), starts both servers on free ports with data under /dev/shm
# (ZooKeeper fsyncs every write), runs dist/test/diff/run.js, and always stops both servers.
# DIFF_SECOND=zk runs a second Apache ZooKeeper in ZephyrCoord's place (checks the harness itself).
# Exit status is the runner's: 0 all sequences matched, 1 a difference, 2 setup problem.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
sequences=${1:-200}
ops=${2:-200}
shift $(( $# < 2 ? $# : 2 ))

cd "$here"
if [ "${DIFF_SKIP_BUILD:-0}" != 1 ]; then
  # tsc still emits when some unrelated file has a type error: warn and go on.
  npx tsc -p tsconfig.json || echo "warning: tsc reported errors (above); running what it emitted" >&2
fi
[ -f "$here/dist/test/diff/run.js" ] || { echo "dist/test/diff/run.js is missing: build first" >&2; exit 2; }

base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/zephyr-diff.XXXXXX")
zk_dir="$work/zk"
zephyr_dir="$work/zephyr"
second=${DIFF_SECOND:-zephyr}
case "$second" in
  zephyr) second_script="$here/test/compat/zephyr-server.sh" ;;
  zk) second_script="$here/test/compat/reference-zk.sh" ;;
  *) echo "DIFF_SECOND must be zephyr or zk" >&2; exit 2 ;;
esac

stop_all() {
  "$here/test/compat/reference-zk.sh" stop "$zk_dir" || true
  "$second_script" stop "$zephyr_dir" || true
}
finish() {
  local rc=$?
  stop_all
  if [ "$rc" -eq 0 ]; then
    rm -rf "$work"
  else
    echo "server data and logs kept in $work" >&2
  fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM
# Output piped into `head` must not kill this script before `finish` stops the servers: a
# write to a closed pipe then fails (and ends the script through the EXIT trap) instead.
trap '' PIPE

# Two distinct free ports, held open together so they differ.
read -r zk_port zephyr_port < <(node -e '
  const net = require("net");
  const a = net.createServer().listen(0, "127.0.0.1", () => {
    const b = net.createServer().listen(0, "127.0.0.1", () => {
      console.log(a.address().port, b.address().port);
      a.close(); b.close();
    });
  });')

"$here/test/compat/reference-zk.sh" start "$zk_dir" "$zk_port"
"$second_script" start "$zephyr_dir" "$zephyr_port"
echo "ZooKeeper on $zk_port, $second on $zephyr_port; $sequences sequences x $ops ops"

node "$here/dist/test/diff/run.js" --sequences "$sequences" --ops "$ops" \
  --zk "127.0.0.1:$zk_port" --zephyr "127.0.0.1:$zephyr_port" "$@"
