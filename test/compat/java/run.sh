#!/usr/bin/env bash
# Runs the official ZooKeeper 3.8 Java client compatibility program (ZkCompat.java)
# against a freshly started server.
#   test/compat/java/run.sh zk       -> Apache ZooKeeper 3.8.0 (reference)
#   test/compat/java/run.sh zephyr   -> ZephyrCoord (needs `npm run build` first)
#   test/compat/java/run.sh zk-ensemble | zephyr-ensemble
#                                 -> a 3-member ensemble of either, all three in the connect string
# Exit status is the program's: 0 when every check passed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
compat=$(cd "$here/.." && pwd)
target=${1:?usage: $0 zk|zephyr|zk-ensemble|zephyr-ensemble}
case "$target" in
  zk | zephyr | zk-ensemble | zephyr-ensemble) ;;
  *) echo "usage: $0 zk|zephyr|zk-ensemble|zephyr-ensemble" >&2; exit 2 ;;
esac

J=/usr/share/java
# zookeeper.jar's manifest Class-Path brings in jute, netty, slf4j-api, ...
cp="$J/zookeeper.jar:$J/zookeeper-jute.jar:$J/zookeeper-recipes-lock.jar:$J/zookeeper-recipes-election.jar:$J/zookeeper-recipes-queue.jar"
# slf4j binding for the client's own logging: slf4j-simple at WARN, into a file in the temp dir
logcp="$J/slf4j-simple.jar"

. "$compat/server-lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zkcompat-java.XXXXXX")
cleanup() {
  stop_target "$target" "$tmp/server"
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/classes" "$tmp/server"
# compile while the server starts
javac -nowarn -cp "$cp" -d "$tmp/classes" "$here/ZkCompat.java" > "$tmp/javac.log" 2>&1 &
javac_pid=$!

start=$(date +%s)
if ! start_target "$target" "$tmp/server"; then
  echo "could not start $target server" >&2
  wait "$javac_pid" || true
  exit 1
fi
if ! wait "$javac_pid"; then
  cat "$tmp/javac.log" >&2
  echo "javac failed" >&2
  exit 1
fi
echo "# $target server on $connect (started in $(( $(date +%s) - start )) s)"

status=0
timeout 300 java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -Dorg.slf4j.simpleLogger.logFile="$tmp/client.log" \
  -Dzookeeper.sasl.client=false \
  -cp "$tmp/classes:$cp:$logcp" ZkCompat "$connect" || status=$?
if [ "$status" = 124 ]; then echo "FAIL timeout: ZkCompat did not finish within 300 s"; fi
# the client library's own WARN/ERROR log (expected noise: socket-close warnings, recipe
# retries); shown only when something failed
if [ "$status" != 0 ] && [ -s "$tmp/client.log" ]; then
  echo "# last lines of the Java client's log ($(grep -c -E ' (WARN|ERROR) ' "$tmp/client.log") WARN/ERROR entries):"
  grep -E ' (WARN|ERROR) ' "$tmp/client.log" | tail -20 | sed 's/^/#   /'
fi
exit "$status"
