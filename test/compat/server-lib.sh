# Shared by the server launchers, the compatibility harnesses and the benchmarks (sourced, not run).

# wait_until_serving NAME DIR PORT LOG: returns once the server started in DIR (pid in DIR/pid)
# answers `ruok` on PORT; fails with its log if it exits or does not answer within ~60 s.
wait_until_serving() {
  local name=$1 dir=$2 port=$3 log=$4
  for _ in $(seq 1 600); do
    if [ "$( (exec 3<>/dev/tcp/127.0.0.1/"$port" && printf ruok >&3 && timeout 2 cat <&3) 2>/dev/null)" = "imok" ]; then
      return 0
    fi
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "$name exited; see $log" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "$name did not answer ruok on port $port" >&2
  return 1
}

# stop_server DIR: SIGTERM the server whose pid is in DIR/pid, SIGKILL it after 5 s.
stop_server() {
  local dir=$1 pid
  [ -f "$dir/pid" ] || return 0
  pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/pid"
}

# free_port: prints a TCP port in 20000-32767 that nothing on 127.0.0.1 answers on right now.
# Below Linux's ephemeral range (32768 and up), so no outgoing connection can hold it as its
# local port between this check and the server's bind.
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 12768))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "no free port found" >&2
  return 1
}

# The settings every test server runs with, whichever implementation it is. Besides the
# zoo.cfg lines of test_zoo_cfg: extended types (TTL nodes), a 1 s container sweep, the
# superuser digest kazoo's suite logs in with, and hard quota limits enforced (the
# differential test sets quotas; without a quota node nothing changes). ZooKeeper 3.8 reads
# these as Java system properties, ZephyrCoord as zoo.cfg keys.
TEST_PROPERTIES=(
  zookeeper.extendedTypesEnabled=true
  znode.container.checkIntervalMs=1000
  zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
  zookeeper.enforceQuota=true
)

# test_zoo_cfg DATADIR PORT: prints the zoo.cfg lines both servers share (any line may follow).
test_zoo_cfg() {
  cat <<CFG
tickTime=2000
dataDir=$1
clientPort=$2
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
CFG
}

# launch_reference_zk DIR CFG LEVEL [JAVA_OPTION...]: starts Apache ZooKeeper 3.8 from Debian's
# `zookeeper` package (heap 2 GiB, TEST_PROPERTIES) on the zoo.cfg CFG, in the background:
# log4j at LEVEL into DIR/zookeeper.log, stdout in DIR/stdout.log, pid in DIR/pid.
launch_reference_zk() {
  local dir=$1 cfg=$2 level=$3
  shift 3
  cat > "$dir/log4j.properties" <<LOG
log4j.rootLogger=$level, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=$dir/zookeeper.log
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n
LOG
  nohup java -Xmx2g "${TEST_PROPERTIES[@]/#/-D}" "$@" \
    -Dlog4j.configuration="file:$dir/log4j.properties" \
    -cp "/usr/share/java/zookeeper.jar:/usr/share/java/log4j-1.2.jar:/usr/share/java/slf4j-log4j12.jar" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$cfg" > "$dir/stdout.log" 2>&1 &
  echo $! > "$dir/pid"
}

# launch_zephyr DIR CFG [ENTRY]: starts ZephyrCoord (ENTRY: dist/src/bin/zephyr-coord.js of this
# checkout) on the zoo.cfg CFG, in the background: log in DIR/server.log, pid in DIR/pid. Write
# CFG with test_zoo_cfg and zephyr_test_properties.
launch_zephyr() {
  local dir=$1 cfg=$2 entry=${3:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/dist/src/bin/zephyr-coord.js}
  nohup node "$entry" --config "$cfg" > "$dir/server.log" 2>&1 &
  echo $! > "$dir/pid"
}

# zephyr_test_properties: prints TEST_PROPERTIES as zoo.cfg lines.
zephyr_test_properties() {
  printf '%s\n' "${TEST_PROPERTIES[@]}"
}

# start_ensemble DIR SERVER [LAUNCHER-ARGS...]: starts a 3-member ensemble of SERVER (zk or
# zephyr) with test/support/ensemble-cli.ts (needs dist/ built), its files under DIR; returns
# once every member serves, with $ensemble_connect (the members' addresses), $ensemble_control
# (its control port) and $ensemble_pid set. The launcher reads commands from fd 7 (see
# ensemble_command); stop it with stop_ensemble.
start_ensemble() {
  local dir=$1 server=$2 entry
  shift 2
  entry="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/dist/test/support/ensemble-cli.js"
  [ -f "$entry" ] || { echo "missing $entry: run npm run build first" >&2; return 1; }
  mkdir -p "$dir"
  rm -f "$dir/commands"
  mkfifo "$dir/commands"
  TMPDIR=$dir node "$entry" --server "$server" "$@" < "$dir/commands" > "$dir/ensemble.out" 2> "$dir/ensemble.err" &
  ensemble_pid=$!
  exec 7> "$dir/commands"
  for _ in $(seq 1 1800); do
    [ -s "$dir/ensemble.out" ] && break
    kill -0 "$ensemble_pid" 2> /dev/null || break
    sleep 0.1
  done
  ensemble_dir=$dir
  if ! ensemble_connect=$(ensemble_field connect) || ! ensemble_control=$(ensemble_field control); then
    echo "the $server ensemble did not start: $(tail -3 "$dir/ensemble.err" | tr '\n' ' ')" >&2
    stop_ensemble
    return 1
  fi
}

# ensemble_field NAME: a field of the launcher's first line
ensemble_field() {
  head -1 "$ensemble_dir/ensemble.out" 2> /dev/null | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];if(v===undefined)process.exit(1);console.log(v)})' "$1" \
    2> /dev/null
}

# ensemble_command WORD: sends a command to the launcher and prints its one-line answer
ensemble_command() {
  local before
  before=$(wc -l < "$ensemble_dir/ensemble.out")
  # in a subshell: if the launcher is gone, the SIGPIPE ends that, not the caller
  (echo "$1" >&7) 2> /dev/null || true
  for _ in $(seq 1 3000); do
    [ "$(wc -l < "$ensemble_dir/ensemble.out")" -gt "$before" ] && break
    kill -0 "$ensemble_pid" 2> /dev/null || break
    sleep 0.1
  done
  tail -1 "$ensemble_dir/ensemble.out"
}

stop_ensemble() {
  [ -n "${ensemble_pid:-}" ] || return 0
  (echo quit >&7) 2> /dev/null || true
  exec 7>&-
  for _ in $(seq 1 300); do kill -0 "$ensemble_pid" 2> /dev/null || break; sleep 0.1; done
  kill "$ensemble_pid" 2> /dev/null || true
  wait "$ensemble_pid" 2> /dev/null || true
  ensemble_pid=
}

# start_target TARGET DIR: starts the server a compatibility harness runs against, with its
# files under DIR: zk or zephyr (one server on a free port, reference-zk.sh / zephyr-server.sh),
# or zk-ensemble or zephyr-ensemble (3 members, start_ensemble, the settings of test_zoo_cfg
# and TEST_PROPERTIES). Sets $connect to the connection string. Stop it with stop_target.
start_target() {
  local target=$1 dir=$2 port
  local compat
  compat=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  case "$target" in
    zk | zephyr)
      port=$(free_port)
      "$compat/$([ "$target" = zk ] && echo reference-zk.sh || echo zephyr-server.sh)" start "$dir" "$port" || return 1
      connect=127.0.0.1:$port
      ;;
    zk-ensemble | zephyr-ensemble)
      start_ensemble "$dir" "${target%-ensemble}" "${TEST_PROPERTIES[@]/#/--set=}" --set=maxClientCnxns=0 || return 1
      connect=$ensemble_connect
      ;;
    *) echo "unknown target $target" >&2; return 2 ;;
  esac
}

stop_target() {
  local target=$1 dir=$2 compat
  compat=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  case "$target" in
    zk) "$compat/reference-zk.sh" stop "$dir" > /dev/null 2>&1 || true ;;
    zephyr) "$compat/zephyr-server.sh" stop "$dir" > /dev/null 2>&1 || true ;;
    *) stop_ensemble ;;
  esac
}
