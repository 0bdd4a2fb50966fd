//! A timelapse: the board's history as an animated PNG, frames at evenly spaced seqs, rendered
//! in one forward pass over the ops (a [`Cursor`] that jumps ahead to keyframes), so memory
//! holds a few canvases and two frames whatever the number of ops.

use rusqlite::Connection;

use super::apng::ApngWriter;
use super::{Cursor, HistoryError};
use crate::canvas::Rgba;
use crate::config::Config;
use crate::meta::RoomMeta;
use crate::store::history as stored;

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

/// What was rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The APNG file.
    pub png: Vec<u8>,
    /// Frames in it.
    pub frames: u32,
    /// Its size.
    pub width: u32,
    /// Its size.
    pub height: u32,
    /// First and last seq shown.
    pub from: u64,
    /// First and last seq shown.
    pub to: u64,
}

/// Renders the timelapse of the room. Blocking and CPU-heavy: call from the blocking pool.
/// `OutOfRange` when `from` or `to` is outside the kept history.
pub fn render(
    conn: &Connection,
    meta: &RoomMeta,
    config: &Config,
    request: &Timelapse,
) -> Result<Rendered, HistoryError> {
    let bounds = stored::bounds(conn, meta.id)?.ok_or(HistoryError::NotFound)?;
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
    let frames = seqs.len() as u32;
    let duration = request
        .duration
        .unwrap_or(frames as f32 / DEFAULT_FPS)
        .max(0.1);
    let delay_ms = ((duration * 1000.0 / frames as f32).round() as u32).clamp(10, 65_535) as u16;
    let mut cursor = Cursor::open(conn, meta, config, seqs[0])?;
    let (width, height) = cursor.canvas().snapshot().export_size(request.scale);
    let too_big = || HistoryError::Render("not enough memory for a timelapse frame".into());
    let failed = |e: super::apng::ApngError| HistoryError::Render(e.to_string());
    let mut out = ApngWriter::new(Vec::new(), width, height, frames, delay_ms).map_err(failed)?;
    for &seq in &seqs {
        cursor.advance(seq)?;
        let frame = cursor
            .canvas()
            .snapshot()
            .render(request.background, request.scale)
            .ok_or_else(too_big)?
            .take_demultiplied();
        out.push(&frame).map_err(failed)?;
    }
    let png = out.finish().map_err(failed)?;
    Ok(Rendered {
        png,
        frames,
        width,
        height,
        from,
        to,
    })
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
