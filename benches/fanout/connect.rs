//! How the fan-out generator's members get in: creating an inkroom room, opening a WebSocket,
//! `hello` through `welcome` and `synced`, and reading `error` codes out of text frames.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client's WebSocket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// `POST /api/rooms` with `{}`; returns `(id, edit_key)`.
pub async fn create_room(base: &str) -> Result<(String, String), String> {
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(host)
        .await
        .map_err(|e| format!("connect to {host}: {e}"))?;
    let request = format!(
        "POST /api/rooms HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
    );
    s.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;
    let raw = String::from_utf8_lossy(&raw);
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let v: Value = serde_json::from_str(body).map_err(|_| format!("no room: {raw}"))?;
    match (v["id"].as_str(), v["edit_key"].as_str()) {
        (Some(id), Some(key)) => Ok((id.to_owned(), key.to_owned())),
        _ => Err(format!("no room: {body}")),
    }
}

/// Opens a WebSocket at `url` and, given a `hello` (inkroom), says it and reads through `welcome`
/// and `synced`; the error is the refusal's `error` code or close code, or what went wrong.
pub async fn join(url: &str, hello: Option<String>) -> Result<Ws, String> {
    let config = WebSocketConfig::default()
        // Zeroed on every read (tungstenite), so not the 128 KiB default.
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let Some(hello) = hello else {
        return Ok(ws);
    };
    ws.send(Message::text(hello))
        .await
        .map_err(|e| format!("hello: {e}"))?;
    let (mut welcome, mut synced) = (false, false);
    while !(welcome && synced) {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                welcome |= t.contains("\"type\":\"welcome\"");
                synced |= welcome && t.contains("\"type\":\"synced\"");
                if let Some(code) = error_codes(&t).into_iter().next() {
                    return Err(code);
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(frame.map_or("closed".into(), |f| format!("close {}", f.code)))
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("read: {e}")),
            None => return Err("closed".into()),
        }
    }
    Ok(ws)
}

/// The codes of the `error` messages in a text frame (a single message or a batch); parsed only
/// when the frame mentions `"error"`.
pub fn error_codes(text: &str) -> Vec<String> {
    if !text.contains("\"error\"") {
        return Vec::new();
    }
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let messages = match v["type"].as_str() {
        Some("batch") => v["messages"].as_array().cloned().unwrap_or_default(),
        _ => vec![v],
    };
    messages
        .iter()
        .filter(|m| m["type"] == "error")
        .map(|m| m["code"].as_str().unwrap_or("?").to_owned())
        .collect()
}
