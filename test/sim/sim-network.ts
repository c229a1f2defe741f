import { EventEmitter } from 'node:events';
import type { Logger } from '../../src/common/logger';
import type { TlsFiles } from '../../src/coordinator/transport-security';
import { sessionServiceDefinition } from '../../src/common/proto';
import type { ConnectionHandlers, ServerMessage, SessionLink, SessionLinkFactory } from '../../src/agent/client/session-connection';
import type { SimScheduler } from './scheduler';

/** The server end of a simulated Connect stream, shaped like grpc-js's ServerDuplexStream as SessionStream uses it. */
export class SimServerCall extends EventEmitter {
  constructor(private readonly link: SimLink) {
    super();
    // SessionStream ends a stream by emitting 'error' (UNAVAILABLE) on its call, as grpc-js sends a status.
    this.on('error', (e: { details?: string }) => link.serverEnded(`UNAVAILABLE: ${e?.details ?? 'error'}`));
  }

  write(message: object): boolean {
    this.link.toClient(message);
    return true;
  }

  end(): void {
    this.link.serverEnded('stream ended by coordinator');
  }

  getPeer(): string {
    return this.link.host;
  }
}

let nextLinkId = 1;

/**
 * One simulated session stream between a host and the coordinator. Both
 * directions are FIFO channels of the scheduler with random delays, and
 * every message goes through the real protobuf codec, as on the wire. A
 * broken link loses what was in flight, as a dropped TCP connection does.
 */
export class SimLink implements SessionLink {
  readonly id = nextLinkId++;
  readonly call: SimServerCall;
  private open = true;
  private readonly up: string;
  private readonly down: string;

  constructor(
    private readonly net: SimNetwork,
    readonly host: string,
    readonly endpoint: string,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.up = `${host}->coord#${this.id}`;
    this.down = `coord->${host}#${this.id}`;
    this.call = new SimServerCall(this);
  }

  get isOpen(): boolean {
    return this.open;
  }

  send(message: object): boolean {
    if (!this.open) return false;
    const bytes = this.net.codec.requestSerialize(message);
    this.net.sched.schedule(this.net.delayMs(), 'coordinator', `deliver ${bodyOf(message)} from ${this.host}`, () => {
      if (this.open) this.call.emit('data', this.net.codec.requestDeserialize(bytes));
    }, this.up);
    return true;
  }

  /** The client closes its end: the server sees the call cancelled. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.net.sched.dropChannel(this.down);
    this.net.sched.schedule(this.net.delayMs(), 'coordinator', `cancelled by ${this.host}`, () => this.call.emit('cancelled'), this.up);
  }

  toClient(message: object): void {
    if (!this.open) return;
    const bytes = this.net.codec.responseSerialize(message);
    this.net.sched.schedule(this.net.delayMs(), this.host, `deliver ${bodyOf(message)} to ${this.host}`, () => {
      if (this.open) this.handlers.onMessage(this.net.codec.responseDeserialize(bytes) as ServerMessage);
    }, this.down);
  }

  /** The server ended the stream: the client hears it after what was sent before. */
  serverEnded(reason: string): void {
    if (!this.open) return;
    this.net.sched.schedule(this.net.delayMs(), this.host, `stream ended for ${this.host}`, () => this.finish(reason), this.down);
  }

  /** The connection breaks: in-flight messages are lost, both ends learn it. */
  break(reason: string): void {
    if (!this.open) return;
    this.net.sched.dropChannel(this.up);
    this.net.sched.dropChannel(this.down);
    this.net.sched.schedule(0, 'coordinator', `break seen by coordinator (${this.host})`, () => this.call.emit('error', { details: reason }), this.up);
    this.net.sched.schedule(0, this.host, `break seen by ${this.host}`, () => this.finish(reason), this.down);
  }

  private finish(reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.handlers.onClosed(reason);
  }
}

function bodyOf(m: object): string {
  const r = m as Record<string, unknown>;
  const lockOf = (x: unknown) => (x as { lock?: { lockId?: unknown; mode?: unknown; range?: { start?: unknown; end?: unknown }; version?: unknown } })?.lock;
  if (r.revoke) {
    const v = r.revoke as Record<string, unknown>;
    const range = v.range as { start: number; end: number };
    return `revoke lock ${v.lockId} v${v.version} wants ${v.wantedMode} [${range.start}, ${range.end}) #${v.attempt}`;
  }
  if (r.revokeAck) {
    const v = r.revokeAck as Record<string, unknown>;
    return v.released ? `revokeAck lock ${v.lockId} released` : `revokeAck lock ${v.lockId} v${v.version} keeps ${v.mode}`;
  }
  for (const k of ['granted', 'converted', 'reclaimed']) {
    const l = lockOf(r[k]);
    if (l) return `${k} lock ${l.lockId} v${l.version} ${l.mode} [${l.range?.start}, ${l.range?.end}) req ${r.requestId}`;
  }
  if (r.acquire) {
    const a = r.acquire as { mode?: string; space?: string; range?: { start: number; end: number } };
    return `acquire ${a.space} ${a.mode} [${a.range?.start}, ${a.range?.end}) req ${r.requestId}`;
  }
  if (r.error) return `error ${(r.error as { reason?: string }).reason} req ${r.requestId}`;
  for (const k of ['open', 'resume', 'heartbeat', 'acquire', 'release', 'convert', 'cancel', 'revokeAck', 'reclaim', 'reclaimComplete', 'ack', 'close',
    'opened', 'heartbeatAck', 'granted', 'queued', 'released', 'converted', 'revoke', 'evicted', 'error', 'cancelled', 'reclaimed', 'closed', 'reclaimCompleted']) {
    if (r[k] !== undefined && r[k] !== null) return k;
  }
  return 'message';
}

/** All links; the coordinator accepts each new one (see SimCoordinator.accept). */
export class SimNetwork {
  readonly links: SimLink[] = [];
  readonly codec = sessionServiceDefinition().Connect as unknown as {
    requestSerialize(m: object): Buffer; requestDeserialize(b: Buffer): Record<string, unknown>;
    responseSerialize(m: object): Buffer; responseDeserialize(b: Buffer): Record<string, unknown>;
  };

  /** Hosts cut off until this scheduler time: their links break at once, new ones too. */
  private readonly isolatedUntil = new Map<string, number>();

  constructor(readonly sched: SimScheduler, private readonly maxDelayMs: number, private readonly accept: (link: SimLink) => void) {}

  /** Cuts a host off for ms: every link breaks, and every new one breaks before it carries anything. */
  isolate(host: string, ms: number): void {
    this.isolatedUntil.set(host, this.sched.nowMs + ms);
    this.breakLinksOf(host, 'simulated partition');
  }

  delayMs(): number {
    return this.maxDelayMs === 0 ? 0 : this.sched.rng.next() * this.maxDelayMs;
  }

  factoryFor(host: string): SessionLinkFactory {
    return (endpoint: string, _tls: TlsFiles | undefined, handlers: ConnectionHandlers, _logger: Logger) => {
      const link = new SimLink(this, host, endpoint, handlers);
      this.links.push(link);
      if (this.sched.nowMs < (this.isolatedUntil.get(host) ?? 0)) {
        this.sched.schedule(0, host, `${host} still cut off`, () => link.break('simulated partition'));
        return link;
      }
      this.accept(link);
      return link;
    };
  }

  /** Breaks every open link of a host. */
  breakLinksOf(host: string, reason: string): number {
    let n = 0;
    for (const l of this.links) if (l.host === host && l.isOpen) { l.break(reason); n++; }
    return n;
  }
}
