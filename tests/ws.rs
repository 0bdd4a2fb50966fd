//! The WebSocket protocol through real sockets: joining, live relay, commits, roles and errors.

mod common;

use common::{canvas_png, Client, TestServer};
use inkroom::protocol::{close, ErrorCode, Role, ServerMsg};
use serde_json::json;

async fn room(server: &TestServer) -> (String, String) {
    let room = server
        .create_room(json!({"width": 400, "height": 300, "background": "#ffffff"}))
        .await;
    (
        room["id"].as_str().expect("id").to_owned(),
        room["edit_key"].as_str().expect("key").to_owned(),
    )
}

fn expect_error(msg: ServerMsg<'static>, code: ErrorCode) {
    match msg {
        ServerMsg::Error {
            code: c, message, ..
        } => {
            assert_eq!(c, code, "{message}");
            assert!(!message.is_empty());
        }
        other => panic!("expected error {code:?}, got {other:?}"),
    }
}

/// An editor (with the key) and a viewer (without) get `welcome` with their roles, the members
/// list and the seq, then `synced`; the editor is told when the viewer joins.
#[tokio::test]
async fn editor_and_viewer_join() {
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    let (mut ann, welcome) = Client::join(&server, &id, "Ann", Some(&key)).await;
    let ServerMsg::Welcome {
        role,
        room,
        seq,
        members,
        you,
        resumed,
        viewers,
    } = welcome
    else {
        unreachable!()
    };
    assert_eq!(role, Role::Editor);
    assert_eq!(viewers, 0);
    assert_eq!((room.width, room.height, seq), (400, 300, 0));
    assert!(!resumed, "a first connection gets the whole canvas");
    assert_eq!(members.len(), 1);
    assert_eq!((members[0].id, members[0].name.as_str()), (you, "Ann"));

    let (vic, welcome) = Client::join(&server, &id, "Vic", None).await;
    let ServerMsg::Welcome { role, members, .. } = welcome else {
        unreachable!()
    };
    assert_eq!(role, Role::Viewer);
    assert_eq!(members.len(), 2);
    match ann.recv().await {
        ServerMsg::MemberJoined { member } => {
            assert_eq!((member.id, member.role), (vic.id, Role::Viewer));
            assert_eq!(member.name, "Vic");
        }
        other => panic!("expected member_joined, got {other:?}"),
    }
    drop(vic);
    assert!(matches!(ann.recv().await, ServerMsg::MemberLeft { .. }));
}

/// Every other member receives stroke_begin, stroke_points and stroke_end as they arrive, with
/// the author added; the author gets none of its own relay, only the commit.
#[tokio::test]
async fn strokes_are_relayed_live_with_author() {
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    let (mut bob, _) = Client::join(&server, &id, "Bob", Some(&key)).await;
    let (mut vic, _) = Client::join(&server, &id, "Vic", None).await;
    let _ = ann.recv().await; // Bob joined
    let _ = ann.recv().await; // Vic joined
    let _ = bob.recv().await; // Vic joined

    ann.send(json!({"type":"stroke_begin","stroke":7,"tool":"pen","color":"#ff0000","width":6,"points":[10,10,0.5]}))
        .await;
    for watcher in [&mut bob, &mut vic] {
        match watcher.recv().await {
            ServerMsg::StrokeBegin {
                author,
                stroke,
                color,
                width,
                points,
                ..
            } => {
                assert_eq!(
                    (author, stroke, color.as_ref(), width),
                    (ann.id, 7, "#ff0000", 6.0)
                );
                assert_eq!(points.as_ref(), &[10.0, 10.0, 0.5]);
            }
            other => panic!("expected stroke_begin, got {other:?}"),
        }
    }
    // Points arrive before the stroke ends: live, not after pointer-up.
    ann.send(json!({"type":"stroke_points","stroke":7,"points":[50,20,0.5,90,30,0.75]}))
        .await;
    for watcher in [&mut bob, &mut vic] {
        match watcher.recv().await {
            ServerMsg::StrokePoints {
                author,
                stroke,
                points,
            } => {
                assert_eq!((author, stroke), (ann.id, 7));
                assert_eq!(points.as_ref(), &[50.0, 20.0, 0.5, 90.0, 30.0, 0.75]);
            }
            other => panic!("expected stroke_points, got {other:?}"),
        }
    }
    ann.send(json!({"type":"stroke_end","stroke":7})).await;
    for watcher in [&mut bob, &mut vic] {
        assert!(
            matches!(watcher.recv().await, ServerMsg::StrokeEnd { author, stroke: 7 } if author == ann.id)
        );
        assert!(
            matches!(watcher.recv().await, ServerMsg::Commit { seq: 1, author, stroke: Some(7), .. } if author == ann.id)
        );
    }
    // The author sees only its commit.
    assert!(matches!(
        ann.recv().await,
        ServerMsg::Commit {
            seq: 1,
            stroke: Some(7),
            ..
        }
    ));
}

/// Commits carry seq 1, 2, 3, ... in the order strokes end, across authors, and everyone sees
/// the same order.
#[tokio::test]
async fn commits_are_ordered_by_seq() {
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    let (mut bob, _) = Client::join(&server, &id, "Bob", Some(&key)).await;
    let _ = ann.recv().await;
    for i in 0..5u32 {
        ann.draw(
            i,
            "#000000",
            3.0,
            &[[10.0, 10.0 + i as f32, 0.5], [20.0, 20.0, 0.5]],
        )
        .await;
        bob.draw(100 + i, "#0000ff", 3.0, &[[30.0, 30.0, 0.5]])
            .await;
    }
    let mut seen = [Vec::new(), Vec::new()];
    for (client, seen) in [&mut ann, &mut bob].into_iter().zip(seen.iter_mut()) {
        while seen.len() < 10 {
            if let ServerMsg::Commit {
                seq,
                author,
                stroke: Some(stroke),
                ..
            } = client.recv().await
            {
                seen.push((seq, author, stroke));
            }
        }
    }
    assert_eq!(seen[0], seen[1], "everyone sees the same order");
    let seqs: Vec<u64> = seen[0].iter().map(|c| c.0).collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
    // Each author's strokes commit in the order that author ended them.
    let anns: Vec<u32> = seen[0]
        .iter()
        .filter(|c| c.1 == ann.id)
        .map(|c| c.2)
        .collect();
    assert_eq!(anns, vec![0, 1, 2, 3, 4]);
    let info = common::http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[])
        .await
        .json();
    assert_eq!(info["seq"], 10);
}

/// A viewer's drawing messages are refused with `read_only`, nobody sees them, and the canvas
/// stays as it was.
#[tokio::test]
async fn viewer_cannot_draw() {
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    let (mut vic, _) = Client::join(&server, &id, "Vic", None).await;
    let _ = ann.recv().await;
    let before = canvas_png(&server, &id).await;

    vic.send(json!({"type":"stroke_begin","stroke":1,"tool":"pen","color":"#000000","width":40,"points":[100,100,1]}))
        .await;
    expect_error(vic.recv().await, ErrorCode::ReadOnly);
    vic.send(json!({"type":"stroke_points","stroke":1,"points":[200,200,1]}))
        .await;
    expect_error(vic.recv().await, ErrorCode::ReadOnly);
    vic.send(json!({"type":"stroke_end","stroke":1})).await;
    expect_error(vic.recv().await, ErrorCode::ReadOnly);
    // A key-less viewer cannot sneak in a second hello either.
    vic.send(json!({"type":"hello","name":"x"})).await;
    expect_error(vic.recv().await, ErrorCode::NotHello);

    ann.expect_quiet(300).await;
    assert_eq!(canvas_png(&server, &id).await, before);
    let info = common::http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[])
        .await
        .json();
    assert_eq!(info["seq"], 0);
    // The viewer is still connected and follows the editor's strokes.
    ann.draw(1, "#000000", 4.0, &[[10.0, 10.0, 0.5]]).await;
    assert!(matches!(vic.recv().await, ServerMsg::StrokeBegin { .. }));
}

/// A wrong key gets `bad_key` and the connection is closed with code 4001.
#[tokio::test]
async fn wrong_key_is_refused_and_closed() {
    let server = TestServer::start();
    let (id, _) = room(&server).await;
    let mut c = Client::connect(&server, &id).await;
    c.send(json!({"type":"hello","name":"Mallory","key":"0123456789abcdef0123456789abcdef"}))
        .await;
    expect_error(c.recv().await, ErrorCode::BadKey);
    assert_eq!(c.expect_close().await, Some(close::BAD_KEY));
}

/// Garbage gets `bad_message`, and the same connection then draws normally.
#[tokio::test]
async fn garbage_is_refused_and_the_connection_stays_usable() {
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    for bad in [
        "this is not json",
        "{\"type\":",
        "[1,2,3]",
        "{\"type\":\"teleport\"}",
        "{\"type\":\"stroke_begin\",\"stroke\":1,\"tool\":\"pen\",\"color\":\"blue\",\"width\":4}",
        "{\"type\":\"stroke_begin\",\"stroke\":1,\"tool\":\"pen\",\"color\":\"#000000\",\"width\":4,\"points\":[1,2]}",
        "{\"type\":\"stroke_begin\",\"stroke\":1,\"tool\":\"pen\",\"color\":\"#000000\",\"width\":1e30}",
        "{\"type\":\"stroke_begin\",\"stroke\":1,\"tool\":\"pen\",\"color\":\"#000000\",\"width\":4,\"points\":[1e30,2,0.5]}",
        "{\"type\":\"cursor\",\"x\":\"left\",\"y\":0}",
    ] {
        ann.send_text(bad).await;
        expect_error(ann.recv().await, ErrorCode::BadMessage);
    }
    ann.send_binary(vec![1, 2, 3]).await;
    expect_error(ann.recv().await, ErrorCode::BadMessage);
    ann.send(json!({"type":"stroke_points","stroke":99,"points":[1,1,0.5]}))
        .await;
    expect_error(ann.recv().await, ErrorCode::UnknownStroke);

    ann.draw(1, "#00ff00", 8.0, &[[50.0, 50.0, 0.5], [150.0, 50.0, 0.5]])
        .await;
    assert_eq!(ann.await_commit(1).await, 1);
}

/// The export has the stroke's color under the stroke and the background elsewhere.
#[tokio::test]
async fn export_shows_the_committed_stroke() {
    let server = TestServer::start();
    let room = server
        .create_room(json!({"width": 600, "height": 400, "background": "#fafafa"}))
        .await;
    let id = room["id"].as_str().expect("id");
    let key = room["edit_key"].as_str().expect("key");
    let (mut ann, _) = Client::join(&server, id, "Ann", Some(key)).await;
    // Crosses the tile seam at x = 256.
    ann.draw(
        1,
        "#3050e0",
        12.0,
        &[
            [100.0, 200.0, 0.5],
            [300.0, 200.0, 0.5],
            [500.0, 210.0, 0.5],
        ],
    )
    .await;
    ann.await_commit(1).await;
    let png = canvas_png(&server, id).await;
    assert_eq!(png.dimensions(), (600, 400));
    for x in [110, 256, 257, 300, 490] {
        let y = if x < 300 { 200 } else { 200 + (x - 300) / 20 };
        assert_eq!(
            png.get_pixel(x, y).0,
            [0x30, 0x50, 0xe0, 255],
            "under the stroke at x={x}"
        );
    }
    for (x, y) in [(10, 10), (300, 100), (300, 300), (599, 399)] {
        assert_eq!(
            png.get_pixel(x, y).0,
            [0xfa, 0xfa, 0xfa, 255],
            "background at {x},{y}"
        );
    }
}

/// A member who joins after strokes were committed receives the canvas as tiles, and a stroke
/// that is still being drawn as a `stroke_begin` with its points so far.
#[tokio::test]
async fn late_joiner_gets_tiles_and_open_strokes() {
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    ann.draw(
        1,
        "#000000",
        10.0,
        &[[20.0, 20.0, 0.5], [380.0, 280.0, 0.5]],
    )
    .await;
    ann.await_commit(1).await;
    ann.send(json!({"type":"stroke_begin","stroke":2,"tool":"pen","color":"#ff0000","width":4,"points":[5,5,0.5]}))
        .await;
    ann.send(json!({"type":"stroke_points","stroke":2,"points":[9,9,0.5]}))
        .await;
    // Ping-pong through the room so both messages are processed before Bob joins.
    ann.send(json!({"type":"stroke_points","stroke":404,"points":[]}))
        .await;
    while !matches!(ann.recv().await, ServerMsg::Error { .. }) {}

    let (mut bob, welcome) = Client::join(&server, &id, "Bob", Some(&key)).await;
    assert!(matches!(welcome, ServerMsg::Welcome { seq: 1, .. }));
    // 400x300 has 2x2 tiles; a diagonal stroke touches all of them.
    assert_eq!(bob.binaries.len(), 4);
    for b in &bob.binaries {
        assert_eq!(b[0], inkroom::protocol::frame::KIND_TILE);
        assert_eq!(u64::from_be_bytes(b[8..16].try_into().expect("8 bytes")), 1);
        assert!(image::load_from_memory(&b[16..]).is_ok());
    }
    match bob.recv().await {
        ServerMsg::StrokeBegin {
            stroke: 2, points, ..
        } => {
            assert_eq!(points.as_ref(), &[5.0, 5.0, 0.5, 9.0, 9.0, 0.5]);
        }
        other => panic!("expected the open stroke, got {other:?}"),
    }
}

/// Reconnecting with `since` gets only the tiles changed after it (`resumed: true`); a seq the
/// server cannot vouch for gets the whole canvas (`resumed: false`).
#[tokio::test]
async fn resume_sends_only_changed_tiles() {
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    // 400x300: tiles (0,0), (1,0), (0,1), (1,1).
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    ann.draw(1, "#ff0000", 8.0, &[[20.0, 20.0, 0.5], [380.0, 280.0, 0.5]])
        .await;
    let seen = ann.await_commit(1).await;
    drop(ann);

    let (mut bob, _) = Client::join(&server, &id, "Bob", Some(&key)).await;
    bob.draw(
        1,
        "#0000ff",
        8.0,
        &[[300.0, 50.0, 0.5], [350.0, 100.0, 0.5]],
    )
    .await;
    bob.await_commit(1).await;

    let resume = |since: u64| {
        let (server, id, key) = (&server, id.clone(), key.clone());
        async move {
            let mut c = Client::connect(server, &id).await;
            c.send(json!({"type":"hello","name":"Ann","key":key,"since":since}))
                .await;
            let welcome = c.recv().await;
            let ServerMsg::Welcome { resumed, seq, .. } = welcome else {
                panic!("expected welcome, got {welcome:?}");
            };
            loop {
                match c.next().await {
                    common::Frame::Binary(b) => c.binaries.push(b),
                    common::Frame::Msg(ServerMsg::Synced { .. }) => break,
                    other => panic!("expected tiles then synced, got {other:?}"),
                }
            }
            (resumed, seq, c.binaries)
        }
    };
    let (resumed, seq, tiles) = resume(seen).await;
    assert!(resumed);
    assert_eq!(seq, 2);
    let ids: Vec<(u16, u16)> = tiles
        .iter()
        .map(|b| {
            (
                u16::from_be_bytes([b[2], b[3]]),
                u16::from_be_bytes([b[4], b[5]]),
            )
        })
        .collect();
    assert_eq!(
        ids,
        vec![(1, 0)],
        "only Bob's tile, which changed after seq 1"
    );

    // Nothing changed since the latest seq: no tiles at all.
    let (resumed, _, tiles) = resume(2).await;
    assert!(resumed && tiles.is_empty());
    // A seq from the future cannot be vouched for: the whole canvas.
    let (resumed, _, tiles) = resume(99).await;
    assert!(!resumed);
    assert_eq!(tiles.len(), 4);
}

/// A page from another site cannot open a room's WebSocket (403); the server's own pages and
/// clients that send no Origin can.
#[tokio::test]
async fn foreign_origins_are_refused() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = TestServer::start();
    let (id, _) = room(&server).await;
    let url = format!("ws://{}/api/rooms/{id}/ws", server.addr);
    let with_origin = |origin: String| {
        let mut req = url.clone().into_client_request().expect("request");
        req.headers_mut()
            .insert("Origin", origin.parse().expect("header value"));
        req
    };
    match tokio_tungstenite::connect_async(with_origin("https://evil.example".into())).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
    let own = with_origin(format!("http://{}", server.addr));
    assert!(tokio_tungstenite::connect_async(own).await.is_ok());
    assert!(tokio_tungstenite::connect_async(url.clone()).await.is_ok());
}

/// A client flooding messages gets `rate_limited` and, if it keeps going, is closed with 4029;
/// others in the room are not affected.
#[tokio::test]
async fn floods_are_rate_limited_and_closed() {
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    let (mut flood, _) = Client::join(&server, &id, "Flood", Some(&key)).await;
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    let cursor = json!({"type":"cursor","x":10,"y":10}).to_string();
    let mut limited = false;
    let mut closed = None;
    for _ in 0..3000 {
        flood.send_text(&cursor).await;
    }
    while closed.is_none() {
        match flood.next().await {
            common::Frame::Msg(ServerMsg::Error { code, .. }) => {
                limited |= code == ErrorCode::RateLimited;
            }
            common::Frame::Closed(code) => closed = Some(code),
            _ => {}
        }
    }
    assert!(limited, "the flood was told to slow down");
    assert_eq!(closed, Some(Some(close::RATE_LIMITED)));
    // Ann is unaffected.
    ann.draw(1, "#000000", 4.0, &[[10.0, 10.0, 0.5], [50.0, 50.0, 0.5]])
        .await;
    assert_eq!(ann.await_commit(1).await, 1);
}

/// A fast stylus (240 points a second in 120 messages, cursors, 20 strokes a second) never hits
/// a default limit.
#[tokio::test]
async fn a_fast_stylus_stays_under_the_limits() {
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
    // Two seconds: per 50 ms, one stroke (begin, 6 points messages of 2 points, end) and a cursor.
    for s in 0..40u32 {
        tick.tick().await;
        let f = (s % 20) as f32 * 15.0;
        ann.send(json!({"type":"stroke_begin","stroke":s,"tool":"pen","color":"#000000","width":3,"points":[f,10,0.5]}))
            .await;
        for k in 0..6 {
            let y = 10.0 + k as f32 * 5.0;
            ann.send(json!({"type":"stroke_points","stroke":s,"points":[f,y,0.6,f+1.0,y+2.0,0.7]}))
                .await;
        }
        ann.send(json!({"type":"cursor","x":f,"y":40})).await;
        ann.send(json!({"type":"stroke_end","stroke":s})).await;
    }
    let mut commits = 0;
    while commits < 40 {
        match ann.recv().await {
            ServerMsg::Commit { .. } => commits += 1,
            ServerMsg::Error { code, message, .. } => panic!("{code:?}: {message}"),
            _ => {}
        }
    }
}

/// Anyone can change their display name; everyone, the sender included, is told the cleaned name.
#[tokio::test]
async fn members_can_rename_themselves() {
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    let (mut vic, _) = Client::join(&server, &id, "Vic", None).await;
    let _ = ann.recv().await; // Vic joined
    vic.send(json!({"type":"rename","name":"  Victoria \u{7} "}))
        .await;
    for c in [&mut ann, &mut vic] {
        match c.recv().await {
            ServerMsg::MemberUpdated { member } => {
                assert_eq!(
                    (member.name.as_str(), member.role),
                    ("Victoria", Role::Viewer)
                );
            }
            other => panic!("expected member_updated, got {other:?}"),
        }
    }
}

/// Follow mode: a member's visible rectangle reaches the others in a `views` batch, a joiner gets
/// the views known so far right after syncing, and a bad rectangle is refused.
#[tokio::test]
async fn views_reach_followers() {
    let server = TestServer::start();
    let (id, key) = room(&server).await;
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    let (mut vic, _) = Client::join(&server, &id, "Vic", None).await;
    let _ = ann.recv().await; // Vic joined
    ann.send(json!({"type":"view","x":-20,"y":10.5,"width":200,"height":150}))
        .await;
    let want = |id| inkroom::protocol::ViewRect {
        id,
        x: -20.0,
        y: 10.5,
        width: 200.0,
        height: 150.0,
    };
    match vic.recv().await {
        ServerMsg::Views { views } => assert_eq!(views, vec![want(ann.id)]),
        other => panic!("expected views, got {other:?}"),
    }
    let (mut dee, _) = Client::join(&server, &id, "Dee", None).await;
    match dee.recv().await {
        ServerMsg::Views { views } => assert_eq!(views, vec![want(ann.id)]),
        other => panic!("expected views after synced, got {other:?}"),
    }
    for bad in [
        json!({"type":"view","x":0,"y":0,"width":0,"height":10}),
        json!({"type":"view","x":0,"y":0,"width":10,"height":-1}),
        json!({"type":"view","x":1e9,"y":0,"width":10,"height":10}),
        json!({"type":"view","x":0,"y":0,"width":1e9,"height":10}),
        json!({"type":"view","x":0,"y":0,"width":10}),
    ] {
        dee.send(bad).await;
        expect_error(dee.recv().await, ErrorCode::BadMessage);
    }
}

/// The pixel budget: a member who paints more than its budget allows is refused new strokes
/// (`rate_limited`) until the budget refills; what it drew stays, and others are unaffected.
#[tokio::test]
async fn painting_is_limited_by_a_pixel_budget() {
    let server = TestServer::with_config(inkroom::config::Config {
        paint_pixels_per_second: 100_000.0,
        paint_burst_pixels: 50_000.0,
        ..inkroom::config::Config::default()
    });
    let (id, key) = room(&server).await;
    let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
    let (mut bob, _) = Client::join(&server, &id, "Bob", Some(&key)).await;
    let _ = ann.recv().await; // Bob joined
                              // Each stroke paints about 600 x 50 pixels; the second one runs the budget into debt.
    let wide = [[0.0, 150.0, 0.5], [300.0, 150.0, 0.5], [0.0, 150.0, 0.5]];
    ann.draw(1, "#ff0000", 50.0, &wide).await;
    assert_eq!(ann.await_commit(1).await, 1);
    ann.draw(2, "#00ff00", 50.0, &wide).await;
    assert_eq!(ann.await_commit(2).await, 2);
    assert!(matches!(ann.recv().await, ServerMsg::History { .. }));
    ann.send(json!({"type":"stroke_begin","stroke":3,"tool":"pen","color":"#000000","width":4,"points":[1,1,0.5]}))
        .await;
    expect_error(ann.recv().await, ErrorCode::RateLimited);
    // Filling needs budget too.
    ann.send(json!({"type":"fill","x":5,"y":5,"color":"#0000ff"}))
        .await;
    expect_error(ann.recv().await, ErrorCode::RateLimited);
    // Bob has his own budget.
    bob.draw(1, "#000000", 4.0, &[[10.0, 10.0, 0.5], [20.0, 20.0, 0.5]])
        .await;
    assert_eq!(bob.await_commit(1).await, 3);
    // The budget refills at 100,000 pixels a second.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    ann.draw(3, "#000000", 4.0, &[[1.0, 1.0, 0.5], [5.0, 5.0, 0.5]])
        .await;
    assert_eq!(ann.await_commit(3).await, 4);
}
