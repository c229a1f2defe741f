import * as net from 'node:net';
import { EventEmitter } from 'node:events';
import { ByteRange } from '../../common/byte-range';
import { UnavailableError, errorFromReason } from '../../common/errors';
import type { FencingToken } from '../../common/lock-shapes';
import { LocalEvent, LocalReply } from './protocol';

export interface LocalGrant {
  lockId: number;
  fencingToken: FencingToken;
  sessionId: string;
}

/** Talks to an agent's local lock API; emits 'fenced' (reason) when the agent lost its session. */
export class LocalLockClient extends EventEmitter {
  private nextId = 1;
  private buffered = '';
  private readonly pending = new Map<number, { resolve(r: LocalReply): void; onQueued?: () => void }>();

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => {
      for (const p of this.pending.values()) p.resolve({ id: 0, ok: false, reason: 'COORDINATOR_UNAVAILABLE', message: 'agent closed the connection' });
      this.pending.clear();
      this.emit('fenced', 'AGENT_GONE');
    });
    socket.on('error', () => undefined);
  }

  static connect(socketPath: string): Promise<LocalLockClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      socket.once('connect', () => resolve(new LocalLockClient(socket)));
      socket.once('error', (e) => reject(new UnavailableError('COORDINATOR_UNAVAILABLE', `agent unreachable at ${socketPath}: ${e.message}`)));
    });
  }

  async acquire(a: { resource: string; mode: 'SHARED' | 'EXCLUSIVE'; range: ByteRange; wait: boolean; timeoutMs?: number; onQueued?: () => void }): Promise<LocalGrant> {
    const reply = await this.request({ op: 'acquire', resource: a.resource, mode: a.mode, range: a.range, wait: a.wait, timeoutMs: a.timeoutMs ?? 0 }, a.onQueued);
    if (!reply.ok) throw errorFromReason(reply.reason, reply.message);
    return { lockId: reply.lockId!, fencingToken: reply.fencingToken!, sessionId: reply.sessionId ?? '' };
  }

  async release(lockId: number): Promise<void> {
    const reply = await this.request({ op: 'release', lockId });
    if (!reply.ok) throw errorFromReason(reply.reason, reply.message);
  }

  close(): void {
    this.socket.end();
  }

  private request(body: object, onQueued?: () => void): Promise<LocalReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve, onQueued });
      this.socket.write(JSON.stringify({ id, ...body }) + '\n');
    });
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      let msg: LocalReply | LocalEvent;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if ('event' in msg) {
        if (msg.event === 'queued' && msg.id) this.pending.get(msg.id)?.onQueued?.();
        if (msg.event === 'lost') this.emit('fenced', msg.reason ?? 'SESSION_LOST');
        continue;
      }
      const p = this.pending.get(msg.id);
      if (p) {
        this.pending.delete(msg.id);
        p.resolve(msg);
      }
    }
  }
}
