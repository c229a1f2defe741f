/** Escapes text for HTML and SVG content and attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export const RESULT_COLOURS: Record<string, string> = { ok: '#2e9d4b', fail: '#e08a1e', info: '#8a8fa3' };

export const FAULT_COLOUR = 'rgba(214, 69, 65, 0.13)';

/** Maps run time (ms) to x pixels. */
export function timeScale(durationMs: number, x0: number, width: number): (ms: number) => number {
  const span = Math.max(1, durationMs);
  return (ms) => x0 + (Math.min(Math.max(ms, 0), span) / span) * width;
}

/** Tick positions for a time axis, in ms, about `count` of them at round seconds. */
export function timeTicks(durationMs: number, count = 10): number[] {
  const steps = [1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000];
  const step = steps.find((s) => durationMs / s <= count) ?? 1_200_000;
  const out: number[] = [];
  for (let t = 0; t <= durationMs; t += step) out.push(t);
  return out;
}
