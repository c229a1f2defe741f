import * as grpc from '@grpc/grpc-js';
import { sessionClientConstructor } from '../../src/common/proto';

type Message = Record<string, unknown>;

/**
 * Sends one first message (open or resume) on a fresh Session stream with
 * the given channel credentials and returns the first reply: the session
 * as opened, or the error the coordinator answered, or the stream's end.
 */
export function firstReply(endpoint: string, creds: grpc.ChannelCredentials, first: Message, timeoutMs = 5000): Promise<{ opened?: Message; seq?: number; error?: Message; closed?: string }> {
  const Ctor = sessionClientConstructor();
  const client = new Ctor(endpoint, creds);
  const call = (client as unknown as { Connect(): grpc.ClientDuplexStream<object, Message> }).Connect();
  return new Promise((resolve) => {
    const done = (r: { opened?: Message; seq?: number; error?: Message; closed?: string }) => {
      clearTimeout(timer);
      call.removeAllListeners('data');
      call.on('error', () => undefined);
      call.cancel();
      client.close();
      resolve(r);
    };
    const timer = setTimeout(() => done({ closed: 'no reply' }), timeoutMs);
    call.on('data', (m: Message) => {
      if (m.body === 'opened') done({ opened: m.opened as Message, seq: Number(m.seq ?? 0) });
      else if (m.body === 'error') done({ error: m.error as Message });
    });
    call.on('error', (e: grpc.ServiceError) => done({ closed: `${grpc.status[e.code]}: ${e.details}` }));
    call.write({ requestId: 0, ackSeq: 0, ...first });
    // A resume replays what was not acked: pass ackSeq in `first` to skip the original open's reply.
  });
}
