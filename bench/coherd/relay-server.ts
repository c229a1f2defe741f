import * as grpc from '@grpc/grpc-js';

/**
 * The floor under P5: a gRPC server that relays messages between two bidi
 * streams and does nothing else. Stream "B" sends a request, the server
 * passes it to stream "A", A answers, the server passes the answer back to
 * B — the same four one-way hops across processes as B's acquire → Revoke
 * to A → RevokeAck → grant to B, without any coherd logic.
 *
 *   node relay-server.js      → sends {port} over IPC once listening
 *
 * Messages are raw bytes; the first message of a stream is its name ('A' or 'B').
 */

export const RELAY_METHOD = '/coherd.bench.Relay/Connect';

const identity = {
  serialize: (b: Buffer) => b,
  deserialize: (b: Buffer) => b,
};

export const relayService: grpc.ServiceDefinition = {
  Connect: {
    path: RELAY_METHOD,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity.serialize,
    requestDeserialize: identity.deserialize,
    responseSerialize: identity.serialize,
    responseDeserialize: identity.deserialize,
  },
};

function main(): void {
  const streams = new Map<string, grpc.ServerDuplexStream<Buffer, Buffer>>();
  const server = new grpc.Server();
  server.addService(relayService, {
    Connect: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      let name: string | undefined;
      call.on('data', (msg: Buffer) => {
        if (name === undefined) {
          name = msg.toString();
          streams.set(name, call);
          return;
        }
        streams.get(name === 'A' ? 'B' : 'A')?.write(msg);
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    process.send?.({ port });
  });
  const stop = () => server.tryShutdown(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
}

if (require.main === module) main();
