#!/usr/bin/env bash
# 3-member mode of bench/compare.sh: a 3-member Apache ZooKeeper 3.8.0 ensemble against a
# 3-member ZephyrCoord ensemble on this machine, both durable (forceSync=yes, the default of
# both), members linked directly (no fault proxies), sessions of the load generator spread
# round-robin over all three members; then the failover time after kill -9 of the leader.
#
#   bench/compare-ensemble.sh                 (needs `npm run build` first)
#   bench/compare-ensemble.sh isolate         failover after the leader is isolated, not killed
#
# `isolate` runs no workload: each member's links to the others go through the fault proxies of
# test/support/ensemble-process.ts, and FAILOVERS times per round the leader's links (quorum and
# election ports, both ways) are turned into a black hole (bytes silently lost, no reset, as
# behind a network partition) while its process runs on; timed from the cut: a create through
# the other two members acknowledged, the old leader no longer serving, a session on it losing
# its connection; then the links heal and the old leader rejoins before the next cut. Both
# servers get the same TICK_TIME [500] ms, INIT_LIMIT [10] and SYNC_LIMIT [5] ticks.
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

MODE=${1:-workloads}
case "$MODE" in
  workloads | isolate) ;;
  *)
    echo "usage: $0 [workloads|isolate]" >&2
    exit 2
    ;;
esac
SERVERS=${SERVERS:-zookeeper zephyrcoord}
SESSIONS=${SESSIONS:-30}
WORKLOADS=${WORKLOADS:-get set mixed}
FAILOVERS=${FAILOVERS:-3}
TICK_TIME=${TICK_TIME:-500}
INIT_LIMIT=${INIT_LIMIT:-10}
SYNC_LIMIT=${SYNC_LIMIT:-5}
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

# isolate_round LABEL: FAILOVERS isolations of the leader of a fresh proxied ensemble
isolate_round() {
  local label=$1 line server=zk
  [ "$label" = zephyrcoord ] && server=zephyr
  rm -rf "${tmp:?}/$label"
  if ! start_ensemble "$tmp/$label" "$server" --java-heap "$JAVA_HEAP" --set "tickTime=$TICK_TIME" \
    --set "initLimit=$INIT_LIMIT" --set "syncLimit=$SYNC_LIMIT" 2> "$tmp/start.err"; then
    echo "  $label: $(cat "$tmp/start.err")" >&2
    return 0
  fi
  for _ in $(seq 1 "$FAILOVERS"); do
    line=$(ensemble_command isolate)
    if [[ "$line" != '{"write_ms"'* ]]; then
      echo "  FAILED isolate $label: $line" >&2
      failed=$((failed + 1))
      continue
    fi
    echo "{\"server\":\"$label\",${line#\{}" >> "$RESULTS.isolate.jsonl"
    printf '  isolate %-12s write %6s ms  old leader stops %6s ms  its client loses it %6s ms  rejoin %6s ms  (leader %s -> %s)\n' \
      "$label" "$(field write_ms "$line")" "$(field old_leader_stops_ms "$line")" "$(field client_loss_ms "$line")" \
      "$(field rejoin_ms "$line")" "$(field isolated "$line")" "$(field new_leader "$line")" >&2
  done
  stop_ensemble
}

# medians FILE FIELD...: per server, the median, min and max of each field (ms) over the file's lines
medians() {
  node -e '
const [file, ...fields] = process.argv.slice(1);
const lines = require("fs").readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
for (const server of [...new Set(lines.map((l) => l.server))]) {
  const mine = lines.filter((l) => l.server === server);
  const cells = fields.map((f) => {
    const ms = mine.map((l) => l[f]).filter((v) => typeof v === "number").sort((a, b) => a - b);
    if (ms.length === 0) return `${f}: none`;
    const median = ms.length % 2 ? ms[(ms.length - 1) / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
    return `${f} median ${median} (min ${ms[0]}, max ${ms[ms.length - 1]}, n ${ms.length})`;
  });
  console.log(`| ${server} | ${mine.length} | ${cells.join(" | ")} |`);
}' "$@"
}

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
if [ "$MODE" = isolate ]; then
  echo "# 3 members each, links through fault proxies, data under $tmp ($fstype); tickTime $TICK_TIME ms," \
    "initLimit $INIT_LIMIT, syncLimit $SYNC_LIMIT (syncLimit x tickTime $((SYNC_LIMIT * TICK_TIME)) ms);" \
    "$ROUNDS rounds of $FAILOVERS isolations; results $RESULTS.isolate.jsonl" >&2
  : > "$RESULTS.isolate.jsonl"
else
  echo "# 3 members each, data under $tmp ($fstype); $WORKLOADS: $SESSIONS sessions x $OUTSTANDING outstanding over all members," \
    "$ROUNDS rounds of $DURATION s (+$WARMUP s); $FAILOVERS failovers per round; results $RESULTS.*.jsonl" >&2
  : > "$RESULTS.workloads.jsonl"
  : > "$RESULTS.failover.jsonl"
fi
for r in $(seq 1 "$ROUNDS"); do
  echo "# round $r/$ROUNDS" >&2
  order=$SERVERS
  [ $((r % 2)) = 0 ] && order=$(echo "$SERVERS" | tr ' ' '\n' | tac | tr '\n' ' ')
  for s in $order; do
    if [ "$MODE" = isolate ]; then isolate_round "$s"; else run_round "$s"; fi
  done
done

echo
if [ "$MODE" = isolate ]; then
  echo "## Failover after the leader is isolated (ms from the cut; syncLimit x tickTime = $((SYNC_LIMIT * TICK_TIME)) ms)"
  echo "| server | isolations | write acknowledged by another member | old leader stops serving | a session on the old leader loses it |"
  medians "$RESULTS.isolate.jsonl" write_ms old_leader_stops_ms client_loss_ms
else
  echo "## 3-member ensembles: medians of $ROUNDS rounds (ratio = zephyrcoord / zookeeper)"
  node "$summarize" --mode workloads "$RESULTS.workloads.jsonl" || true
  echo
  echo "## Failover: kill -9 of the leader until a write is acknowledged by another member (ms)"
  medians "$RESULTS.failover.jsonl" failover_ms
fi
[ "$failed" = 0 ] || { echo "$failed runs failed" >&2; exit 1; }
