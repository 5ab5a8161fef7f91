# shellcheck shell=bash
# What berth's tests need from the machine, found or provided: sourced by tests/run (the README's
# test command) and .ci/run, so a fresh machine and CI get the same things the same way.
#
#   provision_mysql WORKDIR   BERTH_TEST_MYSQL_URL kept when set; else the server answering on
#                             127.0.0.1:3306; else a throwaway mariadbd in WORKDIR (the package
#                             installed when missing), stopped by throwaway_mariadb_stop
#   provision_chromium        chromium and chromium-driver (Debian packages)
#   provision_axe             axe-core from npm into ~/.cache/berth/npm; exports BERTH_AXE_JS
#   provision_smtp            the aiosmtpd Python package (a real SMTP server for the mail tests)
#   provision_faketime        faketime (the shifted-clock run)
#
# Installing needs root (apt) or a user pip/npm; without them each function says what to install
# and returns 1, and the tests that need the missing part fail saying the same.

# shellcheck source=mariadb.sh
source "$(dirname "${BASH_SOURCE[0]}")/mariadb.sh"

_apt_updated=""
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "== missing: $* (install it with your package manager, e.g. sudo apt-get install -y $*)" >&2
    return 1
  fi
  echo "== installing $*"
  export DEBIAN_FRONTEND=noninteractive
  [ -n "$_apt_updated" ] || { apt-get update -qq; _apt_updated=1; }
  apt-get install -y -qq "$@" >/dev/null
}

provision_mysql() {
  local workdir="$1"
  if [ -n "${BERTH_TEST_MYSQL_URL:-}" ]; then
    echo "== MySQL: $BERTH_TEST_MYSQL_URL"
  elif mysql_answers mysql://root@127.0.0.1:3306; then
    export BERTH_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306
    echo "== MySQL: the running server at 127.0.0.1:3306"
  else
    if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
      apt_install mariadb-server || return 1
    fi
    throwaway_mariadb_start "$workdir/mariadb" || return 1
    export BERTH_TEST_MYSQL_URL="$THROWAWAY_MARIADB_URL"
    echo "== MySQL: a throwaway mariadbd at $BERTH_TEST_MYSQL_URL"
  fi
}

provision_chromium() {
  local missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  [ "${#missing[@]}" = 0 ] || apt_install "${missing[@]}"
}

provision_axe() {
  local cache="${BERTH_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/npm}"
  if [ ! -f "$cache/node_modules/axe-core/axe.min.js" ]; then
    command -v npm >/dev/null 2>&1 || apt_install npm || return 1
    echo "== installing axe-core into $cache"
    mkdir -p "$cache"
    npm install --prefix "$cache" --no-audit --no-fund --silent axe-core@4.14 >/dev/null || return 1
  fi
  export BERTH_AXE_JS="$cache/node_modules/axe-core/axe.min.js"
}

provision_smtp() {
  python3 -c "import aiosmtpd" 2>/dev/null || pip install -q aiosmtpd
}

provision_faketime() {
  command -v faketime >/dev/null 2>&1 || apt_install faketime
}

# sysbench's C client runs the benchmark's second database floor (load-tests/sysbench/hold.lua).
provision_sysbench() {
  command -v sysbench >/dev/null 2>&1 || apt_install sysbench
}
