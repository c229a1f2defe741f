import { Fault, FaultContext, sleep } from './fault';

/** kill -9 of an agent; its mount is detached and the agent started again (a new session). */
export const killAgent: Fault = {
  name: 'kill-agent',
  async inject(ctx: FaultContext) {
    const i = ctx.rnd.int(0, ctx.cluster.agents.length - 1);
    const a = ctx.cluster.agents[i];
    const downMs = ctx.rnd.int(300, 2000);
    const f = ctx.rec.faultStarted('kill-agent', `agent-${i}`, `down ${downMs} ms`);
    await a.agent.signal('SIGKILL');
    await sleep(downMs);
    await ctx.cluster.startAgent(a, a.faketime).catch((e: Error) => ctx.logger.warn('agent restart failed', { agent: i, error: e.message }));
    ctx.rec.faultEnded(f);
  },
};

/** SIGSTOP of an agent past its lease TTL, then SIGCONT: it must find itself fenced. */
export const pauseAgent: Fault = {
  name: 'pause-agent',
  async inject(ctx: FaultContext) {
    const i = ctx.rnd.int(0, ctx.cluster.agents.length - 1);
    const a = ctx.cluster.agents[i];
    const pauseMs = ctx.ttlMs + ctx.rnd.int(500, 2500);
    const f = ctx.rec.faultStarted('pause-agent', `agent-${i}`, `SIGSTOP ${pauseMs} ms (TTL ${ctx.ttlMs} ms)`);
    await a.agent.signal('SIGSTOP');
    await sleep(pauseMs);
    await a.agent.signal('SIGCONT');
    ctx.rec.faultEnded(f);
  },
};

/** kill -9 of the leading coordinator (on purpose: the one that leads), restarted on its address after a while. */
export const killLeader: Fault = {
  name: 'kill-leader',
  async inject(ctx: FaultContext) {
    const leader = (await ctx.cluster.leader()) ?? ctx.cluster.coordinators[ctx.rnd.int(0, ctx.cluster.coordinators.length - 1)];
    const downMs = ctx.rnd.int(500, 3000);
    const f = ctx.rec.faultStarted('kill-leader', leader.name, `down ${downMs} ms`);
    await leader.kill();
    await sleep(downMs);
    await leader.spawn().catch((e: Error) => ctx.logger.warn('coordinator restart failed', { coordinator: leader.index, error: e.message }));
    ctx.rec.faultEnded(f);
  },
};

/** kill -9 of an etcd member (member loss), or a clean restart; it comes back on its data dir. */
function etcdFault(name: 'kill-etcd' | 'restart-etcd', signal: NodeJS.Signals): Fault {
  return {
    name,
    async inject(ctx: FaultContext) {
      const members = ctx.cluster.etcd!.members;
      const i = ctx.rnd.int(0, members.length - 1);
      const m = members[i];
      const downMs = name === 'kill-etcd' ? ctx.rnd.int(500, 4000) : ctx.rnd.int(0, 500);
      const f = ctx.rec.faultStarted(name, `etcd-${i}`, `${signal}, down ${downMs} ms`);
      if (m.pid) process.kill(m.pid, signal);
      await m.stop(false);
      await sleep(downMs);
      try {
        await m.start();
        await m.waitHealthy(20_000);
      } catch (e) {
        ctx.logger.warn('etcd member restart failed', { member: i, error: (e as Error).message });
      }
      ctx.rec.faultEnded(f);
    },
  };
}

export const killEtcd = etcdFault('kill-etcd', 'SIGKILL');
export const restartEtcd = etcdFault('restart-etcd', 'SIGTERM');
