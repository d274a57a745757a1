#!/usr/bin/env bash
# How long snapshots stall request handling. Each server starts on the same dataDir of N
# znodes of 100 bytes (bench/recovery/make-datadir.ts) with a small snapCount, takes a steady
# setData load (bench/load, WRITERS sessions x OUTSTANDING in flight), and meanwhile a probe
# session sends a getData every INTERVAL_MS (open loop, bench/snapshot-stall/probe.ts) and
# records its latency. With snapCount small the server snapshots every few seconds, so the
# probe's maximum and p99.9 are what a client sees while snapshots are taken; a baseline run
# with snapCount 10^9 (no snapshot during the run) shows what is due to the rest.
#
#   bench/snapshot-stall/run.sh [N=500000]          (needs `npm run build` first)
#
# Environment (defaults in brackets):
#   SERVERS ["zephyr zk"]  zephyr: this checkout's build; zk: Apache ZooKeeper 3.8.0 (2 GiB heap);
#            zephyr-before: the build whose entry point ZEPHYR_BEFORE_JS names (e.g. an older commit's
#            dist/src/bin/zephyr-coord.js)
#   SNAPCOUNT [10000]  DURATION [60] s probed per run  ROUNDS [1]  INTERVAL_MS [2]
#   WRITERS [8]  OUTSTANDING [1]  BASELINE [1] (0: no snapCount 10^9 runs)
#   BENCH_DIR [${TMPDIR:-/tmp}] parent of the data dirs (a real disk: both servers fsync)
#   KEEP_TMP [0] 1: keep data dirs and server logs
# Prints one JSON line per run and a table at the end. For ZephyrCoord the table also gives
# the longest single snapshot slice and the mean time a snapshot took (from its log).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
n=${1:-500000}
SERVERS=${SERVERS:-zephyr zk}
SNAPCOUNT=${SNAPCOUNT:-10000}
DURATION=${DURATION:-60}
ROUNDS=${ROUNDS:-1}
INTERVAL_MS=${INTERVAL_MS:-2}
WRITERS=${WRITERS:-8}
OUTSTANDING=${OUTSTANDING:-1}
BASELINE=${BASELINE:-1}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}}
for f in "$repo/dist/bench/load/main.js" "$repo/dist/bench/snapshot-stall/probe.js" "$repo/dist/bench/recovery/make-datadir.js"; do
  [ -f "$f" ] || { echo "missing $f: run npm run build first" >&2; exit 2; }
done
if [[ " $SERVERS " == *" zephyr-before "* ]] && [ ! -f "${ZEPHYR_BEFORE_JS:-}" ]; then
  echo "zephyr-before needs ZEPHYR_BEFORE_JS (another build's dist/src/bin/zephyr-coord.js)" >&2
  exit 2
fi
. "$repo/test/compat/server-lib.sh"

mkdir -p "$BENCH_DIR"
work=$(mktemp -d "$BENCH_DIR/zc-snapshot-stall.XXXXXX")
current=""
cleanup() {
  [ -n "$current" ] && stop_server "$current"
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node "$repo/dist/bench/recovery/make-datadir.js" "$work/template" "$n" 100 >&2
results="$work/results.jsonl"
: > "$results"

four() { (exec 3<>/dev/tcp/127.0.0.1/"$1" && printf '%s' "$2" >&3 && timeout 5 cat <&3) 2>/dev/null; }
snapshot_count() { find "$1/version-2" -maxdepth 1 -name 'snapshot.*' | wc -l; }

# run KIND SNAPCOUNT ROUND: one server, one load + probe window; appends a JSON line to $results.
run() {
  local kind=$1 snapcount=$2 round=$3 dir port cfg pid before after writer probe log slices
  dir="$work/$kind-$snapcount-$round"
  mkdir -p "$dir"
  cp -r "$work/template" "$dir/data"
  port=$(free_port)
  cfg="$dir/zoo.cfg"
  { test_zoo_cfg "$dir/data" "$port"; echo "snapCount=$snapcount"; } > "$cfg"
  case "$kind" in
    zk) launch_reference_zk "$dir" "$cfg" INFO; log="$dir/zookeeper.log" ;;
    zephyr) zephyr_test_properties >> "$cfg"; launch_zephyr "$dir" "$cfg"; log="$dir/server.log" ;;
    zephyr-before) zephyr_test_properties >> "$cfg"; launch_zephyr "$dir" "$cfg" "$ZEPHYR_BEFORE_JS"; log="$dir/server.log" ;;
  esac
  current=$dir
  # serving once `srvr` shows a node count (ZooKeeper answers ruok while still loading)
  for _ in $(seq 1 1200); do
    four "$port" srvr | grep -q "Node count" && break
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || { echo "$kind exited; see $log" >&2; return 1; }
    sleep 0.1
  done
  pid=$(cat "$dir/pid")
  node "$repo/dist/bench/load/main.js" --servers "127.0.0.1:$port" --workload set --sessions "$WRITERS" \
    --outstanding "$OUTSTANDING" --duration "$((DURATION + 4))" --warmup 3 --nodes 1000 --label "$kind" --quiet \
    > "$dir/writer.json" 2> "$dir/writer.err" &
  writer=$!
  sleep 4
  before=$(snapshot_count "$dir/data")
  probe=$(node "$repo/dist/bench/snapshot-stall/probe.js" --server "127.0.0.1:$port" --path /bench/p0/n0 \
    --interval-ms "$INTERVAL_MS" --duration "$DURATION" --label "$kind")
  after=$(snapshot_count "$dir/data")
  wait "$writer" || { cat "$dir/writer.err" >&2; echo "writer failed against $kind" >&2; return 1; }
  slices='{}'
  if [ "$kind" != zk ]; then
    # the background snapshots ZephyrCoord logged (the "before" build logs no slice figures)
    slices=$(node -e '
      const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n");
      let n = 0, longest = 0, elapsed = 0;
      for (const l of lines) {
        if (!l.includes("snapshot written")) continue;
        const r = JSON.parse(l); n++;
        if (r.longestSliceMs > longest) longest = r.longestSliceMs;
        elapsed += r.elapsedMs ?? 0;
      }
      console.log(JSON.stringify(n && longest ? { longest_slice_ms: longest, snapshot_ms_mean: Math.round(elapsed / n) } : {}));
    ' "$log")
  fi
  node -e '
    const [probe, writer, slices, kind, snapcount, snaps, n] = process.argv.slice(1);
    const w = JSON.parse(writer);
    console.log(JSON.stringify({ server: kind, znodes: Number(n), snapCount: Number(snapcount), snapshots: Number(snaps),
      writes_per_s: Math.round(w.ops_per_sec), ...JSON.parse(probe), ...JSON.parse(slices) }));
  ' "$probe" "$(tail -1 "$dir/writer.json")" "$slices" "$kind" "$snapcount" "$((after - before))" "$n" | tee -a "$results"
  stop_server "$dir"
  current=""
  [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$dir/data"
}

for round in $(seq 1 "$ROUNDS"); do
  for kind in $SERVERS; do
    run "$kind" "$SNAPCOUNT" "$round"
    if [ "$BASELINE" = 1 ]; then run "$kind" 1000000000 "$round"; fi
  done
done

node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const cols = ["server", "snapCount", "snapshots", "writes_per_s", "probes", "p99_ms", "p999_ms", "max_ms", "over_50ms", "longest_slice_ms", "snapshot_ms_mean"];
  const cell = (r, c) => String(r[c] ?? "-");
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r, c).length)));
  const line = (vals) => vals.map((v, i) => v.padStart(width[i])).join("  ");
  console.log(line(cols));
  for (const r of rows) console.log(line(cols.map((c) => cell(r, c))));
' "$results"
