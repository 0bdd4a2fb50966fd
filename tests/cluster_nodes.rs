//! Cluster mode end to end: real `inkroom` processes (nodes) sharing rooms through a real
//! PostgreSQL 15 (`tests/services`), each node with its own data dir, port and `--advertise`
//! URL, and short leases (`--lease-ttl 3s`, `--lease-margin 1s`). Real WebSocket clients
//! draw through any node; the tests kill (SIGKILL), stop (SIGSTOP / SIGCONT) the owner or stop
//! PostgreSQL, and then check what the clients were told against what PostgreSQL holds: every
//! acknowledged op stored, seqs `1..=N` without a gap or a duplicate, epochs that never go
//! back, and the same canvas on every node.
//!
//! Every wait is on an event or a condition, bounded; a failing test prints the end of each
//! node's log (`INKROOM_LOG` sets its filter, default `info`; `INKROOM_TEST_LOGS=1` prints
//! them after a passing test too).

#[path = "services/mod.rs"]
mod services;

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Client, Frame, TempDir, TestServer};
use inkroom::canvas::{Canvas, Op, Stroke, Tool};
use inkroom::protocol::{ErrorCode, ServerMsg};
use serde_json::{json, Value};
use services::{Postgres, Redis};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// Lease time to live and safety margin of every node.
const TTL: &str = "3s";
const MARGIN: &str = "1s";
/// Every node's admin token.
const ADMIN_TOKEN: &str = "cluster-admin-token-0123456789";
/// Ops between keyframes on every node.
const KEYFRAME_EVERY: &str = "4";

/// Bound on anything that waits for a takeover or a recovery (several lease ttls).
const PATIENCE: Duration = Duration::from_secs(30);

/// Canvas size of the test rooms.
const W: u32 = 400;
const H: u32 = 300;

/// Width of every stroke.
const STROKE_WIDTH: f32 = 5.0;

/// The tests of this file run one at a time: each runs several servers with lease timings
/// that a crowded 2-core machine could break.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs blocking work (starting processes, `pg_ctl`) without stalling the runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One `inkroom` process in cluster mode. Killed (SIGKILL) when dropped; a test that fails
/// prints the end of its log.
struct Node {
    name: &'static str,
    /// `http://127.0.0.1:PORT`, also its `--advertise` URL.
    url: String,
    addr: SocketAddr,
    child: Child,
    /// Kept open so that the server never writes to a closed pipe.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
    log: PathBuf,
    _data: TempDir,
}

impl Node {
    /// Starts a node on a port chosen here (so that `--advertise` names it), its own data dir
    /// and `store` (a `postgres://` URL); waits until `/readyz` answers 200.
    async fn start(name: &'static str, store: &str) -> Node {
        Node::start_on(name, store, None).await
    }

    /// Like [`Node::start`], with the fan-out over the Redis at `bus` if given.
    async fn start_on(name: &'static str, store: &str, bus: Option<&str>) -> Node {
        let mut failures = Vec::new();
        for _ in 0..5 {
            match blocking(|| Node::spawn(name, store, bus)) {
                Ok(node) => {
                    node.await_ready().await;
                    return node;
                }
                // Another process may have taken the port meanwhile: try another.
                Err(e) if e.contains("cannot listen") => failures.push(e),
                Err(e) => panic!("node {name} did not start: {e}"),
            }
        }
        panic!("node {name} did not start:\n{}", failures.join("\n"));
    }

    fn spawn(name: &'static str, store: &str, bus: Option<&str>) -> Result<Node, String> {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let data = TempDir::new();
        let log = data.0.join(format!("node-{name}.log"));
        let stderr = std::fs::File::create(&log).expect("log file");
        let filter = std::env::var("INKROOM_LOG").unwrap_or_else(|_| "info".into());
        let mut child = Command::new(env!("CARGO_BIN_EXE_inkroom"))
            .args(["--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(&data.0)
            .args(["--store", store, "--advertise", &url])
            .args(["--lease-ttl", TTL, "--lease-margin", MARGIN])
            .args(bus.map(|url| ["--bus", url]).into_iter().flatten())
            // Keyframes (and so bases) every few ops: loads, takeovers and the canvas at a seq
            // start from keyframes stored in PostgreSQL, not only from the first op.
            .args(["--keyframe-every", KEYFRAME_EVERY])
            // The same admin token on every node, as deploy.md asks.
            .env("INKROOM_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("INKROOM_LOG", filter)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("start inkroom");
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let addr: Option<SocketAddr> = line
            .trim()
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok());
        match addr {
            Some(addr) if addr.port() == port => Ok(Node {
                name,
                url,
                addr,
                child,
                _stdout: stdout,
                log,
                _data: data,
            }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                Err(format!("first line {line:?}; log:\n{text}"))
            }
        }
    }

    /// Waits for `/readyz` to answer 200.
    async fn await_ready(&self) {
        let until = Instant::now() + PATIENCE;
        loop {
            let res = common::http(self.addr, "GET", "/readyz", None, &[]).await;
            if res.status == 200 {
                return;
            }
            assert!(
                Instant::now() < until,
                "node {} not ready: {} {}",
                self.name,
                res.status,
                res.text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A handle for the HTTP and WebSocket helpers.
    fn server(&self) -> TestServer {
        TestServer::attach(self.addr)
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Sends a signal (`KILL`, `STOP`, `CONT`) with kill(1).
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    /// SIGKILL, and reaps the process.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// The last `n` lines of its log.
    fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() || std::env::var_os("INKROOM_TEST_LOGS").is_some() {
            eprintln!(
                "---- node {} ({}) log, last lines ----\n{}\n---- end of node {} ----",
                self.name,
                self.url,
                self.log_tail(80),
                self.name
            );
        }
    }
}

/// A new room on `node`: its id and edit key.
async fn create_room(node: &Node) -> (String, String) {
    let room = node
        .server()
        .create_room(json!({"width": W, "height": H}))
        .await;
    let id = room["id"].as_str().expect("id").to_owned();
    let key = room["edit_key"].as_str().expect("key").to_owned();
    (id, key)
}

// ---- PostgreSQL, read directly ----

/// A fresh connection (a test may restart the server between two reads).
async fn db(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// One row of `ops`.
#[derive(Debug)]
struct StoredOp {
    seq: i64,
    epoch: i64,
    data: String,
}

/// The rows `sql` (with the room's id as `$1`) reads.
async fn room_rows(url: &str, room: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    let room = Uuid::parse_str(room).expect("uuid");
    db(url)
        .await
        .query(sql, &[&room])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The room's ops in seq order.
async fn stored_ops(url: &str, room: &str) -> Vec<StoredOp> {
    room_rows(
        url,
        room,
        "SELECT seq, epoch, data FROM ops WHERE room = $1 ORDER BY seq",
    )
    .await
    .iter()
    .map(|r| StoredOp {
        seq: r.get(0),
        epoch: r.get(1),
        data: r.get(2),
    })
    .collect()
}

/// The room's lease row.
#[derive(Debug, Clone)]
struct LeaseRow {
    owner: String,
    epoch: i64,
    /// `expires_at <= now()` on the database's clock.
    expired: bool,
}

async fn lease(url: &str, room: &str) -> Option<LeaseRow> {
    room_rows(
        url,
        room,
        "SELECT owner, epoch, expires_at <= now() FROM leases WHERE room = $1",
    )
    .await
    .first()
    .map(|r| LeaseRow {
        owner: r.get(0),
        epoch: r.get(1),
        expired: r.get(2),
    })
}

/// Polls the lease row until `check` holds; fails the test after [`PATIENCE`].
async fn await_lease(
    url: &str,
    room: &str,
    what: &str,
    check: impl Fn(&LeaseRow) -> bool,
) -> LeaseRow {
    let until = Instant::now() + PATIENCE;
    loop {
        let row = lease(url, room).await;
        if let Some(row) = row.as_ref().filter(|r| check(r)) {
            return row.clone();
        }
        assert!(Instant::now() < until, "lease never {what}: last {row:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether `owner` (`<advertise-url>#<run id>`) names `node`.
fn owned_by(owner: &str, node: &Node) -> bool {
    owner.starts_with(&format!("{}#", node.url))
}

/// The checks every test makes on the stored log: seqs exactly `1..=n`, epochs never going
/// back. Returns the epochs in seq order.
fn assert_log_sound(ops: &[StoredOp], n: u64) -> Vec<i64> {
    let seqs: Vec<i64> = ops.iter().map(|o| o.seq).collect();
    let want: Vec<i64> = (1..=n as i64).collect();
    assert_eq!(seqs, want, "stored seqs must be exactly 1..={n}");
    let epochs: Vec<i64> = ops.iter().map(|o| o.epoch).collect();
    assert!(
        epochs.windows(2).all(|w| w[0] <= w[1]),
        "epochs go back in seq order (an op of an old epoch stored after a newer one): {epochs:?}"
    );
    epochs
}

// ---- strokes ----

/// Stroke `i`'s color: unique per stroke, so that a stored op names its stroke.
fn color(i: u32) -> String {
    format!(
        "#{:02x}{:02x}{:02x}",
        i % 256,
        (i / 256 * 40 + 60) % 256,
        (i * 13 + 100) % 256
    )
}

fn points(i: u32) -> Vec<[f32; 3]> {
    let f = i as f32;
    vec![
        [(f * 37.0) % 380.0 + 10.0, (f * 53.0) % 280.0 + 10.0, 0.4],
        [
            (f * 37.0 + 80.0) % 380.0 + 10.0,
            (f * 53.0 + 40.0) % 280.0 + 10.0,
            0.8,
        ],
        [
            (f * 29.0 + 30.0) % 380.0 + 10.0,
            (f * 17.0 + 90.0) % 280.0 + 10.0,
            0.5,
        ],
    ]
}

/// Stroke `i`'s messages: its id is `i`, its client op id `stroke-<i>` (the same whenever it is
/// sent again, so the room draws it once).
fn stroke_messages(i: u32) -> Vec<Value> {
    let ps = points(i);
    let mut msgs = vec![json!({
        "type": "stroke_begin", "stroke": i, "tool": "pen", "color": color(i),
        "width": STROKE_WIDTH, "points": ps[0], "op": format!("stroke-{i}"),
    })];
    for p in &ps[1..] {
        msgs.push(json!({"type": "stroke_points", "stroke": i, "points": p}));
    }
    msgs.push(json!({"type": "stroke_end", "stroke": i}));
    msgs
}

/// Draws stroke `i`; does not wait for its commit.
async fn draw(c: &mut Client, i: u32) {
    for m in stroke_messages(i) {
        c.send(m).await;
    }
}

/// Like [`draw`], but false instead of failing when the connection is gone.
async fn try_draw(c: &mut Client, i: u32) -> bool {
    for m in stroke_messages(i) {
        if !c.try_send(Message::text(m.to_string())).await {
            return false;
        }
    }
    true
}

/// Which of `strokes` a stored op is, by its color.
fn stroke_of(op: &StoredOp, strokes: impl IntoIterator<Item = u32>) -> Option<u32> {
    let found: Vec<u32> = strokes
        .into_iter()
        .filter(|&i| op.data.contains(&format!("\"{}\"", color(i))))
        .collect();
    match found[..] {
        [i] => Some(i),
        [] => None,
        _ => panic!(
            "op {} matches several strokes {found:?}: {}",
            op.seq, op.data
        ),
    }
}

/// The canvas after `strokes` in this order, over white, as `canvas.png` would show it.
fn render(strokes: &[u32]) -> image::RgbaImage {
    let mut canvas = Canvas::new(W, H).expect("size");
    for &i in strokes {
        let c = inkroom::protocol::parse_color(&color(i)).expect("color");
        canvas.apply(&mut Op::Stroke(Stroke {
            tool: Tool::Pen,
            color: c,
            width: STROKE_WIDTH,
            points: points(i).into_iter().flatten().collect(),
        }));
    }
    common::on_white(&canvas)
}

/// PostgreSQL, and nodes A and B on it (dropped in reverse: the nodes go first).
async fn pg_and_two_nodes() -> (Postgres, Node, Node) {
    let pg = blocking(Postgres::start);
    let a = Node::start("A", &pg.url).await;
    let b = Node::start("B", &pg.url).await;
    (pg, a, b)
}

/// Draws strokes `strokes` (the first ones of the room): stroke i is committed at seq i + 1.
async fn draw_committed(c: &mut Client, strokes: std::ops::Range<u32>) {
    for i in strokes {
        draw(c, i).await;
        assert_eq!(
            c.await_commit(i).await,
            u64::from(i) + 1,
            "stroke {i}'s seq"
        );
    }
}

// ---- clients ----

fn hello(name: &str, key: Option<&str>, user: Option<&str>, since: Option<u64>) -> Value {
    let mut h = json!({"type": "hello", "name": name});
    if let Some(k) = key {
        h["key"] = k.into();
    }
    if let Some(u) = user {
        h["user"] = u.into();
    }
    if let Some(s) = since {
        h["since"] = s.into();
    }
    h
}

/// What a join returned.
struct Joined {
    client: Client,
    /// `welcome.seq`: the room's seq when it let us in.
    seq: u64,
    resumed: bool,
}

/// Connects and joins like [`Client::join_with`], but returns why instead of failing: refused
/// upgrade, closed before `synced`, an `error`, or nothing within `wait`.
async fn try_join(
    node: &Node,
    room: &str,
    hello: &Value,
    wait: Duration,
) -> Result<Joined, String> {
    let url = format!("ws://{}/api/rooms/{room}/ws", node.addr);
    let ws = match tokio::time::timeout(wait, tokio_tungstenite::connect_async(url)).await {
        Err(_) => return Err("no WebSocket upgrade in time".into()),
        Ok(Err(e)) => return Err(format!("upgrade refused: {e}")),
        Ok(Ok((ws, _))) => ws,
    };
    let mut c = Client::over(ws);
    if !c.try_send(Message::text(hello.to_string())).await {
        return Err("connection lost sending hello".into());
    }
    let mut welcome = None;
    loop {
        match c.next_within(wait).await {
            None => return Err(format!("no welcome and synced within {wait:?}")),
            Some(Frame::Closed(code)) => return Err(format!("closed ({code:?}) before synced")),
            Some(Frame::Binary(b)) => c.binaries.push(b),
            Some(Frame::Msg(ServerMsg::Welcome {
                you, seq, resumed, ..
            })) => {
                c.id = you;
                welcome = Some((seq, resumed));
            }
            Some(Frame::Msg(ServerMsg::Error { code, message, .. })) => {
                return Err(format!("error {code:?}: {message}"))
            }
            Some(Frame::Msg(ServerMsg::Synced { .. })) => {
                let (seq, resumed) = welcome.ok_or("synced before welcome")?;
                return Ok(Joined {
                    client: c,
                    seq,
                    resumed,
                });
            }
            Some(Frame::Msg(_)) => {}
        }
    }
}

/// Joins through `nodes` in turn until one lets us in, with a growing pause between attempts
/// (100 ms to 1 s); fails the test with every refusal after [`PATIENCE`].
async fn join_retrying(nodes: &[&Node], room: &str, hello: &Value) -> Joined {
    let until = Instant::now() + PATIENCE;
    let mut pause = Duration::from_millis(100);
    let mut refusals = Vec::new();
    for attempt in 0.. {
        let node = nodes[attempt % nodes.len()];
        let started = Instant::now();
        match try_join(node, room, hello, Duration::from_secs(10)).await {
            Ok(joined) => {
                if !refusals.is_empty() {
                    println!(
                        "joined through node {} after {} refusals: {refusals:?}",
                        node.name,
                        refusals.len()
                    );
                }
                return joined;
            }
            Err(e) => refusals.push(format!(
                "node {} after {:?}: {e}",
                node.name,
                started.elapsed()
            )),
        }
        assert!(
            Instant::now() < until,
            "could not join room {room} within {PATIENCE:?}: {refusals:#?}"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
    unreachable!()
}

/// One commit as a member saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seen {
    seq: u64,
    author: u64,
    stroke: Option<u32>,
}

/// Reads until the commit of `upto` (failing the test if the connection closes first or
/// nothing comes for 5 s); returns every commit seen, in order, and the colors of the strokes
/// begun by others.
async fn commits_until(c: &mut Client, upto: u64) -> (Vec<Seen>, HashMap<(u64, u32), String>) {
    let mut seen = Vec::new();
    let mut begun = HashMap::new();
    loop {
        match c.recv().await {
            ServerMsg::Commit {
                seq,
                author,
                stroke,
                ..
            } => {
                seen.push(Seen {
                    seq,
                    author,
                    stroke,
                });
                if seq >= upto {
                    return (seen, begun);
                }
            }
            ServerMsg::StrokeBegin {
                author,
                stroke,
                color,
                ..
            } => {
                begun.insert((author, stroke), color.into_owned());
            }
            _ => {}
        }
    }
}

/// Reads until the server closes (the commits it sent meanwhile count); fails the test after
/// [`PATIENCE`].
async fn until_closed(c: &mut Client, who: &str) -> (Option<u16>, Vec<Seen>) {
    let until = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match c.next_within(left).await {
            None => panic!("{who}: the connection did not close within {PATIENCE:?}"),
            Some(Frame::Closed(code)) => return (code, seen),
            Some(Frame::Msg(ServerMsg::Commit {
                seq,
                author,
                stroke,
                ..
            })) => seen.push(Seen {
                seq,
                author,
                stroke,
            }),
            Some(_) => {}
        }
    }
}

/// Fetches `canvas.png` from a node: its seq (`X-Inkroom-Seq`, if sent) and pixels.
async fn canvas(node: &Node, room: &str) -> Result<(Option<u64>, image::RgbaImage), String> {
    let res = common::http(
        node.addr,
        "GET",
        &format!("/api/rooms/{room}/canvas.png"),
        None,
        &[],
    )
    .await;
    if res.status != 200 {
        return Err(format!("{} {}", res.status, res.text()));
    }
    let seq = res.header("x-inkroom-seq").and_then(|s| s.parse().ok());
    let img = image::load_from_memory(&res.body)
        .map_err(|e| format!("not a PNG: {e}"))?
        .to_rgba8();
    Ok((seq, img))
}

/// Waits until every node's `canvas.png` is at `seq` and shows `want`; fails the test after
/// [`PATIENCE`] showing how the last answers differ.
async fn assert_canvas_everywhere(nodes: &[&Node], room: &str, seq: u64, want: &image::RgbaImage) {
    let until = Instant::now() + PATIENCE;
    for node in nodes {
        loop {
            let got = canvas(node, room).await;
            let done = matches!(&got, Ok((s, img)) if s.is_none_or(|s| s == seq) && img == want);
            if done {
                break;
            }
            if Instant::now() >= until {
                let (s, img) =
                    got.unwrap_or_else(|e| panic!("node {}: canvas.png: {e}", node.name));
                assert_eq!(s, Some(seq), "node {}: canvas.png seq", node.name);
                common::assert_same_pixels(&img, want, &format!("node {}: canvas.png", node.name));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The canvas a member received as tiles on joining, over white.
fn tiles_over_white(c: &Client) -> image::RgbaImage {
    let mut canvas = Canvas::new(W, H).expect("size");
    for frame in &c.binaries {
        let (tile, _, pixmap) = common::decode_tile(&canvas, frame);
        canvas.set_tile(tile, Some(std::sync::Arc::new(pixmap)));
    }
    common::on_white(&canvas)
}

// ---- the tests ----

/// Three nodes: the editor on A (which so owns the room), viewers on B and C. Every viewer
/// sees every op in order, every node serves the same canvas (`canvas.png`, and the tiles a
/// viewer joining there gets), and PostgreSQL holds seqs `1..=20` of one epoch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_a_room() {
    let _serial = SERIAL.lock().await;
    let (pg, a, b) = pg_and_two_nodes().await;
    let c = Node::start("C", &pg.url).await;
    let (room, key) = create_room(&a).await;

    let (mut ann, _) = Client::join(&a.server(), &room, "Ann", Some(&key)).await;
    let owner = await_lease(&pg.url, &room, "held by A", |l| owned_by(&l.owner, &a)).await;
    let (mut vb, _) = Client::join(&b.server(), &room, "VicB", None).await;
    let (mut vc, _) = Client::join(&c.server(), &room, "VicC", None).await;

    const N: u32 = 20;
    for i in 0..N {
        draw(&mut ann, i).await;
        assert_eq!(
            ann.await_commit(i).await,
            u64::from(i) + 1,
            "stroke {i}'s seq"
        );
    }

    for (name, v) in [("viewer on B", &mut vb), ("viewer on C", &mut vc)] {
        let (seen, begun) = commits_until(v, u64::from(N)).await;
        let want: Vec<Seen> = (0..N)
            .map(|i| Seen {
                seq: u64::from(i) + 1,
                author: ann.id,
                stroke: Some(i),
            })
            .collect();
        assert_eq!(seen, want, "{name}: every commit, in order");
        for i in 0..N {
            assert_eq!(
                begun.get(&(ann.id, i)),
                Some(&color(i)),
                "{name}: the live stroke_begin of stroke {i}"
            );
        }
    }

    // B and C each relay their viewer to A, and say so in their metrics; A relays nothing.
    for (node, relays) in [(&a, 0), (&b, 1), (&c, 1)] {
        let res = common::http(node.addr, "GET", "/metrics", None, &[]).await;
        let text = res.text();
        assert!(
            text.contains(&format!("inkroom_relays_open {relays}\n")),
            "node {}: inkroom_relays_open {relays}",
            node.name
        );
        let forwarded = if relays > 0 { "1" } else { "0" };
        assert!(
            text.contains(&format!(
                "inkroom_forwarded_total{{kind=\"websocket\"}} {forwarded}\n"
            )),
            "node {}: websockets forwarded {forwarded}",
            node.name
        );
    }

    let strokes: Vec<u32> = (0..N).collect();
    let want = render(&strokes);
    assert_canvas_everywhere(&[&a, &b, &c], &room, u64::from(N), &want).await;
    for node in [&a, &b, &c] {
        let fresh = join_retrying(&[node], &room, &hello("Fresh", None, None, None)).await;
        assert_eq!(
            fresh.seq,
            u64::from(N),
            "welcome seq of a fresh viewer on {}",
            node.name
        );
        let what = format!("the tiles a fresh viewer on {} gets", node.name);
        common::assert_same_pixels(&tiles_over_white(&fresh.client), &want, &what);
    }

    let ops = stored_ops(&pg.url, &room).await;
    let epochs = assert_log_sound(&ops, u64::from(N));
    assert!(
        epochs.iter().all(|&e| e == owner.epoch),
        "one epoch ({}) wrote every op: {epochs:?}",
        owner.epoch
    );
    let by_seq: Vec<Option<u32>> = ops.iter().map(|o| stroke_of(o, 0..N)).collect();
    let want: Vec<Option<u32>> = (0..N).map(Some).collect();
    assert_eq!(by_seq, want, "the op at seq i + 1 is stroke i");
    let owner = lease(&pg.url, &room).await.expect("lease");
    assert!(
        owned_by(&owner.owner, &a),
        "A still owns the room: {owner:?}"
    );
}

/// The owner A dies (SIGKILL) while the editor, on B, has strokes in flight. Its forwarded
/// connections close with 1012; the editor reconnects with `since`, the node it reaches takes
/// the room at a higher epoch, the editor sends again (same op ids) what was not acknowledged
/// and draws on: every stroke is stored exactly once, in the order drawn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_killed_mid_drawing_another_node_takes_over() {
    let _serial = SERIAL.lock().await;
    let (pg, mut a, b) = pg_and_two_nodes().await;
    let c = Node::start("C", &pg.url).await;
    let (room, key) = create_room(&b).await;

    // A loads the room first, for a member of its own: A owns it.
    let (_anchor, _) = Client::join(&a.server(), &room, "Anchor", None).await;
    let first = await_lease(&pg.url, &room, "held by A", |l| owned_by(&l.owner, &a)).await;

    let user = "ann-0001";
    let ann_hello = hello("Ann", Some(&key), Some(user), None);
    let (mut ann, _) = Client::join_with(&b.server(), &room, ann_hello).await;
    let (mut vb, _) = Client::join(&b.server(), &room, "VicB", None).await;
    let (mut vc, _) = Client::join(&c.server(), &room, "VicC", None).await;

    // Strokes acknowledged one by one, then some in flight, then A dies with more coming.
    let mut acked: BTreeMap<u32, u64> = BTreeMap::new();
    for i in 0..10 {
        draw(&mut ann, i).await;
        acked.insert(i, ann.await_commit(i).await);
    }
    for i in 10..14 {
        draw(&mut ann, i).await;
    }
    // Kill A once the first of those is acknowledged: the others are somewhere between the
    // editor, B, A and PostgreSQL.
    acked.insert(10, ann.await_commit(10).await);
    let killed = Instant::now();
    a.kill();
    for i in 14..18 {
        if !try_draw(&mut ann, i).await {
            break;
        }
    }
    // Strokes 0..18 were drawn (some perhaps only partly written before the connection went).
    let sent: Vec<u32> = (0..18).collect();

    // The editor learns of what committed before the end, then its connection closes.
    let (code, seen) = until_closed(&mut ann, "editor on B").await;
    let closed_after = killed.elapsed();
    for s in seen.iter().filter(|s| s.author == ann.id) {
        if let Some(i) = s.stroke {
            acked.insert(i, s.seq);
        }
    }
    assert_eq!(
        code,
        Some(1012),
        "the editor's connection, forwarded by B to the dead owner, closes with 1012"
    );
    let last_acked = acked.values().copied().max().expect("acked");
    let acked_seqs: Vec<u64> = acked.values().copied().collect();
    assert_eq!(
        acked_seqs,
        (1..=last_acked).collect::<Vec<u64>>(),
        "acknowledged strokes have seqs 1.. in the order drawn"
    );
    let mut viewer_seqs = HashMap::new();
    for (name, v) in [("viewer on B", &mut vb), ("viewer on C", &mut vc)] {
        let (code, seen) = until_closed(v, name).await;
        assert_eq!(
            code,
            Some(1012),
            "{name}: forwarded connection closes with 1012"
        );
        let seqs: Vec<u64> = seen.iter().map(|s| s.seq).collect();
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "{name}: commits in seq order: {seqs:?}"
        );
        viewer_seqs.insert(name, seqs.last().copied().unwrap_or(0));
    }

    // The editor comes back through C (or B), resuming after what it saw committed.
    let resume = hello("Ann", Some(&key), Some(user), Some(last_acked));
    let Joined {
        client: mut ann,
        seq: at_takeover,
        resumed,
    } = join_retrying(&[&c, &b], &room, &resume).await;
    let rejoined_after = killed.elapsed();
    assert!(
        at_takeover >= last_acked,
        "the new owner has every acknowledged op: welcome seq {at_takeover} < {last_acked}"
    );
    let pending: Vec<u32> = sent
        .iter()
        .copied()
        .filter(|i| !acked.contains_key(i))
        .collect();
    // A single editor's strokes commit in the order sent: the ones stored without an
    // acknowledgment are the first of those pending.
    let stored_unacked = (at_takeover - last_acked) as usize;
    assert!(
        stored_unacked <= pending.len(),
        "welcome seq {at_takeover} counts more ops than were sent ({last_acked} acknowledged, {} pending)",
        pending.len()
    );
    let takeover = await_lease(&pg.url, &room, "taken over", |l| l.epoch > first.epoch).await;
    assert!(
        owned_by(&takeover.owner, &b) || owned_by(&takeover.owner, &c),
        "B or C owns the room now: {takeover:?}"
    );

    // The viewers come back to their nodes, forwarded to the new owner.
    let vb_hello = hello("VicB", None, None, Some(viewer_seqs["viewer on B"]));
    let mut vb = join_retrying(&[&b], &room, &vb_hello).await;
    let vc_hello = hello("VicC", None, None, Some(viewer_seqs["viewer on C"]));
    let mut vc = join_retrying(&[&c], &room, &vc_hello).await;

    // Send again every stroke not acknowledged, with its op id, and also the last one
    // acknowledged (as a client that lost the connection just as its commit came would): the
    // new owner draws only those A never stored, and answers the others with the original's
    // commit.
    let last_acked_stroke = *acked.keys().next_back().expect("acked");
    let resend: Vec<u32> = std::iter::once(last_acked_stroke)
        .chain(pending.iter().copied())
        .collect();
    for &i in &resend {
        draw(&mut ann, i).await;
    }
    let mut resent: BTreeMap<u32, u64> = BTreeMap::new();
    while resent.len() < resend.len() {
        if let ServerMsg::Commit {
            seq,
            author,
            stroke: Some(i),
            ..
        } = ann.recv().await
        {
            if author == ann.id {
                assert!(resent.insert(i, seq).is_none(), "two commits of stroke {i}");
            }
        }
    }
    let first_commit_after = killed.elapsed();
    let mut want: BTreeMap<u32, u64> = BTreeMap::new();
    want.insert(last_acked_stroke, last_acked);
    for (n, &i) in pending.iter().enumerate() {
        want.insert(i, last_acked + 1 + n as u64);
    }
    assert_eq!(
        resent, want,
        "strokes sent again: the original's seq for those already stored (the last \
         acknowledged, and {stored_unacked} stored by A without acknowledgment), new seqs after \
         {at_takeover} for the others"
    );
    let mut seq = last_acked + pending.len() as u64;

    // Draw on.
    for i in 18..24 {
        draw(&mut ann, i).await;
        seq += 1;
        assert_eq!(ann.await_commit(i).await, seq, "stroke {i}'s seq");
    }
    let last = seq;
    println!(
        "takeover: A killed; editor closed after {closed_after:?}, rejoined (resumed: {resumed}) after \
         {rejoined_after:?}, every stroke sent again committed after {:?}; epoch {} -> {} ({}); {} strokes stored \
         without acknowledgment, {} sent again",
        first_commit_after,
        first.epoch,
        takeover.epoch,
        takeover.owner,
        stored_unacked,
        resend.len()
    );

    // The viewers see every commit after where they came back, in order.
    for (name, v) in [("viewer on B", &mut vb), ("viewer on C", &mut vc)] {
        let (seen, _) = commits_until(&mut v.client, last).await;
        let seqs: Vec<u64> = seen.iter().map(|s| s.seq).filter(|&s| s > v.seq).collect();
        assert_eq!(
            seqs,
            (v.seq + 1..=last).collect::<Vec<u64>>(),
            "{name}: every commit after its welcome (seq {}), in order",
            v.seq
        );
    }

    // PostgreSQL: every stroke exactly once, in the order drawn; A's epoch, then a later one.
    let ops = stored_ops(&pg.url, &room).await;
    let epochs = assert_log_sound(&ops, last);
    let all: Vec<u32> = (0..24).collect();
    let by_seq: Vec<Option<u32>> = ops
        .iter()
        .map(|o| stroke_of(o, all.iter().copied()))
        .collect();
    for (&i, &s) in &acked {
        assert_eq!(
            by_seq[s as usize - 1],
            Some(i),
            "acknowledged stroke {i} is the op at seq {s}"
        );
    }
    assert_eq!(
        by_seq,
        all.iter().copied().map(Some).collect::<Vec<_>>(),
        "each stroke stored exactly once, in the order drawn"
    );
    for (op, &e) in ops.iter().zip(&epochs) {
        if op.seq as u64 <= at_takeover {
            assert_eq!(e, first.epoch, "seq {} was stored by A", op.seq);
        } else {
            assert!(
                e > first.epoch,
                "seq {} was stored after the takeover",
                op.seq
            );
        }
    }

    // B and C serve the same canvas: the strokes in the order stored. A fresh viewer joins
    // at the last seq.
    assert_canvas_everywhere(&[&b, &c], &room, last, &render(&all)).await;
    for node in [&b, &c] {
        let fresh = join_retrying(&[node], &room, &hello("Fresh", None, None, None)).await;
        assert_eq!(
            fresh.seq, last,
            "welcome seq of a fresh viewer on {}",
            node.name
        );
        common::assert_same_pixels(
            &tiles_over_white(&fresh.client),
            &render(&all),
            &format!("the tiles a fresh viewer on {} gets", node.name),
        );
    }
}

/// The owner A is stopped (SIGSTOP) past its lease; B takes the room at epoch + 1. A stroke
/// sent to A meanwhile waits in A's socket; when A resumes (SIGCONT) it must not acknowledge
/// it, and nothing of epoch 1 may be stored after epoch 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_owner_is_fenced_after_it_resumes() {
    let _serial = SERIAL.lock().await;
    let (pg, a, b) = pg_and_two_nodes().await;
    let (room, key) = create_room(&a).await;

    let user = "ann-0002";
    let (mut ann, _) = Client::join_with(
        &a.server(),
        &room,
        hello("Ann", Some(&key), Some(user), None),
    )
    .await;
    draw_committed(&mut ann, 0..3).await;
    let first = await_lease(&pg.url, &room, "held by A", |l| owned_by(&l.owner, &a)).await;

    a.signal("STOP");
    let stopped = Instant::now();
    let result = async {
        await_lease(&pg.url, &room, "expired", |l| l.expired).await;
        let expired_after = stopped.elapsed();

        // A client for the room on B makes B take it.
        let vic = join_retrying(&[&b], &room, &hello("Vic", None, None, None)).await;
        let taken = await_lease(&pg.url, &room, "taken by B", |l| owned_by(&l.owner, &b)).await;
        assert_eq!(
            taken.epoch,
            first.epoch + 1,
            "B took the room at the next epoch"
        );
        println!(
            "A stopped: lease expired after {expired_after:?}, B owner at epoch {} after {:?}",
            taken.epoch,
            stopped.elapsed()
        );

        // A stroke for A waits in its socket.
        assert!(
            try_draw(&mut ann, 100).await,
            "the stroke is written to A's socket"
        );
        (vic, taken)
    }
    .await;
    a.signal("CONT");
    let (mut vic, taken) = result;

    // A wakes up fenced: no commit; its member is closed (1012) or told the stroke failed.
    let until = Instant::now() + PATIENCE;
    let mut outcome = None;
    while outcome.is_none() {
        let left = until.saturating_duration_since(Instant::now());
        match ann.next_within(left).await {
            None => panic!("the fenced owner neither closed the editor nor refused its stroke within {PATIENCE:?}"),
            Some(Frame::Msg(m @ ServerMsg::Commit { .. })) => {
                panic!("the fenced owner A acknowledged an op after B took the room: {m:?}")
            }
            Some(Frame::Msg(ServerMsg::Error { code, stroke, .. })) => {
                println!("fenced A: error {code:?} (stroke {stroke:?})");
                if code == ErrorCode::StoreUnavailable || stroke == Some(100) {
                    outcome = Some(format!("error {code:?}"));
                }
            }
            Some(Frame::Closed(code)) => {
                assert_eq!(code, Some(1012), "the fenced owner closes its members with 1012");
                outcome = Some(format!("closed {code:?}"));
            }
            Some(_) => {}
        }
    }
    println!("fenced A: {}", outcome.expect("outcome"));
    // Whichever came, nothing acknowledges the stroke afterwards either.
    loop {
        match ann.next_within(Duration::from_secs(2)).await {
            None | Some(Frame::Closed(_)) => break,
            Some(Frame::Msg(m @ ServerMsg::Commit { .. })) => {
                panic!("the fenced owner A acknowledged an op after B took the room: {m:?}")
            }
            Some(_) => {}
        }
    }
    drop(ann);

    // The editor comes back through A, which now forwards it to B: the next op is seq 4, of
    // epoch 2.
    let resume = hello("Ann", Some(&key), Some(user), Some(3));
    let Joined {
        client: mut ann, ..
    } = join_retrying(&[&a], &room, &resume).await;
    draw(&mut ann, 101).await;
    assert_eq!(ann.await_commit(101).await, 4, "the first op of epoch 2");
    let (seen, _) = commits_until(&mut vic.client, 4).await;
    assert!(
        seen.iter()
            .all(|s| s.stroke != Some(100) || s.author != ann.id),
        "the viewer on B saw no commit of the fenced stroke: {seen:?}"
    );

    let ops = stored_ops(&pg.url, &room).await;
    let epochs = assert_log_sound(&ops, 4);
    assert_eq!(
        epochs,
        vec![first.epoch, first.epoch, first.epoch, taken.epoch],
        "three ops of A's epoch, then B's"
    );
    assert!(
        ops.iter().all(|o| stroke_of(o, [100]).is_none()),
        "the stroke sent to the stopped owner is not stored: {ops:?}"
    );
    let now = lease(&pg.url, &room).await.expect("lease");
    assert!(
        owned_by(&now.owner, &b) && now.epoch == taken.epoch,
        "A did not take the room back: {now:?}"
    );
}

/// PostgreSQL stops while the editor draws: nothing is acknowledged during the outage (longer
/// than a lease), neither on the editor's connection nor on any it opens again meanwhile. Once
/// PostgreSQL is back, drawing works again (reconnecting if the node closed the connection),
/// and the strokes taken back during the outage, sent again with their op ids, are stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_no_acknowledgment_during_outage() {
    let _serial = SERIAL.lock().await;
    let (pg, a, b) = pg_and_two_nodes().await;
    let (room, key) = create_room(&a).await;
    let user = "ann-0003";
    let (mut ann, _) = Client::join_with(
        &a.server(),
        &room,
        hello("Ann", Some(&key), Some(user), None),
    )
    .await;
    let (mut vic, _) = Client::join(&b.server(), &room, "Vic", None).await;
    draw_committed(&mut ann, 0..3).await;
    commits_until(&mut vic, 3).await;

    blocking(|| pg.stop());
    let stopped = Instant::now();
    let outage: Vec<u32> = (10..14).collect();
    let mut sent = Vec::new();
    for &i in &outage {
        if !try_draw(&mut ann, i).await {
            break;
        }
        sent.push(i);
    }

    // Through an outage longer than a lease: no commit, on the editor's connection or on
    // any it opens again meanwhile (through A or B, drawing a stroke on each); what the editor
    // is told instead.
    let outage_end = stopped + Duration::from_secs(6);
    let mut refused: Vec<u32> = Vec::new();
    let mut told: Vec<String> = Vec::new();
    let mut current = Some(ann);
    let mut probe = 30u32;
    let mut rejoins = 0usize;
    loop {
        let left = outage_end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let Some(c) = current.as_mut() else {
            let node = [&a, &b][rejoins % 2];
            rejoins += 1;
            let resume = hello("Ann", Some(&key), Some(user), Some(3));
            match try_join(node, &room, &resume, left.min(Duration::from_secs(2))).await {
                Ok(mut joined) => {
                    told.push(format!("rejoined through {}", node.name));
                    if try_draw(&mut joined.client, probe).await {
                        told.push(format!("drew {probe}"));
                        sent.push(probe);
                    }
                    probe += 1;
                    current = Some(joined.client);
                }
                Err(e) => {
                    told.push(format!("join through {} refused: {e}", node.name));
                    tokio::time::sleep(Duration::from_millis(250).min(left)).await;
                }
            }
            continue;
        };
        match c.next_within(left).await {
            None => break,
            Some(Frame::Closed(code)) => {
                told.push(format!("closed {code:?}"));
                current = None;
            }
            Some(Frame::Msg(m @ ServerMsg::Commit { .. })) => {
                panic!(
                    "a commit while PostgreSQL is down, {:?} after it stopped: {m:?}; before: {told:?}",
                    stopped.elapsed()
                )
            }
            Some(Frame::Msg(ServerMsg::Error { code, stroke, .. })) => {
                told.push(format!("error {code:?} stroke {stroke:?}"));
                if code == ErrorCode::StoreUnavailable {
                    refused.extend(stroke);
                }
            }
            Some(Frame::Msg(ServerMsg::StrokeDropped { author, stroke })) if author == c.id => {
                told.push(format!("stroke_dropped {stroke}"));
                refused.push(stroke);
            }
            Some(Frame::Msg(ServerMsg::Editing {
                allowed, reason, ..
            })) => told.push(format!("editing allowed={allowed} reason={reason:?}")),
            Some(_) => {}
        }
    }
    loop {
        match vic.next_within(Duration::from_millis(200)).await {
            None | Some(Frame::Closed(_)) => break,
            Some(Frame::Msg(m @ ServerMsg::Commit { .. })) => {
                panic!("the viewer on B got a commit while PostgreSQL is down: {m:?}")
            }
            Some(_) => {}
        }
    }
    // Repeated refusals are shown once, with a count.
    let mut summary: Vec<(String, usize)> = Vec::new();
    for t in told {
        match summary.last_mut() {
            Some((last, n)) if *last == t => *n += 1,
            _ => summary.push((t, 1)),
        }
    }
    println!(
        "PostgreSQL down for {:?}: sent {sent:?}; the editor was told {summary:?}",
        stopped.elapsed()
    );
    drop(current);

    blocking(|| pg.restart());
    let restarted = Instant::now();

    // Drawing comes back: each attempt on a fresh connection, one stroke, until one commits.
    let until = restarted + Duration::from_secs(45);
    let mut attempts = Vec::new();
    let mut next = 20u32;
    let (mut ann, recovered) = loop {
        assert!(
            Instant::now() < until,
            "drawing did not come back within 45 s of PostgreSQL's restart: {attempts:#?}"
        );
        let resume = hello("Ann", Some(&key), Some(user), None);
        let mut joined = join_retrying(&[&a, &b], &room, &resume).await;
        let i = next;
        next += 1;
        let c = &mut joined.client;
        if !try_draw(c, i).await {
            attempts.push(format!("stroke {i}: connection lost sending"));
            continue;
        }
        let wait_until = Instant::now() + Duration::from_secs(10);
        let result = loop {
            let left = wait_until.saturating_duration_since(Instant::now());
            match c.next_within(left).await {
                None => break Err("no commit within 10 s".to_owned()),
                Some(Frame::Closed(code)) => break Err(format!("closed {code:?}")),
                Some(Frame::Msg(ServerMsg::Commit {
                    seq,
                    author,
                    stroke,
                    ..
                })) if author == c.id && stroke == Some(i) => break Ok(seq),
                Some(Frame::Msg(ServerMsg::Error { code, stroke, .. })) => {
                    break Err(format!("error {code:?} stroke {stroke:?}"))
                }
                Some(Frame::Msg(ServerMsg::StrokeDropped { author, stroke }))
                    if author == c.id && stroke == i =>
                {
                    break Err("stroke_dropped".to_owned())
                }
                Some(_) => {}
            }
        };
        match result {
            Ok(seq) => break (joined.client, (i, seq)),
            Err(e) => {
                attempts.push(format!("stroke {i} after {:?}: {e}", restarted.elapsed()));
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    println!(
        "drawing back {:?} after PostgreSQL restarted (stroke {} at seq {}); failed attempts: {attempts:?}",
        restarted.elapsed(),
        recovered.0,
        recovered.1
    );
    // A room loaded again once PostgreSQL is back starts from what is stored: the failed
    // writes of its run before the outage do not hold its first stroke.
    assert!(
        !attempts.iter().any(|a| a.contains("StoreUnavailable")),
        "a stroke after the room was loaded again was refused: {attempts:?}"
    );
    let mut seq = recovered.1;
    let mut acked = vec![(1, 0), (2, 1), (3, 2), (recovered.1, recovered.0)];
    for i in 90..93 {
        draw(&mut ann, i).await;
        seq += 1;
        assert_eq!(ann.await_commit(i).await, seq, "stroke {i}'s seq");
        acked.push((seq, i));
    }
    // The strokes taken back during the outage are forgotten: sent again with their op ids,
    // they are drawn now.
    refused.sort_unstable();
    refused.dedup();
    for &i in &refused {
        draw(&mut ann, i).await;
        seq += 1;
        let what = format!("stroke {i}, taken back during the outage, sent again");
        assert_eq!(ann.await_commit(i).await, seq, "{what}");
        acked.push((seq, i));
    }

    let ops = stored_ops(&pg.url, &room).await;
    assert_log_sound(&ops, seq);
    for (s, i) in acked {
        assert_eq!(
            stroke_of(&ops[s as usize - 1], [i]),
            Some(i),
            "acknowledged stroke {i} is the op at seq {s}"
        );
        let copies = ops.iter().filter(|o| stroke_of(o, [i]).is_some()).count();
        assert_eq!(copies, 1, "stroke {i} is stored once");
    }
}

/// Time travel in cluster mode: the canvas at every seq, `/history` and a timelapse come from
/// PostgreSQL on a node that does not run the room, equal to what the room showed; a restore
/// sent through that node is committed by the owner; after the owner dies, the node taking
/// over loads the room from a keyframe in PostgreSQL and shows the restored canvas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_and_restore_work_from_any_node() {
    let _serial = SERIAL.lock().await;
    let (pg, mut a, b) = pg_and_two_nodes().await;
    let created = a
        .server()
        .create_room(json!({"width": W, "height": H}))
        .await;
    let room = created["id"].as_str().expect("id").to_owned();
    let key = created["edit_key"].as_str().expect("key").to_owned();
    // Restoring an owned board is the owner's.
    let owner_key = created["owner_key"].as_str().expect("owner key").to_owned();
    let (mut ann, _) = Client::join(&a.server(), &room, "Ann", Some(&key)).await;
    await_lease(&pg.url, &room, "held by A", |l| owned_by(&l.owner, &a)).await;

    const N: u32 = 9;
    for i in 0..N {
        draw(&mut ann, i).await;
        assert_eq!(
            ann.await_commit(i).await,
            u64::from(i) + 1,
            "stroke {i}'s seq"
        );
    }
    // Every step, read on B from the store.
    for n in 0..=N {
        let res = common::http(
            b.addr,
            "GET",
            &format!("/api/rooms/{room}/canvas.png?seq={n}"),
            None,
            &[],
        )
        .await;
        assert_eq!(res.status, 200, "canvas.png?seq={n} on B: {}", res.text());
        assert_eq!(res.header("x-inkroom-seq"), Some(n.to_string().as_str()));
        let img = image::load_from_memory(&res.body).expect("png").to_rgba8();
        let strokes: Vec<u32> = (0..n).collect();
        common::assert_same_pixels(
            &img,
            &render(&strokes),
            &format!("the canvas at seq {n} on B"),
        );
    }
    let res = common::http(
        b.addr,
        "GET",
        &format!("/api/rooms/{room}/history"),
        None,
        &[],
    )
    .await;
    assert_eq!(res.status, 200, "/history on B: {}", res.text());
    let history = res.json();
    assert_eq!(history["seq"], json!(N), "{history}");
    assert_eq!(history["from"], json!(0), "{history}");
    let res = common::http(
        b.addr,
        "GET",
        &format!("/api/rooms/{room}/timelapse.png?frames=4&scale=0.5"),
        None,
        &[],
    )
    .await;
    assert_eq!(res.status, 200, "timelapse.png on B: {}", res.text());
    assert!(res.body.starts_with(b"\x89PNG"), "an (A)PNG");

    // A restore sent through B (relayed to A, which owns the room).
    let mut bob = join_retrying(&[&b], &room, &hello("Bob", Some(&owner_key), None, None))
        .await
        .client;
    bob.send(json!({"type": "restore", "id": 11, "seq": 3}))
        .await;
    let restored = loop {
        match bob.recv().await {
            ServerMsg::Commit {
                seq, author, op, ..
            } if author == bob.id && op == inkroom::protocol::OpKind::Restore => break seq,
            ServerMsg::Error { code, message, .. } => panic!("restore refused: {code:?} {message}"),
            _ => {}
        }
    };
    assert_eq!(restored, u64::from(N) + 1);
    let want = render(&[0, 1, 2]);
    assert_canvas_everywhere(&[&a, &b], &room, restored, &want).await;

    // A dies; B takes the room over and loads it from its base keyframe in PostgreSQL.
    drop(bob);
    drop(ann);
    a.kill();
    let back = join_retrying(&[&b], &room, &hello("Ann", Some(&key), None, None)).await;
    await_lease(&pg.url, &room, "held by B", |l| owned_by(&l.owner, &b)).await;
    assert_eq!(back.seq, restored, "welcome seq after the takeover");
    common::assert_same_pixels(
        &tiles_over_white(&back.client),
        &want,
        "the canvas B loaded from PostgreSQL",
    );
    let mut ann = back.client;
    draw(&mut ann, 20).await;
    assert_eq!(ann.await_commit(20).await, restored + 1);
    let mut strokes = vec![0, 1, 2];
    strokes.push(20);
    assert_canvas_everywhere(&[&b], &room, restored + 1, &render(&strokes)).await;
    // The step before the restore is still there, from the store.
    let res = common::http(
        b.addr,
        "GET",
        &format!("/api/rooms/{room}/canvas.png?seq={N}"),
        None,
        &[],
    )
    .await;
    let img = image::load_from_memory(&res.body).expect("png").to_rgba8();
    let all: Vec<u32> = (0..N).collect();
    common::assert_same_pixels(
        &img,
        &render(&all),
        "the canvas before the restore, after it",
    );
}

/// Changes to a room made on a node that does not run it reach the room's live members on its
/// owner: an operator's lock and unlock, a kick, the owner's edit-key replacement and a
/// delete, each sent to B while A runs the room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_on_another_node_reach_the_owners_members() {
    let _serial = SERIAL.lock().await;
    let (pg, a, b) = pg_and_two_nodes().await;
    let created = a
        .server()
        .create_room(json!({"width": W, "height": H}))
        .await;
    let room = created["id"].as_str().expect("id").to_owned();
    let key = created["edit_key"].as_str().expect("key").to_owned();
    let owner_key = created["owner_key"].as_str().expect("owner key").to_owned();
    let (mut ann, _) = Client::join(&a.server(), &room, "Ann", Some(&key)).await;
    await_lease(&pg.url, &room, "held by A", |l| owned_by(&l.owner, &a)).await;
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let on_b = |method: &'static str, path: String, body: Option<String>, auth: String| {
        let addr = b.addr;
        async move {
            common::http(
                addr,
                method,
                &path,
                body.as_deref(),
                &[("Authorization", &auth)],
            )
            .await
        }
    };

    // An operator's lock through B: Ann, on A, may no longer draw; unlocked, she may.
    let res = on_b(
        "POST",
        format!("/api/admin/rooms/{room}/lock"),
        None,
        auth.clone(),
    )
    .await;
    assert_eq!(res.status, 200, "lock through B: {}", res.text());
    assert_eq!(
        ann.await_editing().await,
        (false, Some(ErrorCode::RoomLocked))
    );
    let res = on_b(
        "POST",
        format!("/api/admin/rooms/{room}/unlock"),
        None,
        auth.clone(),
    )
    .await;
    assert_eq!(res.status, 200, "unlock through B: {}", res.text());
    assert_eq!(ann.await_editing().await, (true, None));
    draw(&mut ann, 0).await;
    assert_eq!(ann.await_commit(0).await, 1);

    // A kick through B closes Bob's connection on A with 4003.
    let (mut bob, _) = Client::join(&a.server(), &room, "Bob", Some(&key)).await;
    let kick = json!({"member": bob.id}).to_string();
    let res = on_b(
        "POST",
        format!("/api/admin/rooms/{room}/kick"),
        Some(kick),
        auth.clone(),
    )
    .await;
    assert_eq!(res.status, 204, "kick through B: {}", res.text());
    assert_eq!(bob.expect_close().await, Some(4003));

    // The owner replaces the edit key through B: Ann, on the old key, becomes a viewer.
    let res = on_b(
        "POST",
        format!("/api/rooms/{room}/edit_key"),
        None,
        format!("Bearer {owner_key}"),
    )
    .await;
    assert_eq!(res.status, 201, "edit_key through B: {}", res.text());
    let me = ann.id;
    loop {
        if let ServerMsg::MemberUpdated { member } = ann.recv().await {
            if member.id == me {
                assert_eq!(
                    member.role,
                    inkroom::protocol::Role::Viewer,
                    "Ann is a viewer now"
                );
                break;
            }
        }
    }

    // An operator's delete through B closes Ann on A with 4004, and the room is gone on B too.
    let res = on_b(
        "DELETE",
        format!("/api/admin/rooms/{room}"),
        None,
        auth.clone(),
    )
    .await;
    assert_eq!(res.status, 204, "delete through B: {}", res.text());
    assert_eq!(ann.expect_close().await, Some(4004));
    let res = common::http(b.addr, "GET", &format!("/api/rooms/{room}"), None, &[]).await;
    assert_eq!(res.status, 404, "the deleted room on B: {}", res.text());
}

/// A `hello` for a viewer that reads batches (members fed from the bus do), resuming at
/// `since` if given.
fn batch_hello(name: &str, since: Option<u64>) -> Value {
    let mut h = hello(name, None, None, since);
    h["batch"] = true.into();
    h
}

/// Waits until a node's `/metrics` has the line `line` (a metric and its value).
async fn await_metric(node: &Node, line: &str) {
    let until = Instant::now() + PATIENCE;
    loop {
        let text = common::http(node.addr, "GET", "/metrics", None, &[])
            .await
            .text();
        if text.lines().any(|l| l == line) {
            return;
        }
        assert!(
            Instant::now() < until,
            "node {}: no `{line}` within {PATIENCE:?}; metrics:\n{}",
            node.name,
            text.lines()
                .filter(|l| l.starts_with("inkroom_bus") || l.starts_with("inkroom_relays"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads frames until the tiles a client received show `want`; fails after [`PATIENCE`].
async fn await_picture(c: &mut Client, want: &image::RgbaImage, who: &str) {
    let until = Instant::now() + PATIENCE;
    while tiles_over_white(c) != *want {
        let left = until.saturating_duration_since(Instant::now());
        match c.next_within(left).await {
            None => {
                common::assert_same_pixels(&tiles_over_white(c), want, who);
                panic!("{who}: the tiles did not show the canvas within {PATIENCE:?}");
            }
            Some(Frame::Binary(b)) => c.binaries.push(b),
            Some(Frame::Closed(code)) => panic!("{who}: closed ({code:?})"),
            Some(_) => {}
        }
    }
}

/// Commits `from..=to` by Ann (strokes `from - 1 ..= to - 1`), in order, once each.
fn commits(ann: u64, seqs: std::ops::RangeInclusive<u64>) -> Vec<Seen> {
    seqs.map(|seq| Seen {
        seq,
        author: ann,
        stroke: Some(u32::try_from(seq - 1).expect("small")),
    })
    .collect()
}

/// Three nodes on one PostgreSQL and one Redis: the viewers on B and C are fed from the bus
/// (the owner A publishes each tick's common frame once), and see every commit once, in
/// order. Redis is then restarted: the frames published meanwhile are lost, so the owner
/// closes its bus-fed members (1012); they rejoin with `since` and are relayed while Redis is
/// down, then fed from the bus again once it is back (the nodes resubscribe). The owner never
/// changes, nothing is lost, and every node shows the same canvas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_feeds_other_nodes_and_survives_a_redis_restart() {
    let _serial = SERIAL.lock().await;
    let pg = blocking(Postgres::start);
    let mut redis = blocking(Redis::start);
    let a = Node::start_on("A", &pg.url, Some(&redis.url)).await;
    let b = Node::start_on("B", &pg.url, Some(&redis.url)).await;
    let c = Node::start_on("C", &pg.url, Some(&redis.url)).await;
    let (room, key) = create_room(&a).await;
    let (mut ann, _) = Client::join(&a.server(), &room, "Ann", Some(&key)).await;
    let owner = await_lease(&pg.url, &room, "held by A", |l| owned_by(&l.owner, &a)).await;
    let (mut vb, _) = Client::join_with(&b.server(), &room, batch_hello("VicB", None)).await;
    let (mut vc, _) = Client::join_with(&c.server(), &room, batch_hello("VicC", None)).await;
    for node in [&b, &c] {
        await_metric(node, "inkroom_bus_members 1").await;
    }

    draw_committed(&mut ann, 0..10).await;
    let want = render(&(0..10).collect::<Vec<u32>>());
    for (name, v) in [("viewer on B", &mut vb), ("viewer on C", &mut vc)] {
        let (seen, _) = commits_until(v, 10).await;
        assert_eq!(
            seen,
            commits(ann.id, 1..=10),
            "{name}: every commit once, in order"
        );
        // The tile rounds come over the bus too: the viewer's tiles end up as the canvas.
        await_picture(v, &want, name).await;
    }
    let published = common::http(a.addr, "GET", "/metrics", None, &[])
        .await
        .text();
    assert!(
        !published.contains("inkroom_bus_published_total 0\n"),
        "A published on the bus"
    );

    // Redis goes away. PostgreSQL is the store of record: drawing goes on and is committed.
    blocking(|| redis.stop());
    draw_committed(&mut ann, 10..12).await;
    // The frames that could not be published are lost to the bus-fed viewers: they are told
    // to reconnect, and they rejoin where they were. Redis still down: they are relayed.
    let mut viewers = Vec::new();
    for (name, node, v) in [("VicB", &b, vb), ("VicC", &c, vc)] {
        let mut v = v;
        let (code, seen) = until_closed(&mut v, name).await;
        assert_eq!(code, Some(1012), "{name}: closed to reconnect");
        let since = seen.last().map_or(10, |s| s.seq);
        let joined = join_retrying(&[node], &room, &batch_hello(name, Some(since))).await;
        assert!(joined.resumed, "{name}: resumed at {since}");
        viewers.push((name, node, joined));
    }
    for node in [&b, &c] {
        await_metric(node, "inkroom_bus_members 0").await;
    }
    // The owner saw its publishes fail (it is what closed the viewers, or their nodes did on
    // the hole: either way the owner must know, so that it stops switching members).
    let text = common::http(a.addr, "GET", "/metrics", None, &[])
        .await
        .text();
    let failures = text
        .lines()
        .find_map(|l| l.strip_prefix("inkroom_bus_publish_failures_total "))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        failures.is_some_and(|n| n > 0),
        "A's failed publishes: {failures:?}"
    );
    draw_committed(&mut ann, 12..14).await;
    for (name, _, v) in &mut viewers {
        let (seen, _) = commits_until(&mut v.client, 14).await;
        let want = commits(ann.id, v.seq + 1..=14);
        assert_eq!(seen, want, "{name}: relayed while Redis is down");
    }

    // Redis is back, empty: the nodes resubscribe and the viewers are fed from the bus again.
    blocking(|| redis.restart());
    for node in [&b, &c] {
        await_metric(node, "inkroom_bus_members 1").await;
    }
    draw_committed(&mut ann, 14..20).await;
    for (name, _, v) in &mut viewers {
        let (seen, _) = commits_until(&mut v.client, 20).await;
        assert_eq!(
            seen,
            commits(ann.id, 15..=20),
            "{name}: fed from the bus again"
        );
    }

    let strokes: Vec<u32> = (0..20).collect();
    assert_canvas_everywhere(&[&a, &b, &c], &room, 20, &render(&strokes)).await;
    let now = lease(&pg.url, &room).await.expect("lease");
    assert!(owned_by(&now.owner, &a), "A still owns the room: {now:?}");
    assert_eq!(now.epoch, owner.epoch, "no owner change");
    assert_log_sound(&stored_ops(&pg.url, &room).await, 20);
}
