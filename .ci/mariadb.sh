# shellcheck shell=bash
# A MySQL server for berth's scripts, sourced by .ci/run, load-tests/ci-rush.sh and
# tests/fuzz/run.sh (one copy, not three). The Rust test suite starts its own the same way
# (tests/api/support/mysql_server.rs), with a watchdog because a killed test process cannot clean up.
#
#   throwaway_mariadb_start DIR   mariadbd with its datadir, socket and log in DIR, on a free port of
#                                 127.0.0.1, never reading /etc/mysql; sets THROWAWAY_MARIADB_URL
#                                 (mysql://root@127.0.0.1:PORT) and THROWAWAY_MARIADB_PID. Fails
#                                 (log tail on stderr) when MariaDB is not installed or does not start.
#   throwaway_mariadb_stop        stops it; call it from the caller's EXIT trap.
#   mariadb_exec URL SQL [ARGS]   runs SQL on the server of a mysql:// URL (user, password, host, port).
#   mysql_answers URL             whether a server answers there (3 s).

THROWAWAY_MARIADB_URL=""
THROWAWAY_MARIADB_PID=""

_mariadb_bin() {
  local name
  for name in "$@"; do
    command -v "$name" 2>/dev/null && return 0
    [ -x "/usr/sbin/$name" ] && { echo "/usr/sbin/$name"; return 0; }
  done
  return 1
}

# mariadb_exec URL SQL [extra client args]
mariadb_exec() {
  local url="$1" sql="$2"
  shift 2
  python3 - "$url" "$sql" "$@" <<'PYTHON'
import subprocess, sys, urllib.parse
url, sql, extra = urllib.parse.urlparse(sys.argv[1]), sys.argv[2], sys.argv[3:]
command = ["mariadb", "--no-defaults", "--connect-timeout=3", "-h", url.hostname or "127.0.0.1",
           "-P", str(url.port or 3306), "-u", urllib.parse.unquote(url.username or "root")]
if url.password:
    command.append("-p" + urllib.parse.unquote(url.password))
sys.exit(subprocess.run(command + extra + ["-e", sql]).returncode)
PYTHON
}

mysql_answers() {
  mariadb_exec "$1" "SELECT 1" >/dev/null 2>&1
}

throwaway_mariadb_start() {
  local dir="$1" server install port as_root=()
  server="$(_mariadb_bin mariadbd mysqld)" || { echo "no mariadbd: apt-get install -y mariadb-server" >&2; return 1; }
  install="$(_mariadb_bin mariadb-install-db mysql_install_db)" || { echo "no mariadb-install-db" >&2; return 1; }
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && as_root=(--user=root)
  "$install" --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve "${as_root[@]}" >"$dir/install.log" 2>&1 \
    || { tail -20 "$dir/install.log" >&2; return 1; }
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  # The same fast, throwaway settings as the Rust suite's server; utf8mb4 like Debian's packaging.
  "$server" --no-defaults --datadir="$dir/data" --socket="$dir/sock" --pid-file="$dir/pid" \
    --port="$port" --bind-address=127.0.0.1 --skip-name-resolve --skip-log-bin \
    --innodb-buffer-pool-size=128M --innodb-flush-log-at-trx-commit=2 --innodb-doublewrite=0 \
    --max-connections=500 --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    "${as_root[@]}" >"$dir/server.log" 2>&1 &
  THROWAWAY_MARIADB_PID=$!
  local url="mysql://root@127.0.0.1:$port" _
  for _ in $(seq 1 150); do
    if ! kill -0 "$THROWAWAY_MARIADB_PID" 2>/dev/null; then
      echo "mariadbd exited during start-up:" >&2; tail -20 "$dir/server.log" >&2
      THROWAWAY_MARIADB_PID=""; return 1
    fi
    if mysql_answers "$url"; then
      THROWAWAY_MARIADB_URL="$url"
      return 0
    fi
    sleep 0.2
  done
  echo "mariadbd not ready after 30 s:" >&2; tail -20 "$dir/server.log" >&2
  throwaway_mariadb_stop
  return 1
}

throwaway_mariadb_stop() {
  if [ -n "$THROWAWAY_MARIADB_PID" ]; then
    kill "$THROWAWAY_MARIADB_PID" 2>/dev/null || true
    wait "$THROWAWAY_MARIADB_PID" 2>/dev/null || true
    THROWAWAY_MARIADB_PID=""
    THROWAWAY_MARIADB_URL=""
  fi
}
