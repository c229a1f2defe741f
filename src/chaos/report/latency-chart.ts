import { RunHistory } from '../history/history-file';
import { FAULT_COLOUR, RESULT_COLOURS, esc, timeScale, timeTicks } from './svg-util';

const X0 = 60;
const W = 1400;
const H = 220;
const TOP = 10;

/**
 * Latency over time (Jepsen's latency plot): each completed operation a
 * dot at its invoke time and its latency on a log scale, coloured by
 * result, with the fault windows shaded.
 */
export function renderLatency(h: RunHistory): string {
  const done = h.ops.filter((o) => o.completeMs !== null && o.type !== 'final-read');
  const end = Math.max(h.meta.durationMs, 1);
  const x = timeScale(end, X0, W);
  // A loop, not Math.max(...xs): a soak's 100,000+ operations overflow the argument stack.
  const maxLat = done.reduce((m, o) => Math.max(m, o.completeMs! - o.invokeMs), 10);
  const decades = Math.ceil(Math.log10(maxLat));
  const y = (ms: number) => TOP + H - (Math.log10(Math.max(ms, 0.1)) + 1) / (decades + 1) * H;
  const grid: string[] = [];
  for (let d = -1; d <= decades; d++) {
    const ms = 10 ** d;
    grid.push(`<line x1="${X0}" y1="${y(ms).toFixed(1)}" x2="${X0 + W}" y2="${y(ms).toFixed(1)}" class="tick"/><text x="4" y="${(y(ms) + 4).toFixed(1)}" class="axis">${ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`}</text>`);
  }
  const ticks = timeTicks(end).map((t) => `<text x="${x(t)}" y="${TOP + H + 14}" class="axis">${(t / 1000).toFixed(0)} s</text>`);
  const bands = h.faults.map((f) => `<rect x="${x(f.startMs).toFixed(1)}" y="${TOP}" width="${Math.max(2, x(f.endMs ?? end) - x(f.startMs)).toFixed(1)}" height="${H}" fill="${FAULT_COLOUR}"><title>${esc(f.fault)} ${esc(f.target)}</title></rect>`);
  const dots = done.map((o) => `<circle cx="${x(o.invokeMs).toFixed(1)}" cy="${y(o.completeMs! - o.invokeMs).toFixed(1)}" r="1.6" fill="${RESULT_COLOURS[o.result]}"/>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${X0 + W + 10}" height="${TOP + H + 20}" class="latency">
${bands.join('')}
${grid.join('\n')}
${ticks.join('')}
${dots.join('')}
</svg>`;
}
