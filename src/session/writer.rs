//! A connection's one writer: the task that owns the actix-ws `Session` once the member has
//! joined. It drains control frames first (pongs, pings, the close), then the member's outbox,
//! and bounds every write by the write timeout. Nothing else writes to the socket, so frames
//! never interleave and a slow socket only ever delays this task.

use std::sync::Arc;

use actix_ws::{CloseCode, CloseReason, Session};
use tokio::sync::mpsc;
use tokio::time::timeout;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::protocol::{encode, ServerMsg};
use crate::room::outbox::{OutboxRx, Outgoing};
use crate::room::tiles::encode_sources;

/// What the session asks its writer to do, ahead of the outbox.
#[derive(Debug)]
pub enum Control {
    /// Answer a ping.
    Pong(bytes::Bytes),
    /// Heartbeat.
    Ping,
    /// Send a last `error` (if any), then close with this code and reason.
    Close {
        /// An encoded `error` message to send first.
        error: Option<String>,
        /// Close code and reason; none for a plain close.
        reason: Option<(u16, String)>,
    },
}

/// Why the writer stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// A write failed or timed out; the socket is unusable.
    Failed,
    /// The room dropped the member (the outbox closed); the socket was closed with its note's
    /// code, if it left one.
    Dropped(Option<u16>),
    /// The session asked to close, and it was closed.
    Closed,
}

/// Writes control frames and the outbox to the socket until one side ends, counting data frames
/// and their bytes in `metrics`.
pub async fn write(
    mut session: Session,
    mut outbox: OutboxRx,
    mut control: mpsc::Receiver<Control>,
    config: Arc<Config>,
    metrics: Arc<Metrics>,
) -> Stopped {
    let wt = config.write_timeout;
    loop {
        let ok = tokio::select! {
            biased;
            c = control.recv() => match c {
                Some(Control::Pong(bytes)) => matches!(timeout(wt, session.pong(&bytes)).await, Ok(Ok(()))),
                Some(Control::Ping) => matches!(timeout(wt, session.ping(b"")).await, Ok(Ok(()))),
                Some(Control::Close { error, reason }) => {
                    if let Some(text) = error {
                        metrics.text_out(&text);
                        let _ = timeout(wt, session.text(text)).await;
                    }
                    close(session, reason, &config).await;
                    return Stopped::Closed;
                }
                None => {
                    close(session, None, &config).await;
                    return Stopped::Closed;
                }
            },
            item = outbox.recv() => match item {
                Some(item) => send(&mut session, item, &config, &metrics).await,
                None => {
                    let note = outbox.close_note().map(|n| (n.code, n.reason));
                    let code = note.as_ref().map(|(code, _)| *code);
                    close(session, note, &config).await;
                    return Stopped::Dropped(code);
                }
            },
        };
        if !ok {
            return Stopped::Failed;
        }
    }
}

/// Writes one outbox item, counting it first; false when the socket failed or a write timed
/// out.
async fn send(session: &mut Session, item: Outgoing, config: &Config, metrics: &Metrics) -> bool {
    let wt = config.write_timeout;
    match item {
        Outgoing::Text(text) => {
            metrics.text_out(&text);
            matches!(timeout(wt, session.text(text)).await, Ok(Ok(())))
        }
        Outgoing::Binary(bytes) => {
            metrics.binary_out(bytes.len());
            matches!(timeout(wt, session.binary(bytes)).await, Ok(Ok(())))
        }
        Outgoing::Canvas { tiles, seq } => {
            // Tiles not yet encoded are encoded on the blocking pool, off the I/O threads.
            let Ok(frames) = actix_web::web::block(move || encode_sources(tiles, seq)).await else {
                return false;
            };
            for bytes in frames {
                metrics.binary_out(bytes.len());
                if !matches!(timeout(wt, session.binary(bytes)).await, Ok(Ok(()))) {
                    return false;
                }
            }
            let synced = encode(&ServerMsg::Synced { seq });
            metrics.text_out(&synced);
            matches!(timeout(wt, session.text(synced)).await, Ok(Ok(())))
        }
    }
}

/// Closes the socket, bounded by the write timeout.
async fn close(session: Session, reason: Option<(u16, String)>, config: &Config) {
    let reason = reason.map(|(code, description)| CloseReason {
        code: CloseCode::from(code),
        description: Some(description),
    });
    let _ = timeout(config.write_timeout, session.close(reason)).await;
}
