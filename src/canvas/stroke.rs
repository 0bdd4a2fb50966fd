//! Stroke geometry: a pressure-sensitive round pen as line-only outlines.
//!
//! The pen's shape is the union of a disc at every point (radius from pressure) and the hull of
//! each pair of consecutive discs. It is drawn as outlines, the way a stroker does: down one side
//! along the discs' outer tangents, around the end in a round cap, back along the other side, and
//! around the start; at each join the outer side follows the disc's arc and the inner side pivots
//! through the point. Long strokes are cut into runs of [`RUN`] points that share their end
//! points, so runs overlap in their round caps (overlapping shapes leave no anti-aliasing seams,
//! abutting ones would) and a tile is rendered from just the runs that reach it. Arcs are polygons
//! with vertices on the circle, no edge straying more than 0.05 px from it.
//!
//! Outlines are filled with the non-zero rule, so wherever a stroke overlaps itself it is filled
//! once: a translucent stroke does not darken over itself. With a constant pressure this is an
//! even line with round caps and joins. `frontend/js/render/stroke.js` builds the same outlines.

use tiny_skia::{Path, PathBuilder};

/// Radius of the pen at a pressure: `width / 2 * (0.25 + 1.5 * pressure)`, so pressure 0.5 (a
/// mouse) draws exactly `width`, a light touch a quarter of it and a full press 1.75 times it.
pub fn stroke_radius(width: f32, pressure: f32) -> f32 {
    width * 0.5 * (0.25 + 1.5 * pressure.clamp(0.0, 1.0))
}

/// Largest distance between an arc and the polygon that stands for it, in pixels.
const ARC_TOLERANCE: f32 = 0.05;

/// Points per run; consecutive runs share one point.
const RUN: usize = 32;

/// One closed polygon of a stroke, with its bounding box.
#[derive(Debug, Clone)]
struct Contour {
    points: Vec<(f32, f32)>,
    left: f32,
    top: f32,
    right: f32,
    bottom: f32,
}

impl Contour {
    fn new(mut points: Vec<(f32, f32)>) -> Contour {
        // Wind every contour the same way (positive area in y-down coordinates).
        let n = points.len();
        let area: f32 = (0..n)
            .map(|i| {
                let (ax, ay) = points[i];
                let (bx, by) = points[(i + 1) % n];
                ax * by - bx * ay
            })
            .sum();
        if area < 0.0 {
            points.reverse();
        }
        let mut c = Contour {
            left: f32::MAX,
            top: f32::MAX,
            right: f32::MIN,
            bottom: f32::MIN,
            points,
        };
        for &(x, y) in &c.points {
            c.left = c.left.min(x);
            c.top = c.top.min(y);
            c.right = c.right.max(x);
            c.bottom = c.bottom.max(y);
        }
        c
    }
}

/// The contours of one stroke.
#[derive(Debug, Clone, Default)]
pub struct Geometry {
    contours: Vec<Contour>,
}

impl Geometry {
    /// Bounding box (left, top, right, bottom), or `None` when empty.
    pub fn bounds(&self) -> Option<(f32, f32, f32, f32)> {
        let first = self.contours.first()?;
        Some(self.contours.iter().fold(
            (first.left, first.top, first.right, first.bottom),
            |(l, t, r, b), c| (l.min(c.left), t.min(c.top), r.max(c.right), b.max(c.bottom)),
        ))
    }

    /// A path of the contours that reach the rectangle (left, top, right, bottom), grown by one
    /// pixel; `None` when none do. Contours that miss it cannot change its pixels.
    pub fn path_within(&self, left: f32, top: f32, right: f32, bottom: f32) -> Option<Path> {
        let mut pb = PathBuilder::new();
        for c in &self.contours {
            if c.right < left - 1.0
                || c.left > right + 1.0
                || c.bottom < top - 1.0
                || c.top > bottom + 1.0
            {
                continue;
            }
            pb.move_to(c.points[0].0, c.points[0].1);
            for &(x, y) in &c.points[1..] {
                pb.line_to(x, y);
            }
            pb.close();
        }
        pb.finish()
    }

    /// A path of every contour.
    pub fn path(&self) -> Option<Path> {
        self.path_within(
            f32::MIN / 4.0,
            f32::MIN / 4.0,
            f32::MAX / 4.0,
            f32::MAX / 4.0,
        )
    }
}

/// Number of polygon edges for an arc of `angle` radians on a circle of radius `r`.
fn arc_steps(r: f32, angle: f32) -> usize {
    let step = if r <= ARC_TOLERANCE {
        std::f32::consts::FRAC_PI_2
    } else {
        (2.0 * (1.0 - ARC_TOLERANCE / r).acos()).max(0.01)
    };
    ((angle.abs() / step).ceil() as usize).clamp(1, 256)
}

/// A disc as a polygon.
fn disc(x: f32, y: f32, r: f32) -> Contour {
    let n = arc_steps(r, std::f32::consts::TAU).max(8);
    let points = (0..n)
        .map(|i| {
            let a = i as f32 * std::f32::consts::TAU / n as f32;
            (x + r * a.cos(), y + r * a.sin())
        })
        .collect();
    Contour::new(points)
}

/// Appends the arc around (x, y, r) from unit normal `from`, sweeping `delta` radians, to `to`;
/// both ends are included exactly as given, so the arc meets the neighbouring edges.
fn push_arc(
    (x, y, r): (f32, f32, f32),
    from: (f32, f32),
    to: (f32, f32),
    delta: f32,
    out: &mut Vec<(f32, f32)>,
) {
    let a0 = from.1.atan2(from.0);
    out.push((x + r * from.0, y + r * from.1));
    let n = arc_steps(r, delta);
    for i in 1..n {
        let a = a0 + delta * i as f32 / n as f32;
        out.push((x + r * a.cos(), y + r * a.sin()));
    }
    out.push((x + r * to.0, y + r * to.1));
}

/// The sweep from `from` to `to` that turns the way whose sweep contains the direction `via`.
fn sweep_via(from: (f32, f32), to: (f32, f32), via: (f32, f32)) -> f32 {
    let tau = std::f32::consts::TAU;
    let a0 = from.1.atan2(from.0);
    let ccw = (to.1.atan2(to.0) - a0).rem_euclid(tau);
    let via_ccw = (via.1.atan2(via.0) - a0).rem_euclid(tau);
    if via_ccw <= ccw {
        ccw
    } else {
        ccw - tau
    }
}

/// A cap's arc: around the far side, through `via` (it may be longer than half a circle).
fn arc_via(
    p: (f32, f32, f32),
    from: (f32, f32),
    to: (f32, f32),
    via: (f32, f32),
    out: &mut Vec<(f32, f32)>,
) {
    push_arc(p, from, to, sweep_via(from, to, via), out);
}

/// A join's arc: always the shorter way, except that for a turn back (normals nearly opposite)
/// it goes through `ahead`. Normals that differ by a rounding error (nearly collinear points)
/// must never send the arc the long way round: that would wind a whole disc backwards and cut a
/// hole in the stroke.
fn arc_join(
    p: (f32, f32, f32),
    from: (f32, f32),
    to: (f32, f32),
    ahead: (f32, f32),
    out: &mut Vec<(f32, f32)>,
) {
    let mut short = to.1.atan2(to.0) - from.1.atan2(from.0);
    if short > std::f32::consts::PI {
        short -= std::f32::consts::TAU;
    } else if short < -std::f32::consts::PI {
        short += std::f32::consts::TAU;
    }
    let delta = if short.abs() > std::f32::consts::PI - 1e-3 {
        sweep_via(from, to, ahead)
    } else {
        short
    };
    push_arc(p, from, to, delta, out);
}

/// The unit normals of the two outer tangent lines of a segment.
type Normals = ((f32, f32), (f32, f32));

/// The two unit normals of the outer tangents of discs (x0, y0, r0) and (x1, y1, r1), or `None`
/// when one disc contains the other.
fn tangent_normals(
    (x0, y0, r0): (f32, f32, f32),
    (x1, y1, r1): (f32, f32, f32),
) -> Option<Normals> {
    let (dx, dy) = (x1 - x0, y1 - y0);
    let d = (dx * dx + dy * dy).sqrt();
    if d <= (r1 - r0).abs() || d < 1e-3 {
        return None;
    }
    let (ux, uy) = (dx / d, dy / d);
    let a = (r0 - r1) / d;
    let b = (1.0 - a * a).max(0.0).sqrt();
    Some((
        (a * ux - b * uy, a * uy + b * ux),
        (a * ux + b * uy, a * uy - b * ux),
    ))
}

/// Cosine of the sharpest turn kept inside one outline; sharper turns start a new run (an
/// outline's inner side would fold over itself there).
const SHARP_TURN_COS: f32 = 0.5;

/// Whether the path turns by less than 60 degrees at `b`.
fn gentle(a: (f32, f32, f32), b: (f32, f32, f32), c: (f32, f32, f32)) -> bool {
    let (u, v) = (direction(a, b), direction(b, c));
    u.0 * v.0 + u.1 * v.1 >= SHARP_TURN_COS
}

/// Unit direction from one point to another.
fn direction(p: (f32, f32, f32), q: (f32, f32, f32)) -> (f32, f32) {
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let d = (dx * dx + dy * dy).sqrt().max(1e-6);
    (dx / d, dy / d)
}

fn at(p: (f32, f32, f32), m: (f32, f32)) -> (f32, f32) {
    (p.0 + p.2 * m.0, p.1 + p.2 * m.1)
}

/// The outline of a run of at least two points whose segments all have normals.
fn outline(pts: &[(f32, f32, f32)], normals: &[Normals]) -> Contour {
    let n = pts.len() - 1;
    let dirs: Vec<(f32, f32)> = (0..n).map(|i| direction(pts[i], pts[i + 1])).collect();
    let mut out = Vec::with_capacity(n * 6 + 32);
    // Side one, forwards.
    for i in 0..n {
        out.push(at(pts[i], normals[i].0));
        out.push(at(pts[i + 1], normals[i].0));
        if i + 1 < n {
            let (u, v) = (dirs[i], dirs[i + 1]);
            let turn = u.0 * v.1 - u.1 * v.0;
            if turn < 0.0 {
                // Side one is outside the turn: follow the disc.
                arc_join(pts[i + 1], normals[i].0, normals[i + 1].0, u, &mut out);
            } else {
                out.push((pts[i + 1].0, pts[i + 1].1));
            }
        }
    }
    // Round cap at the end.
    arc_via(
        pts[n],
        normals[n - 1].0,
        normals[n - 1].1,
        dirs[n - 1],
        &mut out,
    );
    // Side two, backwards.
    for i in (0..n).rev() {
        out.push(at(pts[i + 1], normals[i].1));
        out.push(at(pts[i], normals[i].1));
        if i > 0 {
            let (u, v) = (dirs[i - 1], dirs[i]);
            let turn = u.0 * v.1 - u.1 * v.0;
            if turn > 0.0 {
                arc_join(pts[i], normals[i].1, normals[i - 1].1, v, &mut out);
            } else {
                out.push((pts[i].0, pts[i].1));
            }
        }
    }
    // Round cap at the start.
    arc_via(
        pts[0],
        normals[0].1,
        normals[0].0,
        (-dirs[0].0, -dirs[0].1),
        &mut out,
    );
    Contour::new(out)
}

/// Builds the outlines of a stroke from flat `[x, y, pressure, ...]` points.
pub fn stroke_geometry(points: &[f32], width: f32) -> Geometry {
    let pts: Vec<(f32, f32, f32)> = points
        .chunks_exact(3)
        .map(|p| (p[0], p[1], stroke_radius(width, p[2])))
        .collect();
    let normals: Vec<Option<Normals>> = pts
        .windows(2)
        .map(|w| tangent_normals(w[0], w[1]))
        .collect();
    let mut contours = Vec::with_capacity(pts.len() / RUN + 2);
    // Where one disc contains the next, their hull is the bigger disc.
    let bigger = |i: usize| {
        if pts[i + 1].2 > pts[i].2 {
            pts[i + 1]
        } else {
            pts[i]
        }
    };
    let mut start = 0;
    while start < pts.len() {
        let mut end = start;
        while end + 1 < pts.len()
            && end - start + 1 < RUN
            && normals[end].is_some()
            && (end == start || gentle(pts[end - 1], pts[end], pts[end + 1]))
        {
            end += 1;
        }
        if end == start {
            let p = if start + 1 < pts.len() {
                bigger(start)
            } else {
                pts[start]
            };
            if p.2 > 0.0 {
                contours.push(disc(p.0, p.1, p.2));
            }
            start += 1;
            continue;
        }
        let run: Vec<Normals> = normals[start..end].iter().flatten().copied().collect();
        contours.push(outline(&pts[start..=end], &run));
        if end + 1 >= pts.len() {
            break;
        }
        if normals[end].is_none() {
            let p = bigger(end);
            contours.push(disc(p.0, p.1, p.2));
            start = end + 1;
        } else {
            // The next run starts at this run's last point: they overlap in their caps.
            start = end;
        }
    }
    Geometry { contours }
}

/// Builds the fill path of a stroke, or `None` for no points.
pub fn stroke_path(points: &[f32], width: f32) -> Option<Path> {
    stroke_geometry(points, width).path()
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
        assert!((b.top() - 6.0).abs() < 0.05 && (b.bottom() - 14.0).abs() < 0.05);
        assert!(stroke_path(&[], 8.0).is_none());
    }

    /// Every pixel well inside a translucent curved stroke is covered exactly once: no seams
    /// between the pieces, no double cover where they overlap, with and without pressure.
    #[test]
    fn no_seams_inside_curved_strokes() {
        use crate::canvas::{Canvas, Op, Rgba, Stroke, Tool};
        let curve = |pressure: bool| -> Vec<(f32, f32, f32)> {
            (0..=90)
                .map(|i| {
                    let t = i as f32 / 90.0;
                    let a = t * 5.0;
                    let p = if pressure { 0.3 + 0.5 * t } else { 0.5 };
                    (
                        300.0 + 180.0 * a.cos() * (1.0 - 0.3 * t),
                        250.0 + 180.0 * a.sin(),
                        p,
                    )
                })
                .collect()
        };
        // A scribble: sharp reversals, steps shorter than the radius, changing pressure.
        let mut seed = 7u32;
        let mut rand = move || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 16) as f32 / 65_536.0
        };
        let mut scribble = vec![(300.0f32, 250.0f32, 0.5f32)];
        for i in 0..160 {
            let (x, y, _) = scribble[scribble.len() - 1];
            let step = if i % 7 == 0 { 60.0 } else { 6.0 };
            let (dx, dy) = (rand() * 2.0 - 1.0, rand() * 2.0 - 1.0);
            scribble.push((
                (x + dx * step).clamp(60.0, 540.0),
                (y + dy * step).clamp(60.0, 440.0),
                0.2 + 0.7 * rand(),
            ));
        }
        let mut cases = vec![
            ("constant".to_owned(), curve(false)),
            ("pressure".to_owned(), curve(true)),
            ("scribble".to_owned(), scribble),
        ];
        // Straight lines at every angle, points rounded to 1/100 px as the browser sends them:
        // nearly collinear joins whose normals differ by a rounding error.
        for deg in (0..360).step_by(15) {
            let a = (deg as f32).to_radians();
            let round = |v: f32| (v * 100.0).round() / 100.0;
            let line = (0..=6)
                .map(|k| {
                    let d = 40.0 + 30.0 * k as f32;
                    (round(300.0 + d * a.cos()), round(250.0 + d * a.sin()), 0.5)
                })
                .collect();
            cases.push((format!("line at {deg} degrees"), line));
        }
        let width = 40.0;
        for (name, pts) in cases {
            let mut c = Canvas::new(600, 500).expect("size");
            c.apply(&mut Op::Stroke(Stroke {
                tool: Tool::Pen,
                color: Rgba {
                    r: 0,
                    g: 120,
                    b: 0,
                    a: 128,
                },
                width,
                points: pts.iter().flat_map(|&(x, y, p)| [x, y, p]).collect(),
            }));
            let snap = c.snapshot();
            let mut inside = 0;
            for y in 0..500u32 {
                for x in 0..600u32 {
                    // Deep inside: nearer the polyline than the radius there, less 1.5 px.
                    let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                    let deep = pts.windows(2).any(|w| {
                        let ((ax, ay, ap), (bx, by, bp)) = (w[0], w[1]);
                        let (dx, dy) = (bx - ax, by - ay);
                        let len2 = (dx * dx + dy * dy).max(1e-9);
                        let t = (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0);
                        let (qx, qy) = (ax + t * dx - px, ay + t * dy - py);
                        (qx * qx + qy * qy).sqrt() < stroke_radius(width, ap.min(bp)) - 1.5
                    });
                    if deep {
                        inside += 1;
                        let a = snap.pixel(x, y).map(|p| p.a);
                        assert_eq!(a, Some(128), "{name}: pixel {x},{y} inside the stroke");
                    }
                }
            }
            assert!(inside > 1_000, "{name}: checked {inside} pixels");
        }
    }

    #[test]
    fn tiles_get_only_the_contours_that_reach_them() {
        let g = stroke_geometry(&[10.0, 10.0, 0.5, 100.0, 10.0, 0.5, 600.0, 10.0, 0.5], 8.0);
        assert!(g.path_within(300.0, 300.0, 556.0, 556.0).is_none());
        assert!(g.path_within(0.0, 0.0, 256.0, 256.0).is_some());
    }
}
