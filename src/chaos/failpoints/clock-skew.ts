import { Fault, FaultContext, sleep } from './fault';

/**
 * Clock skew of one agent with Debian's libfaketime: the agent is restarted
 * with its clocks jumped by an offset and running slightly fast or slow
 * (within the drift margin the lease deadline allows, ±1.5 %), runs so for
 * a while, then is restarted with true time.
 */
export const clockSkew: Fault = {
  name: 'clock-skew',
  async inject(ctx: FaultContext) {
    const i = ctx.rnd.int(0, ctx.cluster.agents.length - 1);
    const a = ctx.cluster.agents[i];
    const offsetS = ctx.rnd.int(-600, 600);
    const rate = (0.985 + ctx.rnd.next() * 0.03).toFixed(3);
    const spec = `${offsetS >= 0 ? '+' : ''}${offsetS} x${rate}`;
    const forMs = ctx.rnd.int(3000, 8000);
    const f = ctx.rec.faultStarted('clock-skew', `agent-${i}`, `FAKETIME "${spec}" for ${forMs} ms`);
    const restart = async (faketime?: string) => {
      await a.agent.signal('SIGTERM');
      await ctx.cluster.startAgent(a, faketime).catch((e: Error) => ctx.logger.warn('agent restart failed', { agent: i, error: e.message }));
    };
    await restart(spec);
    await sleep(forMs);
    await restart(undefined);
    ctx.rec.faultEnded(f);
  },
};
