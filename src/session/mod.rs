//! One task per WebSocket: frames in, validated commands to the room, one writer out.
//!
//! [`run`] owns the connection's whole life: it waits for `hello`, decides the role from the key,
//! joins the room, starts the connection's one [`writer`], then reads client frames and ticks the
//! heartbeat until one side ends, and leaves the room in one place. Commands go into the room's
//! bounded input channel without waiting for the room to handle them; errors go back through
//! the member's own outbox; pongs, pings and the close go through the writer's control queue.

mod limits;
mod log;
pub mod writer;

use std::sync::Arc;
use std::time::Instant;

use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{interval, timeout, MissedTickBehavior};

use crate::config::Config;
use crate::meta::RoomMeta;
use crate::metrics::{Closed, Metrics};
use crate::protocol::{
    close, decode_client, validate, ErrorCode, Hello, MemberId, ProtoError, Role, Valid,
};
use crate::room::outbox::{outbox, Outgoing, WeakOutboxTx};
use crate::room::{Input, Join, Joining, RoomHandle};
use limits::Limits;
use log::{log_closed, role_name};
use writer::{Control, Stopped};

/// Why a connection ended, for the log and the close frame.
#[derive(Debug)]
enum End {
    /// The client closed or the stream ended.
    ClientGone,
    /// We close with this code and reason, after this error message if any.
    Close(u16, String, Option<ProtoError>),
    /// The writer stopped (the room dropped the member, or a write failed or timed out).
    Writer(Stopped),
}

impl End {
    /// How the connection closed, for the metrics.
    fn closed(&self) -> Closed {
        match self {
            End::ClientGone => Closed::ByClient,
            End::Close(code, ..) | End::Writer(Stopped::Dropped(Some(code))) => Closed::Code(*code),
            // The writer closed plainly, without a code.
            End::Writer(Stopped::Dropped(None) | Stopped::Closed) => Closed::Code(1000),
            End::Writer(Stopped::Failed) => Closed::WriteFailed,
        }
    }
}

/// A client's incoming frames, whole messages bounded by `Config::max_frame_bytes` (a direct
/// connection and a cluster relay read clients alike).
pub fn client_stream(stream: actix_ws::MessageStream, config: &Config) -> AggregatedMessageStream {
    stream
        .max_frame_size(config.max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(config.max_frame_bytes)
}

/// Serves one WebSocket connection to a room until it ends, recording it in `metrics`. `bus`:
/// the connection is another node's relay, which can deliver the room's common traffic from
/// the cluster's bus.
pub async fn run(
    mut session: Session,
    stream: actix_ws::MessageStream,
    meta: Arc<RoomMeta>,
    room: RoomHandle,
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    bus: bool,
) {
    metrics.ws_opened.inc();
    let mut stream = client_stream(stream, &config);
    let opened = Instant::now();

    // Until the member has joined there is no writer yet: this task writes alone.
    let (hello, role) = match hello(&mut session, &mut stream, &meta, &config, &metrics).await {
        Ok(who) => who,
        Err(end) => {
            log_closed(&meta, None, None, opened, &end);
            finish(session, end, &config, &metrics).await;
            return;
        }
    };
    let (out_tx, out_rx) = outbox(config.outbox_frames, config.outbox_bytes);
    let own = out_tx.downgrade();
    let edit_key = (role == Role::Editor).then(|| hello.key.clone()).flatten();
    let joining = Joining {
        edit_key,
        name: hello.name,
        role,
        outbox: out_tx,
        user: hello.user,
        since: hello.since,
        batch: hello.batch,
        bus,
    };
    let member = match room.addr.send(Join(joining)).await {
        Ok(Ok(member)) => member,
        Ok(Err(e)) => {
            let code = match e.code {
                ErrorCode::RoomFull => close::ROOM_FULL,
                ErrorCode::BadKey => close::BAD_KEY,
                _ => close::LAGGING,
            };
            let end = End::Close(code, e.message.clone(), Some(e));
            log_closed(&meta, None, Some(role), opened, &end);
            finish(session, end, &config, &metrics).await;
            return;
        }
        Err(_) => {
            let end = End::Close(1011, "room unavailable".into(), None);
            log_closed(&meta, None, Some(role), opened, &end);
            finish(session, end, &config, &metrics).await;
            return;
        }
    };
    tracing::info!(room = %meta.id, member, role = role_name(role), "connection opened");

    let (ctl_tx, ctl_rx) = mpsc::channel(config.control_queue.max(1));
    let mut writer = actix_web::rt::spawn(writer::write(
        session,
        out_rx,
        ctl_rx,
        Arc::clone(&config),
        Arc::clone(&metrics),
    ));
    let conn = Conn {
        meta: &meta,
        room: &room,
        member,
        role,
        config: &config,
        out: own,
        control: ctl_tx,
        metrics: &metrics,
    };
    let end = conn.serve(&mut stream, &mut writer).await;
    metrics.ws_closed(end.closed());
    // Bounded: waits only when the room is far behind, and the room may be gone already.
    let _ = room.input.send(Input::Leave { member }).await;
    log_closed(&meta, Some(member), Some(role), opened, &end);
    let Conn { control, .. } = conn;
    if let End::Writer(stopped) = end {
        tracing::trace!(room = %meta.id, member, ?stopped, "writer ended the connection");
        return;
    }
    let (error, reason) = match end {
        End::Close(code, reason, error) => {
            let error = error.map(|e| {
                metrics.error_sent(e.code);
                e.encode()
            });
            (error, Some((code, reason)))
        }
        _ => (None, None),
    };
    let _ = timeout(
        config.write_timeout,
        control.send(Control::Close { error, reason }),
    )
    .await;
    if timeout(config.write_timeout, &mut writer).await.is_err() {
        writer.abort();
    }
}

/// Waits for a valid `hello` and says who the connection is.
async fn hello(
    session: &mut Session,
    stream: &mut AggregatedMessageStream,
    meta: &RoomMeta,
    config: &Config,
    metrics: &Metrics,
) -> Result<(Hello, Role), End> {
    let deadline = tokio::time::sleep(config.hello_timeout);
    tokio::pin!(deadline);
    let expected = || {
        ProtoError::new(
            ErrorCode::NotHello,
            "the first message must be a hello text frame",
        )
    };
    loop {
        let frame = tokio::select! {
            frame = stream.recv() => frame,
            () = &mut deadline => return Err(End::Close(close::NOT_HELLO, "no hello in time".into(), None)),
        };
        let text = match frame {
            None | Some(Ok(AggregatedMessage::Close(_))) => return Err(End::ClientGone),
            Some(Err(_)) => {
                return Err(End::Close(
                    close::TOO_LARGE,
                    "frame too large or invalid".into(),
                    None,
                ))
            }
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                let _ = timeout(config.write_timeout, session.pong(&bytes)).await;
                continue;
            }
            Some(Ok(AggregatedMessage::Pong(_))) => continue,
            Some(Ok(AggregatedMessage::Binary(_))) => {
                metrics.message_invalid();
                let e = ProtoError::new(ErrorCode::BadMessage, expected().message);
                return Err(End::Close(
                    close::NOT_HELLO,
                    "expected hello".into(),
                    Some(e),
                ));
            }
            Some(Ok(AggregatedMessage::Text(text))) => text,
        };
        let decoded = decode_client(&text);
        match &decoded {
            Ok(msg) => metrics.message_in(msg),
            Err(_) => metrics.message_invalid(),
        }
        let valid = decoded.and_then(|msg| validate(msg, meta.width, meta.height, config));
        match valid {
            Ok(Valid::Hello(hello)) => {
                let role = match hello.key.as_deref() {
                    None | Some("") => Role::Viewer,
                    Some(k) if meta.is_owner_key(k) => Role::Owner,
                    Some(k) if meta.is_edit_key(k) => Role::Editor,
                    Some(_) => {
                        let e = ProtoError::new(
                            ErrorCode::BadKey,
                            "this edit link's key is not valid for this board",
                        );
                        return Err(End::Close(close::BAD_KEY, "bad key".into(), Some(e)));
                    }
                };
                return Ok((hello, role));
            }
            Ok(Valid::Command(_)) => {
                let e = ProtoError::new(ErrorCode::NotHello, "the first message must be hello");
                return Err(End::Close(
                    close::NOT_HELLO,
                    "expected hello".into(),
                    Some(e),
                ));
            }
            Err(e) => {
                // A garbled or invalid hello: say why, keep waiting until the deadline.
                let _ = send_error(session, &e, config, metrics).await;
            }
        }
    }
}

/// One joined connection: what its reading loop needs.
struct Conn<'a> {
    meta: &'a RoomMeta,
    room: &'a RoomHandle,
    member: MemberId,
    role: Role,
    config: &'a Config,
    /// The member's own outbox (the room holds the sender that keeps it open): errors found
    /// here go in it.
    out: WeakOutboxTx,
    /// The writer's control queue.
    control: mpsc::Sender<Control>,
    /// Where messages in, errors and rate-limit hits are counted.
    metrics: &'a Metrics,
}

impl Conn<'_> {
    /// The member's main loop: client frames and the heartbeat, until one side ends.
    async fn serve(
        &self,
        stream: &mut AggregatedMessageStream,
        writer: &mut JoinHandle<Stopped>,
    ) -> End {
        let config = self.config;
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
                        Some(Err(actix_ws::ProtocolError::Overflow)) => {
                            let err = ProtoError::new(ErrorCode::TooLarge, format!(
                                "frames may be at most {} bytes", config.max_frame_bytes));
                            return End::Close(close::TOO_LARGE, "frame too large".into(), Some(err));
                        }
                        // The connection broke (or the client broke the protocol): it is gone.
                        Some(Err(e)) => {
                            tracing::debug!("connection ended: {e}");
                            return End::ClientGone;
                        }
                        Some(Ok(AggregatedMessage::Ping(bytes))) => {
                            // A full control queue means the writer is stuck; the timeout ends it.
                            let _ = self.control.try_send(Control::Pong(bytes));
                            continue;
                        }
                        Some(Ok(AggregatedMessage::Pong(_))) => continue,
                        Some(Ok(AggregatedMessage::Binary(_))) => {
                            self.metrics.message_invalid();
                            self.tell(&ProtoError::new(ErrorCode::BadMessage, "binary frames are not accepted; send JSON text"));
                            continue;
                        }
                        Some(Ok(AggregatedMessage::Text(text))) => text,
                    };
                    if let Some(end) = self.on_text(&text, &mut limits).await {
                        return end;
                    }
                }
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > config.client_timeout {
                        return End::Close(close::TIMEOUT, "no answer to pings".into(), None);
                    }
                    let _ = self.control.try_send(Control::Ping);
                }
                stopped = &mut *writer => {
                    return End::Writer(stopped.unwrap_or(Stopped::Failed));
                }
            }
        }
    }

    /// Rate-limits, decodes, validates and hands one text message to the room. `Some` ends the
    /// connection.
    async fn on_text(&self, text: &str, limits: &mut Limits) -> Option<End> {
        let config = self.config;
        let now = Instant::now();
        // Every message costs a token; decoding only what passes, ops cost another.
        let decoded = limits.messages.take(now).then(|| decode_client(text));
        match &decoded {
            Some(Ok(msg)) => self.metrics.message_in(msg),
            Some(Err(_)) => self.metrics.message_invalid(),
            None => {}
        }
        let allowed = match &decoded {
            None => false,
            Some(Ok(msg)) => !msg.is_op() || limits.ops.take(now),
            Some(Err(_)) => true,
        };
        if !allowed {
            if decoded.is_none() {
                self.metrics.rate_limited_messages.inc();
            } else {
                self.metrics.rate_limited_ops.inc();
            }
            let (tell, close_it) = limits.strike(now, config.rate_strikes);
            if close_it {
                let err = ProtoError::new(ErrorCode::RateLimited, "too many messages; closing");
                return Some(End::Close(
                    close::RATE_LIMITED,
                    "rate limited".into(),
                    Some(err),
                ));
            }
            if tell {
                self.tell(&ProtoError::new(
                    ErrorCode::RateLimited,
                    format!(
                        "slow down: at most {} messages and {} ops a second",
                        config.messages_per_second, config.ops_per_second
                    ),
                ));
            }
            return None;
        }
        let msg = match decoded? {
            Ok(msg) => msg,
            Err(e) => {
                self.tell(&e);
                return None;
            }
        };
        if msg.is_moderation() && self.role != Role::Owner {
            self.tell(&ProtoError::new(
                ErrorCode::Forbidden,
                "only the board's owner may lock it, remove people or revert their work",
            ));
            return None;
        }
        if msg.is_drawing() && !self.role.can_draw() {
            self.tell(&ProtoError::new(
                ErrorCode::ReadOnly,
                "this is a view-only link: you cannot draw",
            ));
            return None;
        }
        let command = match validate(msg, self.meta.width, self.meta.height, config) {
            Ok(Valid::Command(command)) => command,
            Ok(Valid::Hello(_)) => {
                self.tell(&ProtoError::new(
                    ErrorCode::NotHello,
                    "hello was already received",
                ));
                return None;
            }
            Err(e) => {
                self.tell(&e);
                return None;
            }
        };
        let input = Input::Command {
            member: self.member,
            command,
        };
        if self.room.input.send(input).await.is_err() {
            return Some(End::Close(1011, "room unavailable".into(), None));
        }
        None
    }

    /// Queues an `error` for the member through its own outbox (dropped if the member is so far
    /// behind that its outbox is full; it is resynced later).
    fn tell(&self, err: &ProtoError) {
        if self.out.push(Outgoing::Text(err.encode().into())).is_ok() {
            self.metrics.error_sent(err.code);
        }
    }
}

/// Sends an `error` message before the writer exists, bounded by the write timeout.
async fn send_error(
    session: &mut Session,
    err: &ProtoError,
    config: &Config,
    metrics: &Metrics,
) -> Result<(), ()> {
    let text = err.encode();
    metrics.error_sent(err.code);
    metrics.text_out(&text);
    match timeout(config.write_timeout, session.text(text)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// Closes the socket before the writer exists: the error first if any, then the close frame.
async fn finish(mut session: Session, end: End, config: &Config, metrics: &Metrics) {
    metrics.ws_closed(end.closed());
    let reason = match end {
        End::Close(code, description, error) => {
            if let Some(e) = error {
                let _ = send_error(&mut session, &e, config, metrics).await;
            }
            Some(CloseReason {
                code: CloseCode::from(code),
                description: Some(description),
            })
        }
        End::ClientGone | End::Writer(_) => None,
    };
    let _ = timeout(config.write_timeout, session.close(reason)).await;
}

#[cfg(test)]
mod tests {
    use crate::protocol::clean_name;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name(Some("  Ann \n"), 40), "Ann");
        assert_eq!(clean_name(None, 40), "Guest");
        assert_eq!(clean_name(Some("\u{7}"), 40), "Guest");
        assert_eq!(clean_name(Some("abcdef"), 3), "abc");
    }
}
