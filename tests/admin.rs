//! The admin API through real sockets: the token, listing rooms with their stats, lock and
//! unlock (also across a restart), kick, delete, retention and rooms expiring by it.

mod common;

use std::time::Duration;

use common::{http, Client, Response, TempDir, TestServer};
use inkroom::config::Config;
use inkroom::protocol::{close, ErrorCode, ServerMsg};
use serde_json::{json, Value};

const TOKEN: &str = "admin-test-token-0123456789";

/// Longest a test waits for the sweeper (it runs every second with these retentions).
const SWEEP_DEADLINE: Duration = Duration::from_secs(30);

fn with_token() -> Config {
    Config {
        admin_token: Some(TOKEN.into()),
        ..Config::default()
    }
}

/// An admin request with the right token.
async fn admin(server: &TestServer, method: &str, path: &str, body: Option<Value>) -> Response {
    let auth = format!("Bearer {TOKEN}");
    let body = body.map(|b| b.to_string());
    http(
        server.addr,
        method,
        path,
        body.as_deref(),
        &[("Authorization", &auth)],
    )
    .await
}

/// The admin view of one room; `None` once it is gone.
async fn entry(server: &TestServer, id: &str) -> Option<Value> {
    let res = admin(server, "GET", &format!("/api/admin/rooms/{id}"), None).await;
    match res.status {
        200 => Some(res.json()),
        404 => None,
        other => panic!("admin room: {other} {}", res.text()),
    }
}

fn error_code(res: &Response) -> String {
    res.json()["error"]["code"]
        .as_str()
        .expect("an error code")
        .to_owned()
}

/// Polls `check` until it holds, every 50 ms, failing after `deadline`.
async fn wait_for<F, Fut>(what: &str, deadline: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + deadline;
    while !check().await {
        assert!(tokio::time::Instant::now() < until, "{what}: not in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn new_room(server: &TestServer, name: &str) -> (String, String) {
    let room = server.create_room(json!({"name": name})).await;
    (
        room["id"].as_str().expect("id").to_owned(),
        room["edit_key"].as_str().expect("key").to_owned(),
    )
}

/// Without a configured token the admin API does not exist: 404 `not_found`, token or not.
#[tokio::test]
async fn admin_api_is_off_without_a_token() {
    let server = TestServer::start();
    for headers in [&[][..], &[("Authorization", "Bearer anything")][..]] {
        let res = http(server.addr, "GET", "/api/admin/rooms", None, headers).await;
        assert_eq!(res.status, 404, "{}", res.text());
        assert_eq!(error_code(&res), "not_found");
    }
    let res = admin(&server, "POST", "/api/admin/rooms/x/lock", None).await;
    assert_eq!(res.status, 404);
}

/// A missing, malformed or wrong token gets 401 `unauthorized`; the right one gets in.
#[tokio::test]
async fn wrong_or_missing_tokens_are_refused() {
    let server = TestServer::with_config(with_token());
    let (id, key) = new_room(&server, "Guarded").await;
    let wrong_token = format!("Bearer {TOKEN}x");
    let edit_key = format!("Bearer {key}");
    let refused: [&[(&str, &str)]; 5] = [
        &[],
        &[("Authorization", "Bearer ")],
        &[("Authorization", TOKEN)],
        &[("Authorization", &wrong_token)],
        // A room's edit key is not an admin token.
        &[("Authorization", &edit_key)],
    ];
    for headers in refused {
        for (method, path) in [
            ("GET", "/api/admin/rooms".to_owned()),
            ("POST", format!("/api/admin/rooms/{id}/lock")),
            ("DELETE", format!("/api/admin/rooms/{id}")),
            ("GET", "/api/admin/nothing-here".to_owned()),
        ] {
            let res = http(server.addr, method, &path, None, headers).await;
            assert_eq!(
                res.status,
                401,
                "{method} {path} {headers:?}: {}",
                res.text()
            );
            assert_eq!(error_code(&res), "unauthorized");
            assert_eq!(res.header("www-authenticate"), Some("Bearer"));
        }
    }
    assert!(entry(&server, &id).await.is_some(), "nothing was changed");
    let lower = format!("bearer {TOKEN}");
    let res = http(
        server.addr,
        "GET",
        "/api/admin/rooms",
        None,
        &[("Authorization", &lower)],
    )
    .await;
    assert_eq!(res.status, 200, "the scheme is case-insensitive");
    let res = admin(&server, "GET", "/api/admin/nothing-here", None).await;
    assert_eq!(res.status, 404);
    assert_eq!(error_code(&res), "not_found");
}

/// The list shows every room with its stats (live ones for loaded rooms), pages with
/// `after`/`limit`, and never an edit key.
#[tokio::test]
async fn rooms_are_listed_with_stats() {
    let server = TestServer::with_config(with_token());
    let mut keys = Vec::new();
    let mut ids = Vec::new();
    for name in ["One", "Two", "Three"] {
        let (id, key) = new_room(&server, name).await;
        ids.push(id);
        keys.push(key);
    }
    let (mut ann, _) = Client::join(&server, &ids[0], "ann", Some(&keys[0])).await;
    let (_viewer, _) = Client::join(&server, &ids[0], "val", None).await;
    ann.draw(1, "#e03131", 8.0, &[[10.0, 10.0, 0.5], [200.0, 150.0, 0.5]])
        .await;
    ann.await_commit(1).await;

    let res = admin(&server, "GET", "/api/admin/rooms", None).await;
    assert_eq!(res.status, 200, "{}", res.text());
    for key in &keys {
        assert!(!res.text().contains(key.as_str()), "an edit key leaked");
    }
    let body = res.json();
    assert_eq!(body["next"], Value::Null);
    let rooms = body["rooms"].as_array().expect("rooms");
    assert_eq!(rooms.len(), 3);
    let live = rooms
        .iter()
        .find(|r| r["id"] == ids[0].as_str())
        .expect("the loaded room");
    assert_eq!(live["name"], "One");
    assert_eq!(live["loaded"], true);
    assert_eq!(live["seq"], 1);
    assert_eq!(live["editors"], 1);
    assert_eq!(live["viewers"], 1);
    assert_eq!(live["lagging"], 0);
    assert_eq!(live["locked"], false);
    assert_eq!(live["width"], 1920);
    assert_eq!(live["height"], 1080);
    assert_eq!(live["retention_secs"], Value::Null);
    assert_eq!(live["expires_at"], Value::Null);
    assert!(live["created_at"].as_i64().expect("created_at") > 1_700_000_000);
    assert!(live["touched_at"].as_i64() >= live["created_at"].as_i64());
    let stored = rooms
        .iter()
        .find(|r| r["id"] == ids[1].as_str())
        .expect("a stored room");
    assert_eq!(stored["loaded"], false);
    assert_eq!(
        (stored["seq"].as_u64(), stored["editors"].as_u64()),
        (Some(0), Some(0))
    );

    // Two pages of two cover the same rooms once each.
    let first = admin(&server, "GET", "/api/admin/rooms?limit=2", None)
        .await
        .json();
    let next = first["next"].as_str().expect("a next page").to_owned();
    let second = admin(
        &server,
        "GET",
        &format!("/api/admin/rooms?limit=2&after={next}"),
        None,
    )
    .await
    .json();
    assert_eq!(second["next"], Value::Null);
    let mut paged: Vec<String> = first["rooms"]
        .as_array()
        .into_iter()
        .chain(second["rooms"].as_array())
        .flatten()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    paged.sort();
    let mut all = ids.clone();
    all.sort();
    assert_eq!(paged, all);

    for bad in ["limit=0", "limit=1001", "limit=x", "after=nope"] {
        let res = admin(&server, "GET", &format!("/api/admin/rooms?{bad}"), None).await;
        assert_eq!(res.status, 400, "{bad}");
        assert_eq!(error_code(&res), "bad_request");
    }
}

/// Locking makes everyone a viewer: members are told with `editing`, strokes are refused
/// with `room_locked`; unlocking lets them draw again.
#[tokio::test]
async fn lock_refuses_drawing_until_unlocked() {
    let server = TestServer::with_config(with_token());
    let (id, key) = new_room(&server, "Lockable").await;
    let (mut ann, _) = Client::join(&server, &id, "ann", Some(&key)).await;

    let res = admin(
        &server,
        "POST",
        &format!("/api/admin/rooms/{id}/lock"),
        None,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["locked"], true);
    assert_eq!(
        ann.await_editing().await,
        (false, Some(ErrorCode::RoomLocked))
    );
    ann.draw(1, "#000000", 4.0, &[[10.0, 10.0, 0.5], [50.0, 50.0, 0.5]])
        .await;
    assert_eq!(ann.await_error().await, ErrorCode::RoomLocked);

    let res = admin(
        &server,
        "POST",
        &format!("/api/admin/rooms/{id}/unlock"),
        None,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["locked"], false);
    assert_eq!(ann.await_editing().await, (true, None));
    ann.draw(2, "#000000", 4.0, &[[10.0, 10.0, 0.5], [50.0, 50.0, 0.5]])
        .await;
    assert_eq!(ann.await_commit(2).await, 1);

    let missing = uuid::Uuid::new_v4();
    let res = admin(
        &server,
        "POST",
        &format!("/api/admin/rooms/{missing}/lock"),
        None,
    )
    .await;
    assert_eq!(res.status, 404);
    assert_eq!(error_code(&res), "not_found");
}

/// A lock is stored: after a restart the room is still locked, and a joining editor is told
/// and refused.
#[tokio::test]
async fn lock_survives_a_restart() {
    let dir = TempDir::new();
    let config = || Config {
        data_dir: dir.0.clone(),
        ..with_token()
    };
    let (id, key) = {
        let server = TestServer::with_config(config());
        let (id, key) = new_room(&server, "Kept locked").await;
        let res = admin(
            &server,
            "POST",
            &format!("/api/admin/rooms/{id}/lock"),
            None,
        )
        .await;
        assert_eq!(res.status, 200, "{}", res.text());
        (id, key)
    };
    let server = TestServer::with_config(config());
    let before = entry(&server, &id).await.expect("the room");
    assert_eq!(
        (before["locked"].as_bool(), before["loaded"].as_bool()),
        (Some(true), Some(false))
    );
    let (mut ann, _) = Client::join(&server, &id, "ann", Some(&key)).await;
    assert_eq!(
        ann.await_editing().await,
        (false, Some(ErrorCode::RoomLocked))
    );
    ann.draw(1, "#000000", 4.0, &[[10.0, 10.0, 0.5], [50.0, 50.0, 0.5]])
        .await;
    assert_eq!(ann.await_error().await, ErrorCode::RoomLocked);
    let live = entry(&server, &id).await.expect("the room");
    assert_eq!(
        (live["locked"].as_bool(), live["loaded"].as_bool()),
        (Some(true), Some(true))
    );
}

/// A kicked member's socket closes with 4003; the others see it leave; kicking someone who
/// is not there is 404.
#[tokio::test]
async fn kick_closes_the_members_socket_with_4003() {
    let server = TestServer::with_config(with_token());
    let (id, key) = new_room(&server, "Kicks").await;
    let (mut ann, _) = Client::join(&server, &id, "ann", Some(&key)).await;
    let (mut bob, _) = Client::join(&server, &id, "bob", Some(&key)).await;
    let path = format!("/api/admin/rooms/{id}/kick");

    let res = admin(&server, "POST", &path, Some(json!({"member": bob.id}))).await;
    assert_eq!(res.status, 204, "{}", res.text());
    assert_eq!(bob.expect_close().await, Some(close::KICKED));
    loop {
        if let ServerMsg::MemberLeft { id } = ann.recv().await {
            assert_eq!(id, bob.id);
            break;
        }
    }
    let res = admin(&server, "POST", &path, Some(json!({"member": bob.id}))).await;
    assert_eq!(res.status, 404);
    assert_eq!(error_code(&res), "not_found");
    let res = admin(&server, "POST", &path, Some(json!({"who": 1}))).await;
    assert_eq!(res.status, 400);

    let body = json!({"member": ann.id, "reason": "spam"});
    let res = admin(&server, "POST", &path, Some(body)).await;
    assert_eq!(res.status, 204, "{}", res.text());
    assert_eq!(ann.expect_close().await, Some(close::KICKED));
}

/// An operator deletes a room without its key: members are closed with 4004, it is gone.
#[tokio::test]
async fn admin_deletes_a_room() {
    let server = TestServer::with_config(with_token());
    let (id, _) = new_room(&server, "Doomed").await;
    let (mut viewer, _) = Client::join(&server, &id, "val", None).await;
    let res = admin(&server, "DELETE", &format!("/api/admin/rooms/{id}"), None).await;
    assert_eq!(res.status, 204, "{}", res.text());
    assert_eq!(viewer.expect_close().await, Some(close::ROOM_DELETED));
    let res = http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[]).await;
    assert_eq!(res.status, 404);
    assert!(entry(&server, &id).await.is_none());
    let res = admin(&server, "DELETE", &format!("/api/admin/rooms/{id}"), None).await;
    assert_eq!(res.status, 404);
}

/// A room's own retention is stored and shown with its deadline; `null` returns to the
/// server's (here none: never).
#[tokio::test]
async fn retention_is_set_and_reset() {
    let server = TestServer::with_config(with_token());
    let (id, _) = new_room(&server, "Kept a while").await;
    let path = format!("/api/admin/rooms/{id}/retention");
    let res = admin(
        &server,
        "PUT",
        &path,
        Some(json!({"retention_secs": 86400})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let room = res.json();
    assert_eq!(room["retention_secs"], 86400);
    assert_eq!(
        room["expires_at"].as_i64(),
        room["touched_at"].as_i64().map(|t| t + 86400)
    );
    assert_eq!(
        entry(&server, &id).await.expect("room")["retention_secs"],
        86400
    );

    let res = admin(&server, "PUT", &path, Some(json!({"retention_secs": null}))).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let room = res.json();
    assert_eq!(room["retention_secs"], Value::Null);
    assert_eq!(room["expires_at"], Value::Null);

    for bad in [
        json!({}),
        json!({"retention_secs": 0}),
        json!({"retention_secs": "1d"}),
    ] {
        let res = admin(&server, "PUT", &path, Some(bad.clone())).await;
        assert_eq!(res.status, 400, "{bad}");
    }
    let missing = uuid::Uuid::new_v4();
    let res = admin(
        &server,
        "PUT",
        &format!("/api/admin/rooms/{missing}/retention"),
        Some(json!({"retention_secs": 60})),
    )
    .await;
    assert_eq!(res.status, 404);
}

/// With a server retention, a room nobody visits is deleted with everything it holds.
#[tokio::test]
async fn untouched_rooms_expire_by_the_servers_retention() {
    let server = TestServer::with_config(Config {
        room_retention: Some(Duration::from_secs(1)),
        ..with_token()
    });
    let (id, _) = new_room(&server, "Short-lived").await;
    wait_for("the room expires", SWEEP_DEADLINE, || async {
        entry(&server, &id).await.is_none()
    })
    .await;
    let stats = http(server.addr, "GET", "/api/stats", None, &[])
        .await
        .json();
    assert_eq!(stats["rooms_stored"], 0);
    let res = http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[]).await;
    assert_eq!(res.status, 404);
}

/// Sets a room's last touch far in the past, straight in the database.
fn touched_long_ago(dir: &TempDir, id: &str) {
    let db = rusqlite::Connection::open(dir.0.join("inkroom.db")).expect("open the store");
    db.busy_timeout(Duration::from_secs(10)).expect("timeout");
    let n = db
        .execute("UPDATE rooms SET touched_at = 1 WHERE id = ?1", [id])
        .expect("update");
    assert_eq!(n, 1);
}

/// A room's own retention overrides the server's (none here); a room in use never expires,
/// and unloading touches it, restarting its retention.
#[tokio::test]
async fn own_retention_expires_rooms_not_in_use() {
    let dir = TempDir::new();
    let server = TestServer::with_config(Config {
        data_dir: dir.0.clone(),
        room_idle_unload: Duration::from_millis(200),
        ..with_token()
    });
    let (idle, _) = new_room(&server, "Idle").await;
    let (busy, key) = new_room(&server, "Busy").await;
    let (kept, _) = new_room(&server, "Kept").await;
    let (mut ann, _) = Client::join(&server, &busy, "ann", Some(&key)).await;
    // A commit is sent once durable, so the room's touch on loading (queued before) is written.
    ann.draw(1, "#000000", 4.0, &[[10.0, 10.0, 0.5], [50.0, 50.0, 0.5]])
        .await;
    ann.await_commit(1).await;
    for id in [&idle, &busy, &kept] {
        touched_long_ago(&dir, id);
    }
    for id in [&idle, &busy] {
        let path = format!("/api/admin/rooms/{id}/retention");
        let res = admin(&server, "PUT", &path, Some(json!({"retention_secs": 1}))).await;
        assert_eq!(res.status, 200, "{}", res.text());
    }
    wait_for("the idle room expires", SWEEP_DEADLINE, || async {
        entry(&server, &idle).await.is_none()
    })
    .await;
    // The busy room, in use, is kept.
    let room = entry(&server, &busy).await.expect("the busy room is kept");
    assert_eq!(room["loaded"], true);
    assert!(entry(&server, &kept).await.is_some(), "no retention: kept");

    // Once everyone left, the room unloads and is touched then.
    let path = format!("/api/admin/rooms/{busy}/retention");
    let res = admin(&server, "PUT", &path, Some(json!({"retention_secs": 3600}))).await;
    assert_eq!(res.status, 200, "{}", res.text());
    drop(ann);
    wait_for(
        "the busy room unloads and is touched",
        SWEEP_DEADLINE,
        || async {
            entry(&server, &busy)
                .await
                .is_some_and(|r| r["loaded"] == false && r["touched_at"].as_i64() > Some(1))
        },
    )
    .await;
    let room = entry(&server, &busy).await.expect("the busy room is kept");
    let touched = room["touched_at"].as_i64().expect("touched_at");
    assert_eq!(room["expires_at"].as_i64(), Some(touched + 3600));
}

/// `docs/admin.md` and the server agree: the documented room and list have exactly the fields
/// the server sends, and the documented request bodies are accepted.
#[tokio::test]
async fn the_admin_doc_matches_the_server() {
    const DOC: &str = include_str!("../docs/admin.md");
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in DOC.lines() {
        match (line.strip_prefix("```"), open.take()) {
            (Some(_), Some(block)) => blocks.push(block),
            (Some(info), None) => open = Some((info.trim().to_owned(), String::new())),
            (None, Some((info, body))) => open = Some((info, body + line + "\n")),
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "unclosed block in admin.md");
    let block = |info: &str| -> Vec<Value> {
        blocks
            .iter()
            .filter(|(i, _)| i == info)
            .map(|(_, b)| serde_json::from_str(b).expect("valid JSON in admin.md"))
            .collect()
    };
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
        k.sort();
        k
    };
    let server = TestServer::with_config(with_token());
    let (id, _) = new_room(&server, "Documented").await;
    let real = entry(&server, &id).await.expect("the room");
    let documented = block("json admin");
    assert_eq!(documented.len(), 1);
    assert_eq!(keys(&documented[0]), keys(&real));
    let list = admin(&server, "GET", "/api/admin/rooms", None).await.json();
    assert_eq!(keys(&block("json admin-list")[0]), keys(&list));

    let requests = block("json admin-request");
    assert_eq!(requests.len(), 2);
    // The kick body is well formed (member 3 is not here: 404, not 400).
    let res = admin(
        &server,
        "POST",
        &format!("/api/admin/rooms/{id}/kick"),
        Some(requests[0].clone()),
    )
    .await;
    assert_eq!(res.status, 404, "{}", res.text());
    let res = admin(
        &server,
        "PUT",
        &format!("/api/admin/rooms/{id}/retention"),
        Some(requests[1].clone()),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
}
