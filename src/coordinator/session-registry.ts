import { EventEmitter } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { Etcd3, Watcher } from 'etcd3';
import { Clock } from '../common/clock';
import { Logger } from '../common/logger';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '../common/errors';
import { EtcdKeys } from './etcd-keys';
import { LeaseKeeper } from './lease-keeper';
import { Election } from './election';
import { Session } from './session';
import { ClientSessionCounter } from './client-session-counter';

export type SessionEndReason = 'SESSION_EXPIRED' | 'SESSION_EVICTED' | 'SESSION_CLOSED';

export interface SessionRegistryOptions {
  etcd: Etcd3;
  keys: EtcdKeys;
  keeper: LeaseKeeper;
  election: Election;
  clock: Clock;
  logger: Logger;
  defaultTtlMs?: number;
  maxSessions?: number;
  /** Live sessions per client identity (SESSION_QUOTA beyond). Default 1000. */
  maxSessionsPerClient?: number;
}

export const MIN_TTL_MS = 2000;
export const MAX_TTL_MS = 300_000;

/**
 * Sessions live in etcd as a lease plus `sessions/<id>` on it (DESIGN §5).
 * A session ends when etcd deletes its key (lease expired or revoked); the
 * registry learns that from a watch and emits 'ended' (session, reason).
 */
export class SessionRegistry extends EventEmitter {
  private readonly sessions = new Map<string, Session>();
  private watcher: Watcher | undefined;
  private readonly evicting = new Map<string, SessionEndReason>();
  private readonly perClient: ClientSessionCounter;

  constructor(private readonly o: SessionRegistryOptions) {
    super();
    this.perClient = new ClientSessionCounter(o.maxSessionsPerClient ?? 1000);
  }

  get size(): number {
    return this.sessions.size;
  }

  all(): IterableIterator<Session> {
    return this.sessions.values();
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  async startWatching(): Promise<void> {
    await this.close(); // a takeover that failed half-way and loads again must not leave its first watch running
    this.watcher = await this.o.etcd.watch().prefix(this.o.keys.sessionsPrefix).create();
    this.watcher.on('delete', (kv) => {
      const id = this.o.keys.sessionIdOf(kv.key.toString());
      if (id) this.end(id, this.evicting.get(id) ?? 'SESSION_EXPIRED');
    });
    this.watcher.on('error', (e) => this.o.logger.warn('session watch error', { error: (e as Error).message }));
  }

  async open(clientName: string, requestedTtlMs: number | undefined, identity = ''): Promise<Session> {
    const ttlMs = requestedTtlMs ?? this.o.defaultTtlMs ?? 10_000;
    if (ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) {
      throw new InvalidArgumentError('INVALID_ARGUMENT', `ttl_ms must be within [${MIN_TTL_MS}, ${MAX_TTL_MS}]`, { ttlMs });
    }
    if (this.sessions.size >= (this.o.maxSessions ?? 100_000)) {
      throw new UnavailableError('QUEUE_FULL', 'too many sessions', { sessions: this.sessions.size });
    }
    const client = ClientSessionCounter.keyOf(clientName, identity);
    this.perClient.reserve(client); // counted while etcd answers, so concurrent opens cannot pass the quota together
    let opened = false;
    const { etcd, keys, election, clock } = this.o;
    const sentMs = clock.nowMs();
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(16).toString('hex');
    try {
      // One TTL everywhere (DESIGN §5): etcd keeps whole seconds, so the session, the client's deadline
      // and the coordinator's release of an evicted holder all use the TTL etcd granted.
      const grant = await etcd.leaseClient.leaseGrant({ TTL: Math.ceil(ttlMs / 1000), ID: '0' });
      const grantedTtlMs = Number(grant.TTL) * 1000;
      const value = JSON.stringify({ clientName, ttlMs: grantedTtlMs, leaseId: grant.ID, secretHash: hashSecret(secret), identity });
      const res = await election.guarded().then(etcd.put(keys.session(id)).value(value).lease(grant.ID)).commit();
      if (!res.succeeded) {
        await etcd.leaseClient.leaseRevoke({ ID: grant.ID }).catch(() => undefined);
        throw new UnavailableError('NOT_LEADER', 'this coordinator no longer leads');
      }
      const session = new Session(id, secret, clientName, grantedTtlMs, grant.ID, sentMs, hashSecret(secret));
      session.identity = identity;
      this.sessions.set(id, session);
      opened = true;
      this.o.logger.info('session opened', { session: id, clientName, ttlMs: grantedTtlMs });
      return session;
    } catch (e) {
      if (e instanceof UnavailableError) throw e;
      throw new UnavailableError('ETCD_UNAVAILABLE', 'etcd did not accept the session', {}, { cause: e });
    } finally {
      if (!opened) this.perClient.release(client);
    }
  }

  /** Renews the lease; resolves with the TTL etcd reports, after etcd confirmed. */
  async heartbeat(session: Session): Promise<number> {
    const sentMs = this.o.clock.nowMs();
    const ttlSeconds = await this.o.keeper.keepAlive(session.leaseId);
    if (ttlSeconds <= 0) {
      this.end(session.id, 'SESSION_EXPIRED');
      throw new NotFoundError('SESSION_EXPIRED', 'session lease expired in etcd', { session: session.id });
    }
    session.lastConfirmedMs = sentMs;
    return ttlSeconds * 1000;
  }

  /**
   * Revokes the session's lease; everything it holds goes (DESIGN §5
   * eviction). An evicted holder may still trust its grants until its own
   * deadline; a tombstone on a lease of that remaining time tells a later
   * leader to grant nothing before it runs out (see tombstones()).
   */
  async evict(id: string, reason: SessionEndReason = 'SESSION_EVICTED'): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) throw new NotFoundError('SESSION_NOT_FOUND', `no session ${id}`, { session: id });
    this.evicting.set(id, reason);
    if (reason === 'SESSION_EVICTED') await this.writeTombstone(session);
    try {
      await this.o.etcd.leaseClient.leaseRevoke({ ID: session.leaseId });
    } catch (e) {
      this.o.logger.warn('lease revoke failed; freeing the session anyway', { session: id, error: (e as Error).message });
    }
    this.end(id, reason);
  }

  private async writeTombstone(session: Session): Promise<void> {
    const remainingMs = session.lastConfirmedMs + session.ttlMs - this.o.clock.nowMs();
    if (remainingMs <= 0) return;
    const { etcd, keys, election } = this.o;
    try {
      const grant = await etcd.leaseClient.leaseGrant({ TTL: Math.ceil(remainingMs / 1000), ID: '0' });
      await election.guarded().then(etcd.put(keys.evicted(session.id)).value(String(remainingMs)).lease(grant.ID)).commit();
    } catch (e) {
      // Without it a failover within the remaining time could re-grant early: say so loudly.
      this.o.logger.error('could not record the eviction in etcd', { session: session.id, error: (e as Error).message });
    }
  }

  /**
   * What a new leader must wait out: the longest remaining lease among the
   * tombstones of evicted sessions (0 when there are none). Their holders may
   * still write until then, so nothing may be granted before.
   */
  async tombstoneWaitMs(): Promise<number> {
    const { etcd, keys } = this.o;
    let longestMs = 0;
    const kvs = await etcd.getAll().prefix(keys.evictedPrefix).exec();
    for (const kv of kvs.kvs) {
      if (kv.lease === '0') continue;
      const ttl = await etcd.leaseClient.leaseTimeToLive({ ID: kv.lease, keys: false }).catch(() => undefined);
      // etcd reports whole seconds left, rounded down: count the second it may have cut off.
      const seconds = Number(ttl?.TTL ?? 0);
      const ms = seconds > 0 ? (seconds + 1) * 1000 : 0;
      if (ms > longestMs) longestMs = ms;
    }
    return longestMs;
  }

  /** Ends a session locally once; emits 'ended'. */
  end(id: string, reason: SessionEndReason): void {
    this.evicting.delete(id);
    const session = this.sessions.get(id);
    if (!session || session.ended) return;
    session.ended = true;
    this.sessions.delete(id);
    this.perClient.release(ClientSessionCounter.keyOf(session.clientName, session.identity));
    this.o.logger.info('session ended', { session: id, reason });
    this.emit('ended', session, reason);
  }

  /** Checks a resume secret against the hash kept in etcd (secrets are random 128-bit values). */
  checkSecret(session: Session, secret: string): boolean {
    return session.secretHash === hashSecret(secret);
  }

  /**
   * A new leader loads every live session from etcd (DESIGN §6): their
   * clients will resume and reclaim. Returns the ids loaded.
   */
  async restoreFromEtcd(): Promise<string[]> {
    const kvs = await this.o.etcd.getAll().prefix(this.o.keys.sessionsPrefix).strings();
    const ids: string[] = [];
    for (const [key, raw] of Object.entries(kvs)) {
      const id = this.o.keys.sessionIdOf(key);
      if (!id || this.sessions.has(id)) continue;
      try {
        const v = JSON.parse(raw) as { clientName?: string; ttlMs?: number; leaseId?: string; secretHash?: string; identity?: string };
        if (!v.leaseId || !v.secretHash) throw new Error('incomplete session record');
        const session = new Session(id, '', String(v.clientName ?? ''), Number(v.ttlMs ?? 10_000), String(v.leaseId), this.o.clock.nowMs(), v.secretHash);
        session.restored = true;
        session.identity = String(v.identity ?? '');
        this.sessions.set(id, session);
        this.perClient.add(ClientSessionCounter.keyOf(session.clientName, session.identity));
        ids.push(id);
      } catch (e) {
        this.o.logger.error('unreadable session record in etcd; ignoring it', { key, error: (e as Error).message });
      }
    }
    if (ids.length) this.o.logger.info('sessions restored from etcd', { sessions: ids.length });
    return ids;
  }

  /** Forgets every session locally (leadership lost); etcd keeps them for the next leader. */
  forgetAll(): Session[] {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    this.evicting.clear();
    this.perClient.clear();
    return all;
  }

  async close(): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    await w?.cancel().catch(() => undefined);
  }
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
