import { formatCount, formatMs, formatRate, hintsFor } from './report-text.js';
import type { HistogramBucket, LoadResult, SeriesPoint } from './run-load.js';

/**
 * A self-contained HTML report of a load run: inline CSS and SVG, no script, no font, no
 * image, nothing fetched when it is opened. The raw result is included (collapsed) so the
 * page is also the record.
 */

/** Escapes text for HTML text and attribute values. `://` is written `&#58;//`, so the page holds no literal URL. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    .replace(/:\/\//g, '&#58;//');
}

const fmt = (value: number) => (Number.isFinite(value) ? Number(value.toFixed(1)).toString() : '0');

// --- scales -------------------------------------------------------------------------------

interface Scale {
  (value: number): number;
  ticks: number[];
}

function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

function linearScale(min: number, max: number, from: number, to: number, tickCount = 5): Scale {
  const step = niceStep(max - min || 1, tickCount);
  const lo = Math.floor(min / step) * step;
  const hi = Math.max(lo + step, Math.ceil(max / step) * step);
  const scale = ((value: number) => from + ((value - lo) / (hi - lo)) * (to - from)) as Scale;
  scale.ticks = [];
  for (let v = lo; v <= hi + step / 2; v += step) scale.ticks.push(Number(v.toPrecision(12)));
  return scale;
}

function logScale(min: number, max: number, from: number, to: number): Scale {
  const lo = Math.log10(Math.max(min, 1e-6));
  const hi = Math.max(lo + 0.1, Math.log10(Math.max(max, min * 1.01)));
  const scale = ((value: number) => from + ((Math.log10(Math.max(value, 1e-9)) - lo) / (hi - lo)) * (to - from)) as Scale;
  const ticks: number[] = [];
  const decades = hi - lo;
  const mantissas = decades > 4 ? [1] : decades > 2 ? [1, 3] : [1, 2, 5];
  for (let power = Math.floor(lo); power <= Math.ceil(hi); power++) {
    for (const m of mantissas) {
      const v = m * 10 ** power;
      const l = Math.log10(v);
      if (l >= lo - 1e-9 && l <= hi + 1e-9) ticks.push(Number(v.toPrecision(6)));
    }
  }
  scale.ticks = ticks;
  return scale;
}

function tickLabelMs(ms: number): string {
  if (ms >= 1000) return `${Number((ms / 1000).toPrecision(3))} s`;
  if (ms >= 1) return `${Number(ms.toPrecision(3))} ms`;
  return `${Number((ms * 1000).toPrecision(3))} µs`;
}

function tickLabelCount(value: number): string {
  if (value >= 1_000_000) return `${Number((value / 1_000_000).toPrecision(3))}M`;
  if (value >= 10_000) return `${Number((value / 1000).toPrecision(3))}k`;
  return formatCount(value);
}

// --- charts -------------------------------------------------------------------------------

const width = 860;
const margin = { left: 64, right: 20, top: 18, bottom: 44 };

const colors = {
  bar: '#4c6ef5',
  barOver: '#e03131',
  budget: '#c2255c',
  p50: '#1971c2',
  p99: '#e8590c',
  max: '#868e96',
  rps: '#37b24d',
  errors: '#e03131',
  grid: '#e9ecef',
  axis: '#495057',
} as const;

function frame(id: string, title: string, height: number, body: string): string {
  return `<svg id="${id}" class="chart" role="img" aria-labelledby="${id}-title" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"><title id="${id}-title">${escapeHtml(title)}</title>${body}</svg>`;
}

function xAxis(scale: Scale, y: number, label: string, format: (v: number) => string, plotTop: number): string {
  let out = `<line x1="${margin.left}" x2="${width - margin.right}" y1="${fmt(y)}" y2="${fmt(y)}" stroke="${colors.axis}"/>`;
  for (const tick of scale.ticks) {
    const x = scale(tick);
    if (x < margin.left - 0.5 || x > width - margin.right + 0.5) continue;
    out += `<line x1="${fmt(x)}" x2="${fmt(x)}" y1="${plotTop}" y2="${fmt(y)}" stroke="${colors.grid}"/>`;
    out += `<text x="${fmt(x)}" y="${fmt(y + 15)}" text-anchor="middle" class="tick">${escapeHtml(format(tick))}</text>`;
  }
  out += `<text x="${fmt((margin.left + width - margin.right) / 2)}" y="${fmt(y + 34)}" text-anchor="middle" class="axis-label">${escapeHtml(label)}</text>`;
  return out;
}

function yAxis(scale: Scale, label: string, format: (v: number) => string, plotBottom: number): string {
  let out = `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${plotBottom}" stroke="${colors.axis}"/>`;
  for (const tick of scale.ticks) {
    const y = scale(tick);
    if (y < margin.top - 0.5 || y > plotBottom + 0.5) continue;
    out += `<line x1="${margin.left}" x2="${width - margin.right}" y1="${fmt(y)}" y2="${fmt(y)}" stroke="${colors.grid}"/>`;
    out += `<text x="${margin.left - 6}" y="${fmt(y + 4)}" text-anchor="end" class="tick">${escapeHtml(format(tick))}</text>`;
  }
  out += `<text transform="translate(14 ${fmt((margin.top + plotBottom) / 2)}) rotate(-90)" text-anchor="middle" class="axis-label">${escapeHtml(label)}</text>`;
  return out;
}

function emptyChart(id: string, title: string, height: number, message: string): string {
  return frame(id, title, height, `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="empty">${escapeHtml(message)}</text>`);
}

/** Latency histogram: log-spaced buckets, a vertical line at timeout_ms, markers at p50/p99/p99.9. */
export function renderLatencyHistogram(result: LoadResult): string {
  const id = 'latency-histogram';
  const title = `Latency histogram (log-scaled buckets), timeout_ms ${result.timeoutMs}`;
  const height = 320;
  const buckets: HistogramBucket[] = result.histogram;
  if (buckets.length === 0) return emptyChart(id, title, height, 'no answers were received');
  const plotBottom = height - margin.bottom;
  const first = buckets[0] as HistogramBucket;
  const last = buckets[buckets.length - 1] as HistogramBucket;
  const lo = Math.min(first.fromMs, result.timeoutMs / 1.3);
  const hi = Math.max(last.toMs * 1.15, result.timeoutMs * 1.3);
  const x = logScale(lo, hi, margin.left, width - margin.right);
  const maxCount = Math.max(...buckets.map((b) => b.count), 1);
  const y = linearScale(0, maxCount, plotBottom, margin.top);
  let body = yAxis(y, 'answers', tickLabelCount, plotBottom);
  body += xAxis(x, plotBottom, 'latency (log scale)', tickLabelMs, margin.top);
  for (const bucket of buckets) {
    if (bucket.count === 0) continue;
    const x0 = x(bucket.fromMs);
    const x1 = x(bucket.toMs);
    const top = y(bucket.count);
    const over = bucket.fromMs >= result.timeoutMs;
    body += `<rect x="${fmt(x0 + 0.5)}" y="${fmt(top)}" width="${fmt(Math.max(1, x1 - x0 - 1))}" height="${fmt(Math.max(0.5, plotBottom - top))}" fill="${over ? colors.barOver : colors.bar}"><title>${escapeHtml(`${formatMs(bucket.fromMs)} – ${formatMs(bucket.toMs)}: ${formatCount(bucket.count)} answers`)}</title></rect>`;
  }
  const markers: [string, number, string][] = [
    ['p50', result.latencyMs.p50, colors.p50],
    ['p99', result.latencyMs.p99, colors.p99],
    ['p99.9', result.latencyMs.p999, colors.max],
  ];
  // Labels go right of their line, or left of it near the right edge; one row each.
  const label = (lx: number, row: number, color: string, text: string) => {
    const right = lx > width - margin.right - 150;
    return `<text x="${fmt(right ? lx - 4 : lx + 4)}" y="${margin.top + 12 + row * 14}"${right ? ' text-anchor="end"' : ''} class="marker" fill="${color}">${escapeHtml(text)}</text>`;
  };
  markers.forEach(([name, value, color], i) => {
    if (value <= 0) return;
    const mx = x(value);
    body += `<line x1="${fmt(mx)}" x2="${fmt(mx)}" y1="${margin.top}" y2="${plotBottom}" stroke="${color}" stroke-dasharray="2 3"/>`;
    body += label(mx, i + 1, color, `${name} ${formatMs(value)}`);
  });
  const bx = x(result.timeoutMs);
  body += `<line id="budget-line-histogram" x1="${fmt(bx)}" x2="${fmt(bx)}" y1="${margin.top}" y2="${plotBottom}" stroke="${colors.budget}" stroke-width="2" stroke-dasharray="6 4"/>`;
  body += label(bx, 0, colors.budget, `timeout_ms ${result.timeoutMs}`);
  return frame(id, title, height, body);
}

function midpoint(point: SeriesPoint): number {
  return Math.max(0, point.t - point.durationS / 2);
}

/** Polylines of one series, broken where a second had no answers. */
function seriesPath(points: SeriesPoint[], pick: (p: SeriesPoint) => number, x: Scale, y: Scale, color: string, name: string, dash = ''): string {
  let out = '';
  let segment: string[] = [];
  const flush = () => {
    if (segment.length === 1) {
      const [cx, cy] = (segment[0] as string).split(',');
      out += `<circle cx="${cx}" cy="${cy}" r="2.5" fill="${color}"/>`;
    } else if (segment.length > 1) {
      out += `<polyline points="${segment.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} stroke-linejoin="round"/>`;
    }
    segment = [];
  };
  for (const point of points) {
    const value = pick(point);
    if (point.requests === 0 || !(value > 0)) {
      flush();
      continue;
    }
    segment.push(`${fmt(x(midpoint(point)))},${fmt(y(value))}`);
  }
  flush();
  return `<g class="series" data-series="${escapeHtml(name)}">${out}</g>`;
}

function legend(items: [string, string, string?][], top: number): string {
  let out = '';
  let left = margin.left + 10;
  for (const [label, color, dash] of items) {
    out += `<line x1="${left}" x2="${left + 22}" y1="${top}" y2="${top}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`;
    out += `<text x="${left + 27}" y="${top + 4}" class="legend">${escapeHtml(label)}</text>`;
    left += 34 + label.length * 7;
  }
  return out;
}

/** Latency over time: p50, p99 and max per second (log scale), with the budget line. */
export function renderLatencyOverTime(result: LoadResult): string {
  const id = 'latency-over-time';
  const title = `Latency over time (p50, p99, max per second), timeout_ms ${result.timeoutMs}`;
  const height = 320;
  const points = result.series.filter((p) => p.requests > 0);
  if (points.length === 0) return emptyChart(id, title, height, 'no answers were received');
  const plotBottom = height - margin.bottom;
  const x = linearScale(0, Math.max(1, ...result.series.map((p) => p.t)), margin.left, width - margin.right, 8);
  const positive = points.flatMap((p) => [p.p50Ms, p.p99Ms, p.maxMs]).filter((v) => v > 0);
  const lo = Math.min(...positive, result.timeoutMs) / 1.5;
  const hi = Math.max(...positive, result.timeoutMs) * 1.5;
  const y = logScale(lo, hi, plotBottom, margin.top + 16);
  let body = yAxis(y, 'latency (log scale)', tickLabelMs, plotBottom);
  body += xAxis(x, plotBottom, 'seconds since start', (v) => `${v}s`, margin.top + 16);
  body += seriesPath(result.series, (p) => p.maxMs, x, y, colors.max, 'max');
  body += seriesPath(result.series, (p) => p.p99Ms, x, y, colors.p99, 'p99');
  body += seriesPath(result.series, (p) => p.p50Ms, x, y, colors.p50, 'p50');
  const by = y(result.timeoutMs);
  body += `<line id="budget-line-time" x1="${margin.left}" x2="${width - margin.right}" y1="${fmt(by)}" y2="${fmt(by)}" stroke="${colors.budget}" stroke-width="2" stroke-dasharray="6 4"/>`;
  body += `<text x="${width - margin.right - 4}" y="${fmt(by - 5)}" text-anchor="end" class="marker" fill="${colors.budget}">${escapeHtml(`timeout_ms ${result.timeoutMs}`)}</text>`;
  body += legend(
    [
      ['p50', colors.p50],
      ['p99', colors.p99],
      ['max', colors.max],
      ['budget (timeout_ms)', colors.budget, '6 4'],
    ],
    margin.top,
  );
  return frame(id, title, height, body);
}

/** Answers per second, with errors and non-2xx per second in red. */
export function renderThroughputOverTime(result: LoadResult): string {
  const id = 'throughput-over-time';
  const title = 'Answers per second (errors and non-2xx in red)';
  const height = 240;
  if (result.series.length === 0) return emptyChart(id, title, height, 'no data');
  const plotBottom = height - margin.bottom;
  const x = linearScale(0, Math.max(1, ...result.series.map((p) => p.t)), margin.left, width - margin.right, 8);
  const rates = result.series.map((p) => Math.max(p.rps, (p.errors + p.non2xx) / p.durationS));
  const y = linearScale(0, Math.max(1, ...rates), plotBottom, margin.top + 16);
  let body = yAxis(y, 'per second', tickLabelCount, plotBottom);
  body += xAxis(x, plotBottom, 'seconds since start', (v) => `${v}s`, margin.top + 16);
  for (const point of result.series) {
    const x0 = x(point.t - point.durationS);
    const x1 = x(point.t);
    const w = Math.max(1, x1 - x0 - 2);
    const top = y(point.rps);
    body += `<rect x="${fmt(x0 + 1)}" y="${fmt(top)}" width="${fmt(w)}" height="${fmt(Math.max(0, plotBottom - top))}" fill="${colors.rps}" opacity="0.85"><title>${escapeHtml(`${point.t}s: ${formatRate(point.rps)} answers/s, ${point.errors} errors, ${point.non2xx} non-2xx, ${point.budgetMisses} budget misses`)}</title></rect>`;
    const bad = (point.errors + point.non2xx) / point.durationS;
    if (bad > 0) {
      const badTop = y(bad);
      body += `<rect x="${fmt(x0 + 1 + w / 4)}" y="${fmt(badTop)}" width="${fmt(Math.max(1, w / 2))}" height="${fmt(Math.max(1, plotBottom - badTop))}" fill="${colors.errors}"/>`;
    }
  }
  body += legend(
    [
      ['answers/s', colors.rps],
      ['errors + non-2xx /s', colors.errors],
    ],
    margin.top,
  );
  return frame(id, title, height, body);
}

// --- page ---------------------------------------------------------------------------------

function row(label: string, value: string, className = ''): string {
  return `<tr${className ? ` class="${className}"` : ''}><th scope="row">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`;
}

function countTable(caption: string, heading: string, counts: Record<string, number>, numeric: boolean): string {
  const entries = Object.entries(counts).sort(numeric ? ([a], [b]) => Number(a) - Number(b) : (a, b) => b[1] - a[1]);
  if (entries.length === 0) return '';
  const rows = entries.map(([key, count]) => `<tr><td>${escapeHtml(key)}</td><td class="num">${escapeHtml(formatCount(count))}</td></tr>`).join('');
  return `<table class="counts"><caption>${escapeHtml(caption)}</caption><thead><tr><th scope="col">${escapeHtml(heading)}</th><th scope="col">answers</th></tr></thead><tbody>${rows}</tbody></table>`;
}

const css = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #212529; margin: 24px auto; max-width: 900px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
.sub { color: #495057; margin: 0 0 16px; word-break: break-all; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600; color: #fff; }
.verdict.ok { background: #2f9e44; } .verdict.bad { background: #e03131; }
table { border-collapse: collapse; }
table.summary th { text-align: left; font-weight: 500; color: #495057; padding: 3px 18px 3px 0; vertical-align: top; }
table.summary td { padding: 3px 0; font-variant-numeric: tabular-nums; }
table.summary tr.miss td { color: #c92a2a; font-weight: 600; }
table.counts { margin: 8px 24px 8px 0; display: inline-table; vertical-align: top; }
table.counts caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
table.counts th, table.counts td { border-bottom: 1px solid #dee2e6; padding: 3px 12px 3px 0; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
svg.chart { display: block; max-width: 100%; height: auto; background: #fff; border: 1px solid #dee2e6; border-radius: 6px; }
svg .tick { font-size: 11px; fill: #495057; }
svg .axis-label, svg .legend { font-size: 12px; fill: #343a40; }
svg .marker { font-size: 11px; font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg .empty { font-size: 14px; fill: #868e96; }
ul.hints { color: #a61e4d; }
details pre { background: #f8f9fa; padding: 12px; overflow: auto; font-size: 12px; }
footer { margin-top: 32px; color: #868e96; font-size: 12px; }
`;

/** The whole page. Every string from the result is escaped. */
export function renderHtmlReport(result: LoadResult): string {
  const lat = result.latencyMs;
  const misses = result.budgetMisses;
  const ok = misses.total === 0 && result.non2xx === 0 && result.errors === 0;
  const length = result.amount === null ? `${result.durationS.toFixed(1)} s` : `${formatCount(result.amount)} requests in ${result.durationS.toFixed(1)} s`;
  const summary = [
    row('mode', result.mode),
    row('target', result.target),
    row('connections', formatCount(result.connections)),
    row('length', length),
    row('rate', result.rate === null ? 'as fast as possible' : `${formatCount(result.rate)} req/s asked`),
    row('timeout_ms (budget)', `${result.timeoutMs} ms`),
    row('requests', `${formatCount(result.requests)} answered, ${formatCount(result.sent)} sent`),
    row('throughput', `${formatRate(result.rps)} req/s`),
    row('latency p50 / p90 / p99', `${formatMs(lat.p50)} / ${formatMs(lat.p90)} / ${formatMs(lat.p99)}`),
    row('latency p99.9 / max / mean', `${formatMs(lat.p999)} / ${formatMs(lat.max)} / ${formatMs(lat.mean)}`),
    row('non-2xx', formatCount(result.non2xx), result.non2xx > 0 ? 'miss' : ''),
    row('errors', `${formatCount(result.errors)} (client timeouts after ${formatMs(result.requestTimeoutMs)}: ${formatCount(result.timeouts)})`, result.errors > 0 ? 'miss' : ''),
    row('budget misses: slower than timeout_ms', formatCount(misses.slowerThanBudget), misses.slowerThanBudget > 0 ? 'miss' : ''),
    row('budget misses: answered timed_out: true', formatCount(misses.timedOutAnswers), misses.timedOutAnswers > 0 ? 'miss' : ''),
    row(
      'answers',
      `commit ${formatCount(result.answers.commit)} · delete ${formatCount(result.answers.delete)} · keep_pending ${formatCount(result.answers.keep_pending)} · accepted (ack-first) ${formatCount(result.answers.accepted)}`,
    ),
    row('pool', `${formatCount(result.poolSize)} signed requests${result.badShare > 0 ? `, ${Math.round(result.badShare * 100)}% with a blocklisted word` : ''}`),
    row('client', `Node ${result.node} · ${result.platform} · ${result.cpu.model} × ${result.cpu.cores} · load generator CPU ${Math.round(result.clientCpuPercent)}% of a core`),
    row('started', result.startedAt),
  ].join('');
  const hints = hintsFor(result);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`pending-hooks bench: ${result.mode}, ${formatRate(result.rps)} req/s, p99 ${formatMs(lat.p99)}`)}</title>
<style>${css}</style>
</head>
<body>
<h1>pending-hooks bench: ${escapeHtml(result.mode)} <span class="verdict ${ok ? 'ok' : 'bad'}">${ok ? 'within budget' : `${escapeHtml(formatCount(misses.total + result.non2xx + result.errors))} misses`}</span></h1>
<p class="sub">${escapeHtml(result.target)} · ${escapeHtml(result.startedAt)}</p>
${hints.length > 0 ? `<ul class="hints">${hints.map((h) => `<li>${escapeHtml(h)}</li>`).join('')}</ul>` : ''}
<h2>Summary</h2>
<table class="summary"><tbody>${summary}</tbody></table>
<h2>Latency histogram</h2>
${renderLatencyHistogram(result)}
<h2>Latency over time</h2>
${renderLatencyOverTime(result)}
<h2>Throughput over time</h2>
${renderThroughputOverTime(result)}
<h2>Status counts</h2>
${countTable('by HTTP status', 'status', result.statusCounts, true) || '<p>no answers</p>'}
${countTable('error codes of non-2xx answers', 'code', result.errorCodes, false)}
<details><summary>Raw result (JSON)</summary><pre>${escapeHtml(JSON.stringify(result, null, 2))}</pre></details>
<footer>Generated by pending-hooks bench. Self-contained: no scripts, fonts or images are loaded.</footer>
</body>
</html>
`;
}
