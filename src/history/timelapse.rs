//! A timelapse: the board's history as an animated PNG, frames at evenly spaced seqs, rendered
//! in one forward pass over the ops (a [`Cursor`] that jumps ahead to keyframes) and written out
//! as they come, so memory holds a few canvases and two frames whatever the number of ops or
//! frames.

use std::io::Write;

use super::apng::ApngWriter;
use super::{Cursor, HistoryError};
use crate::canvas::Rgba;
use crate::config::Config;
use crate::meta::RoomMeta;
use crate::store::HistoryRead;

/// Frames when none are asked for.
pub const DEFAULT_FRAMES: u32 = 120;
/// Frames a second when no duration is asked for (120 frames: 10 s).
pub const DEFAULT_FPS: f32 = 12.0;
/// Scale when none is asked for.
pub const DEFAULT_SCALE: f32 = 0.5;
/// Longest a timelapse may play, in seconds.
pub const MAX_DURATION: f32 = 600.0;

/// What to render.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timelapse {
    /// First seq (default: where the kept history starts).
    pub from: Option<u64>,
    /// Last seq (default: the latest).
    pub to: Option<u64>,
    /// Frames (fewer when the range has fewer seqs).
    pub frames: u32,
    /// How long it plays, in seconds (default: 12 frames a second).
    pub duration: Option<f32>,
    /// Scale of each frame, 0.1 to 4.
    pub scale: f32,
    /// Background under the canvas (`None`: transparent).
    pub background: Option<Rgba>,
}

impl Timelapse {
    /// Checks the request against the limits in `config`; the error says which value is wrong.
    pub fn check(&self, config: &Config) -> Result<(), String> {
        if self.frames == 0 || self.frames > config.max_timelapse_frames {
            return Err(format!(
                "frames must be from 1 to {}",
                config.max_timelapse_frames
            ));
        }
        if !(0.1..=4.0).contains(&self.scale) {
            return Err("scale must be a number from 0.1 to 4".into());
        }
        if let Some(d) = self.duration {
            if !(d.is_finite() && (0.1..=MAX_DURATION).contains(&d)) {
                return Err(format!(
                    "duration must be from 0.1 to {MAX_DURATION} seconds"
                ));
            }
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return Err("from must not be after to".into());
            }
        }
        Ok(())
    }
}

/// The seqs of `frames` frames spread evenly from `from` to `to`, both included, each once.
pub fn frame_seqs(from: u64, to: u64, frames: u32) -> Vec<u64> {
    let n = u64::from(frames.max(1));
    if n == 1 {
        return vec![to];
    }
    let span = to - from;
    let mut seqs: Vec<u64> = (0..n)
        .map(|i| from + (u128::from(span) * u128::from(i) / u128::from(n - 1)) as u64)
        .collect();
    seqs.dedup();
    seqs
}

/// What a timelapse will hold, known before any frame is rendered (so an HTTP answer can give
/// it in headers and refuse bad ranges before it starts streaming).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The seq of each frame, ascending.
    pub seqs: Vec<u64>,
    /// Frame size.
    pub width: u32,
    /// Frame size.
    pub height: u32,
    /// How long each frame shows, in milliseconds.
    pub delay_ms: u16,
}

impl Plan {
    /// Number of frames.
    pub fn frames(&self) -> u32 {
        self.seqs.len() as u32
    }

    /// First seq shown.
    pub fn from(&self) -> u64 {
        self.seqs.first().copied().unwrap_or(0)
    }

    /// Last seq shown.
    pub fn to(&self) -> u64 {
        self.seqs.last().copied().unwrap_or(0)
    }
}

/// Plans the timelapse of the room: `OutOfRange` when `from` or `to` is outside the kept
/// history. Blocking (reads the store).
pub fn plan(
    conn: &dyn HistoryRead,
    meta: &RoomMeta,
    request: &Timelapse,
) -> Result<Plan, HistoryError> {
    let bounds = conn.bounds(meta.id)?.ok_or(HistoryError::NotFound)?;
    let from = request.from.unwrap_or(bounds.from);
    let to = request.to.unwrap_or(bounds.seq);
    for seq in [from, to] {
        if seq < bounds.from || seq > bounds.seq {
            return Err(HistoryError::OutOfRange {
                seq,
                from: bounds.from,
                last: bounds.seq,
            });
        }
    }
    let seqs = frame_seqs(from, to.max(from), request.frames);
    let frames = seqs.len() as f32;
    let duration = request.duration.unwrap_or(frames / DEFAULT_FPS).max(0.1);
    let delay_ms = ((duration * 1000.0 / frames).round() as u32).clamp(10, 65_535) as u16;
    let side = |v: u32| ((v as f32 * request.scale).round() as u32).max(1);
    Ok(Plan {
        seqs,
        width: side(meta.width),
        height: side(meta.height),
        delay_ms,
    })
}

/// Renders the planned timelapse into `out` frame by frame, in one pass over the ops, and
/// returns `out`. Blocking and CPU-heavy: call from the blocking pool. A write error (the
/// client went away, say) stops it.
pub fn render<W: Write + Send + 'static>(
    conn: &dyn HistoryRead,
    meta: &RoomMeta,
    config: &Config,
    request: &Timelapse,
    plan: &Plan,
    out: W,
) -> Result<W, HistoryError> {
    let failed = |e: super::apng::ApngError| HistoryError::Render(e.to_string());
    let mut apng = ApngWriter::new(out, plan.width, plan.height, plan.frames(), plan.delay_ms)
        .map_err(failed)?;
    let mut cursor = Cursor::open(conn, meta, config, plan.from())?;
    for &seq in &plan.seqs {
        cursor.advance(seq)?;
        let frame = cursor
            .canvas()
            .snapshot()
            .render(request.background, request.scale)
            .ok_or_else(|| HistoryError::Render("not enough memory for a timelapse frame".into()))?
            .take_demultiplied();
        apng.push(&frame).map_err(failed)?;
    }
    apng.finish().map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_spread_evenly_and_once() {
        assert_eq!(frame_seqs(0, 10, 3), vec![0, 5, 10]);
        assert_eq!(frame_seqs(0, 2, 120), vec![0, 1, 2]);
        assert_eq!(frame_seqs(7, 7, 5), vec![7]);
        assert_eq!(frame_seqs(0, 99, 1), vec![99]);
        let many = frame_seqs(0, 100_000, 120);
        assert_eq!(many.len(), 120);
        assert_eq!((many[0], many[119]), (0, 100_000));
    }
}
