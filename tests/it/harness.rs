//! Starts the real daemon and talks to it: signals, its log lines, HTTP on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any wait in a test may take before the test fails as hung. Not a performance
/// threshold: a healthy run takes a fraction of it.
pub const HANG: Duration = Duration::from_secs(90);

/// A loopback port for a config that names its ports (a simulator, a dead carrier, an
/// MM7 listener). Ports are handed out in turn from below the kernel's ephemeral range,
/// so no socket bound to port 0 — by this test process or a daemon under test — can take
/// one between this call and the daemon's bind; each is checked free when handed out.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    // Start where another run of the suite (its pid) is unlikely to be.
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id() % SPAN,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..SPAN {
        let port = (FIRST + NEXT.fetch_add(1, Ordering::Relaxed) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between {FIRST} and {}", FIRST + SPAN);
}

/// The API token, spelled once for [`TOKEN`] and [`AUTH`].
macro_rules! api_token {
    () => {
        "harness-api-token-0123456789abcdef"
    };
}

/// The API token every daemon the harness starts is given (`SMSBRIDGE_API_TOKEN`, which
/// [`base_config`] names): 32 characters or more, as the daemon requires.
pub const TOKEN: &str = api_token!();

/// The header that presents [`TOKEN`].
pub const AUTH: (&str, &str) = ("Authorization", concat!("Bearer ", api_token!()));

/// The path of the built binary.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_smsbridge")
}

/// The sections every test config shares: state in `dir`, listeners on port 0, JSON logs.
pub fn base_config(dir: &Path) -> String {
    base_config_with(dir, "", "")
}

/// [`base_config`] with `api` and `admin` lines added to those sections (a TOML table
/// cannot be opened twice, so a test that tunes a listener passes its keys here).
pub fn base_config_with(dir: &Path, api: &str, admin: &str) -> String {
    format!(
        r#"[instance]
name = "test"
state_dir = "{}"
drain_timeout = "5s"

[log]
level = "info"
format = "json"

[api]
listen = "127.0.0.1:0"
token_env = "SMSBRIDGE_API_TOKEN"
{api}
[admin]
listen = "127.0.0.1:0"
{admin}"#,
        dir.display()
    )
}

/// A running daemon.
pub struct Daemon {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub admin: SocketAddr,
    pub api: SocketAddr,
    lines: mpsc::Receiver<Value>,
    pub seen: Vec<Value>,
}

impl Daemon {
    /// Starts the daemon on `base_config` plus `extra`, with `env` set, and waits until
    /// it says it is ready.
    pub fn start(extra: &str, env: &[(&str, &str)]) -> Daemon {
        Daemon::start_in(tempfile::tempdir().unwrap(), extra, env)
    }

    /// Like [`Daemon::start`], on a state directory the test has prepared.
    pub fn start_in(dir: tempfile::TempDir, extra: &str, env: &[(&str, &str)]) -> Daemon {
        let text = format!("{}{extra}", base_config(dir.path()));
        Daemon::start_config(dir, &text, env)
    }

    /// Like [`Daemon::start`], with `api` and `admin` lines added to those sections of
    /// the base config ([`base_config_with`]).
    pub fn start_with_listeners(api: &str, admin: &str, extra: &str) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{}{extra}", base_config_with(dir.path(), api, admin));
        Daemon::start_config(dir, &text, &[])
    }

    /// Starts the daemon on the whole config `text`, written in `dir`, with `env` set;
    /// waits until it says it is ready.
    pub fn start_config(dir: tempfile::TempDir, text: &str, env: &[(&str, &str)]) -> Daemon {
        let config = dir.path().join("smsbridge.toml");
        std::fs::write(&config, text).unwrap();
        let (child, lines) = spawn(&config, env);
        let mut d = Daemon {
            child,
            dir,
            config,
            admin: ([0, 0, 0, 0], 0).into(),
            api: ([0, 0, 0, 0], 0).into(),
            lines,
            seen: Vec::new(),
        };
        d.wait_until_ready();
        d
    }

    /// Stops the daemon with SIGTERM and starts it again on the same state directory and
    /// config file, with `env` set; waits until it is ready. The log seen so far is kept.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        self.signal("TERM");
        let status = self.wait_exit();
        assert!(status.success(), "the daemon stopped with {status}");
        let (child, lines) = spawn(&self.config, env);
        self.child = child;
        self.lines = lines;
        self.wait_until_ready();
    }

    /// Kills the daemon with SIGKILL (no drain, no final commit) and starts it again on
    /// the same state directory and config file; waits until it is ready.
    pub fn kill_and_restart(&mut self) {
        self.kill_and_restart_with(&[]);
    }

    /// [`Daemon::kill_and_restart`], starting it again with `env` set.
    pub fn kill_and_restart_with(&mut self, env: &[(&str, &str)]) {
        self.kill();
        self.start_again(env);
    }

    /// Kills the daemon with SIGKILL and waits until it is gone; [`Daemon::start_again`]
    /// brings it back (the test may change the world in between).
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Starts a killed daemon again on the same state directory and config file, with
    /// `env` set; waits until it is ready.
    pub fn start_again(&mut self, env: &[(&str, &str)]) {
        let (child, lines) = spawn(&self.config, env);
        self.child = child;
        self.lines = lines;
        self.wait_until_ready();
    }

    fn wait_until_ready(&mut self) {
        let ready = self.wait_for_message("smsbridge is ready");
        self.admin = ready["admin"].as_str().unwrap().parse().unwrap();
        self.api = ready["api"].as_str().unwrap().parse().unwrap();
    }

    /// Sends a signal (`HUP`, `TERM`, `INT`) to the daemon.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} failed");
    }

    /// A log line whose message is `message`, read already (even before the daemon was
    /// ready) or waited for.
    pub fn saw_or_wait_for_message(&mut self, message: &str) -> Value {
        match self.seen.iter().find(|v| v["message"] == message) {
            Some(v) => v.clone(),
            None => self.wait_for_message(message),
        }
    }

    /// Waits for a log line whose message is `message`; returns it.
    pub fn wait_for_message(&mut self, message: &str) -> Value {
        let deadline = Instant::now() + HANG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if v["message"] == message {
                        return v;
                    }
                }
                Err(_) => panic!(
                    "no log line {message:?}; seen:\n{}",
                    self.seen
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            }
        }
    }

    /// Waits for the process to exit; drains and keeps the rest of its log.
    pub fn wait_exit(&mut self) -> ExitStatus {
        self.wait_exit_within(HANG)
    }

    /// [`Daemon::wait_exit`], failing the test as hung if the process is still there
    /// after `limit`.
    pub fn wait_exit_within(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while let Ok(v) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(v);
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "daemon did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The sum of the samples of metric `name` whose labels contain `label` ("" for
    /// all), from `/metrics`.
    pub fn metric(&self, name: &str, label: &str) -> f64 {
        let (status, text) = http_get(self.admin, "/metrics");
        assert_eq!(status, 200);
        text.lines()
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
            .filter(|l| l.contains(label))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Rewrites the config file (base sections plus `extra`).
    pub fn rewrite_config(&self, extra: &str) {
        std::fs::write(
            &self.config,
            format!("{}{extra}", base_config(self.dir.path())),
        )
        .unwrap();
    }

    /// Whether any log line seen so far has this message.
    pub fn logged(&self, message: &str) -> bool {
        self.seen.iter().any(|v| v["message"] == message)
    }
}

/// Starts the binary on `config`; its log lines (JSON when they parse) arrive on the
/// receiver.
fn spawn(config: &Path, env: &[(&str, &str)]) -> (Child, mpsc::Receiver<Value>) {
    let mut cmd = Command::new(binary());
    cmd.args(["run", "--config"])
        .env("SMSBRIDGE_API_TOKEN", TOKEN)
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("JOURNAL_STREAM");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let v = serde_json::from_str(&line).unwrap_or(Value::String(line));
            if tx.send(v).is_err() {
                return;
            }
        }
    });
    (child, lines)
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `probe` until it answers `Some`, failing the test as hung after [`HANG`]; for
/// conditions the daemon offers no signal for (a metric, a file's content).
pub fn wait_until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + HANG;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A small tmpfs mounted for one test: a disk that can be filled. When dropped it is
/// unmounted (lazily, so a daemon still holding files does not keep it) and its mount
/// point removed if empty.
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `bytes` on the existing directory `path`. Needs root (CI runs
    /// the tests as root); the caller skips its test when this fails.
    pub fn mount(path: &Path, bytes: u64) -> std::io::Result<Tmpfs> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(path)
            .output()?;
        if !out.status.success() {
            return Err(std::io::Error::other(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ));
        }
        Ok(Tmpfs {
            path: path.to_path_buf(),
        })
    }

    /// Changes the size of the mounted tmpfs (it stays mounted, files and all).
    pub fn resize(&self, bytes: u64) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={bytes}")])
            .arg(&self.path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "cannot resize the tmpfs at {}", self.path.display());
    }

    /// Writes a file until the tmpfs has no space left; returns it (remove it to give
    /// the space back).
    pub fn fill(&self) -> PathBuf {
        let path = self.path.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        loop {
            if let Err(e) = file.write_all(&chunk) {
                assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
                return path;
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// A plain HTTP/1.1 GET; returns the status code and body.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_get_with(addr, path, &[])
}

/// A plain HTTP/1.1 GET with extra headers.
pub fn http_get_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let reply = http(addr, "GET", path, headers, b"");
    (reply.status, reply.body)
}

/// An answer to [`http`].
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The status line and headers, as received.
    pub head: String,
    /// The body, de-chunked.
    pub body: String,
}

impl Reply {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// A plain HTTP/1.1 request with any method, headers and body (sent with its
/// Content-Length); one connection per request.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(HANG)).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let length = match (method, body.len()) {
        ("GET" | "HEAD", 0) => String::new(),
        (_, n) => format!("Content-Length: {n}\r\n"),
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}{length}Connection: close\r\n\r\n"
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw[9..12].parse().unwrap();
    let body_start = raw.find("\r\n\r\n").map(|i| i + 4).unwrap_or(raw.len());
    let head = raw[..body_start].to_string();
    let body = &raw[body_start..];
    // axum answers small bodies with Content-Length; decode chunked ones too.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply { status, head, body }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let Some(eol) = body.find("\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(body[..eol].trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.push_str(&body[eol + 2..eol + 2 + size]);
        body = &body[eol + 2 + size + 2..];
    }
}
