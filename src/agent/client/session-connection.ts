import * as grpc from '@grpc/grpc-js';
import { Logger } from '../../common/logger';
import { sessionClientConstructor, MAX_MESSAGE_BYTES } from '../../common/proto';
import { channelCredentials, TlsFiles } from '../../coordinator/transport-security';

export type ServerMessage = Record<string, unknown> & { seq?: number; requestId?: number; body?: string };

export interface ConnectionHandlers {
  onMessage(m: ServerMessage): void;
  /** The stream ended or failed; called once. */
  onClosed(reason: string): void;
}

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
};

/** One session stream to one coordinator endpoint, as the client uses it. */
export interface SessionLink {
  readonly endpoint: string;
  readonly isOpen: boolean;
  /** Writes a message; false when the link is gone. */
  send(message: object): boolean;
  /** Closes the link from this side (no onClosed call). */
  close(): void;
}

/** Opens a link; handlers get the server's messages and the link's end. */
export type SessionLinkFactory = (endpoint: string, tls: TlsFiles | undefined, handlers: ConnectionHandlers, logger: Logger) => SessionLink;

/** One Connect stream to one coordinator endpoint. */
export class SessionConnection implements SessionLink {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<object, ServerMessage>;
  private closed = false;

  constructor(readonly endpoint: string, tls: TlsFiles | undefined, private readonly handlers: ConnectionHandlers, logger: Logger) {
    const Ctor = sessionClientConstructor();
    this.client = new Ctor(endpoint, channelCredentials(tls), CHANNEL_OPTIONS);
    this.call = (this.client as unknown as { Connect(): grpc.ClientDuplexStream<object, ServerMessage> }).Connect();
    this.call.on('data', (m: ServerMessage) => {
      try {
        handlers.onMessage(m);
      } catch (e) {
        logger.error('client failed to handle a server message', { error: (e as Error).stack });
      }
    });
    this.call.on('error', (e: grpc.ServiceError) => this.finish(`${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`));
    this.call.on('end', () => this.finish('stream ended by coordinator'));
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Writes a message; false when the connection is gone. */
  send(message: object): boolean {
    if (this.closed) return false;
    try {
      this.call.write(message);
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.call.end();
      this.call.cancel();
    } catch {
      /* already gone */
    }
    this.client.close();
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
    this.handlers.onClosed(reason);
  }
}
