//! Images through real sockets: uploads over HTTP and `image` ops over the WebSocket. An image
//! op renders the same in the server's export, in a late joiner's tiles, after undo and redo by
//! its author and after a restart (all equal to the golden `tests/images/image/placed.png`);
//! every refusal is a clear HTTP error or `error` code and changes nothing.

mod common;

use std::net::SocketAddr;

use common::{canvas_png, http, Client, TempDir, TestServer, WAIT};
use inkroom::canvas::Canvas;
use inkroom::config::Config;
use inkroom::protocol::{ErrorCode, OpKind, ServerMsg};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The image the goldens were drawn from.
const SOURCE: &[u8] = include_bytes!("images/image/source.png");

fn golden(name: &str) -> image::RgbaImage {
    let path = format!(
        "{}/tests/images/image/{name}.png",
        env!("CARGO_MANIFEST_DIR")
    );
    image::open(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .to_rgba8()
}

/// `POST /api/rooms/{room}/images` with `body` and, if given, the key as a bearer token.
/// Returns the status and the JSON body.
async fn upload(addr: SocketAddr, room: &str, key: Option<&str>, body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "POST /api/rooms/{room}/images HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(key) = key {
        head.push_str(&format!("Authorization: Bearer {key}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    // The server may answer (and stop reading) before the whole body is sent.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("response in time");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn room(server: &TestServer, width: u32, height: u32) -> (String, String) {
    let room = server
        .create_room(json!({"width": width, "height": height, "background": "#ffffff"}))
        .await;
    (
        room["id"].as_str().expect("id").to_owned(),
        room["edit_key"].as_str().expect("key").to_owned(),
    )
}

async fn editor(server: &TestServer, room: &str, key: &str, user: &str) -> Client {
    let hello = json!({"type": "hello", "name": user, "key": key, "user": user});
    Client::join_with(server, room, hello).await.0
}

/// Reads until a commit of `op` by this client; returns its seq and client id.
async fn await_op(c: &mut Client, op: OpKind) -> (u64, Option<u32>) {
    loop {
        if let ServerMsg::Commit {
            seq,
            op: o,
            author,
            id,
            ..
        } = c.recv().await
        {
            if o == op && author == c.id {
                return (seq, id);
            }
        }
    }
}

/// Reads until an `error`; returns its code and client id.
async fn await_error(c: &mut Client) -> (ErrorCode, Option<u32>) {
    loop {
        match c.recv().await {
            ServerMsg::Error { code, id, .. } => return (code, id),
            ServerMsg::Commit { op, .. } => panic!("unexpected commit of {op:?}"),
            _ => {}
        }
    }
}

/// The golden placements, as `image` ops.
async fn place_golden(c: &mut Client, image: &str) {
    for (i, (x, y, w, h)) in [(40, 30, 250, 160), (-60, 150, 180, 120)]
        .into_iter()
        .enumerate()
    {
        let id = 10 + i as u32;
        c.send(json!({"type": "image", "id": id, "image": image, "x": x, "y": y, "width": w, "height": h}))
            .await;
        assert_eq!(await_op(c, OpKind::Image).await.1, Some(id));
    }
}

/// An image drawn through the socket is the golden in the export, in a late joiner's tiles,
/// after its author undoes and redoes it, and after a restart (where the author's undo still
/// works).
#[tokio::test]
async fn image_ops_render_the_same_everywhere() {
    let dir = TempDir::new();
    let config = Config {
        data_dir: dir.0.clone(),
        ..Config::default()
    };
    let want = golden("placed");
    let (id, key) = {
        let server = TestServer::with_config(config.clone());
        let (id, key) = room(&server, 320, 240).await;
        let (status, body) = upload(server.addr, &id, Some(&key), SOURCE).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            (body["width"].as_u64(), body["height"].as_u64()),
            (Some(300), Some(200))
        );
        let image = body["image"].as_str().expect("an image id").to_owned();

        let mut ann = editor(&server, &id, &key, "ann").await;
        place_golden(&mut ann, &image).await;
        common::assert_same_pixels(&canvas_png(&server, &id).await, &want, "the export");

        let (late, _) = Client::join(&server, &id, "late", None).await;
        let mut canvas = Canvas::new(320, 240).expect("valid size");
        for frame in &late.binaries {
            let (tile, _, pixmap) = common::decode_tile(&canvas, frame);
            canvas.set_tile(tile, Some(std::sync::Arc::new(pixmap)));
        }
        common::assert_same_pixels(&common::on_white(&canvas), &want, "a late joiner's tiles");

        for _ in 0..2 {
            ann.send(json!({"type": "undo"})).await;
            await_op(&mut ann, OpKind::Undo).await;
        }
        let blank = canvas_png(&server, &id).await;
        assert!(
            blank.pixels().all(|p| p.0 == [255, 255, 255, 255]),
            "undone"
        );
        for _ in 0..2 {
            ann.send(json!({"type": "redo"})).await;
            await_op(&mut ann, OpKind::Redo).await;
        }
        common::assert_same_pixels(&canvas_png(&server, &id).await, &want, "redone");
        (id, key)
    };

    let server = TestServer::with_config(config);
    common::assert_same_pixels(&canvas_png(&server, &id).await, &want, "after a restart");
    let mut ann = editor(&server, &id, &key, "ann").await;
    ann.send(json!({"type": "undo"})).await;
    await_op(&mut ann, OpKind::Undo).await;
    ann.send(json!({"type": "redo"})).await;
    await_op(&mut ann, OpKind::Redo).await;
    common::assert_same_pixels(
        &canvas_png(&server, &id).await,
        &want,
        "undone and redone after a restart",
    );
}

/// A PNG chunk: length, type, data, CRC-32 of type and data.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = 0xffff_ffffu32;
    for &b in kind.iter().chain(data) {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&(!crc).to_be_bytes());
    out
}

/// A decompression bomb: a valid PNG of a few dozen bytes whose header declares 50000x50000
/// RGBA pixels (10 GB decoded).
fn bomb() -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    // A zlib stream of a few zero bytes (stored block).
    let idat = [
        0x78, 0x01, 0x01, 0x04, 0x00, 0xfb, 0xff, 0, 0, 0, 0, 0, 0x04, 0x00, 0x01,
    ];
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &idat));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// A small valid PNG.
fn small_png() -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(16, 16, image::Rgba([200, 40, 40, 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encodes");
    out.into_inner()
}

/// Every refused upload gets its own clear status and code (and the owner key uploads like the
/// edit key): no key (401) or the wrong one (403) like the room DELETE, an unknown room (404), not an image (415), a truncated file
/// (422), a decompression bomb (413, refused from its header), a body one byte over the upload
/// limit (413, while exactly the limit passes), and an upload past the room's quota (413
/// `image_quota`).
#[tokio::test]
async fn refused_uploads_say_why() {
    let limit = 8 * 1024;
    let png = small_png();
    let server = TestServer::with_config(Config {
        max_image_bytes: limit,
        room_image_bytes: (limit + 3 * png.len()) as u64,
        ..Config::default()
    });
    let (id, key) = room(&server, 320, 240).await;
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or("").to_owned();
    let addr = server.addr;

    let (status, body) = upload(addr, &id, None, &png).await;
    assert_eq!((status, code(&body)), (401, "bad_key".into()));
    let created = server
        .create_room(json!({"width": 100, "height": 100}))
        .await;
    let (other, owner) = (
        created["id"].as_str().expect("id"),
        created["owner_key"].as_str().expect("owner key"),
    );
    let (status, body) = upload(addr, other, Some(owner), &png).await;
    assert_eq!(status, 201, "the owner key uploads too: {body}");
    let (status, body) = upload(addr, &id, Some("not-the-key"), &png).await;
    assert_eq!((status, code(&body)), (403, "bad_key".into()));
    let missing = "00000000-0000-4000-8000-000000000000";
    let (status, body) = upload(addr, missing, Some(&key), &png).await;
    assert_eq!((status, code(&body)), (404, "not_found".into()));
    let (status, body) = upload(addr, &id, Some(&key), b"just some text, not an image").await;
    assert_eq!((status, code(&body)), (415, "bad_image".into()));
    let (status, body) = upload(addr, &id, Some(&key), &SOURCE[..SOURCE.len() / 2]).await;
    assert_eq!((status, code(&body)), (422, "bad_image".into()));
    let (status, body) = upload(addr, &id, Some(&key), &bomb()).await;
    assert_eq!((status, code(&body)), (413, "too_large".into()), "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("50000x50000"));

    // Exactly the limit passes (trailing bytes after a PNG's end are ignored); one more fails.
    let mut padded = png.clone();
    padded.resize(limit, 0);
    let (status, body) = upload(addr, &id, Some(&key), &padded).await;
    assert_eq!(status, 201, "{body}");
    padded.push(0);
    let (status, body) = upload(addr, &id, Some(&key), &padded).await;
    assert_eq!((status, code(&body)), (413, "too_large".into()));

    // The quota leaves room for three more small images, then refuses.
    for _ in 0..3 {
        let (status, body) = upload(addr, &id, Some(&key), &png).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = upload(addr, &id, Some(&key), &png).await;
    assert_eq!((status, code(&body)), (413, "image_quota".into()), "{body}");
}

/// The upload route's body limit is raised to `max_image_bytes` alone: an upload well over
/// `max_http_body_bytes` is stored, while another route refuses a body that size.
#[tokio::test]
async fn only_uploads_take_large_bodies() {
    let server = TestServer::start();
    let (id, key) = room(&server, 320, 240).await;
    let size = 2 * Config::default().max_http_body_bytes;
    let mut padded = SOURCE.to_vec();
    padded.resize(size, 0);
    let (status, body) = upload(server.addr, &id, Some(&key), &padded).await;
    assert_eq!(status, 201, "{body}");
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(size));
    let res = http(server.addr, "POST", "/api/rooms", Some(&big), &[]).await;
    assert_eq!(res.status, 413, "{}", res.text());
}

/// Refused `image` ops change nothing: a viewer gets `read_only`, an unknown image
/// `unknown_image` (with the op's id), and a rectangle out of range, empty or not finite
/// `bad_message`. The room's seq stays 0 and its canvas blank.
#[tokio::test]
async fn refused_image_ops_change_nothing() {
    let server = TestServer::start();
    let (id, key) = room(&server, 320, 240).await;
    let (status, body) = upload(server.addr, &id, Some(&key), SOURCE).await;
    assert_eq!(status, 201, "{body}");
    let image = body["image"].as_str().expect("an image id").to_owned();

    let (mut viewer, _) = Client::join(&server, &id, "viewer", None).await;
    viewer
        .send(json!({"type": "image", "image": image, "x": 0, "y": 0, "width": 50, "height": 50}))
        .await;
    assert_eq!(await_error(&mut viewer).await.0, ErrorCode::ReadOnly);

    let mut ann = editor(&server, &id, &key, "ann").await;
    ann.send(json!({"type": "image", "id": 4, "image": "0123456789abcdef0123456789abcdef", "x": 0, "y": 0, "width": 50, "height": 50}))
        .await;
    assert_eq!(
        await_error(&mut ann).await,
        (ErrorCode::UnknownImage, Some(4))
    );
    for bad in [
        r#"{"type":"image","image":"IMG","x":0,"y":0,"width":1e39,"height":50}"#,
        r#"{"type":"image","image":"IMG","x":0,"y":0,"width":0,"height":50}"#,
        r#"{"type":"image","image":"IMG","x":0,"y":0,"width":-40,"height":50}"#,
        r#"{"type":"image","image":"IMG","x":5000,"y":0,"width":40,"height":50}"#,
        r#"{"type":"image","image":"IMG","x":0,"y":-250,"width":40,"height":5}"#,
        r#"{"type":"image","image":"IMG","x":0,"y":0,"width":"wide","height":50}"#,
    ] {
        ann.send_text(&bad.replace("IMG", &image)).await;
        assert_eq!(
            await_error(&mut ann).await.0,
            ErrorCode::BadMessage,
            "{bad}"
        );
    }
    let info = http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[])
        .await
        .json();
    assert_eq!(info["seq"], 0);
    let canvas = canvas_png(&server, &id).await;
    assert!(
        canvas.pixels().all(|p| p.0 == [255, 255, 255, 255]),
        "blank"
    );
}

/// Uploaded images are stored with their room and deleted with it.
#[tokio::test]
async fn images_go_with_their_room() {
    let dir = TempDir::new();
    let store = std::sync::Arc::new(inkroom::store::Store::open(&dir.0, true).expect("store"));
    let server = TestServer::with_store(
        Config {
            data_dir: dir.0.clone(),
            ..Config::default()
        },
        std::sync::Arc::clone(&store),
    );
    let (id, key) = room(&server, 320, 240).await;
    let (status, body) = upload(server.addr, &id, Some(&key), SOURCE).await;
    assert_eq!(status, 201, "{body}");
    let image = body["image"].as_str().expect("an image id").to_owned();
    let room_id = uuid::Uuid::parse_str(&id).expect("a uuid");
    let stored = store.image(room_id, &image).expect("readable");
    assert_eq!(stored.as_deref(), Some(SOURCE), "stored as uploaded");

    let auth = format!("Bearer {key}");
    let res = http(
        server.addr,
        "DELETE",
        &format!("/api/rooms/{id}"),
        None,
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(res.status, 204);
    assert_eq!(store.image(room_id, &image).expect("readable"), None);
}
