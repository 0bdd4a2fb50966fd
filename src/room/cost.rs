//! What painting costs against a member's pixel budget (see `Config::paint_pixels_per_second`).

use crate::canvas::{Move, Placement, Shape, Text, TILE_SIZE};

/// Pixels a stroke's new points paint: each segment's length times the widest the pen gets on
/// it (`last` is the stroke's previous point, if any).
pub fn stroke(width: f32, last: Option<&[f32]>, points: &[f32]) -> f64 {
    let mut prev = last.map(|p| (p[0], p[1], p[2]));
    let mut cost = 0.0;
    for p in points.chunks_exact(3) {
        if let Some((x, y, pressure)) = prev {
            let len = f64::from((p[0] - x).hypot(p[1] - y));
            let w = f64::from(width * (0.25 + 1.5 * pressure.max(p[2]).clamp(0.0, 1.0)));
            cost += len * w;
        }
        prev = Some((p[0], p[1], p[2]));
    }
    cost
}

/// Pixels a shape paints: its box when filled, its outline times its width otherwise.
pub fn shape(s: &Shape) -> f64 {
    let (dx, dy) = (
        f64::from((s.x1 - s.x0).abs()),
        f64::from((s.y1 - s.y0).abs()),
    );
    let w = f64::from(s.width);
    if s.filled {
        (dx + w) * (dy + w)
    } else {
        2.0 * (dx + dy + 2.0 * w) * w
    }
}

/// Pixels a move repaints: the selection's box where it is erased, and the box scaled where
/// it is placed (nothing for a delete), on a `width` x `height` canvas.
pub fn moved(m: &Move, width: u32, height: u32) -> f64 {
    m.pixel_area(width, height)
}

/// Pixels a text paints: each character's em square (size x size; a newline costs nothing).
pub fn text(t: &Text) -> f64 {
    let chars = t.text.chars().filter(|&c| c != '\n').count() as f64;
    let size = f64::from(t.size);
    chars * size * size
}

/// Pixels an image op paints: its whole rectangle (scaling costs about as much as painting).
pub fn image(at: &Placement) -> f64 {
    at.pixels() as f64
}

/// Pixels repainted over whole tiles (fills, undos and redos).
pub fn tiles(count: usize) -> f64 {
    count as f64 * f64::from(TILE_SIZE * TILE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strokes_cost_length_times_width() {
        // 10 px at pressure 0.5 and width 4: the pen is 4 px wide.
        let c = stroke(4.0, None, &[0.0, 0.0, 0.5, 10.0, 0.0, 0.5]);
        assert!((c - 40.0).abs() < 1e-6, "{c}");
        // Continuing from the last point counts the joining segment.
        let c = stroke(4.0, Some(&[0.0, 0.0, 0.5]), &[0.0, 5.0, 0.5]);
        assert!((c - 20.0).abs() < 1e-6, "{c}");
        assert_eq!(tiles(2), 2.0 * 65536.0);
    }

    #[test]
    fn moves_cost_the_source_and_the_scaled_destination() {
        use crate::canvas::Selection;
        let mut m = Move {
            selection: Selection::Rect([-10.0, 0.0, 30.0, 10.0]),
            dx: 5.0,
            dy: 5.0,
            scale: 2.0,
            delete: false,
            lifted: None,
        };
        // 20x10 on the canvas, placed at twice the size.
        assert_eq!(moved(&m, 100, 100), 200.0 + 800.0);
        m.delete = true;
        assert_eq!(moved(&m, 100, 100), 200.0);
    }

    #[test]
    fn text_costs_an_em_square_a_character() {
        let t = Text {
            x: 0.0,
            y: 0.0,
            text: "ab\nc".to_owned(),
            size: 10.0,
            color: crate::canvas::Rgba {
                r: 0,
                g: 0,
                b: 0,
                a: 255,
            },
        };
        assert_eq!(text(&t), 300.0);
    }

    #[test]
    fn images_cost_their_rectangle() {
        let at = Placement::from_rect(-10.0, 5.0, 400.0, 300.0).expect("valid");
        assert_eq!(image(&at), 120_000.0);
    }
}
