//! Cluster mode: requests for a room another node owns are forwarded to that node, so any
//! node serves any client behind a load balancer.
//!
//! A WebSocket is relayed frame by frame over a connection of this node's own to the owner
//! ([`relay_websocket`]): the client speaks the ordinary protocol and the owner sees an
//! ordinary member. Pings and pongs pass through, so the owner's heartbeat covers the client
//! end to end. When the owner goes away the client is closed with 1012 and reconnects (to a
//! node that then takes the room over); when the room is between owners it is closed with
//! 1013. Plain HTTP requests (the room's info, its PNG) are forwarded as they are and the
//! answer streamed back ([`forward_http`]).
//!
//! A forwarded request carries [`FORWARDED`]; a node never forwards such a request again, so
//! two nodes that disagree for a moment about who owns a room cannot bounce it between them.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Item, Session};
use awc::ws::{Frame, Message};
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use futures_util::{SinkExt, StreamExt};
use tokio::time::{sleep_until, timeout, Instant};

use super::error::ApiError;
use crate::cluster::fanout::{Attached, BusStart, Fanout, FeedItem, BUS_HEADER};
use crate::metrics::Metrics;
use crate::protocol::{close, ErrorCode};
use crate::room::Registry;

/// The header marking a request one node forwarded to another.
pub const FORWARDED: &str = "x-inkroom-forwarded";

/// Largest message the owner may send through a relay (snapshots of big boards are a few MB).
const MAX_OWNER_MESSAGE: usize = 64 << 20;

/// How long connecting to the owner may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Request headers passed on to the owner.
const PASSED: [header::HeaderName; 4] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::ACCEPT,
    header::IF_NONE_MATCH,
];

/// Response headers passed back to the client.
const RETURNED: [&str; 7] = [
    "content-type",
    "content-disposition",
    "cache-control",
    "retry-after",
    "etag",
    "x-inkroom-seq",
    "content-length",
];

/// The server's metrics, from the request's app data.
fn metrics_of(req: &HttpRequest) -> Option<std::sync::Arc<Metrics>> {
    req.app_data::<web::Data<Registry>>()
        .map(|r| std::sync::Arc::clone(r.metrics()))
}

/// Whether another node already forwarded this request.
pub fn is_forwarded(req: &HttpRequest) -> bool {
    req.headers().contains_key(FORWARDED)
}

/// The owner's URL for this request: its base URL and the request's path and query.
fn owner_url(node: &str, req: &HttpRequest, scheme: &str) -> String {
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let base = node.trim_end_matches('/');
    let base = base
        .strip_prefix("http://")
        .map_or_else(|| base.to_owned(), |rest| format!("{scheme}://{rest}"));
    format!("{base}{path}")
}

/// 503 for a room whose owner cannot be reached.
fn unreachable(e: impl std::fmt::Display) -> ApiError {
    tracing::warn!("forwarding to the room's node failed: {e}");
    ApiError::with_status(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerBusy,
        "the server holding this board cannot be reached; try again in a moment",
    )
}

/// Forwards a plain HTTP request for a room to the node that owns it and streams its answer.
pub async fn forward_http(
    req: &HttpRequest,
    body: Bytes,
    node: &str,
) -> Result<HttpResponse, ApiError> {
    if let Some(m) = metrics_of(req) {
        m.forwarded_http.inc();
    }
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let mut out = client
        .request(req.method().clone(), owner_url(node, req, "http"))
        .insert_header((FORWARDED, "1"));
    for name in PASSED {
        if let Some(value) = req.headers().get(&name) {
            out = out.insert_header((name, value.clone()));
        }
    }
    let answer = out.send_body(body).await.map_err(unreachable)?;
    let mut response = HttpResponse::build(answer.status());
    for name in RETURNED {
        if let Some(value) = answer.headers().get(name) {
            response.insert_header((name, value.clone()));
        }
    }
    Ok(response.streaming(answer))
}

/// Serves a client's WebSocket for a room another node owns by relaying it to that node. With
/// a bus, the owner may switch the member to it: its common traffic then comes from the
/// node's feed of the room rather than through the relay.
pub async fn relay_websocket(
    req: &HttpRequest,
    body: web::Payload,
    node: &str,
    registry: &Registry,
    room: uuid::Uuid,
) -> Result<HttpResponse, actix_web::Error> {
    let config = registry.config();
    let fanout = registry.fanout().cloned();
    let mut connect = awc::Client::builder()
        .timeout(CONNECT_TIMEOUT)
        .finish()
        .ws(owner_url(node, req, "ws"))
        .set_header(FORWARDED, "1");
    if fanout.is_some() {
        connect = connect.set_header(BUS_HEADER, "1");
    }
    let owner = connect.max_frame_size(MAX_OWNER_MESSAGE).connect().await;
    let (response, session, stream) = actix_ws::handle(req, body)?;
    let stream = crate::session::client_stream(stream, config);
    let metrics = metrics_of(req);
    if let Some(m) = &metrics {
        m.forwarded_ws.inc();
    }
    match owner {
        Ok((_, owner)) => {
            let limits = Limits {
                write: config.write_timeout,
                silence: config.client_timeout,
            };
            let bus = fanout.map(|fanout| (fanout, room));
            actix_web::rt::spawn(async move {
                if let Some(m) = &metrics {
                    m.relays_open.inc();
                }
                relay(session, stream, owner, limits, bus).await;
                if let Some(m) = &metrics {
                    m.relays_open.dec();
                }
            });
        }
        Err(e) => {
            // The owner answered, and the board is gone: reconnecting cannot help.
            let gone = matches!(
                &e,
                awc::error::WsClientError::InvalidResponseStatus(s) if *s == StatusCode::NOT_FOUND
            );
            let (code, description) = if gone {
                (close::ROOM_DELETED, "this board was deleted")
            } else {
                tracing::warn!(node, "cannot reach the room's node: {e}");
                (
                    close::TRY_AGAIN,
                    "this board's server cannot be reached; reconnecting",
                )
            };
            actix_web::rt::spawn(async move {
                let _ = session
                    .close(Some(CloseReason {
                        code: CloseCode::Other(code),
                        description: Some(description.into()),
                    }))
                    .await;
            });
        }
    }
    Ok(response)
}

/// Bounds of a relay.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Longest one write to the client may take.
    write: Duration,
    /// Longest the owner may stay silent (it pings every heartbeat) before it counts as gone.
    silence: Duration,
}

/// The owner's connection.
type Owner = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

/// How a relay ended, for the client's close frame.
enum End {
    /// The client closed (or went away): close the owner's side.
    Client(Option<CloseReason>),
    /// The client sent a frame over the size limit: close it with 4013, and the owner's side.
    TooLarge,
    /// The owner closed with this reason: pass it on.
    Owner(Option<CloseReason>),
    /// The owner's connection broke or went silent.
    OwnerGone,
    /// Writing to the client failed or timed out.
    ClientStuck,
    /// The bus feed cannot go on for this member: close the client with this code (it
    /// reconnects and resyncs), and the owner's side.
    Feed(u16),
}

/// The next item of a member's bus feed; never, while it has none.
async fn next_fed(feed: &mut Option<Attached>) -> Option<FeedItem> {
    match feed {
        Some(feed) => feed.recv().await,
        None => std::future::pending().await,
    }
}

/// Writes an item of the bus feed to the client; the close code if the relay must end.
async fn write_fed(
    session: &mut Session,
    item: Option<FeedItem>,
    limits: Limits,
) -> Result<(), End> {
    let sent = match item {
        // The feed dropped the member: it could not keep up.
        None => return Err(End::Feed(close::LAGGING)),
        Some(FeedItem::End(code)) => return Err(End::Feed(code)),
        Some(FeedItem::Text(text)) => timeout(limits.write, session.text(text)).await,
        Some(FeedItem::Tiles { frames, .. }) => {
            for frame in frames.iter() {
                if !matches!(
                    timeout(limits.write, session.binary(frame.clone())).await,
                    Ok(Ok(()))
                ) {
                    return Err(End::ClientStuck);
                }
            }
            return Ok(());
        }
    };
    if matches!(sent, Ok(Ok(()))) {
        Ok(())
    } else {
        Err(End::ClientStuck)
    }
}

/// Moves messages both ways until one side ends. With `bus` (the node's fan-out and the
/// room), a switch from the owner attaches the member to the room's feed.
async fn relay(
    mut session: Session,
    mut client: actix_ws::AggregatedMessageStream,
    mut owner: Owner,
    limits: Limits,
    bus: Option<(Arc<Fanout>, uuid::Uuid)>,
) {
    // A message from the owner arriving in fragments, and its kind (text or binary).
    let mut partial: Option<(bool, BytesMut)> = None;
    let mut deadline = Instant::now() + limits.silence;
    let mut feed: Option<Attached> = None;
    let end = loop {
        tokio::select! {
            item = next_fed(&mut feed) => {
                if let Err(end) = write_fed(&mut session, item, limits).await {
                    break end;
                }
            }
            msg = client.next() => {
                let forward = match msg {
                    Some(Ok(AggregatedMessage::Text(text))) => Message::Text(text),
                    Some(Ok(AggregatedMessage::Binary(data))) => Message::Binary(data),
                    Some(Ok(AggregatedMessage::Ping(data))) => Message::Ping(data),
                    Some(Ok(AggregatedMessage::Pong(data))) => Message::Pong(data),
                    Some(Ok(AggregatedMessage::Close(reason))) => break End::Client(reason),
                    // As a direct connection would: a frame over the limit closes with 4013.
                    Some(Err(actix_ws::ProtocolError::Overflow)) => break End::TooLarge,
                    Some(Err(e)) => {
                        tracing::debug!("relayed client gone: {e}");
                        break End::Client(None);
                    }
                    None => break End::Client(None),
                };
                // An owner that stops reading must not hold the relay (and the client) forever.
                if !matches!(timeout(limits.write, owner.send(forward)).await, Ok(Ok(()))) {
                    break End::OwnerGone;
                }
            }
            frame = owner.next() => {
                deadline = Instant::now() + limits.silence;
                let out = match frame {
                    Some(Ok(Frame::Text(data))) => Some((true, data)),
                    Some(Ok(Frame::Binary(data))) => Some((false, data)),
                    Some(Ok(Frame::Continuation(item))) => match assemble(&mut partial, item) {
                        Ok(done) => done,
                        Err(()) => break End::OwnerGone,
                    },
                    Some(Ok(Frame::Ping(data))) => {
                        if timeout(limits.write, session.ping(&data)).await.map_or(true, |r| r.is_err()) {
                            break End::ClientStuck;
                        }
                        None
                    }
                    Some(Ok(Frame::Pong(data))) => {
                        if timeout(limits.write, session.pong(&data)).await.map_or(true, |r| r.is_err()) {
                            break End::ClientStuck;
                        }
                        None
                    }
                    Some(Ok(Frame::Close(reason))) => break End::Owner(reason),
                    Some(Err(_)) | None => break End::OwnerGone,
                };
                if let Some((text, data)) = out {
                    if text && feed.is_none() {
                        if let (Some((fanout, room)), Some(start)) = (&bus, BusStart::decode(&data)) {
                            feed = Some(fanout.attach(*room, start));
                            continue;
                        }
                    }
                    let sent = if text {
                        match ByteString::try_from(data) {
                            Ok(text) => timeout(limits.write, session.text(text)).await,
                            Err(_) => break End::OwnerGone,
                        }
                    } else {
                        timeout(limits.write, session.binary(data)).await
                    };
                    if sent.map_or(true, |r| r.is_err()) {
                        break End::ClientStuck;
                    }
                }
            }
            () = sleep_until(deadline) => break End::OwnerGone,
        }
    };
    match end {
        End::Client(reason) => {
            // Answer the client's close, and pass it on.
            let _ = timeout(limits.write, session.close(reason.clone())).await;
            let _ = timeout(limits.write, owner.send(Message::Close(reason))).await;
        }
        End::TooLarge => {
            let _ = timeout(
                limits.write,
                session.close(Some(CloseReason {
                    code: CloseCode::Other(close::TOO_LARGE),
                    description: Some("frame too large".into()),
                })),
            )
            .await;
            let _ = timeout(limits.write, owner.send(Message::Close(None))).await;
        }
        End::Owner(reason) => {
            let _ = timeout(limits.write, session.close(reason)).await;
        }
        End::OwnerGone => {
            let _ = timeout(limits.write, owner.close()).await;
            let _ = timeout(
                limits.write,
                session.close(Some(CloseReason {
                    code: CloseCode::Other(close::MOVED),
                    description: Some("this board's server went away; reconnecting".into()),
                })),
            )
            .await;
        }
        End::ClientStuck => {
            let _ = timeout(limits.write, owner.send(Message::Close(None))).await;
        }
        End::Feed(code) => {
            let _ = timeout(limits.write, owner.send(Message::Close(None))).await;
            let description = if code == close::LAGGING {
                "too far behind; reconnect to catch up"
            } else {
                "the live feed was interrupted; reconnecting"
            };
            let _ = timeout(
                limits.write,
                session.close(Some(CloseReason {
                    code: CloseCode::Other(code),
                    description: Some(description.into()),
                })),
            )
            .await;
        }
    }
}

/// Adds a fragment of the owner's message; the whole message once its last fragment came.
/// Fails on fragments out of order or a message over [`MAX_OWNER_MESSAGE`].
fn assemble(
    partial: &mut Option<(bool, BytesMut)>,
    item: Item,
) -> Result<Option<(bool, Bytes)>, ()> {
    let push = |partial: &mut Option<(bool, BytesMut)>, data: &[u8]| -> Result<(), ()> {
        let (_, buf) = partial.as_mut().ok_or(())?;
        if buf.len() + data.len() > MAX_OWNER_MESSAGE {
            return Err(());
        }
        buf.extend_from_slice(data);
        Ok(())
    };
    match item {
        Item::FirstText(data) if partial.is_none() => {
            *partial = Some((true, BytesMut::from(&data[..])));
            Ok(None)
        }
        Item::FirstBinary(data) if partial.is_none() => {
            *partial = Some((false, BytesMut::from(&data[..])));
            Ok(None)
        }
        Item::Continue(data) => push(partial, &data).map(|()| None),
        Item::Last(data) => {
            push(partial, &data)?;
            Ok(partial.take().map(|(text, buf)| (text, buf.freeze())))
        }
        _ => Err(()),
    }
}
