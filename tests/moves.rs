//! Selection moves through real sockets: the same pixels in the server's canvas (PNG export), in
//! a late joiner's tiles, after undo and redo by the author and after a restart; and refusals of
//! bad or unauthorized moves.

mod common;

use common::{assert_same_pixels, canvas_png, decode_tile, on_white, Client, TempDir, TestServer};
use inkroom::canvas::{Canvas, Move, Op, Rgba, Selection, Shape, ShapeKind, Stroke, Tool};
use inkroom::config::Config;
use inkroom::protocol::{ErrorCode, OpKind, ServerMsg};
use serde_json::{json, Value};

const W: u32 = 600;
const H: u32 = 300;

/// The ops the test sends, as JSON for the wire and as the op the model canvas applies.
fn script() -> Vec<(Value, Op)> {
    let red = Rgba {
        r: 0xe0,
        g: 0x31,
        b: 0x31,
        a: 255,
    };
    let mv = |selection: Selection, dx: f32, dy: f32, scale: f32, delete: bool| {
        Op::Move(Move {
            selection,
            dx,
            dy,
            scale,
            delete,
            lifted: None,
        })
    };
    vec![
        (
            json!({"type": "shape", "id": 1, "shape": "rect", "x0": 20, "y0": 20, "x1": 140,
                   "y1": 120, "color": "#e03131", "fill": true}),
            Op::Shape(Shape {
                kind: ShapeKind::Rect,
                x0: 20.0,
                y0: 20.0,
                x1: 140.0,
                y1: 120.0,
                color: red,
                width: 4.0,
                filled: true,
            }),
        ),
        (
            json!({"type": "stroke", "points": [10, 200, 0.5, 300, 260, 0.5, 590, 180, 0.5]}),
            Op::Stroke(Stroke {
                tool: Tool::Pen,
                color: Rgba {
                    r: 0x19,
                    g: 0x71,
                    b: 0xc2,
                    a: 255,
                },
                width: 10.0,
                points: vec![10.0, 200.0, 0.5, 300.0, 260.0, 0.5, 590.0, 180.0, 0.5],
            }),
        ),
        (
            json!({"type": "move", "id": 2, "rect": [10, 10, 140, 120], "dx": 300, "dy": 20}),
            mv(
                Selection::Rect([10.0, 10.0, 140.0, 120.0]),
                300.0,
                20.0,
                1.0,
                false,
            ),
        ),
        (
            json!({"type": "move", "id": 3, "lasso": [0, 150, 320, 170, 300, 290, 20, 280],
                   "dx": 10, "dy": -140, "scale": 0.5}),
            mv(
                Selection::Lasso(vec![0.0, 150.0, 320.0, 170.0, 300.0, 290.0, 20.0, 280.0]),
                10.0,
                -140.0,
                0.5,
                false,
            ),
        ),
        (
            json!({"type": "move", "id": 4, "rect": [300, 20, 150, 60], "dx": 0, "dy": 0,
                   "delete": true}),
            mv(
                Selection::Rect([300.0, 20.0, 150.0, 60.0]),
                0.0,
                0.0,
                1.0,
                true,
            ),
        ),
        (
            json!({"type": "move", "id": 5, "lasso": [320, 80, 460, 80, 390, 150],
                   "dx": -250, "dy": 100, "scale": 1.7}),
            mv(
                Selection::Lasso(vec![320.0, 80.0, 460.0, 80.0, 390.0, 150.0]),
                -250.0,
                100.0,
                1.7,
                false,
            ),
        ),
    ]
}

/// Sends one scripted op and waits for its commit.
async fn send_op(c: &mut Client, i: u32, msg: &Value) {
    if msg["type"] == "stroke" {
        let flat: Vec<f32> = msg["points"]
            .as_array()
            .expect("points")
            .iter()
            .map(|v| v.as_f64().expect("number") as f32)
            .collect();
        let pts: Vec<[f32; 3]> = flat.chunks(3).map(|p| [p[0], p[1], p[2]]).collect();
        c.draw(100 + i, "#1971c2", 10.0, &pts).await;
        c.await_commit(100 + i).await;
        return;
    }
    c.send(msg.clone()).await;
    let want = msg["id"].as_u64().expect("an id") as u32;
    loop {
        match c.recv().await {
            ServerMsg::Commit { id: Some(id), .. } if id == want => return,
            ServerMsg::Error { code, message, .. } => panic!("{msg}: {code:?} {message}"),
            _ => {}
        }
    }
}

async fn await_op(c: &mut Client, op: OpKind) {
    loop {
        match c.recv().await {
            ServerMsg::Commit { op: o, .. } if o == op => return,
            ServerMsg::Error { code, message, .. } => panic!("{code:?} {message}"),
            _ => {}
        }
    }
}

/// Builds the canvas a joiner sees from its tile frames.
fn from_tiles(binaries: &[Vec<u8>]) -> image::RgbaImage {
    let mut canvas = Canvas::new(W, H).expect("valid size");
    for frame in binaries {
        let (id, _, pixmap) = decode_tile(&canvas, frame);
        canvas.set_tile(id, Some(std::sync::Arc::new(pixmap)));
    }
    on_white(&canvas)
}

/// Rect and lasso moves, scaled and not, and a delete: the server's PNG, a late joiner's tiles
/// and the canvas after a restart all equal a local canvas that applied the same ops; the
/// author's undo and redo of the last move restore the pixels before and after it.
#[tokio::test]
async fn moves_render_the_same_everywhere() {
    let dir = TempDir::new();
    let config = || Config {
        data_dir: dir.0.clone(),
        ..Config::default()
    };
    let mut model = Canvas::new(W, H).expect("valid size");
    let (id, after) = {
        let server = TestServer::with_config(config());
        let room = server
            .create_room(json!({"width": W, "height": H, "background": "#ffffff"}))
            .await;
        let id = room["id"].as_str().expect("id").to_owned();
        let key = room["edit_key"].as_str().expect("key").to_owned();
        let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
        let mut before_last = None;
        let ops = script();
        let n = ops.len();
        for (i, (msg, mut op)) in ops.into_iter().enumerate() {
            if i + 1 == n {
                before_last = Some(on_white(&model));
            }
            send_op(&mut ann, i as u32, &msg).await;
            model.apply(&mut op);
        }
        let want = on_white(&model);
        let after = canvas_png(&server, &id).await;
        assert_same_pixels(&after, &want, "the server's canvas after the moves");

        let (bob, _) = Client::join(&server, &id, "Bob", None).await;
        assert_same_pixels(&from_tiles(&bob.binaries), &want, "a late joiner's tiles");

        ann.send(json!({"type": "undo"})).await;
        await_op(&mut ann, OpKind::Undo).await;
        let undone = canvas_png(&server, &id).await;
        let before_last = before_last.expect("the script has ops");
        assert_same_pixels(&undone, &before_last, "after undoing the last move");
        ann.send(json!({"type": "redo"})).await;
        await_op(&mut ann, OpKind::Redo).await;
        assert_same_pixels(
            &canvas_png(&server, &id).await,
            &want,
            "after redoing the last move",
        );
        (id, after)
    };
    let server = TestServer::with_config(config());
    assert_same_pixels(
        &canvas_png(&server, &id).await,
        &after,
        "the canvas after a restart",
    );
}

/// A bad move is `bad_message` (or `too_large` for a long lasso) and changes nothing; a viewer's
/// move is `read_only`.
#[tokio::test]
async fn bad_and_unauthorized_moves_are_refused() {
    let server = TestServer::start();
    let room = server
        .create_room(json!({"width": 400, "height": 300}))
        .await;
    let id = room["id"].as_str().expect("id").to_owned();
    let key = room["edit_key"].as_str().expect("key").to_owned();
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    let long: Vec<f32> = (0..2 * 2001).map(|i| (i % 200) as f32).collect();
    for (msg, code) in [
        (
            json!({"type": "move", "rect": [1, 2, 3, 4], "dx": 1, "dy": 2, "scale": 20}),
            ErrorCode::BadMessage,
        ),
        (
            json!({"type": "move", "rect": [1, 2, 3, 4], "lasso": [1, 2, 3, 4, 5, 6],
                   "dx": 1, "dy": 2}),
            ErrorCode::BadMessage,
        ),
        (
            json!({"type": "move", "rect": [1e9, 2, 3, 4], "dx": 1, "dy": 2}),
            ErrorCode::BadMessage,
        ),
        (
            json!({"type": "move", "rect": [1, 2, 3, 4], "dx": 1e39, "dy": 2}),
            ErrorCode::BadMessage,
        ),
        (
            json!({"type": "move", "lasso": long, "dx": 1, "dy": 2}),
            ErrorCode::TooLarge,
        ),
    ] {
        ann.send(msg.clone()).await;
        assert_eq!(next_error(&mut ann).await, code, "{msg}");
    }
    let (mut vic, _) = Client::join(&server, &id, "Vic", None).await;
    vic.send(json!({"type": "move", "rect": [1, 2, 3, 4], "dx": 1, "dy": 2}))
        .await;
    assert_eq!(next_error(&mut vic).await, ErrorCode::ReadOnly);
}

/// The code of the next error; a commit before it fails the test.
async fn next_error(c: &mut Client) -> ErrorCode {
    loop {
        match c.recv().await {
            ServerMsg::Error { code, .. } => return code,
            ServerMsg::Commit { .. } => panic!("a refused move was committed"),
            _ => {}
        }
    }
}

/// Another member gets the move's tiles right after its commit: where the pixels were and where
/// they landed, both at the move's seq.
#[tokio::test]
async fn members_get_the_source_and_destination_tiles() {
    let server = TestServer::start();
    let room = server
        .create_room(json!({"width": W, "height": H, "background": "#ffffff"}))
        .await;
    let id = room["id"].as_str().expect("id").to_owned();
    let key = room["edit_key"].as_str().expect("key").to_owned();
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    let (mut bob, _) = Client::join(&server, &id, "Bob", None).await;
    let (msg, _) = script().swap_remove(0);
    send_op(&mut ann, 0, &msg).await;
    // A rectangle in tile column 0 (x 10 to 150), moved into column 2 (x 520 to 600, cut off
    // at the canvas's edge); column 1 does not change.
    send_op(
        &mut ann,
        1,
        &json!({"type": "move", "id": 9, "rect": [10, 10, 140, 120], "dx": 510, "dy": 0}),
    )
    .await;
    let canvas = Canvas::new(W, H).expect("valid size");
    let mut move_seq = None;
    let mut tiles = std::collections::BTreeSet::new();
    while tiles.len() < 2 {
        match bob.next().await {
            common::Frame::Msg(ServerMsg::Commit {
                seq,
                op: OpKind::Move,
                ..
            }) => move_seq = Some(seq),
            common::Frame::Binary(frame) => {
                let (tile, seq, _) = decode_tile(&canvas, &frame);
                if Some(seq) == move_seq {
                    tiles.insert((tile.row, tile.col));
                }
            }
            common::Frame::Closed(code) => panic!("closed: {code:?}"),
            common::Frame::Msg(_) => {}
        }
    }
    assert_eq!(tiles.into_iter().collect::<Vec<_>>(), vec![(0, 0), (0, 2)]);
}
