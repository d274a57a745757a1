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
    cat > "$dir/zoo.cfg" <<CFG
tickTime=2000
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
CFG
    cat > "$dir/log4j.properties" <<'LOG'
log4j.rootLogger=WARN, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n
LOG
    sed -i "s#^log4j.appender.FILE=.*#&\nlog4j.appender.FILE.File=$dir/zookeeper.log#" "$dir/log4j.properties"
    nohup java -Xmx2g \
      -Dzookeeper.extendedTypesEnabled=true \
      -Dznode.container.checkIntervalMs=1000 \
      -Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU= \
      -Dlog4j.configuration="file:$dir/log4j.properties" \
      -cp "/usr/share/java/zookeeper.jar:/usr/share/java/log4j-1.2.jar:/usr/share/java/slf4j-log4j12.jar" \
      org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" > "$dir/stdout.log" 2>&1 &
    echo $! > "$dir/pid"
    wait_until_serving "reference ZooKeeper" "$dir" "$port" "$dir/stdout.log"
    ;;
  stop)
    stop_server "$dir"
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
