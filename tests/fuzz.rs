//! Property tests: random and mutated frames thrown at the decoder and at a live room.
//!
//! The decoder and validator never panic, whatever the text. In a live room, an editor and a
//! viewer send hundreds of garbled, mutated and hostile frames while another editor draws: the
//! server stays up, the drawing editor never sees an error and gets every commit, the viewer's
//! frames never reach the canvas, and after a restart every committed op is still there.

mod common;

use std::time::Duration;

use common::{canvas_png, http, Client, TempDir, TestServer};
use inkroom::config::Config;
use inkroom::protocol::{decode_client, validate, ServerMsg};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Well-formed messages of every type, the seeds of mutation.
fn templates() -> Vec<Value> {
    vec![
        json!({"type":"hello","name":"Fuzz","key":"00","user":"u1","since":3}),
        json!({"type":"stroke_begin","stroke":1,"tool":"pen","color":"#112233","width":4,"points":[10,10,0.5]}),
        json!({"type":"stroke_points","stroke":1,"points":[12,14,0.5,20,20,0.7]}),
        json!({"type":"stroke_end","stroke":1}),
        json!({"type":"cursor","x":10,"y":20}),
        json!({"type":"view","x":0,"y":0,"width":100,"height":80}),
        json!({"type":"shape","id":2,"shape":"rect","x0":5,"y0":5,"x1":50,"y1":40,"color":"#ff000080","width":3,"fill":true}),
        json!({"type":"fill","id":3,"x":100,"y":100,"color":"#00ff00","tolerance":10}),
        json!({"type":"clear","id":4}),
        json!({"type":"rename","name":"Zed"}),
        json!({"type":"undo"}),
        json!({"type":"redo"}),
    ]
}

/// Any JSON value, including huge and negative numbers, long strings and nesting.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(1e308),
            Just(-1e308),
            Just(f64::MIN_POSITIVE),
            -1e6..1e6f64,
            -5.0..5.0f64
        ]
        .prop_map(Value::from),
        proptest::collection::vec(any::<char>(), 0..12)
            .prop_map(|c| Value::from(String::from_iter(c))),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A frame a hostile or broken client might send.
#[derive(Debug, Clone)]
enum Garbage {
    Text(String),
    Binary(Vec<u8>),
}

/// Mutations of a template: a field set to any value, removed, or added; the text cut short or
/// with bytes flipped; deep nesting; raw noise.
fn garbage() -> impl Strategy<Value = Garbage> {
    let n = templates().len();
    let field_names = prop_oneof![
        Just("type".to_owned()),
        Just("stroke".to_owned()),
        Just("points".to_owned()),
        Just("color".to_owned()),
        Just("width".to_owned()),
        Just("x".to_owned()),
        Just("y".to_owned()),
        Just("tool".to_owned()),
        Just("shape".to_owned()),
        Just("tolerance".to_owned()),
        Just("name".to_owned()),
        "[a-z]{1,6}",
    ];
    let set_field = (0..n, field_names.clone(), any_json()).prop_map(|(t, f, v)| {
        let mut msg = templates()[t].clone();
        msg[f.as_str()] = v;
        Garbage::Text(msg.to_string())
    });
    let drop_field = (0..n, field_names).prop_map(|(t, f)| {
        let mut msg = templates()[t].clone();
        if let Some(o) = msg.as_object_mut() {
            o.remove(&f);
        }
        Garbage::Text(msg.to_string())
    });
    let cut = (0..n, any::<prop::sample::Index>()).prop_map(|(t, i)| {
        let text = templates()[t].to_string();
        Garbage::Text(text[..i.index(text.len())].to_owned())
    });
    let flip = (0..n, any::<prop::sample::Index>(), any::<u8>()).prop_map(|(t, i, b)| {
        let mut bytes = templates()[t].to_string().into_bytes();
        let at = i.index(bytes.len());
        bytes[at] = b;
        Garbage::Text(String::from_utf8_lossy(&bytes).into_owned())
    });
    let deep = (1usize..3000).prop_map(|d| {
        Garbage::Text(format!(
            "{{\"type\":\"stroke_points\",\"stroke\":1,\"points\":{}{}}}",
            "[".repeat(d),
            "]".repeat(d)
        ))
    });
    let huge_points = (0usize..4000).prop_map(|k| {
        let points: Vec<f32> = (0..k * 3).map(|i| (i % 300) as f32).collect();
        Garbage::Text(json!({"type":"stroke_points","stroke":1,"points":points}).to_string())
    });
    let oversize = (64 * 1024 + 1..80 * 1024usize).prop_map(|len| {
        Garbage::Text(format!(
            "{{\"type\":\"rename\",\"name\":\"{}\"}}",
            "x".repeat(len)
        ))
    });
    let noise = proptest::collection::vec(any::<char>(), 0..64)
        .prop_map(|c| Garbage::Text(String::from_iter(c)));
    let binary = proptest::collection::vec(any::<u8>(), 0..64).prop_map(Garbage::Binary);
    prop_oneof![
        6 => set_field,
        2 => drop_field,
        2 => cut,
        2 => flip,
        1 => deep,
        1 => huge_points,
        1 => oversize,
        1 => noise,
        1 => binary,
        // Sometimes a valid message, so that stroke state varies.
        3 => (0..n).prop_map(|t| Garbage::Text(templates()[t].to_string())),
    ]
}

/// The decoder and validator return errors, never panic, on any text.
#[test]
fn decoder_never_panics() {
    let config = Config::default();
    let mut runner = TestRunner::new(RunnerConfig {
        cases: 4000,
        ..RunnerConfig::default()
    });
    runner
        .run(&garbage(), |g| {
            if let Garbage::Text(text) = g {
                if let Ok(msg) = decode_client(&text) {
                    let _ = validate(msg, 400, 300, &config);
                }
            }
            Ok(())
        })
        .expect("no panics");
}

/// Sends frames; reconnects (as the same role) whenever the server closes the connection.
/// Returns how many `error` messages and closes came back.
async fn throw(
    server: &TestServer,
    room: &str,
    key: Option<&str>,
    frames: &[Garbage],
) -> (usize, usize) {
    let (mut c, _) = Client::join(server, room, "Fuzz", key).await;
    let (mut errors, mut closes) = (0, 0);
    for frame in frames {
        let sent = match frame {
            Garbage::Text(t) => c.try_send(Message::text(t.as_str())).await,
            Garbage::Binary(b) => c.try_send(Message::binary(b.clone())).await,
        };
        let (closed, errs) = c.drain().await;
        errors += errs;
        if closed || !sent {
            closes += 1;
            c = Client::join(server, room, "Fuzz", key).await.0;
        }
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    errors += c.drain().await.1;
    (errors, closes)
}

#[test]
fn a_live_room_survives_garbage() {
    let dir = TempDir::new();
    let config = || Config {
        data_dir: dir.0.clone(),
        ..Config::default()
    };
    // Generate the cases up front; each runs against the same live server.
    let mut runner = TestRunner::new(RunnerConfig::default());
    let cases: Vec<Vec<Garbage>> = (0..6)
        .map(|_| {
            proptest::collection::vec(garbage(), 150)
                .new_tree(&mut runner)
                .expect("value")
                .current()
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (id, before, seq) = rt.block_on(async {
        let server = TestServer::with_config(config());
        let room = server
            .create_room(json!({"width": 400, "height": 300}))
            .await;
        let id = room["id"].as_str().expect("id").to_owned();
        let key = room["edit_key"].as_str().expect("key").to_owned();
        let watched = server
            .create_room(json!({"width": 400, "height": 300}))
            .await;
        let watched_id = watched["id"].as_str().expect("id").to_owned();
        let (mut ann, _) = Client::join(&server, &id, "Ann", Some(&key)).await;
        let mut commits = 0u64;
        for (n, frames) in cases.iter().enumerate() {
            let n = n as u32;
            // An editor and a viewer throw garbage; Ann draws meanwhile.
            let (ed, vw, ()) = tokio::join!(
                throw(&server, &id, Some(&key), frames),
                throw(&server, &watched_id, None, frames),
                async {
                    let f = 10.0 + n as f32 * 30.0;
                    ann.draw(1000 + n, "#1971c2", 5.0, &[[f, 20.0, 0.5], [f, 280.0, 0.5]])
                        .await;
                }
            );
            assert!(
                ed.0 + ed.1 > 0 && vw.0 + vw.1 > 0,
                "the garbage was noticed"
            );
            // Ann hears her commit and every other commit; never an error.
            loop {
                match ann.recv().await {
                    ServerMsg::Commit { stroke, author, .. } => {
                        commits += 1;
                        if author == ann.id && stroke == Some(1000 + n) {
                            break;
                        }
                    }
                    ServerMsg::Error { code, message, .. } => panic!("Ann got {code:?}: {message}"),
                    _ => {}
                }
            }
            let health = http(server.addr, "GET", "/healthz", None, &[]).await;
            assert_eq!(health.status, 200);
            // The viewer's frames never reached its room's canvas.
            let info = http(
                server.addr,
                "GET",
                &format!("/api/rooms/{watched_id}"),
                None,
                &[],
            )
            .await
            .json();
            assert_eq!(info["seq"], 0, "a viewer changed the canvas");
        }
        // Commits that were still on their way to Ann.
        let info = http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[])
            .await
            .json();
        let seq = info["seq"].as_u64().expect("seq");
        while commits < seq {
            match tokio::time::timeout(Duration::from_secs(2), ann.recv()).await {
                Ok(ServerMsg::Commit { .. }) => commits += 1,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        assert_eq!(commits, seq, "Ann heard of every committed op");
        let png = canvas_png(&server, &id).await;
        (id, png, seq)
    });
    // After a restart, every committed op is there.
    rt.block_on(async {
        let server = TestServer::with_config(config());
        let info = http(server.addr, "GET", &format!("/api/rooms/{id}"), None, &[])
            .await
            .json();
        assert_eq!(info["seq"].as_u64(), Some(seq));
        common::assert_same_pixels(&canvas_png(&server, &id).await, &before, "after restart");
    });
}
