/**
 * A small line chart drawn on a `<canvas>`: several series over time, with a y axis in bytes
 * (rounded tick steps), a time x axis, grid lines and an empty-state message. Sharp on HiDPI
 * screens (the backing store follows devicePixelRatio).
 * @module
 */
import { formatBytes } from './common.js';

const PAD = { left: 78, right: 18, top: 16, bottom: 40 };
const AXIS_COLOR = '#5c6b7a';
const GRID_COLOR = '#e6ebf1';
const FONT = '12px system-ui, sans-serif';

/** A "nice" tick step (1, 2 or 5 times a power of ten) giving about `count` ticks up to `max`. */
function niceStep(max, count = 5) {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  const factor = unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10;
  return factor * power;
}

function timeLabel(ms, spanMs) {
  const date = new Date(ms);
  const options =
    spanMs > 86_400_000
      ? { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }
      : { hour: '2-digit', minute: '2-digit' };
  return date.toLocaleTimeString([], options);
}

function prepare(canvas) {
  const ratio = devicePixelRatio || 1;
  const width = Math.max(canvas.clientWidth, 300);
  const height = Math.max(canvas.clientHeight, 200);
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  g.font = FONT;
  return { g, width, height };
}

function drawYAxis(g, box, maxY, step, unitLabel) {
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (let value = 0; value <= maxY + step / 2; value += step) {
    const y = box.bottom - (value / maxY) * (box.bottom - box.top);
    g.strokeStyle = GRID_COLOR;
    g.beginPath();
    g.moveTo(box.left, y);
    g.lineTo(box.right, y);
    g.stroke();
    g.fillStyle = AXIS_COLOR;
    g.fillText(formatBytes(value), box.left - 8, y);
  }
  g.save();
  g.translate(14, (box.top + box.bottom) / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = 'center';
  g.fillText(unitLabel, 0, 0);
  g.restore();
}

function drawXAxis(g, box, minT, maxT) {
  const span = Math.max(maxT - minT, 1);
  const ticks = Math.max(2, Math.min(8, Math.floor((box.right - box.left) / 110)));
  g.textBaseline = 'top';
  for (let i = 0; i <= ticks; i++) {
    const t = minT + (span * i) / ticks;
    const x = box.left + ((t - minT) / span) * (box.right - box.left);
    g.strokeStyle = AXIS_COLOR;
    g.beginPath();
    g.moveTo(x, box.bottom);
    g.lineTo(x, box.bottom + 5);
    g.stroke();
    g.fillStyle = AXIS_COLOR;
    g.textAlign = i === 0 ? 'left' : i === ticks ? 'right' : 'center';
    g.fillText(timeLabel(t, span), x, box.bottom + 8);
  }
  g.strokeStyle = AXIS_COLOR;
  g.beginPath();
  g.moveTo(box.left, box.top);
  g.lineTo(box.left, box.bottom);
  g.lineTo(box.right, box.bottom);
  g.stroke();
}

function drawSeries(g, box, points, scale, series) {
  g.strokeStyle = series.color;
  g.lineWidth = 2;
  g.lineJoin = 'round';
  g.beginPath();
  points.forEach((point, index) => {
    const x = scale.x(point.t);
    const y = scale.y(Number(point[series.key]) || 0);
    if (index === 0) g.moveTo(x, y);
    else g.lineTo(x, y);
  });
  g.stroke();
  g.lineWidth = 1;
  if (points.length === 1) {
    const only = points[0];
    g.fillStyle = series.color;
    g.beginPath();
    g.arc(scale.x(only.t), scale.y(Number(only[series.key]) || 0), 3, 0, 2 * Math.PI);
    g.fill();
  }
}

/**
 * Draws `points` (`{ t: epoch ms, [series.key]: number }`, sorted by t) as lines.
 * @param {HTMLCanvasElement} canvas
 * @param {{ points: object[], series: { key: string, color: string }[], unitLabel: string,
 *   emptyText: string, minT?: number, maxT?: number }} spec
 */
export function drawLineChart(canvas, spec) {
  const { g, width, height } = prepare(canvas);
  const box = {
    left: PAD.left,
    right: width - PAD.right,
    top: PAD.top,
    bottom: height - PAD.bottom,
  };
  const points = spec.points;
  const minT = spec.minT ?? points[0]?.t ?? Date.now() - 3_600_000;
  const maxT = spec.maxT ?? points[points.length - 1]?.t ?? Date.now();
  let maxValue = 0;
  for (const point of points) {
    for (const series of spec.series) maxValue = Math.max(maxValue, Number(point[series.key]) || 0);
  }
  const step = niceStep(maxValue || 1000);
  const maxY = Math.max(step, Math.ceil((maxValue || 1000) / step) * step);
  drawYAxis(g, box, maxY, step, spec.unitLabel);
  drawXAxis(g, box, minT, maxT);
  const span = Math.max(maxT - minT, 1);
  const scale = {
    x: (t) => box.left + ((t - minT) / span) * (box.right - box.left),
    y: (v) => box.bottom - (v / maxY) * (box.bottom - box.top),
  };
  for (const series of spec.series) drawSeries(g, box, points, scale, series);
  if (points.length === 0) {
    g.fillStyle = AXIS_COLOR;
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.font = '14px system-ui, sans-serif';
    g.fillText(spec.emptyText, (box.left + box.right) / 2, (box.top + box.bottom) / 2);
  }
  canvas.setAttribute('aria-label', `${spec.unitLabel}: ${points.length} samples`);
}
