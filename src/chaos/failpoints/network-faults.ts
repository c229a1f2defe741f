import { CuttableLink } from '../cluster/netns-link';
import { Fault, FaultContext, sleep } from './fault';

type Way = 'both' | 'to-target' | 'to-client';

function cut(link: CuttableLink, way: Way): void {
  if (way === 'both') link.blackhole();
  else link.dropOneWay(way);
}

async function partitionLink(ctx: FaultContext, fault: string, link: CuttableLink): Promise<void> {
  const way = ctx.rnd.pick(['both', 'both', 'to-target', 'to-client'] as const);
  const forMs = ctx.rnd.int(500, ctx.ttlMs + 3000);
  const f = ctx.rec.faultStarted(fault, link.name, `${way === 'both' ? 'both ways' : way === 'to-target' ? 'host→coordinators dropped' : 'coordinators→host dropped'}, ${forMs} ms`);
  cut(link, way);
  await sleep(forMs);
  link.heal();
  ctx.rec.faultEnded(f);
}

/** An agent cut from every coordinator (proxy black hole, or with --netns packets dropped), both ways or one way, then healed. */
export const partitionAgent: Fault = {
  name: 'partition-agent',
  inject: (ctx) => partitionLink(ctx, 'partition-agent', ctx.rnd.pick(ctx.cluster.agents).link),
};

/** A lock client cut from every coordinator, both ways or one way. */
export const partitionLockClient: Fault = {
  name: 'partition-lock-client',
  inject: (ctx) => (ctx.cluster.lockLinks.length ? partitionLink(ctx, 'partition-lock-client', ctx.rnd.pick(ctx.cluster.lockLinks)) : Promise.resolve()),
};

/** A coordinator (the leader, mostly) cut from every etcd member, both ways or one way. */
export const partitionCoordinatorEtcd: Fault = {
  name: 'partition-coordinator-etcd',
  async inject(ctx: FaultContext) {
    const leader = ctx.rnd.next() < 0.75 ? await ctx.cluster.leader() : undefined;
    const slot = leader ?? ctx.rnd.pick(ctx.cluster.coordinators);
    const way = ctx.rnd.pick(['both', 'both', 'to-target', 'to-client'] as const);
    const forMs = ctx.rnd.int(1000, ctx.ttlMs + 4000);
    const f = ctx.rec.faultStarted('partition-coordinator-etcd', slot.name, `${way}, ${forMs} ms`);
    cut(slot.etcdLink, way);
    await sleep(forMs);
    slot.etcdLink.heal();
    ctx.rec.faultEnded(f);
  },
};
