import * as grpc from '@grpc/grpc-js';
import { sessionClientConstructor } from '../../src/common/proto';

type Message = Record<string, unknown>;

/** A raw Session stream so tests can send what no well-behaved client would, and read every reply. */
export class RawStream {
  private readonly client: grpc.Client;
  readonly call: grpc.ClientDuplexStream<object, Message>;
  private readonly inbox: Message[] = [];
  private waiters: Array<() => void> = [];
  readonly status: Promise<grpc.StatusObject>;
  ended = false;

  constructor(address: string) {
    const Ctor = sessionClientConstructor();
    this.client = new Ctor(address, grpc.credentials.createInsecure());
    this.call = (this.client as unknown as { Connect(): grpc.ClientDuplexStream<object, Message> }).Connect();
    this.call.on('data', (m: Message) => { this.inbox.push(m); this.wake(); });
    this.status = new Promise((r) => {
      this.call.on('status', (s) => { this.ended = true; this.wake(); r(s); });
      this.call.on('error', () => undefined);
    });
  }

  /** The next message; undefined when none came within timeoutMs or the stream ended. */
  async next(timeoutMs = 10_000): Promise<Message | undefined> {
    const until = Date.now() + timeoutMs;
    while (this.inbox.length === 0 && !this.ended && Date.now() < until) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, until - Date.now()));
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
    return this.inbox.shift();
  }

  /** The next message answering requestId (skipping others, e.g. revokes); undefined on timeout. */
  async replyTo(requestId: number, timeoutMs = 10_000): Promise<Message | undefined> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.next(Math.max(1, until - Date.now()));
      if (m === undefined) return undefined;
      if (Number(m.requestId) === requestId) return m;
    }
  }

  async request(m: Message): Promise<Message | undefined> {
    this.call.write(m);
    return this.replyTo(Number(m.requestId));
  }

  send(m: Message): void {
    this.call.write(m);
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }

  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }
}

/** Opens a session on a fresh raw stream. */
export async function openRaw(address: string, clientName = 'raw', ttlMs = 5000): Promise<{ raw: RawStream; sessionId: string; secret: string; opened: Message }> {
  const raw = new RawStream(address);
  const opened = await raw.request({ requestId: 1, open: { clientName, ttlMs } });
  if (opened?.body !== 'opened') throw new Error(`open failed: ${JSON.stringify(opened)}`);
  const o = opened.opened as Record<string, string>;
  return { raw, sessionId: o.sessionId, secret: o.resumeSecret, opened };
}

export function reasonOf(m: Message | undefined): string | undefined {
  return m?.body === 'error' ? String((m.error as Message).reason) : undefined;
}
