// Stroke geometry, identical to src/canvas/stroke.rs: a disc at every point (radius from
// pressure) plus the tangent quadrilateral between consecutive discs, all wound the same way and
// filled with the non-zero rule, so a translucent stroke never darkens where it overlaps itself.

/**
 * Pen radius at a pressure: pressure 0.5 (a mouse) draws exactly `width`.
 * @param {number} width
 * @param {number} pressure
 */
export function strokeRadius(width, pressure) {
  return width * 0.5 * (0.25 + 1.5 * Math.min(1, Math.max(0, pressure)));
}

/**
 * Builds the fill path of a stroke.
 * @param {number[]} points flat [x, y, pressure, ...]
 * @param {number} width nominal width
 * @returns {Path2D}
 */
export function strokePath(points, width) {
  const path = new Path2D();
  const count = Math.floor(points.length / 3);
  for (let i = 0; i < count; i++) {
    const x = points[i * 3];
    const y = points[i * 3 + 1];
    const r = strokeRadius(width, points[i * 3 + 2]);
    if (r > 0) {
      path.moveTo(x + r, y);
      path.arc(x, y, r, 0, Math.PI * 2, false);
      path.closePath();
    }
    if (i + 1 < count) {
      pushHull(path, x, y, r, points[i * 3 + 3], points[i * 3 + 4],
        strokeRadius(width, points[i * 3 + 5]));
    }
  }
  return path;
}

/**
 * Adds the quadrilateral between two discs' outer tangents, wound like the circles.
 * @param {Path2D} path
 * @param {number} x0 @param {number} y0 @param {number} r0
 * @param {number} x1 @param {number} y1 @param {number} r1
 */
function pushHull(path, x0, y0, r0, x1, y1, r1) {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const d = Math.hypot(dx, dy);
  if (d <= Math.abs(r1 - r0) || d < 1e-3) return;
  const ux = dx / d;
  const uy = dy / d;
  const a = (r0 - r1) / d;
  const b = Math.sqrt(Math.max(0, 1 - a * a));
  const m1x = a * ux - b * uy;
  const m1y = a * uy + b * ux;
  const m2x = a * ux + b * uy;
  const m2y = a * uy - b * ux;
  const quad = [
    [x0 + r0 * m1x, y0 + r0 * m1y],
    [x1 + r1 * m1x, y1 + r1 * m1y],
    [x1 + r1 * m2x, y1 + r1 * m2y],
    [x0 + r0 * m2x, y0 + r0 * m2y],
  ];
  let area = 0;
  for (let i = 0; i < 4; i++) {
    const [ax, ay] = quad[i];
    const [bx, by] = quad[(i + 1) % 4];
    area += ax * by - bx * ay;
  }
  if (area < 0) quad.reverse();
  path.moveTo(quad[0][0], quad[0][1]);
  for (let i = 1; i < 4; i++) path.lineTo(quad[i][0], quad[i][1]);
  path.closePath();
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
 * @typedef {StrokeItem | ShapeItem | ClearItem} Item
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
