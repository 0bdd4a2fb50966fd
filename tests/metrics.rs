//! `GET /metrics`, `/healthz` and `/readyz` through real sockets: after real traffic the
//! Prometheus text parses and counts what happened, names no room, key or person, and every
//! metric it shows is documented.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{http, Client, Frame, TempDir, TestServer};
use inkroom::config::Config;
use inkroom::protocol::{ErrorCode, OpKind, ServerMsg};
use serde_json::json;

const DOC: &str = include_str!("../docs/protocol.md");

/// One sample of the Prometheus text format.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A scrape, parsed: families with their declared type, and every sample.
struct Scrape {
    types: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

impl Scrape {
    /// The value of the one sample with this name and these labels (and no others but `le`
    /// when the labels say nothing of it); fails the test when there is none.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.name == name && s.labels == want)
            .collect();
        assert_eq!(found.len(), 1, "one sample {name}{labels:?}: {found:?}");
        found[0].value
    }

    /// Every label value of every sample.
    fn label_values(&self) -> impl Iterator<Item = &str> {
        self.samples
            .iter()
            .flat_map(|s| s.labels.values().map(String::as_str))
    }
}

/// Parses the Prometheus text exposition format, failing the test on anything malformed or on
/// a sample whose family has no `# TYPE`.
fn parse(text: &str) -> Scrape {
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(valid_name(name), "{line}");
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("no value: {line}"));
        let name = &line[..end];
        assert!(valid_name(name), "bad metric name: {line}");
        let mut rest = &line[end..];
        let mut labels = BTreeMap::new();
        if let Some(inner) = rest.strip_prefix('{') {
            rest = parse_labels(inner, &mut labels, line);
        }
        let value = rest.trim().split(' ').next().expect("a value");
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|e| panic!("bad value {v}: {e}: {line}")),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                let base = name.strip_suffix(suffix)?;
                (types.get(base).map(String::as_str) == Some("histogram")).then_some(base)
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "no # TYPE for {line}");
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    Scrape { types, samples }
}

/// Reads `name="value",...}` into `labels`; returns what follows the closing brace.
fn parse_labels<'a>(
    mut rest: &'a str,
    labels: &mut BTreeMap<String, String>,
    line: &str,
) -> &'a str {
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return after;
        }
        let (name, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
        assert!(
            valid_name(name) && !name.contains(':'),
            "label {name}: {line}"
        );
        let mut value = String::new();
        let mut chars = after.char_indices();
        let close = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("bad escape {other:?}: {line}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unclosed label value: {line}"),
            }
        };
        labels.insert(name.to_owned(), value);
        rest = &after[close + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `GET /metrics`, parsed, with its raw text.
async fn scrape(server: &TestServer) -> (Scrape, String) {
    let res = http(server.addr, "GET", "/metrics", None, &[]).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = res.text();
    (parse(&text), text)
}

/// Reads until an `error` arrives; returns its code.
async fn next_error(client: &mut Client) -> ErrorCode {
    loop {
        if let ServerMsg::Error { code, .. } = client.recv().await {
            return code;
        }
    }
}

/// After an editor and a viewer draw, err, hit a rate limit and a bad key is refused, the
/// metrics count each of those things; they name no room, key or person; a second server in
/// the same process counts nothing of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_real_traffic() {
    // Two ops at once (a stroke and a fill), then the op limit refuses a third.
    let server = TestServer::with_config(Config {
        op_burst: 2.0,
        ops_per_second: 0.01,
        ..Config::default()
    });
    let room = server
        .create_room(json!({"name": "Quarterly secret plans", "width": 600, "height": 400}))
        .await;
    let id = room["id"].as_str().expect("id").to_owned();
    let key = room["edit_key"].as_str().expect("key").to_owned();
    let (mut ann, _) = Client::join(&server, &id, "Annabel Zebrafish", Some(&key)).await;
    let (mut vic, _) = Client::join(&server, &id, "Victor Quokka", None).await;

    ann.draw(1, "#ff0000", 6.0, &[[10.0, 10.0, 0.5], [80.0, 60.0, 0.5]])
        .await;
    ann.await_commit(1).await;
    // A fill commits at once and sends its tiles in a tile round.
    ann.send(json!({"type": "fill", "id": 9, "x": 300, "y": 300, "color": "#00ff00"}))
        .await;
    loop {
        if let ServerMsg::Commit {
            op: OpKind::Fill, ..
        } = ann.recv().await
        {
            break;
        }
    }
    while !matches!(ann.next().await, Frame::Binary(_)) {}

    ann.send_text("{not json").await;
    assert_eq!(next_error(&mut ann).await, ErrorCode::BadMessage);
    vic.send(json!({"type": "stroke_begin", "stroke": 1, "tool": "pen", "width": 2, "points": []}))
        .await;
    assert_eq!(next_error(&mut vic).await, ErrorCode::ReadOnly);
    ann.send(json!({"type": "undo"})).await;
    assert_eq!(next_error(&mut ann).await, ErrorCode::RateLimited);
    let mut intruder = Client::connect(&server, &id).await;
    intruder
        .send(
            json!({"type": "hello", "name": "Mallory", "key": "0123456789abcdef0123456789abcdef"}),
        )
        .await;
    assert_eq!(intruder.expect_close().await, Some(4001));

    let (m, text) = scrape(&server).await;
    assert_eq!(m.value("inkroom_rooms_loaded", &[]), 1.0);
    assert_eq!(m.value("inkroom_members", &[("role", "editor")]), 1.0);
    assert_eq!(m.value("inkroom_members", &[("role", "viewer")]), 1.0);
    assert_eq!(m.value("inkroom_members_lagging", &[]), 0.0);
    let msgs = |t: &str| m.value("inkroom_messages_in_total", &[("type", t)]);
    assert_eq!(msgs("hello"), 3.0);
    assert_eq!(msgs("stroke_begin"), 2.0, "Ann's and the viewer's");
    assert_eq!(msgs("stroke_points"), 1.0);
    assert_eq!(msgs("stroke_end"), 1.0);
    assert_eq!(msgs("fill"), 1.0);
    assert_eq!(msgs("undo"), 1.0);
    assert_eq!(msgs("invalid"), 1.0);
    assert_eq!(msgs("cursor"), 0.0);
    let errors = |c: &str| m.value("inkroom_errors_total", &[("code", c)]);
    assert_eq!(errors("bad_message"), 1.0);
    assert_eq!(errors("read_only"), 1.0);
    assert_eq!(errors("rate_limited"), 1.0);
    assert_eq!(errors("bad_key"), 1.0);
    assert_eq!(errors("internal"), 0.0);
    assert_eq!(
        m.value("inkroom_rate_limited_total", &[("limit", "ops")]),
        1.0
    );
    assert_eq!(
        m.value("inkroom_rate_limited_total", &[("limit", "messages")]),
        0.0
    );
    assert_eq!(m.value("inkroom_commit_seconds_count", &[]), 2.0);
    assert!(m.value("inkroom_commit_seconds_sum", &[]) > 0.0);
    assert!(m.value("inkroom_tile_round_seconds_count", &[]) >= 1.0);
    assert!(m.value("inkroom_tile_bytes_total", &[]) > 0.0);
    assert!(m.value("inkroom_store_write_seconds_count", &[]) >= 1.0);
    assert_eq!(m.value("inkroom_store_write_failures_total", &[]), 0.0);
    assert!(m.value("inkroom_bytes_out_total", &[]) > 0.0);
    assert!(m.value("inkroom_frames_out_total", &[("kind", "text")]) >= 1.0);
    assert!(m.value("inkroom_frames_out_total", &[("kind", "binary")]) >= 1.0);
    assert_eq!(m.value("inkroom_ws_opened_total", &[]), 3.0);
    assert_eq!(m.value("inkroom_ws_closed_total", &[("code", "4001")]), 1.0);
    // Buckets are cumulative and end with +Inf = count.
    let inf = m.value("inkroom_commit_seconds_bucket", &[("le", "+Inf")]);
    assert_eq!(inf, m.value("inkroom_commit_seconds_count", &[]));

    for secret in [
        id.as_str(),
        key.as_str(),
        "Quarterly",
        "Annabel",
        "Zebrafish",
        "Victor",
        "Quokka",
        "Mallory",
    ] {
        assert!(!text.contains(secret), "the metrics show {secret:?}");
        assert!(
            m.label_values().all(|v| !v.contains(secret)),
            "{secret:?} in a label"
        );
    }
    for family in m.types.keys() {
        assert!(
            DOC.contains(&format!("| `{family}` |")),
            "{family} is not in the metrics table of docs/protocol.md"
        );
    }

    // Another server in this process keeps counts of its own.
    let other = TestServer::start();
    let (o, _) = scrape(&other).await;
    assert_eq!(o.value("inkroom_ws_opened_total", &[]), 0.0);
    assert_eq!(
        o.value("inkroom_messages_in_total", &[("type", "stroke_begin")]),
        0.0
    );
    assert_eq!(o.value("inkroom_rooms_loaded", &[]), 0.0);
    assert_eq!(o.value("inkroom_commit_seconds_count", &[]), 0.0);
}

/// `/healthz` and `/readyz` answer 200 with JSON while the server serves normally.
#[tokio::test]
async fn health_and_readiness_are_ok() {
    let server = TestServer::start();
    for path in ["/healthz", "/readyz"] {
        let res = http(server.addr, "GET", path, None, &[]).await;
        assert_eq!(res.status, 200, "{path}: {}", res.text());
        assert_eq!(res.json(), json!({"status": "ok"}), "{path}");
    }
}

/// Once the store takes no more writes, `/readyz` says so with 503 while `/healthz` still
/// answers 200.
#[tokio::test]
async fn readiness_fails_without_a_writable_store() {
    let data = TempDir::new();
    let store = Arc::new(inkroom::store::Store::open(&data.0, false).expect("store opens"));
    let server = TestServer::with_store(Config::default(), Arc::clone(&store));
    let ready = http(server.addr, "GET", "/readyz", None, &[]).await;
    assert_eq!(ready.status, 200, "{}", ready.text());
    store.close();
    let ready = http(server.addr, "GET", "/readyz", None, &[]).await;
    assert_eq!(ready.status, 503);
    assert_eq!(
        ready.json(),
        json!({"status": "unavailable", "reason": "store_unavailable"})
    );
    let health = http(server.addr, "GET", "/healthz", None, &[]).await;
    assert_eq!(health.status, 200);
}
