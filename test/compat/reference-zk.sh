#!/usr/bin/env bash
# Starts or stops Apache ZooKeeper 3.8.0 from Debian's `zookeeper` package, standalone,
# as the reference server for compatibility and differential tests.
#   reference-zk.sh start DIR PORT   -> data and logs under DIR, returns once `ruok` answers
#   reference-zk.sh stop DIR
# Settings match what kazoo's suite needs (see README "Compatibility testing").
set -euo pipefail
# shellcheck source=server-lib.sh
. "$(dirname "$0")/server-lib.sh"
cmd=${1:?start|stop}
dir=${2:?directory}
case "$cmd" in
  start)
    port=${3:?port}
    mkdir -p "$dir/data"
    test_zoo_cfg "$dir/data" "$port" > "$dir/zoo.cfg"
    launch_reference_zk "$dir" "$dir/zoo.cfg" WARN
    wait_until_serving "reference ZooKeeper" "$dir" "$port" "$dir/stdout.log"
    ;;
  stop)
    stop_server "$dir"
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
