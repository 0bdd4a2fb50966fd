//! One task per WebSocket: frames in, protocol messages to the room, the member's outbox out.
//!
//! [`run`] owns the connection's whole life: it waits for `hello`, decides the role from the key,
//! joins the room, then `select!`s over client frames and the heartbeat until one side ends, and
//! leaves the room in one place. A separate forwarding task drains the member's bounded outbox
//! into the socket, so the room never waits for this connection, and this connection's slow
//! writes never delay reading its input.

use std::sync::Arc;
use std::time::Instant;

use actix::Addr;
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use tokio::time::{interval, timeout, MissedTickBehavior};

use tiny_skia::Pixmap;

use crate::canvas::TileId;
use crate::config::Config;
use crate::protocol::{
    clean_name, close, decode_client, encode, validate, ClientMsg, ErrorCode, MemberId, ProtoError,
    Role, ServerMsg,
};
use crate::rate::Bucket;
use crate::room::outbox::{outbox, OutboxRx, Outgoing};
use crate::room::{encode_tile_frames, FromClient, Join, Leave, Room, RoomMeta};

/// Why a connection ended, for the log and the close frame.
#[derive(Debug)]
enum End {
    /// The client closed or the stream ended.
    ClientGone,
    /// We close with this code and reason.
    Close(u16, String),
    /// The forwarding task stopped (the room dropped us or a write failed); it closed the socket.
    Forwarder,
}

/// Serves one WebSocket connection to a room until it ends.
pub async fn run(
    mut session: Session,
    stream: actix_ws::MessageStream,
    meta: Arc<RoomMeta>,
    room: Addr<Room>,
    config: Arc<Config>,
) {
    let mut stream = stream
        .max_frame_size(config.max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(config.max_frame_bytes);

    let who = match hello(&mut session, &mut stream, &meta, &config).await {
        Ok(who) => who,
        Err(end) => {
            finish(session, end, &config).await;
            return;
        }
    };

    let role = who.role;
    let (out_tx, out_rx) = outbox(config.outbox_messages, config.outbox_bytes);
    let member = match room
        .send(Join {
            name: who.name,
            role: who.role,
            outbox: out_tx,
            user: who.user,
            since: who.since,
        })
        .await
    {
        Ok(Ok(member)) => member,
        Ok(Err(e)) => {
            let _ = send_error(&mut session, &e, &config).await;
            let code = if e.code == ErrorCode::RoomFull {
                close::ROOM_FULL
            } else {
                close::LAGGING
            };
            finish(session, End::Close(code, e.message), &config).await;
            return;
        }
        Err(_) => {
            finish(
                session,
                End::Close(1011, "room unavailable".into()),
                &config,
            )
            .await;
            return;
        }
    };

    let mut forwarder = actix_web::rt::spawn(forward(session.clone(), out_rx, Arc::clone(&config)));
    let end = serve(
        &mut session,
        &mut stream,
        &mut forwarder,
        &meta,
        &room,
        member,
        role,
        &config,
    )
    .await;
    room.do_send(Leave { member });
    tracing::debug!(room = %meta.id, member, ?end, "connection ended");
    if matches!(end, End::Forwarder) {
        return;
    }
    forwarder.abort();
    finish(session, end, &config).await;
}

/// Who a new connection is, from its `hello`.
struct Who {
    /// Cleaned display name.
    name: String,
    /// Editor or viewer, from the key.
    role: Role,
    /// Stable person id, for undo history.
    user: Option<String>,
    /// Seq the client's canvas is complete at, when resuming.
    since: Option<u64>,
}

/// Waits for a valid `hello` and says who the connection is.
async fn hello(
    session: &mut Session,
    stream: &mut AggregatedMessageStream,
    meta: &RoomMeta,
    config: &Config,
) -> Result<Who, End> {
    let deadline = tokio::time::sleep(config.hello_timeout);
    tokio::pin!(deadline);
    loop {
        let frame = tokio::select! {
            frame = stream.recv() => frame,
            () = &mut deadline => return Err(End::Close(close::NOT_HELLO, "no hello in time".into())),
        };
        let text = match frame {
            None | Some(Ok(AggregatedMessage::Close(_))) => return Err(End::ClientGone),
            Some(Err(_)) => {
                return Err(End::Close(
                    close::TOO_LARGE,
                    "frame too large or invalid".into(),
                ))
            }
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                let _ = timeout(config.write_timeout, session.pong(&bytes)).await;
                continue;
            }
            Some(Ok(AggregatedMessage::Pong(_))) => continue,
            Some(Ok(AggregatedMessage::Binary(_))) => {
                let e = ProtoError::new(
                    ErrorCode::BadMessage,
                    "the first message must be a hello text frame",
                );
                let _ = send_error(session, &e, config).await;
                return Err(End::Close(close::NOT_HELLO, "expected hello".into()));
            }
            Some(Ok(AggregatedMessage::Text(text))) => text,
        };
        match decode_client(&text) {
            Ok(hello @ ClientMsg::Hello { .. }) => {
                if let Err(e) = validate(&hello, meta.width, meta.height, config) {
                    let _ = send_error(session, &e, config).await;
                    continue;
                }
                let ClientMsg::Hello {
                    name,
                    key,
                    user,
                    since,
                } = hello
                else {
                    unreachable!("matched above");
                };
                let role = match key.as_deref() {
                    None | Some("") => Role::Viewer,
                    Some(k) if meta.is_edit_key(k) => Role::Editor,
                    Some(_) => {
                        let e = ProtoError::new(
                            ErrorCode::BadKey,
                            "this edit link's key is not valid for this board",
                        );
                        let _ = send_error(session, &e, config).await;
                        return Err(End::Close(close::BAD_KEY, "bad key".into()));
                    }
                };
                return Ok(Who {
                    name: clean_name(name.as_deref(), config.max_member_name_chars),
                    role,
                    user,
                    since,
                });
            }
            Ok(_) => {
                let e = ProtoError::new(ErrorCode::NotHello, "the first message must be hello");
                let _ = send_error(session, &e, config).await;
                return Err(End::Close(close::NOT_HELLO, "expected hello".into()));
            }
            Err(e) => {
                // A garbled hello: say why, keep waiting until the deadline.
                let _ = send_error(session, &e, config).await;
            }
        }
    }
}

/// A connection's rate limits and the count of refusals that gets it closed.
struct Limits {
    messages: Bucket,
    ops: Bucket,
    strikes: u32,
    window: Instant,
    last_error: Option<Instant>,
}

impl Limits {
    fn new(config: &Config) -> Limits {
        Limits {
            messages: Bucket::new(config.messages_per_second, config.message_burst),
            ops: Bucket::new(config.ops_per_second, config.op_burst),
            strikes: 0,
            window: Instant::now(),
            last_error: None,
        }
    }

    /// Counts a refusal; returns (send an error now, close the connection).
    fn strike(&mut self, now: Instant, max: u32) -> (bool, bool) {
        if now.saturating_duration_since(self.window) > std::time::Duration::from_secs(5) {
            self.window = now;
            self.strikes = 0;
        }
        self.strikes += 1;
        let tell = self
            .last_error
            .is_none_or(|t| now.saturating_duration_since(t) >= std::time::Duration::from_secs(1));
        if tell {
            self.last_error = Some(now);
        }
        (tell, self.strikes > max)
    }
}

/// The member's main loop: client frames and the heartbeat.
#[allow(clippy::too_many_arguments)]
async fn serve(
    session: &mut Session,
    stream: &mut AggregatedMessageStream,
    forwarder: &mut tokio::task::JoinHandle<()>,
    meta: &RoomMeta,
    room: &Addr<Room>,
    member: MemberId,
    role: Role,
    config: &Config,
) -> End {
    let mut heartbeat = interval(config.heartbeat_interval);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut limits = Limits::new(config);
    loop {
        tokio::select! {
            frame = stream.recv() => {
                last_heard = Instant::now();
                let text = match frame {
                    None | Some(Ok(AggregatedMessage::Close(_))) => return End::ClientGone,
                    Some(Err(e)) => {
                        let err = ProtoError::new(ErrorCode::TooLarge, format!(
                            "frames may be at most {} bytes ({e})", config.max_frame_bytes));
                        let _ = send_error(session, &err, config).await;
                        return End::Close(close::TOO_LARGE, "frame too large".into());
                    }
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if timeout(config.write_timeout, session.pong(&bytes)).await.is_err() {
                            return End::Close(close::TIMEOUT, "write timed out".into());
                        }
                        continue;
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => continue,
                    Some(Ok(AggregatedMessage::Binary(_))) => {
                        let err = ProtoError::new(ErrorCode::BadMessage, "binary frames are not accepted; send JSON text");
                        let _ = send_error(session, &err, config).await;
                        continue;
                    }
                    Some(Ok(AggregatedMessage::Text(text))) => text,
                };
                let now = Instant::now();
                // Every message costs a token; decoding only what passes, ops cost another.
                let decoded = limits.messages.take(now).then(|| decode_client(&text));
                let allowed = match &decoded {
                    None => false,
                    Some(Ok(msg)) => !msg.is_op() || limits.ops.take(now),
                    Some(Err(_)) => true,
                };
                if !allowed {
                    let (tell, close_it) = limits.strike(now, config.rate_strikes);
                    if close_it {
                        let err = ProtoError::new(ErrorCode::RateLimited, "too many messages; closing");
                        let _ = send_error(session, &err, config).await;
                        return End::Close(close::RATE_LIMITED, "rate limited".into());
                    }
                    if tell {
                        let err = ProtoError::new(
                            ErrorCode::RateLimited,
                            format!(
                                "slow down: at most {} messages and {} ops a second",
                                config.messages_per_second, config.ops_per_second
                            ),
                        );
                        if send_error(session, &err, config).await.is_err() {
                            return End::ClientGone;
                        }
                    }
                    continue;
                }
                let Some(decoded) = decoded else { continue };
                if let Err(err) = handle_msg(decoded, meta, room, member, role, config).await {
                    if send_error(session, &err, config).await.is_err() {
                        return End::ClientGone;
                    }
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > config.client_timeout {
                    return End::Close(close::TIMEOUT, "no answer to pings".into());
                }
                match timeout(config.write_timeout, session.ping(b"")).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return End::ClientGone,
                    Err(_) => return End::Close(close::TIMEOUT, "write timed out".into()),
                }
            }
            _ = &mut *forwarder => return End::Forwarder,
        }
    }
}

/// Checks the role, validates and hands one decoded message to the room.
async fn handle_msg(
    decoded: Result<ClientMsg, ProtoError>,
    meta: &RoomMeta,
    room: &Addr<Room>,
    member: MemberId,
    role: Role,
    config: &Config,
) -> Result<(), ProtoError> {
    let msg = decoded?;
    if msg.is_drawing() && role != Role::Editor {
        return Err(ProtoError::new(
            ErrorCode::ReadOnly,
            "this is a view-only link: you cannot draw",
        ));
    }
    validate(&msg, meta.width, meta.height, config)?;
    room.send(FromClient { member, msg })
        .await
        .map_err(|_| ProtoError::new(ErrorCode::Internal, "the room is not available"))?
}

/// Sends an `error` message directly (not through the outbox), bounded by the write timeout.
async fn send_error(session: &mut Session, err: &ProtoError, config: &Config) -> Result<(), ()> {
    match timeout(config.write_timeout, session.text(err.encode())).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// Closes the socket with the reason, bounded by the write timeout.
async fn finish(session: Session, end: End, config: &Config) {
    let reason = match end {
        End::Close(code, description) => Some(CloseReason {
            code: CloseCode::from(code),
            description: Some(description),
        }),
        End::ClientGone | End::Forwarder => None,
    };
    let _ = timeout(config.write_timeout, session.close(reason)).await;
}

/// Drains a member's outbox into the socket until the room drops the member or a write fails.
async fn forward(mut session: Session, mut rx: OutboxRx, config: Arc<Config>) {
    while let Some(item) = rx.recv().await {
        let sent = match item {
            Outgoing::Text(text) => timeout(config.write_timeout, session.text(text)).await,
            Outgoing::Binary(bytes) => timeout(config.write_timeout, session.binary(bytes)).await,
            Outgoing::Canvas { tiles, seq } => send_canvas(&mut session, tiles, seq, &config).await,
        };
        if !matches!(sent, Ok(Ok(()))) {
            return;
        }
    }
    let reason = rx.close_note().map(|note| CloseReason {
        code: CloseCode::from(note.code),
        description: Some(note.reason),
    });
    let _ = timeout(config.write_timeout, session.close(reason)).await;
}

/// Encodes tiles on the blocking pool, sends them, then `synced`.
async fn send_canvas(
    session: &mut Session,
    tiles: Vec<(TileId, Option<Arc<Pixmap>>)>,
    seq: u64,
    config: &Config,
) -> Result<Result<(), actix_ws::Closed>, tokio::time::error::Elapsed> {
    let frames = match actix_web::web::block(move || encode_tile_frames(tiles, seq)).await {
        Ok(frames) => frames,
        Err(_) => return Ok(Err(actix_ws::Closed)),
    };
    for bytes in frames {
        match timeout(config.write_timeout, session.binary(bytes)).await {
            Ok(Ok(())) => {}
            other => return other,
        }
    }
    let synced = encode(&ServerMsg::Synced { seq });
    timeout(config.write_timeout, session.text(synced)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name(Some("  Ann \n"), 40), "Ann");
        assert_eq!(clean_name(None, 40), "Guest");
        assert_eq!(clean_name(Some("\u{7}"), 40), "Guest");
        assert_eq!(clean_name(Some("abcdef"), 3), "abc");
    }
}
