//! A blocking writer whose bytes become a streamed HTTP body: a job on the blocking pool writes,
//! the response sends each chunk as it is full, and the job stops with an error as soon as the
//! client has gone away.

use std::io::Write;

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::sync::mpsc;

/// Bytes gathered before a chunk is sent.
const CHUNK: usize = 64 * 1024;
/// Chunks waiting to be sent: the writer waits (bounded memory) while the client is slow.
const QUEUED: usize = 4;

/// The writing end (blocking: use it off the async threads).
pub struct BodyWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: BytesMut,
}

/// A writer and the body stream it feeds.
pub fn body() -> (
    BodyWriter,
    impl Stream<Item = Result<Bytes, std::io::Error>> + 'static,
) {
    let (tx, rx) = mpsc::channel(QUEUED);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    (
        BodyWriter {
            tx,
            buf: BytesMut::with_capacity(CHUNK),
        },
        stream,
    )
}

impl BodyWriter {
    fn send(&mut self, chunk: Result<Bytes, std::io::Error>) -> std::io::Result<()> {
        self.tx.blocking_send(chunk).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }

    /// A handle that can end the body with an error after the writer is gone (a failed job
    /// drops its writer with what it held).
    pub fn aborter(&self) -> Aborter {
        Aborter(self.tx.clone())
    }
}

/// Ends a body with an error, so the client sees a cut response rather than a complete but
/// wrong one. Dropping it unused lets the body end normally.
pub struct Aborter(mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Aborter {
    /// Cuts the body.
    pub fn abort(self, message: String) {
        let _ = self.0.blocking_send(Err(std::io::Error::other(message)));
    }
}

impl Write for BodyWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = self.buf.split().freeze();
        self.send(Ok(chunk))
    }
}
