//! Shared by the benchmark programs that run the real server (as its own process or in this
//! one): starting it, plain HTTP requests, and reading memory from /proc.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The server binary: `INKROOM_BIN` when set (to measure another build), else this build's.
pub fn server_bin() -> String {
    std::env::var("INKROOM_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_inkroom").to_owned())
}

/// Starts the server on a free loopback port over `data`; returns it and its address.
pub fn start_server(data: &Path) -> (Child, SocketAddr) {
    let mut child = Command::new(server_bin())
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("INKROOM_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start inkroom");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let addr = loop {
        let line = lines.next().expect("a line").expect("read");
        if let Some(url) = line.split("http://").nth(1) {
            break url.trim().parse().expect("address");
        }
    };
    (child, addr)
}

/// The real server in this process, on its own thread and actix system (for benchmarks that
/// call the library too, or set a `Config` the binary cannot take).
pub struct Server {
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(config: inkroom::config::Config) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = inkroom::server::run(listener, config, false).expect("server");
                tx.send(server.handle()).expect("handle");
                let _ = server.await;
            })
        });
        Server {
            addr,
            handle: rx.recv().expect("handle"),
            thread: Some(thread),
        }
    }

    pub async fn stop(mut self) {
        self.handle.stop(true).await;
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

/// One HTTP/1.1 request; returns the body.
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> Vec<u8> {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |p| p + 4);
    raw[split..].to_vec()
}

/// Resident memory of a process, in KiB (0 if it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A small deterministic generator (xorshift; no dependency needed for a bench's randomness).
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A number from 0 to `max`.
    pub fn f(&mut self, max: f32) -> f32 {
        (self.next() % 1_000_000) as f32 / 1_000_000.0 * max
    }
}
