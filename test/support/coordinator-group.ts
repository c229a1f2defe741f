import { AdminClient } from '../../src/agent/client/admin-client';
import { CoordinatorProcess, spawnCoordinator } from './cluster';

/** Several `coherd coordinator` processes campaigning in one etcd. */
export class CoordinatorGroup {
  readonly members: CoordinatorProcess[] = [];

  constructor(private readonly etcdEndpoints: string, private readonly args: string[]) {}

  get endpoints(): string[] {
    return this.members.filter((m) => m.child.exitCode === null && m.child.signalCode === null).map((m) => m.address);
  }

  async start(count: number): Promise<void> {
    for (let i = 0; i < count; i++) await this.add();
  }

  async add(): Promise<CoordinatorProcess> {
    const m = await spawnCoordinator(this.etcdEndpoints, this.args);
    this.members.push(m);
    return m;
  }

  /**
   * Starts a killed member again on its old address, as an operator's
   * supervisor would: clients know coordinators by fixed addresses.
   */
  async restart(old: CoordinatorProcess): Promise<CoordinatorProcess> {
    const i = this.members.indexOf(old);
    const m = await spawnCoordinator(this.etcdEndpoints, this.args, old.address);
    if (i >= 0) this.members[i] = m;
    else this.members.push(m);
    return m;
  }

  /** The member that reports itself LEADER (or RECOVERING), waiting up to timeoutMs. */
  async leader(timeoutMs = 15_000): Promise<CoordinatorProcess> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const m of this.members) {
        if (m.child.exitCode !== null || m.child.signalCode !== null) continue;
        const status = await new AdminClient([m.address], undefined, 1000).status().catch(() => undefined);
        if (status && (status.role === 'LEADER' || status.role === 'RECOVERING')) return m;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no leader');
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }
}
