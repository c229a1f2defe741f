import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { BackingStore } from '../../../src/agent/backing/backing-store';
import { compose } from '../../../src/agent/hooks/compose';
import { coherencyBackingOf, createCoherencyHook } from '../../../src/agent/hooks/coherency';
import type { VopName, VopOf, VopRunner } from '../../../src/agent/vop';
import { FakeClock } from '../../../src/common/clock';
import { silentLogger } from '../../../src/common/logger';
import { FakeCoordinator, FakeTokenClient } from '../coherency-fakes.test';

/**
 * Two hosts' coherency hooks over one real backing directory holding /f,
 * with one fake coordinator: what a host's kernel does is left to the test
 * (its drops are callbacks it attaches).
 */
export const signal = new AbortController().signal;

export interface Host {
  run: VopRunner;
  client: FakeTokenClient;
  hook: ReturnType<typeof createCoherencyHook>;
  vop: <N extends VopName>(op: N, args: VopOf<N>['args']) => VopOf<N>;
  key: string;
}

async function hostOn(t: TestContext, dir: string, name: string, coordinator: FakeCoordinator, clock: FakeClock): Promise<Host> {
  const store = await BackingStore.open({ dir, logger: silentLogger(), xattrs: false });
  t.after(() => store.close());
  const client = new FakeTokenClient(name, coordinator, clock);
  const hook = createCoherencyHook({ client, namespace: 'ns', clock, logger: silentLogger(), backing: coherencyBackingOf(store) });
  const ino = await store.lookupIno('/f');
  if (ino === undefined) throw new Error('no /f in the backing directory');
  const vop = <N extends VopName>(op: N, args: VopOf<N>['args']): VopOf<N> => ({ op, path: '/f', ino, args, signal }) as VopOf<N>;
  return { run: compose([hook], store.terminal), client, hook, vop, key: hook.core.resourceOf(ino) };
}

function backingDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'coherd-mapped-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f'), 'hello world');
  return dir;
}

/** Hosts A and B over one backing directory whose file /f holds `content`, and their coordinator. */
export async function twoHosts(t: TestContext, content: string | Buffer = 'hello world'): Promise<{ dir: string; coordinator: FakeCoordinator; a: Host; b: Host }> {
  const dir = backingDir(t);
  writeFileSync(join(dir, 'f'), content);
  const coordinator = new FakeCoordinator();
  const clock = new FakeClock(0);
  return { dir, coordinator, a: await hostOn(t, dir, 'A', coordinator, clock), b: await hostOn(t, dir, 'B', coordinator, clock) };
}
