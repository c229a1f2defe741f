import assert from 'node:assert/strict';
import { scrapeMetrics } from '../../src/cli/metrics-scrape';

/** The vops an agent started with metrics has run so far, by op (its /metrics' vop duration counts). */
export async function vopCounts(agent: { metricsAddress: string | undefined }): Promise<Record<string, number>> {
  assert.ok(agent.metricsAddress, 'the agent serves no metrics (start it with --metrics-listen)');
  const out: Record<string, number> = {};
  for (const s of await scrapeMetrics(agent.metricsAddress)) {
    if (s.name === 'coherd_agent_vop_duration_seconds_count') out[s.labels.op] = (out[s.labels.op] ?? 0) + s.value;
  }
  return out;
}
