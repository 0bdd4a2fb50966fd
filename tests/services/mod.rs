//! Real PostgreSQL and Redis servers for the cluster tests, from Debian's packages (which
//! `scripts/test` installs): each started in a temporary directory on a free loopback port, and
//! stopped when dropped. PostgreSQL refuses to run as root, so as root it runs as the
//! `postgres` user the package creates.

#![allow(dead_code)]

pub mod cluster;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A fresh directory under the system temp dir, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("inkroom-{what}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits until something accepts connections on the port.
fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The directory of PostgreSQL's server programs (`initdb`, `pg_ctl`).
fn postgres_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!("PostgreSQL's server is not installed: run scripts/test, which installs it from Debian's packages")
    })
}

/// A PostgreSQL server of its own.
pub struct Postgres {
    /// `postgres://` URL of its `postgres` database.
    pub url: String,
    port: u16,
    data: PathBuf,
    bin: PathBuf,
    root: bool,
    _dir: Scratch,
}

impl Postgres {
    /// Initializes and starts a server (no fsync: tests need no durability across a machine
    /// crash; a SIGKILL of the server loses nothing committed).
    pub fn start() -> Postgres {
        let dir = Scratch::new("pg");
        let root = is_root();
        if root {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir.0));
        }
        let bin = postgres_bin();
        let data = dir.0.join("data");
        let port = free_port();
        let pg = Postgres {
            url: format!("postgres://inkroom@127.0.0.1:{port}/postgres"),
            port,
            data,
            bin,
            root,
            _dir: dir,
        };
        let initdb = [
            "-A",
            "trust",
            "-U",
            "inkroom",
            "--no-sync",
            "-E",
            "UTF8",
            "-D",
        ];
        run(pg.command("initdb", &initdb).arg(&pg.data));
        pg.up();
        pg
    }

    /// A command running one of PostgreSQL's programs (as `postgres` when we are root).
    fn command(&self, program: &str, args: &[&str]) -> Command {
        let path = self.bin.join(program);
        let mut c = if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        c.args(args).stdin(Stdio::null());
        c
    }

    fn up(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.data.parent().unwrap_or(Path::new("/tmp")).display()
        );
        let log = self.data.parent().map(|d| d.join("log")).expect("dir");
        run(self
            .command("pg_ctl", &["-w", "-t", "60", "-o", &options, "-l"])
            .arg(log)
            .arg("-D")
            .arg(&self.data)
            .arg("start"));
        wait_for_port(self.port, "PostgreSQL");
    }

    /// Stops the server at once (`immediate`: like a crash; committed data stays).
    pub fn stop(&self) {
        run(self
            .command("pg_ctl", &["-w", "-m", "immediate", "-D"])
            .arg(&self.data)
            .arg("stop"));
    }

    /// Starts it again after [`Postgres::stop`], on the same port and data.
    pub fn restart(&self) {
        self.up();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl", &["-m", "immediate", "-D"])
            .arg(&self.data)
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A Redis server of its own (nothing saved to disk: Redis holds nothing that cannot be
/// rebuilt).
pub struct Redis {
    /// `redis://` URL.
    pub url: String,
    port: u16,
    child: Option<Child>,
    dir: Scratch,
}

impl Redis {
    /// Starts a server.
    pub fn start() -> Redis {
        let mut redis = Redis {
            url: String::new(),
            port: free_port(),
            child: None,
            dir: Scratch::new("redis"),
        };
        redis.url = format!("redis://127.0.0.1:{}/", redis.port);
        redis.restart();
        redis
    }

    /// Stops it at once (SIGKILL).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it (again), empty, on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): run scripts/test, which installs it from Debian's packages")
            });
        self.child = Some(child);
        wait_for_port(self.port, "Redis");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a command to its end; fails the test with its output if it fails.
fn run(c: &mut Command) {
    let out = c.output().expect("runs");
    assert!(
        out.status.success(),
        "{c:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
