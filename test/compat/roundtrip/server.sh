#!/usr/bin/env bash
# Launcher for the round-trip proof: Apache ZooKeeper 3.8.0 or ZephyrCoord with the same
# settings as ../reference-zk.sh and ../zephyr-server.sh (launch commands copied from them),
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
cmd=${1:?start|stop}

ruok() {
  [ "$( (exec 3<>/dev/tcp/127.0.0.1/"$1" && printf ruok >&3 && timeout 2 cat <&3) 2>/dev/null)" = "imok" ]
}

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
        cat > "$dir/zoo.cfg" <<CFG
tickTime=2000
dataDir=$data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
snapCount=$snapcount
CFG
        cat > "$dir/log4j.properties" <<LOG
log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=$dir/zookeeper.log
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n
LOG
        extra=()
        if [ -n "$compression" ]; then extra+=("-Dzookeeper.snapshot.compression.method=$compression"); fi
        nohup java -Xmx2g \
          -Dzookeeper.extendedTypesEnabled=true \
          -Dznode.container.checkIntervalMs=1000 \
          -Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU= \
          "${extra[@]}" \
          -Dlog4j.configuration="file:$dir/log4j.properties" \
          -cp "/usr/share/java/zookeeper.jar:/usr/share/java/log4j-1.2.jar:/usr/share/java/slf4j-log4j12.jar" \
          org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" > "$dir/stdout.log" 2>&1 &
        echo $! > "$dir/pid"
        log="$dir/stdout.log"
        ;;
      zephyr)
        cat > "$dir/zoo.cfg" <<CFG
tickTime=2000
dataDir=$data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
zookeeper.extendedTypesEnabled=true
znode.container.checkIntervalMs=1000
zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
snapCount=$snapcount
CFG
        if [ -n "$compression" ]; then echo "zookeeper.snapshot.compression.method=$compression" >> "$dir/zoo.cfg"; fi
        nohup node "${RT_ZEPHYR_JS:-$root/dist/src/bin/zephyr-coord.js}" --config "$dir/zoo.cfg" > "$dir/server.log" 2>&1 &
        echo $! > "$dir/pid"
        log="$dir/server.log"
        ;;
      *) echo "usage: $0 start zk|zephyr DIR PORT DATADIR" >&2; exit 2 ;;
    esac
    for _ in $(seq 1 600); do
      if ruok "$port"; then exit 0; fi
      if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
        echo "$kind exited during start-up; last lines of $log:" >&2
        tail -20 "$log" >&2
        exit 1
      fi
      sleep 0.1
    done
    echo "$kind did not answer ruok on port $port" >&2
    exit 1
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
