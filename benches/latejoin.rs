//! Late join of a full canvas: how long a new viewer waits, and how many bytes it receives,
//! from connecting to `synced`, on a densely drawn 4096x4096 board (run by hand:
//! `cargo bench --bench latejoin`; `INKROOM_BIN=path` measures another build of the server).
//!
//! An editor covers the board with 200 long random strokes in random colors (noisy tiles
//! compress badly: the worst case for bytes), then viewers join one after another while the
//! room is warm; then the server restarts and one viewer joins the freshly loaded room.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

#[path = "support/mod.rs"]
mod support;
use support::{http, start_server, Rng};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const SIDE: u32 = 4096;
const STROKES: u32 = 200;
const JOINS: usize = 5;

async fn connect(addr: SocketAddr, room: &str) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{addr}/api/rooms/{room}/ws"))
        .await
        .expect("connect")
        .0
}

/// Joins as a viewer and reads through `synced`: (time, bytes received, tile frames).
async fn join(addr: SocketAddr, room: &str) -> (Duration, usize, usize) {
    let started = Instant::now();
    let mut ws = connect(addr, room).await;
    let hello = json!({"type": "hello", "name": "late", "batch": true});
    ws.send(Message::text(hello.to_string()))
        .await
        .expect("hello");
    let (mut bytes, mut tiles) = (0, 0);
    while let Some(Ok(msg)) = ws.next().await {
        match msg {
            Message::Binary(b) => {
                bytes += b.len();
                tiles += 1;
            }
            Message::Text(t) => {
                bytes += t.len();
                if t.contains("\"synced\"") {
                    return (started.elapsed(), bytes, tiles);
                }
            }
            _ => {}
        }
    }
    panic!("the connection ended before synced");
}

/// Covers the board with long random strokes and waits for the last commit.
async fn draw(addr: SocketAddr, room: &str, key: &str) {
    let mut ws = connect(addr, room).await;
    let hello = json!({"type": "hello", "name": "painter", "key": key, "batch": true});
    ws.send(Message::text(hello.to_string()))
        .await
        .expect("hello");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for s in 0..STROKES {
        let (mut x, mut y) = (rng.f(SIDE as f32), rng.f(SIDE as f32));
        let mut points = Vec::with_capacity(3000);
        for _ in 0..1000 {
            x = (x + rng.f(40.0) - 20.0).clamp(0.0, SIDE as f32);
            y = (y + rng.f(40.0) - 20.0).clamp(0.0, SIDE as f32);
            points.extend([x, y, 0.5]);
        }
        let color = format!("#{:06x}", rng.next() % 0x100_0000);
        let width = 24.0 + rng.f(40.0);
        for msg in [
            json!({"type":"stroke_begin","stroke":s,"tool":"pen","color":color,"width":width,"points":[]}),
            json!({"type":"stroke_points","stroke":s,"points":points}),
            json!({"type":"stroke_end","stroke":s}),
        ] {
            ws.send(Message::text(msg.to_string())).await.expect("send");
        }
        // Under the op rate (40 a second) and the pixel budget.
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let last = format!("\"stroke\":{}", STROKES - 1);
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Text(t) = msg {
            if t.contains("\"error\"") {
                eprintln!("painter got {t}");
            }
            if t.contains("\"commit\"") && t.contains(&last) {
                return;
            }
        }
    }
    panic!("the painter's connection ended");
}

fn report(label: &str, samples: &[(Duration, usize, usize)]) {
    let mut ms: Vec<f64> = samples.iter().map(|s| s.0.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    let (bytes, tiles) = (samples[0].1, samples[0].2);
    println!(
        "{label}: median {median:.0} ms (of {}), {:.1} MB in {tiles} tile frames",
        ms.len(),
        bytes as f64 / 1e6
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let data = std::env::temp_dir().join(format!("inkroom-latejoin-{}", std::process::id()));
        let (mut child, addr) = start_server(&data);
        let body = json!({"width": SIDE, "height": SIDE}).to_string();
        let room: Value = serde_json::from_slice(&http(addr, "POST", "/api/rooms", &body).await)
            .expect("room JSON");
        let id = room["id"].as_str().expect("id").to_owned();
        let key = room["edit_key"].as_str().expect("key").to_owned();
        let started = Instant::now();
        draw(addr, &id, &key).await;
        println!(
            "drew {STROKES} strokes on {SIDE}x{SIDE} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        // Let the last tiles settle (sent once untouched for a second).
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut warm = Vec::new();
        for _ in 0..JOINS {
            warm.push(join(addr, &id).await);
        }
        report("late join, warm room", &warm);

        let _ = child.kill();
        let _ = child.wait();
        let (mut child, addr) = start_server(&data);
        let cold = join(addr, &id).await;
        report("late join, first after a restart", &[cold]);
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&data);
    });
}
