#!/usr/bin/env bash
# Runs every benchmark once with tiny settings, to prove each still works (CI). Figures from
# such short runs mean nothing and nothing here checks them; a benchmark that cannot run, or
# a load run with any failed request, fails the smoke test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
echo "# bench/micro --quick"
node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 dist/bench/micro/main.js --quick
echo "# bench/compare.sh workloads and durability, one short round"
ROUNDS=1 DURATION=1 WARMUP=0 NODES=100 SESSIONS=4 OUTSTANDING=4 WATCHERS=2 DURABILITY_CLIENTS="1 4" FLOOR=1 bash bench/compare.sh all
echo "# bench/recovery/run.sh with 10000 znodes"
SETTLE_S=1 bash bench/recovery/run.sh 10000
echo "bench smoke: ok"
