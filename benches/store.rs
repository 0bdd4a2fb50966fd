//! Store benchmarks through the real server and real WebSocket clients (run by hand:
//! `cargo bench --bench store`), each with its baseline in the same run:
//!
//! - commit latency: 8 editors each draw a stroke every 50 ms; the time from sending
//!   `stroke_end` to receiving one's own `commit`, p50 and p99, on the durable store
//!   (`synchronous=FULL`, group commit) next to the same run without durability. Goal: p99 < 20 ms.
//! - load: a room with 100,000 ops is loaded again after a restart (the first request that
//!   needs it), next to loading a room with no ops. Goal: under 1 s.
//! - image: committing a 4 MP (2048x2048) PNG image: the upload's `201`, and the `image` op from
//!   sending it to its own `commit` (decoded and scaled off the room's loop, stored durably),
//!   next to a filled rectangle's commit in the same room. `cargo bench --bench store -- image`
//!   runs this row alone.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use inkroom::config::Config;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

#[path = "support/mod.rs"]
mod support;

use support::Server;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> Value {
    serde_json::from_slice(&support::http(addr, method, path, body).await).unwrap_or(Value::Null)
}

async fn create_room(addr: SocketAddr) -> (String, String) {
    let room = http(addr, "POST", "/api/rooms", "{}").await;
    (
        room["id"].as_str().expect("id").to_owned(),
        room["edit_key"].as_str().expect("key").to_owned(),
    )
}

/// Joins as an editor; returns the socket and our member id.
async fn join(addr: SocketAddr, room: &str, key: &str) -> (Ws, u64) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/rooms/{room}/ws"))
        .await
        .expect("ws");
    ws.send(Message::text(
        json!({"type":"hello","name":"bench","key":key}).to_string(),
    ))
    .await
    .expect("hello");
    let mut me = 0;
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
            if v["type"] == "welcome" {
                me = v["you"].as_u64().unwrap_or(0);
            }
            if v["type"] == "synced" {
                break;
            }
        }
    }
    (ws, me)
}

fn stroke(id: u32, f: f32) -> (String, String) {
    let pts: Vec<f32> = (0..8)
        .flat_map(|k| {
            [
                (f * 13.0 + k as f32 * 9.0) % 1900.0,
                (f * 7.0 + k as f32 * 5.0) % 1060.0,
                0.5,
            ]
        })
        .collect();
    (
        json!({"type":"stroke_begin","stroke":id,"tool":"pen","color":"#204080","width":4,"points":pts})
            .to_string(),
        json!({"type":"stroke_end","stroke":id}).to_string(),
    )
}

/// One editor drawing `n` strokes, one every `gap`; returns stroke_end -> own commit latencies.
async fn editor(
    addr: SocketAddr,
    room: String,
    key: String,
    n: u32,
    gap: Duration,
    seed: u32,
) -> Vec<Duration> {
    let (ws, me) = join(addr, &room, &key).await;
    let (mut tx, mut rx) = ws.split();
    let sent: Arc<Mutex<HashMap<u32, Instant>>> = Arc::default();
    let sent_w = Arc::clone(&sent);
    let writer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(gap);
        for i in 0..n {
            tick.tick().await;
            let (begin, end) = stroke(i, (seed * 1000 + i) as f32);
            tx.send(Message::text(begin)).await.expect("send");
            sent_w.lock().expect("lock").insert(i, Instant::now());
            tx.send(Message::text(end)).await.expect("send");
        }
        tx
    });
    let mut latencies = Vec::with_capacity(n as usize);
    while latencies.len() < n as usize {
        let Some(Ok(Message::Text(t))) = rx.next().await else {
            continue;
        };
        let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
        if v["type"] == "commit" && v["author"].as_u64() == Some(me) {
            let id = v["stroke"].as_u64().unwrap_or(u64::MAX) as u32;
            if let Some(at) = sent.lock().expect("lock").get(&id) {
                latencies.push(at.elapsed());
            }
        }
    }
    let _ = writer.await;
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn commit_latency(durable: bool) -> (Duration, Duration, usize) {
    let dir = std::env::temp_dir().join(format!("inkroom-bench-{}", uuid::Uuid::new_v4()));
    let server = Server::start(Config {
        data_dir: dir.clone(),
        durable,
        ..Config::default()
    });
    let (room, key) = create_room(server.addr).await;
    let tasks: Vec<_> = (0..8)
        .map(|e| {
            tokio::spawn(editor(
                server.addr,
                room.clone(),
                key.clone(),
                200,
                Duration::from_millis(50),
                e,
            ))
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("editor"));
    }
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
    all.sort();
    (percentile(&all, 0.5), percentile(&all, 0.99), all.len())
}

/// Builds a room of `ops` strokes, restarts, and times the first request that loads it. With
/// `hold_back`, a second person draws once `hold_back` ops before the end, so their undo history
/// keeps that much history to replay on load (the worst case is the history window).
async fn load_time(ops: u32, hold_back: Option<u32>) -> Duration {
    let dir = std::env::temp_dir().join(format!("inkroom-bench-{}", uuid::Uuid::new_v4()));
    let config = Config {
        data_dir: dir.clone(),
        durable: false,
        // One bot writes 100,000 strokes as fast as the server takes them.
        messages_per_second: 1e9,
        message_burst: 1e9,
        ops_per_second: 1e9,
        op_burst: 1e9,
        ..Config::default()
    };
    let server = Server::start(config.clone());
    let (room, key) = create_room(server.addr).await;
    if ops > 0 {
        let (ws, me) = join(server.addr, &room, &key).await;
        let (mut tx, mut rx) = ws.split();
        // At most 256 strokes in flight, as a well-behaved client would.
        let acked = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let acked_r = Arc::clone(&acked);
        let reader = tokio::spawn(async move {
            while acked_r.load(std::sync::atomic::Ordering::Acquire) < u64::from(ops) {
                if let Some(Ok(Message::Text(t))) = rx.next().await {
                    let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                    if v["type"] == "commit" && v["author"].as_u64() == Some(me) {
                        let seq = v["seq"].as_u64().unwrap_or(0);
                        acked_r.store(seq, std::sync::atomic::Ordering::Release);
                    }
                }
            }
        });
        for i in 0..ops {
            if Some(ops - i) == hold_back {
                // Wait for everything so far, then let someone else draw one stroke.
                while acked.load(std::sync::atomic::Ordering::Acquire) < u64::from(i) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let (ws2, _) = join(server.addr, &room, &key).await;
                let (mut tx2, mut rx2) = ws2.split();
                let (begin, end) = stroke(0, 0.5);
                tx2.send(Message::text(begin)).await.expect("send");
                tx2.send(Message::text(end)).await.expect("send");
                while let Some(Ok(m)) = rx2.next().await {
                    if matches!(&m, Message::Text(t) if t.contains("\"history\"")) {
                        break;
                    }
                }
                acked.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            }
            while u64::from(i) > acked.load(std::sync::atomic::Ordering::Acquire) + 256 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let (begin, end) = stroke(i, i as f32);
            tx.send(Message::text(begin)).await.expect("send");
            tx.send(Message::text(end)).await.expect("send");
        }
        reader.await.expect("all committed");
    }
    server.stop().await;
    let server = Server::start(config);
    let started = Instant::now();
    let info = http(server.addr, "GET", &format!("/api/rooms/{room}"), "").await;
    let took = started.elapsed();
    assert_eq!(info["seq"], u64::from(ops + u32::from(hold_back.is_some())));
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
    took
}

/// A 2048x2048 (4 MP) PNG.
fn image_4mp() -> Vec<u8> {
    let img = image::RgbaImage::from_fn(2048, 2048, |x, y| {
        let checker = if (x / 64 + y / 64) % 2 == 0 { 255 } else { 40 };
        image::Rgba([(x / 8) as u8, (y / 8) as u8, checker, 255])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encodes");
    out.into_inner()
}

/// `POST /api/rooms/{room}/images` with a binary body; the JSON answer.
async fn upload(addr: SocketAddr, room: &str, key: &str, body: &[u8]) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /api/rooms/{room}/images HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Authorization: Bearer {key}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw);
    let (_, body) = text.split_once("\r\n\r\n").expect("a response");
    serde_json::from_str(body).expect("JSON")
}

/// Sends `msg` and waits for this member's commit; how long it took.
async fn commit_time(ws: &mut Ws, me: u64, msg: Value) -> Duration {
    let started = Instant::now();
    ws.send(Message::text(msg.to_string())).await.expect("send");
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
            if v["type"] == "commit" && v["author"].as_u64() == Some(me) {
                return started.elapsed();
            }
            assert_ne!(v["type"], "error", "{v}");
        }
    }
    panic!("the connection ended");
}

/// Upload time and median commit times of a 4 MP image op and of a filled rectangle.
async fn image_commit() -> (Duration, Duration, Duration) {
    let dir = std::env::temp_dir().join(format!("inkroom-bench-{}", uuid::Uuid::new_v4()));
    let server = Server::start(Config {
        data_dir: dir.clone(),
        max_canvas_side: 4096,
        ..Config::default()
    });
    let created = http(
        server.addr,
        "POST",
        "/api/rooms",
        r#"{"width": 4096, "height": 4096}"#,
    )
    .await;
    let room = created["id"].as_str().expect("id").to_owned();
    let key = created["edit_key"].as_str().expect("key").to_owned();
    let png = image_4mp();
    let started = Instant::now();
    let uploaded = upload(server.addr, &room, &key, &png).await;
    let upload_took = started.elapsed();
    let image = uploaded["image"].as_str().expect("an image id").to_owned();
    let (mut ws, me) = join(server.addr, &room, &key).await;
    let (mut images, mut shapes) = (Vec::new(), Vec::new());
    for i in 0..5 {
        let at = 100 * i;
        images.push(
            commit_time(
                &mut ws,
                me,
                json!({"type": "image", "image": image, "x": at, "y": at, "width": 2048, "height": 2048}),
            )
            .await,
        );
        shapes.push(
            commit_time(
                &mut ws,
                me,
                json!({"type": "shape", "shape": "rect", "x0": at, "y0": at, "x1": at + 2048,
                       "y1": at + 2048, "color": "#1971c2", "fill": true}),
            )
            .await,
        );
    }
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
    images.sort();
    shapes.sort();
    (upload_took, images[2], shapes[2])
}

fn main() {
    let only_images = std::env::args().any(|a| a == "image");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (upload, image, shape) = image_commit().await;
        println!(
            "4 MP image: upload {:.0} ms; image op commit (median of 5) {:.1} ms, \
             a filled 4 MP rectangle's {:.1} ms",
            upload.as_secs_f64() * 1e3,
            image.as_secs_f64() * 1e3,
            shape.as_secs_f64() * 1e3
        );
        if only_images {
            return;
        }
        for durable in [true, false] {
            let (p50, p99, n) = commit_latency(durable).await;
            println!(
                "commit latency, 8 editors, {} store: p50 {:.2} ms, p99 {:.2} ms ({n} commits)",
                if durable { "durable" } else { "non-durable" },
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3
            );
        }
        for (ops, hold_back) in [(0, None), (100_000, None), (100_000, Some(990))] {
            let took = load_time(ops, hold_back).await;
            let note = match hold_back {
                Some(h) => format!(", someone's undo history {h} ops back"),
                None => String::new(),
            };
            println!(
                "load a room with {ops} ops after a restart{note}: {:.0} ms",
                took.as_secs_f64() * 1e3
            );
        }
    });
}
