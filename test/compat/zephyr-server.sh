#!/usr/bin/env bash
# Starts or stops a ZephyrCoord server (built into dist/) with the same settings that
# reference-zk.sh gives Apache ZooKeeper, so compatibility suites can run against either.
#   zephyr-server.sh start DIR PORT   -> data and logs under DIR, returns once `ruok` answers
#   zephyr-server.sh stop DIR
set -euo pipefail
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
    for _ in $(seq 1 300); do
      if [ "$( (exec 3<>/dev/tcp/127.0.0.1/"$port" && printf ruok >&3 && timeout 2 cat <&3) 2>/dev/null)" = "imok" ]; then
        exit 0
      fi
      if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
        echo "ZephyrCoord exited; see $dir/server.log" >&2
        cat "$dir/server.log" >&2
        exit 1
      fi
      sleep 0.1
    done
    echo "ZephyrCoord did not answer ruok on port $port" >&2
    exit 1
    ;;
  stop)
    if [ -f "$dir/pid" ]; then
      pid=$(cat "$dir/pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/pid"
    fi
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
