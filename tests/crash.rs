//! Crash safety with the real server binary: SIGKILL in the middle of a stream of strokes loses
//! no acknowledged op, and a broken data dir stops the server at start with a clear message.

mod common;

use std::process::Command;

use common::{Client, ServerProcess, TempDir};
use inkroom::canvas::{Canvas, Op, Stroke, Tool};
use inkroom::protocol::ServerMsg;
use serde_json::json;

/// The server binary on a free port; returns the process and its address.
fn spawn(data: &std::path::Path) -> (ServerProcess, std::net::SocketAddr) {
    let server = ServerProcess::start(data, &[]);
    let addr = server.addr;
    (server, addr)
}

fn stroke_points(i: u32) -> Vec<[f32; 3]> {
    let f = i as f32;
    vec![
        [(f * 37.0) % 500.0, (f * 53.0) % 300.0, 0.4],
        [(f * 37.0 + 80.0) % 500.0, (f * 53.0 + 40.0) % 300.0, 0.8],
    ]
}

fn color(i: u32) -> String {
    format!(
        "#{:02x}{:02x}{:02x}",
        (i * 41) % 256,
        (i * 97) % 256,
        (i * 13) % 256
    )
}

/// Every op the client saw committed before the kill is in the restored canvas (the export equals
/// a local rendering of exactly the stored ops), and the room keeps working.
#[tokio::test]
async fn sigkill_loses_no_acknowledged_op() {
    let data = TempDir::new();
    let (child, addr) = spawn(&data.0);
    let server = common::TestServer::attach(addr);
    let room = server
        .create_room(json!({"width": 500, "height": 300}))
        .await;
    let id = room["id"].as_str().expect("id").to_owned();
    let key = room["edit_key"].as_str().expect("key").to_owned();
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;

    // Stream strokes without waiting; kill the server once 40 commits came back.
    let mut acked = 0u64;
    let mut sent = 0u32;
    while acked < 40 {
        if sent < acked as u32 + 8 {
            ann.draw(sent, &color(sent), 5.0, &stroke_points(sent))
                .await;
            sent += 1;
            continue;
        }
        if let ServerMsg::Commit { seq, .. } = ann.recv().await {
            acked = seq;
        }
    }
    child.kill();

    let (child, addr) = spawn(&data.0);
    let server = common::TestServer::attach(addr);
    let info = common::http(addr, "GET", &format!("/api/rooms/{id}"), None, &[])
        .await
        .json();
    let stored = info["seq"].as_u64().expect("seq");
    assert!(
        stored >= acked,
        "stored seq {stored} < acknowledged {acked}"
    );
    assert!(stored <= u64::from(sent));

    // A single editor's strokes commit in the order sent: stroke i has seq i + 1.
    let mut canvas = Canvas::new(500, 300).expect("size");
    for i in 0..stored as u32 {
        let hex = color(i);
        let c = inkroom::protocol::parse_color(&hex).expect("color");
        canvas.apply(&mut Op::Stroke(Stroke {
            tool: Tool::Pen,
            color: c,
            width: 5.0,
            points: stroke_points(i).into_iter().flatten().collect(),
        }));
    }
    let want = common::on_white(&canvas);
    let got = common::canvas_png(&server, &id).await;
    let what = format!("the export against the {stored} stored ops");
    common::assert_same_pixels(&got, &want, &what);

    // The room keeps working.
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    ann.draw(1000, "#000000", 4.0, &[[10.0, 10.0, 0.5]]).await;
    assert_eq!(ann.await_commit(1000).await, stored + 1);
    child.kill();
}

/// A data dir that holds garbage instead of a database, or that is a file, stops the server at
/// start with a message that says what is wrong; nothing is overwritten.
#[test]
fn broken_data_dir_fails_clearly() {
    let data = TempDir::new();
    let db = data.0.join("inkroom.db");
    let garbage = b"this is not a database, it is a shopping list".repeat(100);
    std::fs::write(&db, &garbage).expect("write garbage");
    let out = Command::new(env!("CARGO_BIN_EXE_inkroom"))
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(&data.0)
        .output()
        .expect("run inkroom");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("inkroom.db"), "{stderr}");
    assert!(
        stderr.contains("not a usable inkroom store") || stderr.contains("cannot open"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&db).expect("still there"),
        garbage,
        "the file is untouched"
    );

    let file = data.0.join("a-file");
    std::fs::write(&file, b"x").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_inkroom"))
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(&file)
        .output()
        .expect("run inkroom");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("data dir"), "{stderr}");
}

/// SIGTERM closes every socket with 1001, writes everything, and exits cleanly; the ops are there
/// after a restart.
#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let data = TempDir::new();
    let (child, addr) = spawn(&data.0);
    let server = common::TestServer::attach(addr);
    let room = server
        .create_room(json!({"width": 200, "height": 200}))
        .await;
    let id = room["id"].as_str().expect("id").to_owned();
    let key = room["edit_key"].as_str().expect("key").to_owned();
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    for i in 0..5u32 {
        ann.draw(i, "#000000", 4.0, &stroke_points(i)).await;
    }
    ann.await_commit(4).await;

    let status = Command::new("kill")
        .args(["-TERM", &child.pid().to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(status.success());
    assert_eq!(ann.expect_close().await, Some(1001));
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join");
    assert!(exit.success(), "exit status {exit}");

    let (_child, addr) = spawn(&data.0);
    let info = common::http(addr, "GET", &format!("/api/rooms/{id}"), None, &[])
        .await
        .json();
    assert_eq!(info["seq"], 5);
}
