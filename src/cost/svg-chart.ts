/**
 * A small self-contained SVG bar chart (stacked or grouped): no scripts, no
 * external fonts or styles, so the file opens anywhere offline and diffs well.
 */

export interface BarSeries {
  name: string;
  /** One value per category; null = no value (nothing drawn, "n/a" label). */
  values: (number | null)[];
  color: string;
}

export interface BarChartSpec {
  title: string;
  /** A second, smaller title line (date, host, rate). */
  subtitle?: string;
  /** Y axis label, e.g. "host CPU ns per frame". */
  unit: string;
  categories: string[];
  series: BarSeries[];
  stacked?: boolean;
  /** Extra text under each category label (e.g. "freed 62%"). */
  annotations?: (string | null)[];
  /** A warning under a category (drawn in red, e.g. "! busy host"), and the footnote that explains it. */
  warnings?: (string | null)[];
  footnote?: string;
  width?: number;
  height?: number;
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Round up to 1, 2, 2.5 or 5 times a power of ten, for readable axis ticks. */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const fmt = (v: number) => (v >= 100 || v === 0 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toPrecision(2));

/** Rough width of `s` in px at `size` px sans-serif (average glyph ~0.58 em). */
const textWidth = (s: string, size = 12): number => s.length * size * 0.58;

export function svgBarChart(spec: BarChartSpec): string {
  const W = spec.width ?? 760;
  const n = spec.categories.length;
  const m = { top: spec.subtitle ? 64 : 48, right: 150, bottom: 70, left: 70 };
  const pw = W - m.left - m.right;
  const slot = pw / Math.max(1, n);
  // Category labels may have several lines ("native\n1400 B"); when the widest line
  // does not fit its slot, labels are turned 35 degrees so neighbours never overlap.
  const lines = spec.categories.map((c) => c.split('\n'));
  const extra = (i: number): string[] => [spec.annotations?.[i], spec.warnings?.[i]].filter((x): x is string => !!x);
  const widest = Math.max(0, ...spec.categories.map((_, i) => Math.max(...[...lines[i], ...extra(i)].map((l) => textWidth(l)))));
  const rotate = widest > slot - 6;
  const labelLines = Math.max(1, ...spec.categories.map((_, i) => lines[i].length + extra(i).length));
  m.bottom = rotate ? 30 + widest * 0.6 + 16 * labelLines * 0.8 : 24 + 16 * labelLines;
  if (spec.footnote) m.bottom += 20;
  const H = spec.height ?? Math.round(350 + m.bottom);
  const ph = H - m.top - m.bottom;
  for (const s of spec.series) {
    if (s.values.length !== n) throw new RangeError(`series ${s.name} has ${s.values.length} values for ${n} categories`);
    for (const v of s.values) if (v !== null && (!Number.isFinite(v) || v < 0)) throw new RangeError(`series ${s.name}: bar values must be finite and >= 0, got ${v}`);
  }
  const totals = spec.categories.map((_, i) =>
    spec.stacked ? spec.series.reduce((a, s) => a + (s.values[i] ?? 0), 0) : Math.max(0, ...spec.series.map((s) => s.values[i] ?? 0)),
  );
  const max = niceCeil(Math.max(0, ...totals));
  const y = (v: number) => m.top + ph - (v / max) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`);
  if (spec.subtitle) out.push(`<text x="${W / 2}" y="44" text-anchor="middle" fill="#444444">${escapeXml(spec.subtitle)}</text>`);
  // Axis and grid: five intervals.
  for (let k = 0; k <= 5; k++) {
    const v = (max * k) / 5;
    out.push(`<line x1="${m.left}" y1="${y(v).toFixed(1)}" x2="${m.left + pw}" y2="${y(v).toFixed(1)}" stroke="#dddddd"/>`);
    out.push(`<text x="${m.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
  }
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.unit)}</text>`);
  const groups = spec.stacked ? 1 : spec.series.length;
  const bw = Math.min(60, (slot * 0.7) / groups);
  spec.categories.forEach((cat, i) => {
    const x0 = m.left + slot * i + (slot - bw * groups) / 2;
    let base = 0;
    const name = cat.replace(/\n/g, ' ');
    spec.series.forEach((s, j) => {
      const v = s.values[i];
      if (v === null) return;
      const x = spec.stacked ? x0 : x0 + j * bw;
      const from = spec.stacked ? base : 0;
      const top = y(from + v);
      const h = y(from) - top;
      out.push(`<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}" fill="${escapeXml(s.color)}"><title>${escapeXml(`${name} ${s.name}: ${fmt(v)} ${spec.unit}`)}</title></rect>`);
      if (spec.stacked) base += v;
    });
    const label = totals[i] > 0 || spec.series.some((s) => s.values[i] !== null) ? fmt(totals[i]) : 'n/a';
    out.push(`<text x="${(x0 + (bw * groups) / 2).toFixed(1)}" y="${(y(totals[i]) - 5).toFixed(1)}" text-anchor="middle">${label}</text>`);
    const cx = m.left + slot * i + slot / 2;
    const rows: [string, string][] = [...lines[i].map((l) => [l, '#000000'] as [string, string])];
    if (spec.annotations?.[i]) rows.push([spec.annotations[i]!, '#555555']);
    if (spec.warnings?.[i]) rows.push([spec.warnings[i]!, '#b00000']);
    rows.forEach(([text, color], k) => {
      const ly = m.top + ph + 18 + k * 15;
      const attrs = rotate
        ? `x="${(cx + k * 4).toFixed(1)}" y="${ly}" text-anchor="end" transform="rotate(-35 ${(cx + k * 4).toFixed(1)} ${ly})"`
        : `x="${cx.toFixed(1)}" y="${ly}" text-anchor="middle"`;
      out.push(`<text ${attrs} fill="${color}">${escapeXml(text)}</text>`);
    });
  });
  out.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="#333333"/>`);
  spec.series.forEach((s, j) => {
    const ly = m.top + 10 + j * 20;
    out.push(`<rect x="${W - m.right + 16}" y="${ly - 10}" width="12" height="12" fill="${escapeXml(s.color)}"/>`);
    out.push(`<text x="${W - m.right + 34}" y="${ly}">${escapeXml(s.name)}</text>`);
  });
  if (spec.footnote) out.push(`<text x="${m.left}" y="${H - 8}" fill="#b00000" font-size="11">${escapeXml(spec.footnote)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
