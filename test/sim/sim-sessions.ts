import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import type { Clock } from '../../src/common/clock';
import { InvalidArgumentError, NotFoundError } from '../../src/common/errors';
import { Session } from '../../src/coordinator/session';
import type { SessionDirectory } from '../../src/coordinator/session-directory';
import type { SessionEndReason } from '../../src/coordinator/session-registry';
import type { SimScheduler } from './scheduler';

interface LeaseRecord {
  clientName: string;
  ttlMs: number;
  secretHash: string;
  expiresMs: number;
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Sessions as etcd keeps them (leases that run down whoever leads) and as
 * the leader's registry sees them (Session objects, rebuilt by each new
 * leader). Deterministic ids; keepalives confirmed after a simulated etcd
 * round trip; a lease not kept alive expires at its TTL. Evictions leave a
 * tombstone until the evicted holder's deadline, as SessionRegistry does.
 */
export class SimSessions extends EventEmitter implements SessionDirectory {
  private readonly live = new Map<string, Session>();
  private readonly leases = new Map<string, LeaseRecord>();
  private readonly tombstones = new Map<string, number>();
  readonly evicted: Array<{ session: string; clientName: string; atMs: number }> = [];
  private nextId = 1;

  constructor(private readonly sched: SimScheduler, private readonly clock: Clock) {
    super();
  }

  get(id: string): Session | undefined {
    return this.live.get(id);
  }

  all(): Session[] {
    return [...this.live.values()];
  }

  async open(clientName: string, requestedTtlMs: number | undefined): Promise<Session> {
    const ttlMs = Math.ceil((requestedTtlMs ?? 10_000) / 1000) * 1000;
    if (ttlMs < 2000) throw new InvalidArgumentError('INVALID_ARGUMENT', 'ttl_ms must be at least 2000');
    await this.etcdRoundTrip();
    const n = this.nextId++;
    const id = `s${n}`;
    const secret = `secret-${n}`;
    this.leases.set(id, { clientName, ttlMs, secretHash: hash(secret), expiresMs: this.clock.nowMs() + ttlMs });
    this.armExpiry(id);
    const session = new Session(id, secret, clientName, ttlMs, `lease-${n}`, this.clock.nowMs(), hash(secret));
    this.live.set(id, session);
    return session;
  }

  async heartbeat(session: Session): Promise<number> {
    const sentMs = this.clock.nowMs();
    await this.etcdRoundTrip();
    const lease = this.leases.get(session.id);
    if (!lease) throw new NotFoundError('SESSION_EXPIRED', 'session lease expired in etcd', { session: session.id });
    lease.expiresMs = sentMs + lease.ttlMs;
    this.armExpiry(session.id);
    session.lastConfirmedMs = sentMs;
    return lease.ttlMs;
  }

  async evict(id: string, reason: SessionEndReason = 'SESSION_EVICTED'): Promise<void> {
    const session = this.live.get(id);
    if (!session) throw new NotFoundError('SESSION_NOT_FOUND', `no session ${id}`);
    if (reason === 'SESSION_EVICTED') {
      this.evicted.push({ session: id, clientName: session.clientName, atMs: this.clock.nowMs() });
      this.tombstones.set(id, session.lastConfirmedMs + session.ttlMs);
    }
    this.leases.delete(id);
    this.end(id, reason);
  }

  checkSecret(session: Session, secret: string): boolean {
    return session.secretHash === hash(secret);
  }

  /** The leader forgets its sessions (leadership lost); etcd keeps the leases. */
  forgetAll(): Session[] {
    const all = [...this.live.values()];
    this.live.clear();
    return all;
  }

  /** A new leader loads every live lease, as SessionRegistry.restoreFromEtcd does. */
  restore(): string[] {
    const ids: string[] = [];
    for (const [id, lease] of this.leases) {
      const s = new Session(id, '', lease.clientName, lease.ttlMs, `lease-${id}`, this.clock.nowMs(), lease.secretHash);
      s.restored = true;
      this.live.set(id, s);
      ids.push(id);
    }
    return ids;
  }

  /** The longest time until an evicted holder's deadline (tombstones). */
  tombstoneWaitMs(): number {
    let longest = 0;
    for (const [id, deadlineMs] of this.tombstones) {
      const left = deadlineMs - this.clock.nowMs();
      if (left <= 0) this.tombstones.delete(id);
      else longest = Math.max(longest, left);
    }
    return longest;
  }

  private end(id: string, reason: SessionEndReason): void {
    const session = this.live.get(id);
    if (!session || session.ended) return;
    session.ended = true;
    this.live.delete(id);
    this.emit('ended', session, reason);
  }

  private armExpiry(id: string): void {
    const lease = this.leases.get(id);
    if (!lease) return;
    this.sched.schedule(lease.expiresMs - this.clock.nowMs(), 'etcd', `lease check ${id}`, () => {
      const l = this.leases.get(id);
      if (l !== lease || this.clock.nowMs() < l.expiresMs) return;
      this.leases.delete(id);
      this.end(id, 'SESSION_EXPIRED');
    });
  }

  private etcdRoundTrip(): Promise<void> {
    return new Promise((resolve) => this.sched.schedule(this.sched.rng.next() * 2, 'etcd', 'etcd answers', resolve, 'etcd'));
  }
}

