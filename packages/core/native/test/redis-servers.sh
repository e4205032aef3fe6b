#!/usr/bin/env bash
# Starts and stops throw-away redis-server instances for libdbr's tests, on 127.0.0.1 only.
#
#   redis-servers.sh single PORT PASSWORD DIR [EXTRA-CONFIG...]
#       One server. PORT 0 picks a free port; PASSWORD "" or "-" means none. Prints the port.
#       EXTRA-CONFIG lines are appended to the config (e.g. 'rename-command CONFIG ""').
#   redis-servers.sh cluster BASEPORT DIR
#       Three masters (no replicas) joined with redis-cli --cluster create. BASEPORT 0 picks free ports.
#       Prints the three ports. cluster-require-full-coverage is off, so the other masters keep serving when
#       one dies.
#   redis-servers.sh stop DIR
#       Stops every server started in DIR (resuming stopped ones first) and removes DIR.
#
# Every server keeps its pid file, log and config in DIR, has no persistence, and is stopped by `stop`.
set -u

die() { echo "redis-servers.sh: $*" >&2; exit 1; }

command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
command -v redis-cli >/dev/null || die "redis-cli not found (apt-get install redis-tools)"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A random port in [20000, 39999] with nothing listening on it (nor on the +10000 cluster bus port).
pick_port() {
  local tries=0 p
  while [ $tries -lt 200 ]; do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 20000 ))
    if ! port_busy "$p" && ! port_busy $((p + 10000)); then echo "$p"; return 0; fi
    tries=$((tries + 1))
  done
  return 1
}

# start_server PORT DIR PASSWORD CLUSTER EXTRA... -> 0 when it answers PING
start_server() {
  local port=$1 dir=$2 pass=$3 cluster=$4
  shift 4
  local conf="$dir/redis-$port.conf"
  {
    echo "bind 127.0.0.1"
    echo "port $port"
    echo "daemonize yes"
    echo "pidfile $dir/redis-$port.pid"
    echo "logfile $dir/redis-$port.log"
    echo "dir $dir"
    echo "save \"\""
    echo "appendonly no"
    echo "protected-mode no"
    if [ -n "$pass" ]; then echo "requirepass \"$pass\""; fi
    if [ "$cluster" = yes ]; then
      echo "cluster-enabled yes"
      echo "cluster-config-file $dir/nodes-$port.conf"
      echo "cluster-node-timeout 3000"
      echo "cluster-require-full-coverage no"
    fi
    for line in "$@"; do echo "$line"; done
  } >"$conf"
  redis-server "$conf" >/dev/null 2>&1 || return 1
  local i=0
  while [ $i -lt 100 ]; do
    if [ -n "$pass" ]; then
      REDISCLI_AUTH="$pass" redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG && return 0
    else
      redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG && return 0
    fi
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

stop_dir() {
  local dir=$1 f pid
  [ -d "$dir" ] || return 0
  for f in "$dir"/redis-*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null)
    [ -n "$pid" ] || continue
    kill -CONT "$pid" 2>/dev/null
    kill -TERM "$pid" 2>/dev/null
  done
  for f in "$dir"/redis-*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null)
    [ -n "$pid" ] || continue
    local i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.05; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
  done
  rm -rf "$dir"
}

cmd=${1:-}
case "$cmd" in
single)
  [ $# -ge 4 ] || die "usage: $0 single PORT PASSWORD DIR [EXTRA-CONFIG...]"
  port=$2 pass=$3 dir=$4
  shift 4
  [ "$pass" = "-" ] && pass=""
  mkdir -p "$dir" || die "cannot create $dir"
  for attempt in 1 2 3 4 5; do
    p=$port
    if [ "$p" = 0 ]; then p=$(pick_port) || die "no free port"; fi
    if start_server "$p" "$dir" "$pass" no "$@"; then echo "$p"; exit 0; fi
    [ "$port" = 0 ] || break
  done
  die "redis-server did not start (see $dir/*.log)"
  ;;
cluster)
  [ $# -ge 3 ] || die "usage: $0 cluster BASEPORT DIR"
  base=$2 dir=$3
  mkdir -p "$dir" || die "cannot create $dir"
  ports=()
  for n in 1 2 3; do
    ok=0
    for attempt in 1 2 3 4 5; do
      if [ "$base" = 0 ]; then p=$(pick_port) || die "no free port"; else p=$((base + n - 1)); fi
      if start_server "$p" "$dir" "" yes; then ok=1; break; fi
      [ "$base" = 0 ] || break
    done
    [ $ok = 1 ] || { stop_dir "$dir"; die "cluster node $n did not start"; }
    ports+=("$p")
  done
  addrs=()
  for p in "${ports[@]}"; do addrs+=("127.0.0.1:$p"); done
  redis-cli --cluster create "${addrs[@]}" --cluster-yes >"$dir/create.log" 2>&1 ||
    { stop_dir "$dir"; die "redis-cli --cluster create failed"; }
  # Wait until every node agrees the cluster is up and knows all slots.
  i=0
  while [ $i -lt 200 ]; do
    good=0
    for p in "${ports[@]}"; do
      info=$(redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null)
      echo "$info" | grep -q 'cluster_state:ok' && echo "$info" | grep -q 'cluster_slots_assigned:16384' &&
        good=$((good + 1))
    done
    [ $good = 3 ] && { echo "${ports[*]}"; exit 0; }
    sleep 0.05
    i=$((i + 1))
  done
  stop_dir "$dir"
  die "the cluster did not come up"
  ;;
stop)
  [ $# -ge 2 ] || die "usage: $0 stop DIR"
  stop_dir "$2"
  ;;
*)
  die "usage: $0 single PORT PASSWORD DIR | cluster BASEPORT DIR | stop DIR"
  ;;
esac
