// Stroke geometry, identical to src/canvas/stroke.rs: the union of a disc at every point (radius
// from pressure) and the hull of each pair of consecutive discs, drawn as outlines the way a
// stroker does: down one side along the outer tangents, a round cap, back along the other side, a
// round cap; at joins the outer side follows the disc and the inner side pivots through the point.
// Long strokes are cut into runs of 32 points that share end points and overlap in their caps.
// Arcs are polygons with vertices on the circle. Filled with the non-zero rule, a stroke never
// darkens where it overlaps itself.

import { drawText } from './text.js';

const ARC_TOLERANCE = 0.05;
const RUN = 32;

/**
 * Pen radius at a pressure: pressure 0.5 (a mouse) draws exactly `width`.
 * @param {number} width
 * @param {number} pressure
 */
export function strokeRadius(width, pressure) {
  return width * 0.5 * (0.25 + 1.5 * Math.min(1, Math.max(0, pressure)));
}

/** @param {number} r @param {number} angle */
function arcSteps(r, angle) {
  const step = r <= ARC_TOLERANCE ? Math.PI / 2 : Math.max(0.01, 2 * Math.acos(1 - ARC_TOLERANCE / r));
  return Math.min(256, Math.max(1, Math.ceil(Math.abs(angle) / step)));
}

/**
 * Adds a closed polygon wound with positive area (y down).
 * @param {Path2D} path
 * @param {number[][]} pts
 */
function contour(path, pts) {
  let area = 0;
  for (let i = 0; i < pts.length; i++) {
    const [ax, ay] = pts[i];
    const [bx, by] = pts[(i + 1) % pts.length];
    area += ax * by - bx * ay;
  }
  if (area < 0) pts.reverse();
  path.moveTo(pts[0][0], pts[0][1]);
  for (let i = 1; i < pts.length; i++) path.lineTo(pts[i][0], pts[i][1]);
  path.closePath();
}

/** @param {Path2D} path @param {number[]} p [x, y, r] */
function disc(path, p) {
  const [x, y, r] = p;
  const n = Math.max(8, arcSteps(r, Math.PI * 2));
  const pts = [];
  for (let i = 0; i < n; i++) {
    const a = (i * Math.PI * 2) / n;
    pts.push([x + r * Math.cos(a), y + r * Math.sin(a)]);
  }
  contour(path, pts);
}

/** @param {number} a @param {number} m */
const mod = (a, m) => ((a % m) + m) % m;

/**
 * Appends the arc around p from normal `from`, sweeping `delta` radians, to `to` (both ends
 * exactly as given).
 * @param {number[]} p [x, y, r] @param {number[]} from @param {number[]} to @param {number} delta
 * @param {number[][]} out
 */
function pushArc(p, from, to, delta, out) {
  const [x, y, r] = p;
  const a0 = Math.atan2(from[1], from[0]);
  out.push([x + r * from[0], y + r * from[1]]);
  const n = arcSteps(r, delta);
  for (let i = 1; i < n; i++) {
    const a = a0 + (delta * i) / n;
    out.push([x + r * Math.cos(a), y + r * Math.sin(a)]);
  }
  out.push([x + r * to[0], y + r * to[1]]);
}

/**
 * The sweep from `from` to `to` that turns the way whose sweep contains the direction `via`.
 * @param {number[]} from @param {number[]} to @param {number[]} via
 */
function sweepVia(from, to, via) {
  const tau = Math.PI * 2;
  const a0 = Math.atan2(from[1], from[0]);
  const ccw = mod(Math.atan2(to[1], to[0]) - a0, tau);
  const viaCcw = mod(Math.atan2(via[1], via[0]) - a0, tau);
  return viaCcw <= ccw ? ccw : ccw - tau;
}

/**
 * A cap's arc: around the far side, through `via`.
 * @param {number[]} p @param {number[]} from @param {number[]} to @param {number[]} via @param {number[][]} out
 */
function arcVia(p, from, to, via, out) {
  pushArc(p, from, to, sweepVia(from, to, via), out);
}

/**
 * A join's arc: always the shorter way, except for a turn back (normals nearly opposite), which
 * goes through `ahead`. Nearly collinear points must never send the arc the long way round.
 * @param {number[]} p @param {number[]} from @param {number[]} to @param {number[]} ahead @param {number[][]} out
 */
function arcJoin(p, from, to, ahead, out) {
  let short = Math.atan2(to[1], to[0]) - Math.atan2(from[1], from[0]);
  if (short > Math.PI) short -= Math.PI * 2;
  else if (short < -Math.PI) short += Math.PI * 2;
  pushArc(p, from, to, Math.abs(short) > Math.PI - 1e-3 ? sweepVia(from, to, ahead) : short, out);
}

/**
 * Unit normals of the outer tangents of two discs, or null when one contains the other.
 * @param {number[]} p [x, y, r] @param {number[]} q [x, y, r]
 * @returns {number[][] | null}
 */
function tangentNormals(p, q) {
  const dx = q[0] - p[0];
  const dy = q[1] - p[1];
  const d = Math.hypot(dx, dy);
  if (d <= Math.abs(q[2] - p[2]) || d < 1e-3) return null;
  const ux = dx / d;
  const uy = dy / d;
  const a = (p[2] - q[2]) / d;
  const b = Math.sqrt(Math.max(0, 1 - a * a));
  return [[a * ux - b * uy, a * uy + b * ux], [a * ux + b * uy, a * uy - b * ux]];
}

/** Cosine of the sharpest turn kept inside one outline; sharper turns start a new run. */
const SHARP_TURN_COS = 0.5;

/** Whether the path turns by less than 60 degrees at b. @param {number[]} a @param {number[]} b @param {number[]} c */
function gentle(a, b, c) {
  const u = direction(a, b);
  const v = direction(b, c);
  return u[0] * v[0] + u[1] * v[1] >= SHARP_TURN_COS;
}

/** @param {number[]} p @param {number[]} q */
function direction(p, q) {
  const d = Math.max(1e-6, Math.hypot(q[0] - p[0], q[1] - p[1]));
  return [(q[0] - p[0]) / d, (q[1] - p[1]) / d];
}

/** @param {number[]} p [x, y, r] @param {number[]} m */
const at = (p, m) => [p[0] + p[2] * m[0], p[1] + p[2] * m[1]];

/**
 * The outline of a run of points whose segments all have normals.
 * @param {Path2D} path @param {number[][]} pts @param {number[][][]} normals
 */
function outline(path, pts, normals) {
  const n = pts.length - 1;
  const dirs = [];
  for (let i = 0; i < n; i++) dirs.push(direction(pts[i], pts[i + 1]));
  /** @type {number[][]} */
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(at(pts[i], normals[i][0]), at(pts[i + 1], normals[i][0]));
    if (i + 1 < n) {
      const u = dirs[i];
      const v = dirs[i + 1];
      if (u[0] * v[1] - u[1] * v[0] < 0) {
        arcJoin(pts[i + 1], normals[i][0], normals[i + 1][0], u, out);
      } else {
        out.push([pts[i + 1][0], pts[i + 1][1]]);
      }
    }
  }
  arcVia(pts[n], normals[n - 1][0], normals[n - 1][1], dirs[n - 1], out);
  for (let i = n - 1; i >= 0; i--) {
    out.push(at(pts[i + 1], normals[i][1]), at(pts[i], normals[i][1]));
    if (i > 0) {
      const u = dirs[i - 1];
      const v = dirs[i];
      if (u[0] * v[1] - u[1] * v[0] > 0) {
        arcJoin(pts[i], normals[i][1], normals[i - 1][1], v, out);
      } else {
        out.push([pts[i][0], pts[i][1]]);
      }
    }
  }
  arcVia(pts[0], normals[0][1], normals[0][0], [-dirs[0][0], -dirs[0][1]], out);
  contour(path, out);
}

/**
 * Builds the fill path of a stroke.
 * @param {number[]} points flat [x, y, pressure, ...]
 * @param {number} width nominal width
 * @returns {Path2D}
 */
export function strokePath(points, width) {
  const path = new Path2D();
  /** @type {number[][]} */
  const pts = [];
  for (let i = 0; i + 2 < points.length; i += 3) pts.push([points[i], points[i + 1], strokeRadius(width, points[i + 2])]);
  const normals = [];
  for (let i = 0; i + 1 < pts.length; i++) normals.push(tangentNormals(pts[i], pts[i + 1]));
  /** @param {number} i */
  const bigger = (i) => (pts[i + 1][2] > pts[i][2] ? pts[i + 1] : pts[i]);
  let start = 0;
  while (start < pts.length) {
    let end = start;
    while (end + 1 < pts.length && end - start + 1 < RUN && normals[end]
      && (end === start || gentle(pts[end - 1], pts[end], pts[end + 1]))) end += 1;
    if (end === start) {
      const p = start + 1 < pts.length ? bigger(start) : pts[start];
      if (p[2] > 0) disc(path, p);
      start += 1;
      continue;
    }
    outline(path, pts.slice(start, end + 1), /** @type {number[][][]} */ (normals.slice(start, end)));
    if (end + 1 >= pts.length) break;
    if (!normals[end]) {
      disc(path, bigger(end));
      start = end + 1;
    } else {
      start = end;
    }
  }
  return path;
}

/**
 * Fills a stroke into a 2D context.
 * @param {CanvasRenderingContext2D} ctx
 * @param {{color: string, width: number, points: number[]}} stroke
 */
export function drawStroke(ctx, stroke) {
  if (stroke.points.length < 3) return;
  ctx.fillStyle = stroke.color;
  ctx.fill(strokePath(stroke.points, stroke.width), 'nonzero');
}

/** Opacity factor of the highlighter (src/canvas/op.rs HIGHLIGHTER_ALPHA). */
export const HIGHLIGHTER_ALPHA = 0.35;

/**
 * @typedef {{kind: 'stroke', tool: string, color: string, width: number, points: number[]}} StrokeItem
 * @typedef {{kind: 'shape', shape: 'line' | 'rect' | 'ellipse', x0: number, y0: number, x1: number,
 *   y1: number, color: string, width: number, fill: boolean}} ShapeItem
 * @typedef {{kind: 'clear'}} ClearItem
 * @typedef {import('./text.js').TextItem} TextItem
 * @typedef {StrokeItem | ShapeItem | ClearItem | TextItem} Item
 */

/**
 * Paints an op the way the server does (src/canvas/op.rs).
 * @param {CanvasRenderingContext2D} ctx
 * @param {Item} item
 * @param {{preview?: boolean}} [opts] preview: show erasers as a grey trail instead of erasing
 */
export function drawItem(ctx, item, { preview = false } = {}) {
  ctx.save();
  if (item.kind === 'clear') {
    ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  } else if (item.kind === 'stroke') {
    let points = item.points;
    if (item.tool === 'highlighter') {
      points = points.slice();
      for (let i = 2; i < points.length; i += 3) points[i] = 0.5;
      ctx.globalAlpha = HIGHLIGHTER_ALPHA;
    }
    if (item.tool === 'eraser') {
      if (preview) {
        ctx.globalAlpha = 0.35;
        drawStroke(ctx, { color: '#868e96', width: item.width, points });
      } else {
        ctx.globalCompositeOperation = 'destination-out';
        drawStroke(ctx, { color: '#000000', width: item.width, points });
      }
    } else {
      drawStroke(ctx, { color: item.color, width: item.width, points });
    }
  } else if (item.kind === 'text') {
    drawText(ctx, item);
  } else {
    drawShape(ctx, item);
  }
  ctx.restore();
}

/**
 * @param {CanvasRenderingContext2D} ctx
 * @param {ShapeItem} s
 */
function drawShape(ctx, s) {
  if (s.shape === 'line') {
    drawStroke(ctx, { color: s.color, width: s.width, points: [s.x0, s.y0, 0.5, s.x1, s.y1, 0.5] });
    return;
  }
  const x = Math.min(s.x0, s.x1);
  const y = Math.min(s.y0, s.y1);
  const w = Math.abs(s.x1 - s.x0);
  const h = Math.abs(s.y1 - s.y0);
  const path = new Path2D();
  if (s.shape === 'rect') path.rect(x, y, w, h);
  else path.ellipse(x + w / 2, y + h / 2, w / 2, h / 2, 0, 0, Math.PI * 2);
  if (s.fill) {
    ctx.fillStyle = s.color;
    ctx.fill(path, 'nonzero');
  } else {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = s.width;
    ctx.lineJoin = 'miter';
    ctx.lineCap = 'butt';
    ctx.stroke(path);
  }
}
