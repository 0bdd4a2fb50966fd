//! Text through real sockets: every refusal, the commit, and the same pixels in the export, in a
//! late joiner's tiles, after undo and redo by the author, and after a restart.

mod common;

use std::sync::Arc;

use common::{assert_same_pixels, canvas_png, on_white, Client, TempDir, TestServer};
use inkroom::canvas::{Canvas, Op, Rgba, Text};
use inkroom::config::Config;
use inkroom::protocol::{ErrorCode, OpKind, ServerMsg};
use serde_json::{json, Value};

const W: u32 = 600;
const H: u32 = 400;

async fn room(server: &TestServer) -> (String, String) {
    let room = server
        .create_room(json!({"width": W, "height": H, "background": "#ffffff"}))
        .await;
    (
        room["id"].as_str().expect("id").to_owned(),
        room["edit_key"].as_str().expect("key").to_owned(),
    )
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

/// Reads until a commit of `op`, returning the commit's client id.
async fn await_op(c: &mut Client, op: OpKind) -> Option<u32> {
    loop {
        match c.recv().await {
            ServerMsg::Commit { op: o, id, .. } if o == op => return id,
            ServerMsg::Error { code, message, .. } => panic!("error {code:?}: {message}"),
            _ => {}
        }
    }
}

async fn error_code(c: &mut Client) -> ErrorCode {
    loop {
        if let ServerMsg::Error { code, .. } = c.recv().await {
            return code;
        }
    }
}

/// The texts the tests send: several lines, a translucent one over a tile edge, a big one.
fn texts() -> Vec<Value> {
    vec![
        json!({"type": "text", "id": 5, "x": 200, "y": 150, "text": "Hello", "size": 32, "color": "#1f1f1f"}),
        json!({"type": "text", "id": 6, "x": 180.5, "y": 20.25, "text": "Across the tile edge\nand a second line \u{2713}", "size": 28, "color": "#e0313199"}),
        json!({"type": "text", "id": 7, "x": 10, "y": 230, "text": "Big", "size": 140, "color": "#1971c2"}),
    ]
}

/// The same texts drawn by the canvas directly.
fn local(msgs: &[Value]) -> Canvas {
    let mut canvas = Canvas::new(W, H).expect("valid size");
    for m in msgs {
        let f = |k: &str| m[k].as_f64().expect("a number") as f32;
        canvas.apply(&mut Op::Text(Text {
            x: f("x"),
            y: f("y"),
            text: m["text"].as_str().expect("text").to_owned(),
            size: f("size"),
            color: Rgba::from_hex(m["color"].as_str().expect("color")).expect("valid color"),
        }));
    }
    canvas
}

/// Every refusal: a viewer is `read_only`; sizes out of range, empty text, a bad color and
/// coordinates that are not finite are `bad_message`; text over the limit is `too_large`.
/// Nothing is drawn.
#[tokio::test]
async fn bad_texts_are_refused() {
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    let (mut vic, _) = Client::join(&server, &id, "Vic", None).await;
    let good = texts().remove(0);
    vic.send(good.clone()).await;
    assert_eq!(error_code(&mut vic).await, ErrorCode::ReadOnly);

    let with = |k: &str, v: Value| {
        let mut m = good.clone();
        m[k] = v;
        m
    };
    let max = Config::default().max_text_chars;
    let cases = [
        (with("size", json!(5.9)), ErrorCode::BadMessage),
        (with("size", json!(512.5)), ErrorCode::BadMessage),
        (with("size", json!(-32)), ErrorCode::BadMessage),
        (with("text", json!("")), ErrorCode::BadMessage),
        (
            with("text", json!("x".repeat(max + 1))),
            ErrorCode::TooLarge,
        ),
        (with("color", json!("red")), ErrorCode::BadMessage),
        (with("color", json!("#12345")), ErrorCode::BadMessage),
        (with("x", json!(1e300)), ErrorCode::BadMessage),
        (with("y", json!(-1e39)), ErrorCode::BadMessage),
        (with("x", json!(null)), ErrorCode::BadMessage),
        (with("y", json!(5000)), ErrorCode::BadMessage),
    ];
    for (msg, code) in cases {
        let shown = msg.to_string();
        ann.send(msg).await;
        assert_eq!(
            error_code(&mut ann).await,
            code,
            "{}",
            &shown[..shown.len().min(120)]
        );
    }
    // Non-finite numbers written out as JSON cannot be; as text they are still refused.
    ann.send_text(r##"{"type":"text","x":NaN,"y":1,"text":"a","size":32,"color":"#000000"}"##)
        .await;
    assert_eq!(error_code(&mut ann).await, ErrorCode::BadMessage);
    // The longest text and the size limits are fine.
    ann.send(with("text", json!("x".repeat(max)))).await;
    assert_eq!(await_op(&mut ann, OpKind::Text).await, Some(5));
    for size in [6, 512] {
        ann.send(with("size", json!(size))).await;
        await_op(&mut ann, OpKind::Text).await;
    }
}

/// Committed texts echo their id; the export, a late joiner's tiles and the canvas drawn
/// directly agree pixel for pixel; the author's undo takes a text away and redo brings it back.
#[tokio::test]
async fn texts_land_the_same_everywhere() {
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    let mut ann = join_as(&server, &id, &key, "ann").await;
    let (mut vic, _) = Client::join(&server, &id, "Vic", None).await;
    for m in texts() {
        let want = m["id"].as_u64().map(|i| i as u32);
        ann.send(m).await;
        assert_eq!(await_op(&mut ann, OpKind::Text).await, want);
    }
    // Others see the op committed, then its tiles.
    assert!(await_op(&mut vic, OpKind::Text).await.is_some());

    let want = on_white(&local(&texts()));
    assert_same_pixels(&canvas_png(&server, &id).await, &want, "the export");

    let (late, _) = Client::join(&server, &id, "Late", None).await;
    let mut joined = Canvas::new(W, H).expect("valid size");
    assert!(!late.binaries.is_empty(), "the late joiner got tiles");
    for frame in &late.binaries {
        let (tile, _, pixmap) = common::decode_tile(&joined, frame);
        joined.set_tile(tile, Some(Arc::new(pixmap)));
    }
    assert_same_pixels(&on_white(&joined), &want, "a late joiner's tiles");

    ann.send(json!({"type": "undo"})).await;
    await_op(&mut ann, OpKind::Undo).await;
    let two = on_white(&local(&texts()[..2]));
    assert_same_pixels(&canvas_png(&server, &id).await, &two, "after undo");
    ann.send(json!({"type": "redo"})).await;
    await_op(&mut ann, OpKind::Redo).await;
    assert_same_pixels(&canvas_png(&server, &id).await, &want, "after redo");
}

/// A text is stored as a record: after a restart the canvas is the same, and its author can
/// still undo it.
#[tokio::test]
async fn texts_survive_a_restart() {
    let dir = TempDir::new();
    let config = || Config {
        data_dir: dir.0.clone(),
        ..Config::default()
    };
    let (id, key) = {
        let server = TestServer::with_config(config());
        let (id, key) = room(&server).await;
        let mut ann = join_as(&server, &id, &key, "ann").await;
        for m in texts() {
            ann.send(m).await;
            await_op(&mut ann, OpKind::Text).await;
        }
        (id, key)
    };
    let server = TestServer::with_config(config());
    let want = on_white(&local(&texts()));
    assert_same_pixels(&canvas_png(&server, &id).await, &want, "after a restart");
    let mut ann = join_as(&server, &id, &key, "ann").await;
    ann.send(json!({"type": "undo"})).await;
    await_op(&mut ann, OpKind::Undo).await;
    let two = on_white(&local(&texts()[..2]));
    assert_same_pixels(
        &canvas_png(&server, &id).await,
        &two,
        "undo after a restart",
    );
}
