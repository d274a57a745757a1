#!/usr/bin/env bash
# Round-trip proof: Apache ZooKeeper 3.8.0 and ZephyrCoord take turns on one dataDir.
#
# Each case: the SOURCE server starts on an empty dataDir; RoundTrip.java builds a tree
# (10,000+ znodes, 1 MiB-class nodes, digest/auth/ip ACLs, sequential nodes with deletions,
# containers, TTL nodes, multis, setData/setACL history, failed writes, ephemerals of a session
# that stays connected) and dumps it (super session: one canonical line per znode); the
# source's last zxid is read with `srvr` and it is stopped with SIGTERM while the ephemeral
# session is still connected. The dataDir's files are checked (a mid-build snapshot + logs, or
# only snapshot.0 + logs; .gz names when compressed). The TARGET server then starts on the same
# dataDir and must:
#   - report the same last zxid (`srvr`);
#   - let the builder's ephemeral session resume with its id and password, ephemerals intact;
#   - serve a dump identical line for line to the source's (data sha1, every Stat field,
#     ACL list in stored order, sorted children);
#   - behave as the loaded data says (probe: sequence counters, new zxids, ACL enforcement,
#     container and TTL node kinds via the reaper, closing the resumed session).
# In the two *-snap cases the source kind then takes the directory back ("hop back") and must
# serve what the target served after the probe (from the target's own start-up snapshot and
# the log of the probe's writes: sequential creates, deletes, a closeSession that deletes
# ephemerals, deletions by the container / TTL reaper).
#
# Exclusions from the comparison: none. Every znode the super session can reach is compared,
# /zookeeper, /zookeeper/config and /zookeeper/quota included, and every Stat field as the
# client receives it. (Container and TTL markers in ephemeralOwner are not sent to clients by
# either server -- they read 0 -- which is why the probe checks those kinds via the reaper.)
#
#   test/compat/roundtrip/run.sh [CASE...]     (needs `npm run build` first; default: all)
# Cases: zk-to-zephyr-snap  zk-to-zephyr-logonly  zephyr-to-zk-snap  zephyr-to-zk-logonly
#        zk-to-zephyr-gz    zephyr-to-zk-gz  zk-to-zephyr-snappy  zephyr-to-zk-snappy
#        zephyr-fuzzy-snapshot (a snapshot ZephyrCoord took while writes applied, and its log:
#        both servers load them and must serve the same tree)
# Env: KEEP_TMP=1 keeps the work directory (dumps, dataDirs, server logs); RT_TMP: its parent;
#      RT_JOBS: cases run side by side (default 2: much of a case is waiting on fsyncs and
#      round trips; RT_JOBS=1 runs them one after the other, ~1.6x the wall time).
# Prints `ok`/`FAIL` per check, `PASS`/`FAIL` per case, and last `roundtrip: N passed, N failed`
# (cases); exit status 1 if any case failed, 2 if it could not run.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
server="$here/server.sh"

J=/usr/share/java
cp="$J/zookeeper.jar:$J/zookeeper-jute.jar"
logcp="$J/slf4j-simple.jar"

ALL_CASES=(zk-to-zephyr-snap zk-to-zephyr-logonly zephyr-to-zk-snap zephyr-to-zk-logonly zk-to-zephyr-gz zephyr-to-zk-gz zk-to-zephyr-snappy zephyr-to-zk-snappy zephyr-fuzzy-snapshot)
if [ $# -gt 0 ]; then cases=("$@"); else cases=("${ALL_CASES[@]}"); fi

if [ ! -f "$root/dist/src/bin/zephyr-coord.js" ]; then
  echo "dist/ not built: run npm run build first" >&2
  exit 2
fi

tmp=$(mktemp -d "${RT_TMP:-${TMPDIR:-/tmp}}/roundtrip.XXXXXX")
builder_pid=""
cleanup() {
  local f
  for f in "$tmp"/*/builder.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  for d in "$tmp"/*/src "$tmp"/*/dst "$tmp"/*/back; do [ -d "$d" ] && "$server" stop "$d" >/dev/null 2>&1; done
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$(date +%s)
mkdir -p "$tmp/classes"
if ! javac -nowarn -cp "$cp" -d "$tmp/classes" "$here/RoundTrip.java" > "$tmp/javac.log" 2>&1; then
  cat "$tmp/javac.log" >&2
  echo "javac failed" >&2
  exit 2
fi

# The RoundTrip client (official ZooKeeper 3.8 Java client); the library's own log goes to a file.
# `exec`: when started in the background, $! is then timeout's pid, and timeout passes a
# SIGTERM on to java.
rt() {
  exec timeout "${RT_JAVA_TIMEOUT:-180}" java -Xmx768m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -Dorg.slf4j.simpleLogger.logFile="$tmp/client.log" \
    -Dzookeeper.sasl.client=false \
    -cp "$tmp/classes:$cp:$logcp" RoundTrip "$@"
}

. "$here/../server-lib.sh"

# The server's last processed zxid, from the `srvr` four-letter word. ZooKeeper answers `ruok`
# before it has loaded its data (srvr then says "not currently serving requests"): retry.
srvr_zxid() {
  local z
  for _ in $(seq 1 300); do
    z=$( (exec 3<>/dev/tcp/127.0.0.1/"$1" && printf srvr >&3 && timeout 5 cat <&3) 2>/dev/null | sed -n 's/^Zxid: //p')
    if [ -n "$z" ]; then echo "$z"; return 0; fi
    sleep 0.1
  done
  return 1
}

# version-2 snapshots / logs as "zxid name" lines, by zxid.
files_of() {
  local dir=$1 prefix=$2 f z
  for f in "$dir"/"$prefix".*; do
    [ -e "$f" ] || continue
    f=${f##*/}
    z=${f#"$prefix".}
    z=${z%%.*}
    [[ $z =~ ^[0-9a-fA-F]+$ ]] || continue
    echo "$((16#$z)) $f"
  done | sort -n
}

problems=()
problem() {
  problems+=("$1")
  echo "  FAIL $1"
}
note_ok() { echo "  ok $1"; }
# Runs a RoundTrip step in the foreground: output indented, its FAIL lines become problems.
step() {
  local out rc
  out=$( (rt "$@") 2>&1 ); rc=$?
  [ -n "$out" ] && echo "$out" | sed 's/^/  /'
  while IFS= read -r line; do problems+=("${line#FAIL }"); done < <(echo "$out" | grep '^FAIL ')
  if [ $rc != 0 ] && ! echo "$out" | grep -q '^FAIL '; then problems+=("RoundTrip $1 exited with status $rc"); fi
  return $rc
}
# per-case timings ("lap NAME" closes the current phase)
laps=""
lap_start=0
lap() {
  local now ds
  now=$(date +%s%N)
  ds=$(( (now - lap_start) / 100000000 ))
  laps+="$1 $((ds / 10)).$((ds % 10))s, "
  lap_start=$now
}

# Reports a case's problems: PASS or FAIL with the time since $ts; the data dir goes unless KEEP_TMP.
finish_case() {
  local name=$1 data=$2 secs
  echo "  timings: ${laps%, }"
  secs=$(( $(date +%s) - ts ))
  if [ ${#problems[@]} = 0 ]; then
    echo "PASS $name (${secs} s)"
    if [ "${KEEP_TMP:-0}" != 1 ]; then rm -rf "$data"; fi
    return 0
  fi
  echo "FAIL $name (${secs} s): ${#problems[@]} failed checks"
  return 1
}

# zephyr-fuzzy-snapshot: fuzzy-datadir.js writes a dataDir holding a snapshot ZephyrCoord's
# serializer took while writes applied during its walk, and the log of every write (after
# checking, in-process, that ZephyrCoord's recovery gives the tree the writes made). ZephyrCoord
# and ZooKeeper each start on a copy: both must reach the log's last zxid and serve identical
# dumps, so ZooKeeper's replay over our fuzzy snapshot ends where ours does.
run_fuzzy_case() {
  local name=$1 d="$tmp/$1" stats newer zlast kind p z ts
  ts=$(date +%s)
  mkdir -p "$d"
  problems=()
  laps=""
  lap_start=$(date +%s%N)
  echo "== $name: a fuzzy ZephyrCoord snapshot and its log; ZephyrCoord and ZooKeeper each load them"
  if ! stats=$(node "$root/dist/test/compat/roundtrip/fuzzy-datadir.js" "$d/template" 2>&1); then
    echo "$stats" | sed 's/^/  /'
    problem "fuzzy-datadir.js failed (ZephyrCoord's own recovery over the fuzzy snapshot)"
    finish_case "$name" "$d"
    return 1
  fi
  echo "  $stats"
  note_ok "ZephyrCoord's recovery over the fuzzy snapshot gives the tree the writes made (in-process)"
  newer=$(node -p 'JSON.parse(process.argv[1]).recordsNewerThanSnapshot' "$stats")
  zlast=$(node -p 'JSON.parse(process.argv[1]).lastZxid' "$stats")
  if [ "$newer" -gt 0 ]; then note_ok "the snapshot is fuzzy: $newer records hold txns after its zxid"; else problem "the snapshot is not fuzzy"; fi
  lap generate
  for kind in zephyr zk; do
    cp -r "$d/template" "$d/data.$kind"
    p=$(free_port) || return 1
    if ! "$server" start "$kind" "$d/$kind" "$p" "$d/data.$kind"; then problem "$kind did not start on the fuzzy dataDir"; break; fi
    z=$(srvr_zxid "$p")
    if [ -n "$z" ] && [ "$((z))" = "$zlast" ]; then note_ok "$kind resumes at the log's last zxid $z"; else problem "$kind: last zxid ${z:-?}, the log's $zlast"; fi
    if [ "$kind" = zephyr ]; then
      step dump "127.0.0.1:$p" "$d/dump.zephyr"
    else
      step dumpcompare "127.0.0.1:$p" "$d/dump.zk" zk "$d/dump.zephyr" zephyr
    fi
    "$server" stop "$d/$kind" || problem "$kind did not exit on SIGTERM"
    lap "$kind"
  done
  finish_case "$name" "$d"
}

run_case() {
  local name=$1 src dst snapcount compression layout hopback=0
  if [ "$name" = zephyr-fuzzy-snapshot ]; then run_fuzzy_case "$name"; return; fi
  case "$name" in
    zk-to-zephyr-snap) src=zk; dst=zephyr; snapcount=1000; compression=""; layout=mid; hopback=1 ;;
    zk-to-zephyr-logonly) src=zk; dst=zephyr; snapcount=1000000; compression=""; layout=only0 ;;
    zephyr-to-zk-snap) src=zephyr; dst=zk; snapcount=1000; compression=""; layout=mid; hopback=1 ;;
    zephyr-to-zk-logonly) src=zephyr; dst=zk; snapcount=1000000; compression=""; layout=only0 ;;
    zk-to-zephyr-gz) src=zk; dst=zephyr; snapcount=1000; compression=gz; layout=mid ;;
    zephyr-to-zk-gz) src=zephyr; dst=zk; snapcount=1000; compression=gz; layout=mid ;;
    zk-to-zephyr-snappy) src=zk; dst=zephyr; snapcount=1000; compression=snappy; layout=mid ;;
    zephyr-to-zk-snappy) src=zephyr; dst=zk; snapcount=1000; compression=snappy; layout=mid ;;
    *) echo "unknown case $name" >&2; return 1 ;;
  esac
  local d="$tmp/$name" data="$tmp/$name/data" p1 p2 p3 ts zsrc zdst zback
  ts=$(date +%s)
  mkdir -p "$d"
  problems=()
  laps=""
  lap_start=$(date +%s%N)
  echo "== $name: $src builds (snapCount=$snapcount${compression:+, snapshot compression $compression}), $dst takes over"
  export RT_SNAPCOUNT=$snapcount RT_COMPRESSION=$compression
  p1=$(free_port) || return 1
  if ! "$server" start "$src" "$d/src" "$p1" "$data"; then problem "$src did not start on an empty dataDir"; return 1; fi
  lap start

  # build + dump; the builder keeps its ephemeral session connected until the source stops
  rt build "127.0.0.1:$p1" "$d/state" "$d/dump.$src" > "$d/build.log" 2>&1 &
  builder_pid=$!
  echo "$builder_pid" > "$d/builder.pid"
  for _ in $(seq 1 1800); do
    [ -f "$d/state" ] && break
    kill -0 "$builder_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -f "$d/state" ]; then
    sed 's/^/  /' "$d/build.log"
    problem "build on $src failed"
    kill "$builder_pid" 2>/dev/null; wait "$builder_pid" 2>/dev/null; rm -f "$d/builder.pid"
    "$server" stop "$d/src"
    return 1
  fi
  grep -E '^(READY|dumped)' "$d/build.log" | sed "s/^/  $src: /"
  lap build+dump
  zsrc=$(srvr_zxid "$p1")
  "$server" stop "$d/src" || problem "$src did not exit on SIGTERM"
  kill "$builder_pid" 2>/dev/null; wait "$builder_pid" 2>/dev/null; rm -f "$d/builder.pid"
  lap stop

  # what the target recovers from
  local v2="$data/version-2" snaps logs newest count gzc plainc
  snaps=$(files_of "$v2" snapshot)
  logs=$(files_of "$v2" log)
  echo "  $src left: $(echo "$snaps" | awk '{print $2}' | tr '\n' ' ')+ $(echo "$logs" | grep -c .) logs; last zxid $zsrc"
  newest=$(echo "$snaps" | tail -1 | awk '{print $1}')
  count=$(echo "$snaps" | grep -c .)
  gzc=$(echo "$snaps" | grep -cE '\.(gz|snappy)$')
  plainc=$(echo "$snaps" | grep -vcE "\\.${compression:-none}\$")
  if [ "$layout" = mid ]; then
    if [ -n "$newest" ] && [ -n "$zsrc" ] && [ "$newest" -gt 0 ] && [ "$newest" -lt "$((zsrc))" ]; then
      note_ok "recovery input: mid-build snapshot at zxid $(printf '0x%x' "$newest") + later logs"
    else
      problem "expected a mid-build snapshot older than the last zxid"
    fi
  else
    if [ "$count" = 1 ] && [ "$newest" = 0 ]; then note_ok "recovery input: only snapshot 0 + logs"; else problem "expected only snapshot 0"; fi
  fi
  if [ -n "$compression" ]; then
    if [ "$plainc" = 0 ] && [ "$gzc" -gt 0 ]; then note_ok "all snapshots are .$compression"; else problem "expected only .$compression snapshots"; fi
  else
    if [ "$gzc" = 0 ]; then note_ok "no compressed snapshots"; else problem "unexpected compressed snapshots"; fi
  fi
  if [ "${KEEP_TMP:-0}" = 1 ]; then cp -a "$data" "$d/data.after-$src"; fi

  # the target takes over
  p2=$(free_port) || return 1
  if ! "$server" start "$dst" "$d/dst" "$p2" "$data"; then problem "$dst did not start on $src's dataDir"; return 1; fi
  zdst=$(srvr_zxid "$p2")
  if [ -n "$zsrc" ] && [ "$zsrc" = "$zdst" ]; then note_ok "$dst resumes at $src's last zxid $zsrc"; else problem "last zxid: $src $zsrc, $dst ${zdst:-?}"; fi
  lap start
  local after=()
  if [ "$hopback" = 1 ]; then after=("$d/dump.$dst.after-probe"); fi
  step takeover "127.0.0.1:$p2" "$d/state" "$d/dump.$src" "$src" "$d/dump.$dst" "$dst" "${after[@]}"
  lap takeover

  if [ "$hopback" = 1 ]; then
    zdst=$(srvr_zxid "$p2") # after the last dump: its session's create and close are txns too
    "$server" stop "$d/dst" || problem "$dst did not exit on SIGTERM"
    p3=$(free_port) || return 1
    if ! "$server" start "$src" "$d/back" "$p3" "$data"; then problem "$src did not start again on $dst's dataDir"; return 1; fi
    zback=$(srvr_zxid "$p3")
    if [ -n "$zdst" ] && [ "$zdst" = "$zback" ]; then note_ok "hop back: $src resumes at $dst's last zxid $zdst"; else problem "hop back: last zxid: $dst $zdst, $src ${zback:-?}"; fi
    lap stop+start
    step dumpcompare "127.0.0.1:$p3" "$d/dump.$src.back" "$src-back" "$d/dump.$dst.after-probe" "$dst-after-probe"
    lap dump
    "$server" stop "$d/back" || problem "$src did not exit on SIGTERM"
  else
    "$server" stop "$d/dst" || problem "$dst did not exit on SIGTERM"
  fi
  lap stop
  finish_case "$name" "$data"
}

passed=0
failed=0
jobs_max=${RT_JOBS:-2}
if [ "$jobs_max" -le 1 ]; then
  for c in "${cases[@]}"; do
    if run_case "$c"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
else
  # cases side by side (each in its own directories and ports); output printed per case
  running=0
  for c in "${cases[@]}"; do
    if [ "$running" -ge "$jobs_max" ]; then wait -n; running=$((running - 1)); fi
    ( if run_case "$c"; then echo pass > "$tmp/$c.result"; fi ) > "$tmp/$c.out" 2>&1 &
    running=$((running + 1))
  done
  wait
  for c in "${cases[@]}"; do
    cat "$tmp/$c.out"
    if [ -f "$tmp/$c.result" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
fi
echo "total $(( $(date +%s) - t0 )) s"
echo "roundtrip: $passed passed, $failed failed"
[ "$failed" = 0 ]
