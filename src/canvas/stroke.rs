//! Stroke geometry: a pressure-sensitive round pen as one fillable path.
//!
//! A stroke is the union of a disc at every point (radius from pressure) and, between each pair of
//! consecutive points, the quadrilateral spanned by the two discs' outer tangents. All contours are
//! wound the same way and filled with the non-zero rule, so the union is filled exactly once:
//! a translucent stroke does not darken where it overlaps itself. With a constant pressure this is
//! an even line with round caps and joins. `frontend/js/render/stroke.js` builds the same path for
//! the browser's canvas.

use tiny_skia::{Path, PathBuilder};

/// Radius of the pen at a pressure: `width / 2 * (0.25 + 1.5 * pressure)`, so pressure 0.5 (a
/// mouse) draws exactly `width`, a light touch a quarter of it and a full press 1.75 times it.
pub fn stroke_radius(width: f32, pressure: f32) -> f32 {
    width * 0.5 * (0.25 + 1.5 * pressure.clamp(0.0, 1.0))
}

/// Builds the fill path of a stroke, or `None` for no points.
pub fn stroke_path(points: &[f32], width: f32) -> Option<Path> {
    let count = points.len() / 3;
    if count == 0 {
        return None;
    }
    let mut pb = PathBuilder::with_capacity(count * 10, count * 20);
    let at = |i: usize| {
        (
            points[i * 3],
            points[i * 3 + 1],
            stroke_radius(width, points[i * 3 + 2]),
        )
    };
    for i in 0..count {
        let (x, y, r) = at(i);
        pb.push_circle(x, y, r);
        if i + 1 < count {
            push_hull(&mut pb, (x, y, r), at(i + 1));
        }
    }
    pb.finish()
}

/// Adds the quadrilateral between two discs' outer tangent lines, wound like `push_circle`
/// (positive area in y-down coordinates). Adds nothing when one disc contains the other.
fn push_hull(pb: &mut PathBuilder, (x0, y0, r0): (f32, f32, f32), (x1, y1, r1): (f32, f32, f32)) {
    let (dx, dy) = (x1 - x0, y1 - y0);
    let d = (dx * dx + dy * dy).sqrt();
    if d <= (r1 - r0).abs() || d < 1e-3 {
        return;
    }
    let (ux, uy) = (dx / d, dy / d);
    let a = (r0 - r1) / d;
    let b = (1.0 - a * a).max(0.0).sqrt();
    // Unit normals of the two tangent lines.
    let (m1x, m1y) = (a * ux - b * uy, a * uy + b * ux);
    let (m2x, m2y) = (a * ux + b * uy, a * uy - b * ux);
    let quad = [
        (x0 + r0 * m1x, y0 + r0 * m1y),
        (x1 + r1 * m1x, y1 + r1 * m1y),
        (x1 + r1 * m2x, y1 + r1 * m2y),
        (x0 + r0 * m2x, y0 + r0 * m2y),
    ];
    let area: f32 = (0..4)
        .map(|i| {
            let (ax, ay) = quad[i];
            let (bx, by) = quad[(i + 1) % 4];
            ax * by - bx * ay
        })
        .sum();
    let order: [usize; 4] = if area >= 0.0 {
        [0, 1, 2, 3]
    } else {
        [3, 2, 1, 0]
    };
    pb.move_to(quad[order[0]].0, quad[order[0]].1);
    for &i in &order[1..] {
        pb.line_to(quad[i].0, quad[i].1);
    }
    pb.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pressure_half_gives_the_nominal_width() {
        assert!((stroke_radius(10.0, 0.5) - 5.0).abs() < 1e-6);
        assert!(stroke_radius(10.0, 0.0) < stroke_radius(10.0, 1.0));
    }

    #[test]
    fn bounds_cover_the_pen() {
        let path = stroke_path(&[10.0, 10.0, 0.5, 90.0, 10.0, 0.5], 8.0).expect("points");
        let b = path.bounds();
        assert!((b.left() - 6.0).abs() < 0.01 && (b.right() - 94.0).abs() < 0.01);
        assert!((b.top() - 6.0).abs() < 0.01 && (b.bottom() - 14.0).abs() < 0.01);
        assert!(stroke_path(&[], 8.0).is_none());
    }
}
