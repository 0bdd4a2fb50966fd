//! `inkroom backup` copies the store while the server runs; `inkroom restore` puts a backup in
//! place with the server stopped, and a server on the restored store shows the same pixels.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{assert_same_pixels, canvas_png, Client, TempDir, TestServer};
use inkroom::config::Config;
use serde_json::json;

fn inkroom(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_inkroom"))
        .args(args)
        .output()
        .expect("run inkroom")
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "inkroom failed: {stderr}");
    stderr
}

fn failed(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "inkroom should have refused: {stderr}"
    );
    stderr
}

fn config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_owned(),
        // Small windows, so the store holds a history base (tiles) as well as ops.
        history_window: 4,
        checkpoint_every: 2,
        ..Config::default()
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

/// A backup taken while the server runs, restored into a fresh data dir, serves the canvas
/// as it was at the backup, pixel for pixel; restore refuses a store in use and files that
/// are not inkroom stores, and keeps the store it replaces.
#[tokio::test]
async fn a_backup_restores_the_same_canvas() {
    let live = TempDir::new();
    let spare = TempDir::new();
    let backup = spare.0.join("inkroom-backup.db");
    let server = TestServer::with_config(config(&live.0));
    let room = server
        .create_room(json!({"name": "Backed up", "width": 700, "height": 500}))
        .await;
    let id = room["id"].as_str().expect("id").to_owned();
    let key = room["edit_key"].as_str().expect("key").to_owned();
    let (mut ann, _) = Client::join(&server, &id, "ann", Some(&key)).await;
    for i in 0..10u32 {
        let f = i as f32;
        ann.draw(
            i,
            if i % 2 == 0 { "#1971c2" } else { "#e0313199" },
            5.0 + f,
            &[
                [20.0 + f * 60.0, 30.0, 0.4],
                [350.0, 460.0 - f * 30.0, 0.9],
                [680.0 - f * 50.0, 250.0, 0.6],
            ],
        )
        .await;
        ann.await_commit(i).await;
    }
    let before = canvas_png(&server, &id).await;

    let out = inkroom(&[
        "backup",
        "--data-dir",
        path(&live.0),
        "--out",
        path(&backup),
    ]);
    let said = ok(&out);
    assert!(said.contains("backed up 1 rooms"), "{said}");
    // Drawing goes on after the backup; the backup keeps the moment it was taken.
    ann.draw(99, "#000000", 40.0, &[[0.0, 0.0, 1.0], [700.0, 500.0, 1.0]])
        .await;
    ann.await_commit(99).await;

    let again = inkroom(&[
        "backup",
        "--data-dir",
        path(&live.0),
        "--out",
        path(&backup),
    ]);
    assert!(failed(&again).contains("already exists"));
    let refused = inkroom(&[
        "restore",
        "--data-dir",
        path(&live.0),
        "--from",
        path(&backup),
    ]);
    assert!(failed(&refused).contains("in use"), "refused while running");
    let not_a_store = spare.0.join("notes.txt");
    std::fs::write(&not_a_store, "not a database").expect("write");
    let fresh = TempDir::new();
    let refused = inkroom(&[
        "restore",
        "--data-dir",
        path(&fresh.0),
        "--from",
        path(&not_a_store),
    ]);
    assert!(failed(&refused).contains("not a usable inkroom store"));
    drop(ann);
    drop(server);

    let out = inkroom(&[
        "restore",
        "--data-dir",
        path(&fresh.0),
        "--from",
        path(&backup),
    ]);
    assert!(ok(&out).contains("restored 1 rooms"));
    let server = TestServer::with_config(config(&fresh.0));
    let after = canvas_png(&server, &id).await;
    assert_same_pixels(&after, &before, "restored into a fresh data dir");
    drop(server);

    // Over the old store (stopped now): it is kept aside, whole.
    let out = inkroom(&[
        "restore",
        "--data-dir",
        path(&live.0),
        "--from",
        path(&backup),
    ]);
    ok(&out);
    let aside: Vec<_> = std::fs::read_dir(&live.0)
        .expect("list data dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("inkroom.db.before-restore-") && !n.ends_with("-wal"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let kept = inkroom::store::backup::verify(&live.0.join(&aside[0])).expect("the old store");
    assert_eq!(kept.rooms, 1);
    let server = TestServer::with_config(config(&live.0));
    let after = canvas_png(&server, &id).await;
    assert_same_pixels(&after, &before, "restored over the old store");
}
