#!/usr/bin/env bash
# Compares ZephyrCoord with Apache ZooKeeper 3.8.0 under the same load, both durable
# (forceSync=yes, the default of both: every acknowledged write was fsynced first).
#
#   bench/compare.sh [workloads|durability|all]        (needs `npm run build` first)
#
#   workloads   every workload in $WORKLOADS against each server, alternating servers, $ROUNDS
#               rounds; get and set also through the official Java client (bench/java/JavaLoad)
#   durability  acknowledged writes/s and p50/p99 write latency for $DURABILITY_CLIENTS
#               concurrent clients (setData, one session each, 1 outstanding request)
#   all         both
#
# Environment (defaults in brackets):
#   ROUNDS [3]  DURATION [10] s measured  WARMUP [3] s  SESSIONS [32]  OUTSTANDING [8]
#   VALUE_SIZE [100]  NODES [1000]  WATCHERS [8]  THREADS [1] (load generator worker threads)
#   WORKLOADS ["get set create mixed watch session multi"]  JAVA [1] (0: skip the Java client)
#   DURABILITY_CLIENTS ["1 8 64"]
#   BENCH_DIR [${TMPDIR:-/tmp}] parent of the servers' data dirs; must be a real disk, not tmpfs
#   RESULTS [$BENCH_DIR/zephyr-bench-<time>] the JSON lines of every run go to $RESULTS.workloads.jsonl
#               and $RESULTS.durability.jsonl
#   PROFILE [0] 1: run ZephyrCoord under `node --cpu-prof`; the .cpuprofile is kept and reported
#   KEEP_TMP [0] 1: keep the data dirs and server logs
#   FLOOR [0] 1: also run get, set, create, mixed, watch and session against two floors, printed as
#               tables of their own (ratio = floor / zookeeper): bench/load/null-server (no tree,
#               no disk, canned replies), what Node's own socket work allows with this generator
#               on this machine; and the same with --sync-dir ("durable-floor"), which also
#               group-commits each write to a file with O_DSYNC before answering it, as both
#               servers here must; in durability mode the durable floor runs each client count
#               too
#
# Both servers run on 127.0.0.1 on free ports for the whole comparison, started by
# test/compat/reference-zk.sh (heap 2 GiB) and test/compat/zephyr-server.sh with the same
# settings. Each run uses its own key space, created before and deleted after it. Prints the
# medians per workload with the ZephyrCoord / ZooKeeper ratio; exit status 1 if any run failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
compat="$repo/test/compat"
mode=${1:-workloads}
case "$mode" in
  workloads | durability | all) ;;
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  *) echo "usage: $0 [workloads|durability|all]" >&2; exit 2 ;;
esac

SESSIONS=${SESSIONS:-32}
WATCHERS=${WATCHERS:-8}
THREADS=${THREADS:-1}
WORKLOADS=${WORKLOADS:-get set create mixed watch session multi}
JAVA=${JAVA:-1}
DURABILITY_CLIENTS=${DURABILITY_CLIENTS:-1 8 64}
PROFILE=${PROFILE:-0}
FLOOR=${FLOOR:-0}
. "$here/lib.sh"
RESULTS=${RESULTS:-$BENCH_DIR/zephyr-bench-$(date +%Y%m%d-%H%M%S)}
out=/dev/null

require_built

J=/usr/share/java
javacp="$J/zookeeper.jar"
java_runcp="$J/zookeeper.jar:$J/slf4j-nop.jar"

make_bench_tmp zephyr-bench

zk_dir="$tmp/zookeeper"
zc_dir="$tmp/zephyrcoord"
floor_dir="$tmp/floor"
dfloor_dir="$tmp/durable-floor"
cleanup() {
  [ -f "$floor_dir/pid" ] && kill "$(cat "$floor_dir/pid")" 2> /dev/null || true
  [ -f "$dfloor_dir/pid" ] && kill "$(cat "$dfloor_dir/pid")" 2> /dev/null || true
  "$compat/reference-zk.sh" stop "$zk_dir" > /dev/null 2>&1 || true
  "$compat/zephyr-server.sh" stop "$zc_dir" > /dev/null 2>&1 || true
  if [ "$PROFILE" = 1 ] && compgen -G "$tmp/profile/*.cpuprofile" > /dev/null; then
    mkdir -p "$BENCH_DIR/zephyr-bench-profiles"
    cp "$tmp"/profile/*.cpuprofile "$BENCH_DIR/zephyr-bench-profiles/"
    prof=$(ls -t "$BENCH_DIR"/zephyr-bench-profiles/*.cpuprofile | head -1)
    echo "# CPU profile of ZephyrCoord: $prof" >&2
    node "$repo/dist/bench/load/profile-top.js" "$prof" 15 >&2 || true
  fi
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "# kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ruok() {
  [ "$( (exec 3<>/dev/tcp/127.0.0.1/"$1" && printf ruok >&3 && timeout 2 cat <&3) 2> /dev/null)" = "imok" ]
}

# Both servers keep ZooKeeper's default forceSync=yes: refuse to compare if a config says otherwise.
check_durable() {
  if grep -qiE '^(zookeeper\.)?forceSync *= *no' "$1/zoo.cfg"; then
    echo "$1/zoo.cfg turns forceSync off" >&2
    exit 2
  fi
}

# start_floor DIR [ARGS...]: starts bench/load/null-server, its pid in DIR/pid; prints its port.
# A port can still be taken between free_port and the bind: a start that exits or never answers
# is retried on another port, and after three tries the run stops with the server's log.
start_floor() {
  local dir=$1 port pid attempt
  shift
  mkdir -p "$dir"
  for attempt in 1 2 3; do
    port=$(free_port)
    while [ "$port" = "$zk_port" ] || [ "$port" = "$zc_port" ] || [ "$port" = "${floor_port:-}" ]; do port=$(free_port); done
    nohup node "$repo/dist/bench/load/null-server.js" --port "$port" --value-size "$VALUE_SIZE" "$@" > "$dir/server.log" 2>&1 &
    pid=$!
    echo "$pid" > "$dir/pid"
    for _ in $(seq 1 100); do
      if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
        echo "$port"
        return 0
      fi
      kill -0 "$pid" 2> /dev/null || break
      sleep 0.1
    done
    kill "$pid" 2> /dev/null || true
    echo "null server on port $port did not answer (try $attempt):" >&2
    tail -5 "$dir/server.log" >&2
  done
  exit 1
}

start_servers() {
  zk_port=$(free_port)
  "$compat/reference-zk.sh" start "$zk_dir" "$zk_port"
  check_durable "$zk_dir"
  zc_port=$(free_port)
  while [ "$zc_port" = "$zk_port" ]; do zc_port=$(free_port); done
  "$compat/zephyr-server.sh" start "$zc_dir" "$zc_port"
  check_durable "$zc_dir"
  if [ "$FLOOR" = 1 ]; then
    floor_port=$(start_floor "$floor_dir")
    dfloor_port=$(start_floor "$dfloor_dir" --sync-dir "$dfloor_dir/log")
  fi
  if [ "$PROFILE" = 1 ]; then
    # same zoo.cfg and data, but under the profiler; zephyr-server.sh stop sends SIGTERM, on
    # which the server exits cleanly and node writes the profile
    "$compat/zephyr-server.sh" stop "$zc_dir"
    mkdir -p "$tmp/profile"
    nohup node --cpu-prof --cpu-prof-dir="$tmp/profile" "$repo/dist/src/bin/zephyr-coord.js" --config "$zc_dir/zoo.cfg" \
      > "$zc_dir/server.log" 2>&1 &
    echo $! > "$zc_dir/pid"
    for _ in $(seq 1 300); do ruok "$zc_port" && break; sleep 0.1; done
    ruok "$zc_port" || { echo "ZephyrCoord (profiled) did not start; see $zc_dir/server.log" >&2; exit 1; }
  fi
}

port_of() {
  case "$1" in
    zookeeper) echo "$zk_port" ;;
    floor) echo "$floor_port" ;;
    durable-floor) echo "$dfloor_port" ;;
    *) echo "$zc_port" ;;
  esac
}

# run_one LABEL CLIENT WORKLOAD EXTRA-ARGS...: one run, its JSON line appended to $out
run_one() {
  local label=$1 client=$2 workload=$3
  shift 3
  local port line status=0 dir=$zc_dir
  port=$(port_of "$label")
  [ "$label" = zookeeper ] && dir=$zk_dir
  [ "$label" = floor ] && dir=$floor_dir
  [ "$label" = durable-floor ] && dir=$dfloor_dir
  local args=(--servers "127.0.0.1:$port" --label "$label" --workload "$workload" --value-size "$VALUE_SIZE"
    --duration "$DURATION" --warmup "$WARMUP" --nodes "$NODES" --server-pid "$(cat "$dir/pid")" --quiet)
  if [ "$client" = java ]; then
    line=$(java -Xmx1g -cp "$tmp/classes:$java_runcp" JavaLoad "${args[@]}" "$@" 2> "$tmp/java.err" | tail -1) || status=$?
  else
    line=$(node "$load" "${args[@]}" --threads "$THREADS" --watchers "$WATCHERS" "$@" | tail -1) || status=$?
  fi
  if [[ "$line" != '{"workload"'* ]]; then
    echo "  $workload/$client/$label: no result (exit status $status)" >&2
    [ -s "$tmp/java.err" ] && [ "$client" = java ] && tail -5 "$tmp/java.err" >&2
    failed=$((failed + 1))
    return 0
  fi
  echo "$line" >> "$out"
  if [ "$status" != 0 ]; then
    failed=$((failed + 1))
    echo "  FAILED $(printf '%-8s %-5s %-12s' "$workload" "$client" "$label") $line" >&2
  else
    printf '  %-8s %-5s %-12s %10s ops/s  p50 %8s ms  p99 %8s ms  server %6s us/op (CPU %s %%, client %s %%)\n' "$workload" "$client" "$label" \
      "$(field ops_per_sec "$line")" "$(field p50_ms "$line")" "$(field p99_ms "$line")" "$(field server_cpu_us_per_op "$line")" \
      "$(field server_cpu_pct "$line")" "$(field client_cpu_pct "$line")" >&2
  fi
  sleep 1
}

# Servers in alternating order: ZooKeeper first in odd rounds, ZephyrCoord first in even ones.
order() { if [ $(($1 % 2)) = 1 ]; then echo "zookeeper zephyrcoord"; else echo "zephyrcoord zookeeper"; fi; }

run_workloads() {
  out="$RESULTS.workloads.jsonl"
  echo "# workloads: $WORKLOADS; $SESSIONS sessions x $OUTSTANDING outstanding, $VALUE_SIZE-byte values, $NODES nodes," \
    "$WATCHERS watchers/node, $ROUNDS rounds of $DURATION s (+$WARMUP s warm-up)" >&2
  for r in $(seq 1 "$ROUNDS"); do
    echo "# round $r/$ROUNDS" >&2
    for w in $WORKLOADS; do
      for s in $(order "$r"); do
        run_one "$s" node "$w" --sessions "$SESSIONS" --outstanding "$OUTSTANDING"
        if [ "$JAVA" = 1 ] && { [ "$w" = get ] || [ "$w" = set ]; }; then
          run_one "$s" java "$w" --sessions "$SESSIONS" --outstanding "$OUTSTANDING"
        fi
      done
      # the null server answers multi with no results
      if [ "$FLOOR" = 1 ] && [ "$w" != multi ]; then
        run_one floor node "$w" --sessions "$SESSIONS" --outstanding "$OUTSTANDING"
        run_one durable-floor node "$w" --sessions "$SESSIONS" --outstanding "$OUTSTANDING"
      fi
    done
  done
}

run_durability() {
  out="$RESULTS.durability.jsonl"
  echo "# durability: setData of $VALUE_SIZE-byte values, clients $DURABILITY_CLIENTS (1 outstanding each)," \
    "$ROUNDS rounds of $DURATION s (+$WARMUP s warm-up)" >&2
  for r in $(seq 1 "$ROUNDS"); do
    echo "# round $r/$ROUNDS" >&2
    for c in $DURABILITY_CLIENTS; do
      for s in $(order "$r"); do
        run_one "$s" node set --sessions "$c" --outstanding 1
      done
      # what a minimal durable Node server reaches with the same clients (an `if`: under
      # set -e a false `[ ] &&` as the function's last command would end the script)
      if [ "$FLOOR" = 1 ]; then run_one durable-floor node set --sessions "$c" --outstanding 1; fi
    done
  done
}

if [ "$JAVA" = 1 ] && [ "$mode" != durability ]; then
  mkdir -p "$tmp/classes"
  javac -nowarn -cp "$javacp" -d "$tmp/classes" "$here/java/JavaLoad.java"
fi

start_servers
echo "# $(date -u +%FT%TZ)  $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)  node $(node --version)" \
  " java $(java -version 2>&1 | head -1 | cut -d'"' -f2)  zephyr $(git -C "$repo" rev-parse --short HEAD 2> /dev/null || echo '?')" >&2
echo "# data under $tmp ($fstype, $(df --output=source "$tmp" | tail -1)); ZooKeeper 3.8.0 on :$zk_port, ZephyrCoord on :$zc_port" \
  "$([ "$PROFILE" = 1 ] && echo '(under --cpu-prof)')" >&2
echo "# results: $RESULTS.*.jsonl" >&2

case "$mode" in
  workloads) run_workloads ;;
  durability) run_durability ;;
  all) run_workloads; run_durability ;;
esac

echo
if [ "$mode" != durability ]; then
  echo "## Workloads: medians of $ROUNDS rounds (ratio = zephyrcoord / zookeeper)"
  node "$summarize" --mode workloads "$RESULTS.workloads.jsonl" || true
  echo
  if [ "$FLOOR" = 1 ]; then
    echo "## Floor: bench/load/null-server (Node's socket work only; no tree, no disk) against ZooKeeper"
    node "$summarize" --mode workloads --candidate floor "$RESULTS.workloads.jsonl" || true
    echo
    echo "## Durable floor: bench/load/null-server --sync-dir (the same, plus each write group-committed with O_DSYNC before its reply) against ZooKeeper"
    node "$summarize" --mode workloads --candidate durable-floor "$RESULTS.workloads.jsonl" || true
    echo
  fi
fi
if [ "$mode" != workloads ]; then
  echo "## Durability (forceSync=yes): acknowledged setData/s and write latency, 1 outstanding per client, medians of $ROUNDS rounds"
  node "$summarize" --mode durability "$RESULTS.durability.jsonl" || true
  echo
  if [ "$FLOOR" = 1 ]; then
    echo "## Durability of the durable floor against ZooKeeper"
    node "$summarize" --mode durability --candidate durable-floor "$RESULTS.durability.jsonl" || true
    echo
  fi
fi
echo "$(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg); $failed failed run(s); JSON lines in $RESULTS.*.jsonl"
[ "$failed" = 0 ]
