//! Rooms survive restarts: the same canvas pixel for pixel, and everyone's undo history.

mod common;

use common::{canvas_png, http, Client, TempDir, TestServer};
use inkroom::config::Config;
use inkroom::protocol::{OpKind, ServerMsg};
use serde_json::json;

fn config(dir: &TempDir) -> Config {
    Config {
        data_dir: dir.0.clone(),
        // Small windows so the test crosses many checkpoints and history bases.
        history_window: 12,
        checkpoint_every: 4,
        ..Config::default()
    }
}

async fn join_as(server: &TestServer, room: &str, key: &str, user: &str) -> Client {
    let mut c = Client::connect(server, room).await;
    c.send(json!({"type": "hello", "name": user, "key": key, "user": user}))
        .await;
    loop {
        match c.recv().await {
            ServerMsg::Welcome { you, .. } => c.id = you,
            ServerMsg::Synced { .. } => return c,
            _ => {}
        }
    }
}

async fn await_op(c: &mut Client, op: OpKind) -> u64 {
    loop {
        if let ServerMsg::Commit { seq, op: o, .. } = c.recv().await {
            if o == op {
                return seq;
            }
        }
    }
}

/// After a restart on the same data dir, the room is found, its canvas equals the canvas before
/// pixel for pixel (strokes, fills, undos and clears over many history bases), and each person's
/// undo history still works.
#[tokio::test]
async fn rooms_survive_a_restart() {
    let dir = TempDir::new();
    let (id, key, before) = {
        let server = TestServer::with_config(config(&dir));
        let room = server
            .create_room(json!({"name": "Kept", "width": 600, "height": 400}))
            .await;
        let id = room["id"].as_str().expect("id").to_owned();
        let key = room["edit_key"].as_str().expect("key").to_owned();
        let mut ann = join_as(&server, &id, &key, "ann").await;
        let mut bob = join_as(&server, &id, &key, "bob").await;
        for i in 0..30u32 {
            let f = i as f32;
            let (c, color) = if i % 3 == 0 {
                (&mut bob, "#1971c2")
            } else {
                (&mut ann, "#e0313199")
            };
            c.draw(
                i,
                color,
                6.0 + f % 5.0,
                &[
                    [10.0 + f * 19.0, 20.0, 0.3],
                    [300.0, 380.0 - f * 9.0, 0.9],
                    [590.0 - f * 7.0, 200.0, 0.5],
                ],
            )
            .await;
            c.await_commit(i).await;
            if i == 10 {
                ann.send(
                    json!({"type": "fill", "x": 5, "y": 395, "color": "#ffd43b", "tolerance": 40}),
                )
                .await;
                await_op(&mut ann, OpKind::Fill).await;
            }
            if i == 20 {
                bob.send(json!({"type": "undo"})).await;
                await_op(&mut bob, OpKind::Undo).await;
            }
        }
        ann.send(json!({"type": "undo"})).await;
        await_op(&mut ann, OpKind::Undo).await;
        ann.send(json!({"type": "undo"})).await;
        await_op(&mut ann, OpKind::Undo).await;
        ann.send(json!({"type": "redo"})).await;
        await_op(&mut ann, OpKind::Redo).await;
        let before = canvas_png(&server, &id).await;
        (id, key, before)
    };

    let server = TestServer::with_config(config(&dir));
    let info = http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[])
        .await
        .json();
    assert_eq!(info["name"], "Kept");
    let after = canvas_png(&server, &id).await;
    common::assert_same_pixels(&before, &after, "the canvas after the restart");

    // Ann's history came back: she can redo the undo she left, then undo again.
    let mut ann = join_as(&server, &id, &key, "ann").await;
    ann.send(json!({"type": "redo"})).await;
    let seq = await_op(&mut ann, OpKind::Redo).await;
    assert!(seq > 30);
    let redone = canvas_png(&server, &id).await;
    assert_ne!(redone, after, "the redo changed the canvas");
    ann.send(json!({"type": "undo"})).await;
    await_op(&mut ann, OpKind::Undo).await;
    let undone = canvas_png(&server, &id).await;
    common::assert_same_pixels(&undone, &after, "undoing the redo");
}

/// `inkroom export` writes the stored board, with the server stopped, exactly as the server
/// exported it; a missing room is a clear error.
#[tokio::test]
async fn export_command_writes_the_stored_board() {
    let dir = TempDir::new();
    let (id, want) = {
        let server = TestServer::with_config(config(&dir));
        let room = server
            .create_room(json!({"width": 300, "height": 200, "background": "#fff3bf"}))
            .await;
        let id = room["id"].as_str().expect("id").to_owned();
        let key = room["edit_key"].as_str().expect("key").to_owned();
        let mut ann = join_as(&server, &id, &key, "ann").await;
        for i in 0..6u32 {
            let f = i as f32 * 40.0;
            ann.draw(
                i,
                "#7048e8",
                8.0,
                &[[10.0 + f, 20.0, 0.5], [40.0 + f, 180.0, 0.9]],
            )
            .await;
            ann.await_commit(i).await;
        }
        let png = canvas_png(&server, &id).await;
        (id, png)
    };
    let out = dir.0.join("board.png");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_inkroom"))
        .args(["export", "--room", &id, "--data-dir"])
        .arg(&dir.0)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run export");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let got = image::open(&out).expect("png").to_rgba8();
    assert_eq!(got.dimensions(), (300, 200));
    assert!(got == want, "the export equals the server's canvas.png");

    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_inkroom"))
        .args([
            "export",
            "--room",
            &uuid::Uuid::new_v4().to_string(),
            "--data-dir",
        ])
        .arg(&dir.0)
        .args(["--out", "/dev/null"])
        .output()
        .expect("run export");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no room"));
}

/// A room nobody is in is unloaded from memory after the idle time and loads again, intact, on
/// its next visit.
#[tokio::test]
async fn idle_rooms_unload_and_come_back() {
    let dir = TempDir::new();
    let server = TestServer::with_config(Config {
        room_idle_unload: std::time::Duration::from_millis(200),
        ..config(&dir)
    });
    let room = server
        .create_room(json!({"width": 200, "height": 200}))
        .await;
    let id = room["id"].as_str().expect("id").to_owned();
    let key = room["edit_key"].as_str().expect("key").to_owned();
    let stats = || async {
        http(server.addr, "GET", "/api/stats", None, &[])
            .await
            .json()
    };
    {
        let mut ann = join_as(&server, &id, &key, "ann").await;
        ann.draw(1, "#000000", 6.0, &[[20.0, 20.0, 0.5], [180.0, 180.0, 0.5]])
            .await;
        ann.await_commit(1).await;
        assert_eq!(stats().await["rooms_loaded"], 1);
    }
    let before = canvas_png(&server, &id).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while stats().await["rooms_loaded"] != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the room was not unloaded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(stats().await["rooms_stored"], 1);
    assert_eq!(canvas_png(&server, &id).await, before, "reloaded intact");
    let mut ann = join_as(&server, &id, &key, "ann").await;
    ann.send(json!({"type": "undo"})).await;
    await_op(&mut ann, OpKind::Undo).await;
}

/// Deleting a room needs its edit key in the Authorization header; it disconnects the members
/// with 4004, and the room is gone, also after a restart.
#[tokio::test]
async fn delete_room_with_the_edit_key() {
    let dir = TempDir::new();
    let id = {
        let server = TestServer::with_config(config(&dir));
        let room = server.create_room(json!({})).await;
        let id = room["id"].as_str().expect("id").to_owned();
        let key = room["edit_key"].as_str().expect("key").to_owned();
        let mut vic = Client::connect(&server, &id).await;
        vic.send(json!({"type": "hello", "name": "Vic"})).await;
        let _ = vic.recv().await;
        let path = format!("/api/rooms/{id}");
        let res = http(server.addr, "DELETE", &path, None, &[]).await;
        assert_eq!(
            (res.status, res.json()["error"]["code"].clone()),
            (401, json!("bad_key"))
        );
        let wrong = http(
            server.addr,
            "DELETE",
            &path,
            None,
            &[("Authorization", "Bearer 0000")],
        )
        .await;
        assert_eq!(wrong.status, 403);
        let auth = format!("Bearer {key}");
        let res = http(
            server.addr,
            "DELETE",
            &path,
            None,
            &[("Authorization", &auth)],
        )
        .await;
        assert_eq!(res.status, 204, "{}", res.text());
        assert_eq!(vic.expect_close().await, Some(4004));
        assert_eq!(http(server.addr, "GET", &path, None, &[]).await.status, 404);
        let again = http(
            server.addr,
            "DELETE",
            &path,
            None,
            &[("Authorization", &auth)],
        )
        .await;
        assert_eq!(again.status, 404);
        id
    };
    let server = TestServer::with_config(config(&dir));
    let res = http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[]).await;
    assert_eq!(res.status, 404, "still gone after a restart");
    assert_eq!(
        http(server.addr, "GET", "/api/stats", None, &[])
            .await
            .json()["rooms_stored"],
        0
    );
}
