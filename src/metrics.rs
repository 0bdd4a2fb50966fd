//! The server's metrics, in Prometheus form: [`Metrics`] holds every collector in a registry
//! owned by one server instance (several servers in one process never mix their counts) and
//! renders them as Prometheus text for `GET /metrics`.
//!
//! Recording is cheap: every labelled series the hot paths touch is resolved once, here, into a
//! plain atomic counter, so no message hashes a label or builds a string. No label ever carries
//! a room id, room name, key or member name: label values come from small fixed sets (message
//! types, error codes, frame kinds, roles, limits, close codes). The list of metrics with their
//! meaning is in `docs/protocol.md` (`GET /metrics`).

use std::time::Instant;

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, TextEncoder,
};

use crate::protocol::{close, ClientMsg, ErrorCode};

/// Buckets of the latency histograms, in seconds: 0.5 ms to 10 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A failure to set up or render metrics (an invalid name or a duplicate collector: a bug).
pub type MetricsError = prometheus::Error;

/// What the rooms hold now, counted when metrics are scraped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Live {
    /// Rooms whose actor runs.
    pub rooms: usize,
    /// Members who may draw, in every loaded room.
    pub editors: usize,
    /// Members who only watch.
    pub viewers: usize,
    /// Members whose outbox overflowed and who wait for a resync.
    pub lagging: usize,
}

/// How a WebSocket connection ended, for [`Metrics::ws_closed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The server closed it with this code.
    Code(u16),
    /// The client closed it first, or went away.
    ByClient,
    /// A write to the socket failed or timed out.
    WriteFailed,
}

/// The store's collectors. The [`Store`](crate::store::Store) creates and records into them
/// (it opens before the server's [`Metrics`] exist); [`Metrics::new`] registers them.
#[derive(Clone)]
pub struct StoreMetrics {
    /// Seconds one batch of writes (one transaction) took, commit included.
    pub write_seconds: Histogram,
    /// Store transactions that failed: batches of writes (every write in them failed) and
    /// recovery probes.
    pub write_failures: IntCounter,
}

impl StoreMetrics {
    /// Unregistered collectors for a store.
    pub fn new() -> Result<StoreMetrics, MetricsError> {
        Ok(StoreMetrics {
            write_seconds: histogram(
                "inkroom_store_write_seconds",
                "Seconds one batch of store writes (one transaction) took, commit included.",
            )?,
            write_failures: IntCounter::new(
                "inkroom_store_write_failures_total",
                "Store transactions that failed (write batches and recovery probes).",
            )?,
        })
    }
}

/// Every collector of one server, and the registry that renders them.
pub struct Metrics {
    registry: prometheus::Registry,
    /// Rooms loaded in memory (set when scraped).
    pub rooms_loaded: IntGauge,
    /// Connected editors in every loaded room (set when scraped).
    pub editors: IntGauge,
    /// Connected viewers in every loaded room (set when scraped).
    pub viewers: IntGauge,
    /// Members waiting for a resync after their outbox overflowed (set when scraped).
    pub lagging: IntGauge,
    /// Cluster mode: requests passed to the node running their room, by kind.
    pub forwarded_http: IntCounter,
    /// Cluster mode: WebSockets passed to the node running their room.
    pub forwarded_ws: IntCounter,
    /// Cluster mode: WebSockets relayed to another node now.
    pub relays_open: IntGauge,
    /// Cluster mode with a bus: members fed from it, messages published, failed publishes.
    pub bus: crate::cluster::fanout::FanoutMetrics,
    /// Client messages received, by [`ClientMsg::type_index`].
    messages_in: Vec<IntCounter>,
    /// Client messages that did not decode (bad JSON, an unknown type, a binary frame).
    messages_invalid: IntCounter,
    /// Text frames written that carry one message.
    pub frames_text: IntCounter,
    /// Text frames written that carry a `batch`.
    pub frames_batch: IntCounter,
    /// Binary (tile) frames written.
    pub frames_binary: IntCounter,
    /// Payload bytes of every data frame written.
    pub bytes_out: IntCounter,
    /// Lagging members resynced in place.
    pub resyncs: IntCounter,
    /// Seconds from an op's arrival in its room to its being durable (its commit then goes out).
    pub commit_seconds: Histogram,
    /// Seconds one tile round took to encode, off the room's loop.
    pub tile_round_seconds: Histogram,
    /// Bytes of tile frames encoded by tile rounds.
    pub tile_bytes: IntCounter,
    /// `error` messages sent, by code.
    errors: IntCounterVec,
    /// The series of `errors`, resolved once, at the index of their code's discriminant.
    errors_by_code: Vec<(ErrorCode, IntCounter)>,
    /// Messages dropped by the connection's message limit.
    pub rate_limited_messages: IntCounter,
    /// Ops dropped by the connection's op limit.
    pub rate_limited_ops: IntCounter,
    /// Drawing refused by the member's pixel budget.
    pub rate_limited_paint: IntCounter,
    /// WebSocket connections opened.
    pub ws_opened: IntCounter,
    /// WebSocket connections closed, by how (see [`Metrics::ws_closed`]).
    ws_closed: IntCounterVec,
}

impl Metrics {
    /// Every collector of a server, registered in a registry of its own together with the
    /// store's.
    pub fn new(store: &StoreMetrics) -> Result<Metrics, MetricsError> {
        let registry = prometheus::Registry::new();
        let members = IntGaugeVec::new(
            Opts::new(
                "inkroom_members",
                "Members connected to loaded rooms, by role.",
            ),
            &["role"],
        )?;
        let messages = IntCounterVec::new(
            Opts::new(
                "inkroom_messages_in_total",
                "Client messages received, by type (invalid: did not decode).",
            ),
            &["type"],
        )?;
        let frames = IntCounterVec::new(
            Opts::new(
                "inkroom_frames_out_total",
                "WebSocket data frames written, by kind.",
            ),
            &["kind"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new("inkroom_errors_total", "Error messages sent, by code."),
            &["code"],
        )?;
        let limited = IntCounterVec::new(
            Opts::new(
                "inkroom_rate_limited_total",
                "Messages or drawing refused by a rate limit, by limit.",
            ),
            &["limit"],
        )?;
        let forwarded = IntCounterVec::new(
            Opts::new(
                "inkroom_forwarded_total",
                "Requests passed to the node running their room (cluster mode).",
            ),
            &["kind"],
        )?;
        let ws_closed = IntCounterVec::new(
            Opts::new(
                "inkroom_ws_closed_total",
                "WebSocket connections closed, by the close code the server sent \
                 (client: the client closed first; write_failed: the socket failed).",
            ),
            &["code"],
        )?;
        let messages_in = ClientMsg::TYPES
            .iter()
            .map(|t| messages.get_metric_with_label_values(&[*t]))
            .collect::<Result<Vec<_>, _>>()?;
        let mut errors_by_code = ErrorCode::ALL
            .iter()
            .map(|c| Ok((*c, errors.get_metric_with_label_values(&[c.as_str()])?)))
            .collect::<Result<Vec<_>, MetricsError>>()?;
        errors_by_code.sort_by_key(|(c, _)| *c as usize);
        let metrics = Metrics {
            rooms_loaded: IntGauge::new("inkroom_rooms_loaded", "Rooms loaded in memory.")?,
            editors: members.get_metric_with_label_values(&["editor"])?,
            viewers: members.get_metric_with_label_values(&["viewer"])?,
            lagging: IntGauge::new(
                "inkroom_members_lagging",
                "Members whose outbox overflowed, waiting for a resync.",
            )?,
            forwarded_http: forwarded.get_metric_with_label_values(&["http"])?,
            forwarded_ws: forwarded.get_metric_with_label_values(&["websocket"])?,
            relays_open: IntGauge::new(
                "inkroom_relays_open",
                "WebSockets relayed to the node running their room now (cluster mode).",
            )?,
            bus: crate::cluster::fanout::FanoutMetrics {
                attached: IntGauge::new(
                    "inkroom_bus_members",
                    "Members on this node fed from the bus (cluster mode with a bus).",
                )?,
                published: IntCounter::new(
                    "inkroom_bus_published_total",
                    "Messages this node published on the bus.",
                )?,
                failed: IntCounter::new(
                    "inkroom_bus_publish_failures_total",
                    "Bus publishes that failed (their members reconnect and resync).",
                )?,
            },
            messages_in,
            messages_invalid: messages.get_metric_with_label_values(&["invalid"])?,
            frames_text: frames.get_metric_with_label_values(&["text"])?,
            frames_batch: frames.get_metric_with_label_values(&["batch"])?,
            frames_binary: frames.get_metric_with_label_values(&["binary"])?,
            bytes_out: IntCounter::new(
                "inkroom_bytes_out_total",
                "Payload bytes of WebSocket data frames written.",
            )?,
            resyncs: IntCounter::new(
                "inkroom_resyncs_total",
                "Lagging members resynced in place once their outbox drained.",
            )?,
            commit_seconds: histogram(
                "inkroom_commit_seconds",
                "Seconds from an op's arrival in its room to its being durable.",
            )?,
            tile_round_seconds: histogram(
                "inkroom_tile_round_seconds",
                "Seconds one tile round took to encode.",
            )?,
            tile_bytes: IntCounter::new(
                "inkroom_tile_bytes_total",
                "Bytes of tile frames encoded by tile rounds.",
            )?,
            errors_by_code,
            rate_limited_messages: limited.get_metric_with_label_values(&["messages"])?,
            rate_limited_ops: limited.get_metric_with_label_values(&["ops"])?,
            rate_limited_paint: limited.get_metric_with_label_values(&["paint"])?,
            ws_opened: IntCounter::new("inkroom_ws_opened_total", "WebSocket connections opened.")?,
            errors,
            ws_closed,
            registry,
        };
        let collectors: [Box<dyn prometheus::core::Collector>; 21] = [
            Box::new(forwarded),
            Box::new(metrics.relays_open.clone()),
            Box::new(metrics.bus.attached.clone()),
            Box::new(metrics.bus.published.clone()),
            Box::new(metrics.bus.failed.clone()),
            Box::new(metrics.rooms_loaded.clone()),
            Box::new(members),
            Box::new(metrics.lagging.clone()),
            Box::new(messages),
            Box::new(frames),
            Box::new(metrics.bytes_out.clone()),
            Box::new(metrics.resyncs.clone()),
            Box::new(metrics.commit_seconds.clone()),
            Box::new(metrics.tile_round_seconds.clone()),
            Box::new(metrics.tile_bytes.clone()),
            Box::new(metrics.errors.clone()),
            Box::new(limited),
            Box::new(metrics.ws_opened.clone()),
            Box::new(metrics.ws_closed.clone()),
            Box::new(store.write_seconds.clone()),
            Box::new(store.write_failures.clone()),
        ];
        for c in collectors {
            metrics.registry.register(c)?;
        }
        Ok(metrics)
    }

    /// Counts a client message received.
    pub fn message_in(&self, msg: &ClientMsg) {
        if let Some(c) = self.messages_in.get(msg.type_index()) {
            c.inc();
        }
    }

    /// Counts a client message that did not decode.
    pub fn message_invalid(&self) {
        self.messages_invalid.inc();
    }

    /// Counts a text frame about to be written (a `batch` or a single message).
    pub fn text_out(&self, text: &str) {
        if crate::protocol::is_batch(text) {
            self.frames_batch.inc();
        } else {
            self.frames_text.inc();
        }
        self.bytes_out.inc_by(text.len() as u64);
    }

    /// Counts a binary frame about to be written.
    pub fn binary_out(&self, bytes: usize) {
        self.frames_binary.inc();
        self.bytes_out.inc_by(bytes as u64);
    }

    /// Counts an `error` message sent with this code.
    pub fn error_sent(&self, code: ErrorCode) {
        match self.errors_by_code.get(code as usize) {
            Some((c, counter)) if *c == code => counter.inc(),
            _ => {
                if let Ok(counter) = self.errors.get_metric_with_label_values(&[code.as_str()]) {
                    counter.inc();
                }
            }
        }
    }

    /// Records a tile round encoded since `started` into frames of `bytes` bytes in all.
    pub fn tile_round(&self, started: Instant, bytes: usize) {
        self.tile_round_seconds
            .observe(started.elapsed().as_secs_f64());
        self.tile_bytes.inc_by(bytes as u64);
    }

    /// Records an op that arrived in its room at `arrived` and is durable now.
    pub fn committed(&self, arrived: Instant) {
        self.commit_seconds.observe(arrived.elapsed().as_secs_f64());
    }

    /// Counts a WebSocket connection closed.
    pub fn ws_closed(&self, how: Closed) {
        let label = match how {
            Closed::Code(code) => close_label(code),
            Closed::ByClient => "client",
            Closed::WriteFailed => "write_failed",
        };
        if let Ok(c) = self.ws_closed.get_metric_with_label_values(&[label]) {
            c.inc();
        }
    }

    /// Sets the gauges of what the rooms hold now.
    pub fn set_live(&self, live: Live) {
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.rooms_loaded.set(gauge(live.rooms));
        self.editors.set(gauge(live.editors));
        self.viewers.set(gauge(live.viewers));
        self.lagging.set(gauge(live.lagging));
    }

    /// Every metric as Prometheus text (see [`CONTENT_TYPE`]).
    pub fn render(&self) -> Result<String, MetricsError> {
        TextEncoder::new().encode_to_string(&self.registry.gather())
    }
}

/// A latency histogram with [`LATENCY_BUCKETS`].
fn histogram(name: &str, help: &str) -> Result<Histogram, MetricsError> {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()))
}

/// A close code as a label value: the codes the server uses, `other` for any other.
fn close_label(code: u16) -> &'static str {
    match code {
        1000 => "1000",
        close::GOING_AWAY => "1001",
        1011 => "1011",
        close::MOVED => "1012",
        close::TRY_AGAIN => "1013",
        close::NOT_HELLO => "4000",
        close::BAD_KEY => "4001",
        close::KICKED => "4003",
        close::ROOM_DELETED => "4004",
        close::LAGGING => "4008",
        close::ROOM_FULL => "4009",
        close::TOO_LARGE => "4013",
        close::TIMEOUT => "4014",
        close::RATE_LIMITED => "4029",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        Metrics::new(&StoreMetrics::new().expect("store metrics")).expect("metrics")
    }

    #[test]
    fn every_error_code_has_its_own_series() {
        let m = metrics();
        for code in ErrorCode::ALL {
            m.error_sent(code);
        }
        m.error_sent(ErrorCode::BadMessage);
        let text = m.render().expect("renders");
        for code in ErrorCode::ALL {
            let want = if code == ErrorCode::BadMessage { 2 } else { 1 };
            let line = format!(
                "inkroom_errors_total{{code=\"{}\"}} {want}\n",
                code.as_str()
            );
            assert!(text.contains(&line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn close_codes_are_labelled_and_bounded() {
        let m = metrics();
        m.ws_closed(Closed::Code(close::LAGGING));
        m.ws_closed(Closed::Code(4999));
        m.ws_closed(Closed::ByClient);
        m.ws_closed(Closed::WriteFailed);
        let text = m.render().expect("renders");
        for label in ["4008", "other", "client", "write_failed"] {
            let line = format!("inkroom_ws_closed_total{{code=\"{label}\"}} 1\n");
            assert!(text.contains(&line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn two_instances_do_not_share_counts() {
        let (a, b) = (metrics(), metrics());
        a.ws_opened.inc();
        assert_eq!((a.ws_opened.get(), b.ws_opened.get()), (1, 0));
        assert!(b
            .render()
            .expect("renders")
            .contains("inkroom_ws_opened_total 0\n"));
    }
}
