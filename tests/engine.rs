//! The canvas engine through real sockets: undo and redo between users, clear, fills, tiles, and
//! late joiners whose canvas (tiles plus later ops) equals the server's export pixel for pixel.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{canvas_png, Client, TestServer};
use inkroom::canvas::{Canvas, Op, Stroke};
use inkroom::config::Config;
use inkroom::protocol::{parse_color, ErrorCode, OpKind, ServerMsg};
use serde_json::json;

async fn room(server: &TestServer, w: u32, h: u32) -> (String, String) {
    let room = server
        .create_room(json!({"width": w, "height": h, "background": "#ffffff"}))
        .await;
    (
        room["id"].as_str().expect("id").to_owned(),
        room["edit_key"].as_str().expect("key").to_owned(),
    )
}

/// Reads until a commit of `op`, returning (seq, target).
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

async fn error_code(c: &mut Client) -> ErrorCode {
    loop {
        if let ServerMsg::Error { code, .. } = c.recv().await {
            return code;
        }
    }
}

/// Ann's undo removes her stroke even though Bob drew over it; Bob's stroke stays; redo brings
/// Ann's back; the other member receives the re-rendered tiles tagged with the undo's seq.
#[tokio::test]
async fn undo_and_redo_between_users() {
    let server = TestServer::start();
    let (id, key) = room(&server, 400, 300).await;
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    let (mut bob, _) = Client::join(&server, &id, "Bob", Some(&key)).await;
    ann.draw(
        1,
        "#ff0000",
        12.0,
        &[[20.0, 100.0, 0.5], [380.0, 100.0, 0.5]],
    )
    .await;
    ann.await_commit(1).await;
    bob.draw(
        1,
        "#0000ff",
        12.0,
        &[[200.0, 20.0, 0.5], [200.0, 280.0, 0.5]],
    )
    .await;
    bob.await_commit(1).await;

    ann.send(json!({"type": "undo"})).await;
    let (seq, target) = await_op(&mut ann, OpKind::Undo).await;
    assert_eq!((seq, target), (3, Some(1)));
    let png = canvas_png(&server, &id).await;
    assert_eq!(
        png.get_pixel(100, 100).0,
        [255, 255, 255, 255],
        "Ann's red is gone"
    );
    assert_eq!(
        png.get_pixel(200, 100).0,
        [0, 0, 255, 255],
        "Bob's blue stays where they crossed"
    );
    assert_eq!(png.get_pixel(200, 250).0, [0, 0, 255, 255]);

    // Bob gets the commit and then the tiles at the undo's seq.
    assert_eq!(await_op(&mut bob, OpKind::Undo).await, (3, Some(1)));
    bob.binaries.clear();
    while bob.binaries.is_empty() {
        let _ = tokio::time::timeout(Duration::from_millis(200), bob.recv()).await;
    }
    let frame = &bob.binaries[0];
    assert_eq!(
        u64::from_be_bytes(frame[8..16].try_into().expect("8 bytes")),
        3
    );

    ann.send(json!({"type": "redo"})).await;
    assert_eq!(await_op(&mut ann, OpKind::Redo).await, (4, Some(1)));
    let png = canvas_png(&server, &id).await;
    assert_eq!(
        png.get_pixel(100, 100).0,
        [255, 0, 0, 255],
        "redo brings red back"
    );
    assert_eq!(
        png.get_pixel(200, 100).0,
        [0, 0, 255, 255],
        "still under Bob's blue"
    );

    // A new op empties the redo stack; Bob has nothing of his undone to redo.
    ann.send(json!({"type": "undo"})).await;
    await_op(&mut ann, OpKind::Undo).await;
    ann.draw(2, "#00ff00", 4.0, &[[10.0, 10.0, 0.5]]).await;
    ann.await_commit(2).await;
    ann.send(json!({"type": "redo"})).await;
    assert_eq!(error_code(&mut ann).await, ErrorCode::NothingToUndo);
    bob.send(json!({"type": "redo"})).await;
    assert_eq!(error_code(&mut bob).await, ErrorCode::NothingToUndo);
}

/// Clear is an op like any other: it empties the canvas and can be undone.
#[tokio::test]
async fn clear_and_undo_clear() {
    let server = TestServer::start();
    let (id, key) = room(&server, 300, 200).await;
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    ann.draw(
        1,
        "#000000",
        10.0,
        &[[20.0, 100.0, 0.5], [280.0, 100.0, 0.5]],
    )
    .await;
    ann.await_commit(1).await;
    ann.send(json!({"type": "clear", "id": 9})).await;
    assert_eq!(await_op(&mut ann, OpKind::Clear).await, (2, None));
    let png = canvas_png(&server, &id).await;
    assert!(png.pixels().all(|p| p.0 == [255, 255, 255, 255]));
    ann.send(json!({"type": "undo"})).await;
    assert_eq!(await_op(&mut ann, OpKind::Undo).await, (3, Some(2)));
    let png = canvas_png(&server, &id).await;
    assert_eq!(png.get_pixel(150, 100).0, [0, 0, 0, 255]);
}

/// Viewers cannot undo, clear, fill or draw shapes; a fill paints the enclosed area only.
#[tokio::test]
async fn fills_shapes_and_viewer_refusals() {
    let server = TestServer::start();
    let (id, key) = room(&server, 300, 200).await;
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    let (mut vic, _) = Client::join(&server, &id, "Vic", None).await;
    for msg in [
        json!({"type": "undo"}),
        json!({"type": "clear"}),
        json!({"type": "fill", "x": 1, "y": 1, "color": "#ff0000"}),
        json!({"type": "shape", "shape": "rect", "x0": 0, "y0": 0, "x1": 50, "y1": 50, "color": "#ff0000"}),
    ] {
        vic.send(msg).await;
        assert_eq!(error_code(&mut vic).await, ErrorCode::ReadOnly);
    }
    ann.send(json!({"type": "shape", "id": 1, "shape": "rect", "x0": 50, "y0": 50, "x1": 150, "y1": 150, "color": "#000000", "width": 4}))
        .await;
    await_op(&mut ann, OpKind::Shape).await;
    ann.send(
        json!({"type": "fill", "id": 2, "x": 100, "y": 100, "color": "#00ff00", "tolerance": 16}),
    )
    .await;
    await_op(&mut ann, OpKind::Fill).await;
    for bad in [
        json!({"type": "fill", "x": 300, "y": 0, "color": "#00ff00"}),
        json!({"type": "fill", "x": 1, "y": 1, "color": "#00ff00", "tolerance": 256}),
        json!({"type": "shape", "shape": "hexagon", "x0": 0, "y0": 0, "x1": 1, "y1": 1, "color": "#000000"}),
    ] {
        ann.send(bad).await;
        assert_eq!(error_code(&mut ann).await, ErrorCode::BadMessage);
    }
    let png = canvas_png(&server, &id).await;
    assert_eq!(
        png.get_pixel(100, 100).0,
        [0, 255, 0, 255],
        "inside is filled"
    );
    assert_eq!(png.get_pixel(50, 100).0, [0, 0, 0, 255], "the outline");
    assert_eq!(
        png.get_pixel(20, 20).0,
        [255, 255, 255, 255],
        "outside is not"
    );
    // The viewer sees the shape and the fill as tiles.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while vic.binaries.is_empty() && tokio::time::Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_millis(100), vic.recv()).await;
    }
    assert!(!vic.binaries.is_empty(), "the viewer received tiles");
}

/// A client model that keeps a canvas the way the browser does: authoritative tiles, then the
/// strokes committed after each tile's seq replayed over it.
struct Model {
    canvas: Canvas,
    open: BTreeMap<(u64, u32), Stroke>,
    log: Vec<(u64, Op)>,
}

impl Model {
    fn new(w: u32, h: u32) -> Model {
        Model {
            canvas: Canvas::new(w, h).expect("valid size"),
            open: BTreeMap::new(),
            log: Vec::new(),
        }
    }

    fn tile(&mut self, frame: &[u8]) {
        let (id, seq, mut pixmap) = common::decode_tile(&self.canvas, frame);
        for (s, op) in &self.log {
            if *s > seq && self.canvas.prepare(&mut op.clone()).contains(&id) {
                op.render_tile(id, &mut pixmap);
            }
        }
        self.canvas.set_tile(id, Some(Arc::new(pixmap)));
    }

    fn msg(&mut self, msg: ServerMsg<'static>) {
        match msg {
            ServerMsg::StrokeBegin {
                author,
                stroke,
                tool,
                color,
                width,
                points,
            } => {
                let color = parse_color(&color).expect("valid color");
                self.open.insert(
                    (author, stroke),
                    Stroke {
                        tool,
                        color,
                        width,
                        points: points.into_owned(),
                    },
                );
            }
            ServerMsg::StrokePoints {
                author,
                stroke,
                points,
            } => {
                if let Some(s) = self.open.get_mut(&(author, stroke)) {
                    s.points.extend_from_slice(&points);
                }
            }
            ServerMsg::Commit {
                seq,
                author,
                stroke: Some(stroke),
                ..
            } => {
                // Commits of strokes that ended before joining are already in the tiles.
                let Some(s) = self.open.remove(&(author, stroke)) else {
                    return;
                };
                let mut op = Op::Stroke(s);
                self.canvas.apply(&mut op);
                self.log.push((seq, op));
            }
            _ => {}
        }
    }
}

/// While two editors draw without pause and tiles are broadcast every 30 ms, a member joins;
/// its canvas rebuilt from the tiles and the later ops equals the server's export exactly.
#[tokio::test]
async fn late_joiner_rebuilds_the_exact_canvas_while_others_draw() {
    let server = TestServer::with_config(Config {
        snapshot_interval: Duration::from_millis(30),
        // The artists are bots drawing far faster than people: no rate limits here.
        messages_per_second: 1e9,
        message_burst: 1e9,
        ops_per_second: 1e9,
        op_burst: 1e9,
        ..Config::default()
    });
    let (id, key) = room(&server, 600, 400).await;
    let mut artists = Vec::new();
    for (n, color) in ["#e03131", "#1971c280"].into_iter().enumerate() {
        let (mut c, _) = Client::join(&server, &id, "artist", Some(&key)).await;
        artists.push(tokio::spawn(async move {
            for s in 0..150u32 {
                let f = (s * 37 + n as u32 * 101) as f32;
                let pts: Vec<[f32; 3]> = (0..8)
                    .map(|k| {
                        [
                            (f + k as f32 * 45.0) % 600.0,
                            (f * 1.7 + k as f32 * 20.0) % 400.0,
                            0.3 + 0.1 * k as f32,
                        ]
                    })
                    .collect();
                c.draw(s, color, 6.0 + n as f32 * 6.0, &pts).await;
                tokio::time::sleep(Duration::from_millis(4)).await;
            }
            c.await_commit(149).await;
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;

    let mut carol = Client::connect(&server, &id).await;
    carol.send(json!({"type": "hello", "name": "Carol"})).await;
    let mut model = Model::new(600, 400);
    let mut synced = false;
    let mut commits_after = 0;
    loop {
        match carol.next().await {
            common::Frame::Binary(b) => model.tile(&b),
            common::Frame::Msg(ServerMsg::Synced { .. }) => synced = true,
            common::Frame::Msg(m @ ServerMsg::Commit { .. }) => {
                assert!(synced, "commits come after synced");
                commits_after += 1;
                model.msg(m);
            }
            common::Frame::Msg(m) => model.msg(m),
            common::Frame::Closed(c) => panic!("closed {c:?}"),
        }
        if artists.iter().all(|a| a.is_finished()) {
            break;
        }
    }
    for a in artists {
        a.await.expect("artist finished");
    }
    // Drain what is still in flight, including the last tile round.
    while let Ok(frame) = tokio::time::timeout(Duration::from_millis(300), carol.next()).await {
        match frame {
            common::Frame::Binary(b) => model.tile(&b),
            common::Frame::Msg(m) => model.msg(m),
            common::Frame::Closed(_) => break,
        }
    }
    assert!(commits_after > 0, "the joiner saw live commits");
    let want = canvas_png(&server, &id).await;
    let got = common::on_white(&model.canvas);
    common::assert_same_pixels(&got, &want, "the joiner against the server");
}
