//! Time travel through real sockets: the canvas at every seq is what the room showed then,
//! after a restart too; restore and its undo; timelapses; and clear 400s for bad requests.

mod common;

use common::{assert_same_pixels, http, Client, TempDir, TestServer};
use inkroom::config::Config;
use inkroom::protocol::{ErrorCode, OpKind, ServerMsg};
use serde_json::{json, Value};

fn config(dir: &TempDir) -> Config {
    Config {
        data_dir: dir.0.clone(),
        // Small windows so the test crosses many keyframes, checkpoints and bases.
        history_window: 12,
        checkpoint_every: 2,
        undo_depth: 4,
        keyframe_every: 3,
        ..Config::default()
    }
}

/// The PNG at `path`, decoded, and its `X-Inkroom-Seq`.
async fn png(server: &TestServer, path: &str) -> (image::RgbaImage, Option<u64>) {
    let res = http(server.addr, "GET", path, None, &[]).await;
    assert_eq!(res.status, 200, "{path}: {}", res.text());
    let seq = res.header("x-inkroom-seq").and_then(|s| s.parse().ok());
    let img = image::load_from_memory(&res.body)
        .expect("valid PNG")
        .to_rgba8();
    (img, seq)
}

/// The frames of an APNG, composited.
fn apng(body: &[u8]) -> Vec<image::Frame> {
    use image::AnimationDecoder;
    image::codecs::png::PngDecoder::new(std::io::Cursor::new(body))
        .expect("a PNG")
        .apng()
        .expect("an APNG")
        .into_frames()
        .collect::<Result<_, _>>()
        .expect("frames decode")
}

/// The composited pictures of an APNG's frames.
fn apng_frames(body: &[u8]) -> Vec<image::RgbaImage> {
    apng(body)
        .into_iter()
        .map(image::Frame::into_buffer)
        .collect()
}

async fn join(server: &TestServer, room: &str, key: &str, user: &str) -> Client {
    let hello = json!({"type": "hello", "name": user, "key": key, "user": user});
    Client::join_with(server, room, hello).await.0
}

/// Draws, fills, undoes, redoes and clears with two people, recording the canvas the room
/// shows after every op; then, before and after a restart, `canvas.png?seq=N` equals each one
/// pixel for pixel, `?at=` finds the op of a time, and `/history` describes it all.
#[tokio::test]
async fn the_canvas_at_every_seq_is_what_the_room_showed() {
    let dir = TempDir::new();
    let server = TestServer::with_config(config(&dir));
    let room = server
        .create_room(json!({"name": "Growing", "width": 600, "height": 400}))
        .await;
    let id = room["id"].as_str().expect("id").to_owned();
    let key = room["edit_key"].as_str().expect("key").to_owned();
    let mut ann = join(&server, &id, &key, "ann").await;
    let mut bob = join(&server, &id, &key, "bob").await;
    let (blank, _) = png(&server, &format!("/api/rooms/{id}/canvas.png")).await;
    let mut shown = vec![blank];
    for i in 0..40u32 {
        let f = i as f32;
        let seq = match i % 10 {
            4 => {
                ann.send(json!({"type": "undo"})).await;
                ann.await_op(OpKind::Undo).await
            }
            5 => {
                bob.send(json!({"type": "fill", "x": 5, "y": 395, "color": "#ffd43b"}))
                    .await;
                bob.await_op(OpKind::Fill).await
            }
            6 => {
                ann.send(json!({"type": "redo"})).await;
                ann.await_op(OpKind::Redo).await
            }
            9 if i == 29 => {
                bob.send(json!({"type": "clear"})).await;
                bob.await_op(OpKind::Clear).await
            }
            _ => {
                let c = if i % 3 == 0 { &mut bob } else { &mut ann };
                let pts = [
                    [10.0 + f * 13.0, 20.0, 0.3],
                    [300.0, 380.0 - f * 7.0, 0.9],
                    [590.0 - f * 11.0, 200.0, 0.5],
                ];
                c.draw(
                    i,
                    if i % 2 == 0 { "#1971c2" } else { "#e0313199" },
                    9.0,
                    &pts,
                )
                .await;
                c.await_commit(i).await
            }
        };
        let (img, at) = png(&server, &format!("/api/rooms/{id}/canvas.png")).await;
        assert_eq!(at, Some(seq));
        assert_eq!(seq as usize, shown.len());
        shown.push(img);
    }
    let last = shown.len() as u64 - 1;
    let check_all = |server: TestServer, shown: Vec<image::RgbaImage>, id: String| async move {
        for (seq, want) in shown.iter().enumerate() {
            let (got, at) = png(&server, &format!("/api/rooms/{id}/canvas.png?seq={seq}")).await;
            assert_eq!(at, Some(seq as u64));
            assert_same_pixels(&got, want, &format!("the canvas at seq {seq}"));
        }
        server
    };
    let server = check_all(server, shown.clone(), id.clone()).await;

    // The history: from 0 to the last seq, with times.
    let info = http(
        server.addr,
        "GET",
        &format!("/api/rooms/{id}/history"),
        None,
        &[],
    )
    .await
    .json();
    assert_eq!(
        (info["from"].as_u64(), info["seq"].as_u64()),
        (Some(0), Some(last))
    );
    assert_eq!(info["restore"], "owner");
    let marks = info["marks"].as_array().expect("marks");
    assert_eq!(
        marks.len() as u64,
        last + 1,
        "every seq of a short history is a mark"
    );
    let time_of = |m: &Value| {
        inkroom::history::time::parse_rfc3339(m["at"].as_str().expect("a time")).expect("RFC 3339")
    };
    assert!(marks.windows(2).all(|w| time_of(&w[0]) <= time_of(&w[1])));
    // `at` finds the last op committed at or before a time.
    let mark = &marks[20];
    let at = mark["at"].as_str().expect("a time");
    let (got, seq) = png(&server, &format!("/api/rooms/{id}/canvas.png?at={at}")).await;
    let seq = seq.expect("seq header");
    assert!(seq >= 20 && time_of(&marks[seq as usize]) == time_of(mark));
    assert_same_pixels(&got, &shown[seq as usize], "the canvas at a time");
    // A timelapse of every seq walks forward through the same history: each frame is what the
    // room showed (undos and redos that reach behind a keyframe it jumped to included).
    let lapse = http(
        server.addr,
        "GET",
        &format!(
            "/api/rooms/{id}/timelapse.png?frames={}&scale=0.25",
            last + 1
        ),
        None,
        &[],
    )
    .await;
    assert_eq!(lapse.status, 200, "{}", lapse.text());
    let frames = apng_frames(&lapse.body);
    assert_eq!(frames.len() as u64, last + 1);
    for (seq, frame) in frames.iter().enumerate() {
        let path = format!("/api/rooms/{id}/canvas.png?seq={seq}&scale=0.25");
        let (want, _) = png(&server, &path).await;
        assert_same_pixels(frame, &want, &format!("timelapse frame {seq}"));
    }
    drop(ann);
    drop(bob);
    drop(server);

    // After a restart the room loads from its base keyframe to the same canvas, and the store
    // gives the same history.
    let server = TestServer::with_config(config(&dir));
    let (now, seq) = png(&server, &format!("/api/rooms/{id}/canvas.png")).await;
    assert_eq!(seq, Some(last));
    assert_same_pixels(
        &now,
        &shown[last as usize],
        "the room loaded after a restart",
    );
    let server = check_all(server, shown.clone(), id.clone()).await;

    // Drawing on after the restart: the keyframes the reloaded room stores (the first carries
    // every tile) keep the history exact, through another restart.
    let mut ann = join(&server, &id, &key, "ann").await;
    for i in 40..52u32 {
        let seq = if i % 4 == 3 {
            ann.send(json!({"type": "undo"})).await;
            ann.await_op(OpKind::Undo).await
        } else {
            let y = 30.0 + (i - 40) as f32 * 29.0;
            ann.draw(
                i,
                "#2f9e44",
                7.0,
                &[[20.0, y, 0.5], [580.0, 400.0 - y, 0.5]],
            )
            .await;
            ann.await_commit(i).await
        };
        let (img, at) = png(&server, &format!("/api/rooms/{id}/canvas.png")).await;
        assert_eq!(at, Some(seq));
        assert_eq!(seq as usize, shown.len());
        shown.push(img);
    }
    drop(ann);
    drop(server);
    let server = TestServer::with_config(config(&dir));
    let last = shown.len() as u64 - 1;
    let (now, seq) = png(&server, &format!("/api/rooms/{id}/canvas.png")).await;
    assert_eq!(seq, Some(last));
    assert_same_pixels(
        &now,
        &shown[last as usize],
        "the room after a second restart",
    );
    check_all(server, shown, id).await;
}

/// The owner restores an earlier moment as one op; everyone's canvas is the earlier one; the
/// owner's undo takes it back; editors may not restore on a board with an owner; a seq the
/// board never had is `bad_message`; a viewer gets `read_only`.
#[tokio::test]
async fn restore_and_its_undo() {
    let dir = TempDir::new();
    let server = TestServer::with_config(config(&dir));
    let room = server
        .create_room(json!({"width": 400, "height": 300}))
        .await;
    let id = room["id"].as_str().expect("id").to_owned();
    let key = room["edit_key"].as_str().expect("key").to_owned();
    let owner_key = room["owner_key"].as_str().expect("owner key").to_owned();
    let mut olga = join(&server, &id, &owner_key, "olga").await;
    let mut ed = join(&server, &id, &key, "ed").await;
    let (mut vic, _) = Client::join(&server, &id, "vic", None).await;
    ed.draw(1, "#000000", 12.0, &[[20.0, 50.0, 0.5], [380.0, 50.0, 0.5]])
        .await;
    ed.await_commit(1).await;
    let (first, _) = png(&server, &format!("/api/rooms/{id}/canvas.png")).await;
    for i in 2..8u32 {
        let y = 40.0 * i as f32;
        ed.draw(i, "#e03131", 12.0, &[[20.0, y, 0.5], [380.0, y, 0.5]])
            .await;
        ed.await_commit(i).await;
    }
    let (before, _) = png(&server, &format!("/api/rooms/{id}/canvas.png")).await;

    ed.send(json!({"type": "restore", "id": 3, "seq": 1})).await;
    assert_eq!(ed.await_error().await, ErrorCode::Forbidden);
    vic.send(json!({"type": "restore", "id": 3, "seq": 1}))
        .await;
    assert_eq!(vic.await_error().await, ErrorCode::ReadOnly);
    olga.send(json!({"type": "restore", "id": 4, "seq": 99}))
        .await;
    assert_eq!(olga.await_error().await, ErrorCode::BadMessage);

    olga.send(json!({"type": "restore", "id": 5, "seq": 1}))
        .await;
    let seq = loop {
        if let ServerMsg::Commit { seq, op, id, .. } = olga.recv().await {
            if op == OpKind::Restore {
                assert_eq!(id, Some(5));
                break seq;
            }
        }
    };
    assert_eq!(seq, 8);
    let (now, _) = png(&server, &format!("/api/rooms/{id}/canvas.png")).await;
    assert_same_pixels(&now, &first, "the board after restoring seq 1");
    olga.send(json!({"type": "undo"})).await;
    assert_eq!(olga.await_op(OpKind::Undo).await, 9);
    let (undone, _) = png(&server, &format!("/api/rooms/{id}/canvas.png")).await;
    assert_same_pixels(&undone, &before, "the board after undoing the restore");
    olga.send(json!({"type": "redo"})).await;
    olga.await_op(OpKind::Redo).await;
    drop((olga, ed, vic));
    drop(server);

    // The restore replays after a restart.
    let server = TestServer::with_config(config(&dir));
    let (got, seq) = png(&server, &format!("/api/rooms/{id}/canvas.png")).await;
    assert_eq!(seq, Some(10));
    assert_same_pixels(&got, &first, "the restored board after a restart");
    let (got, _) = png(&server, &format!("/api/rooms/{id}/canvas.png?seq=9")).await;
    assert_same_pixels(&got, &before, "seq 9 (the undo) after a restart");
}

/// A timelapse decodes as an APNG with the frames asked for, at the size asked for, the last
/// frame the current canvas; bad parameters get clear 400s.
#[tokio::test]
async fn timelapses_and_bad_requests() {
    let dir = TempDir::new();
    let server = TestServer::with_config(config(&dir));
    let room = server
        .create_room(json!({"name": "Lapse", "width": 320, "height": 200}))
        .await;
    let id = room["id"].as_str().expect("id").to_owned();
    let key = room["edit_key"].as_str().expect("key").to_owned();
    let mut ann = join(&server, &id, &key, "ann").await;
    for i in 0..12u32 {
        let x = 20.0 + 25.0 * i as f32;
        ann.draw(i, "#2f9e44", 10.0, &[[x, 20.0, 0.5], [x, 180.0, 0.5]])
            .await;
        ann.await_commit(i).await;
    }
    let lapse = http(
        server.addr,
        "GET",
        &format!("/api/rooms/{id}/timelapse.png?frames=5&scale=0.5&duration=2"),
        None,
        &[],
    )
    .await;
    let res = &lapse;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("x-inkroom-frames"), Some("5"));
    assert!(res
        .header("content-disposition")
        .is_some_and(|d| d.contains("Lapse-timelapse.png")));
    let frames: Vec<image::Frame> = apng(&res.body);
    assert_eq!(frames.len(), 5);
    for f in &frames {
        assert_eq!(f.buffer().dimensions(), (160, 100));
        let (n, d) = f.delay().numer_denom_ms();
        assert_eq!(n / d, 400);
    }
    let (current, _) = png(&server, &format!("/api/rooms/{id}/canvas.png?scale=0.5")).await;
    assert_same_pixels(
        frames[4].buffer(),
        &current,
        "the last frame is the current canvas",
    );
    let (first, _) = png(
        &server,
        &format!("/api/rooms/{id}/canvas.png?scale=0.5&seq=0"),
    )
    .await;
    assert_same_pixels(
        frames[0].buffer(),
        &first,
        "the first frame is the blank board",
    );

    for (query, what) in [
        ("canvas.png?seq=13", "seq beyond the board"),
        ("canvas.png?seq=-1", "negative seq"),
        ("canvas.png?seq=abc", "seq not a number"),
        ("canvas.png?at=yesterday", "bad time"),
        (
            "canvas.png?at=1999-01-01T00:00:00Z",
            "time before the board",
        ),
        ("canvas.png?seq=1&at=2026-12-01T00:00:00Z", "seq and at"),
        ("timelapse.png?frames=0", "no frames"),
        ("timelapse.png?frames=1001", "frames over the limit"),
        ("timelapse.png?scale=9", "scale over the limit"),
        ("timelapse.png?duration=0", "no duration"),
        ("timelapse.png?from=5&to=2", "from after to"),
        ("timelapse.png?to=99", "to beyond the board"),
        ("timelapse.png?background=red", "bad background"),
    ] {
        let res = http(
            server.addr,
            "GET",
            &format!("/api/rooms/{id}/{query}"),
            None,
            &[],
        )
        .await;
        assert_eq!(res.status, 400, "{what}: {}", res.text());
        assert_eq!(res.json()["error"]["code"], "bad_request", "{what}");
    }
    let nobody = "/api/rooms/00000000-0000-4000-8000-000000000000";
    for path in ["history", "timelapse.png", "canvas.png?seq=0"] {
        let res = http(server.addr, "GET", &format!("{nobody}/{path}"), None, &[]).await;
        assert_eq!(res.status, 404, "{path}");
    }
    drop(ann);
    drop(server);

    // `inkroom timelapse` with the server stopped writes the same file.
    let out = dir.0.join("board.png");
    let run = |room: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_inkroom"))
            .arg("timelapse")
            .arg("--data-dir")
            .arg(&dir.0)
            .args([
                "--room",
                room,
                "--frames",
                "5",
                "--scale",
                "0.5",
                "--duration",
                "2",
            ])
            .arg("--out")
            .arg(&out)
            .output()
            .expect("runs")
    };
    let done = run(&id);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(std::fs::read(&out).expect("written"), lapse.body.to_vec());
    let missing = run("00000000-0000-4000-8000-000000000000");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no room"));
}
