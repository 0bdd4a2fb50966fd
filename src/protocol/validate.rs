//! Validation: a decoded [`ClientMsg`] becomes a [`Valid`] hello or [`Command`] once every value
//! in it is checked against the canvas and the configured limits. Nothing here depends on room
//! state (open strokes, roles, budgets): the room checks those.

use super::client::ClientMsg;
use super::command::{Command, Hello, PreviewShape, Valid};
use super::error::{ErrorCode, ProtoError};
use crate::canvas::{Fill, Placement, Rgba, Shape};
use crate::config::Config;

/// Parses `#rrggbb` or `#rrggbbaa` into a color.
pub fn parse_color(text: &str) -> Option<Rgba> {
    Rgba::from_hex(text)
}

/// Checks a flat point array: whole triples, finite, inside the allowed area, pressure in 0..1.
///
/// The allowed area is the canvas plus one canvas size on every side, so a stroke may leave the
/// canvas and come back; anything further out is a client bug and is refused.
pub fn validate_points(
    points: &[f32],
    width: u32,
    height: u32,
    config: &Config,
) -> Result<(), ProtoError> {
    if !points.len().is_multiple_of(3) {
        return Err(ProtoError::new(
            ErrorCode::BadMessage,
            "points must be [x, y, pressure] triples",
        ));
    }
    if points.len() / 3 > config.max_points_per_message {
        return Err(ProtoError::new(
            ErrorCode::TooLarge,
            format!(
                "at most {} points per message",
                config.max_points_per_message
            ),
        ));
    }
    let (w, h) = (width as f32, height as f32);
    for p in points.chunks_exact(3) {
        let (x, y, pressure) = (p[0], p[1], p[2]);
        if !(x.is_finite() && y.is_finite() && pressure.is_finite()) {
            return Err(ProtoError::new(
                ErrorCode::BadMessage,
                "points must be finite numbers",
            ));
        }
        if x < -w || x > 2.0 * w || y < -h || y > 2.0 * h {
            return Err(ProtoError::new(
                ErrorCode::BadMessage,
                format!("point ({x}, {y}) is too far outside the {width}x{height} canvas"),
            ));
        }
        if !(0.0..=1.0).contains(&pressure) {
            return Err(ProtoError::new(
                ErrorCode::BadMessage,
                "pressure must be between 0 and 1",
            ));
        }
    }
    Ok(())
}

/// Trims a display name, drops control characters, shortens it, and falls back to "Guest".
pub fn clean_name(name: Option<&str>, max_chars: usize) -> String {
    let cleaned: String = name
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "Guest".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// Checks and parses a `#rrggbb` / `#rrggbbaa` color.
pub fn validate_color(color: &str) -> Result<Rgba, ProtoError> {
    parse_color(color)
        .ok_or_else(|| ProtoError::new(ErrorCode::BadMessage, "color must be #rrggbb or #rrggbbaa"))
}

/// Checks a client's op id: 1 to 64 characters of `A-Za-z0-9_-`.
pub fn validate_op_id(op: &str) -> Result<(), ProtoError> {
    let ok = (1..=64).contains(&op.len())
        && op
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ProtoError::new(
            ErrorCode::BadMessage,
            "op must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -",
        ))
    }
}

/// Checks a stroke's width against the configured range.
pub fn validate_width(width: f32, config: &Config) -> Result<(), ProtoError> {
    if width.is_finite() && width >= 0.5 && width <= config.max_stroke_width {
        Ok(())
    } else {
        Err(ProtoError::new(
            ErrorCode::BadMessage,
            format!(
                "width must be between 0.5 and {} pixels",
                config.max_stroke_width
            ),
        ))
    }
}

/// Checks a position: finite and within the same area as points.
pub fn validate_cursor(x: f32, y: f32, width: u32, height: u32) -> Result<(), ProtoError> {
    let (w, h) = (width as f32, height as f32);
    if x.is_finite() && y.is_finite() && x >= -w && x <= 2.0 * w && y >= -h && y <= 2.0 * h {
        Ok(())
    } else {
        Err(ProtoError::new(
            ErrorCode::BadMessage,
            "cursor must be finite and near the canvas",
        ))
    }
}

/// Checks a visible rectangle: finite, of positive size at most 16 times the canvas, and
/// overlapping the area 16 canvases around it.
pub fn validate_view(
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    width: u32,
    height: u32,
) -> Result<(), ProtoError> {
    let (cw, ch) = (width as f32 * 16.0, height as f32 * 16.0);
    let ok = [x, y, w, h].iter().all(|v| v.is_finite())
        && w > 0.0
        && h > 0.0
        && w <= cw
        && h <= ch
        && x >= -cw
        && x <= cw
        && y >= -ch
        && y <= ch;
    if ok {
        Ok(())
    } else {
        Err(ProtoError::new(
            ErrorCode::BadMessage,
            "view must be a finite rectangle of positive size near the canvas",
        ))
    }
}

/// Checks an image op's upload id (1-64 of `A-Za-z0-9_-`) and rectangle: finite, whole pixels
/// once rounded, inside the area strokes may reach (one canvas size around the canvas), and
/// covering at most `Config::max_image_pixels`.
pub fn validate_image(
    image: &str,
    rect: (f32, f32, f32, f32),
    width: u32,
    height: u32,
    config: &Config,
) -> Result<Placement, ProtoError> {
    let id_ok = !image.is_empty()
        && image.len() <= 64
        && image
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !id_ok {
        return Err(ProtoError::new(
            ErrorCode::BadMessage,
            "image must be the id an upload answered",
        ));
    }
    let bad = || {
        ProtoError::new(
            ErrorCode::BadMessage,
            format!(
                "an image's rectangle must be finite, at least 1x1, near the {width}x{height} \
                 canvas and at most {} pixels",
                config.max_image_pixels
            ),
        )
    };
    let at = Placement::from_rect(rect.0, rect.1, rect.2, rect.3).ok_or_else(bad)?;
    let (w, h) = (i64::from(width), i64::from(height));
    let (x0, y0) = (i64::from(at.x), i64::from(at.y));
    let inside = x0 >= -w
        && y0 >= -h
        && x0 + i64::from(at.width) <= 2 * w
        && y0 + i64::from(at.height) <= 2 * h;
    if !inside || at.pixels() > config.max_image_pixels {
        return Err(bad());
    }
    Ok(at)
}

/// Checks a `user` id: 1-64 characters of `A-Za-z0-9_-`.
fn validate_user(user: Option<String>) -> Result<Option<String>, ProtoError> {
    match user {
        Some(u)
            if u.is_empty()
                || u.len() > 64
                || !u
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Err(ProtoError::new(
                ErrorCode::BadMessage,
                "user must be 1-64 characters of A-Z, a-z, 0-9, - and _",
            ))
        }
        other => Ok(other),
    }
}

/// Checks everything about a message that does not depend on room state (widths, colors,
/// points, positions, names) for a canvas of `width` x `height`, and turns it into typed values.
pub fn validate(
    msg: ClientMsg,
    width: u32,
    height: u32,
    config: &Config,
) -> Result<Valid, ProtoError> {
    let command = match msg {
        ClientMsg::Hello {
            name,
            key,
            user,
            since,
            batch,
        } => {
            return Ok(Valid::Hello(Hello {
                name: clean_name(name.as_deref(), config.max_member_name_chars),
                key,
                user: validate_user(user)?,
                since,
                batch,
            }))
        }
        ClientMsg::StrokeEnd { stroke } => Command::StrokeEnd { stroke },
        ClientMsg::Clear { id } => Command::Clear { id },
        ClientMsg::Restore { id, seq } => Command::Restore { id, seq },
        ClientMsg::Move {
            id,
            rect,
            lasso,
            dx,
            dy,
            scale,
            delete,
        } => Command::Move {
            id,
            mv: super::validate_move::validate_move(
                super::validate_move::MoveRequest {
                    rect,
                    lasso,
                    dx,
                    dy,
                    scale,
                    delete,
                },
                width,
                height,
                config,
            )?,
        },
        ClientMsg::Undo => Command::Undo,
        ClientMsg::Redo => Command::Redo,
        ClientMsg::Rename { name } => Command::Rename {
            name: clean_name(Some(&name), config.max_member_name_chars),
        },
        ClientMsg::ListMembers { after } => Command::ListMembers { after },
        ClientMsg::Lock { locked } => Command::Lock { locked },
        ClientMsg::Kick { member } => Command::Kick { member },
        ClientMsg::Revert { member } => Command::Revert { member },
        ClientMsg::Shape {
            id,
            shape,
            x0,
            y0,
            x1,
            y1,
            color,
            width: shape_width,
            fill,
        } => {
            validate_width(shape_width, config)?;
            let color = validate_color(&color)?;
            validate_cursor(x0, y0, width, height)?;
            validate_cursor(x1, y1, width, height)?;
            Command::Shape {
                id,
                shape: Shape {
                    kind: shape,
                    x0,
                    y0,
                    x1,
                    y1,
                    color,
                    width: shape_width,
                    filled: fill,
                },
            }
        }
        ClientMsg::ShapePreview {
            id,
            shape,
            x0,
            y0,
            x1,
            y1,
            color,
            width: shape_width,
            fill,
            cancel,
        } => {
            if cancel {
                Command::ShapePreview { id, shape: None }
            } else {
                let (Some(kind), Some(x0), Some(y0), Some(x1), Some(y1), Some(color)) =
                    (shape, x0, y0, x1, y1, color)
                else {
                    return Err(ProtoError::new(
                        ErrorCode::BadMessage,
                        "shape_preview needs shape, x0, y0, x1, y1 and color, or cancel",
                    ));
                };
                let shape_width = shape_width.unwrap_or(4.0);
                validate_width(shape_width, config)?;
                validate_color(&color)?;
                validate_cursor(x0, y0, width, height)?;
                validate_cursor(x1, y1, width, height)?;
                Command::ShapePreview {
                    id,
                    shape: Some(PreviewShape {
                        kind,
                        x0,
                        y0,
                        x1,
                        y1,
                        color,
                        width: shape_width,
                        fill: fill.unwrap_or(false),
                    }),
                }
            }
        }
        ClientMsg::Text {
            id,
            x,
            y,
            text,
            size,
            color,
        } => Command::Text {
            id,
            text: super::text::validate_text(x, y, text, size, &color, (width, height), config)?,
        },
        ClientMsg::Fill {
            id,
            x,
            y,
            color,
            tolerance,
        } => {
            let color = validate_color(&color)?;
            let inside = x.is_finite()
                && y.is_finite()
                && x >= 0.0
                && y >= 0.0
                && x < width as f32
                && y < height as f32;
            if !inside {
                return Err(ProtoError::new(
                    ErrorCode::BadMessage,
                    format!("fill must start inside the {width}x{height} canvas"),
                ));
            }
            Command::Fill {
                id,
                fill: Fill {
                    x: x as u32,
                    y: y as u32,
                    color,
                    tolerance,
                    region: None,
                },
            }
        }
        ClientMsg::StrokeBegin {
            stroke,
            tool,
            color,
            width: stroke_width,
            points,
            op,
        } => {
            validate_width(stroke_width, config)?;
            let rgba = validate_color(&color)?;
            validate_points(&points, width, height, config)?;
            if let Some(op) = &op {
                validate_op_id(op)?;
            }
            Command::StrokeBegin {
                stroke,
                tool,
                color: rgba,
                color_text: color,
                width: stroke_width,
                points,
                op,
            }
        }
        ClientMsg::StrokePoints { stroke, points } => {
            validate_points(&points, width, height, config)?;
            Command::StrokePoints { stroke, points }
        }
        ClientMsg::Image {
            id,
            image,
            x,
            y,
            width: w,
            height: h,
        } => {
            let at = validate_image(&image, (x, y, w, h), width, height, config)?;
            Command::Image { id, image, at }
        }
        ClientMsg::Cursor { x, y } => {
            validate_cursor(x, y, width, height)?;
            Command::Cursor { x, y }
        }
        ClientMsg::View {
            x,
            y,
            width: w,
            height: h,
        } => {
            validate_view(x, y, w, h, width, height)?;
            Command::View {
                x,
                y,
                width: w,
                height: h,
            }
        }
    };
    Ok(Valid::Command(command))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::decode_client;

    #[test]
    fn colors_parse_strictly() {
        assert_eq!(
            parse_color("#ff8000"),
            Some(Rgba {
                r: 255,
                g: 128,
                b: 0,
                a: 255
            })
        );
        assert_eq!(parse_color("#ff800080").map(|c| c.a), Some(128));
        for bad in ["ff8000", "#ff80", "#gg8000", "#ff8000801", "", "#"] {
            assert_eq!(parse_color(bad), None, "{bad}");
        }
    }

    #[test]
    fn points_are_checked() {
        let c = Config::default();
        assert!(validate_points(&[1.0, 2.0, 0.5], 100, 100, &c).is_ok());
        assert_eq!(
            validate_points(&[1.0, 2.0], 100, 100, &c).map_err(|e| e.code),
            Err(ErrorCode::BadMessage)
        );
        assert!(validate_points(&[f32::NAN, 2.0, 0.5], 100, 100, &c).is_err());
        assert!(validate_points(&[1e9, 2.0, 0.5], 100, 100, &c).is_err());
        assert!(validate_points(&[1.0, 2.0, 1.5], 100, 100, &c).is_err());
        let many = vec![1.0; 3 * (c.max_points_per_message + 1)];
        assert_eq!(
            validate_points(&many, 100, 100, &c).map_err(|e| e.code),
            Err(ErrorCode::TooLarge)
        );
    }

    #[test]
    fn shape_previews_are_checked() {
        let c = Config::default();
        let check = |text: &str| {
            decode_client(text)
                .and_then(|m| validate(m, 100, 100, &c))
                .map_err(|e| e.code)
        };
        let ok = check(
            r##"{"type":"shape_preview","id":1,"shape":"rect","x0":1,"y0":2,"x1":30,"y1":40,"color":"#ff0000"}"##,
        );
        let Ok(Valid::Command(Command::ShapePreview {
            id: 1,
            shape: Some(shape),
        })) = ok
        else {
            panic!("a valid preview: {ok:?}");
        };
        assert_eq!(
            (shape.width, shape.fill, shape.color.as_str()),
            (4.0, false, "#ff0000")
        );
        assert_eq!(
            check(r#"{"type":"shape_preview","id":1,"cancel":true}"#),
            Ok(Valid::Command(Command::ShapePreview { id: 1, shape: None }))
        );
        for bad in [
            r##"{"type":"shape_preview","id":1}"##,
            r##"{"type":"shape_preview","id":1,"shape":"rect","x0":1,"y0":2,"x1":30,"color":"#ff0000"}"##,
            r##"{"type":"shape_preview","id":1,"shape":"rect","x0":1,"y0":2,"x1":30,"y1":40,"color":"red"}"##,
            r##"{"type":"shape_preview","id":1,"shape":"rect","x0":1,"y0":2,"x1":1e9,"y1":40,"color":"#ff0000"}"##,
            r##"{"type":"shape_preview","id":1,"shape":"rect","x0":1,"y0":2,"x1":3,"y1":4,"color":"#ff0000","width":0}"##,
            r##"{"type":"shape_preview","id":1,"shape":"star","x0":1,"y0":2,"x1":3,"y1":4,"color":"#ff0000"}"##,
        ] {
            assert_eq!(check(bad).err(), Some(ErrorCode::BadMessage), "{bad}");
        }
    }

    #[test]
    fn image_rectangles_are_checked() {
        let c = Config::default();
        let check = |text: &str| {
            decode_client(text)
                .and_then(|m| validate(m, 100, 100, &c))
                .map_err(|e| e.code)
        };
        let ok = check(
            r#"{"type":"image","id":3,"image":"ab12","x":-50,"y":10.4,"width":200,"height":20.6}"#,
        );
        let Ok(Valid::Command(Command::Image { id, image, at })) = ok else {
            panic!("a valid image op: {ok:?}");
        };
        assert_eq!((id, image.as_str()), (Some(3), "ab12"));
        assert_eq!((at.x, at.y, at.width, at.height), (-50, 10, 200, 21));
        for bad in [
            r#"{"type":"image","image":"ab12","x":0,"y":0,"width":0,"height":10}"#,
            r#"{"type":"image","image":"ab12","x":0,"y":0,"width":-10,"height":10}"#,
            r#"{"type":"image","image":"ab12","x":0,"y":0,"width":1e30,"height":10}"#,
            r#"{"type":"image","image":"ab12","x":150,"y":0,"width":100,"height":10}"#,
            r#"{"type":"image","image":"ab12","x":-101,"y":0,"width":10,"height":10}"#,
            r#"{"type":"image","image":"a b","x":0,"y":0,"width":10,"height":10}"#,
            r#"{"type":"image","image":"","x":0,"y":0,"width":10,"height":10}"#,
            r#"{"type":"image","image":"ab12","x":0,"y":0,"width":10}"#,
        ] {
            assert_eq!(check(bad).err(), Some(ErrorCode::BadMessage), "{bad}");
        }
        let small = Config {
            max_image_pixels: 99,
            ..Config::default()
        };
        let big =
            decode_client(r#"{"type":"image","image":"ab12","x":0,"y":0,"width":10,"height":10}"#)
                .and_then(|m| validate(m, 100, 100, &small));
        assert_eq!(big.map_err(|e| e.code).err(), Some(ErrorCode::BadMessage));
    }

    #[test]
    fn unknown_types_and_wrong_fields_are_bad_messages() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"type":"nope"}"#,
            r#"{"type":"stroke_end","stroke":"x"}"#,
            r#"{"type":"stroke_end","stroke":-1}"#,
            r#"{"type":"cursor","x":1}"#,
        ] {
            assert_eq!(
                decode_client(bad).map_err(|e| e.code),
                Err(ErrorCode::BadMessage),
                "{bad}"
            );
        }
    }
}
