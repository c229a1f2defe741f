import * as net from 'node:net';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Logger } from '../../common/logger';
import { InvalidArgumentError, isCoherdError } from '../../common/errors';
import { checkRange, WHOLE_FILE } from '../../common/byte-range';
import { boundedString, nonNegativeMs, MAX_RESOURCE_BYTES } from '../../common/wire';
import { CoherdClient } from '../client/coherd-client';
import { LocalEvent, LocalReply, MAX_LINE_BYTES } from './protocol';

/** sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Serves cluster range locks to local programs through this host's
 * session (DESIGN §7: fuse-native has no lock op, so applications reach
 * range locks here or through `coherd lock`). Every connection is its own
 * owner within the session; its locks go when it disconnects.
 */
export class LocalLockServer {
  private server: net.Server | undefined;
  private nextConnection = 1;
  private readonly connections = new Set<net.Socket>();

  constructor(private readonly socketPath: string, private readonly client: () => CoherdClient, private readonly logger: Logger) {}

  async start(): Promise<void> {
    // Linux truncates a longer sun_path silently: the socket would appear under another name.
    if (Buffer.byteLength(this.socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new InvalidArgumentError('INVALID_ARGUMENT', `local lock socket path is longer than ${MAX_SOCKET_PATH_BYTES} bytes (a Unix socket's limit): give a shorter --socket or --state-dir`, { socketPath: this.socketPath });
    }
    fs.mkdirSync(path.dirname(this.socketPath), { recursive: true });
    fs.rmSync(this.socketPath, { force: true }); // a socket file left by a crashed agent
    this.server = net.createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.socketPath, () => resolve());
    });
    fs.chmodSync(this.socketPath, 0o666);
  }

  /** Tells every local lock holder that the session (and so its locks) is gone. */
  sessionLost(reason: string): void {
    for (const s of this.connections) send(s, { event: 'lost', reason });
  }

  async stop(): Promise<void> {
    for (const s of this.connections) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    fs.rmSync(this.socketPath, { force: true });
  }

  private serve(socket: net.Socket): void {
    const owner = `local-${process.pid}-${this.nextConnection++}`;
    const held = new Set<number>();
    const inflight = new Set<AbortController>();
    let buffered = '';
    this.connections.add(socket);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_LINE_BYTES && !buffered.includes('\n')) {
        send(socket, { id: 0, ok: false, reason: 'MESSAGE_TOO_LARGE', message: `request line longer than ${MAX_LINE_BYTES} bytes` });
        return void socket.destroy();
      }
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) void this.handle(socket, line, owner, held, inflight);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.connections.delete(socket);
      for (const a of inflight) a.abort();
      const client = this.client();
      for (const lockId of held) client.releaseLazily(lockId);
    });
  }

  private async handle(socket: net.Socket, line: string, owner: string, held: Set<number>, inflight: Set<AbortController>): Promise<void> {
    let id = 0;
    try {
      const req = parseLine(line);
      id = req.id;
      const client = this.client();
      if (req.op === 'release') {
        const lockId = Number(req.lockId);
        if (!held.has(lockId)) throw new InvalidArgumentError('INVALID_ARGUMENT', `lock ${req.lockId} is not held by this connection`);
        held.delete(lockId);
        await client.release(lockId);
        return send(socket, { id, ok: true });
      }
      const abort = new AbortController();
      inflight.add(abort);
      try {
        const grant = await client.acquire({
          resource: boundedString(req.resource, 'resource', MAX_RESOURCE_BYTES, true),
          space: 'range',
          mode: req.mode === 'SHARED' ? 'SHARED' : 'EXCLUSIVE',
          range: req.range ? checkRange(req.range.start, req.range.end) : WHOLE_FILE,
          owner,
          wait: req.wait !== false,
          timeoutMs: nonNegativeMs(req.timeoutMs, 'timeoutMs'),
          signal: abort.signal,
          onQueued: () => send(socket, { event: 'queued', id }),
        });
        if (socket.destroyed) return client.releaseLazily(grant.lockId);
        held.add(grant.lockId);
        send(socket, { id, ok: true, lockId: grant.lockId, fencingToken: grant.fencingToken, sessionId: client.sessionId });
      } finally {
        inflight.delete(abort);
      }
    } catch (e) {
      if (!isCoherdError(e)) this.logger.error('local lock request failed', { error: (e as Error).stack });
      send(socket, { id, ok: false, reason: isCoherdError(e) ? e.reason : 'INTERNAL', message: (e as Error).message });
    }
  }
}

function parseLine(line: string): { id: number; op: string; resource?: unknown; mode?: string; range?: { start: unknown; end: unknown }; wait?: boolean; timeoutMs?: unknown; lockId?: unknown } {
  let req: Record<string, unknown>;
  try {
    req = JSON.parse(line);
  } catch {
    throw new InvalidArgumentError('INVALID_ARGUMENT', 'request is not JSON');
  }
  if (!req || typeof req !== 'object') throw new InvalidArgumentError('INVALID_ARGUMENT', 'request must be an object');
  const id = Number(req.id);
  if (!Number.isSafeInteger(id) || id <= 0) throw new InvalidArgumentError('INVALID_ARGUMENT', 'id must be a positive integer');
  if (req.op !== 'acquire' && req.op !== 'release') throw new InvalidArgumentError('INVALID_ARGUMENT', `unknown op ${JSON.stringify(req.op)}`);
  if (req.op === 'acquire' && req.mode !== 'SHARED' && req.mode !== 'EXCLUSIVE') {
    throw new InvalidArgumentError('INVALID_MODE', `mode must be SHARED or EXCLUSIVE, got ${JSON.stringify(req.mode)}`);
  }
  return req as ReturnType<typeof parseLine>;
}

function send(socket: net.Socket, message: LocalReply | LocalEvent): void {
  if (!socket.destroyed) socket.write(JSON.stringify(message) + '\n');
}
