//! Moderation through real sockets: the owner key and role, the owner's lock (told to everyone
//! with `editing`, drawing refused with `locked`, kept across a restart), kicking (4003),
//! replacing the edit key (old-key editors become viewers, the old key gets `bad_key`), reverting
//! a member's ops (and undoing the revert), and `forbidden` for everyone else.

mod common;

use std::sync::Arc;

use common::{
    assert_same_pixels, canvas_png, decode_tile, http, on_white, Client, TempDir, TestServer,
};
use inkroom::canvas::Canvas;
use inkroom::config::Config;
use inkroom::protocol::{close, ErrorCode, OpKind, Role, ServerMsg};
use serde_json::{json, Value};

/// A new room: (id, edit key, owner key), checking the creation response's links.
async fn new_room(server: &TestServer) -> (String, String, String) {
    let room = server.create_room(json!({"name": "Moderated"})).await;
    let id = room["id"].as_str().expect("id").to_owned();
    let edit = room["edit_key"].as_str().expect("edit key").to_owned();
    let owner = room["owner_key"].as_str().expect("owner key").to_owned();
    assert_eq!(owner.len(), 32);
    assert_ne!(owner, edit);
    assert_eq!(room["owner_url"], format!("/r/{id}#owner={owner}"));
    (id, edit, owner)
}

fn role_of(welcome: &ServerMsg<'_>) -> Role {
    match welcome {
        ServerMsg::Welcome { role, .. } => *role,
        other => panic!("expected welcome, got {other:?}"),
    }
}

async fn post_edit_key(server: &TestServer, id: &str, auth: Option<&str>) -> common::Response {
    let header = auth.map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = header
        .as_deref()
        .map(|h| vec![("Authorization", h)])
        .unwrap_or_default();
    http(
        server.addr,
        "POST",
        &format!("/api/rooms/{id}/edit_key"),
        None,
        &headers,
    )
    .await
}

/// The owner key makes the owner (others see the role); it never shows in the room's public
/// facts.
#[tokio::test]
async fn owner_key_gives_the_owner_role_and_stays_secret() {
    let server = TestServer::start();
    let (id, edit, owner) = new_room(&server).await;
    let (_own, welcome) = Client::join(&server, &id, "olga", Some(&owner)).await;
    assert_eq!(role_of(&welcome), Role::Owner);
    let (_ed, welcome) = Client::join(&server, &id, "ed", Some(&edit)).await;
    assert_eq!(role_of(&welcome), Role::Editor);
    let ServerMsg::Welcome { members, .. } = welcome else {
        unreachable!("checked above")
    };
    assert!(members
        .iter()
        .any(|m| m.name == "olga" && m.role == Role::Owner));
    let info = http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[]).await;
    assert_eq!(info.status, 200);
    assert!(!info.text().contains(&owner), "the owner key leaked");
}

/// The owner locks: everyone is told with `editing` (`locked`), editors' strokes are refused
/// with `locked` and change nothing, the lock holds across a restart, and unlocking lets
/// editors draw again.
#[tokio::test]
async fn owner_lock_is_told_to_everyone_and_refuses_drawing() {
    let data = TempDir::new();
    let config = Config {
        data_dir: data.0.clone(),
        ..Config::default()
    };
    let server = TestServer::with_config(config.clone());
    let (id, edit, owner) = new_room(&server).await;
    let (mut own, _) = Client::join(&server, &id, "olga", Some(&owner)).await;
    let (mut ed, _) = Client::join(&server, &id, "ed", Some(&edit)).await;
    let (mut viewer, _) = Client::join(&server, &id, "vic", None).await;

    own.send(json!({"type": "lock", "locked": true})).await;
    for c in [&mut own, &mut ed, &mut viewer] {
        assert_eq!(c.await_editing().await, (false, Some(ErrorCode::Locked)));
    }
    ed.draw(1, "#e03131", 8.0, &[[10.0, 10.0, 0.5], [200.0, 150.0, 0.5]])
        .await;
    assert_eq!(ed.await_error().await, ErrorCode::Locked);
    let info = http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[]).await;
    assert_eq!(info.json()["seq"], 0, "nothing was committed");
    drop((own, ed, viewer));
    drop(server);

    // The lock is stored: a joiner after a restart is told at once.
    let server = TestServer::with_config(config);
    let (mut ed, _) = Client::join(&server, &id, "ed", Some(&edit)).await;
    let (mut own, _) = Client::join(&server, &id, "olga", Some(&owner)).await;
    for c in [&mut ed, &mut own] {
        assert_eq!(c.await_editing().await, (false, Some(ErrorCode::Locked)));
    }
    own.send(json!({"type": "lock", "locked": false})).await;
    assert_eq!(ed.await_editing().await, (true, None));
    ed.draw(2, "#1971c2", 8.0, &[[10.0, 10.0, 0.5], [200.0, 150.0, 0.5]])
        .await;
    assert_eq!(ed.await_commit(2).await, 1);
}

/// The owner removes a member: its socket closes with 4003; the others see it leave.
/// Removing someone who is not here is a `bad_message`.
#[tokio::test]
async fn owner_kick_closes_with_4003() {
    let server = TestServer::start();
    let (id, edit, owner) = new_room(&server).await;
    let (mut own, _) = Client::join(&server, &id, "olga", Some(&owner)).await;
    let (mut ed, _) = Client::join(&server, &id, "ed", Some(&edit)).await;
    let (mut viewer, _) = Client::join(&server, &id, "vic", None).await;
    let target = ed.id;

    own.send(json!({"type": "kick", "member": target})).await;
    assert_eq!(ed.expect_close().await, Some(close::KICKED));
    loop {
        if let ServerMsg::MemberLeft { id } = viewer.recv().await {
            assert_eq!(id, target);
            break;
        }
    }
    own.send(json!({"type": "kick", "member": target})).await;
    assert_eq!(own.await_error().await, ErrorCode::BadMessage);
}

/// Editors and viewers that send `lock`, `kick` or `revert` get `forbidden` and change nothing; so does
/// `POST .../edit_key` with the edit key, or without any key (401).
#[tokio::test]
async fn non_owners_are_forbidden() {
    let server = TestServer::start();
    let (id, edit, _owner) = new_room(&server).await;
    let (mut ed, _) = Client::join(&server, &id, "ed", Some(&edit)).await;
    let (mut viewer, _) = Client::join(&server, &id, "vic", None).await;
    let target = viewer.id;
    for c in [&mut ed, &mut viewer] {
        c.send(json!({"type": "lock", "locked": true})).await;
        assert_eq!(c.await_error().await, ErrorCode::Forbidden);
        c.send(json!({"type": "kick", "member": target})).await;
        assert_eq!(c.await_error().await, ErrorCode::Forbidden);
        c.send(json!({"type": "revert", "member": target})).await;
        assert_eq!(c.await_error().await, ErrorCode::Forbidden);
    }
    // Nothing changed: the editor still draws, the viewer is still here.
    ed.draw(1, "#e03131", 8.0, &[[10.0, 10.0, 0.5], [200.0, 150.0, 0.5]])
        .await;
    assert_eq!(ed.await_commit(1).await, 1);
    viewer.send(json!({"type": "list_members"})).await;
    loop {
        if let ServerMsg::MemberList { members, .. } = viewer.recv().await {
            assert!(members.iter().any(|m| m.id == target));
            break;
        }
    }

    let res = post_edit_key(&server, &id, Some(&edit)).await;
    assert_eq!(res.status, 403, "{}", res.text());
    assert_eq!(res.json()["error"]["code"], "forbidden");
    let res = post_edit_key(&server, &id, None).await;
    assert_eq!(res.status, 401);
    let (_again, welcome) = Client::join(&server, &id, "ed2", Some(&edit)).await;
    assert_eq!(role_of(&welcome), Role::Editor, "the edit key still works");
}

/// Replacing the edit key: `201 {edit_key, edit_url}`; editors who joined with the old key are
/// told they are viewers now and their drawing is refused; the owner stays; the old key gets
/// `bad_key` (4001), the new one makes editors.
#[tokio::test]
async fn edit_key_rotation_demotes_old_editors() {
    let server = TestServer::start();
    let (id, edit, owner) = new_room(&server).await;
    let (mut own, _) = Client::join(&server, &id, "olga", Some(&owner)).await;
    let (mut ed, _) = Client::join(&server, &id, "ed", Some(&edit)).await;
    let ed_id = ed.id;

    let res = post_edit_key(&server, &id, Some(&owner)).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let body: Value = res.json();
    let new_key = body["edit_key"].as_str().expect("edit_key").to_owned();
    assert_ne!(new_key, edit);
    assert_eq!(body["edit_url"], format!("/r/{id}#key={new_key}"));

    for c in [&mut ed, &mut own] {
        loop {
            if let ServerMsg::MemberUpdated { member } = c.recv().await {
                assert_eq!((member.id, member.role), (ed_id, Role::Viewer));
                break;
            }
        }
    }
    ed.draw(1, "#e03131", 8.0, &[[10.0, 10.0, 0.5], [200.0, 150.0, 0.5]])
        .await;
    assert_eq!(ed.await_error().await, ErrorCode::ReadOnly);
    own.draw(2, "#1971c2", 8.0, &[[10.0, 10.0, 0.5], [200.0, 150.0, 0.5]])
        .await;
    assert_eq!(own.await_commit(2).await, 1, "the owner still draws");

    let mut old = Client::connect(&server, &id).await;
    old.send(json!({"type": "hello", "name": "late", "key": edit}))
        .await;
    assert_eq!(old.await_error().await, ErrorCode::BadKey);
    assert_eq!(old.expect_close().await, Some(close::BAD_KEY));
    let (_new, welcome) = Client::join(&server, &id, "new", Some(&new_key)).await;
    assert_eq!(role_of(&welcome), Role::Editor);
}

/// Reads until a commit of `op`; returns (seq, target).
async fn await_op(c: &mut Client, op: OpKind) -> (u64, Option<u64>) {
    loop {
        match c.recv().await {
            ServerMsg::Commit {
                seq, op: o, target, ..
            } if o == op => return (seq, target),
            ServerMsg::Error { code, message, .. } => panic!("error {code:?}: {message}"),
            _ => {}
        }
    }
}

/// A golden of `tests/images/revert/` (made by `tests/golden.rs`).
fn golden(case: &str) -> image::RgbaImage {
    let path = format!(
        "{}/tests/images/revert/{case}.png",
        env!("CARGO_MANIFEST_DIR")
    );
    image::open(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .to_rgba8()
}

/// The strokes of `revert_strokes` in `tests/golden.rs`, as (by Ed, color, width, points).
fn revert_strokes() -> Vec<(bool, &'static str, f32, Vec<[f32; 3]>)> {
    let wave = |y0: f32| -> Vec<[f32; 3]> {
        (0..=40)
            .map(|i| {
                let t = i as f32 / 40.0;
                [20.0 + 280.0 * t, y0 + 30.0 * (t * 9.0).sin(), 0.5]
            })
            .collect()
    };
    let line = |x0: f32, y0: f32, x1: f32, y1: f32| -> Vec<[f32; 3]> {
        (0..=20)
            .map(|i| {
                let t = i as f32 / 20.0;
                [x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, 0.5]
            })
            .collect()
    };
    vec![
        (false, "#e03131", 10.0, wave(70.0)),
        (true, "#1971c2", 14.0, line(40.0, 20.0, 280.0, 220.0)),
        (false, "#2f9e44", 10.0, wave(170.0)),
        (true, "#f08c00", 14.0, line(280.0, 20.0, 40.0, 220.0)),
    ]
}

/// What a member that joins now sees: its tiles over white.
async fn late_joiner_sees(server: &TestServer, id: &str) -> image::RgbaImage {
    let (late, _) = Client::join(server, id, "late", None).await;
    let mut canvas = Canvas::new(320, 240).expect("canvas size");
    for frame in &late.binaries {
        let (tile, _, pixmap) = decode_tile(&canvas, frame);
        canvas.set_tile(tile, Some(Arc::new(pixmap)));
    }
    on_white(&canvas)
}

/// The owner reverts Ed's strokes, drawn among Ann's: Ann's stay, Ed's go, as the golden shows
/// live (PNG export), for a late joiner and after a restart; Ed can no longer undo them; the
/// owner's undo (after the restart, same `user`) brings them all back as one op. Reverting
/// nothing, an absent member or oneself is refused.
#[tokio::test]
async fn owner_reverts_a_members_strokes_and_undoes_it() {
    let data = TempDir::new();
    let config = Config {
        data_dir: data.0.clone(),
        ..Config::default()
    };
    let server = TestServer::with_config(config.clone());
    let room = server
        .create_room(json!({"name": "Reverted", "width": 320, "height": 240}))
        .await;
    let id = room["id"].as_str().expect("id").to_owned();
    let edit = room["edit_key"].as_str().expect("edit key").to_owned();
    let owner = room["owner_key"].as_str().expect("owner key").to_owned();
    let olga_hello = json!({"type": "hello", "name": "olga", "key": owner, "user": "olga-1"});
    let (mut own, _) = Client::join_with(&server, &id, olga_hello.clone()).await;
    let (mut ann, _) = Client::join(&server, &id, "ann", Some(&edit)).await;
    let (mut ed, _) = Client::join(&server, &id, "ed", Some(&edit)).await;
    for (i, (by_ed, color, width, points)) in revert_strokes().into_iter().enumerate() {
        let c = if by_ed { &mut ed } else { &mut ann };
        c.draw(i as u32, color, width, &points).await;
        c.await_commit(i as u32).await;
    }
    assert_same_pixels(
        &canvas_png(&server, &id).await,
        &golden("undo_revert"),
        "all drawn",
    );

    own.send(json!({"type": "revert", "member": ed.id})).await;
    let (seq, target) = await_op(&mut own, OpKind::Revert).await;
    assert_eq!((seq, target), (5, None));
    assert_eq!(await_op(&mut ann, OpKind::Revert).await.0, 5);
    // Ed is told his ops left his undo (after the states of his own commits, still queued).
    loop {
        if let ServerMsg::History { can_undo, can_redo } = ed.recv().await {
            if !can_undo {
                assert!(!can_redo, "Ed's ops left his redo too");
                break;
            }
        }
    }
    assert_same_pixels(
        &canvas_png(&server, &id).await,
        &golden("revert"),
        "reverted live",
    );
    assert_same_pixels(
        &late_joiner_sees(&server, &id).await,
        &golden("revert"),
        "late joiner",
    );
    ed.send(json!({"type": "undo"})).await;
    assert_eq!(ed.await_error().await, ErrorCode::NothingToUndo);
    own.send(json!({"type": "revert", "member": ed.id})).await;
    assert_eq!(own.await_error().await, ErrorCode::NothingToUndo);
    own.send(json!({"type": "revert", "member": own.id})).await;
    assert_eq!(own.await_error().await, ErrorCode::BadMessage);
    own.send(json!({"type": "revert", "member": 999})).await;
    assert_eq!(own.await_error().await, ErrorCode::BadMessage);
    drop((own, ann, ed));
    drop(server);

    // After a restart the revert replays from the store, and the owner can still undo it.
    let server = TestServer::with_config(config);
    assert_same_pixels(
        &canvas_png(&server, &id).await,
        &golden("revert"),
        "after a restart",
    );
    let (mut own, _) = Client::join_with(&server, &id, olga_hello).await;
    own.send(json!({"type": "undo"})).await;
    assert_eq!(await_op(&mut own, OpKind::Undo).await, (6, Some(5)));
    assert_same_pixels(
        &canvas_png(&server, &id).await,
        &golden("undo_revert"),
        "undone",
    );
    assert_same_pixels(
        &late_joiner_sees(&server, &id).await,
        &golden("undo_revert"),
        "late joiner after the undo",
    );
    own.send(json!({"type": "redo"})).await;
    assert_eq!(await_op(&mut own, OpKind::Redo).await, (7, Some(5)));
    assert_same_pixels(&canvas_png(&server, &id).await, &golden("revert"), "redone");
}
