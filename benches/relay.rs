//! Relay: the baseline server of the fan-out benchmark (`benches/fanout.rs`, `scripts/bench`).
//! A minimal actix-ws relay that forwards every text message, verbatim, to every other socket:
//! no parsing, no state, no rooms, one write per message. It is what the stack does with the
//! least work, set up fairly (`tcp_nodelay`, one worker per core, bounded outboxes), so it is
//! the ceiling inkroom is measured against.
//!
//! Run by hand: `cargo bench --bench relay -- --addr 127.0.0.1:9000` (port 0 picks a free port);
//! it prints `relay listening on http://ADDR` once it accepts connections. Routes: `GET /ws`
//! (the WebSocket) and `GET /healthz`. On SIGINT or SIGTERM it prints how many messages it
//! dropped because a socket's outbox was full.
//!
//! The structure is the actix-ws chat example's, with its known weakness fixed: a broadcast never
//! awaits a member. Each socket has a bounded outbox; the broadcast `try_send`s into it and drops
//! the message (counting it) when it is full; a writer task per socket owns the `Session` and
//! writes each message with its own `session.text(..)`.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use actix_ws::{Message, MessageStream, Session};
use bytestring::ByteString;
use tokio::sync::mpsc;

/// Messages a socket may have queued before further ones to it are dropped (inkroom's outbox
/// holds 1,024 messages too).
const OUTBOX: usize = 1024;

/// Largest frame accepted from a client (inkroom's limit).
const MAX_FRAME: usize = 64 * 1024;

/// Every connected socket, shared by all workers.
#[derive(Default)]
struct Hub {
    /// Socket id -> the sending half of its outbox; the socket's writer task holds the receiver.
    members: RwLock<HashMap<u64, mpsc::Sender<ByteString>>>,
    /// The next socket id.
    next: AtomicU64,
    /// Messages dropped because the receiver's outbox was full.
    dropped: AtomicU64,
}

impl Hub {
    /// Registers a socket's outbox and returns its id.
    fn join(&self, tx: mpsc::Sender<ByteString>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.members
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, tx);
        id
    }

    /// Forgets a socket; dropping its sender ends its writer task once the outbox is written.
    fn leave(&self, id: u64) {
        self.members
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    /// Queues `text` for every socket but `from`; a cheap clone (a reference count) per socket.
    fn broadcast(&self, from: u64, text: &ByteString) {
        let members = self.members.read().unwrap_or_else(PoisonError::into_inner);
        for (&id, tx) in members.iter() {
            if id == from {
                continue;
            }
            if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(text.clone()) {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// `GET /ws`: upgrades, registers the socket and starts its reader and writer tasks.
async fn websocket(
    req: HttpRequest,
    body: web::Payload,
    hub: web::Data<Hub>,
) -> actix_web::Result<HttpResponse> {
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let (outbox_tx, outbox_rx) = mpsc::channel(OUTBOX);
    let id = hub.join(outbox_tx);
    actix_web::rt::spawn(write(session.clone(), outbox_rx));
    actix_web::rt::spawn(read(
        hub.into_inner(),
        id,
        session,
        stream.max_frame_size(MAX_FRAME),
    ));
    Ok(response)
}

/// Reads the client's frames and broadcasts each text message; cleans up in one place.
async fn read(hub: std::sync::Arc<Hub>, id: u64, mut session: Session, mut stream: MessageStream) {
    let reason = loop {
        match stream.recv().await {
            Some(Ok(Message::Text(text))) => hub.broadcast(id, &text),
            Some(Ok(Message::Ping(bytes))) => {
                if session.pong(&bytes).await.is_err() {
                    break None;
                }
            }
            Some(Ok(Message::Close(reason))) => break reason,
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break None,
        }
    };
    hub.leave(id);
    let _ = session.close(reason).await;
}

/// Owns the socket's writes: one `session.text` per queued message, until the outbox closes.
async fn write(mut session: Session, mut outbox_rx: mpsc::Receiver<ByteString>) {
    while let Some(text) = outbox_rx.recv().await {
        if session.text(text).await.is_err() {
            break;
        }
    }
}

/// `GET /healthz`: 200 while the relay runs.
async fn health() -> &'static str {
    "ok"
}

/// Reads `--addr HOST:PORT` (default `127.0.0.1:0`); ignores `--bench`, which `cargo bench` adds.
fn addr_arg() -> SocketAddr {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--addr")
        .and_then(|i| args.get(i + 1))
        .map_or("127.0.0.1:0", String::as_str)
        .parse()
        .expect("--addr must be HOST:PORT")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind(addr_arg())?;
    let local = listener.local_addr()?;
    let hub = web::Data::new(Hub::default());
    let app_hub = hub.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_hub.clone())
            .route("/ws", web::get().to(websocket))
            .route("/healthz", web::get().to(health))
    })
    .tcp_nodelay(true)
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    println!("relay listening on http://{local}");
    server.await?;
    eprintln!(
        "relay: {} messages dropped on full outboxes",
        hub.dropped.load(Ordering::Relaxed)
    );
    Ok(())
}
