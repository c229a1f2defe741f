import { Violation } from '../checkers/check-result';
import { RunHistory } from '../history/history-file';
import { Operation, formatToken } from '../history/operation';
import { FAULT_COLOUR, RESULT_COLOURS, esc, timeScale, timeTicks } from './svg-util';

const LABEL_W = 170;
const PLOT_W = 1400;
const LANE_H = 10;
const LANE_GAP = 1;
const HOST_PAD = 8;
const TOP = 34;

/**
 * The timeline: one band per host, each of that host's processes a lane,
 * every operation a bar from invoke to complete coloured by result (an
 * unfinished one runs to the end, hatched). Fault windows are shaded
 * across all hosts; violations are red lines whose operations are
 * outlined; every bar has an id (op-N) so the violation list links to it.
 */
export function renderTimeline(h: RunHistory, violations: readonly Violation[]): string {
  // A loop, not Math.max(...xs): a soak's 100,000+ operations overflow the argument stack.
  const end = h.ops.reduce((m, o) => Math.max(m, o.completeMs ?? o.invokeMs), h.meta.durationMs);
  const x = timeScale(end, LABEL_W, PLOT_W);
  const flagged = new Set(violations.flatMap((v) => v.ops));
  const hosts = new Map<string, Map<string, Operation[]>>();
  for (const o of h.ops) {
    const lanes = hosts.get(o.host) ?? new Map<string, Operation[]>();
    hosts.set(o.host, lanes);
    const lane = lanes.get(o.process) ?? [];
    lanes.set(o.process, lane);
    lane.push(o);
  }
  const rows: string[] = [];
  let y = TOP;
  for (const host of [...hosts.keys()].sort()) {
    const lanes = hosts.get(host)!;
    const hostTop = y;
    const hostH = lanes.size * (LANE_H + LANE_GAP);
    rows.push(`<rect x="0" y="${hostTop - 2}" width="${LABEL_W + PLOT_W}" height="${hostH + 4}" fill="${rows.length % 2 ? '#f6f7fa' : '#ffffff'}"/>`);
    rows.push(`<text x="6" y="${hostTop + Math.min(hostH, 14) - 3}" class="host">${esc(host)} <tspan class="dim">(${lanes.size})</tspan></text>`);
    for (const [proc, ops] of lanes) {
      for (const o of ops) {
        const x1 = x(o.invokeMs);
        const x2 = Math.max(x1 + 1.5, x(o.completeMs ?? end));
        const cls = flagged.has(o.id) ? ' class="flagged"' : '';
        const fill = o.completeMs === null ? 'url(#pending)' : RESULT_COLOURS[o.result];
        const tip = `#${o.id} ${proc} ${o.type} ${o.key} ${o.result}${o.value !== undefined && !Array.isArray(o.value) ? ` value=${o.value}` : ''}${o.fencingToken ? ` token=${formatToken(o.fencingToken)}` : ''}${o.error ? ` error=${o.error}` : ''} [${o.invokeMs.toFixed(1)}–${o.completeMs === null ? '?' : o.completeMs.toFixed(1)} ms]`;
        rows.push(`<rect id="op-${o.id}" x="${x1.toFixed(1)}" y="${y}" width="${(x2 - x1).toFixed(1)}" height="${LANE_H}" fill="${fill}"${cls}><title>${esc(tip)}</title></rect>`);
      }
      y += LANE_H + LANE_GAP;
    }
    y += HOST_PAD;
  }
  const height = y + 10;
  const bands = h.faults.map((f) => {
    const x1 = x(f.startMs);
    const x2 = Math.max(x1 + 2, x(f.endMs ?? end));
    return `<g class="fault"><rect x="${x1.toFixed(1)}" y="${TOP - 14}" width="${(x2 - x1).toFixed(1)}" height="${height - TOP + 14}" fill="${FAULT_COLOUR}"><title>${esc(`${f.fault} ${f.target} ${f.startMs.toFixed(0)}–${f.endMs === null ? '?' : f.endMs.toFixed(0)} ms${f.detail ? ` (${f.detail})` : ''}`)}</title></rect><text x="${(x1 + 2).toFixed(1)}" y="${TOP - 4}" class="fault-label">${esc(f.fault)}</text></g>`;
  });
  const ticks = timeTicks(end).map((t) => `<line x1="${x(t)}" y1="${TOP - 16}" x2="${x(t)}" y2="${height}" class="tick"/><text x="${x(t) + 2}" y="12" class="axis">${(t / 1000).toFixed(0)} s</text>`);
  const marks = violations.map((v, i) => `<a href="#violation-${i}"><line x1="${x(v.atMs)}" y1="${TOP - 16}" x2="${x(v.atMs)}" y2="${height}" class="violation"><title>${esc(`${v.checker}: ${v.message}`)}</title></line></a>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${LABEL_W + PLOT_W + 10}" height="${height}" class="timeline">
<defs><pattern id="pending" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="4" height="4" fill="${RESULT_COLOURS.info}"/><rect width="2" height="4" fill="#c9ccd6"/></pattern></defs>
${ticks.join('\n')}
${rows.join('\n')}
${bands.join('\n')}
${marks.join('\n')}
</svg>`;
}
