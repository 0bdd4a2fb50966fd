// A fixed set of ops for comparing the browser's rendering with the server's: pens with and
// without pressure, thin and thick, translucent, highlighter, eraser, shapes.

/** @returns {Array<{msg: object, item: import('../../frontend/js/render/stroke.js').Item}>} */
export function fidelityOps() {
  /** @type {Array<{msg: object, item: any}>} */
  const ops = [];
  let id = 1;
  /**
   * @param {string} tool @param {string} color @param {number} width
   * @param {(t: number) => [number, number, number]} f @param {number} n
   */
  const stroke = (tool, color, width, f, n) => {
    const points = [];
    for (let i = 0; i <= n; i++) points.push(...f(i / n).map((v) => Math.round(v * 100) / 100));
    ops.push({
      msg: { type: 'stroke_begin', stroke: id, tool, color, width, points },
      item: { kind: 'stroke', tool, color, width, points },
    });
    id += 1;
  };
  stroke('pen', '#1f1f1f', 3, (t) => [40 + 500 * t, 60 + 40 * Math.sin(t * 6), 0.5], 60);
  stroke('pen', '#e03131', 12, (t) => [60 + 480 * t, 160 + 60 * Math.sin(t * 9), 0.2 + 0.8 * t], 120);
  stroke('pen', '#1971c2', 24, (t) => [80 + 300 * t, 300 + 200 * t * t, 0.5], 40);
  stroke('pen', '#2f9e4480', 30, (t) => [500 + 150 * Math.cos(t * 7), 380 + 150 * Math.sin(t * 7), 0.5], 90);
  stroke('highlighter', '#f08c00', 28, (t) => [40 + 700 * t, 520 + 10 * Math.sin(t * 20), 0.9], 70);
  stroke('pen', '#7048e8', 1, (t) => [700 + 50 * Math.cos(t * 30), 100 + 80 * t, 0.5], 150);
  stroke('eraser', '#000000', 16, (t) => [300 + 10 * t, 40 + 520 * t, 0.5], 50);
  /** @param {object} s */
  const shape = (s) => {
    const msg = { type: 'shape', id, ...s };
    ops.push({ msg, item: { kind: 'shape', ...s } });
    id += 1;
  };
  shape({ shape: 'rect', x0: 560, y0: 420, x1: 760, y1: 560, color: '#e64980', width: 6, fill: false });
  shape({ shape: 'ellipse', x0: 600, y0: 200, x1: 780, y1: 330, color: '#1f1f1f', width: 4, fill: false });
  shape({ shape: 'ellipse', x0: 620, y0: 230, x1: 700, y1: 300, color: '#4dabf7', width: 4, fill: true });
  shape({ shape: 'line', x0: 20, y0: 580, x1: 780, y1: 450, color: '#343a40', width: 5, fill: false });
  return ops;
}
