import { CheckResult } from '../checkers/check-result';
import { RunHistory } from '../history/history-file';
import { Operation, formatToken } from '../history/operation';
import { renderLatency } from './latency-chart';
import { RunSummary } from './summary';
import { RESULT_COLOURS, esc } from './svg-util';
import { renderTimeline } from './svg-timeline';

const STYLE = `
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #1d2130; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 22px 0 6px; }
table { border-collapse: collapse; } td, th { border: 1px solid #d5d8e0; padding: 3px 8px; text-align: left; }
th { background: #eef0f5; } .pass { color: #1c7c36; font-weight: 600; } .fail { color: #c0262d; font-weight: 600; } .unknown { color: #a46400; font-weight: 600; }
.scroll { overflow-x: auto; border: 1px solid #d5d8e0; }
svg text { font: 10px system-ui, sans-serif; fill: #333; } svg .host { font-weight: 600; } svg .dim { fill: #888; font-weight: 400; }
svg .axis { fill: #666; } svg .tick { stroke: #e3e5ec; } svg .fault-label { fill: #a33; font-size: 9px; }
svg .violation { stroke: #d0021b; stroke-width: 2; } svg rect.flagged { stroke: #d0021b; stroke-width: 2; }
svg rect:target { stroke: #000; stroke-width: 3; }
.legend span { display: inline-block; width: 12px; height: 10px; margin: 0 4px 0 12px; vertical-align: middle; }
code { background: #f1f2f6; padding: 0 3px; }
`;

function opRow(o: Operation): string {
  const v = Array.isArray(o.value) ? `${o.value.length} lines` : o.value === undefined ? '' : String(o.value);
  return `<tr><td><a href="#op-${o.id}">#${o.id}</a></td><td>${esc(o.host)}</td><td>${esc(o.process)}</td><td>${esc(o.type)}</td><td>${esc(o.key)}</td><td>${o.invokeMs.toFixed(1)}</td><td>${o.completeMs === null ? '?' : o.completeMs.toFixed(1)}</td><td style="color:${RESULT_COLOURS[o.result]}">${o.result}</td><td>${esc(v)}</td><td>${formatToken(o.fencingToken)}</td><td>${esc(o.error ?? '')}</td></tr>`;
}

/** index.html: one self-contained page (inline CSS and SVG, no script, no network). */
export function renderReport(h: RunHistory, results: readonly CheckResult[], s: RunSummary): string {
  const violations = results.flatMap((r) => r.violations);
  const byId = new Map(h.ops.map((o) => [o.id, o]));
  const logged = h.meta.loggedErrors ?? [];
  const checkerRows = s.checkers.map((c) => `<tr><td>${esc(c.checker)}</td><td class="${c.verdict}">${c.verdict}</td><td>${c.violations}</td><td>${c.checkedOps}</td><td>${c.elapsedMs} ms</td><td>${esc(c.note ?? '')}</td></tr>`).join('');
  const faultRows = Object.entries(s.faults.byKind).map(([k, n]) => `<tr><td>${esc(k)}</td><td>${n}</td></tr>`).join('');
  const opRows = Object.entries(s.operations.byType).map(([t, r]) => `<tr><td>${esc(t)}</td><td>${r.ok ?? 0}</td><td>${r.fail ?? 0}</td><td>${r.info ?? 0}</td></tr>`).join('');
  const errorRows = Object.entries(s.operations.errors).sort((a, b) => b[1] - a[1]).map(([k, n]) => `<tr><td>${esc(k)}</td><td>${n}</td></tr>`).join('');
  const violationList = violations.slice(0, 500).map((v, i) => `<li id="violation-${i}"><b>${esc(v.checker)}</b> at ${v.atMs.toFixed(1)} ms: ${esc(v.message)} — ops ${v.ops.map((id) => `<a href="#op-${id}">#${id}</a>`).join(', ')}
<table>${v.ops.map((id) => byId.get(id)).filter((o): o is Operation => !!o).map(opRow).join('')}</table></li>`).join('\n');
  const faultList = h.faults.map((f) => `<tr><td>${f.id}</td><td>${esc(f.fault)}</td><td>${esc(f.target)}</td><td>${f.startMs.toFixed(0)}</td><td>${f.endMs === null ? '?' : f.endMs.toFixed(0)}</td><td>${esc(f.detail ?? '')}</td></tr>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>coherd chaos — seed ${s.seed} — ${s.passed ? 'PASS' : 'FAIL'}</title><style>${STYLE}</style></head>
<body>
<h1>coherd chaos run, seed ${s.seed}: <span class="${s.passed ? 'pass' : 'fail'}">${s.passed ? 'every checker passed' : 'checkers did not pass'}</span></h1>
<div>started ${esc(s.startedAt)}, ${(s.durationMs / 1000).toFixed(1)} s, ${s.operations.total} operations, ${s.faults.total} faults. Replay: <code>coherd chaos run --seed ${s.seed}${esc(replayArgs(s.options))}</code></div>
<h2>Checkers</h2>
<table><tr><th>checker</th><th>verdict</th><th>violations</th><th>ops checked</th><th>time</th><th>note</th></tr>${checkerRows}</table>
<h2>Timeline</h2>
<div class="legend">result:<span style="background:${RESULT_COLOURS.ok}"></span>ok<span style="background:${RESULT_COLOURS.fail}"></span>fail<span style="background:${RESULT_COLOURS.info}"></span>unknown<span style="background:rgba(214,69,65,.25)"></span>fault window<span style="background:#d0021b"></span>violation (hover a bar for details)</div>
<div class="scroll">${renderTimeline(h, violations)}</div>
<h2>Latency over time</h2>
<div class="scroll">${renderLatency(h)}</div>
<div style="display:flex; gap:24px; flex-wrap:wrap">
<div><h2>Faults injected</h2><table><tr><th>kind</th><th>count</th></tr>${faultRows}</table></div>
<div><h2>Operations</h2><table><tr><th>type</th><th>ok</th><th>fail</th><th>info</th></tr>${opRows}</table></div>
<div><h2>Errors returned</h2><table><tr><th>op and error</th><th>count</th></tr>${errorRows || '<tr><td>none</td><td></td></tr>'}</table></div>
</div>
<h2>Errors the agents logged (${logged.reduce((n, e) => n + e.count, 0)})</h2>
${logged.length ? `<table><tr><th>host</th><th>message</th><th>error</th><th>count</th><th>first at</th></tr>${logged.map((e) => `<tr><td>${esc(e.host)}</td><td>${esc(e.message)}</td><td>${esc(e.error ?? '')}</td><td>${e.count}</td><td>${esc(e.firstAt)}</td></tr>`).join('')}</table>` : '<p>none</p>'}
<h2>Violations (${violations.length})</h2>
${violations.length ? `<ol>${violationList}</ol>` : '<p>none</p>'}
<h2>Faults</h2>
<table><tr><th>#</th><th>fault</th><th>target</th><th>start ms</th><th>end ms</th><th>detail</th></tr>${faultList}</table>
</body></html>
`;
}

function replayArgs(o: Record<string, unknown>): string {
  return ['duration', 'faults', 'workload', 'agents', 'plant'].filter((k) => o[k] !== undefined).map((k) => ` --${k} ${String(o[k])}`).join('');
}
