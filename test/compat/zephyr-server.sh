#!/usr/bin/env bash
# Starts or stops a ZephyrCoord server (built into dist/) with the same settings that
# reference-zk.sh gives Apache ZooKeeper, so compatibility suites can run against either.
#   zephyr-server.sh start DIR PORT   -> data and logs under DIR, returns once `ruok` answers
#   zephyr-server.sh stop DIR
set -euo pipefail
# shellcheck source=server-lib.sh
. "$(dirname "$0")/server-lib.sh"
cmd=${1:?start|stop}
dir=${2:?directory}
case "$cmd" in
  start)
    port=${3:?port}
    mkdir -p "$dir/data"
    { test_zoo_cfg "$dir/data" "$port"; zephyr_test_properties; } > "$dir/zoo.cfg"
    launch_zephyr "$dir" "$dir/zoo.cfg"
    wait_until_serving "ZephyrCoord" "$dir" "$port" "$dir/server.log"
    ;;
  stop)
    stop_server "$dir"
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
