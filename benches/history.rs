//! Time-travel benchmarks (run by hand: `cargo bench --bench history`, `-- --ops 2000` for a
//! quick smoke run). A 1920x1080 room of `--ops` ops (default 100,000) is drawn through the real
//! server by 4 WebSocket editors (strokes of 20 to 80 points, widths 3 to 16, mostly pen with
//! some highlighter and eraser, about 2% undo and redo, a rare fill or clear), then, each beside
//! its baseline in the same run:
//!
//! - the canvas at a seq: `history::canvas_at` (a fresh read connection, the keyframe, the
//!   replay) at `--seqs` random seqs (fixed seed) over the whole history, p50/p99/max, and the
//!   HTTP round trip of `canvas.png?seq=N&scale=0.5` through the server; baseline: replaying
//!   every op from the blank board to the same seq through `Replay` (5 of those seqs, median).
//!   Goal: p99 < 150 ms.
//! - timelapse: `timelapse::render` of 120 frames at 0.5 scale, in a child process of its own,
//!   its wall time and its peak resident memory growth (VmRSS sampled every 10 ms), for the whole
//!   history and for its first tenth, and the same frames each from `canvas_at` (a failure is
//!   reported, not fatal); baselines: one 1920x1080 RGBA canvas (8.3 MB), and the time of
//!   exporting the same 120 frames from canvases already rendered (no replay).
//!   Goal: under 10 s, memory a few canvases whatever the number of ops.
//! - store growth: bytes per op on disk and the keyframes' share, beside the ops' own bytes.
//!
//! Prints a table and a JSON line. `--keep` keeps the store (its directory is printed).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use inkroom::canvas::Canvas;
use inkroom::config::Config;
use inkroom::history::apng::ApngWriter;
use inkroom::history::timelapse::{self, Timelapse};
use inkroom::history::{canvas_at, Replay};
use inkroom::meta::RoomMeta;
use inkroom::store::history as stored;
use inkroom::store::Sqlite;
use rusqlite::Connection;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

#[path = "support/mod.rs"]
mod support;

use support::{Rng, Server};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
const AUTHORS: usize = 4;
/// Ops sent and not yet committed, at most (a well-behaved client's window).
const IN_FLIGHT: u64 = 256;
const FRAMES: u32 = 120;
const SCALE: f32 = 0.5;
/// Full replays from the blank board (each costs seconds at 100,000 ops).
const FULL_REPLAYS: usize = 5;

struct Args {
    ops: u64,
    seqs: usize,
}

fn args() -> Args {
    let mut out = Args {
        ops: 100_000,
        seqs: 300,
    };
    let all: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < all.len() {
        let value = all
            .get(i + 1)
            .and_then(|v| v.replace('_', "").parse::<u64>().ok());
        match (all[i].as_str(), value) {
            ("--ops", Some(v)) => out.ops = v.max(1),
            ("--seqs", Some(v)) => out.seqs = (v as usize).max(1),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    out
}

fn config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_owned(),
        durable: false,
        // Four bots draw as fast as the server takes it.
        messages_per_second: 1e9,
        message_burst: 1e9,
        ops_per_second: 1e9,
        op_burst: 1e9,
        paint_pixels_per_second: 1e15,
        paint_burst_pixels: 1e15,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Generating the room through the server.

/// Joins as an editor; returns the socket.
async fn join(addr: SocketAddr, room: &str, key: &str, name: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/rooms/{room}/ws"))
        .await
        .expect("ws");
    ws.send(Message::text(
        json!({"type": "hello", "name": name, "key": key}).to_string(),
    ))
    .await
    .expect("hello");
    while let Some(Ok(m)) = ws.next().await {
        if matches!(&m, Message::Text(t) if t.contains("\"synced\"")) {
            break;
        }
    }
    ws
}

const COLORS: [&str; 8] = [
    "#1f1f1f", "#e03131", "#1971c2", "#2f9e44", "#f08c00", "#6741d9", "#0c8599", "#c2255c",
];

/// A hand-drawn-looking stroke: 20 to 80 points walking with a slowly turning heading.
fn stroke(rng: &mut Rng, id: u64) -> Value {
    let n = 20 + rng.below(61) as usize;
    let (mut x, mut y) = (rng.f(WIDTH as f32), rng.f(HEIGHT as f32));
    let mut heading = rng.f(std::f32::consts::TAU);
    let step = 3.0 + rng.f(9.0);
    let mut pressure = 0.3 + rng.f(0.5);
    let mut points = Vec::with_capacity(n * 3);
    for _ in 0..n {
        points.extend([x, y, pressure]);
        heading += rng.f(0.6) - 0.3;
        x = (x + heading.cos() * step).clamp(0.0, WIDTH as f32 - 1.0);
        y = (y + heading.sin() * step).clamp(0.0, HEIGHT as f32 - 1.0);
        pressure = (pressure + rng.f(0.1) - 0.05).clamp(0.1, 1.0);
    }
    let tool = match rng.below(100) {
        0..=84 => "pen",
        85..=94 => "highlighter",
        _ => "eraser",
    };
    let color = match tool {
        "highlighter" => "#ffd43b",
        _ => COLORS[rng.below(COLORS.len() as u64) as usize],
    };
    json!({"type": "stroke_begin", "stroke": id, "tool": tool, "color": color,
           "width": 3 + rng.below(14), "points": points})
}

/// What a generated room holds.
#[derive(Default)]
struct Drawn {
    strokes: u64,
    undos: u64,
    redos: u64,
    fills: u64,
    clears: u64,
    refused: u64,
}

/// Draws `ops` ops into the room with 4 editors; returns what was sent.
async fn generate(addr: SocketAddr, room: &str, key: &str, ops: u64) -> Drawn {
    let seen = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    let mut readers = Vec::new();
    for a in 0..AUTHORS {
        let ws = join(addr, room, key, &format!("bot{a}")).await;
        let (tx, mut rx) = ws.split();
        senders.push(tx);
        let (seen, refused, done) = (seen.clone(), refused.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            while !done.load(Ordering::Acquire) {
                let next = tokio::time::timeout(Duration::from_millis(100), rx.next()).await;
                let Ok(Some(Ok(Message::Text(t)))) = next else {
                    continue;
                };
                if t.contains("\"error\"") {
                    let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                    if v["code"] != "nothing_to_undo" {
                        eprintln!("refused: {t}");
                    }
                    refused.fetch_add(1, Ordering::AcqRel);
                } else if a == 0 && t.contains("\"commit\"") {
                    let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                    if v["type"] == "commit" {
                        seen.fetch_max(v["seq"].as_u64().unwrap_or(0), Ordering::AcqRel);
                    }
                }
            }
        }));
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut drawn = Drawn::default();
    let mut sent = 0u64;
    let mut own = [0u64; AUTHORS];
    let mut just_undid = [false; AUTHORS];
    let mut id = 0u64;
    let room_seq = || async move {
        let info = support::http(addr, "GET", &format!("/api/rooms/{room}"), "").await;
        serde_json::from_slice::<Value>(&info).unwrap_or(Value::Null)["seq"]
            .as_u64()
            .unwrap_or(0)
    };
    loop {
        while sent - refused.load(Ordering::Acquire) < ops {
            while sent - refused.load(Ordering::Acquire) > seen.load(Ordering::Acquire) + IN_FLIGHT
            {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let a = rng.below(AUTHORS as u64) as usize;
            id += 1;
            let r = rng.below(10_000);
            let msgs = if just_undid[a] && r < 5_000 {
                drawn.redos += 1;
                just_undid[a] = false;
                own[a] += 1;
                vec![json!({"type": "redo"})]
            } else if r < 150 && own[a] > 0 {
                drawn.undos += 1;
                just_undid[a] = true;
                own[a] -= 1;
                vec![json!({"type": "undo"})]
            } else if r < 160 {
                drawn.fills += 1;
                just_undid[a] = false;
                own[a] += 1;
                vec![
                    json!({"type": "fill", "id": id, "x": rng.below(u64::from(WIDTH)),
                            "y": rng.below(u64::from(HEIGHT)),
                            "color": COLORS[rng.below(8) as usize], "tolerance": 32}),
                ]
            } else if r < 161 {
                drawn.clears += 1;
                just_undid[a] = false;
                own[a] += 1;
                vec![json!({"type": "clear", "id": id})]
            } else {
                drawn.strokes += 1;
                just_undid[a] = false;
                own[a] += 1;
                vec![
                    stroke(&mut rng, id),
                    json!({"type": "stroke_end", "stroke": id}),
                ]
            };
            for m in msgs {
                senders[a]
                    .send(Message::text(m.to_string()))
                    .await
                    .expect("send");
            }
            sent += 1;
        }
        // Wait for everything sent (a refused undo arrives as an error, not a commit).
        let waiting = Instant::now();
        let mut last = 0;
        loop {
            let expected = sent - refused.load(Ordering::Acquire);
            let at = seen.load(Ordering::Acquire).max(last);
            if at >= expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            if waiting.elapsed() > Duration::from_secs(2) {
                // A commit this reader missed (it fell behind, say): ask the server.
                last = room_seq().await;
            }
        }
        if sent - refused.load(Ordering::Acquire) >= ops {
            break;
        }
    }
    done.store(true, Ordering::Release);
    for r in readers {
        let _ = r.await;
    }
    drawn.refused = refused.load(Ordering::Acquire);
    assert_eq!(room_seq().await, ops, "the room has every op");
    drawn
}

// ---------------------------------------------------------------------------------------------
// Measuring.

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(v, 0.5)
}

/// Ops `canvas_at(seq)` replays: from the keyframe it starts at.
fn replay_len(conn: &Connection, meta: &RoomMeta, seq: u64) -> u64 {
    let from = stored::bounds(conn, meta.id)
        .expect("bounds")
        .expect("room")
        .from;
    seq - stored::start_for(conn, meta.id, from, seq, seq).expect("start")
}

/// The baseline: every op from the blank board to `seq`, through `Replay`.
fn full_replay(conn: &Connection, meta: &RoomMeta, config: &Config, seq: u64) -> Canvas {
    let blank = Canvas::new(meta.width, meta.height).expect("canvas");
    let mut replay = Replay::new(meta.id, blank, 0, config);
    let mut at = 0;
    while at < seq {
        let ops = stored::ops(conn, meta, at, seq, 512).expect("ops");
        let images = stored::images_for(conn, meta.id, &ops, replay.images()).expect("images");
        replay.add_images(images);
        for op in ops {
            at = op.seq;
            replay.apply(op).expect("replays");
        }
    }
    replay.doc().canvas().clone()
}

fn same_canvas(a: &Canvas, b: &Canvas) -> bool {
    let pixels = |c: &Canvas| c.snapshot().render(None, 1.0).expect("render").take();
    pixels(a) == pixels(b)
}

fn kib_of(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn open(dir: &Path, room: &str) -> (Sqlite, RoomMeta) {
    let store = Sqlite::open(dir, false).expect("store");
    let meta = store
        .room_meta(room.parse().expect("uuid"))
        .expect("meta")
        .expect("room");
    (store, meta)
}

/// In a child process of its own (so its memory is the render's alone): renders the timelapse
/// of seqs 0..=`to` and prints one JSON line of its time and memory. `mode` is `render`
/// (`timelapse::render`) or `frames`: each frame's canvas from `canvas_at`, then exported as
/// `render` does (`export_ms` is the export alone: the timelapse without any replay).
/// A sink that counts the bytes written to it.
struct Counted(usize);

impl std::io::Write for Counted {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0 += data.len();
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn timelapse_child(dir: &Path, room: &str, to: u64, mode: &str) {
    let (store, meta) = open(dir, room);
    let config = config(dir);
    let conn = store.history_reader().expect("reader");
    let before = kib_of("VmRSS:");
    let hwm_before = kib_of("VmHWM:");
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !stop.load(Ordering::Acquire) {
                peak = peak.max(kib_of("VmRSS:"));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        })
    };
    let started = Instant::now();
    let mut export = Duration::ZERO;
    let result = match mode {
        "render" => {
            let request = Timelapse {
                from: None,
                to: Some(to),
                frames: FRAMES,
                duration: None,
                scale: SCALE,
                background: None,
            };
            // Written out as it is rendered (the server streams it), counted, not kept.
            timelapse::plan(&conn, &meta, &request)
                .and_then(|plan| {
                    timelapse::render(&conn, &meta, &config, &request, &plan, Counted(0))
                        .map(|out| (plan.frames(), out.0))
                })
                .map_err(|e| e.to_string())
        }
        _ => {
            let seqs = timelapse::frame_seqs(0, to, FRAMES);
            let (w, h) = Canvas::new(meta.width, meta.height)
                .expect("canvas")
                .snapshot()
                .export_size(SCALE);
            let mut out = ApngWriter::new(Vec::new(), w, h, seqs.len() as u32, 83).expect("apng");
            for &seq in &seqs {
                let canvas = canvas_at(&conn, &meta, &config, seq).expect("canvas_at");
                let started = Instant::now();
                let frame = canvas
                    .snapshot()
                    .render(None, SCALE)
                    .expect("frame")
                    .take_demultiplied();
                out.push(&frame).expect("push");
                export += started.elapsed();
            }
            let started = Instant::now();
            let png = out.finish().expect("finish");
            export += started.elapsed();
            Ok((seqs.len() as u32, png.len()))
        }
    };
    let took = started.elapsed();
    stop.store(true, Ordering::Release);
    let peak = sampler.join().expect("sampler").max(kib_of("VmRSS:"));
    let (frames, png_bytes, error) = match result {
        Ok((f, p)) => (f, p, None),
        Err(e) => (0, 0, Some(e)),
    };
    println!(
        "{}",
        json!({"mode": mode, "ms": ms(took), "export_ms": ms(export), "frames": frames,
               "png_bytes": png_bytes, "error": error,
               "rss_before_kib": before, "rss_peak_kib": peak,
               "hwm_before_kib": hwm_before, "hwm_after_kib": kib_of("VmHWM:")})
    );
}

fn run_timelapse_child(dir: &Path, room: &str, to: u64, mode: &str) -> Value {
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .arg("--timelapse-child")
        .arg(dir)
        .arg(room)
        .arg(to.to_string())
        .arg(mode)
        .output()
        .expect("child");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().expect("a line")).expect("JSON")
}

fn file_len(p: PathBuf) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

fn main() {
    let all: Vec<String> = std::env::args().collect();
    if let Some(i) = all.iter().position(|a| a == "--timelapse-child") {
        let to = all[i + 3].parse().expect("to");
        timelapse_child(Path::new(&all[i + 1]), &all[i + 2], to, &all[i + 4]);
        return;
    }
    let args = args();
    let n = args.ops;
    let load_before = loadavg();
    println!("load average before: {load_before}");
    let dir = std::env::temp_dir().join(format!("inkroom-bench-{}", uuid::Uuid::new_v4()));
    let config = config(&dir);

    // Seqs to look at: spread over the whole history, fixed seed.
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let seqs: Vec<u64> = (0..args.seqs).map(|_| rng.below(n + 1)).collect();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (room, drawn, generation, http_ms) = rt.block_on(async {
        let server = Server::start(config.clone());
        let created = support::http(
            server.addr,
            "POST",
            "/api/rooms",
            &json!({"width": WIDTH, "height": HEIGHT}).to_string(),
        )
        .await;
        let created: Value = serde_json::from_slice(&created).expect("JSON");
        let room = created["id"].as_str().expect("id").to_owned();
        let key = created["edit_key"].as_str().expect("key").to_owned();
        let started = Instant::now();
        let drawn = generate(server.addr, &room, &key, n).await;
        let generation = started.elapsed();
        println!(
            "generated {n} ops in {:.1} s ({:.0} ops/s): {} strokes, {} undos, {} redos, \
             {} fills, {} clears, {} undos/redos refused",
            generation.as_secs_f64(),
            n as f64 / generation.as_secs_f64(),
            drawn.strokes,
            drawn.undos,
            drawn.redos,
            drawn.fills,
            drawn.clears,
            drawn.refused
        );
        let mut http_ms = Vec::new();
        for &seq in &seqs {
            let started = Instant::now();
            let body = support::http(
                server.addr,
                "GET",
                &format!("/api/rooms/{room}/canvas.png?seq={seq}&scale=0.5"),
                "",
            )
            .await;
            http_ms.push(ms(started.elapsed()));
            assert!(body.starts_with(b"\x89PNG"), "canvas.png?seq={seq}");
        }
        server.stop().await;
        (room, drawn, generation, http_ms)
    });

    let (store, meta) = open(&dir, &room);
    let conn = store.history_reader().expect("reader");

    // Store growth.
    let (ops_bytes, keyframe_bytes, restore_bytes) = stored::sizes(&conn, meta.id).expect("sizes");
    let keyframes: u64 = conn
        .query_row(
            "SELECT COUNT(*) FROM keyframes WHERE room = ?1",
            [meta.id.to_string()],
            |r| r.get(0),
        )
        .expect("count");
    let keyframe_tiles: u64 = conn
        .query_row(
            "SELECT COUNT(*) FROM keyframe_tiles WHERE room = ?1",
            [meta.id.to_string()],
            |r| r.get(0),
        )
        .expect("count");
    let db_file = file_len(dir.join("inkroom.db")) + file_len(dir.join("inkroom.db-wal"));

    // The canvas at random seqs: a fresh connection (as the server opens one per request), the
    // keyframe and the replay.
    let mut lib = Vec::new();
    for &seq in &seqs {
        let started = Instant::now();
        let conn = store.history_reader().expect("reader");
        let canvas = canvas_at(&conn, &meta, &config, seq).expect("canvas_at");
        lib.push((ms(started.elapsed()), seq));
        std::hint::black_box(canvas);
    }
    let replayed: Vec<u64> = seqs.iter().map(|&s| replay_len(&conn, &meta, s)).collect();
    // Of which reading and decoding the keyframe (the first 50 seqs).
    let mut keyframe_ms: Vec<f64> = seqs
        .iter()
        .zip(&replayed)
        .take(50)
        .map(|(&seq, &r)| {
            let started = Instant::now();
            std::hint::black_box(stored::keyframe(&conn, &meta, seq - r).expect("keyframe"));
            ms(started.elapsed())
        })
        .collect();
    let keyframe_median = median(&mut keyframe_ms);
    // Replay lengths over the whole history (every 10th seq).
    let stride = 10;
    let mut scan: Vec<(u64, u64)> = (0..=n)
        .step_by(stride)
        .map(|s| (replay_len(&conn, &meta, s), s))
        .collect();
    scan.sort();
    let scan_max = *scan.last().expect("a seq");
    let scan_p99 = scan[((scan.len() - 1) as f64 * 0.99).round() as usize].0;
    let scan_median = scan[scan.len() / 2].0;

    // Baseline: full replays from the blank board, at 5 of the seqs (spread by rank).
    let mut by_seq = seqs.clone();
    by_seq.sort();
    let mut full_ms = Vec::new();
    let mut same_ms = Vec::new();
    let mut full_seqs = Vec::new();
    let mut identical = true;
    for k in 0..FULL_REPLAYS {
        let seq = by_seq[(by_seq.len() - 1) * (2 * k + 1) / (2 * FULL_REPLAYS)];
        let started = Instant::now();
        let full = full_replay(&conn, &meta, &config, seq);
        full_ms.push(ms(started.elapsed()));
        let started = Instant::now();
        let at = canvas_at(&conn, &meta, &config, seq).expect("canvas_at");
        same_ms.push(ms(started.elapsed()));
        identical &= same_canvas(&full, &at);
        full_seqs.push(seq);
    }

    // Timelapse, each in a process of its own: the whole history, and its first tenth.
    let whole = run_timelapse_child(&dir, &room, n, "render");
    let tenth = run_timelapse_child(&dir, &room, n / 10, "render");
    let frames = run_timelapse_child(&dir, &room, n, "frames");
    let load_after = loadavg();

    let mut lib_sorted: Vec<f64> = lib.iter().map(|&(t, _)| t).collect();
    lib_sorted.sort_by(f64::total_cmp);
    let mut http_sorted = http_ms.clone();
    http_sorted.sort_by(f64::total_cmp);
    let mut replayed_sorted = replayed.clone();
    replayed_sorted.sort();
    let full_median = median(&mut full_ms.clone());
    let same_median = median(&mut same_ms.clone());
    let canvas_mb = f64::from(WIDTH * HEIGHT * 4) / 1e6;
    let growth_mb = |v: &Value| {
        (v["rss_peak_kib"].as_u64().unwrap_or(0) as f64
            - v["rss_before_kib"].as_u64().unwrap_or(0) as f64)
            * 1024.0
            / 1e6
    };
    let hwm_mb = |v: &Value| {
        (v["hwm_after_kib"].as_u64().unwrap_or(0) as f64
            - v["hwm_before_kib"].as_u64().unwrap_or(0) as f64)
            * 1024.0
            / 1e6
    };
    let disk_per_op = db_file as f64 / n as f64;
    let history_bytes = ops_bytes + keyframe_bytes + restore_bytes;

    println!();
    println!(
        "time travel, {WIDTH}x{HEIGHT} room of {n} ops (generated in {:.1} s), load {load_before} -> {load_after}",
        generation.as_secs_f64()
    );
    println!("| measure | inkroom | baseline (same run) |");
    println!("|---|---|---|");
    println!(
        "| canvas_at, {} random seqs (library: read + keyframe + replay) | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms | full replay from the blank board, median of {} seqs: {:.0} ms (canvas_at at those seqs: {:.1} ms; pixels identical: {identical}) |",
        seqs.len(),
        percentile(&lib_sorted, 0.5),
        percentile(&lib_sorted, 0.99),
        lib_sorted[lib_sorted.len() - 1],
        FULL_REPLAYS,
        full_median,
        same_median
    );
    println!(
        "| GET canvas.png?seq=N&scale=0.5, same seqs | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms | (as above) |",
        percentile(&http_sorted, 0.5),
        percentile(&http_sorted, 0.99),
        http_sorted[http_sorted.len() - 1]
    );
    println!(
        "| ops replayed by canvas_at (seq - start_for), those seqs | p50 {}, p99 {}, max {} | every {stride}th seq: median {scan_median}, p99 {scan_p99}, max {} (at seq {}) |",
        percentile(&replayed_sorted.iter().map(|&r| r as f64).collect::<Vec<_>>(), 0.5),
        percentile(&replayed_sorted.iter().map(|&r| r as f64).collect::<Vec<_>>(), 0.99),
        replayed_sorted[replayed_sorted.len() - 1],
        scan_max.0,
        scan_max.1
    );
    for (v, label) in [
        (&whole, format!("timelapse::render 0..{n}")),
        (&tenth, format!("timelapse::render 0..{}", n / 10)),
        (&frames, format!("canvas_at per frame + export, 0..{n}")),
    ] {
        if let Some(e) = v["error"].as_str() {
            println!(
                "| {label}, {FRAMES} frames at {SCALE} | FAILED after {:.2} s: {e} | |",
                v["ms"].as_f64().unwrap_or(0.0) / 1e3
            );
            continue;
        }
        let png_mb = v["png_bytes"].as_f64().unwrap_or(0.0) / 1e6;
        println!(
            "| {label}, {FRAMES} frames at {SCALE} | {:.2} s, RSS peak growth {:.1} MB (VmHWM growth {:.1} MB), of which the {png_mb:.1} MB APNG it returns | one {WIDTH}x{HEIGHT} RGBA canvas {canvas_mb:.1} MB (growth = {:.1} canvases; without the APNG {:.1}) |",
            v["ms"].as_f64().unwrap_or(0.0) / 1e3,
            growth_mb(v),
            hwm_mb(v),
            growth_mb(v) / canvas_mb,
            (growth_mb(v) - png_mb) / canvas_mb
        );
    }
    println!(
        "| timelapse time, 0..{n} | {} | exporting the same {FRAMES} frames from canvases already rendered (no replay): {:.2} s |",
        match whole["error"].as_str() {
            Some(_) => "failed (see above)".to_owned(),
            None => format!("{:.2} s", whole["ms"].as_f64().unwrap_or(0.0) / 1e3),
        },
        frames["export_ms"].as_f64().unwrap_or(0.0) / 1e3
    );
    println!(
        "| store: bytes per op on disk (database file / ops) | {disk_per_op:.0} B ({:.1} MB) | the ops' own records: {:.0} B per op |",
        db_file as f64 / 1e6,
        ops_bytes as f64 / n as f64
    );
    println!(
        "| store: keyframes' share of history bytes | {:.1}% ({} keyframes, {} tile rows, {:.1} MB; restores {:.1} MB) | ops {:.1} MB |",
        100.0 * keyframe_bytes as f64 / history_bytes.max(1) as f64,
        keyframes,
        keyframe_tiles,
        keyframe_bytes as f64 / 1e6,
        restore_bytes as f64 / 1e6,
        ops_bytes as f64 / 1e6
    );
    let mut slowest = lib.clone();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    let replayed_at: HashMap<u64, u64> =
        seqs.iter().copied().zip(replayed.iter().copied()).collect();
    println!();
    println!("slowest canvas_at calls (ms, seq, ops replayed):");
    for (t, seq) in slowest.iter().take(5) {
        println!("  {t:.1} ms  seq {seq}  replayed {}", replayed_at[seq]);
    }
    println!("reading and decoding the keyframe alone: median {keyframe_median:.1} ms (50 seqs)");
    println!(
        "full replays (seq, ms): {:?}",
        full_seqs
            .iter()
            .zip(full_ms.iter().map(|t| t.round()))
            .collect::<Vec<_>>()
    );
    println!(
        "{}",
        json!({
            "bench": "history", "ops": n, "generation_s": generation.as_secs_f64(),
            "load_before": load_before, "load_after": load_after,
            "canvas_at_ms": {"p50": percentile(&lib_sorted, 0.5), "p99": percentile(&lib_sorted, 0.99),
                             "max": lib_sorted[lib_sorted.len() - 1], "n": seqs.len()},
            "http_canvas_ms": {"p50": percentile(&http_sorted, 0.5), "p99": percentile(&http_sorted, 0.99),
                               "max": http_sorted[http_sorted.len() - 1]},
            "full_replay_ms": {"median": full_median, "seqs": full_seqs, "all": full_ms,
                               "canvas_at_same_seqs_median": same_median, "identical": identical},
            "keyframe_read_ms_median": keyframe_median,
            "replayed": {"sample_max": replayed_sorted[replayed_sorted.len() - 1],
                         "scan_stride": stride, "scan_median": scan_median, "scan_p99": scan_p99,
                         "scan_max": scan_max.0, "scan_max_seq": scan_max.1},
            "timelapse": {"whole": whole, "tenth": tenth, "canvas_at_frames": frames,
                          "canvas_mb": canvas_mb},
            "store": {"db_bytes": db_file, "bytes_per_op": disk_per_op, "ops_bytes": ops_bytes,
                      "keyframe_bytes": keyframe_bytes, "restore_bytes": restore_bytes,
                      "keyframes": keyframes, "keyframe_tiles": keyframe_tiles},
            "drawn": {"strokes": drawn.strokes, "undos": drawn.undos, "redos": drawn.redos,
                      "fills": drawn.fills, "clears": drawn.clears, "refused": drawn.refused},
        })
    );
    drop(conn);
    store.close();
    if all.iter().any(|a| a == "--keep") {
        println!("store kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(dir);
    }
}
