//! Soak: the release server as its own process, under hundreds of members for minutes (run by
//! hand: `cargo bench --bench soak -- [seconds] [members]`, default 180 s and 240 members).
//!
//! Members join and leave over 4 rooms: editors drawing strokes at a person's pace, viewers
//! watching, a few abusive clients (garbage, floods, forged strokes from viewers, oversized
//! frames) and a few that stop reading. Every 10 s it prints the server's memory (RSS from
//! /proc), ops acknowledged, editors' commit latency and errors by code; at the end it checks that
//! every acknowledged op is in the final canvas: an observer in each room rebuilds the canvas
//! from the committed strokes, which must equal the server's PNG pixel for pixel, and every
//! editor's acknowledged (seq, stroke) must be among the observer's commits.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use inkroom::canvas::{Canvas, Op, Rgba, Stroke, Tool};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

#[path = "support/mod.rs"]
mod support;
use support::{http, rss_kib, start_server, Rng};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const ROOMS: usize = 4;
const W: u32 = 1920;
const H: u32 = 1080;

/// Counters shared by every client task.
#[derive(Default)]
struct Stats {
    acked: AtomicU64,
    joins: AtomicU64,
    errors: Mutex<BTreeMap<(String, String), u64>>,
    /// Commit latencies of editors in the current window, in microseconds.
    latencies: Mutex<Vec<u64>>,
    /// Editors' acknowledged ops per room: seq -> (author, stroke).
    acks: Mutex<Vec<HashMap<u64, (u64, u64)>>>,
    unexpected_closes: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    fn closed(&self, who: &str) {
        *self
            .unexpected_closes
            .lock()
            .expect("lock")
            .entry(who.to_owned())
            .or_default() += 1;
    }

    fn error(&self, who: &str, code: &str) {
        *self
            .errors
            .lock()
            .expect("lock")
            .entry((who.to_owned(), code.to_owned()))
            .or_default() += 1;
    }
}

async fn connect(addr: SocketAddr, room: &str) -> Option<Ws> {
    tokio_tungstenite::connect_async(format!("ws://{addr}/api/rooms/{room}/ws"))
        .await
        .ok()
        .map(|(ws, _)| ws)
}

/// Says hello and reads through `synced`; returns our member id.
async fn hello(ws: &mut Ws, key: Option<&str>, name: &str) -> Option<u64> {
    let mut msg = json!({"type":"hello","name":name});
    if let Some(k) = key {
        msg["key"] = k.into();
    }
    ws.send(Message::text(msg.to_string())).await.ok()?;
    let mut me = None;
    loop {
        let m = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .ok()??
            .ok()?;
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t).ok()?;
            match v["type"].as_str() {
                Some("welcome") => me = v["you"].as_u64(),
                Some("synced") => return me,
                _ => {}
            }
        }
    }
}

/// Reads what has already arrived without waiting, counting `error` messages.
async fn drain_errors(ws: &mut Ws, stats: &Stats, who: &str) {
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::ZERO, ws.next()).await {
        if let Message::Text(t) = m {
            if t.contains("\"error\"") {
                let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                stats.error(who, v["code"].as_str().unwrap_or("?"));
            }
        }
    }
}

/// An editor: joins, draws strokes at a person's pace (points every 16 ms in messages of 4),
/// waits for each commit, leaves after a while and comes back.
async fn editor(
    addr: SocketAddr,
    room: usize,
    id: String,
    key: String,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let mut rng = Rng(seed);
    let mut stroke_id = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let Some(mut ws) = connect(addr, &id).await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        let Some(me) = hello(&mut ws, Some(&key), "editor").await else {
            continue;
        };
        stats.joins.fetch_add(1, Ordering::Relaxed);
        let strokes = 5 + rng.below(30);
        'session: for _ in 0..strokes {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            stroke_id += 1;
            let (mut x, mut y) = (rng.f(W as f32), rng.f(H as f32));
            let color = format!("#{:06x}", rng.below(0xffffff));
            let width = 1.0 + rng.f(20.0);
            let begin = json!({"type":"stroke_begin","stroke":stroke_id,"tool":"pen","color":color,"width":width,"points":[x,y,0.5]});
            if ws.send(Message::text(begin.to_string())).await.is_err() {
                break;
            }
            for _ in 0..(2 + rng.below(10)) {
                let mut pts = Vec::new();
                for _ in 0..4 {
                    x = (x + rng.f(30.0) - 15.0).clamp(0.0, W as f32);
                    y = (y + rng.f(30.0) - 15.0).clamp(0.0, H as f32);
                    pts.extend([x, y, 0.3 + rng.f(0.5)]);
                }
                let msg = json!({"type":"stroke_points","stroke":stroke_id,"points":pts});
                if ws.send(Message::text(msg.to_string())).await.is_err() {
                    break 'session;
                }
                // Read while drawing, as a browser does.
                tokio::time::sleep(Duration::from_millis(64)).await;
                drain_errors(&mut ws, &stats, "editor").await;
            }
            let sent = Instant::now();
            let end = json!({"type":"stroke_end","stroke":stroke_id});
            if ws.send(Message::text(end.to_string())).await.is_err() {
                break;
            }
            loop {
                let m = match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
                    Ok(Some(Ok(m))) => m,
                    _ => {
                        stats.closed("editor");
                        break 'session;
                    }
                };
                let Message::Text(t) = m else { continue };
                if !t.contains("\"commit\"") && !t.contains("\"error\"") {
                    continue;
                }
                let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                match v["type"].as_str() {
                    Some("commit") if v["author"] == me && v["stroke"] == stroke_id => {
                        let seq = v["seq"].as_u64().unwrap_or(0);
                        stats
                            .latencies
                            .lock()
                            .expect("lock")
                            .push(sent.elapsed().as_micros() as u64);
                        stats.acked.fetch_add(1, Ordering::Relaxed);
                        stats.acks.lock().expect("lock")[room].insert(seq, (me, stroke_id));
                        break;
                    }
                    Some("error") => stats.error("editor", v["code"].as_str().unwrap_or("?")),
                    _ => {}
                }
            }
            tokio::time::sleep(Duration::from_millis(100 + rng.below(400))).await;
        }
        let _ = ws.close(None).await;
        tokio::time::sleep(Duration::from_millis(rng.below(3000))).await;
    }
}

/// A viewer: joins, reads everything for a while, leaves, comes back.
async fn viewer(addr: SocketAddr, id: String, stats: Arc<Stats>, stop: Arc<AtomicBool>, seed: u64) {
    let mut rng = Rng(seed);
    while !stop.load(Ordering::Relaxed) {
        let Some(mut ws) = connect(addr, &id).await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        if hello(&mut ws, None, "viewer").await.is_none() {
            continue;
        }
        stats.joins.fetch_add(1, Ordering::Relaxed);
        let until = Instant::now() + Duration::from_millis(5_000 + rng.below(40_000));
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
                Ok(Some(Ok(_))) | Err(_) => {}
                _ => {
                    stats.closed("viewer");
                    break;
                }
            }
        }
        let _ = ws.close(None).await;
        tokio::time::sleep(Duration::from_millis(rng.below(2000))).await;
    }
}

/// An abusive client: garbage, floods, forged strokes as a viewer, oversized frames.
async fn abuser(addr: SocketAddr, id: String, stats: Arc<Stats>, stop: Arc<AtomicBool>, seed: u64) {
    let mut rng = Rng(seed);
    while !stop.load(Ordering::Relaxed) {
        let Some(mut ws) = connect(addr, &id).await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        if hello(&mut ws, None, "abuser").await.is_none() {
            continue;
        }
        let mode = rng.below(4);
        for i in 0..2_000u32 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let msg = match mode {
                0 => Message::text(json!({"type":"cursor","x":i % 100,"y":5}).to_string()),
                1 => Message::text(["{\"type\":", "[[[[[[", "{\"type\":\"fill\",\"x\":\"NaN\"}", "\u{0}\u{1}"][i as usize % 4]),
                2 => Message::text(json!({"type":"stroke_begin","stroke":i,"tool":"pen","color":"#ff0000","width":50,"points":[10,10,0.5]}).to_string()),
                _ => Message::text("x".repeat(70_000)),
            };
            if ws.send(msg).await.is_err() {
                break;
            }
            drain_errors(&mut ws, &stats, "abuser").await;
            if mode != 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A client that joins and then never reads, for 30 s at a time.
async fn stalled(addr: SocketAddr, id: String, stats: Arc<Stats>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let Some(mut ws) = connect(addr, &id).await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        if hello(&mut ws, None, "stalled").await.is_none() {
            continue;
        }
        stats.joins.fetch_add(1, Ordering::Relaxed);
        for _ in 0..30 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        drop(ws);
    }
}

/// Rebuilds a room's canvas from the strokes it hears committed.
struct Observer {
    canvas: Canvas,
    open: HashMap<(u64, u64), Stroke>,
    /// seq -> (author, stroke)
    commits: HashMap<u64, (u64, u64)>,
    ops: BTreeMap<u64, Op>,
}

impl Observer {
    fn handle(&mut self, v: &Value) {
        let key = (
            v["author"].as_u64().unwrap_or(0),
            v["stroke"].as_u64().unwrap_or(0),
        );
        let points = |v: &Value| -> Vec<f32> {
            v["points"]
                .as_array()
                .map(|a| a.iter().map(|p| p.as_f64().unwrap_or(0.0) as f32).collect())
                .unwrap_or_default()
        };
        match v["type"].as_str() {
            Some("stroke_begin") => {
                let color = inkroom::protocol::parse_color(v["color"].as_str().unwrap_or(""))
                    .unwrap_or(Rgba {
                        r: 0,
                        g: 0,
                        b: 0,
                        a: 255,
                    });
                self.open.insert(
                    key,
                    Stroke {
                        tool: Tool::Pen,
                        color,
                        width: v["width"].as_f64().unwrap_or(1.0) as f32,
                        points: points(v),
                    },
                );
            }
            Some("stroke_points") => {
                if let Some(s) = self.open.get_mut(&key) {
                    s.points.extend(points(v));
                }
            }
            Some("member_left") => {
                let who = v["id"].as_u64().unwrap_or(0);
                self.open.retain(|(a, _), _| *a != who);
            }
            Some("commit") => {
                let seq = v["seq"].as_u64().unwrap_or(0);
                self.commits.insert(seq, key);
                if let Some(s) = self.open.remove(&key) {
                    self.ops.insert(seq, Op::Stroke(s));
                }
            }
            _ => {}
        }
    }
}

async fn observe(addr: SocketAddr, id: String, stop: Arc<AtomicBool>) -> Observer {
    let mut ws = connect(addr, &id).await.expect("observer connects");
    hello(&mut ws, None, "observer")
        .await
        .expect("observer joins");
    let mut obs = Observer {
        canvas: Canvas::new(W, H).expect("size"),
        open: HashMap::new(),
        commits: HashMap::new(),
        ops: BTreeMap::new(),
    };
    let mut quiet_since: Option<Instant> = None;
    loop {
        match tokio::time::timeout(Duration::from_millis(200), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                quiet_since = None;
                if let Ok(v) = serde_json::from_str::<Value>(&t) {
                    obs.handle(&v);
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(_) => panic!("the observer was disconnected"),
            Err(_) => {
                if stop.load(Ordering::Relaxed) {
                    let since = *quiet_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_secs(3) {
                        break;
                    }
                }
            }
        }
    }
    for op in obs.ops.values_mut() {
        obs.canvas.apply(op);
    }
    obs
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let seconds: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(180);
    let members: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(240);
    // One thread for every client: they mostly wait, and the server keeps the other core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(seconds, members));
}

async fn run(seconds: u64, members: usize) {
    let data = std::env::temp_dir().join(format!("inkroom-soak-{}", std::process::id()));
    let (mut child, addr) = start_server(&data);
    let pid = child.id();
    println!("soak: {seconds} s, {members} members over {ROOMS} rooms, server pid {pid} at {addr}");
    let stats = Arc::new(Stats::default());
    stats
        .acks
        .lock()
        .expect("lock")
        .resize(ROOMS, HashMap::new());
    let stop = Arc::new(AtomicBool::new(false));
    let mut rooms = Vec::new();
    for _ in 0..ROOMS {
        let v: Value = serde_json::from_slice(
            &http(
                addr,
                "POST",
                "/api/rooms",
                &format!("{{\"width\":{W},\"height\":{H}}}"),
            )
            .await,
        )
        .expect("room");
        rooms.push((
            v["id"].as_str().expect("id").to_owned(),
            v["edit_key"].as_str().expect("key").to_owned(),
        ));
    }
    let observers: Vec<_> = rooms
        .iter()
        .map(|(id, _)| tokio::spawn(observe(addr, id.clone(), Arc::clone(&stop))))
        .collect();
    let mut tasks = Vec::new();
    let (abusers, stalls) = (4, 4);
    let editors = (members - abusers - stalls) * 2 / 5;
    for i in 0..members {
        let room = i % ROOMS;
        let (id, key) = rooms[room].clone();
        let (s, st) = (Arc::clone(&stats), Arc::clone(&stop));
        let seed = 0x9e37_79b9_7f4a_7c15 ^ ((i as u64 + 1) * 0x1000_0001);
        tasks.push(if i < abusers {
            tokio::spawn(abuser(addr, id, s, st, seed))
        } else if i < abusers + stalls {
            tokio::spawn(stalled(addr, id, s, st))
        } else if i < abusers + stalls + editors {
            tokio::spawn(editor(addr, room, id, key, s, st, seed))
        } else {
            tokio::spawn(viewer(addr, id, s, st, seed))
        });
        // Everyone arrives over the first 10 s.
        tokio::time::sleep(Duration::from_millis(10_000 / members as u64)).await;
    }
    println!(
        "{editors} editors, {} viewers, {abusers} abusive, {stalls} not reading",
        members - abusers - stalls - editors
    );
    println!(
        "| t (s) | server RSS (MiB) | joins | ops acked | commit p50 (ms) | commit p99 (ms) |"
    );
    println!("|---|---|---|---|---|---|");
    let started = Instant::now();
    let mut peak = 0;
    let mut all_lat = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let rss = rss_kib(pid);
        peak = peak.max(rss);
        let mut lat = std::mem::take(&mut *stats.latencies.lock().expect("lock"));
        lat.sort_unstable();
        println!(
            "| {} | {:.1} | {} | {} | {:.2} | {:.2} |",
            started.elapsed().as_secs(),
            rss as f64 / 1024.0,
            stats.joins.load(Ordering::Relaxed),
            stats.acked.load(Ordering::Relaxed),
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        );
        all_lat.extend(lat);
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(40), t).await;
    }
    all_lat.sort_unstable();
    println!("\nwhole run: commit p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} ops; peak RSS {:.1} MiB", percentile(&all_lat, 0.5), percentile(&all_lat, 0.99), percentile(&all_lat, 1.0), all_lat.len(), peak as f64 / 1024.0);
    println!("\nerrors by client kind and code:");
    for ((who, code), n) in stats.errors.lock().expect("lock").iter() {
        println!("  {who:8} {code:18} {n}");
    }
    for (who, n) in stats.unexpected_closes.lock().expect("lock").iter() {
        println!("  {who:8} dropped/timed out {n}");
    }
    // Every acknowledged op is in the final canvas.
    let mut ok = true;
    for (room, obs) in observers.into_iter().enumerate() {
        let obs = obs.await.expect("observer");
        let (id, _) = &rooms[room];
        let info: Value =
            serde_json::from_slice(&http(addr, "GET", &format!("/api/rooms/{id}"), "").await)
                .expect("info");
        let seq = info["seq"].as_u64().unwrap_or(0);
        let acks = stats.acks.lock().expect("lock")[room].clone();
        let missing = acks
            .iter()
            .filter(|(seq, who)| obs.commits.get(seq) != Some(who))
            .count();
        let png = http(addr, "GET", &format!("/api/rooms/{id}/canvas.png"), "").await;
        let server = image::load_from_memory(&png).expect("PNG").to_rgba8();
        let white = Rgba {
            r: 255,
            g: 255,
            b: 255,
            a: 255,
        };
        let mine = image::load_from_memory(&obs.canvas.snapshot().to_png(white))
            .expect("PNG")
            .to_rgba8();
        let differ = server
            .pixels()
            .zip(mine.pixels())
            .filter(|(a, b)| a != b)
            .count();
        let room_ok = missing == 0 && differ == 0 && obs.ops.len() as u64 == seq;
        ok &= room_ok;
        println!(
            "room {room}: seq {seq}, {} acknowledged by editors, {} commits seen by the observer, {missing} acknowledged ops missing, {differ} pixels differ from the observer's rebuild: {}",
            acks.len(),
            obs.ops.len(),
            if room_ok { "ok" } else { "FAILED" }
        );
    }
    println!(
        "server RSS at the end: {:.1} MiB",
        rss_kib(pid) as f64 / 1024.0
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);
    println!(
        "{}",
        if ok {
            "every acknowledged op is in the final canvas"
        } else {
            "SOAK FAILED"
        }
    );
    if !ok {
        std::process::exit(1);
    }
}
