//! Validation of a `move`: exactly one of `rect` and `lasso`, finite numbers, the selection
//! near the canvas, the lasso's size, the offset and the scale.

use super::error::{ErrorCode, ProtoError};
use crate::canvas::{Move, Selection, MAX_SCALE, MIN_SCALE};
use crate::config::Config;

/// The fields of a `move` as they arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveRequest {
    /// `[x, y, w, h]`, if a rectangle was selected.
    pub rect: Option<[f32; 4]>,
    /// `[x0, y0, x1, y1, ...]`, if a lasso was drawn.
    pub lasso: Option<Vec<f32>>,
    /// Horizontal offset.
    pub dx: f32,
    /// Vertical offset.
    pub dy: f32,
    /// Scale, default 1.
    pub scale: Option<f32>,
    /// Erase without placing.
    pub delete: bool,
}

fn bad(message: impl Into<String>) -> ProtoError {
    ProtoError::new(ErrorCode::BadMessage, message)
}

/// Checks a move for a `width` x `height` canvas. Selections may reach one canvas size beyond
/// every edge (like stroke points), offsets one canvas size either way, a lasso may have at most
/// `Config::max_lasso_points` corners, and the selection's box on the canvas at most
/// `Config::max_selection_pixels` pixels.
pub fn validate_move(
    req: MoveRequest,
    width: u32,
    height: u32,
    config: &Config,
) -> Result<Move, ProtoError> {
    let (w, h) = (width as f32, height as f32);
    let near_x = |x: f32| x.is_finite() && x >= -w && x <= 2.0 * w;
    let near_y = |y: f32| y.is_finite() && y >= -h && y <= 2.0 * h;
    let selection = match (req.rect, req.lasso) {
        (Some([x, y, rw, rh]), None) => {
            if !(near_x(x) && near_y(y) && rw.is_finite() && rh.is_finite()) {
                return Err(bad("rect must be finite and near the canvas"));
            }
            if !(rw > 0.0 && rh > 0.0 && rw <= 3.0 * w && rh <= 3.0 * h) {
                return Err(bad(
                    "rect must have a positive width and height within the canvas area",
                ));
            }
            Selection::Rect([x, y, rw, rh])
        }
        (None, Some(points)) => {
            if !points.len().is_multiple_of(2) || points.len() < 6 {
                return Err(bad("lasso must be at least three [x, y] points"));
            }
            if points.len() / 2 > config.max_lasso_points {
                return Err(ProtoError::new(
                    ErrorCode::TooLarge,
                    format!(
                        "a lasso may have at most {} points",
                        config.max_lasso_points
                    ),
                ));
            }
            if !points.chunks_exact(2).all(|p| near_x(p[0]) && near_y(p[1])) {
                return Err(bad("lasso points must be finite and near the canvas"));
            }
            Selection::Lasso(points)
        }
        _ => return Err(bad("move needs exactly one of rect and lasso")),
    };
    let (dx, dy) = (req.dx, req.dy);
    if !(dx.is_finite() && dy.is_finite() && dx.abs() <= 2.0 * w && dy.abs() <= 2.0 * h) {
        return Err(bad("dx and dy must be finite and at most two canvas sizes"));
    }
    if let Some((l, t, r, b)) = selection.pixel_box(width, height) {
        let area = u64::from(r - l) * u64::from(b - t);
        if area > config.max_selection_pixels {
            return Err(ProtoError::new(
                ErrorCode::TooLarge,
                format!(
                    "a move may select at most {} pixels; select less",
                    config.max_selection_pixels
                ),
            ));
        }
    }
    let scale = req.scale.unwrap_or(1.0);
    if !(scale.is_finite() && (MIN_SCALE..=MAX_SCALE).contains(&scale)) {
        return Err(bad(format!(
            "scale must be between {MIN_SCALE} and {MAX_SCALE}"
        )));
    }
    Ok(Move {
        selection,
        dx,
        dy,
        scale,
        delete: req.delete,
        lifted: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{decode_client, validate, Command, Valid};

    fn check(text: &str) -> Result<Move, ErrorCode> {
        let c = Config::default();
        match decode_client(text).and_then(|m| validate(m, 100, 100, &c)) {
            Ok(Valid::Command(Command::Move { mv, .. })) => Ok(mv),
            Ok(other) => panic!("not a move: {other:?}"),
            Err(e) => Err(e.code),
        }
    }

    #[test]
    fn good_moves_pass() {
        let m = check(r#"{"type":"move","id":7,"rect":[1,2,30,40],"dx":12,"dy":-4}"#)
            .expect("a rect move");
        assert_eq!(
            (m.selection, m.dx, m.dy, m.scale, m.delete),
            (
                Selection::Rect([1.0, 2.0, 30.0, 40.0]),
                12.0,
                -4.0,
                1.0,
                false
            )
        );
        let m = check(r#"{"type":"move","lasso":[0,0,50,0,25,40],"dx":0,"dy":0,"scale":2.5}"#)
            .expect("a scaled lasso");
        assert_eq!(m.scale, 2.5);
        let m = check(r#"{"type":"move","rect":[1,2,3,4],"dx":0,"dy":0,"delete":true}"#)
            .expect("a delete");
        assert!(m.delete);
    }

    #[test]
    fn bad_moves_are_refused() {
        for bad in [
            r#"{"type":"move","dx":1,"dy":1}"#,
            r#"{"type":"move","rect":[1,2,3,4],"lasso":[0,0,1,1,2,0],"dx":1,"dy":1}"#,
            r#"{"type":"move","rect":[1,2,0,4],"dx":1,"dy":1}"#,
            r#"{"type":"move","rect":[1,2,-3,4],"dx":1,"dy":1}"#,
            r#"{"type":"move","rect":[1e9,2,3,4],"dx":1,"dy":1}"#,
            r#"{"type":"move","rect":[1,2,3,4],"dx":1e9,"dy":1}"#,
            r#"{"type":"move","rect":[1,2,3,4],"dx":1,"dy":1,"scale":0.05}"#,
            r#"{"type":"move","rect":[1,2,3,4],"dx":1,"dy":1,"scale":11}"#,
            r#"{"type":"move","lasso":[0,0,1,1],"dx":1,"dy":1}"#,
            r#"{"type":"move","lasso":[0,0,1,1,2],"dx":1,"dy":1}"#,
            r#"{"type":"move","lasso":[0,0,1,1,-500,0],"dx":1,"dy":1}"#,
            r#"{"type":"move","rect":[1,2,3,4],"dy":1}"#,
            r#"{"type":"move","rect":[1,2,3,4],"dx":1e39,"dy":1}"#,
            r#"{"type":"move","rect":[1,2,3e39,4],"dx":1,"dy":1}"#,
        ] {
            assert_eq!(check(bad).err(), Some(ErrorCode::BadMessage), "{bad}");
        }
        let many: Vec<String> = (0..=Config::default().max_lasso_points)
            .map(|i| format!("{},{}", i % 90, i % 70))
            .collect();
        let text = format!(
            r#"{{"type":"move","lasso":[{}],"dx":1,"dy":1}}"#,
            many.join(",")
        );
        assert_eq!(check(&text).err(), Some(ErrorCode::TooLarge));
        let small = Config {
            max_selection_pixels: 100,
            ..Config::default()
        };
        let big = decode_client(r#"{"type":"move","rect":[-50,0,60,11],"dx":1,"dy":1}"#)
            .and_then(|m| validate(m, 100, 100, &small))
            .map_err(|e| e.code);
        // 10 x 11 pixels on the canvas: one too many.
        assert_eq!(big.err(), Some(ErrorCode::TooLarge));
        let fits = decode_client(r#"{"type":"move","rect":[-50,0,60,10],"dx":1,"dy":1}"#)
            .and_then(|m| validate(m, 100, 100, &small));
        assert!(fits.is_ok(), "{fits:?}");
    }
}
