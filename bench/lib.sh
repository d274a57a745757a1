# Set-up shared by bench/compare.sh and bench/compare-ensemble.sh, sourced once `repo` is set:
# the load settings both take from the environment, the built files both run, the server
# launchers of test/compat, and a scratch directory that must be on a real disk.

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
OUTSTANDING=${OUTSTANDING:-8}
VALUE_SIZE=${VALUE_SIZE:-100}
NODES=${NODES:-1000}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}}

load="$repo/dist/bench/load/main.js"
summarize="$repo/dist/bench/load/summarize.js"

. "$repo/test/compat/server-lib.sh"

# require_built [FILE...]: the load generator, its summary and the server, plus FILEs, must exist.
require_built() {
  local f
  for f in "$load" "$summarize" "$repo/dist/src/bin/zephyr-coord.js" "$@"; do
    [ -f "$f" ] || { echo "missing $f: run npm run build first" >&2; exit 2; }
  done
}

# make_bench_tmp NAME: sets tmp to a new directory NAME.XXXXXX under BENCH_DIR, and fstype to
# its file system type (reported with the figures). On tmpfs an
# fsync costs nothing, so durable figures measured there would mean nothing: refused.
make_bench_tmp() {
  mkdir -p "$BENCH_DIR"
  tmp=$(mktemp -d "$BENCH_DIR/$1.XXXXXX")
  fstype=$(stat -f -c %T "$tmp")
  case "$fstype" in
    tmpfs | ramfs)
      echo "$tmp is on $fstype: fsync would cost nothing there. Set BENCH_DIR to a directory on a disk." >&2
      rm -rf "$tmp"
      exit 2
      ;;
  esac
}

failed=0
# field NAME JSON: the value of "NAME" in a JSON line of the load generator.
field() { grep -o "\"$1\":[^,}]*" <<< "$2" | head -1 | cut -d: -f2; }
