//! docs/protocol.md and the code agree: every JSON example decodes with the real decoder and
//! re-encodes to the same JSON, every message type and error code is documented.

use std::collections::BTreeSet;

use inkroom::protocol::{close, decode_client, decode_server, encode, ClientMsg, ErrorCode};
use serde_json::Value;

const DOC: &str = include_str!("../docs/protocol.md");

/// Fenced blocks as (info string, body).
fn blocks() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in DOC.lines() {
        if let Some(info) = line.strip_prefix("```") {
            match current.take() {
                Some(block) => out.push(block),
                None => current = Some((info.trim().to_owned(), String::new())),
            }
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    assert!(current.is_none(), "unclosed code block");
    out
}

/// The same JSON with every number as a float, so `6` and `6.0` compare equal.
fn numbers_as_floats(v: Value) -> Value {
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64().expect("finite")),
        Value::Array(a) => Value::Array(a.into_iter().map(numbers_as_floats).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k, numbers_as_floats(v)))
                .collect(),
        ),
        other => other,
    }
}

fn type_of(v: &Value) -> String {
    v["type"].as_str().expect("a type field").to_owned()
}

/// Client examples decode as `ClientMsg` and re-encode to exactly the documented JSON.
#[test]
fn client_examples_decode() {
    let mut types = BTreeSet::new();
    for (info, body) in blocks().iter().filter(|(i, _)| i == "json client") {
        let msg = decode_client(body).unwrap_or_else(|e| panic!("{info}: {body}: {e:?}"));
        let again: Value =
            serde_json::from_str(&serde_json::to_string(&msg).expect("encodes")).expect("JSON");
        let doc: Value = serde_json::from_str(body).expect("valid JSON");
        assert_eq!(
            numbers_as_floats(again),
            numbers_as_floats(doc.clone()),
            "round trip of {body}"
        );
        assert_eq!(msg.type_name(), type_of(&doc), "type_name of {body}");
        types.insert(type_of(&doc));
    }
    let expected: BTreeSet<String> = [
        "hello",
        "stroke_begin",
        "stroke_points",
        "stroke_end",
        "cursor",
        "view",
        "shape",
        "shape_preview",
        "fill",
        "text",
        "clear",
        "undo",
        "redo",
        "rename",
        "list_members",
        "lock",
        "kick",
        "move",
        "image",
        "revert",
        "restore",
    ]
    .map(String::from)
    .into();
    assert_eq!(types, expected, "every client message is documented");
    let named: BTreeSet<String> = ClientMsg::TYPES.map(String::from).into();
    assert_eq!(
        named, expected,
        "ClientMsg::TYPES names every client message"
    );
}

/// Server examples decode as `ServerMsg` and re-encode to exactly the documented JSON.
#[test]
fn server_examples_decode() {
    let mut types = BTreeSet::new();
    for (_, body) in blocks().iter().filter(|(i, _)| i == "json server") {
        let msg = decode_server(body).unwrap_or_else(|e| panic!("{body}: {e}"));
        let again: Value = serde_json::from_str(&encode(&msg)).expect("encodes");
        let doc: Value = serde_json::from_str(body).expect("valid JSON");
        assert_eq!(
            numbers_as_floats(again),
            numbers_as_floats(doc.clone()),
            "round trip of {body}"
        );
        types.insert(type_of(&doc));
    }
    let expected: BTreeSet<String> = [
        "welcome",
        "synced",
        "stroke_begin",
        "stroke_points",
        "stroke_end",
        "commit",
        "cursors",
        "views",
        "member_joined",
        "member_left",
        "error",
        "history",
        "member_updated",
        "presence",
        "member_list",
        "batch",
        "editing",
        "stroke_dropped",
        "shape_preview",
    ]
    .map(String::from)
    .into();
    assert_eq!(types, expected, "every server message is documented");
}

/// HTTP examples are valid JSON; the create-room request is accepted by the real decoder.
#[test]
fn http_examples_parse() {
    let bodies: Vec<Value> = blocks()
        .iter()
        .filter(|(i, _)| i == "json http")
        .map(|(_, b)| serde_json::from_str(b).unwrap_or_else(|e| panic!("{b}: {e}")))
        .collect();
    assert!(bodies.len() >= 4);
    let request = bodies
        .iter()
        .find(|b| b.get("id").is_none() && b.get("error").is_none())
        .expect("a create-room request example");
    serde_json::from_value::<inkroom::meta::NewRoom>(request.clone()).expect("valid request");
    let uploaded = bodies
        .iter()
        .find(|b| b.get("image").is_some())
        .expect("an image upload answer");
    assert!(
        uploaded["image"].is_string() && uploaded["width"].is_u64() && uploaded["height"].is_u64()
    );
    let history = bodies
        .iter()
        .find(|b| b.get("marks").is_some())
        .expect("a history answer");
    assert!(history["from"].is_u64() && history["seq"].is_u64());
    assert!(["owner", "editor"].contains(&history["restore"].as_str().unwrap_or_default()));
    for mark in history["marks"].as_array().expect("marks") {
        let at = mark["at"].as_str().expect("a time");
        assert!(inkroom::history::time::parse_rfc3339(at).is_some(), "{at}");
        assert!(mark["seq"].is_u64());
    }
}

/// Every error code and close code appears in the document's tables.
#[test]
fn codes_are_documented() {
    for code in ErrorCode::ALL {
        assert!(
            DOC.contains(&format!("| `{}` |", code.as_str())),
            "error code {} is not documented",
            code.as_str()
        );
        let json = serde_json::to_value(code).expect("encodes");
        assert_eq!(json, code.as_str());
    }
    for code in [
        close::GOING_AWAY,
        close::ROOM_DELETED,
        close::NOT_HELLO,
        close::BAD_KEY,
        close::LAGGING,
        close::ROOM_FULL,
        close::TOO_LARGE,
        close::TIMEOUT,
        close::RATE_LIMITED,
        close::KICKED,
        close::MOVED,
        close::TRY_AGAIN,
    ] {
        assert!(
            DOC.contains(&format!("| {code} |")),
            "close code {code} is not documented"
        );
    }
}
