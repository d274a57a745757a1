#!/usr/bin/env bash
# 3-member mode of bench/compare.sh: a 3-member Apache ZooKeeper 3.8.0 ensemble against a
# 3-member ZephyrCoord ensemble on this machine, both durable (forceSync=yes, the default of
# both), members linked directly (no fault proxies), sessions of the load generator spread
# round-robin over all three members; then the failover time after kill -9 of the leader.
#
#   bench/compare-ensemble.sh                 (needs `npm run build` first)
#
# Environment (defaults in brackets):
#   SERVERS ["zookeeper zephyrcoord"]  ROUNDS [3]  DURATION [10] s measured  WARMUP [3] s
#   SESSIONS [30]  OUTSTANDING [8]  VALUE_SIZE [100]  NODES [1000]  WORKLOADS ["get set mixed"]
#   FAILOVERS [3] kill -9 of the leader per round (the old leader is restarted after each)
#   JAVA_HEAP [512m] per ZooKeeper member
#   BENCH_DIR [${TMPDIR:-/tmp}] parent of the members' data dirs; must be a real disk, not tmpfs
#   RESULTS [$BENCH_DIR/zephyr-ensemble-bench-<time>] JSON lines in $RESULTS.workloads.jsonl and
#           $RESULTS.failover.jsonl
#
# A server whose ensemble does not start
# is reported and left out; its columns stay empty. Exit status 1 if any run failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

SERVERS=${SERVERS:-zookeeper zephyrcoord}
SESSIONS=${SESSIONS:-30}
WORKLOADS=${WORKLOADS:-get set mixed}
FAILOVERS=${FAILOVERS:-3}
JAVA_HEAP=${JAVA_HEAP:-512m}
. "$here/lib.sh"
RESULTS=${RESULTS:-$BENCH_DIR/zephyr-ensemble-bench-$(date +%Y%m%d-%H%M%S)}

cli="$repo/dist/test/support/ensemble-cli.js"
require_built "$cli"
make_bench_tmp zephyr-ensemble-bench

cleanup() {
  stop_ensemble
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

run_round() {
  local label=$1 line status server=zk connect pids
  [ "$label" = zephyrcoord ] && server=zephyr
  rm -rf "${tmp:?}/$label"
  if ! start_ensemble "$tmp/$label" "$server" --no-proxy --java-heap "$JAVA_HEAP" 2> "$tmp/start.err"; then
    echo "  $label: $(cat "$tmp/start.err")" >&2
    return 0
  fi
  connect=$ensemble_connect
  # every member's CPU over each measured window is summed into server CPU per op
  pids=$(head -1 "$ensemble_dir/ensemble.out" | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).members.map((m)=>m.pid).join(",")))')
  echo "  $label: members $connect (pids $pids)" >&2
  for w in $WORKLOADS; do
    status=0
    line=$(node "$load" --servers "$connect" --label "$label" --workload "$w" --value-size "$VALUE_SIZE" --duration "$DURATION" \
      --warmup "$WARMUP" --nodes "$NODES" --sessions "$SESSIONS" --outstanding "$OUTSTANDING" --server-pid "$pids" --quiet | tail -1) || status=$?
    if [[ "$line" != '{"workload"'* ]] || [ "$status" != 0 ]; then
      echo "  FAILED $w $label (exit status $status) $line" >&2
      failed=$((failed + 1))
      continue
    fi
    echo "$line" >> "$RESULTS.workloads.jsonl"
    printf '  %-8s %-12s %10s ops/s  p50 %8s ms  p99 %8s ms  server CPU %6s us/op\n' "$w" "$label" "$(field ops_per_sec "$line")" \
      "$(field p50_ms "$line")" "$(field p99_ms "$line")" "$(field server_cpu_us_per_op "$line")" >&2
  done
  for _ in $(seq 1 "$FAILOVERS"); do
    line=$(ensemble_command failover)
    if [[ "$line" != '{"failover_ms"'* ]]; then
      echo "  FAILED failover $label: $line" >&2
      failed=$((failed + 1))
      continue
    fi
    echo "{\"server\":\"$label\",${line#\{}" >> "$RESULTS.failover.jsonl"
    echo "  failover $label: $(field failover_ms "$line") ms (killed leader $(field killed "$line"), new leader $(field new_leader "$line"))" >&2
  done
  stop_ensemble
}

echo "# $(date -u +%FT%TZ)  $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)  node $(node --version)" \
  " java $(java -version 2>&1 | head -1 | cut -d'"' -f2)  zephyr $(git -C "$repo" rev-parse --short HEAD 2> /dev/null || echo '?')" >&2
echo "# 3 members each, data under $tmp ($fstype); $WORKLOADS: $SESSIONS sessions x $OUTSTANDING outstanding over all members," \
  "$ROUNDS rounds of $DURATION s (+$WARMUP s); $FAILOVERS failovers per round; results $RESULTS.*.jsonl" >&2
: > "$RESULTS.workloads.jsonl"
: > "$RESULTS.failover.jsonl"
for r in $(seq 1 "$ROUNDS"); do
  echo "# round $r/$ROUNDS" >&2
  order=$SERVERS
  [ $((r % 2)) = 0 ] && order=$(echo "$SERVERS" | tr ' ' '\n' | tac | tr '\n' ' ')
  for s in $order; do run_round "$s"; done
done

echo
echo "## 3-member ensembles: medians of $ROUNDS rounds (ratio = zephyrcoord / zookeeper)"
node "$summarize" --mode workloads "$RESULTS.workloads.jsonl" || true
echo
echo "## Failover: kill -9 of the leader until a write is acknowledged by another member (ms)"
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
for (const server of [...new Set(lines.map((l) => l.server))]) {
  const ms = lines.filter((l) => l.server === server).map((l) => l.failover_ms).sort((a, b) => a - b);
  const median = ms.length % 2 ? ms[(ms.length - 1) / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
  console.log(`| ${server} | ${ms.length} failovers | median ${median} ms | min ${ms[0]} ms | max ${ms[ms.length - 1]} ms |`);
}' "$RESULTS.failover.jsonl"
[ "$failed" = 0 ] || { echo "$failed runs failed" >&2; exit 1; }
