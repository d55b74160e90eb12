// A heat map on a canvas: rows x columns of values in [0, 1] (null: no
// file), a fixed 0-100% colour scale (so pictures of different horizons
// and sides compare at a glance), the value printed in each cell.

// Viridis at 5 stops: perceptually even, readable in grey and by most
// colour-blind readers.
const VIRIDIS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

export function colour(v) {
  const x = Math.min(1, Math.max(0, v)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  return VIRIDIS[i].map((c, k) => Math.round(c + f * (VIRIDIS[i + 1][k] - c)));
}

/**
 * @param {HTMLCanvasElement} canvas
 * @param {object} spec
 * @param {number[]} spec.rows      row values (targets), top to bottom
 * @param {number[]} spec.cols      column values (stops), left to right
 * @param {(r: number, c: number) => number|null} spec.value
 * @param {string} spec.title
 * @param {string} spec.rowName
 * @param {string} spec.colName
 */
export function drawHeatMap(canvas, { rows, cols, value, title, rowName, colName }) {
  const g = canvas.getContext("2d");
  const W = canvas.width;
  const H = canvas.height;
  g.clearRect(0, 0, W, H);
  g.fillStyle = "#1d2330";
  g.font = "bold 14px system-ui, sans-serif";
  g.textAlign = "left";
  g.textBaseline = "top";
  g.fillText(title, 12, 10);
  if (rows.length === 0 || cols.length === 0) {
    g.font = "13px system-ui, sans-serif";
    g.fillStyle = "#5b6272";
    g.fillText("No label files for this horizon in OPFS yet: start a run.", 12, 40);
    return;
  }
  const left = 78;
  const top = 66;
  const right = 80; // room for the legend
  const bottom = 44;
  const cw = (W - left - right) / cols.length;
  const ch = (H - top - bottom) / rows.length;

  g.font = "12px system-ui, sans-serif";
  g.textAlign = "center";
  g.textBaseline = "middle";
  rows.forEach((r, i) => {
    cols.forEach((c, j) => {
      const v = value(r, c);
      const x = left + j * cw;
      const y = top + i * ch;
      if (v == null) {
        g.fillStyle = "#e3e6eb";
        g.fillRect(x + 1, y + 1, cw - 2, ch - 2);
        g.fillStyle = "#8a90a0";
        g.fillText("–", x + cw / 2, y + ch / 2);
        return;
      }
      const [red, green, blue] = colour(v);
      g.fillStyle = `rgb(${red},${green},${blue})`;
      g.fillRect(x + 1, y + 1, cw - 2, ch - 2);
      // Dark text on the light end of the scale, light text elsewhere.
      g.fillStyle = v > 0.6 ? "#1d2330" : "#ffffff";
      g.fillText(`${(v * 100).toFixed(cw > 60 ? 1 : 0)}%`, x + cw / 2, y + ch / 2);
    });
  });

  // Axes: stops along the top, targets down the left.
  g.fillStyle = "#1d2330";
  cols.forEach((c, j) => g.fillText(String(c), left + j * cw + cw / 2, top - 10));
  g.textAlign = "right";
  rows.forEach((r, i) => g.fillText(String(r), left - 8, top + i * ch + ch / 2));
  g.textAlign = "center";
  g.fillText(colName, left + (cols.length * cw) / 2, top - 28);
  g.save();
  g.translate(18, top + (rows.length * ch) / 2);
  g.rotate(-Math.PI / 2);
  g.fillText(rowName, 0, 0);
  g.restore();

  // Legend: the fixed 0-100% scale.
  const lx = W - right + 24;
  const lh = H - top - bottom;
  for (let k = 0; k < lh; k++) {
    const [red, green, blue] = colour(1 - k / (lh - 1));
    g.fillStyle = `rgb(${red},${green},${blue})`;
    g.fillRect(lx, top + k, 14, 1);
  }
  g.fillStyle = "#1d2330";
  g.textAlign = "left";
  for (const p of [0, 0.25, 0.5, 0.75, 1]) g.fillText(`${p * 100}%`, lx + 18, top + (1 - p) * (lh - 1));
}
