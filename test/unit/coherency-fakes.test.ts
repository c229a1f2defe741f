/**
 * Fakes for the coherency unit tests: a coordinator that grants and revokes
 * tokens between sessions, a TokenClient per agent, an in-memory backing
 * store shared by the agents, and an agent wrapper that runs vops through
 * the coherency hook. Imported by the other coherency-*.test.ts files; its
 * own checks run only when it is the test file being run.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { constants } from 'node:fs';
import { test } from 'node:test';
import { ByteRange, END_OF_FILE, overlaps, WHOLE_FILE } from '../../src/common/byte-range';
import { FakeClock } from '../../src/common/clock';
import { ErrnoError } from '../../src/agent/backing/errno-error';
import { LockConflictError, NotFoundError, SessionLostError } from '../../src/common/errors';
import { silentLogger } from '../../src/common/logger';
import type { AcquireOptions, ClientGrant, ConvertOptions, LockListener, LockMode, RevokeAnswer, RevokeNotice, TokenClient } from '../../src/agent/client/types';
import type { CoherencyBacking } from '../../src/agent/coherency/coherency-backing';
import type { CoherencyOptions } from '../../src/agent/coherency/coherency-core';
import { compose } from '../../src/agent/hooks/compose';
import { CoherencyHook, createCoherencyHook } from '../../src/agent/hooks/coherency';
import type { Hook, Terminal, Vop, VopName, VopOf, VopResults, VopRunner, VopStat } from '../../src/agent/vop';

interface FakeGrant {
  lockId: number;
  client: FakeTokenClient;
  resource: string;
  space: ClientGrant['space'];
  mode: LockMode;
  range: ByteRange;
  uncached: boolean;
  version: number;
}

/** Grants tokens, revoking conflicting ones of other sessions first (awaiting their answers). */
export class FakeCoordinator {
  readonly grants = new Map<number, FakeGrant>();
  readonly revokes: Array<RevokeNotice & { session: string }> = [];
  /** Grant the largest non-conflicting range (DESIGN §3.2) instead of exactly what was asked. */
  expand = true;
  /** Resources whose grants say uncached. */
  readonly uncached = new Set<string>();
  /** Resources in direct mode: data/attr acquires not marked noDirect are granted DIRECT over the whole file. */
  readonly direct = new Set<string>();
  private nextLockId = 1;
  private counter = 0;

  async acquire(client: FakeTokenClient, o: AcquireOptions): Promise<ClientGrant> {
    const asDirect = this.direct.has(o.resource) && o.space !== 'dir' && o.noDirect !== true;
    const range = o.space === 'data' && !asDirect ? { ...(o.range ?? WHOLE_FILE) } : { ...WHOLE_FILE };
    const mode = asDirect ? 'DIRECT' : o.mode;
    if (o.wait === false && this.conflicts(client, o.resource, o.space, mode, range).length > 0) {
      throw new LockConflictError('LOCK_CONFLICT', 'conflict');
    }
    await this.clear(client, o.resource, o.space, mode, range);
    const granted = this.expand && o.space === 'data' ? this.expanded(client, o.resource, mode, range) : range;
    const g: FakeGrant = { lockId: this.nextLockId++, client, resource: o.resource, space: o.space, mode, range: granted, uncached: this.uncached.has(o.resource), version: 1 };
    this.grants.set(g.lockId, g);
    return this.toGrant(g);
  }

  async convert(client: FakeTokenClient, lockId: number, o: ConvertOptions): Promise<ClientGrant> {
    const g = this.grants.get(lockId);
    if (!g || g.client !== client) throw new NotFoundError('LOCK_NOT_FOUND', 'no such lock');
    const range = g.space === 'data' ? { ...o.range } : { ...WHOLE_FILE };
    if (o.wait === false && this.conflicts(client, g.resource, g.space, o.mode, range).length > 0) {
      throw new LockConflictError('LOCK_CONFLICT', 'conflict');
    }
    await this.clear(client, g.resource, g.space, o.mode, range);
    if (this.grants.get(lockId) !== g) throw new NotFoundError('LOCK_NOT_FOUND', 'lock went away while converting');
    g.mode = o.mode;
    g.range = range;
    g.version++;
    g.uncached = this.uncached.has(g.resource);
    return this.toGrant(g);
  }

  drop(lockId: number): void {
    this.grants.delete(lockId);
  }

  dropSession(client: FakeTokenClient): void {
    for (const [id, g] of this.grants) if (g.client === client) this.grants.delete(id);
  }

  held(client: FakeTokenClient, resource?: string): FakeGrant[] {
    return [...this.grants.values()].filter((g) => g.client === client && (resource === undefined || g.resource === resource));
  }

  private conflicts(client: FakeTokenClient, resource: string, space: string, mode: LockMode, range: ByteRange): FakeGrant[] {
    return [...this.grants.values()].filter(
      (g) => g.client !== client && g.resource === resource && g.space === space && overlaps(g.range, range) && (g.mode === 'WRITE' || mode === 'WRITE'),
    );
  }

  private async clear(client: FakeTokenClient, resource: string, space: string, mode: LockMode, range: ByteRange): Promise<void> {
    for (let round = 0; ; round++) {
      const conflicts = this.conflicts(client, resource, space, mode, range);
      if (conflicts.length === 0) return;
      if (round > 100) throw new Error('fake coordinator: revokes make no progress');
      for (const g of conflicts) {
        if (this.grants.get(g.lockId) !== g) continue;
        const notice: RevokeNotice = { lockId: g.lockId, range: { ...range }, wantedMode: mode, attempt: 1, deadlineMs: 5000, version: g.version };
        this.revokes.push({ ...notice, session: g.client.sessionId });
        const answer = await g.client.deliverRevoke(notice);
        if (this.grants.get(g.lockId) !== g) continue;
        if (answer.released) this.grants.delete(g.lockId);
        else if (answer.version === g.version) {
          g.mode = answer.mode;
          g.range = { ...answer.range };
          g.version++;
          g.client.notifyReduced(this.toGrant(g));
        }
      }
    }
  }

  private expanded(client: FakeTokenClient, resource: string, mode: LockMode, range: ByteRange): ByteRange {
    let start = 0;
    let end = END_OF_FILE;
    for (const g of this.conflicts(client, resource, 'data', mode, { start: 0, end: END_OF_FILE })) {
      if (g.range.end <= range.start) start = Math.max(start, g.range.end);
      if (g.range.start >= range.end) end = Math.min(end, g.range.start);
    }
    return { start, end };
  }

  private toGrant(g: FakeGrant): ClientGrant {
    return { lockId: g.lockId, resource: g.resource, space: g.space, mode: g.mode, range: { ...g.range }, owner: '', fencingToken: { epoch: 1, counter: ++this.counter }, uncached: g.uncached, version: g.version };
  }
}

/** A TokenClient over the fake coordinator, counting what it is asked. */
export class FakeTokenClient extends EventEmitter implements TokenClient {
  acquires = 0;
  converts = 0;
  readonly lazyReleases: number[] = [];
  deadlineMs = Number.MAX_SAFE_INTEGER;
  private fenced = false;
  private handler: (n: RevokeNotice) => Promise<RevokeAnswer> = async () => ({ released: true });
  private listener: LockListener | undefined;

  constructor(
    readonly sessionId: string,
    private readonly coordinator: FakeCoordinator,
    private readonly clock: FakeClock,
  ) {
    super();
  }

  acquire(o: AcquireOptions): Promise<ClientGrant> {
    this.acquires++;
    if (this.isFenced()) return Promise.reject(new SessionLostError('LEASE_DEADLINE_PASSED', 'fenced'));
    return this.coordinator.acquire(this, o);
  }

  convert(lockId: number, o: ConvertOptions): Promise<ClientGrant> {
    this.converts++;
    if (this.isFenced()) return Promise.reject(new SessionLostError('LEASE_DEADLINE_PASSED', 'fenced'));
    return this.coordinator.convert(this, lockId, o);
  }

  async release(lockId: number): Promise<void> {
    this.coordinator.drop(lockId);
  }

  releaseLazily(lockId: number): void {
    this.lazyReleases.push(lockId);
    this.coordinator.drop(lockId);
  }

  setRevokeHandler(handler: (n: RevokeNotice) => Promise<RevokeAnswer>): void {
    this.handler = handler;
  }

  setLockListener(listener: LockListener): void {
    this.listener = listener;
  }

  notifyReduced(grant: ClientGrant): void {
    this.listener?.reduced(grant);
  }

  leaseDeadlineMs(): number {
    return this.deadlineMs;
  }

  isFenced(): boolean {
    return this.fenced || this.clock.nowMs() >= this.deadlineMs;
  }

  /** The session is lost: the coordinator forgets its tokens, the agent is told. */
  fence(reason = 'SESSION_EVICTED'): void {
    this.fenced = true;
    this.coordinator.dropSession(this);
    this.emit('fenced', reason);
  }

  async deliverRevoke(notice: RevokeNotice): Promise<RevokeAnswer> {
    await Promise.resolve();
    return this.handler(notice);
  }
}

interface StoreFile {
  data: Buffer;
  mode: number;
  mtimeMs: number;
}

/** One in-memory backing directory shared by all agents. */
export class FakeStore {
  readonly files = new Map<number, StoreFile>();
  readonly paths = new Map<string, number>([['/', 1]]);
  readonly pwrites: Array<{ ino: number; offset: number; length: number }> = [];
  readonly preads: Array<{ ino: number; offset: number; length: number }> = [];
  /** While set, stat() waits for it (to hold a vop in flight). */
  statGate: Promise<void> | undefined;
  /** While set, a read vop waits for it after reading its bytes (a pread that read, then came back late). */
  readGate: Promise<void> | undefined;
  private nextIno = 100;

  constructor() {
    this.files.set(1, { data: Buffer.alloc(0), mode: constants.S_IFDIR | 0o755, mtimeMs: 0 });
  }

  create(path: string, content: Buffer | string = ''): number {
    const ino = this.nextIno++;
    this.files.set(ino, { data: Buffer.from(content), mode: constants.S_IFREG | 0o644, mtimeMs: 0 });
    this.paths.set(path, ino);
    return ino;
  }

  content(path: string): string {
    return this.file(this.ino(path)).data.toString();
  }

  ino(path: string): number {
    const ino = this.paths.get(path);
    if (ino === undefined) throw new ErrnoError('ENOENT', `no such file ${path}`);
    return ino;
  }

  file(ino: number): StoreFile {
    const f = this.files.get(ino);
    if (!f) throw new ErrnoError('ENOENT', `no inode ${ino}`);
    return f;
  }

  pread(ino: number, offset: number, length: number): Buffer {
    this.preads.push({ ino, offset, length });
    const d = this.file(ino).data;
    return Buffer.from(d.subarray(Math.min(offset, d.length), Math.min(offset + length, d.length)));
  }

  pwrite(ino: number, offset: number, data: Buffer): void {
    const f = this.file(ino);
    const end = offset + data.length;
    if (end > f.data.length) f.data = Buffer.concat([f.data, Buffer.alloc(end - f.data.length)]);
    data.copy(f.data, offset);
    f.mtimeMs++;
    this.pwrites.push({ ino, offset, length: data.length });
  }

  truncate(ino: number, size: number): void {
    const f = this.file(ino);
    f.data = size <= f.data.length ? Buffer.from(f.data.subarray(0, size)) : Buffer.concat([f.data, Buffer.alloc(size - f.data.length)]);
  }

  async stat(ino: number): Promise<VopStat> {
    if (this.statGate) await this.statGate;
    const f = this.file(ino);
    return { ino, mode: f.mode, nlink: 1, uid: 0, gid: 0, rdev: 0, size: f.data.length, blksize: 4096, blocks: Math.ceil(f.data.length / 512), atimeMs: 0, mtimeMs: f.mtimeMs, ctimeMs: 0 };
  }
}

/** A backing terminal over the fake store with its own handle table (one per agent). */
function storeTerminal(store: FakeStore, handles: Map<number, { ino: number; flags: number }>): Terminal {
  let nextFh = 1;
  const handle = (fh: number) => {
    const h = handles.get(fh);
    if (!h) throw new ErrnoError('EBADF', 'bad handle');
    return h;
  };
  return async (vop: Vop): Promise<any> => {
    switch (vop.op) {
      case 'open': {
        const ino = store.ino(vop.path);
        const fh = nextFh++;
        handles.set(fh, { ino, flags: vop.args.flags });
        return { fh, ino };
      }
      case 'create': {
        const ino = store.create(vop.path);
        const fh = nextFh++;
        handles.set(fh, { ino, flags: constants.O_RDWR });
        return { fh, stat: await store.stat(ino) };
      }
      case 'read': {
        const data = store.pread(handle(vop.args.fh).ino, vop.args.offset, vop.args.length);
        if (store.readGate) await store.readGate;
        return data.copy(vop.args.buffer);
      }
      case 'write': {
        const h = handle(vop.args.fh);
        const offset = (h.flags & constants.O_APPEND) !== 0 ? store.file(h.ino).data.length : vop.args.offset;
        store.pwrite(h.ino, offset, Buffer.from(vop.args.data));
        return vop.args.data.length;
      }
      case 'copyFileRange': {
        const bytes = store.pread(handle(vop.args.fhIn).ino, vop.args.offsetIn, vop.args.length);
        if (bytes.length > 0) store.pwrite(handle(vop.args.fh).ino, vop.args.offset, bytes);
        return { copied: bytes.length, bytes };
      }
      case 'getattr':
        return store.stat(vop.args.fh !== undefined ? handle(vop.args.fh).ino : store.ino(vop.path));
      case 'truncate':
        return store.truncate(vop.args.fh !== undefined ? handle(vop.args.fh).ino : store.ino(vop.path), vop.args.size);
      case 'release':
        handles.delete(vop.args.fh);
        return undefined;
      case 'fsync':
      case 'flush':
        handle(vop.args.fh);
        return undefined;
      case 'unlink':
        store.paths.delete(vop.path);
        return undefined;
      default:
        throw new ErrnoError('ENOSYS', `fake store: ${vop.op}`);
    }
  };
}

/** One host: its client, coherency hook and a small file API that builds vops as the FUSE layer does. */
export class FakeAgent {
  readonly client: FakeTokenClient;
  readonly hook: CoherencyHook;
  readonly run: VopRunner;
  private readonly handles = new Map<number, { ino: number; flags: number }>();
  private readonly signal = new AbortController().signal;

  /** `hooks`: run outside the coherency hook (the journal) and between it and the store, as the agent composes them. */
  constructor(name: string, coordinator: FakeCoordinator, readonly store: FakeStore, clock: FakeClock, options: CoherencyOptions = {}, hooks: { outer?: Hook[]; inner?: Hook[] } = {}) {
    this.client = new FakeTokenClient(name, coordinator, clock);
    const backing: CoherencyBacking = {
      write: async (file, offset, data) => store.pwrite(file.ino, offset, data),
      stat: (file) => store.stat(file.ino),
    };
    this.hook = createCoherencyHook({ client: this.client, namespace: 'ns', clock, logger: silentLogger(), backing, options });
    this.run = compose([...(hooks.outer ?? []), this.hook, ...(hooks.inner ?? [])], storeTerminal(store, this.handles));
  }

  get core() {
    return this.hook.core;
  }

  async open(path: string, flags: number = constants.O_RDWR): Promise<number> {
    return (await this.run(this.vop('open', path, { flags }, this.store.paths.get(path)))).fh;
  }

  async read(fh: number, offset: number, length: number): Promise<string> {
    const buffer = Buffer.alloc(length);
    const n = await this.run(this.vop('read', '/', { fh, buffer, length, offset }, this.handles.get(fh)?.ino));
    return buffer.subarray(0, n).toString();
  }

  write(fh: number, offset: number, data: string | Buffer): Promise<number> {
    return this.run(this.vop('write', '/', { fh, data: Buffer.from(data), offset }, this.handles.get(fh)?.ino));
  }

  /** copy_file_range from handle `fhIn` at `offsetIn` to handle `fh` at `offset` (the vop on the destination, as the FUSE layer builds it). */
  copy(fhIn: number, offsetIn: number, fh: number, offset: number, length: number, flags = 0): Promise<VopResults['copyFileRange']> {
    const inoIn = this.handles.get(fhIn)?.ino ?? 0;
    return this.run(this.vop('copyFileRange', '/', { fhIn, inoIn, offsetIn, fh, offset, length, flags }, this.handles.get(fh)?.ino));
  }

  /** Creates `path` in the root directory (parentIno 1), as the FUSE layer's create. */
  async create(path: string): Promise<number> {
    const vop = { ...this.vop('create', path, { mode: 0o644 }, undefined), parentIno: 1 };
    return (await this.run(vop)).fh;
  }

  getattr(path: string): Promise<VopStat> {
    return this.run(this.vop('getattr', path, {}, this.store.paths.get(path)));
  }

  truncate(path: string, size: number): Promise<void> {
    return this.run(this.vop('truncate', path, { size }, this.store.paths.get(path)));
  }

  fsync(fh: number): Promise<void> {
    return this.run(this.vop('fsync', '/', { fh, datasync: false }, this.handles.get(fh)?.ino));
  }

  flush(fh: number): Promise<void> {
    return this.run(this.vop('flush', '/', { fh }, this.handles.get(fh)?.ino));
  }

  release(fh: number): Promise<void> {
    return this.run(this.vop('release', '/', { fh }, this.handles.get(fh)?.ino));
  }

  unlink(path: string): Promise<void> {
    return this.run({ ...this.vop('unlink', path, {}, this.store.paths.get(path)), parentIno: 1 });
  }

  private vop<N extends VopName>(op: N, path: string, args: VopOf<N>['args'], ino: number | undefined): VopOf<N> {
    return { op, path, ino, args, signal: this.signal } as VopOf<N>;
  }
}

/** Two agents over one coordinator, one store and one fake clock. */
export function twoHosts(options: CoherencyOptions = {}) {
  const clock = new FakeClock(1000);
  const coordinator = new FakeCoordinator();
  const store = new FakeStore();
  const a = new FakeAgent('A', coordinator, store, clock, options);
  const b = new FakeAgent('B', coordinator, store, clock, options);
  return { clock, coordinator, store, a, b };
}

/** Lets promise chains run (fake timers fire synchronously; their async work needs turns). */
export async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

export type { VopResults };

if (require.main === module) {
  test('the fake coordinator revokes a conflicting token before granting', async () => {
    const { coordinator, a, b } = twoHosts();
    const ga = await a.client.acquire({ resource: 'ns/1', space: 'data', mode: 'WRITE', range: { start: 0, end: 10 } });
    assert.deepEqual(ga.range, WHOLE_FILE);
    await b.client.acquire({ resource: 'ns/1', space: 'data', mode: 'READ', range: { start: 0, end: 10 } });
    assert.equal(coordinator.revokes.length, 1);
    assert.equal(coordinator.revokes[0].session, 'A');
  });
}
