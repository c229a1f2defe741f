/** What P9 reads from a coordinator's /metrics. */
export interface ScrapedCoordinator {
  /** coherd_event_loop_stall_max_seconds in ms: the longest stall since the previous scrape. */
  stallMaxMs: number;
  /** coherd_event_loop_busy_stall_max_seconds in ms: the part of it the coordinator spent on the CPU. */
  busyStallMaxMs: number;
  /** coherd_role{role="LEADER"} is 1. */
  leader: boolean;
}

/** One scrape of http://<address>/metrics (which also restarts the stall maximum). */
export async function scrapeCoordinator(address: string): Promise<ScrapedCoordinator> {
  const res = await fetch(`http://${address}/metrics`);
  if (!res.ok) throw new Error(`GET http://${address}/metrics: ${res.status}`);
  const text = await res.text();
  const stall = /^coherd_event_loop_stall_max_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text);
  if (!stall) throw new Error('no coherd_event_loop_stall_max_seconds in the coordinator metrics');
  const busy = /^coherd_event_loop_busy_stall_max_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text);
  if (!busy) throw new Error('no coherd_event_loop_busy_stall_max_seconds in the coordinator metrics');
  const leader = /^coherd_role\{[^}]*role="LEADER"[^}]*\} (\S+)$/m.exec(text);
  return { stallMaxMs: Number(stall[1]) * 1000, busyStallMaxMs: Number(busy[1]) * 1000, leader: leader !== null && Number(leader[1]) === 1 };
}
