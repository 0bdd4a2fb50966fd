//! Validation of a `text` message: its size, length, color and position.

use super::error::{ErrorCode, ProtoError};
use super::validate::{validate_color, validate_cursor};
use crate::canvas::Text;
use crate::config::Config;

/// Checks a `text` message on a `canvas` (width, height) and builds the text to commit: the
/// size within `min_text_size..=max_text_size`, 1 to `max_text_chars` characters (`too_large`
/// past that), a valid color, and a finite top-left corner near the canvas.
pub fn validate_text(
    x: f32,
    y: f32,
    text: String,
    size: f32,
    color: &str,
    canvas: (u32, u32),
    config: &Config,
) -> Result<Text, ProtoError> {
    if !(size.is_finite() && size >= config.min_text_size && size <= config.max_text_size) {
        return Err(ProtoError::new(
            ErrorCode::BadMessage,
            format!(
                "size must be between {} and {} pixels",
                config.min_text_size, config.max_text_size
            ),
        ));
    }
    if text.is_empty() {
        return Err(ProtoError::new(
            ErrorCode::BadMessage,
            "text must not be empty",
        ));
    }
    if text.chars().count() > config.max_text_chars {
        return Err(ProtoError::new(
            ErrorCode::TooLarge,
            format!("text may be at most {} characters", config.max_text_chars),
        ));
    }
    let color = validate_color(color)?;
    validate_cursor(x, y, canvas.0, canvas.1).map_err(|_| {
        ProtoError::new(
            ErrorCode::BadMessage,
            "text position must be finite and near the canvas",
        )
    })?;
    Ok(Text {
        x,
        y,
        text,
        size,
        color,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_come_from_the_config() {
        let c = Config::default();
        let check = |text: &str, size: f32| {
            validate_text(1.0, 2.0, text.to_owned(), size, "#000000", (100, 100), &c)
                .map_err(|e| e.code)
        };
        assert!(check("Hi", c.min_text_size).is_ok());
        assert!(check("Hi", c.max_text_size).is_ok());
        assert_eq!(
            check("Hi", c.min_text_size - 0.5).err(),
            Some(ErrorCode::BadMessage)
        );
        assert_eq!(check("", 32.0).err(), Some(ErrorCode::BadMessage));
        let long = "é".repeat(c.max_text_chars);
        assert!(
            check(&long, 32.0).is_ok(),
            "characters, not bytes, are counted"
        );
        assert_eq!(check(&(long + "x"), 32.0).err(), Some(ErrorCode::TooLarge));
    }
}
