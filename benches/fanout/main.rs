//! Fan-out load generator: real WebSocket clients, in their own process, against a running server
//! (inkroom, or one of the baseline relays `benches/relay.rs` and `benches/relay.mjs`). Editors draw
//! strokes at a fixed rate; viewers read everything and time each stroke message from the
//! moment its editor sent it. `scripts/bench` runs every scenario against all three servers.
//!
//! Run by hand, with a server already listening:
//! `cargo bench --bench fanout -- --target inkroom --url http://127.0.0.1:8080 --viewers 190
//! --editors 4 --rate 60 --duration 15 --server-pid PID --json`
//!
//! - `inkroom`: creates a room (`POST /api/rooms`), says `hello` (with `"batch": true`) and counts
//!   a member as joined once it has `welcome` and `synced`. `relay`: connects to `/ws`, no hello.
//! - Identity travels in the payload, so it survives a relay that parses nothing: the stroke id is
//!   `editor * 1,000,000 + stroke number`, and the first point of each `stroke_points` message
//!   (every `--points`-th point, should a server merge messages) is `(c % 1000, c / 1000)` for the
//!   editor's message counter `c`. Each editor writes down when it sent message `c`.
//! - Frames are scanned, not parsed into a DOM: every flat object holding `"stroke_points"` or
//!   `"stroke_begin"`, whether alone in its frame or inside `{"type":"batch","messages":[..]}`.
//! - Timeline: editors join, viewers join (64 at a time), editors draw for `--warmup` s, then the
//!   measured `--duration` s, then stop; viewers get `--grace` s more to drain. Only messages sent
//!   in the measured window count; `lost` is window messages x reading viewers - deliveries.
//! - `--idle`: viewers only; reports join time and the server's memory per viewer.
//! - A cluster (`scripts/bench-cluster`): `--room`/`--key` join a room made beforehand (so the
//!   script decides which node owns it), `--viewer-urls` spreads viewers over nodes in turn while
//!   editors use `--url`, `--server-pid` takes every node's pid (totals, and each in `nodes`),
//!   `--store-pid` adds PostgreSQL's CPU time, `--bus-pid` Redis's.
//!
//! Layout: `main.rs` (arguments, the members' tasks, the timeline, the report), `connect.rs`
//! (creating a room, joining), `payload.rs` (identity in and out of messages), `measure.rs`
//! (latency histogram, `/proc`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::{watch, Semaphore};
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;

mod connect;
mod measure;
mod payload;

use connect::{create_room, error_codes, join, Ws};
use measure::{
    cpu_seconds, open_files_limit, proc_status_kib, ticks_per_second, tree_cpu_seconds, Histogram,
};
use payload::{for_each_stroke_message, message_counters, points_message, STROKE_BASE};

/// `stroke_points` messages per stroke before `stroke_end` and a new `stroke_begin`.
const MESSAGES_PER_STROKE: u64 = 100;

/// Which server the clients talk to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Target {
    /// inkroom: a room, `hello`, `welcome` and `synced`.
    Inkroom,
    /// A baseline relay: `/ws`, nothing to say before drawing.
    Relay,
}

/// The command line.
#[derive(Debug, Parser)]
#[command(about = "Fan-out load generator for inkroom and the baseline relays")]
struct Args {
    /// Server kind.
    #[arg(long, value_enum, default_value = "inkroom")]
    target: Target,
    /// Server base URL (editors, and viewers unless `--viewer-urls`; the room is created here).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Base URLs viewers join instead of `--url`, comma-separated, taken in turn (viewer n gets
    /// the (n mod count)-th): several nodes of a cluster.
    #[arg(long, value_delimiter = ',')]
    viewer_urls: Vec<String>,
    /// An existing room to join instead of creating one (inkroom; needs `--key`).
    #[arg(long, requires = "key")]
    room: Option<String>,
    /// The edit key of `--room`.
    #[arg(long, requires = "room")]
    key: Option<String>,
    /// Viewers that read everything.
    #[arg(long, default_value_t = 190)]
    viewers: usize,
    /// Editors drawing strokes.
    #[arg(long, default_value_t = 4)]
    editors: usize,
    /// `stroke_points` messages a second per editor.
    #[arg(long, default_value_t = 60.0)]
    rate: f64,
    /// Points per message.
    #[arg(long, default_value_t = 8)]
    points: usize,
    /// Seconds measured.
    #[arg(long, default_value_t = 15.0)]
    duration: f64,
    /// Seconds of drawing before the measured window.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds viewers keep reading after editors stop.
    #[arg(long, default_value_t = 3.0)]
    grace: f64,
    /// Extra viewers that join, then never read again.
    #[arg(long, default_value_t = 0)]
    stalled: usize,
    /// Viewers only, no editors: join time and memory per viewer.
    #[arg(long)]
    idle: bool,
    /// The server's process id, to read its memory and CPU time from /proc; several,
    /// comma-separated (the nodes of a cluster): the totals add them up and `nodes` has each.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// A database server's main process id (PostgreSQL's postmaster): its CPU time and its child
    /// processes' over the measured span are reported as `store_cpu_s`.
    #[arg(long)]
    store_pid: Option<u32>,
    /// The bus's process id (Redis): its CPU time over the measured span is `bus_cpu_s`.
    #[arg(long)]
    bus_pid: Option<u32>,
    /// Free text copied into the results.
    #[arg(long, default_value = "")]
    label: String,
    /// Print the results as one JSON line on stdout (the human-readable line goes to stderr).
    #[arg(long)]
    json: bool,
    /// Connections being opened at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds all viewers (and, before them, all editors) may take to join; the late are refused.
    #[arg(long, default_value_t = 60.0)]
    join_timeout: f64,
    /// Worker threads for viewers (editors have a thread of their own).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Added by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Everything the client tasks share with `main`.
struct Shared {
    args: Args,
    /// The WebSocket URL editors open.
    ws_url: String,
    /// The WebSocket URLs viewers open, in turn (at least one).
    viewer_ws_urls: Vec<String>,
    /// The edit key (inkroom).
    key: String,
    /// Zero of every `*_ns` time below.
    epoch: Instant,
    /// Per editor, per message counter: when it was sent (ns since `epoch`, plus 1; 0 = not yet).
    sent_at: Vec<Box<[AtomicU64]>>,
    /// Per editor: messages sent in the measured window.
    sent_in_window: Vec<AtomicU64>,
    /// Start of the measured window (ns since `epoch`); `u64::MAX` until it is known.
    window_ns: AtomicU64,
    /// Whether viewers are counting the bytes they receive (from the window to the end).
    counting: AtomicBool,
    /// Latencies of the window's messages, as reading viewers got them.
    latency: Histogram,
    /// Window messages delivered to reading viewers (each counted once per viewer).
    deliveries: AtomicU64,
    /// Payload bytes of text and binary frames reading viewers got from the window's start on.
    text_bytes: AtomicU64,
    binary_bytes: AtomicU64,
    /// Stroke messages seen again (servers replay open strokes to joiners and resyncs).
    repeats: AtomicU64,
    /// Viewers joined, those of them that read, and when the last one joined (ns since `epoch`).
    joined: AtomicU64,
    reading: AtomicU64,
    last_join_ns: AtomicU64,
    /// Members whose join ended, either way.
    join_done: AtomicU64,
    /// Failed joins by reason (an error code, a close code or a connection error).
    refused: Mutex<BTreeMap<String, u64>>,
    /// `error` messages received, by `who:code`, and connections lost before the end.
    errors: Mutex<BTreeMap<String, u64>>,
    /// Set when the run is over; every client task ends.
    stop_rx: watch::Receiver<bool>,
    /// Editors wait for this before drawing: the instant drawing starts.
    start_rx: watch::Receiver<Option<Instant>>,
}

impl Shared {
    /// Nanoseconds since `epoch`.
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Adds one to `key` in `map`.
    fn count(map: &Mutex<BTreeMap<String, u64>>, key: String) {
        *map.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default() += 1;
    }

    /// Counts every `error` message in `text` as `who:code`.
    fn count_errors(&self, who: &str, text: &str) {
        for code in error_codes(text) {
            Self::count(&self.errors, format!("{who}:{code}"));
        }
    }
}

/// One viewer's bookkeeping while it reads.
struct Viewer {
    /// Per editor: one past the highest message counter delivered (servers keep each editor's order).
    next: Vec<u64>,
    /// These add to the `Shared` counters of the same names when the viewer ends.
    deliveries: u64,
    text_bytes: u64,
    binary_bytes: u64,
    repeats: u64,
}

impl Viewer {
    /// Records every stroke message in a text frame.
    fn frame(&mut self, shared: &Shared, text: &str) {
        if shared.counting.load(Ordering::Relaxed) {
            self.text_bytes += text.len() as u64;
        }
        let now = shared.now_ns();
        let window = shared.window_ns.load(Ordering::Relaxed);
        let per_message = shared.args.points.max(1);
        for_each_stroke_message(text, |stroke, points| {
            let editor = (stroke / STROKE_BASE) as usize;
            let Some(next) = self.next.get_mut(editor) else {
                return;
            };
            for c in message_counters(points, per_message) {
                if c < *next {
                    self.repeats += 1;
                    continue;
                }
                *next = c + 1;
                let sent = shared.sent_at[editor]
                    .get(c as usize)
                    .map_or(0, |t| t.load(Ordering::Relaxed));
                if sent == 0 || sent - 1 < window {
                    continue;
                }
                shared.latency.record(now.saturating_sub(sent - 1) / 1000);
                self.deliveries += 1;
            }
        });
        shared.count_errors("viewer", text);
    }

    /// Adds this viewer's counts to the shared ones.
    fn flush(&self, shared: &Shared) {
        shared
            .deliveries
            .fetch_add(self.deliveries, Ordering::Relaxed);
        shared
            .text_bytes
            .fetch_add(self.text_bytes, Ordering::Relaxed);
        shared
            .binary_bytes
            .fetch_add(self.binary_bytes, Ordering::Relaxed);
        shared.repeats.fetch_add(self.repeats, Ordering::Relaxed);
    }
}

/// `join` at `url`, after taking a permit when given one, bounded by `deadline`; failures are
/// counted as refused under `who:reason`.
async fn join_counted(
    shared: &Shared,
    url: &str,
    who: &str,
    hello: Option<String>,
    permits: Option<&Semaphore>,
    deadline: Instant,
) -> Option<Ws> {
    let attempt = async {
        let _permit = match permits {
            Some(p) => Some(p.acquire().await.expect("the semaphore is never closed")),
            None => None,
        };
        join(url, hello).await
    };
    let result = tokio::time::timeout_at(deadline.into(), attempt)
        .await
        .unwrap_or_else(|_| Err("join timeout".into()));
    shared.join_done.fetch_add(1, Ordering::Relaxed);
    match result {
        Ok(ws) => Some(ws),
        Err(reason) => {
            Shared::count(&shared.refused, format!("{who}:{reason}"));
            None
        }
    }
}

/// A viewer: joins (at most `--concurrency` at once), then reads until the end, or never again
/// when `stalled`.
async fn viewer(
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    deadline: Instant,
    n: usize,
    stalled: bool,
) {
    let hello = (shared.args.target == Target::Inkroom)
        .then(|| json!({"type":"hello","name":format!("v{n}"),"batch":true}).to_string());
    let who = if stalled { "stalled" } else { "viewer" };
    let urls = &shared.viewer_ws_urls;
    let url = &urls[n % urls.len()];
    let joined = join_counted(&shared, url, who, hello, Some(&permits), deadline).await;
    let Some(mut ws) = joined else { return };
    shared.joined.fetch_add(1, Ordering::Relaxed);
    if !stalled {
        shared.reading.fetch_add(1, Ordering::Relaxed);
    }
    shared
        .last_join_ns
        .fetch_max(shared.now_ns(), Ordering::Relaxed);
    let mut stop_rx = shared.stop_rx.clone();
    if stalled {
        let _ = stop_rx.wait_for(|stop| *stop).await;
        return;
    }
    let mut me = Viewer {
        next: vec![0; shared.args.editors],
        deliveries: 0,
        text_bytes: 0,
        binary_bytes: 0,
        repeats: 0,
    };
    loop {
        tokio::select! {
            _ = stop_rx.wait_for(|stop| *stop) => break,
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(t))) => me.frame(&shared, &t),
                Some(Ok(Message::Binary(b))) => {
                    if shared.counting.load(Ordering::Relaxed) {
                        me.binary_bytes += b.len() as u64;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map_or("none".into(), |f| f.code.to_string());
                    Shared::count(&shared.errors, format!("viewer:closed {code}"));
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    Shared::count(&shared.errors, "viewer:connection lost".into());
                    break;
                }
            },
        }
    }
    me.flush(&shared);
}

/// An editor: joins, waits for the start, sends `stroke_points` at `--rate` (a fixed schedule,
/// catching up in bursts when late) until the window ends, reading its socket all along.
async fn editor(shared: Arc<Shared>, e: usize, joined_tx: tokio::sync::mpsc::Sender<bool>) {
    let hello = (shared.args.target == Target::Inkroom).then(|| {
        json!({"type":"hello","name":format!("e{e}"),"key":shared.key,"user":format!("e{e}"),"batch":true})
            .to_string()
    });
    let deadline = Instant::now() + Duration::from_secs_f64(shared.args.join_timeout);
    let ws = join_counted(&shared, &shared.ws_url, "editor", hello, None, deadline).await;
    let _ = joined_tx.send(ws.is_some()).await;
    let Some(ws) = ws else { return };
    let (mut sink, mut stream) = ws.split();
    let reader = {
        let shared = Arc::clone(&shared);
        let mut stop_rx = shared.stop_rx.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop_rx.wait_for(|stop| *stop) => break,
                    frame = stream.next() => match frame {
                        Some(Ok(Message::Text(t))) => shared.count_errors("editor", &t),
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                            Shared::count(&shared.errors, "editor:connection lost".into());
                            break;
                        }
                        Some(Ok(_)) => {}
                    },
                }
            }
        })
    };
    let mut start_rx = shared.start_rx.clone();
    let start = *start_rx
        .wait_for(Option::is_some)
        .await
        .expect("main keeps the start sender")
        .as_ref()
        .expect("waited for Some");
    let args = &shared.args;
    let period = Duration::from_secs_f64(1.0 / args.rate);
    // Editors take turns within a period rather than all sending at once.
    let offset = period.mul_f64(e as f64 / args.editors.max(1) as f64);
    let end = start + Duration::from_secs_f64(args.warmup + args.duration);
    let mut tick = tokio::time::interval_at((start + offset).into(), period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let window = shared.window_ns.load(Ordering::Relaxed);
    let mut stroke = e as u64 * STROKE_BASE;
    for c in 0..shared.sent_at[e].len() as u64 {
        tick.tick().await;
        if Instant::now() >= end {
            break;
        }
        let mut frames = Vec::with_capacity(3);
        if c.is_multiple_of(MESSAGES_PER_STROKE) {
            if c > 0 {
                frames.push(format!("{{\"type\":\"stroke_end\",\"stroke\":{stroke}}}"));
            }
            stroke += 1;
            frames.push(format!("{{\"type\":\"stroke_begin\",\"stroke\":{stroke},\"tool\":\"pen\",\"color\":\"#1f1f1f\",\"width\":4,\"points\":[]}}"));
        }
        frames.push(points_message(stroke, c, args.points));
        let last = frames.len() - 1;
        for (i, frame) in frames.into_iter().enumerate() {
            if i == last {
                // The send time of message c: just before its frame goes to the socket.
                let now = shared.now_ns();
                shared.sent_at[e][c as usize].store(now + 1, Ordering::Relaxed);
                if now >= window {
                    shared.sent_in_window[e].fetch_add(1, Ordering::Relaxed);
                }
            }
            if sink.send(Message::text(frame)).await.is_err() {
                Shared::count(&shared.errors, "editor:send failed".into());
                return;
            }
        }
    }
    let _ = sink
        .send(Message::text(format!(
            "{{\"type\":\"stroke_end\",\"stroke\":{stroke}}}"
        )))
        .await;
    let _ = reader.await;
}

fn main() {
    let mut args = Args::parse();
    if args.idle {
        args.editors = 0;
    }
    let members = args.viewers + args.stalled + args.editors;
    if let Some(limit) = open_files_limit().filter(|&l| l < members as u64 + 64) {
        eprintln!("fanout: the open files limit is {limit}, under {members} sockets: raise it with `ulimit -n`");
        std::process::exit(2);
    }
    let viewers_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .expect("a tokio runtime");
    viewers_rt.block_on(run(args));
}

async fn run(args: Args) {
    let (room, key) = match (args.target, &args.room, &args.key) {
        (Target::Relay, ..) => (None, String::new()),
        (Target::Inkroom, Some(room), Some(key)) => (Some(room.clone()), key.clone()),
        (Target::Inkroom, ..) => match create_room(&args.url).await {
            Ok((id, key)) => (Some(id), key),
            Err(e) => {
                eprintln!("fanout: cannot create a room: {e}");
                std::process::exit(1);
            }
        },
    };
    let ws_url_at = |base: &str| {
        let base = base.trim_end_matches('/').replacen("http", "ws", 1);
        match &room {
            Some(id) => format!("{base}/api/rooms/{id}/ws"),
            None => format!("{base}/ws"),
        }
    };
    let ws_url = ws_url_at(&args.url);
    let viewer_ws_urls: Vec<String> = if args.viewer_urls.is_empty() {
        vec![ws_url.clone()]
    } else {
        args.viewer_urls.iter().map(|u| ws_url_at(u)).collect()
    };
    let capacity = (args.rate * (args.warmup + args.duration + 1.0)).ceil() as usize + 16;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (start_tx, start_rx) = watch::channel(None);
    let shared = Arc::new(Shared {
        ws_url,
        viewer_ws_urls,
        key,
        epoch: Instant::now(),
        sent_at: (0..args.editors)
            .map(|_| (0..capacity).map(|_| AtomicU64::new(0)).collect())
            .collect(),
        sent_in_window: (0..args.editors).map(|_| AtomicU64::new(0)).collect(),
        window_ns: AtomicU64::new(u64::MAX),
        counting: AtomicBool::new(false),
        latency: Histogram::new(),
        deliveries: AtomicU64::new(0),
        text_bytes: AtomicU64::new(0),
        binary_bytes: AtomicU64::new(0),
        repeats: AtomicU64::new(0),
        joined: AtomicU64::new(0),
        reading: AtomicU64::new(0),
        last_join_ns: AtomicU64::new(0),
        join_done: AtomicU64::new(0),
        refused: Mutex::default(),
        errors: Mutex::default(),
        stop_rx,
        start_rx,
        args,
    });
    let args = &shared.args;
    let pids: Vec<String> = args.server_pid.iter().map(u32::to_string).collect();
    let ticks = ticks_per_second();
    // Per server process, in the order of `--server-pid`.
    let server_cpu = || -> Vec<f64> { pids.iter().map(|p| cpu_seconds(p, ticks)).collect() };
    let server_kib =
        |field| -> Vec<u64> { pids.iter().map(|p| proc_status_kib(p, field)).collect() };
    let store_cpu = || args.store_pid.map_or(0.0, |p| tree_cpu_seconds(p, ticks));
    let bus_cpu = || args.bus_pid.map_or(0.0, |p| tree_cpu_seconds(p, ticks));

    // Editors first, on a thread of their own so their schedule does not wait for viewers.
    let (joined_tx, mut joined_rx) = tokio::sync::mpsc::channel(args.editors.max(1));
    let editors_thread = {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            rt.block_on(async {
                let tasks: Vec<_> = (0..shared.args.editors)
                    .map(|e| tokio::spawn(editor(Arc::clone(&shared), e, joined_tx.clone())))
                    .collect();
                for task in tasks {
                    let _ = task.await;
                }
            });
        })
    };
    let mut editors_joined = 0;
    for _ in 0..args.editors {
        editors_joined += usize::from(joined_rx.recv().await.unwrap_or(false));
    }

    // Then viewers, `--concurrency` joining at a time.
    let rss_before = server_kib("VmRSS:");
    let permits = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let join_start = shared.now_ns();
    let deadline = Instant::now() + Duration::from_secs_f64(args.join_timeout);
    let viewers: Vec<_> = (0..args.viewers + args.stalled)
        .map(|n| {
            let (shared, permits) = (Arc::clone(&shared), Arc::clone(&permits));
            tokio::spawn(viewer(shared, permits, deadline, n, n >= args.viewers))
        })
        .collect();
    let all = (args.editors + args.viewers + args.stalled) as u64;
    while shared.join_done.load(Ordering::Relaxed) < all {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let joined = shared.joined.load(Ordering::Relaxed);
    let join_s = shared
        .last_join_ns
        .load(Ordering::Relaxed)
        .saturating_sub(join_start) as f64
        / 1e9;
    let refused_total: u64 = shared
        .refused
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
        .sum();
    eprintln!(
        "fanout: {editors_joined}/{} editors, {joined}/{} viewers joined in {join_s:.2} s, {refused_total} refused",
        args.editors,
        args.viewers + args.stalled
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_joined = server_kib("VmRSS:");

    // Draw: warm up, measure, let viewers drain.
    let start = Instant::now();
    let window = start + Duration::from_secs_f64(args.warmup);
    shared
        .window_ns
        .store((window - shared.epoch).as_nanos() as u64, Ordering::Relaxed);
    let measured = if args.idle { 0.0 } else { args.duration };
    if !args.idle {
        start_tx.send_replace(Some(start));
        tokio::time::sleep_until(window.into()).await;
    }
    let (cpu_start, gen_cpu_start) = (server_cpu(), cpu_seconds("self", ticks));
    let (store_cpu_start, bus_cpu_start) = (store_cpu(), bus_cpu());
    shared.counting.store(true, Ordering::Relaxed);
    if args.idle {
        tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
    } else {
        eprintln!("fanout: measuring {measured} s");
        tokio::time::sleep(Duration::from_secs_f64(args.duration + args.grace)).await;
    }
    shared.counting.store(false, Ordering::Relaxed);
    let cpu_s: Vec<f64> = server_cpu()
        .iter()
        .zip(&cpu_start)
        .map(|(end, start)| end - start)
        .collect();
    let gen_cpu_s = cpu_seconds("self", ticks) - gen_cpu_start;
    let store_cpu_s = store_cpu() - store_cpu_start;
    let bus_cpu_s = bus_cpu() - bus_cpu_start;
    let (rss_peak, rss_end) = (server_kib("VmHWM:"), server_kib("VmRSS:"));
    stop_tx.send_replace(true);
    for v in viewers {
        let _ = tokio::time::timeout(Duration::from_secs(10), v).await;
    }
    let _ = editors_thread.join();

    report(
        &shared,
        &Outcome {
            editors_joined,
            joined,
            join_s,
            refused: refused_total,
            rss_per_viewer_kib: if joined > 0 {
                let growth: u64 = rss_joined
                    .iter()
                    .zip(&rss_before)
                    .map(|(after, before)| after.saturating_sub(*before))
                    .sum();
                growth as f64 / joined as f64
            } else {
                0.0
            },
            rss_peak,
            rss_end,
            cpu_s,
            gen_cpu_s,
            store_cpu_s,
            bus_cpu_s,
        },
    );
}

/// What `run` measured around the load, for `report`.
struct Outcome {
    editors_joined: usize,
    /// Viewers joined, reading or stalled.
    joined: u64,
    /// From the first viewer's connect to the last viewer's join.
    join_s: f64,
    /// Members whose join failed.
    refused: u64,
    /// Server memory growth from before the viewers joined to a second after, per viewer.
    rss_per_viewer_kib: f64,
    /// Per server process: peak memory (VmHWM) and memory at the end (VmRSS).
    rss_peak: Vec<u64>,
    rss_end: Vec<u64>,
    /// CPU seconds of each server process, of this generator and of the store's processes from
    /// the window's start to the grace's end.
    cpu_s: Vec<f64>,
    gen_cpu_s: f64,
    store_cpu_s: f64,
    /// CPU seconds of the bus (Redis) over the same span.
    bus_cpu_s: f64,
}

/// `x` rounded to hundredths.
fn centi(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Prints the results: a human-readable line, and with `--json` one JSON line on stdout.
fn report(shared: &Shared, o: &Outcome) {
    let args = &shared.args;
    let sent: u64 = shared
        .sent_in_window
        .iter()
        .map(|s| s.load(Ordering::Relaxed))
        .sum();
    let measured = if args.idle { 0.0 } else { args.duration };
    let intended = (args.rate * measured).round() as u64 * args.editors as u64;
    let expected = sent * shared.reading.load(Ordering::Relaxed);
    let deliveries = shared.deliveries.load(Ordering::Relaxed);
    let text_bytes = shared.text_bytes.load(Ordering::Relaxed);
    let q = |p| shared.latency.quantile_ms(p);
    let lock =
        |m: &Mutex<BTreeMap<String, u64>>| m.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let results = json!({
        "label": args.label,
        "target": format!("{:?}", args.target).to_lowercase(),
        "viewers": args.viewers, "editors": args.editors, "stalled": args.stalled,
        "rate": args.rate, "points": args.points, "duration_s": measured, "idle": args.idle,
        "editors_joined": o.editors_joined, "viewers_joined": o.joined, "refused": o.refused,
        "refused_by": lock(&shared.refused), "join_s": o.join_s,
        "sent": sent, "intended": intended,
        "sent_pct": if intended > 0 { 100.0 * sent as f64 / intended as f64 } else { 0.0 },
        "deliveries": deliveries, "expected": expected,
        "lost": expected.saturating_sub(deliveries),
        "deliveries_per_s": if measured > 0.0 { deliveries as f64 / measured } else { 0.0 },
        "p50_ms": q(0.5), "p99_ms": q(0.99), "p999_ms": q(0.999),
        "max_ms": shared.latency.max.load(Ordering::Relaxed) as f64 / 1000.0,
        "text_bytes": text_bytes, "binary_bytes": shared.binary_bytes.load(Ordering::Relaxed),
        "bytes_per_delivery": if deliveries > 0 { text_bytes as f64 / deliveries as f64 } else { 0.0 },
        "repeats": shared.repeats.load(Ordering::Relaxed),
        "errors": lock(&shared.errors),
        // Sums over the server processes (one, unless a cluster's nodes), each in `nodes`.
        "server_rss_peak_kib": o.rss_peak.iter().sum::<u64>(),
        "server_rss_end_kib": o.rss_end.iter().sum::<u64>(),
        "server_rss_per_viewer_kib": o.rss_per_viewer_kib,
        // /proc counts CPU time in clock ticks (10 ms on Linux).
        "server_cpu_s": centi(o.cpu_s.iter().sum()),
        "nodes": args.server_pid.iter().enumerate().map(|(i, pid)| json!({
            "pid": pid,
            "rss_peak_kib": o.rss_peak[i],
            "rss_end_kib": o.rss_end[i],
            "cpu_s": centi(o.cpu_s[i]),
        })).collect::<Vec<_>>(),
        "store_cpu_s": centi(o.store_cpu_s),
        "bus_cpu_s": centi(o.bus_cpu_s),
        "generator_cpu_s": centi(o.gen_cpu_s),
    });
    let load = if args.idle {
        String::new()
    } else {
        format!(
            " | sent {:.1}% | {:.0} deliveries/s | p50 {:.2} p99 {:.2} p99.9 {:.2} max {:.2} ms | lost {} | {:.0} B/delivery",
            results["sent_pct"].as_f64().unwrap_or(0.0),
            results["deliveries_per_s"].as_f64().unwrap_or(0.0),
            q(0.5),
            q(0.99),
            q(0.999),
            results["max_ms"].as_f64().unwrap_or(0.0),
            results["lost"],
            results["bytes_per_delivery"].as_f64().unwrap_or(0.0),
        )
    };
    let human = format!(
        "[{} {:?}] joined {}/{} in {:.2} s ({} refused){load} | server RSS peak {:.1} MiB, {:.1} KiB/viewer, CPU {:.2} s | generator CPU {:.2} s | errors {}",
        args.label,
        args.target,
        o.joined,
        args.viewers + args.stalled,
        o.join_s,
        o.refused,
        o.rss_peak.iter().sum::<u64>() as f64 / 1024.0,
        o.rss_per_viewer_kib,
        o.cpu_s.iter().sum::<f64>(),
        o.gen_cpu_s,
        results["errors"],
    );
    if args.json {
        eprintln!("{human}");
        println!("{results}");
    } else {
        println!("{human}");
    }
}
