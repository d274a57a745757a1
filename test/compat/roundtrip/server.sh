#!/usr/bin/env bash
# Launcher for the round-trip proof: Apache ZooKeeper 3.8.0 or ZephyrCoord with the same
# settings as ../reference-zk.sh and ../zephyr-server.sh (the launchers of ../server-lib.sh),
# plus what the round trip needs and those two scripts do not offer:
#   - an explicit dataDir, so two servers can take turns on one directory;
#   - snapCount (RT_SNAPCOUNT, zoo.cfg line for both servers; ZooKeeper turns unknown zoo.cfg
#     keys into `zookeeper.<key>` system properties);
#   - snapshot compression (RT_COMPRESSION=gz: a -Dzookeeper.snapshot.compression.method=gz
#     JVM option for ZooKeeper, the same key as a zoo.cfg line for ZephyrCoord);
#   - a stop that waits for the process to exit on SIGTERM (up to 60 s) and says whether it
#     had to fall back to SIGKILL (which would make the stop unclean);
#   - RT_ZEPHYR_JS: another ZephyrCoord entry point (e.g. a patched build elsewhere).
#
#   server.sh start zk|zephyr DIR PORT DATADIR   config, pid and server log under DIR
#   server.sh stop DIR                           SIGTERM, wait; exit 3 if SIGKILL was needed
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=../server-lib.sh
. "$(dirname "$0")/../server-lib.sh"
cmd=${1:?start|stop}

# running and not a zombie (an orphaned server may be reaped late by whoever adopted it)
alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

case "$cmd" in
  start)
    kind=${2:?zk|zephyr}
    dir=${3:?directory}
    port=${4:?port}
    data=${5:?dataDir}
    mkdir -p "$dir" "$data"
    snapcount=${RT_SNAPCOUNT:-100000}
    compression=${RT_COMPRESSION:-}
    case "$kind" in
      zk)
        { test_zoo_cfg "$data" "$port"; echo "snapCount=$snapcount"; } > "$dir/zoo.cfg"
        extra=()
        if [ -n "$compression" ]; then extra+=("-Dzookeeper.snapshot.compression.method=$compression"); fi
        launch_reference_zk "$dir" "$dir/zoo.cfg" INFO "${extra[@]}"
        log="$dir/stdout.log"
        ;;
      zephyr)
        {
          test_zoo_cfg "$data" "$port"
          zephyr_test_properties
          echo "snapCount=$snapcount"
          if [ -n "$compression" ]; then echo "zookeeper.snapshot.compression.method=$compression"; fi
        } > "$dir/zoo.cfg"
        launch_zephyr "$dir" "$dir/zoo.cfg" "${RT_ZEPHYR_JS:-$root/dist/src/bin/zephyr-coord.js}"
        log="$dir/server.log"
        ;;
      *) echo "usage: $0 start zk|zephyr DIR PORT DATADIR" >&2; exit 2 ;;
    esac
    wait_until_serving "$kind" "$dir" "$port" "$log"
    ;;
  stop)
    dir=${2:?directory}
    [ -f "$dir/pid" ] || exit 0
    pid=$(cat "$dir/pid")
    rm -f "$dir/pid"
    kill -TERM "$pid" 2>/dev/null || exit 0
    for _ in $(seq 1 600); do
      alive "$pid" || exit 0
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    echo "server $pid did not exit within 60 s of SIGTERM; killed" >&2
    exit 3
    ;;
  *) echo "usage: $0 start zk|zephyr DIR PORT DATADIR | stop DIR" >&2; exit 2 ;;
esac
