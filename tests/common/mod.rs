//! Test support: a real server on port 0, a typed WebSocket client and a minimal HTTP client.
//! Everything goes through real sockets; nothing of the server is mocked.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use inkroom::config::Config;
use inkroom::protocol::{decode_server, ServerMsg};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for any one thing before failing.
pub const WAIT: Duration = Duration::from_secs(5);

/// A fresh data directory under the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// Creates an empty directory.
    pub fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("inkroom-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The real server, on its own thread and actix system, on a free port, with its own data
/// directory (a fresh temp dir unless the config names one). Stops on drop.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Stops the server (none when attached to another process).
    handle: Option<actix_web::dev::ServerHandle>,
    thread: Option<JoinHandle<()>>,
    _data: Option<TempDir>,
}

impl TestServer {
    /// Starts a server with the default configuration.
    pub fn start() -> TestServer {
        TestServer::with_config(Config::default())
    }

    /// Starts a server with a given configuration (its `addr` is ignored: port 0 is used). A
    /// `data_dir` left at the default is replaced by a fresh temp dir.
    pub fn with_config(mut config: Config) -> TestServer {
        let data = (config.data_dir == Config::default().data_dir).then(TempDir::new);
        if let Some(d) = &data {
            config.data_dir = d.0.clone();
        }
        TestServer::serve(data, move |listener| {
            inkroom::server::run(listener, config, false)
        })
    }

    /// Starts a server over a store the test holds too (to close it, say); the test keeps the
    /// store's data directory alive.
    pub fn with_store(config: Config, store: std::sync::Arc<inkroom::store::Store>) -> TestServer {
        TestServer::serve(None, move |listener| {
            inkroom::server::run_with_store(listener, config, store, false)
        })
    }

    /// Runs `start` on a free port on its own thread and actix system.
    fn serve(
        data: Option<TempDir>,
        start: impl FnOnce(std::net::TcpListener) -> std::io::Result<actix_web::dev::Server>
            + Send
            + 'static,
    ) -> TestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = start(listener).expect("server starts");
                tx.send(server.handle()).expect("test is waiting");
                let _ = server.await;
            });
        });
        let handle = rx.recv().expect("server handle");
        TestServer {
            addr,
            handle: Some(handle),
            thread: Some(thread),
            _data: data,
        }
    }

    /// A handle to a server running elsewhere (another process); dropping it does nothing.
    pub fn attach(addr: SocketAddr) -> TestServer {
        TestServer {
            addr,
            handle: None,
            thread: None,
            _data: None,
        }
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Creates a room with a JSON body and returns the `201` body.
    pub async fn create_room(&self, body: Value) -> Value {
        let res = http(
            self.addr,
            "POST",
            "/api/rooms",
            Some(&body.to_string()),
            &[],
        )
        .await;
        assert_eq!(res.status, 201, "create room: {}", res.text());
        res.json()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            drop(handle.stop(false));
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An HTTP response.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header lines, lowercased names.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("json body: {e}: {}", self.text()))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request over a fresh TCP connection.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Response {
    let stream = TcpStream::connect(addr).await.expect("connect");
    http_on(stream, addr, method, path, body, headers).await
}

/// One HTTP/1.1 request over a given connection (plain or TLS).
pub async fn http_on<S>(
    mut stream: S,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Response
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("response in time");
    // A TLS peer may close without close_notify once the response is complete.
    assert!(read.is_ok() || !raw.is_empty(), "read: {read:?}");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size = usize::from_str_radix(
            std::str::from_utf8(&data[..line_end])
                .expect("ascii")
                .trim(),
            16,
        )
        .expect("hex size");
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// The committed canvas as decoded RGBA.
pub async fn canvas_png(server: &TestServer, room: &str) -> image::RgbaImage {
    let res = http(
        server.addr,
        "GET",
        &format!("/api/rooms/{room}/canvas.png"),
        None,
        &[],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("image/png"));
    image::load_from_memory(&res.body)
        .expect("valid PNG")
        .to_rgba8()
}

/// What arrives on a WebSocket.
#[derive(Debug)]
pub enum Frame {
    /// A decoded server message.
    Msg(ServerMsg<'static>),
    /// A binary frame.
    Binary(Vec<u8>),
    /// The server closed, with its code.
    Closed(Option<u16>),
}

/// A WebSocket client speaking the inkroom protocol.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Binary frames received so far.
    pub binaries: Vec<Vec<u8>>,
    /// This member's id, after `join`.
    pub id: u64,
    /// Messages of a `batch` frame not yet returned.
    queued: std::collections::VecDeque<ServerMsg<'static>>,
    /// Number of `batch` frames received.
    pub batches: usize,
}

impl Client {
    /// Opens the room's WebSocket without sending anything.
    pub async fn connect(server: &TestServer, room: &str) -> Client {
        let url = format!("ws://{}/api/rooms/{room}/ws", server.addr);
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        Client {
            ws,
            binaries: Vec::new(),
            id: 0,
            queued: std::collections::VecDeque::new(),
            batches: 0,
        }
    }

    /// Connects, says hello, and reads through `welcome`, the tiles and `synced`.
    /// Returns the client and the welcome message.
    pub async fn join(
        server: &TestServer,
        room: &str,
        name: &str,
        key: Option<&str>,
    ) -> (Client, ServerMsg<'static>) {
        let mut hello = serde_json::json!({"type": "hello", "name": name});
        if let Some(k) = key {
            hello["key"] = k.into();
        }
        Client::join_with(server, room, hello).await
    }

    /// Like [`Client::join`] with the client's own `hello` (e.g. with `"batch": true`).
    pub async fn join_with(
        server: &TestServer,
        room: &str,
        hello: Value,
    ) -> (Client, ServerMsg<'static>) {
        let mut c = Client::connect(server, room).await;
        c.send(hello).await;
        let welcome = c.recv().await;
        let ServerMsg::Welcome { you, .. } = &welcome else {
            panic!("expected welcome, got {welcome:?}");
        };
        c.id = *you;
        loop {
            match c.next().await {
                Frame::Binary(b) => c.binaries.push(b),
                Frame::Msg(ServerMsg::Synced { .. }) => break,
                other => panic!("expected tiles then synced, got {other:?}"),
            }
        }
        (c, welcome)
    }

    /// Sends a JSON value as a text frame.
    pub async fn send(&mut self, msg: Value) {
        self.send_text(&msg.to_string()).await;
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_owned()))
            .await
            .expect("send");
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, data: Vec<u8>) {
        self.ws.send(Message::binary(data)).await.expect("send");
    }

    /// The next frame, failing the test after [`WAIT`].
    pub async fn next(&mut self) -> Frame {
        self.next_within(WAIT).await.expect("a frame in time")
    }

    /// The next frame, or `None` if none came within `wait` (without failing the test; like
    /// [`Client::next`], a ping or pong starts the wait again).
    pub async fn next_within(&mut self, wait: Duration) -> Option<Frame> {
        if let Some(m) = self.queued.pop_front() {
            return Some(Frame::Msg(m));
        }
        loop {
            let msg = tokio::time::timeout(wait, self.ws.next()).await.ok()?;
            return Some(match msg {
                None | Some(Err(_)) => Frame::Closed(None),
                Some(Ok(Message::Text(t))) => {
                    match decode_server(&t).unwrap_or_else(|e| panic!("decode {t}: {e}")) {
                        ServerMsg::Batch { messages } => {
                            assert!(messages.len() > 1, "a batch of one is sent bare: {t}");
                            self.batches += 1;
                            self.queued.extend(messages);
                            let first = self.queued.pop_front().expect("not empty");
                            Frame::Msg(first)
                        }
                        m => Frame::Msg(m),
                    }
                }
                Some(Ok(Message::Binary(b))) => Frame::Binary(b.to_vec()),
                Some(Ok(Message::Close(c))) => Frame::Closed(c.map(|c| u16::from(c.code))),
                Some(Ok(_)) => continue,
            });
        }
    }

    /// The next message, skipping `cursors` batches and collecting binary frames.
    pub async fn recv(&mut self) -> ServerMsg<'static> {
        loop {
            match self.next().await {
                Frame::Msg(ServerMsg::Cursors { .. } | ServerMsg::Presence { .. }) => continue,
                Frame::Msg(m) => return m,
                Frame::Binary(b) => self.binaries.push(b),
                Frame::Closed(code) => {
                    panic!("connection closed ({code:?}) while expecting a message")
                }
            }
        }
    }

    /// Reads until an `editing` message; returns (allowed, reason).
    pub async fn await_editing(&mut self) -> (bool, Option<inkroom::protocol::ErrorCode>) {
        loop {
            if let ServerMsg::Editing {
                allowed, reason, ..
            } = self.recv().await
            {
                return (allowed, reason);
            }
        }
    }

    /// Reads until an `error` message; returns its code.
    pub async fn await_error(&mut self) -> inkroom::protocol::ErrorCode {
        loop {
            if let ServerMsg::Error { code, .. } = self.recv().await {
                return code;
            }
        }
    }

    /// Reads until the server closes; returns the close code.
    pub async fn expect_close(&mut self) -> Option<u16> {
        loop {
            if let Frame::Closed(code) = self.next().await {
                return code;
            }
        }
    }

    /// Asserts that nothing but cursors arrives for a short while.
    pub async fn expect_quiet(&mut self, ms: u64) {
        let until = tokio::time::Instant::now() + Duration::from_millis(ms);
        loop {
            match tokio::time::timeout_at(until, self.ws.next()).await {
                Err(_) => return,
                Ok(Some(Ok(Message::Text(t))))
                    if t.contains("\"cursors\"") || t.contains("\"presence\"") =>
                {
                    continue
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(other) => panic!("expected quiet, got {other:?}"),
            }
        }
    }

    /// Draws a whole stroke: begin with the first point, one points message per remaining point,
    /// end. Does not wait for the commit.
    pub async fn draw(&mut self, stroke: u32, color: &str, width: f32, points: &[[f32; 3]]) {
        let flat = |ps: &[[f32; 3]]| ps.iter().flatten().copied().collect::<Vec<f32>>();
        self.send(serde_json::json!({
            "type": "stroke_begin", "stroke": stroke, "tool": "pen", "color": color,
            "width": width, "points": flat(&points[..1]),
        }))
        .await;
        for p in &points[1..] {
            self.send(serde_json::json!({"type": "stroke_points", "stroke": stroke, "points": p}))
                .await;
        }
        self.send(serde_json::json!({"type": "stroke_end", "stroke": stroke}))
            .await;
    }

    /// Reads until a commit of `op` by this client; returns its seq.
    pub async fn await_op(&mut self, op: inkroom::protocol::OpKind) -> u64 {
        loop {
            if let ServerMsg::Commit {
                seq, author, op: o, ..
            } = self.recv().await
            {
                if author == self.id && o == op {
                    return seq;
                }
            }
        }
    }

    /// Reads until the commit of this client's `stroke`; returns its seq.
    pub async fn await_commit(&mut self, stroke: u32) -> u64 {
        loop {
            if let ServerMsg::Commit {
                seq,
                author,
                stroke: s,
                ..
            } = self.recv().await
            {
                if author == self.id && s == Some(stroke) {
                    return seq;
                }
            }
        }
    }
}

/// Fails the test, saying how many pixels differ, unless two images are the same size and equal
/// pixel for pixel.
pub fn assert_same_pixels(got: &image::RgbaImage, want: &image::RgbaImage, what: &str) {
    assert_eq!(got.dimensions(), want.dimensions(), "{what}: sizes differ");
    let differ = got
        .pixels()
        .zip(want.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(differ, 0, "{what}: {differ} pixels differ");
}

/// A local canvas as the server would export it over a white background, decoded.
pub fn on_white(canvas: &inkroom::canvas::Canvas) -> image::RgbaImage {
    let white = inkroom::canvas::Rgba {
        r: 255,
        g: 255,
        b: 255,
        a: 255,
    };
    image::load_from_memory(&canvas.snapshot().to_png(white))
        .expect("valid PNG")
        .to_rgba8()
}

/// Decodes a binary tile frame for `canvas`: the tile, the seq it shows and its premultiplied
/// pixels (a transparent tile for an "empty" frame).
pub fn decode_tile(
    canvas: &inkroom::canvas::Canvas,
    frame: &[u8],
) -> (inkroom::canvas::TileId, u64, tiny_skia::Pixmap) {
    let col = u16::from_be_bytes([frame[2], frame[3]]);
    let row = u16::from_be_bytes([frame[4], frame[5]]);
    let seq = u64::from_be_bytes(frame[8..16].try_into().expect("8 bytes"));
    let id = inkroom::canvas::TileId { col, row };
    let pixmap = if frame[1] & 1 == 1 {
        let (w, h) = canvas.tile_size(id);
        tiny_skia::Pixmap::new(w, h).expect("tile size")
    } else {
        let img = image::load_from_memory(&frame[16..])
            .expect("PNG")
            .to_rgba8();
        let (w, h) = img.dimensions();
        let mut data = img.into_raw();
        for p in data.chunks_exact_mut(4) {
            let a = u32::from(p[3]);
            for c in &mut p[..3] {
                *c = ((u32::from(*c) * a + 127) / 255) as u8;
            }
        }
        tiny_skia::Pixmap::from_vec(data, tiny_skia::IntSize::from_wh(w, h).expect("size"))
            .expect("pixmap")
    };
    (id, seq, pixmap)
}

impl Client {
    /// Sends a frame; false if the connection is gone.
    pub async fn try_send(&mut self, msg: Message) -> bool {
        self.ws.send(msg).await.is_ok()
    }

    /// Reads what has already arrived, without waiting: whether the server closed, and how many
    /// `error` messages came.
    pub async fn drain(&mut self) -> (bool, usize) {
        let mut errors = 0;
        loop {
            match tokio::time::timeout(Duration::from_millis(1), self.ws.next()).await {
                Err(_) => return (false, errors),
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return (true, errors),
                Ok(Some(Ok(Message::Text(t)))) if t.contains("\"type\":\"error\"") => errors += 1,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// A client over a WebSocket opened elsewhere (e.g. over TLS).
    pub fn over(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Client {
        Client {
            ws,
            binaries: Vec::new(),
            id: 0,
            queued: std::collections::VecDeque::new(),
            batches: 0,
        }
    }

    /// Opens the room's WebSocket over a socket with a tiny receive buffer, so that a client that
    /// stops reading backs up into the server quickly.
    pub async fn connect_small_buffer(server: &TestServer, room: &str) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let stream = socket.connect(server.addr).await.expect("connect");
        let url = format!("ws://{}/api/rooms/{room}/ws", server.addr);
        let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
            .await
            .expect("ws handshake");
        Client::over(ws)
    }
}

/// Polls `check` every 20 ms until it holds, failing the test after [`WAIT`].
pub async fn eventually<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < until,
            "condition not met in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The real `inkroom` binary in its own process on a free port (for crashes and signals); killed
/// with SIGKILL when dropped.
pub struct ServerProcess {
    child: std::process::Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts the binary on `data` with more flags, and waits for its listening line.
    pub fn start(data: &std::path::Path, flags: &[&str]) -> ServerProcess {
        ServerProcess::start_with_env(data, flags, &[])
    }

    /// Like [`ServerProcess::start`], with more environment variables (its own log is off).
    pub fn start_with_env(
        data: &std::path::Path,
        flags: &[&str],
        env: &[(&str, &std::path::Path)],
    ) -> ServerProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_inkroom"))
            .args(["--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(flags)
            .envs(env.iter().copied())
            .env("INKROOM_LOG", "off")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("start inkroom");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        ServerProcess { child, addr }
    }

    /// A [`TestServer`] handle on it, for the HTTP and WebSocket helpers.
    pub fn http(&self) -> TestServer {
        TestServer::attach(self.addr)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: nothing gets flushed or closed.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Waits for the process to exit by itself.
    pub fn wait(mut self) -> std::process::ExitStatus {
        self.child.wait().expect("wait")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
