#!/usr/bin/env bash
# Restart time and resident memory of Apache ZooKeeper 3.8.0 and ZephyrCoord on the same
# ZooKeeper-format dataDir of N znodes of 100 bytes: time from launch to answering `ruok`.
#   bench/recovery/run.sh [N=1000000]
# Resident memory is read when the server first serves and again after SETTLE_S [10] idle
# seconds (both runtimes finish background sweeping / heap shrinking in that time).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-1000000}
work=$(mktemp -d "${BENCH_DIR:-/tmp}/zc-recovery.XXXXXX")
trap 'bash "$here/test/compat/reference-zk.sh" stop "$work/zk" || true; bash "$here/test/compat/zephyr-server.sh" stop "$work/zephyr" || true; rm -rf "$work"' EXIT
node "$here/dist/bench/recovery/make-datadir.js" "$work/template" "$n" 100
. "$here/test/compat/server-lib.sh"
for kind in zk zephyr; do
  mkdir -p "$work/$kind"
  cp -r "$work/template" "$work/$kind/data"
  launcher=$here/test/compat/reference-zk.sh
  [ "$kind" = zephyr ] && launcher=$here/test/compat/zephyr-server.sh
  port=$(free_port)
  t0=$(date +%s%N)
  bash "$launcher" start "$work/$kind" "$port"
  # ZooKeeper answers `ruok` while it is still loading; it serves once `srvr` shows a node count.
  for _ in $(seq 1 6000); do
    if printf srvr | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; cat <&3" 2>/dev/null | grep -q "Node count"; then break; fi
    sleep 0.05
  done
  t1=$(date +%s%N)
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$(cat "$work/$kind/pid")/status")
  count=$(printf mntr | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; cat <&3" | awk '/zk_znode_count/ {print $2}')
  sleep "${SETTLE_S:-10}"
  settled=$(awk '/VmRSS/ {print $2}' "/proc/$(cat "$work/$kind/pid")/status")
  echo "{\"server\":\"$kind\",\"znodes\":$count,\"restart_ms\":$(( (t1 - t0) / 1000000 )),\"rss_mib\":$(( rss / 1024 )),\"rss_settled_mib\":$(( settled / 1024 ))}"
  bash "$launcher" stop "$work/$kind"
done
