import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Outbox, OutboundWriter } from '../../src/coordinator/outbox';
import { ResourceExhaustedError } from '../../src/common/errors';

interface Sent {
  seq: number;
  n?: number;
}

function recordingWriter(capacity = Infinity): OutboundWriter & { sent: Sent[]; drain(): void } {
  let onDrain: (() => void) | undefined;
  const sent: Sent[] = [];
  return {
    sent,
    write(message: object) {
      sent.push(message as Sent);
      return sent.length < capacity;
    },
    onDrain(fn) {
      onDrain = fn;
    },
    drain() {
      capacity = Infinity;
      const fn = onDrain;
      onDrain = undefined;
      fn?.();
    },
  };
}

test('messages are numbered from 1 in push order and sent at once to an attached stream', () => {
  const outbox = new Outbox();
  const writer = recordingWriter();
  outbox.attach(writer, 0);
  outbox.push({ n: 1 });
  outbox.push({ n: 2 });
  assert.deepEqual(writer.sent, [{ n: 1, seq: 1 }, { n: 2, seq: 2 }]);
});

test('a resumed stream gets exactly the messages its client did not ack, in order', () => {
  const outbox = new Outbox();
  const first = recordingWriter();
  outbox.attach(first, 0);
  for (let n = 1; n <= 5; n++) outbox.push({ n });
  outbox.ack(2);
  outbox.detach(first);
  outbox.push({ n: 6 });
  const second = recordingWriter();
  outbox.attach(second, 3);
  assert.deepEqual(second.sent.map((m) => m.seq), [4, 5, 6]);
});

test('acking everything frees the buffer, so an idle session keeps no history', () => {
  const outbox = new Outbox();
  outbox.attach(recordingWriter(), 0);
  for (let n = 1; n <= 10; n++) outbox.push({ n });
  outbox.ack(10);
  assert.equal(outbox.unacked, 0);
  const later = recordingWriter();
  outbox.attach(later, 10);
  assert.deepEqual(later.sent, []);
});

test('a long-lived stream with a lagging ack keeps only what is unacked plus a bounded tail', () => {
  const outbox = new Outbox();
  outbox.attach(recordingWriter(), 0);
  for (let n = 1; n <= 10_000; n++) {
    outbox.push({ n });
    if (n > 3) outbox.ack(n - 3);
  }
  assert.equal(outbox.unacked, 3);
  const resumed = recordingWriter();
  outbox.attach(resumed, 9_997);
  assert.deepEqual(resumed.sent.map((m) => m.seq), [9_998, 9_999, 10_000]);
});

test('a full transport pauses sending until drain, then continues where it stopped', () => {
  const outbox = new Outbox();
  const writer = recordingWriter(2);
  outbox.attach(writer, 0);
  for (let n = 1; n <= 4; n++) outbox.push({ n });
  assert.deepEqual(writer.sent.map((m) => m.seq), [1, 2]);
  writer.drain();
  assert.deepEqual(writer.sent.map((m) => m.seq), [1, 2, 3, 4]);
});

test('a client that never acks hits the unacked limit with QUEUE_FULL', () => {
  const outbox = new Outbox(3);
  for (let n = 1; n <= 3; n++) outbox.push({ n });
  assert.throws(() => outbox.push({ n: 4 }), (e: unknown) => e instanceof ResourceExhaustedError && e.reason === 'QUEUE_FULL');
});

test('a restored session continues the numbering its client already saw', () => {
  const outbox = new Outbox();
  outbox.continueAfter(41);
  const writer = recordingWriter();
  outbox.attach(writer, 41);
  outbox.push({ n: 1 });
  assert.deepEqual(writer.sent.map((m) => m.seq), [42]);
});
