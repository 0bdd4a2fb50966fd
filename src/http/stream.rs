//! A blocking writer whose bytes become a streamed HTTP body: a job on the blocking pool writes,
//! the response sends each chunk as it is full, and the job stops with an error as soon as the
//! client has gone away. A body its job did not complete ends cut.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
    /// Set by [`BodyWriter::complete`]; otherwise the body ends cut.
    complete: Arc<AtomicBool>,
}

/// A writer and the body stream it feeds. The body ends cut (an error: the client sees the
/// connection end without the last chunk) unless the job calls [`BodyWriter::complete`]: a job
/// that fails or panics must never look like a complete answer.
pub fn body() -> (
    BodyWriter,
    impl Stream<Item = Result<Bytes, std::io::Error>> + 'static,
) {
    let (tx, rx) = mpsc::channel(QUEUED);
    let complete = Arc::new(AtomicBool::new(false));
    let done = Arc::clone(&complete);
    let stream = futures_util::stream::unfold(Some(rx), move |rx| {
        let done = Arc::clone(&done);
        async move {
            let mut rx = rx?;
            match rx.recv().await {
                Some(chunk) => Some((chunk, Some(rx))),
                None if done.load(Ordering::Acquire) => None,
                None => Some((
                    Err(std::io::Error::other("the job producing the body failed")),
                    None,
                )),
            }
        }
    });
    (
        BodyWriter {
            tx,
            buf: BytesMut::with_capacity(CHUNK),
            complete,
        },
        stream,
    )
}

impl BodyWriter {
    fn send(&mut self, chunk: Bytes) -> std::io::Result<()> {
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }

    /// Sends what is left and ends the body normally.
    pub fn complete(mut self) -> std::io::Result<()> {
        self.flush()?;
        self.complete.store(true, Ordering::Release);
        Ok(())
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
        self.send(chunk)
    }
}
