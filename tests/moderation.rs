//! Moderation through real sockets: the owner key and role, the owner's lock (told to everyone
//! with `editing`, drawing refused with `locked`, kept across a restart), kicking (4003),
//! replacing the edit key (old-key editors become viewers, the old key gets `bad_key`), and
//! `forbidden` for everyone else.

mod common;

use common::{http, Client, TempDir, TestServer};
use inkroom::config::Config;
use inkroom::protocol::{close, ErrorCode, Role, ServerMsg};
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

/// Reads until an `editing` message; returns (allowed, reason).
async fn await_editing(c: &mut Client) -> (bool, Option<ErrorCode>) {
    loop {
        if let ServerMsg::Editing {
            allowed, reason, ..
        } = c.recv().await
        {
            return (allowed, reason);
        }
    }
}

/// Reads until an `error` message; returns its code.
async fn await_error(c: &mut Client) -> ErrorCode {
    loop {
        if let ServerMsg::Error { code, .. } = c.recv().await {
            return code;
        }
    }
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
        assert_eq!(await_editing(c).await, (false, Some(ErrorCode::Locked)));
    }
    ed.draw(1, "#e03131", 8.0, &[[10.0, 10.0, 0.5], [200.0, 150.0, 0.5]])
        .await;
    assert_eq!(await_error(&mut ed).await, ErrorCode::Locked);
    let info = http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[]).await;
    assert_eq!(info.json()["seq"], 0, "nothing was committed");
    drop((own, ed, viewer));
    drop(server);

    // The lock is stored: a joiner after a restart is told at once.
    let server = TestServer::with_config(config);
    let (mut ed, _) = Client::join(&server, &id, "ed", Some(&edit)).await;
    let (mut own, _) = Client::join(&server, &id, "olga", Some(&owner)).await;
    for c in [&mut ed, &mut own] {
        assert_eq!(await_editing(c).await, (false, Some(ErrorCode::Locked)));
    }
    own.send(json!({"type": "lock", "locked": false})).await;
    assert_eq!(await_editing(&mut ed).await, (true, None));
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
    assert_eq!(await_error(&mut own).await, ErrorCode::BadMessage);
}

/// Editors and viewers that send `lock` or `kick` get `forbidden` and change nothing; so does
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
        assert_eq!(await_error(c).await, ErrorCode::Forbidden);
        c.send(json!({"type": "kick", "member": target})).await;
        assert_eq!(await_error(c).await, ErrorCode::Forbidden);
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
    assert_eq!(await_error(&mut ed).await, ErrorCode::ReadOnly);
    own.draw(2, "#1971c2", 8.0, &[[10.0, 10.0, 0.5], [200.0, 150.0, 0.5]])
        .await;
    assert_eq!(own.await_commit(2).await, 1, "the owner still draws");

    let mut old = Client::connect(&server, &id).await;
    old.send(json!({"type": "hello", "name": "late", "key": edit}))
        .await;
    assert_eq!(await_error(&mut old).await, ErrorCode::BadKey);
    assert_eq!(old.expect_close().await, Some(close::BAD_KEY));
    let (_new, welcome) = Client::join(&server, &id, "new", Some(&new_key)).await;
    assert_eq!(role_of(&welcome), Role::Editor);
}
