//! Configuration through the real binary: flags over `INKROOM_*` variables over a TOML file
//! over the defaults, `inkroom config` printing every setting (secrets masked), errors that name
//! the setting, the value and its source, JSON logs, connection log lines, and the settings doc.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Client, TempDir, TestServer};
use inkroom::config::fields::FIELDS;
use inkroom::config::render::markdown;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// How long to wait for a line from the server before failing (a guard, not a sync).
const LINE_WAIT: Duration = Duration::from_secs(30);

/// `inkroom` with these arguments and environment, with no `INKROOM_*` variable inherited.
fn inkroom(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_inkroom"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("INKROOM_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(args).envs(env.iter().copied());
    cmd
}

/// Runs `inkroom config ...` and returns its output.
fn config(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = vec!["config"];
    all.extend_from_slice(args);
    inkroom(&all, env).output().expect("run inkroom config")
}

/// Runs `inkroom config ...`, which must succeed, and parses what it prints.
fn effective(args: &[&str], env: &[(&str, &str)]) -> (String, toml::Table) {
    let out = config(args, env);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        out.status.success(),
        "inkroom config failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = text
        .parse()
        .unwrap_or_else(|e| panic!("not TOML ({e}):\n{text}"));
    (text, table)
}

/// Runs `inkroom config ...`, which must fail, and returns its stderr.
fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = config(args, env);
    assert!(
        !out.status.success(),
        "expected a failure for {args:?} {env:?}"
    );
    assert!(out.stdout.is_empty(), "nothing printed on failure");
    String::from_utf8(out.stderr).expect("utf-8")
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write the config file");
}

fn str_of<'a>(table: &'a toml::Table, key: &str) -> &'a str {
    table[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string"))
}

/// A flag beats its variable, a variable beats the file, the file beats the default; the file
/// comes from `--config` or else `INKROOM_CONFIG`.
#[test]
fn flags_beat_variables_beat_the_file_beats_the_defaults() {
    let dir = TempDir::new();
    let file = dir.0.join("inkroom.toml");
    write(
        &file,
        "tick_min = \"5ms\"\ntick_max = \"40ms\"\nundo_depth = 11\nmax_frame_bytes = \"32KiB\"\n",
    );
    let file = file.to_str().expect("utf-8 path");
    let env = [("INKROOM_TICK_MAX", "30ms"), ("INKROOM_UNDO_DEPTH", "12")];
    let (_, got) = effective(&["--config", file, "--undo-depth", "13"], &env);
    assert_eq!(str_of(&got, "tick_min"), "5ms", "from the file");
    assert_eq!(str_of(&got, "max_frame_bytes"), "32KiB", "from the file");
    assert_eq!(
        str_of(&got, "tick_max"),
        "30ms",
        "the variable over the file"
    );
    assert_eq!(
        got["undo_depth"].as_integer(),
        Some(13),
        "the flag over both"
    );
    assert_eq!(str_of(&got, "snapshot_interval"), "1s", "the default");

    let (_, via_env) = effective(&[], &[("INKROOM_CONFIG", file)]);
    assert_eq!(
        str_of(&via_env, "tick_min"),
        "5ms",
        "INKROOM_CONFIG names the file"
    );
    let other = dir.0.join("other.toml");
    write(&other, "tick_min = \"3ms\"\n");
    let other = other.to_str().expect("utf-8 path");
    let (_, flag_file) = effective(&["--config", other], &[("INKROOM_CONFIG", file)]);
    assert_eq!(
        str_of(&flag_file, "tick_min"),
        "3ms",
        "--config over INKROOM_CONFIG"
    );
}

/// The old flags and variables keep working: `--allow-origin` repeats and
/// `INKROOM_ALLOW_ORIGINS` is a comma list, `--addr`, `--data-dir` and the TLS pair.
#[test]
fn the_existing_flags_and_variables_still_work() {
    let (_, got) = effective(
        &[
            "--addr",
            "0.0.0.0:9000",
            "--data-dir",
            "/srv/inkroom",
            "--allow-origin",
            "https://a.example",
            "--allow-origin",
            "https://b.example:8443",
            "--tls-cert",
            "/etc/cert.pem",
            "--tls-key",
            "/etc/key.pem",
        ],
        &[],
    );
    assert_eq!(str_of(&got, "addr"), "0.0.0.0:9000");
    assert_eq!(str_of(&got, "data_dir"), "/srv/inkroom");
    assert_eq!(str_of(&got, "tls_cert"), "/etc/cert.pem");
    assert_eq!(str_of(&got, "tls_key"), "/etc/key.pem");
    let origins = |t: &toml::Table| -> Vec<String> {
        t["allowed_origins"]
            .as_array()
            .expect("an array")
            .iter()
            .map(|o| o.as_str().expect("a string").to_owned())
            .collect()
    };
    assert_eq!(
        origins(&got),
        ["https://a.example", "https://b.example:8443"]
    );

    let (_, got) = effective(
        &[],
        &[
            ("INKROOM_ADDR", "127.0.0.1:7000"),
            ("INKROOM_DATA_DIR", "/var/lib/inkroom"),
            (
                "INKROOM_ALLOW_ORIGINS",
                "https://c.example,https://d.example",
            ),
            ("INKROOM_TLS_CERT", "/c.pem"),
            ("INKROOM_TLS_KEY", "/k.pem"),
        ],
    );
    assert_eq!(str_of(&got, "addr"), "127.0.0.1:7000");
    assert_eq!(str_of(&got, "data_dir"), "/var/lib/inkroom");
    assert_eq!(origins(&got), ["https://c.example", "https://d.example"]);
    assert_eq!(str_of(&got, "tls_key"), "/k.pem");

    let err = refused(&["--tls-cert", "/c.pem"], &[]);
    assert!(err.contains("tls_cert is set but tls_key is not"), "{err}");
}

/// `inkroom config` names every setting, and what it prints, fed back with `--config`, gives
/// the same configuration.
#[test]
fn the_printed_configuration_has_every_setting_and_reads_back() {
    let dir = TempDir::new();
    let (text, table) = effective(
        &[
            "--log-json",
            "--durable=false",
            "--room-retention",
            "7d",
            "--max-store-bytes",
            "8MiB",
            "--store-retry-min",
            "100ms",
            "--store-retry-max",
            "5m",
            "--max-stroke-width",
            "12.5",
            "--allow-origin",
            "https://a.example",
        ],
        &[],
    );
    for f in FIELDS {
        let set = table.contains_key(f.name);
        let unset = text
            .lines()
            .any(|l| l == format!("# {} is not set", f.name));
        assert!(set || unset, "{} is missing from:\n{text}", f.name);
    }
    assert_eq!(table["log_json"].as_bool(), Some(true));
    assert_eq!(table["durable"].as_bool(), Some(false));
    assert_eq!(str_of(&table, "room_retention"), "7d");
    assert_eq!(str_of(&table, "max_store_bytes"), "8MiB");

    let file = dir.0.join("printed.toml");
    write(&file, &text);
    let (again, _) = effective(&["--config", file.to_str().expect("utf-8 path")], &[]);
    assert_eq!(
        again, text,
        "the printed configuration reads back to itself"
    );
}

/// The admin token is masked, never printed, in `inkroom config` and in errors.
#[test]
fn the_admin_token_is_masked() {
    let secret = "hunter2-do-not-print";
    let out = config(&[], &[("INKROOM_ADMIN_TOKEN", secret)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("admin_token = \"********\""), "{text}");
    assert!(!text.contains(secret), "{text}");

    let dir = TempDir::new();
    let file = dir.0.join("bad.toml");
    write(&file, &format!("admin_token = [\"{secret}\"]\n"));
    let err = refused(&["--config", file.to_str().expect("utf-8 path")], &[]);
    assert!(err.contains("invalid admin_token \"********\""), "{err}");
    assert!(!err.contains(secret), "{err}");
}

/// A bad value stops the binary with a message naming the setting, the value and where it came
/// from, and a non-zero exit, whether serving or printing the configuration.
#[test]
fn a_bad_value_names_the_setting_the_value_and_its_source() {
    let err = refused(&[], &[("INKROOM_MAX_FRAME_BYTES", "abc")]);
    assert_eq!(
        err.trim_end(),
        "inkroom: invalid max_frame_bytes \"abc\" (from INKROOM_MAX_FRAME_BYTES): expected a \
         number of bytes greater than zero, like 65536 or 64KiB"
    );
    let err = refused(&["--tick-min", "soon"], &[]);
    assert!(
        err.starts_with(
            "inkroom: invalid tick_min \"soon\" (from --tick-min): expected a duration"
        ),
        "{err}"
    );
    let dir = TempDir::new();
    let file = dir.0.join("inkroom.toml");
    write(&file, "outbox_frames = 0\n");
    let err = refused(&["--config", file.to_str().expect("utf-8 path")], &[]);
    assert!(
        err.contains("invalid outbox_frames \"0\" (from ") && err.contains("inkroom.toml)"),
        "{err}"
    );
    let err = refused(&["--allow-origin", "https://a.example/path"], &[]);
    assert!(
        err.contains("\"https://a.example/path\" (from --allow-origin)"),
        "{err}"
    );

    let err = refused(&["--tick-min", "60ms"], &[]);
    assert!(
        err.contains("tick_min (60ms) must not be more than tick_max (50ms)"),
        "{err}"
    );
    let err = refused(&["--store-retry-min", "1m", "--store-retry-max", "2s"], &[]);
    assert!(
        err.contains("store_retry_min (1m) must not be more than store_retry_max (2s)"),
        "{err}"
    );

    // Serving stops at start too, before binding.
    let data = TempDir::new();
    let out = inkroom(
        &["--addr", "127.0.0.1:0", "--data-dir"],
        &[("INKROOM_HEARTBEAT_INTERVAL", "0s")],
    )
    .arg(&data.0)
    .output()
    .expect("run inkroom");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid heartbeat_interval \"0s\" (from INKROOM_HEARTBEAT_INTERVAL)"),
        "{err}"
    );
}

/// A key in the TOML file that is no setting is refused, by name.
#[test]
fn an_unknown_key_in_the_file_is_refused() {
    let dir = TempDir::new();
    let file = dir.0.join("inkroom.toml");
    write(&file, "tick_min = \"5ms\"\nmax_frame_byte = 1024\n");
    let err = refused(&["--config", file.to_str().expect("utf-8 path")], &[]);
    assert!(err.contains("unknown setting \"max_frame_byte\""), "{err}");
    let missing = dir.0.join("missing.toml");
    let err = refused(&["--config", missing.to_str().expect("utf-8 path")], &[]);
    assert!(err.contains("cannot read the config file"), "{err}");
}

/// `--help` shows every setting's flag with its default and variable.
#[test]
fn help_lists_every_setting_with_its_default() {
    let out = inkroom(&["--help"], &[])
        .output()
        .expect("run inkroom --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for f in FIELDS {
        assert!(help.contains(&format!("--{}", f.flag())), "--{}", f.flag());
        assert!(help.contains(&format!("[env: {}]", f.env())), "{}", f.env());
    }
    assert!(help.contains("[default: 64KiB]"), "{help}");
    assert!(help.contains("--config <FILE>"), "{help}");
}

/// The server process, killed when the test ends, with its stderr lines arriving on a channel.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(data: &Path, args: &[&str]) -> Server {
        let mut child = inkroom(
            &["--addr", "127.0.0.1:0", "--data-dir"],
            &[("INKROOM_LOG", "info")],
        )
        .arg(data)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start inkroom");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server { child, lines }
    }

    /// Reads log lines, each parsed as JSON, until one with this message; returns it.
    fn json_until(&self, message: &str, seen: &mut Vec<String>) -> Value {
        loop {
            let line = self
                .lines
                .recv_timeout(LINE_WAIT)
                .unwrap_or_else(|e| panic!("no {message:?} line ({e}); saw {seen:#?}"));
            seen.push(line.clone());
            let event: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            if event["message"] == message {
                return event;
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// With `--log-json` every log line is a JSON object; a connection logs one line when it joins
/// and one when it ends, with room, role, duration and reason, and never the edit key.
#[tokio::test]
async fn json_logs_and_a_line_per_connection_open_and_close() {
    let data = TempDir::new();
    let server = Server::start(&data.0, &["--log-json"]);
    let mut seen = Vec::new();
    let serving = server.json_until("serving", &mut seen);
    assert_eq!(serving["level"], "INFO");
    let addr = serving["local"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {serving}"));
    let remote = TestServer::attach(addr);

    let room = remote.create_room(json!({"name": "logged"})).await;
    let id = room["id"].as_str().expect("room id").to_owned();
    let key = room["edit_key"].as_str().expect("edit key").to_owned();
    let (mut ann, _) = Client::join(&remote, &id, "Ann", Some(&key)).await;

    let opened = server.json_until("connection opened", &mut seen);
    assert_eq!(opened["room"], id.as_str());
    assert_eq!(opened["role"], "editor");
    assert_eq!(opened["member"], ann.id);

    assert!(ann.try_send(Message::Close(None)).await, "close sent");
    ann.expect_close().await;
    let closed = server.json_until("connection closed", &mut seen);
    assert_eq!(closed["room"], id.as_str());
    assert_eq!(closed["role"], "editor");
    assert_eq!(closed["member"], ann.id);
    assert!(closed["duration_ms"].is_u64(), "{closed}");
    assert_eq!(closed["reason"], "client left");

    // A wrong key is refused and logged without the key.
    let wrong = format!("{key}-wrong");
    let mut bad = Client::connect(&remote, &id).await;
    bad.send(json!({"type": "hello", "name": "Eve", "key": wrong}))
        .await;
    assert_eq!(bad.expect_close().await, Some(4001));
    let refused = server.json_until("connection closed", &mut seen);
    assert_eq!(refused["role"], "none");
    assert!(
        refused["reason"]
            .as_str()
            .is_some_and(|r| r.contains("bad key")),
        "{refused}"
    );
    for line in &seen {
        assert!(
            !line.contains(&key),
            "a log line carries the edit key: {line}"
        );
    }
}

/// Without `--log-json` the log is readable text, not JSON.
#[test]
fn logs_are_readable_text_by_default() {
    let data = TempDir::new();
    let server = Server::start(&data.0, &[]);
    loop {
        let line = server
            .lines
            .recv_timeout(LINE_WAIT)
            .expect("a serving line");
        assert!(serde_json::from_str::<Value>(&line).is_err(), "{line}");
        if line.contains("serving") {
            assert!(line.contains("INFO"), "{line}");
            break;
        }
    }
}

/// `docs/configuration.md` holds the settings tables made from the field list, so it lists every
/// setting with its flag, variable and default. `BLESS=1` rewrites it.
#[test]
fn the_configuration_doc_lists_every_setting() {
    const BEGIN: &str = "<!-- BEGIN SETTINGS: generated from src/config/fields.rs; \
                         BLESS=1 cargo test --test config regenerates it -->\n";
    const END: &str = "<!-- END SETTINGS -->";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
    let doc = std::fs::read_to_string(&path).expect("docs/configuration.md");
    let start = doc.find(BEGIN).expect("the BEGIN SETTINGS marker") + BEGIN.len();
    let end = doc.find(END).expect("the END SETTINGS marker");
    let want = markdown();
    if std::env::var_os("BLESS").is_some() {
        let blessed = format!("{}{want}{}", &doc[..start], &doc[end..]);
        std::fs::write(&path, blessed).expect("write docs/configuration.md");
        return;
    }
    assert!(
        doc[start..end] == want,
        "docs/configuration.md is out of date with src/config/fields.rs: run \
         BLESS=1 cargo test --test config"
    );
    for f in FIELDS {
        for needle in [
            format!("`{}`", f.name),
            format!("`--{}", f.flag()),
            format!("`{}`", f.env()),
        ] {
            assert!(doc.contains(&needle), "the doc lacks {needle}");
        }
    }
}
