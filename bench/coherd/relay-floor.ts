import { fork } from 'node:child_process';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { hasExited, waitExit } from '../child-exit';
import { latencyMetrics } from '../stats';
import { nowMs, throwIfAborted, withTimeout } from '../timing';
import type { BenchContext, Metrics } from '../types';
import { relayService } from './relay-server';

/** A relay message about the size of a coherd Acquire / Revoke / RevokeAck. */
const PAYLOAD = Buffer.alloc(96, 0x61);

type Duplex = grpc.ClientDuplexStream<Buffer, Buffer>;

/**
 * P5's reference subject 'grpc-relay': the same four cross-process hops
 * as a revoke round trip (requester → server → holder → server →
 * requester), through a bare grpc-js relay in its own process
 * (relay-server.ts), with the holder answering from an async handler as
 * CoherdClient does. Shows what gRPC and this machine's scheduling cost
 * before coherd adds any work.
 */
export async function measureRelayFloor(ctx: BenchContext): Promise<Metrics> {
  const child = fork(path.join(__dirname, 'relay-server.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const stop = ctx.cleanup.add({
    name: 'grpc relay server',
    run: async () => {
      if (hasExited(child)) return;
      child.kill('SIGTERM');
      if (!(await waitExit(child, 5000))) child.kill('SIGKILL');
    },
    runSync: () => void child.kill('SIGKILL'),
  });
  try {
    const port = await withTimeout(
      new Promise<number>((resolve, reject) => {
        child.once('message', (m: { port: number }) => resolve(m.port));
        child.once('exit', (code) => reject(new Error(`relay server exited (${code})`)));
      }),
      10_000,
      'relay server start',
    );
    const Client = grpc.makeGenericClientConstructor(relayService, 'Relay');
    const holderClient = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const requesterClient = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const holder = (holderClient as unknown as { Connect(): Duplex }).Connect();
    const requester = (requesterClient as unknown as { Connect(): Duplex }).Connect();
    try {
      holder.write(Buffer.from('A'));
      requester.write(Buffer.from('B'));
      holder.on('data', async () => {
        await Promise.resolve(); // CoherdClient answers a revoke from an async handler
        holder.write(PAYLOAD);
      });
      let answered: (() => void) | undefined;
      requester.on('data', () => answered?.());
      const roundTrip = () =>
        new Promise<void>((resolve) => {
          answered = resolve;
          requester.write(PAYLOAD);
        });
      // Both streams must be registered at the relay before the first sample.
      await withTimeout(roundTrip(), 5000, 'first relay round trip', ctx.signal).catch(async () => {
        await withTimeout(roundTrip(), 5000, 'first relay round trip', ctx.signal);
      });
      const { revokeSamples, revokeWarmup } = ctx.profile;
      const latenciesMs: number[] = [];
      for (let i = 0; i < revokeWarmup + revokeSamples; i++) {
        throwIfAborted(ctx.signal);
        const t0 = nowMs();
        await withTimeout(roundTrip(), 5000, 'relay round trip', ctx.signal);
        if (i >= revokeWarmup) latenciesMs.push(nowMs() - t0);
      }
      return latencyMetrics(latenciesMs);
    } finally {
      holder.end();
      requester.end();
      holderClient.close();
      requesterClient.close();
    }
  } finally {
    await stop();
  }
}
