//! Store faults through the real server binary and real sockets: a full disk, the database file
//! removed or replaced, a read-only filesystem, failing fsync, each with a SIGKILL while it
//! lasts. The last two are injected by a small preloaded shim (`tests/fixtures/faultfs.c`). The promise checked
//! every time: no `commit` for an op that is not stored, the room turns read-only and recovers
//! by itself, and after a restart the canvas is exactly the acknowledged ops, pixel for pixel.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{Client, ServerProcess as Server, TempDir, TestServer};
use inkroom::canvas::{Canvas, Op, Stroke, Tool};
use inkroom::protocol::{ErrorCode, ServerMsg};
use serde_json::json;

const WIDTH: u32 = 500;
const HEIGHT: u32 = 300;

/// The fault-injection shim (`tests/fixtures/faultfs.c`), built into `dir` with the C compiler
/// that builds SQLite.
fn build_shim(dir: &Path) -> std::path::PathBuf {
    let shim = dir.join("libfaultfs.so");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let built = Command::new(&cc)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&shim)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/faultfs.c"
        ))
        .arg("-ldl")
        .status()
        .expect("run the C compiler (SQLite is built with it too)");
    assert!(built.success(), "the fault shim compiles");
    shim
}

/// What became of a stroke.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Committed at this seq.
    Committed(u64),
    /// Taken back: the store could not save it.
    Refused,
}

/// An editor drawing numbered strokes and remembering the acknowledged ones by seq.
struct Drawer {
    client: Client,
    acked: BTreeMap<u64, Stroke>,
    /// Strokes taken back, by the seq they had been given (a later stroke may reuse it).
    refused: BTreeMap<u64, Stroke>,
    next: u32,
    /// Points per stroke (bigger strokes fill a small database sooner).
    points: usize,
}

impl Drawer {
    async fn join(server: &TestServer, room: &str, key: &str, points: usize) -> Drawer {
        let (client, _) = Client::join(server, room, "Ann", Some(key)).await;
        Drawer {
            client,
            acked: BTreeMap::new(),
            refused: BTreeMap::new(),
            next: 0,
            points,
        }
    }

    fn stroke(&self, i: u32) -> Stroke {
        let row = (i * 37 % 280) as f32;
        let points = (0..self.points)
            .flat_map(|j| {
                let x = (j % 490) as f32 + 5.0;
                let y = row + 10.0 + (j % 7) as f32 * 0.5;
                [x, y, 0.5]
            })
            .collect();
        Stroke {
            tool: Tool::Pen,
            color: inkroom::protocol::parse_color(&color(i)).expect("color"),
            width: 3.0,
            points,
        }
    }

    /// Draws the next stroke in two messages and reads until it is committed or taken back.
    async fn draw(&mut self) -> Outcome {
        let i = self.next;
        self.next += 1;
        let stroke = self.stroke(i);
        self.client
            .send(json!({
                "type": "stroke_begin", "stroke": i, "tool": "pen", "color": color(i),
                "width": stroke.width, "points": stroke.points,
            }))
            .await;
        self.client
            .send(json!({"type": "stroke_end", "stroke": i}))
            .await;
        loop {
            match self.client.recv().await {
                ServerMsg::Commit {
                    seq,
                    author,
                    stroke: Some(s),
                    ..
                } if author == self.client.id && s == i => {
                    assert!(
                        self.acked.insert(seq, stroke).is_none(),
                        "seq {seq} acknowledged twice"
                    );
                    return Outcome::Committed(seq);
                }
                ServerMsg::Error {
                    code: ErrorCode::StoreUnavailable,
                    stroke: Some(s),
                    seq,
                    ..
                } if s == i => {
                    let seq = seq.expect("a taken-back op names its seq");
                    self.refused.insert(seq, stroke);
                    return Outcome::Refused;
                }
                ServerMsg::Error { code, message, .. } => {
                    panic!("stroke {i}: unexpected error {code:?}: {message}")
                }
                _ => {}
            }
        }
    }

    /// Draws until a stroke is taken back (at most `max` strokes); whether one was.
    async fn draw_until_refused(&mut self, max: usize) -> bool {
        for _ in 0..max {
            if self.draw().await == Outcome::Refused {
                return true;
            }
        }
        false
    }

    /// Reads until `editing` says whether drawing is allowed, checking the reason.
    async fn await_editing(&mut self, want: bool) {
        loop {
            if let ServerMsg::Editing {
                allowed, reason, ..
            } = self.client.recv().await
            {
                assert_eq!(
                    reason,
                    (!allowed).then_some(ErrorCode::StoreUnavailable),
                    "the reason is the store"
                );
                if allowed == want {
                    return;
                }
            }
        }
    }

    /// While read-only, a new stroke is refused at once with `store_unavailable`.
    async fn assert_read_only(&mut self) {
        self.client
            .send(json!({
                "type": "stroke_begin", "stroke": 999_999, "tool": "pen", "color": "#000000",
                "width": 2.0, "points": [1.0, 1.0, 0.5],
            }))
            .await;
        loop {
            match self.client.recv().await {
                ServerMsg::Error {
                    code, stroke, seq, ..
                } => {
                    assert_eq!(code, ErrorCode::StoreUnavailable);
                    assert_eq!((stroke, seq), (None, None), "refused before it was an op");
                    return;
                }
                ServerMsg::Commit { author, .. } if author == self.client.id => {
                    panic!("a commit while the store is failing")
                }
                _ => {}
            }
        }
    }
}

fn color(i: u32) -> String {
    format!(
        "#{:02x}{:02x}{:02x}",
        (i * 41) % 256,
        (i * 97) % 256,
        (i * 13) % 256
    )
}

/// `GET /readyz`: its status code and `reason`.
async fn readiness(server: &Server) -> (u16, Option<String>) {
    let res = common::http(server.addr, "GET", "/readyz", None, &[]).await;
    let reason = res.json()["reason"].as_str().map(str::to_owned);
    (res.status, reason)
}

/// Creates a room; returns its id and edit key.
async fn create_room(server: &TestServer) -> (String, String) {
    let room = server
        .create_room(json!({"width": WIDTH, "height": HEIGHT}))
        .await;
    (
        room["id"].as_str().expect("id").to_owned(),
        room["edit_key"].as_str().expect("key").to_owned(),
    )
}

/// Restarts on `data` and checks the room's canvas is exactly the acknowledged strokes, in seq
/// order, and its seq the last acknowledged one. With `ambiguous`, a write whose sync failed may
/// have reached the disk after all: the taken-back strokes after the last acknowledged one may
/// be there too (never an acknowledged one missing).
async fn assert_restored(data: &Path, room: &str, ann: &Drawer, ambiguous: bool) {
    let server = Server::start(data, &[]);
    let http = server.http();
    let info = common::http(server.addr, "GET", &format!("/api/rooms/{room}"), None, &[])
        .await
        .json();
    let last = ann.acked.keys().next_back().copied().unwrap_or(0);
    let stored = info["seq"].as_u64().expect("seq");
    if ambiguous {
        assert!(stored >= last, "stored seq {stored} < acknowledged {last}");
    } else {
        assert_eq!(stored, last, "stored seq");
    }
    let mut canvas = Canvas::new(WIDTH, HEIGHT).expect("size");
    for stroke in ann.acked.values() {
        canvas.apply(&mut Op::Stroke(stroke.clone()));
    }
    for seq in last + 1..=stored {
        let stroke = ann
            .refused
            .get(&seq)
            .expect("only taken-back ops past the last ack");
        canvas.apply(&mut Op::Stroke(stroke.clone()));
    }
    let acked = &ann.acked;
    let got = common::canvas_png(&http, room).await;
    let what = format!(
        "the canvas after a restart against {} acked ops",
        acked.len()
    );
    common::assert_same_pixels(&got, &common::on_white(&canvas), &what);
    server.kill();
}

/// The database may not grow past a limit (SQLite's `max_page_count`, which fails writes exactly
/// like a full disk). Drawing until it is full takes back the op that did not fit; the room is
/// read-only; deleting another room frees space and the room recovers by itself; filling it up
/// again and killing the server loses no acknowledged op.
#[tokio::test]
async fn disk_full_takes_back_unstored_ops_and_recovers() {
    let data = TempDir::new();
    let server = Server::start(&data.0, &["--max-store-bytes", "450000"]);
    let http = server.http();
    let (other, other_key) = create_room(&http).await;
    let (room, key) = create_room(&http).await;

    // Another room takes some of the space.
    let mut filler = Drawer::join(&http, &other, &other_key, 1000).await;
    for _ in 0..6 {
        assert!(matches!(filler.draw().await, Outcome::Committed(_)));
    }

    let mut ann = Drawer::join(&http, &room, &key, 1000).await;
    assert!(
        ann.draw_until_refused(200).await,
        "the database never filled up"
    );
    let before = ann.acked.len();
    assert!(before >= 2, "some strokes fit: {before}");
    ann.await_editing(false).await;
    ann.assert_read_only().await;
    assert_eq!(
        readiness(&server).await,
        (503, Some("store_unavailable".into())),
        "not ready while the store fails"
    );

    // Space comes back: the room resumes by itself, at the taken-back seq.
    let res = common::http(
        server.addr,
        "DELETE",
        &format!("/api/rooms/{other}"),
        None,
        &[("Authorization", &format!("Bearer {other_key}"))],
    )
    .await;
    assert_eq!(res.status, 204, "delete: {}", res.text());
    ann.await_editing(true).await;
    assert_eq!(readiness(&server).await.0, 200, "ready again");
    let next = ann.acked.keys().next_back().copied().unwrap_or(0) + 1;
    assert_eq!(ann.draw().await, Outcome::Committed(next));

    // Full again, and killed while it is.
    assert!(ann.draw_until_refused(200).await, "never filled up again");
    ann.await_editing(false).await;
    server.kill();
    assert_restored(&data.0, &room, &ann, false).await;
}

/// The database file removed under the running server (then its whole data dir): the server
/// writes it anew from the open database and goes on; nothing is lost. Replaced by another file:
/// nothing more is acknowledged (which file is right is the operator's call), the room is
/// read-only, and resumes once the original is back. Killed after all that, the restart has
/// every acknowledged op.
#[tokio::test]
async fn removed_or_replaced_database_file_loses_nothing() {
    let data = TempDir::new();
    let dir = data.0.join("data");
    let db = dir.join("inkroom.db");
    let server = Server::start(&dir, &[]);
    let http = server.http();
    let (room, key) = create_room(&http).await;
    let mut ann = Drawer::join(&http, &room, &key, 20).await;
    for _ in 0..3 {
        assert!(matches!(ann.draw().await, Outcome::Committed(_)));
    }

    // Removed: written anew, and drawing goes on.
    std::fs::remove_file(&db).expect("remove");
    assert!(matches!(ann.draw().await, Outcome::Committed(_)));
    assert!(db.exists(), "the file is back");
    std::fs::remove_dir_all(&dir).expect("remove the data dir");
    assert!(matches!(ann.draw().await, Outcome::Committed(_)));
    assert!(db.exists(), "the data dir and file are back");

    // Replaced by a copy: refused until the original is back.
    let kept = data.0.join("kept.db");
    std::fs::hard_link(&db, &kept).expect("keep the original");
    let copy = data.0.join("copy.db");
    std::fs::copy(&db, &copy).expect("copy");
    std::fs::rename(&copy, &db).expect("replace");
    assert_eq!(ann.draw().await, Outcome::Refused);
    ann.await_editing(false).await;
    ann.assert_read_only().await;
    assert_eq!(readiness(&server).await.0, 503);
    std::fs::rename(&kept, &db).expect("put the original back");
    ann.await_editing(true).await;
    assert_eq!(readiness(&server).await.0, 200);
    for _ in 0..2 {
        assert!(matches!(ann.draw().await, Outcome::Committed(_)));
    }

    // Removed again right before a SIGKILL.
    std::fs::remove_file(&db).expect("remove");
    assert!(matches!(ann.draw().await, Outcome::Committed(_)));
    server.kill();
    assert_restored(&dir, &room, &ann, false).await;
}

/// The filesystem under the database turned read-only (writes to files fail with EROFS, as
/// after a remount on errors; injected by the shim) and the files' permissions dropped: nothing
/// is acknowledged meanwhile, the room is read-only and resumes once writes work; killed while
/// it lasts, the restart has every acknowledged op.
#[tokio::test]
async fn read_only_database_stops_commits_until_writable() {
    use std::os::unix::fs::PermissionsExt;
    let data = TempDir::new();
    let tools = TempDir::new();
    let shim = build_shim(&tools.0);
    let flag = tools.0.join("read-only");
    let server = Server::start_with_env(
        &data.0,
        &[],
        &[("LD_PRELOAD", &shim), ("FAULT_ROFS_FLAG", &flag)],
    );
    let http = server.http();
    let (room, key) = create_room(&http).await;
    let mut ann = Drawer::join(&http, &room, &key, 20).await;
    for _ in 0..3 {
        assert!(matches!(ann.draw().await, Outcome::Committed(_)));
    }
    let files: Vec<_> = std::fs::read_dir(&data.0)
        .expect("data dir")
        .map(|e| e.expect("entry").path())
        .collect();
    let set = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };
    let read_only = |on: bool| {
        for f in &files {
            set(f, if on { 0o444 } else { 0o644 });
        }
        set(&data.0, if on { 0o555 } else { 0o755 });
        if on {
            std::fs::write(&flag, b"").expect("flag");
        } else {
            std::fs::remove_file(&flag).expect("flag");
        }
    };

    read_only(true);
    assert_eq!(ann.draw().await, Outcome::Refused);
    ann.await_editing(false).await;
    ann.assert_read_only().await;
    assert_eq!(readiness(&server).await.0, 503);
    read_only(false);
    ann.await_editing(true).await;
    for _ in 0..2 {
        assert!(matches!(ann.draw().await, Outcome::Committed(_)));
    }

    read_only(true);
    assert_eq!(ann.draw().await, Outcome::Refused);
    server.kill();
    read_only(false);
    assert_restored(&data.0, &room, &ann, false).await;
}

/// fsync failing (as on a dying disk), through the shim making `fsync` and `fdatasync` return
/// EIO while a flag file exists: nothing is acknowledged while syncs fail, the
/// room is read-only and resumes by itself once they work; killed while they fail, the restart
/// has every acknowledged op (and at most the taken-back ones whose write reached the disk
/// before its sync failed).
#[tokio::test]
async fn failing_fsync_stops_commits_until_syncs_work() {
    let data = TempDir::new();
    let tools = TempDir::new();
    let shim = build_shim(&tools.0);
    let flag = tools.0.join("fail-syncs");
    let server = Server::start_with_env(
        &data.0,
        &[],
        &[("LD_PRELOAD", &shim), ("FAULT_FSYNC_FLAG", &flag)],
    );
    let http = server.http();
    let (room, key) = create_room(&http).await;
    let mut ann = Drawer::join(&http, &room, &key, 20).await;
    for _ in 0..3 {
        assert!(matches!(ann.draw().await, Outcome::Committed(_)));
    }

    std::fs::write(&flag, b"").expect("syncs fail from now");
    assert_eq!(ann.draw().await, Outcome::Refused);
    ann.await_editing(false).await;
    ann.assert_read_only().await;

    std::fs::remove_file(&flag).expect("syncs work again");
    ann.await_editing(true).await;
    for _ in 0..2 {
        assert!(matches!(ann.draw().await, Outcome::Committed(_)));
    }

    std::fs::write(&flag, b"").expect("syncs fail again");
    assert_eq!(ann.draw().await, Outcome::Refused);
    server.kill();
    assert_restored(&data.0, &room, &ann, true).await;
}
