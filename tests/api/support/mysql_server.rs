//! Where the MySQL integration suite gets its server.
//!
//! `BERTH_TEST_MYSQL_URL` wins. Otherwise, if MariaDB is installed, one throwaway `mariadbd` is
//! started per test process (own temp datadir, socket and free port; never reads /etc/mysql) and a
//! `sh` watchdog kills it and deletes its directory once the test process is gone, even after a
//! panic or SIGKILL.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const HOW_TO_ENABLE: &str = "set BERTH_TEST_MYSQL_URL=mysql://user:pass@host:port \
     or install mariadb-server (apt-get install -y mariadb-server)";

/// `sh -c WATCHDOG name TEST_PID DIR mariadbd ARGS...`: polls the test process every second; once
/// it is gone (zombies count as gone) TERMs the server, KILLs it after 5 s and deletes DIR; if DIR
/// was already removed (start-up failed) it just exits. The server is `exec`ed, so the spawned
/// child *is* mariadbd. The watchdog's stdio is /dev/null: it never holds the harness's pipes open.
const WATCHDOG: &str = r#"ppid=$1; dir=$2; shift 2; srv=$$
alive() { kill -0 "$1" 2>/dev/null && ! grep -qs '^State:.*Z' "/proc/$1/status"; }
( trap '' INT HUP
  while alive "$ppid" && [ -d "$dir" ]; do sleep 1; done
  [ -d "$dir" ] || exit 0
  kill -TERM "$srv" 2>/dev/null
  i=0; while alive "$srv" && [ "$i" -lt 20 ]; do sleep 0.25; i=$((i+1)); done
  kill -KILL "$srv" 2>/dev/null; sleep 0.2; rm -rf "$dir"
) </dev/null >/dev/null 2>&1 &
exec "$@""#;

const INSTALL_FLAGS: [&str; 3] = [
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
    "--skip-name-resolve",
];

/// Fast and throwaway; utf8mb4 like Debian's packaged config (the compiled-in default is latin1).
const SERVER_FLAGS: [&str; 11] = [
    "--bind-address=127.0.0.1",
    "--skip-name-resolve",
    "--skip-log-bin",
    "--innodb-buffer-pool-size=128M",
    "--innodb-flush-log-at-trx-commit=2",
    "--innodb-doublewrite=0",
    "--innodb-buffer-pool-load-at-startup=0",
    "--innodb-buffer-pool-dump-at-shutdown=0",
    "--max-connections=500",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
];

/// Where the MySQL suite gets its server: a base URL without a database name, e.g.
/// "mysql://root@127.0.0.1:3306".
pub enum MySqlSource {
    Url(String),
    /// Why there is none, with how to get one.
    Skipped(String),
}

/// Decided once per test process (OnceLock); cheap afterwards.
pub fn source() -> &'static MySqlSource {
    static SOURCE: OnceLock<MySqlSource> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let env_url = std::env::var("BERTH_TEST_MYSQL_URL").unwrap_or_default();
        if !env_url.trim().is_empty() {
            return MySqlSource::Url(base_url(env_url.trim()));
        }
        let Some(server) = find_bin(&["mariadbd", "mysqld"], None) else {
            return MySqlSource::Skipped(format!("no MySQL/MariaDB: {HOW_TO_ENABLE}"));
        };
        match start_throwaway(&server) {
            Ok(url) => MySqlSource::Url(url),
            Err(e) => MySqlSource::Skipped(format!("throwaway MariaDB: {e}\n{HOW_TO_ENABLE}")),
        }
    })
}

/// The server's base URL, or `None` when there is none and `BERTH_ALLOW_SKIP` names `mysql`;
/// otherwise the test fails saying why (see `requirement::require`).
#[track_caller]
pub fn url_or_skip() -> Option<&'static str> {
    let found = match source() {
        MySqlSource::Url(url) => Ok(url.as_str()),
        MySqlSource::Skipped(reason) => Err(reason.clone()),
    };
    super::requirement::require("mysql", found)
}

/// `scheme://user:pass@host:port/db?query` -> `scheme://user:pass@host:port`.
fn base_url(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    url[..start + rest.find(['/', '?', '#']).unwrap_or(rest.len())].to_string()
}

/// First executable called `names[0]` in (`near`'s dir, PATH, /usr/sbin, /usr/libexec, /usr/bin),
/// then `names[1]`, ...
fn find_bin(names: &[&str], near: Option<&Path>) -> Option<PathBuf> {
    let mut dirs = Vec::from_iter(near.and_then(Path::parent).map(PathBuf::from));
    let path = std::env::var_os("PATH").unwrap_or_default();
    dirs.extend(std::env::split_paths(&path));
    dirs.extend(["/usr/sbin", "/usr/libexec", "/usr/bin"].map(PathBuf::from));
    let exe = |p: &PathBuf| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
    };
    let all = |name| dirs.iter().map(move |d: &PathBuf| d.join(name));
    names.iter().flat_map(all).find(exe)
}

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    match status.lines().find_map(|l| l.strip_prefix("Uid:")) {
        Some(uids) => uids.split_whitespace().nth(1) == Some("0"), // effective uid
        None => {
            let id = Command::new("id").arg("-u").output();
            id.is_ok_and(|o| o.stdout.trim_ascii() == b"0")
        }
    }
}

fn opt(name: &str, value: impl AsRef<OsStr>) -> OsString {
    let mut s = OsString::from(name);
    s.push(value);
    s
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| e.to_string());
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// `cmd` with stdin from /dev/null and stdout+stderr going to `log`.
fn logged(mut cmd: Command, log: &Path) -> Result<Command, String> {
    let file = File::create(log).map_err(|e| format!("create {}: {e}", log.display()))?;
    let dup = file.try_clone().map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null()).stdout(file).stderr(dup);
    Ok(cmd)
}

fn start_throwaway(server: &Path) -> Result<String, String> {
    let install = find_bin(&["mariadb-install-db", "mysql_install_db"], Some(server))
        .ok_or("no mariadb-install-db / mysql_install_db found")?;
    // A short base: the unix socket path must stay under ~107 bytes.
    let base = Some(std::env::temp_dir()).filter(|t| t.as_os_str().len() <= 60);
    let base = base.unwrap_or_else(|| "/tmp".into());
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH);
    let nanos = since_epoch.map_or(0, |d| d.subsec_nanos());
    let dir = base.join(format!("berth-mysql-{}-{nanos:x}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let result = init_and_run(server, &install, &dir);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&dir); // also dismisses the watchdog, if one was started
    }
    result
}

fn init_and_run(server: &Path, install: &Path, dir: &Path) -> Result<String, String> {
    let (data, pid_file, err_log) = (dir.join("data"), dir.join("pid"), dir.join("error.log"));
    let as_root = is_root().then_some("--user=root");
    let install_log = dir.join("install.log");
    let mut cmd = logged(Command::new(install), &install_log)?;
    cmd.arg("--no-defaults").arg(opt("--datadir=", &data));
    match cmd.args(INSTALL_FLAGS).args(as_root).status() {
        Ok(s) if s.success() => {}
        Ok(s) => return Err(format!("install-db {s}:\n{}", tail(&install_log))),
        Err(e) => return Err(format!("run {}: {e}", install.display())),
    }

    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("pick a port: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    drop(listener);

    let mut cmd = logged(Command::new("sh"), &dir.join("server.out"))?;
    cmd.args(["-c", WATCHDOG, "berth-mysql-watchdog"]);
    cmd.arg(std::process::id().to_string()).arg(dir).arg(server);
    cmd.arg("--no-defaults").arg(opt("--datadir=", &data)); // --no-defaults must come first
    cmd.arg(opt("--socket=", dir.join("sock")));
    cmd.arg(opt("--pid-file=", &pid_file));
    cmd.arg(opt("--log-error=", &err_log));
    cmd.arg(format!("--port={port}"));
    // Own process group: a terminal Ctrl-C reaches only the tests; the watchdog then cleans up.
    cmd.args(SERVER_FLAGS).args(as_root).process_group(0);
    let mut child = cmd.spawn().map_err(|e| format!("spawn sh: {e}"))?;
    let ready = wait_ready(&mut child, server, port, &pid_file);
    ready.map_err(|e| format!("{e}:\n{}", tail(&err_log)))?;
    Ok(format!("mysql://root@127.0.0.1:{port}"))
}

fn wait_ready(child: &mut Child, server: &Path, port: u16, pid_file: &Path) -> Result<(), String> {
    let admin = find_bin(&["mariadb-admin", "mysqladmin"], Some(server));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{} exited early ({status})", server.display()));
        }
        // Our own pid file: nobody else grabbed the port between our probe and mariadbd's bind.
        let pid = std::fs::read_to_string(pid_file).unwrap_or_default();
        if pid.trim() == child.id().to_string() && answers(port, admin.as_deref()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{} not ready after 30 s", server.display()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends a protocol-v10 greeting over TCP and, if mariadb-admin exists, answers its `ping`.
fn answers(port: u16, admin: Option<&Path>) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let mut head = [0u8; 5]; // 3-byte length, sequence id, protocol version
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.read_exact(&mut head).is_err() || head[4] != 10 {
        return false;
    }
    drop(stream);
    admin.is_none_or(|admin| {
        let mut cmd = Command::new(admin);
        let args = [
            "--no-defaults",
            "-h127.0.0.1",
            "-uroot",
            "--connect-timeout=2",
        ];
        cmd.args(args).arg(format!("-P{port}")).arg("ping");
        cmd.stdin(Stdio::null());
        let quiet = cmd.stdout(Stdio::null()).stderr(Stdio::null());
        quiet.status().is_ok_and(|s| s.success())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn base_url_strips_database_and_query() {
        let f = super::base_url;
        assert_eq!(f("mysql://u:p@h:3306/berth?ssl=1"), "mysql://u:p@h:3306");
        assert_eq!(f("mysql://u@h:1/"), "mysql://u@h:1");
        assert_eq!(f("mysql://u@h:1"), "mysql://u@h:1");
    }
}
