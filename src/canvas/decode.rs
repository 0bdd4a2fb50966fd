//! Decoding uploaded images safely: the format is told from the bytes (never from a name or a
//! header the client chose), the size is read from the image's header before any pixel is
//! decoded, and the decoder runs under [`image::Limits`], so a decompression bomb (a tiny file
//! declaring a huge image) is refused before it can allocate.
//!
//! PNG, JPEG, GIF (its first frame) and WebP are accepted. Synchronous and CPU-heavy: call it
//! from the blocking pool.

use std::io::Cursor;

use image::{ImageError, ImageFormat, ImageReader, Limits, RgbaImage};

/// Why an upload is not a usable image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not a PNG, JPEG, GIF or WebP file.
    #[error("this is not a PNG, JPEG, GIF or WebP image")]
    NotAnImage,
    /// The header declares more pixels than allowed (or a side over what a decoder may hold).
    #[error("the image is {width}x{height}, more than the limit of {max} pixels")]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The limit, in pixels.
        max: u64,
    },
    /// The file starts like an image but cannot be decoded (truncated or corrupt).
    #[error("the image cannot be decoded (truncated or corrupt): {0}")]
    Broken(String),
}

/// A reader for a supported format, told from the bytes.
fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, DecodeError> {
    let format = image::guess_format(bytes).map_err(|_| DecodeError::NotAnImage)?;
    if !matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP
    ) {
        return Err(DecodeError::NotAnImage);
    }
    Ok(ImageReader::with_format(Cursor::new(bytes), format))
}

/// The image's width and height from its header alone, refused when over `max_pixels`.
pub fn dimensions(bytes: &[u8], max_pixels: u64) -> Result<(u32, u32), DecodeError> {
    let (width, height) = reader(bytes)?
        .into_dimensions()
        .map_err(|e| DecodeError::Broken(e.to_string()))?;
    if width == 0 || height == 0 {
        return Err(DecodeError::Broken("the image has no pixels".into()));
    }
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(DecodeError::TooManyPixels {
            width,
            height,
            max: max_pixels,
        });
    }
    Ok((width, height))
}

/// Decodes the whole image (the first frame of a GIF) to straight-alpha RGBA8, refusing any
/// image over `max_pixels` before decoding and holding the decoder to that size.
pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<RgbaImage, DecodeError> {
    let (width, height) = dimensions(bytes, max_pixels)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // The decoded image at up to 16 bytes a pixel (32-bit float RGBA), plus a little working room.
    limits.max_alloc = Some(max_pixels.saturating_mul(16).saturating_add(1 << 20));
    let mut reader = reader(bytes)?;
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        ImageError::Limits(_) => DecodeError::TooManyPixels {
            width,
            height,
            max: max_pixels,
        },
        other => DecodeError::Broken(other.to_string()),
    })?;
    Ok(image.into_rgba8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = RgbaImage::from_pixel(width, height, image::Rgba([10, 20, 30, 255]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).expect("encodes");
        out.into_inner()
    }

    #[test]
    fn decodes_a_png_and_reads_its_size() {
        let bytes = png(7, 5);
        assert_eq!(dimensions(&bytes, 100), Ok((7, 5)));
        let img = decode(&bytes, 100).expect("decodes");
        assert_eq!(img.dimensions(), (7, 5));
        assert_eq!(img.get_pixel(3, 3).0, [10, 20, 30, 255]);
    }

    #[test]
    fn decodes_jpeg_webp_and_the_first_frame_of_a_gif() {
        use image::codecs::gif::GifEncoder;
        use image::{Delay, Frame};
        let img = RgbaImage::from_pixel(12, 8, image::Rgba([200, 30, 30, 255]));
        for format in [ImageFormat::Jpeg, ImageFormat::WebP] {
            let mut out = Cursor::new(Vec::new());
            let encoded = if format == ImageFormat::Jpeg {
                image::DynamicImage::ImageRgba8(img.clone())
                    .to_rgb8()
                    .write_to(&mut out, format)
            } else {
                img.write_to(&mut out, format)
            };
            encoded.expect("encodes");
            let back = decode(out.get_ref(), 1000).expect("decodes");
            assert_eq!(back.dimensions(), (12, 8), "{format:?}");
            let p = back.get_pixel(6, 4).0;
            assert!(p[0] > 180 && p[1] < 60 && p[3] == 255, "{format:?}: {p:?}");
        }
        let mut gif = Vec::new();
        {
            let mut encoder = GifEncoder::new(&mut gif);
            let blue = RgbaImage::from_pixel(12, 8, image::Rgba([30, 30, 200, 255]));
            for frame in [img.clone(), blue] {
                let delay = Delay::from_numer_denom_ms(100, 1);
                encoder
                    .encode_frame(Frame::from_parts(frame, 0, 0, delay))
                    .expect("encodes");
            }
        }
        let first = decode(&gif, 1000).expect("decodes");
        let p = first.get_pixel(6, 4).0;
        assert!(p[0] > 180 && p[2] < 60, "the first frame, red: {p:?}");
    }

    #[test]
    fn refuses_what_is_not_a_whole_image() {
        assert_eq!(decode(b"hello, world", 100), Err(DecodeError::NotAnImage));
        let bytes = png(40, 40);
        assert!(matches!(
            decode(&bytes[..bytes.len() / 2], 10_000),
            Err(DecodeError::Broken(_))
        ));
        assert!(matches!(
            decode(&bytes, 1000),
            Err(DecodeError::TooManyPixels {
                width: 40,
                height: 40,
                max: 1000
            })
        ));
    }
}
