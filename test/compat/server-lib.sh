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

# free_port: prints a TCP port in 20000-39999 that nothing on 127.0.0.1 answers on right now.
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "no free port found" >&2
  return 1
}
