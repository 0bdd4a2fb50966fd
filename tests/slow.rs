//! Slow readers: a member that stops reading never holds up the others, the room stops queueing
//! for it (its memory stays bounded), and once it reads again it is resynced in place and ends
//! up with the room's exact canvas.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{canvas_png, decode_tile, http, on_white, Client, Frame, TestServer};
use inkroom::canvas::Canvas;
use inkroom::config::Config;
use inkroom::protocol::ServerMsg;
use serde_json::{json, Value};

const W: u32 = 1600;
const H: u32 = 1000;

async fn room_info(server: &TestServer, id: &str) -> Value {
    let res = http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[]).await;
    assert_eq!(res.status, 200);
    res.json()
}

/// Draws `count` strokes of 4,000 points each, sent 1,000 points a message, waiting for each
/// commit: a heavy but allowed stream of diffs for everyone else.
async fn scribble(c: &mut Client, first: u32, count: u32) {
    for n in first..first + count {
        let (ox, oy) = ((n * 97 % 7) as f32 * 200.0, (n * 31 % 4) as f32 * 200.0);
        let point = |i: u32| {
            let t = i as f32 * 0.05;
            [
                ox + 100.0 + 90.0 * t.sin(),
                oy + 100.0 + 90.0 * (t * 1.3).cos(),
                0.5,
            ]
        };
        let color = format!(
            "#{:02x}{:02x}{:02x}",
            (n * 37) % 256,
            (n * 91) % 256,
            (n * 53) % 256
        );
        c.send(
            json!({"type": "stroke_begin", "stroke": n, "tool": "pen", "color": color,
            "width": 2, "points": point(0)}),
        )
        .await;
        for chunk in 0..4 {
            let points: Vec<f32> = (chunk * 1000 + 1..=chunk * 1000 + 1000)
                .flat_map(point)
                .collect();
            c.send(json!({"type": "stroke_points", "stroke": n, "points": points}))
                .await;
        }
        c.send(json!({"type": "stroke_end", "stroke": n})).await;
        c.await_commit(n).await;
    }
}

#[tokio::test]
async fn a_reader_that_stalls_is_resynced_in_place() {
    let server = TestServer::with_config(Config {
        snapshot_interval: Duration::from_millis(50),
        outbox_frames: 256,
        outbox_bytes: 1024 * 1024,
        // The stall below is long; only the outbox may decide that it is too long.
        client_timeout: Duration::from_secs(120),
        write_timeout: Duration::from_secs(120),
        ..Config::default()
    });
    let room = server
        .create_room(json!({"width": W, "height": H, "background": "#ffffff"}))
        .await;
    let id = room["id"].as_str().expect("id").to_owned();
    let key = room["edit_key"].as_str().expect("key").to_owned();

    // The slow member joins normally, then stops reading.
    let mut slow = Client::connect_small_buffer(&server, &id).await;
    slow.send(json!({"type": "hello", "name": "Slow", "key": key}))
        .await;
    // It is in the middle of a stroke when it stops reading.
    slow.send(
        json!({"type": "stroke_begin", "stroke": 77, "tool": "pen", "color": "#000000",
        "width": 3, "points": [5, 5, 0.5]}),
    )
    .await;
    let editor = |name: &str| json!({"type": "hello", "name": name, "key": key, "batch": true});
    let (mut ann, _) = Client::join_with(&server, &id, editor("Ann")).await;
    let (mut bob, _) = Client::join_with(&server, &id, editor("Bob")).await;
    let _ = ann.recv().await; // Bob joined

    // Two editors draw without pause; the room must not wait for the stalled member. (On a
    // busy machine Ann or Bob may fall behind for a moment too, while the test does not read
    // them between rounds, so the count is at least one, not exactly one; the stalled member
    // proves it lagged by being resynced below.)
    let mut rounds = 0;
    loop {
        tokio::join!(
            scribble(&mut ann, rounds * 100, 10),
            scribble(&mut bob, rounds * 100 + 50, 10)
        );
        rounds += 1;
        if room_info(&server, &id).await["lagging"].as_u64() >= Some(1) {
            break;
        }
        assert!(rounds < 40, "the stalled member never counted as lagging");
    }
    // A few more rounds while it lags: still nothing waits, and nothing piles up for it.
    for _ in 0..2 {
        tokio::join!(
            scribble(&mut ann, rounds * 100, 5),
            scribble(&mut bob, rounds * 100 + 50, 5)
        );
        rounds += 1;
        assert!(room_info(&server, &id).await["lagging"].as_u64() >= Some(1));
    }
    let info = room_info(&server, &id).await;
    let final_seq = info["seq"].as_u64().expect("seq");
    assert_eq!(info["editors"], 3, "the slow member is still in the room");

    // It reads again: a second welcome, the changed tiles and `synced` at the final seq follow
    // whatever was queued before it fell behind.
    let mut canvas = Canvas::new(W, H).expect("canvas size");
    let mut welcomes = 0;
    loop {
        match slow.next().await {
            Frame::Binary(frame) => {
                let (tile, _, pixmap) = decode_tile(&canvas, &frame);
                canvas.set_tile(tile, Some(Arc::new(pixmap)));
            }
            Frame::Msg(ServerMsg::Welcome { resumed, you, .. }) => {
                welcomes += 1;
                slow.id = you;
                if !resumed {
                    canvas = Canvas::new(W, H).expect("canvas size");
                }
            }
            Frame::Msg(ServerMsg::Synced { seq }) if welcomes >= 2 => {
                assert_eq!(seq, final_seq, "resynced at the current seq");
                break;
            }
            Frame::Msg(_) => {}
            Frame::Closed(code) => panic!("the slow member was closed ({code:?})"),
        }
    }
    assert!(welcomes >= 2, "the stalled member was resynced in place");
    common::assert_same_pixels(
        &on_white(&canvas),
        &canvas_png(&server, &id).await,
        "the resynced member's canvas",
    );

    // Its client re-sends the stroke it held back while out of sync: the same id restarts it.
    slow.draw(77, "#000000", 3.0, &[[5.0, 5.0, 0.5], [60.0, 40.0, 0.5]])
        .await;
    slow.await_commit(77).await;

    // Live again: it hears the next stroke.
    scribble(&mut ann, 9_000, 1).await;
    loop {
        if let ServerMsg::Commit {
            stroke: Some(9_000),
            ..
        } = slow.recv().await
        {
            break;
        }
    }
}
