#!/usr/bin/env bash
# berth on a 3-node MariaDB Galera Cluster on this one machine (issue 18).
#
#   load-tests/galera.sh start    a fresh cluster: 3 mariadbd on 127.0.0.1, node 1 bootstrapped
#                                 with --wsrep-new-cluster, nodes 2 and 3 joined one at a time
#                                 (state transfer by mariabackup), each waited for until Synced
#   load-tests/galera.sh status   each node's cluster size, state, and certification counters
#   load-tests/galera.sh rush     builds berth (release), runs one instance per node, creates a
#                                 departure of SEATS seats through instance 1, fires REQUESTS
#                                 one-seat holds round-robin over the three instances, then checks
#                                 every node (`berth check`, manifest, availability)
#   load-tests/galera.sh promo-race
#                                 the same instances; PROMO_REQUESTS holds (200) on 20 departures
#                                 of one tour race for one promo code of PROMO_LIMIT uses (10)
#   load-tests/galera.sh stop     shuts the nodes down cleanly (3, 2, then 1)
#
# Needs Debian's mariadb-server, galera-4, mariadb-backup and socat (`start`, run as root,
# installs whichever are missing with apt-get). Loopback only; nothing is read from
# /etc/mysql, and a MariaDB already running on 3306 is left alone.
#
# Environment:
#   GALERA_DIR          where the nodes live (default /tmp/berth-galera): nodeN/{data,my.cnf,
#                       error.log,mysqld.sock}; `rush` keeps its logs under GALERA_DIR/rush-*
#   SEATS, REQUESTS     the rush: capacity of the departure (300) and one-seat holds (3000)
#   CONCURRENCY         requests in flight at once, over all three instances (96)
#   CARGO_TARGET_DIR    where `cargo build --release` puts berth (default: target)
#   BERTH_BIN           use this berth binary instead of building one
#   BERTH_GALERA_PORTS  first HTTP port of the three berth instances (8311)
#   RUSH_NODES          the node each of the three instances uses ("1 2 3"); "1 1 1" runs all three
#                       on node 1 (one writer node: the usual cure for a hot row on Galera)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GALERA_DIR="${GALERA_DIR:-/tmp/berth-galera}"
NODES=(1 2 3)
SQL_PORT=(0 3311 3312 3313)
GCOMM_PORT=(0 4571 4572 4573)
IST_PORT=(0 4581 4582 4583)
SST_PORT=(0 4591 4592 4593)
CLUSTER_ADDRESS="gcomm://127.0.0.1:4571,127.0.0.1:4572,127.0.0.1:4573"
SST_USER=sst
SST_PASSWORD=sst-berth-galera
GALERA_LIB="${GALERA_LIB:-/usr/lib/galera/libgalera_smm.so}"

die() { echo "galera.sh: $*" >&2; exit 1; }

bin() {
  local name
  for name in "$@"; do
    command -v "$name" 2>/dev/null && return 0
    [ -x "/usr/sbin/$name" ] && { echo "/usr/sbin/$name"; return 0; }
  done
  return 1
}

node_dir() { echo "$GALERA_DIR/node$1"; }

# sql N SQL: runs SQL on node N as root over its socket (batch output, no column names).
sql() {
  mariadb --no-defaults --socket="$(node_dir "$1")/mysqld.sock" -uroot --connect-timeout=3 \
    -N -B -e "$2"
}

# wsrep N VARIABLE: a wsrep status variable of node N (empty when the node does not answer).
wsrep() {
  sql "$1" "SHOW GLOBAL STATUS LIKE '$2'" 2>/dev/null | awk '{print $2}' || true
}

# node_pid N: the pid of node N's mariadbd while it runs. mariadbd writes its pid file only once
# a state transfer is over, so start_node records the pid it launched as well.
node_pid() {
  local file pid
  for file in mariadbd.pid launched.pid; do
    file="$(node_dir "$1")/$file"
    [ -s "$file" ] || continue
    pid="$(cat "$file")"
    kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  done
  return 1
}

ensure_packages() {
  local missing=()
  [ -f "$GALERA_LIB" ] || missing+=(galera-4)
  bin mariabackup mariadb-backup >/dev/null || missing+=(mariadb-backup)
  command -v socat >/dev/null || missing+=(socat)
  bin mariadbd >/dev/null || missing+=(mariadb-server)
  if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing ${missing[*]}: apt-get install -y ${missing[*]}"
    echo "== installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null
  fi
}

write_config() {
  local n="$1" dir
  dir="$(node_dir "$n")"
  cat >"$dir/my.cnf" <<EOF
# Node $n of berth's loopback Galera cluster (written by load-tests/galera.sh).
[mariadbd]
datadir=$dir/data
socket=$dir/mysqld.sock
pid-file=$dir/mariadbd.pid
log-error=$dir/error.log
tmpdir=$dir/tmp
port=${SQL_PORT[$n]}
bind-address=127.0.0.1
skip-name-resolve
user=root
max_connections=500
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
innodb_buffer_pool_size=128M
# Galera's requirements: row-based events, InnoDB, interleaved auto-increment locks.
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
# Durability comes from the other nodes (Galera's usual advice); 3 fsyncing nodes on one disk
# would measure the disk.
innodb_flush_log_at_trx_commit=2

wsrep_on=ON
wsrep_provider=$GALERA_LIB
wsrep_cluster_name=berth-galera
wsrep_cluster_address=$CLUSTER_ADDRESS
wsrep_node_name=node$n
wsrep_node_address=127.0.0.1:${GCOMM_PORT[$n]}
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:${GCOMM_PORT[$n]};ist.recv_addr=127.0.0.1:${IST_PORT[$n]};gcache.size=256M"
wsrep_sst_method=mariabackup
wsrep_sst_auth=$SST_USER:$SST_PASSWORD
wsrep_sst_receive_address=127.0.0.1:${SST_PORT[$n]}
wsrep_slave_threads=2
EOF
}

# wait_synced N SIZE SECONDS: until node N is Synced in a cluster of SIZE nodes.
wait_synced() {
  local n="$1" size="$2" deadline=$((SECONDS + $3)) state="" have=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! node_pid "$n" >/dev/null; then
      echo "node $n exited; the end of its log:" >&2
      tail -40 "$(node_dir "$n")/error.log" >&2
      return 1
    fi
    state="$(wsrep "$n" wsrep_local_state_comment)"
    have="$(wsrep "$n" wsrep_cluster_size)"
    if [ "$state" = Synced ] && [ "$have" = "$size" ]; then
      echo "   node $n: Synced, cluster size $have"
      return 0
    fi
    sleep 1
  done
  echo "node $n not Synced in a cluster of $size after $3 s (state '$state', size '$have'):" >&2
  tail -40 "$(node_dir "$n")/error.log" >&2
  return 1
}

start_node() {
  local n="$1" dir server
  shift
  dir="$(node_dir "$n")"
  server="$(bin mariadbd mysqld)" || die "no mariadbd: apt-get install -y mariadb-server"
  # Its own session, so the node outlives this script and the shell that ran it.
  setsid "$server" --defaults-file="$dir/my.cnf" "$@" >>"$dir/error.log" 2>&1 </dev/null &
  echo $! >"$dir/launched.pid"
}

cmd_start() {
  [ "$(id -u)" = 0 ] || die "run it as root (mariadbd runs --user=root)"
  ensure_packages
  local n install
  for n in "${NODES[@]}"; do
    ! node_pid "$n" >/dev/null || die "node $n is running (pid $(node_pid "$n")): galera.sh stop first"
  done
  for n in "${NODES[@]}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/${SQL_PORT[$n]}") 2>/dev/null; then
      die "port ${SQL_PORT[$n]} is taken by something else"
    fi
  done
  install="$(bin mariadb-install-db mysql_install_db)" || die "no mariadb-install-db"
  mkdir -p "$GALERA_DIR"
  # A fresh cluster every time: only our own node folders are removed.
  for n in "${NODES[@]}"; do
    local dir
    dir="$(node_dir "$n")"
    if [ -e "$dir" ]; then
      [ -f "$dir/my.cnf" ] || die "$dir exists and is not a node of this script; remove it or set GALERA_DIR"
      rm -rf "$dir"
    fi
    mkdir -p "$dir/tmp"
    write_config "$n"
    "$install" --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
      --skip-test-db --skip-name-resolve --user=root >"$dir/install.log" 2>&1 \
      || { tail -20 "$dir/install.log" >&2; die "mariadb-install-db failed for node $n"; }
  done

  echo "== node 1: bootstrapping the cluster (--wsrep-new-cluster)"
  start_node 1 --wsrep-new-cluster
  wait_synced 1 1 120
  # mariabackup (the donor side of a state transfer) signs in as this user; the grants replicate.
  sql 1 "CREATE USER '$SST_USER'@'localhost' IDENTIFIED BY '$SST_PASSWORD';
         GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, SLAVE MONITOR ON *.* TO '$SST_USER'@'localhost';"
  for n in 2 3; do
    echo "== node $n: joining (state transfer by mariabackup from a donor)"
    start_node "$n"
    wait_synced "$n" "$n" 300
  done
  cmd_status
  echo "== cluster up: mysql://root@127.0.0.1:3311, :3312, :3313 (root, no password; loopback only)"
}

cmd_stop() {
  local n pid stopped=0
  # The last node down is the one that may bootstrap again (safe_to_bootstrap: 1).
  for n in 3 2 1; do
    pid="$(node_pid "$n" || true)"
    [ -n "$pid" ] || continue
    echo "== stopping node $n (pid $pid)"
    mariadb-admin --no-defaults --socket="$(node_dir "$n")/mysqld.sock" -uroot shutdown \
      || kill "$pid"
    for _ in $(seq 1 120); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -0 "$pid" 2>/dev/null && die "node $n (pid $pid) did not stop in 60 s"
    stopped=$((stopped + 1))
  done
  echo "== $stopped node(s) stopped"
}

cmd_status() {
  local n pid
  printf '%-6s %-8s %-6s %-13s %-9s %-12s %-10s %s\n' node pid port state cluster cluster_size cert_fail bf_aborts
  for n in "${NODES[@]}"; do
    pid="$(node_pid "$n" || true)"
    if [ -z "$pid" ]; then
      printf '%-6s %-8s %-6s %s\n' "node$n" - "${SQL_PORT[$n]}" "not running"
      continue
    fi
    printf '%-6s %-8s %-6s %-13s %-9s %-12s %-10s %s\n' "node$n" "$pid" "${SQL_PORT[$n]}" \
      "$(wsrep "$n" wsrep_local_state_comment)" "$(wsrep "$n" wsrep_cluster_status)" \
      "$(wsrep "$n" wsrep_cluster_size)" "$(wsrep "$n" wsrep_local_cert_failures)" \
      "$(wsrep "$n" wsrep_local_bf_aborts)"
  done
}

PIDS=()
stop_instances() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# cmd_rush [promo]: the rush, or the promo code race.
cmd_rush() {
  local mode="${1:-seats}" seats="${SEATS:-300}" requests="${REQUESTS:-3000}" concurrency="${CONCURRENCY:-96}"
  local first_port="${BERTH_GALERA_PORTS:-8311}" n
  local -a on_node
  read -r -a on_node <<<"${RUSH_NODES:-1 2 3}"
  [ "${#on_node[@]}" = 3 ] || die "RUSH_NODES names one node per instance, three in all"
  for n in "${NODES[@]}"; do
    [ "$(wsrep "$n" wsrep_local_state_comment)" = Synced ] \
      || die "node $n is not Synced: galera.sh start first (galera.sh status)"
  done
  local berth="${BERTH_BIN:-}"
  if [ -z "$berth" ]; then
    echo "== building berth (release)"
    (cd "$ROOT" && cargo build --release --locked -p berth)
    berth="${CARGO_TARGET_DIR:-$ROOT/target}/release/berth"
    case "$berth" in /*) ;; *) berth="$ROOT/$berth" ;; esac
  fi
  [ -x "$berth" ] || die "no berth binary at $berth"

  local run work database
  run="$(date +%Y%m%dT%H%M%S)"
  work="$GALERA_DIR/rush-$run"
  database="berth_rush_$run"
  mkdir -p "$work"
  # DDL runs on every node in the same order (Galera's TOI); berth then migrates it.
  sql "${on_node[0]}" "CREATE DATABASE \`$database\`"
  local secret metrics_token
  secret="$(openssl rand -hex 32)"
  metrics_token="$(openssl rand -hex 16)"

  PIDS=()
  trap stop_instances EXIT
  # berth_env I N: the environment of instance I on node N.
  berth_env() {
    local port=$((first_port + $1 - 1))
    echo "BERTH_DATABASE_URL=mysql://root@127.0.0.1:${SQL_PORT[$2]}/$database" \
      "ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT=$port" \
      "BERTH_PUBLIC_URL=http://127.0.0.1:$port BERTH_SECRET_KEY=$secret" \
      "BERTH_METRICS_TOKEN=$metrics_token BERTH_DEMO=false BERTH_HSTS=false" \
      "BERTH_RATE_LIMITS=off BERTH_HOLD_LIMITS=off BERTH_LOG=warn" \
      "BERTH_MAX_CONNECTIONS=2048 BERTH_MAX_CONNECTIONS_PER_CLIENT=2048" \
      "BERTH_MAIL_DIR=$work/mail BERTH_SMS_DIR=$work/sms"
  }
  local token
  # Instance 1's node gets the migrations first (operator create migrates), and only then do the
  # instances start: berth's migration lock (GET_LOCK) is per node on Galera, not cluster-wide.
  # shellcheck disable=SC2046 # berth_env's words are NAME=value pairs without spaces
  token="$(env $(berth_env 1 "${on_node[0]}") "$berth" operator create --name "Galera rush $run" \
    --email "galera-$run@example.com" | tail -n 1)"
  case "$token" in brt_*) ;; *) die "operator create gave no token: $token" ;; esac
  for n in "${NODES[@]}"; do
    # shellcheck disable=SC2046
    env $(berth_env "$n" "${on_node[$((n - 1))]}") "$berth" serve >"$work/berth-$n.log" 2>&1 &
    PIDS+=($!)
  done
  local urls=() url ok
  for n in "${NODES[@]}"; do
    url="http://127.0.0.1:$((first_port + n - 1))"
    ok=""
    for _ in $(seq 1 150); do
      curl -fs "$url/ready" >/dev/null 2>&1 && { ok=1; break; }
      sleep 0.2
    done
    [ -n "$ok" ] || { tail -20 "$work/berth-$n.log" >&2; die "berth on node $n not ready"; }
    urls+=("$url")
  done
  echo "== berth instances: ${urls[*]} on nodes ${on_node[*]} (database $database)"

  local before=()
  for n in "${NODES[@]}"; do
    before+=("$(wsrep "$n" wsrep_local_cert_failures) $(wsrep "$n" wsrep_local_bf_aborts)")
  done
  local status=0
  if [ "$mode" = promo ]; then
    python3 "$ROOT/load-tests/galera_rush.py" --token "$token" --promo-race "${PROMO_LIMIT:-10}" \
      --requests "${PROMO_REQUESTS:-200}" --departures 20 --concurrency "$concurrency" \
      "${urls[@]}" || status=$?
  else
    python3 "$ROOT/load-tests/galera_rush.py" --token "$token" --seats "$seats" \
      --requests "$requests" --concurrency "$concurrency" --metrics-token "$metrics_token" \
      --out "$work/result.json" "${urls[@]}" || status=$?
  fi

  echo "== Galera conflicts during the rush (per node: certification failures, brute-force aborts)"
  local i=0 cf bf
  for n in "${NODES[@]}"; do
    read -r cf bf <<<"${before[$i]}"
    echo "   node $n: wsrep_local_cert_failures +$(( $(wsrep "$n" wsrep_local_cert_failures) - cf )), wsrep_local_bf_aborts +$(( $(wsrep "$n" wsrep_local_bf_aborts) - bf ))"
    i=$((i + 1))
  done

  echo "== berth check on every node"
  for n in "${NODES[@]}"; do
    local out code=0
    # shellcheck disable=SC2046
    out="$(env $(berth_env "$n" "$n") "$berth" check 2>&1)" || code=$?
    echo "   node $n (exit $code): $out"
    [ "$code" = 0 ] || status=1
  done
  echo "== logs and result.json in $work"
  # berth's warnings and errors during the run (the start-up ones about load-test settings aside).
  local logged
  logged="$(sed -E 's/\x1b\[[0-9;]*m//g' "$work"/berth-*.log | grep -E '^[^ ]+ +(ERROR|WARN) ' \
    | grep -v 'ARE OFF' | sed -E 's/^[^ ]+ +//' | cut -c1-160 || true)"
  if [ -n "$logged" ]; then
    echo "   berth warnings/errors by message (all instances):"
    sort <<<"$logged" | uniq -c | sort -rn | head -10 | sed 's/^/     /'
  fi
  [ "$status" = 0 ] && echo "== rush PASSED" || echo "== rush FAILED"
  return "$status"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  rush) cmd_rush ;;
  promo-race) cmd_rush promo ;;
  *) echo "usage: $0 start|stop|status|rush|promo-race" >&2; exit 2 ;;
esac
