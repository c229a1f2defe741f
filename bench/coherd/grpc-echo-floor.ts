import * as grpc from '@grpc/grpc-js';
import { fork } from 'node:child_process';
import { cpuMicros } from './cli-process';

/**
 * The floor under P3: 8 bidi streams on one channel (as coherd's 8
 * contenders), each sending one message and waiting for its echo, against
 * a bare grpc-js echo server in another process — no coherd logic, no
 * protobuf (raw bytes of the size of an Acquire / a Granted). Prints round
 * trips/s and the CPU each process spends per round trip.
 *
 *   node dist/bench/coherd/grpc-echo-floor.js [streams=8] [seconds=5]
 */

const METHOD = '/coherd.bench.Echo/Connect';
const identity = (b: Buffer) => b;
const echoService: grpc.ServiceDefinition = {
  Connect: {
    path: METHOD, requestStream: true, responseStream: true,
    requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity,
  },
};
const REQUEST_BYTES = 60;
const REPLY_BYTES = 110;

function serve(): void {
  const reply = Buffer.alloc(REPLY_BYTES, 1);
  const server = new grpc.Server();
  server.addService(echoService, {
    Connect: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', () => call.write(reply));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    process.send?.({ port });
  });
  process.on('disconnect', () => server.forceShutdown());
}

async function measure(streams: number, seconds: number): Promise<void> {
  const child = fork(__filename, ['serve'], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  const Client = grpc.makeGenericClientConstructor(echoService, 'Echo');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const request = Buffer.alloc(REQUEST_BYTES, 2);
  let roundTrips = 0;
  let stop = false;
  const loops = Array.from({ length: streams }, () => new Promise<void>((resolve) => {
    const call = (client as unknown as { Connect(): grpc.ClientDuplexStream<Buffer, Buffer> }).Connect();
    call.on('data', () => {
      roundTrips++;
      if (stop) { call.end(); resolve(); } else call.write(request);
    });
    call.on('error', () => resolve());
    call.write(request);
  }));
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  const rt0 = roundTrips, server0 = cpuMicros(child.pid!), client0 = process.cpuUsage(), t0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const n = roundTrips - rt0, serverUs = cpuMicros(child.pid!) - server0, clientUse = process.cpuUsage(client0), ms = Date.now() - t0;
  stop = true;
  await Promise.all(loops);
  client.close();
  child.disconnect();
  console.log(JSON.stringify({
    streams,
    roundTripsPerSec: Math.round(n / (ms / 1000)),
    serverCpuUsPerRoundTrip: +(serverUs / n).toFixed(1),
    clientCpuUsPerRoundTrip: +((clientUse.user + clientUse.system) / n).toFixed(1),
  }));
}

if (require.main === module) {
  if (process.argv[2] === 'serve') serve();
  else void measure(Number(process.argv[2] ?? 8), Number(process.argv[3] ?? 5));
}
