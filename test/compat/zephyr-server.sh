#!/usr/bin/env bash
# Starts or stops a ZephyrCoord server (built into dist/) with the same settings that
# reference-zk.sh gives Apache ZooKeeper, so compatibility suites can run against either.
#   zephyr-server.sh start DIR PORT   -> data and logs under DIR, returns once `ruok` answers
#   zephyr-server.sh stop DIR
set -euo pipefail
# shellcheck source=server-lib.sh
. "$(dirname "$0")/server-lib.sh"
here=$(cd "$(dirname "$0")/../.." && pwd)
cmd=${1:?start|stop}
dir=${2:?directory}
case "$cmd" in
  start)
    port=${3:?port}
    mkdir -p "$dir/data"
    cat > "$dir/zoo.cfg" <<CFG
tickTime=2000
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
zookeeper.extendedTypesEnabled=true
znode.container.checkIntervalMs=1000
zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
CFG
    nohup node "$here/dist/src/bin/zephyr-coord.js" --config "$dir/zoo.cfg" > "$dir/server.log" 2>&1 &
    echo $! > "$dir/pid"
    wait_until_serving "ZephyrCoord" "$dir" "$port" "$dir/server.log"
    ;;
  stop)
    stop_server "$dir"
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
