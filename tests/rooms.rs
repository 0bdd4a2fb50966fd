//! The HTTP API through real sockets: creating rooms, describing them, pages and errors.

mod common;

use common::{http, TestServer};
use serde_json::json;

/// `POST /api/rooms` with no body creates a 1920x1080 white room with edit and view links.
#[tokio::test]
async fn create_room_with_defaults() {
    let server = TestServer::start();
    let res = http(server.addr, "POST", "/api/rooms", None, &[]).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let room = res.json();
    let id = room["id"].as_str().expect("id");
    let key = room["edit_key"].as_str().expect("key");
    assert_eq!(
        uuid::Uuid::parse_str(id).map(|u| u.get_version_num()),
        Ok(4)
    );
    assert_eq!(key.len(), 32);
    assert_eq!(room["width"], 1920);
    assert_eq!(room["height"], 1080);
    assert_eq!(room["background"], "#ffffff");
    assert_eq!(room["name"], "Untitled board");
    assert_eq!(room["edit_url"], format!("/r/{id}#key={key}"));
    assert_eq!(room["view_url"], format!("/r/{id}"));
}

/// A body sets name, size and background; `GET /api/rooms/{id}` shows them without the key.
#[tokio::test]
async fn room_info_has_no_secrets() {
    let server = TestServer::start();
    let room = server
        .create_room(
            json!({"name": "Sketches", "width": 640, "height": 480, "background": "#102030"}),
        )
        .await;
    let id = room["id"].as_str().expect("id");
    let res = http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[]).await;
    assert_eq!(res.status, 200);
    let info = res.json();
    assert_eq!(info["name"], "Sketches");
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(640), Some(480))
    );
    assert_eq!(info["background"], "#102030");
    assert_eq!(info["seq"], 0);
    assert_eq!(
        (info["editors"].as_u64(), info["viewers"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(!res.text().contains(room["edit_key"].as_str().expect("key")));
}

/// Invalid sizes, colors and JSON get a 400 with a JSON error body.
#[tokio::test]
async fn invalid_rooms_are_refused() {
    let server = TestServer::start();
    for body in [
        r#"{"width":0}"#,
        r#"{"height":100000}"#,
        r#"{"width":-5}"#,
        r#"{"width":12.5}"#,
        r#"{"background":"red"}"#,
        r##"{"background":"#12345678"}"##,
        r#"{"nope":1}"#,
        "{",
        "[1,2]",
    ] {
        let res = http(server.addr, "POST", "/api/rooms", Some(body), &[]).await;
        assert_eq!(res.status, 400, "{body}: {}", res.text());
        let err = res.json();
        assert_eq!(err["error"]["code"], "bad_request", "{body}");
        assert!(err["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
}

/// Unknown rooms are 404 everywhere: info, export, socket and page.
#[tokio::test]
async fn unknown_rooms_are_not_found() {
    let server = TestServer::start();
    let missing = uuid::Uuid::new_v4();
    for path in [
        format!("/api/rooms/{missing}"),
        format!("/api/rooms/{missing}/canvas.png"),
        format!("/api/rooms/{missing}/ws"),
        "/api/rooms/not-a-uuid".to_owned(),
        format!("/r/{missing}"),
    ] {
        let res = http(server.addr, "GET", &path, None, &[]).await;
        assert_eq!(res.status, 404, "{path}");
    }
    let res = http(
        server.addr,
        "GET",
        &format!("/api/rooms/{missing}"),
        None,
        &[],
    )
    .await;
    assert_eq!(res.json()["error"]["code"], "not_found");
}

/// The landing page, the board page, scripts, favicon and health check are served, with a
/// Content-Security-Policy.
#[tokio::test]
async fn pages_and_assets_are_served() {
    let server = TestServer::start();
    let room = server.create_room(json!({})).await;
    let id = room["id"].as_str().expect("id");
    for (path, kind) in [
        ("/".to_owned(), "text/html"),
        (format!("/r/{id}"), "text/html"),
        ("/static/js/room.js".to_owned(), "text/javascript"),
        ("/static/styles/app.css".to_owned(), "text/css"),
        ("/favicon.svg".to_owned(), "image/svg+xml"),
        ("/healthz".to_owned(), "application/json"),
    ] {
        let res = http(server.addr, "GET", &path, None, &[]).await;
        assert_eq!(res.status, 200, "{path}");
        assert!(
            res.header("content-type")
                .is_some_and(|t| t.starts_with(kind)),
            "{path}: {:?}",
            res.header("content-type")
        );
        assert!(res.header("content-security-policy").is_some(), "{path}");
    }
    let res = http(server.addr, "GET", "/static/nope.js", None, &[]).await;
    assert_eq!(res.status, 404);
}

/// A fresh room exports as a full-size PNG of its background.
#[tokio::test]
async fn empty_export_is_the_background() {
    let server = TestServer::start();
    let room = server
        .create_room(json!({"width": 300, "height": 200, "background": "#336699"}))
        .await;
    let png = common::canvas_png(&server, room["id"].as_str().expect("id")).await;
    assert_eq!(png.dimensions(), (300, 200));
    assert!(png.pixels().all(|p| p.0 == [0x33, 0x66, 0x99, 255]));
}

/// `?scale=` resizes the export, `?background=transparent` leaves the background out, and bad
/// values get a 400 that says what is allowed.
#[tokio::test]
async fn export_options() {
    let server = TestServer::start();
    let room = server
        .create_room(json!({"width": 400, "height": 300, "background": "#336699"}))
        .await;
    let id = room["id"].as_str().expect("id");
    let get = |q: &'static str| {
        let path = format!("/api/rooms/{id}/canvas.png{q}");
        let addr = server.addr;
        async move { http(addr, "GET", &path, None, &[]).await }
    };
    let res = get("?scale=0.5").await;
    // The file name says what the file holds: the board, the size and the background.
    let name = res.header("content-disposition").unwrap_or_default();
    assert!(name.ends_with("-200x150-bg-336699.png\""), "{name}");
    let half = image::load_from_memory(&res.body).expect("png").to_rgba8();
    assert_eq!(half.dimensions(), (200, 150));
    assert_eq!(half.get_pixel(10, 10).0, [0x33, 0x66, 0x99, 255]);
    let big = image::load_from_memory(&get("?scale=4").await.body).expect("png");
    assert_eq!((big.width(), big.height()), (1600, 1200));
    let res = get("?background=transparent").await;
    let name = res.header("content-disposition").unwrap_or_default();
    assert!(name.ends_with("-400x300-transparent.png\""), "{name}");
    let clear = image::load_from_memory(&res.body).expect("png").to_rgba8();
    assert_eq!(clear.get_pixel(10, 10).0[3], 0);
    for bad in [
        "?scale=0",
        "?scale=5",
        "?scale=abc",
        "?scale=NaN",
        "?background=red",
    ] {
        let res = get(bad).await;
        assert_eq!(res.status, 400, "{bad}");
        assert_eq!(res.json()["error"]["code"], "bad_request");
    }
}

/// Rooms in memory are bounded: at the limit, opening another room first unloads rooms nobody is
/// in; when every loaded room has people in it, the request gets `503 server_busy`.
#[tokio::test]
async fn loaded_rooms_are_bounded() {
    let server = TestServer::with_config(inkroom::config::Config {
        max_loaded_rooms: 2,
        ..inkroom::config::Config::default()
    });
    let mut ids = Vec::new();
    for _ in 0..3 {
        let room = server.create_room(json!({"width": 64, "height": 64})).await;
        ids.push(room["id"].as_str().expect("id").to_owned());
    }
    let addr = server.addr;
    let info = |id: &str| {
        let path = format!("/api/rooms/{id}");
        async move { http(addr, "GET", &path, None, &[]).await }
    };
    let (_ann, _) = common::Client::join(&server, &ids[0], "Ann", None).await;
    let (bob, _) = common::Client::join(&server, &ids[1], "Bob", None).await;
    let busy = info(&ids[2]).await;
    assert_eq!(busy.status, 503, "{}", busy.text());
    assert_eq!(busy.json()["error"]["code"], "server_busy");
    let stats = http(server.addr, "GET", "/api/stats", None, &[])
        .await
        .json();
    assert_eq!(stats["rooms_loaded"], 2);

    // Bob leaves: his room can make way, and comes back when asked for.
    drop(bob);
    common::eventually(|| async {
        let res = info(&ids[2]).await;
        res.status == 200
    })
    .await;
    let res = info(&ids[1]).await;
    assert_eq!((res.status, res.json()["viewers"].clone()), (200, json!(0)));
    let stats = http(server.addr, "GET", "/api/stats", None, &[])
        .await
        .json();
    assert_eq!(stats["rooms_loaded"], 2);
}
