//! Animated PNG (APNG) encoding for timelapse export: RGBA frames in, one `.png` file out.
//!
//! The first frame is the full image (the default image is part of the animation, so viewers
//! without APNG support show it). Every later frame stores only the bounding rectangle of the
//! pixels that changed since the frame before it, placed at its offset with dispose op `None`
//! and blend op `Source`, so a timelapse of a few strokes a frame costs a few hundred bytes a
//! frame rather than a full image.
//!
//! Memory stays at one frame of our own (the previous frame, the base of the next diff) plus a
//! scratch buffer for the changed rectangle's rows; the animation is never held whole. The png
//! crate also buffers one compressed frame while it writes it.
//!
//! Synchronous and CPU-heavy: run it on the blocking pool.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use png::{BitDepth, BlendOp, ColorType, Compression, DisposeOp};

/// Bytes per RGBA8 pixel.
const BYTES_PER_PIXEL: usize = 4;

/// How many times viewers play the animation; 0 means forever.
const PLAYS: u32 = 0;

/// Why an animation could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ApngError {
    /// The animation has no pixels, or a frame would not fit in memory.
    #[error("an animation of {width}x{height} pixels is empty or too large")]
    InvalidSize {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },
    /// An animation must promise at least one frame.
    #[error("an animation needs at least one frame")]
    NoFrames,
    /// A pushed frame is not `width * height * 4` bytes long.
    #[error("a frame is {actual} bytes long, expected {expected} (width * height * 4)")]
    FrameLength {
        /// `width * height * 4`.
        expected: usize,
        /// Length of the pushed buffer.
        actual: usize,
    },
    /// More frames were pushed than promised to [`ApngWriter::new`].
    #[error("the animation promised {promised} frames and all of them were already pushed")]
    TooManyFrames {
        /// Frames promised to [`ApngWriter::new`].
        promised: u32,
    },
    /// [`ApngWriter::finish`] was called before every promised frame was pushed.
    #[error("the animation was finished after {pushed} of its {promised} promised frames")]
    TooFewFrames {
        /// Frames pushed.
        pushed: u32,
        /// Frames promised to [`ApngWriter::new`].
        promised: u32,
    },
    /// The png crate failed, most often because writing to the output failed.
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
}

/// Writes an animated PNG frame by frame, each frame stored as only the rectangle that changed
/// since the previous one.
///
/// A frame that changes nothing is stored as a 1x1 rectangle that copies the unchanged top-left
/// pixel: every pushed frame stays a frame of its own, so the frame count promised up front and
/// every frame's timing hold. (Lengthening the previous frame's delay instead is not possible
/// while streaming: its `fcTL` chunk, and the frame count in `acTL`, are already written.)
///
/// After any error the output is incomplete; drop the writer.
pub struct ApngWriter<W: Write> {
    /// The png crate's writer. It owns a [`SharedSink`] handle on the output because it has no
    /// way to hand its writer back when it finishes.
    png: png::Writer<SharedSink<W>>,
    /// Our handle on the output, taken back in [`ApngWriter::finish`] once `png` is gone.
    out: Arc<Mutex<W>>,
    /// Animation width in pixels.
    width: u32,
    /// Bytes in one frame: `width * height * 4`.
    frame_len: usize,
    /// Frames promised to [`ApngWriter::new`] (written into the `acTL` chunk).
    promised: u32,
    /// Frames pushed so far.
    pushed: u32,
    /// The last frame pushed, the base the next frame is diffed against; empty before the first.
    previous: Vec<u8>,
    /// Reused buffer for the changed rectangle's rows when it is narrower than the frame.
    scratch: Vec<u8>,
}

impl<W: Write> ApngWriter<W> {
    /// Starts an animation of `width` x `height` pixels and writes its header to `out`.
    ///
    /// `frames`: exact number of frames that will be pushed (APNG needs it up front), at least 1.
    /// `delay_ms`: display time of each frame, in milliseconds (0: as fast as the viewer can).
    /// The animation loops forever. Compression is the png crate's fast setting (fdeflate,
    /// adaptive filter per row).
    pub fn new(
        out: W,
        width: u32,
        height: u32,
        frames: u32,
        delay_ms: u16,
    ) -> Result<Self, ApngError> {
        let frame_len = (width as usize)
            .checked_mul(height as usize)
            .and_then(|pixels| pixels.checked_mul(BYTES_PER_PIXEL))
            .filter(|&len| len > 0)
            .ok_or(ApngError::InvalidSize { width, height })?;
        if frames == 0 {
            return Err(ApngError::NoFrames);
        }
        let out = Arc::new(Mutex::new(out));
        let mut encoder = png::Encoder::new(SharedSink(Arc::clone(&out)), width, height);
        encoder.set_color(ColorType::Rgba);
        encoder.set_depth(BitDepth::Eight);
        encoder.set_compression(Compression::Fast);
        encoder.set_animated(frames, PLAYS)?;
        encoder.set_frame_delay(delay_ms, 1000)?;
        encoder.set_dispose_op(DisposeOp::None)?;
        encoder.set_blend_op(BlendOp::Source)?;
        encoder.validate_sequence(true);
        let png = encoder.write_header()?;
        Ok(ApngWriter {
            png,
            out,
            width,
            frame_len,
            promised: frames,
            pushed: 0,
            previous: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// Pushes the next frame: straight-alpha (not premultiplied) RGBA8 bytes, row by row,
    /// `width * height * 4` long.
    pub fn push(&mut self, rgba: &[u8]) -> Result<(), ApngError> {
        if self.pushed == self.promised {
            return Err(ApngError::TooManyFrames {
                promised: self.promised,
            });
        }
        if rgba.len() != self.frame_len {
            return Err(ApngError::FrameLength {
                expected: self.frame_len,
                actual: rgba.len(),
            });
        }
        if self.pushed == 0 {
            // The full-size frame control set up by `set_animated` applies.
            self.png.write_image_data(rgba)?;
            self.previous = rgba.to_vec();
        } else {
            let rect = changed_rect(&self.previous, rgba, self.width).unwrap_or(Rect::UNCHANGED);
            self.write_rect(rgba, rect)?;
            self.copy_into_previous(rgba, rect);
        }
        self.pushed += 1;
        Ok(())
    }

    /// Finishes the file after the promised number of frames and returns the output.
    ///
    /// Errors if fewer frames were pushed than promised.
    pub fn finish(self) -> Result<W, ApngError> {
        if self.pushed < self.promised {
            return Err(ApngError::TooFewFrames {
                pushed: self.pushed,
                promised: self.promised,
            });
        }
        self.png.finish()?;
        let Ok(out) = Arc::try_unwrap(self.out) else {
            unreachable!("the png writer, the only other owner of the output, was consumed");
        };
        // A poisoned lock only means a write panicked earlier; the file was finished since.
        Ok(out.into_inner().unwrap_or_else(PoisonError::into_inner))
    }

    /// Writes `rect` of `rgba` as the next animation frame at its offset.
    fn write_rect(&mut self, rgba: &[u8], rect: Rect) -> Result<(), ApngError> {
        // The png crate checks the position against the current size and the size against the
        // current position, so go through (0, 0) to move between any two rectangles.
        self.png.reset_frame_position()?;
        self.png.set_frame_dimension(rect.width, rect.height)?;
        self.png.set_frame_position(rect.x, rect.y)?;
        let stride = self.width as usize * BYTES_PER_PIXEL;
        if rect.width == self.width {
            // Whole rows are contiguous in the frame: no copy needed.
            let start = rect.y as usize * stride;
            let end = start + rect.height as usize * stride;
            self.png.write_image_data(&rgba[start..end])?;
        } else {
            self.scratch.clear();
            for row in rect.rows(stride) {
                self.scratch.extend_from_slice(&rgba[row]);
            }
            self.png.write_image_data(&self.scratch)?;
        }
        Ok(())
    }

    /// Makes `previous` equal to `rgba`: only `rect` differs between them.
    fn copy_into_previous(&mut self, rgba: &[u8], rect: Rect) {
        let stride = self.width as usize * BYTES_PER_PIXEL;
        for row in rect.rows(stride) {
            self.previous[row.clone()].copy_from_slice(&rgba[row]);
        }
    }
}

/// A rectangle of pixels within the animation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rect {
    /// Left column.
    x: u32,
    /// Top row.
    y: u32,
    /// Width in pixels, at least 1.
    width: u32,
    /// Height in pixels, at least 1.
    height: u32,
}

impl Rect {
    /// What a frame that changes nothing stores: the top-left pixel, unchanged.
    const UNCHANGED: Rect = Rect {
        x: 0,
        y: 0,
        width: 1,
        height: 1,
    };

    /// The byte range of each of the rectangle's rows in a frame with `stride` bytes a row.
    fn rows(self, stride: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
        let left = self.x as usize * BYTES_PER_PIXEL;
        let len = self.width as usize * BYTES_PER_PIXEL;
        let top = self.y as usize;
        (top..top + self.height as usize).map(move |y| {
            let start = y * stride + left;
            start..start + len
        })
    }
}

/// The bounding rectangle of the pixels that differ between two frames of `width` pixels a
/// row, or `None` if they are equal.
fn changed_rect(before: &[u8], after: &[u8], width: u32) -> Option<Rect> {
    let stride = width as usize * BYTES_PER_PIXEL;
    let mut changed = before
        .chunks_exact(stride)
        .zip(after.chunks_exact(stride))
        .enumerate()
        .filter_map(|(y, (b, a))| row_span(b, a).map(|span| (y, span)));
    let (top, (mut left, mut right)) = changed.next()?;
    let mut bottom = top;
    for (y, (l, r)) in changed {
        bottom = y;
        left = left.min(l);
        right = right.max(r);
    }
    // Every value is a pixel index below `width` or `height`, both u32.
    Some(Rect {
        x: left as u32,
        y: top as u32,
        width: (right - left + 1) as u32,
        height: (bottom - top + 1) as u32,
    })
}

/// The first and last pixel (inclusive) that differ between two rows, or `None` if equal.
fn row_span(before: &[u8], after: &[u8]) -> Option<(usize, usize)> {
    if before == after {
        return None;
    }
    let pixels = || {
        before
            .chunks_exact(BYTES_PER_PIXEL)
            .zip(after.chunks_exact(BYTES_PER_PIXEL))
    };
    let first = pixels().position(|(b, a)| b != a)?;
    let last = pixels().rposition(|(b, a)| b != a)?;
    Some((first, last))
}

/// The png writer's handle on the output, shared with [`ApngWriter`] so that the output can be
/// returned after the png writer (which never gives its writer back) has finished.
struct SharedSink<W>(Arc<Mutex<W>>);

impl<W: Write> SharedSink<W> {
    /// Runs `f` on the output; a write that panicked earlier makes every later one fail.
    fn with<T>(&self, f: impl FnOnce(&mut W) -> io::Result<T>) -> io::Result<T> {
        let mut out = self
            .0
            .lock()
            .map_err(|_| io::Error::other("an earlier write to the output panicked"))?;
        f(&mut out)
    }
}

impl<W: Write> Write for SharedSink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.with(|out| out.write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.with(|out| out.write_all(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.with(|out| out.flush())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::time::Duration;

    use image::codecs::png::PngDecoder;
    use image::AnimationDecoder;

    use super::*;

    const W: u32 = 64;
    const H: u32 = 48;
    const DELAY_MS: u16 = 120;

    /// A straight-alpha background: a gradient with translucent and fully transparent pixels
    /// whose colour must survive (nothing may premultiply it away).
    fn background() -> Vec<u8> {
        let mut rgba = Vec::with_capacity(W as usize * H as usize * 4);
        for y in 0..H {
            for x in 0..W {
                let alpha = match (x + y) % 3 {
                    0 => 255,
                    1 => 128,
                    _ => 0,
                };
                rgba.extend_from_slice(&[(x * 4) as u8, (y * 5) as u8, 200, alpha]);
            }
        }
        rgba
    }

    /// Paints a `size` square at (`x`, `y`) in `color`.
    fn square(frame: &mut [u8], x: u32, y: u32, size: u32, color: [u8; 4]) {
        for py in y..y + size {
            for px in x..x + size {
                let i = (py * W + px) as usize * 4;
                frame[i..i + 4].copy_from_slice(&color);
            }
        }
    }

    /// A square moving, then growing and turning translucent, one unchanged frame, then a
    /// single pixel in the bottom-right corner.
    fn frames() -> Vec<Vec<u8>> {
        let bg = background();
        let mut frames = vec![bg.clone()];
        let mut f = bg.clone();
        square(&mut f, 4, 4, 8, [255, 0, 0, 255]);
        frames.push(f);
        let mut f = bg.clone();
        square(&mut f, 10, 6, 8, [255, 0, 0, 255]);
        frames.push(f);
        let mut f = bg.clone();
        square(&mut f, 10, 6, 16, [0, 90, 255, 100]);
        frames.push(f.clone());
        frames.push(f.clone());
        f[((H - 1) * W + W - 1) as usize * 4..].copy_from_slice(&[1, 2, 3, 4]);
        frames.push(f);
        frames
    }

    fn encode(frames: &[Vec<u8>]) -> Vec<u8> {
        let count = u32::try_from(frames.len()).expect("few test frames");
        let mut apng = ApngWriter::new(Vec::new(), W, H, count, DELAY_MS).expect("valid header");
        for frame in frames {
            apng.push(frame).expect("frame of the right length");
        }
        apng.finish().expect("all frames pushed")
    }

    /// Every frame the image crate composites equals the frame pushed, with the delay asked for.
    #[test]
    fn decoded_frames_equal_pushed_frames() {
        let frames = frames();
        let bytes = encode(&frames);
        let decoder = PngDecoder::new(Cursor::new(&bytes)).expect("a PNG");
        let decoded = decoder
            .apng()
            .expect("an APNG")
            .into_frames()
            .collect_frames()
            .expect("decodable frames");
        assert_eq!(decoded.len(), frames.len());
        for (i, (got, want)) in decoded.iter().zip(&frames).enumerate() {
            assert_eq!(got.buffer().dimensions(), (W, H), "frame {i}");
            assert!(got.buffer().as_raw() == want, "frame {i} differs");
            let delay = Duration::from(got.delay());
            assert_eq!(delay, Duration::from_millis(DELAY_MS.into()), "frame {i}");
        }
    }

    /// Each later frame is stored as its changed rectangle; an unchanged frame as one pixel.
    #[test]
    fn later_frames_store_only_the_changed_rectangle() {
        let bytes = encode(&frames());
        let mut reader = png::Decoder::new(Cursor::new(&bytes))
            .read_info()
            .expect("a PNG");
        let size = reader.output_buffer_size().expect("small image");
        let mut buf = vec![0; size];
        let mut rects = Vec::new();
        for _ in 0..frames().len() {
            reader.next_frame(&mut buf).expect("a frame");
            let fc = reader
                .info()
                .frame_control
                .expect("every frame has an fcTL");
            assert_eq!(fc.dispose_op, DisposeOp::None);
            assert_eq!(fc.blend_op, BlendOp::Source);
            rects.push((fc.x_offset, fc.y_offset, fc.width, fc.height));
        }
        let expected = vec![
            (0, 0, W, H),
            (4, 4, 8, 8),
            (4, 4, 14, 10),
            (10, 6, 16, 16),
            (0, 0, 1, 1),
            (W - 1, H - 1, 1, 1),
        ];
        assert_eq!(rects, expected);
    }

    /// A small change adds a little to the file, not another full frame.
    #[test]
    fn small_change_costs_far_less_than_a_full_frame() {
        // Noise, so that a full frame does not compress to nothing.
        let mut seed = 0x2545_f491_u32;
        let noise: Vec<u8> = (0..W * H * 4)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        let mut changed = noise.clone();
        square(&mut changed, 30, 20, 3, [9, 9, 9, 255]);
        let one = encode(std::slice::from_ref(&noise)).len();
        let two = encode(&[noise.clone(), changed]).len();
        let raw = noise.len();
        println!(
            "raw frame {raw} B, 1 frame {one} B, 2 frames {two} B (+{} B)",
            two - one
        );
        assert!(one > raw / 2, "noise should not compress much: {one} B");
        assert!(
            (two - one) * 20 < one,
            "delta frame too big: {one} -> {two} B"
        );
    }

    #[test]
    fn changed_rect_bounds_the_differences() {
        let a = background();
        assert_eq!(changed_rect(&a, &a, W), None);
        let mut b = a.clone();
        b[3] ^= 1; // alpha of (0, 0)
        let i = ((H - 1) * W + 5) as usize * 4;
        b[i] ^= 1; // red of (5, H - 1)
        let rect = changed_rect(&a, &b, W);
        let expected = Rect {
            x: 0,
            y: 0,
            width: 6,
            height: H,
        };
        assert_eq!(rect, Some(expected));
    }

    #[test]
    fn wrong_frame_length_is_refused() {
        let mut apng = ApngWriter::new(Vec::new(), W, H, 1, DELAY_MS).expect("valid header");
        let err = apng.push(&[0; 10]).expect_err("short frame");
        assert!(matches!(
            err,
            ApngError::FrameLength {
                expected: 12288,
                actual: 10
            }
        ));
        // The writer is still usable after a refused frame.
        apng.push(&background()).expect("right length");
        apng.finish().expect("all frames pushed");
    }

    #[test]
    fn finishing_early_is_refused() {
        let mut apng = ApngWriter::new(Vec::new(), W, H, 3, DELAY_MS).expect("valid header");
        apng.push(&background()).expect("right length");
        let err = apng.finish().expect_err("frames missing");
        assert!(matches!(
            err,
            ApngError::TooFewFrames {
                pushed: 1,
                promised: 3
            }
        ));
    }

    #[test]
    fn pushing_past_the_promise_is_refused() {
        let mut apng = ApngWriter::new(Vec::new(), W, H, 1, DELAY_MS).expect("valid header");
        apng.push(&background()).expect("first frame");
        let err = apng.push(&background()).expect_err("one frame promised");
        assert!(matches!(err, ApngError::TooManyFrames { promised: 1 }));
        apng.finish().expect("the promised frame was pushed");
    }

    #[test]
    fn empty_animations_are_refused() {
        let no_frames = ApngWriter::new(Vec::new(), W, H, 0, DELAY_MS);
        assert!(matches!(no_frames, Err(ApngError::NoFrames)));
        let no_pixels = ApngWriter::new(Vec::new(), 0, H, 1, DELAY_MS);
        assert!(matches!(no_pixels, Err(ApngError::InvalidSize { .. })));
    }
}
