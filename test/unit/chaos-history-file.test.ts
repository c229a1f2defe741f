import { test } from 'node:test';
import assert from 'node:assert/strict';
import { historyToJsonl, parseHistory } from '../../src/chaos/history/history-file';
import { isCoherdError } from '../../src/common/errors';
import { HistoryBuilder } from './support/chaos-history-builder';

test('a history survives a round trip through JSON lines', () => {
  const b = new HistoryBuilder(5000);
  b.hold('c1', 'k', 10, 20, [3, 4], { toldLostMs: 15 });
  b.write('a', 'r', 'x', 0, null, 'info');
  const h = { ...b.history(), faults: [{ id: 1, fault: 'kill-agent', target: 'agent-0', startMs: 5, endMs: 900 }] };
  const back = parseHistory(historyToJsonl(h));
  assert.deepEqual(back, h);
});

test('refuses malformed history lines with their line number', () => {
  const cases: Array<[string, RegExp]> = [
    ['{"kind":"op"', /line 1: not JSON/],
    ['\n{"kind":"op","id":1,"process":"p","host":"h","key":"k","type":"teleport","result":"ok","invokeMs":1,"completeMs":2}', /line 2: unknown op type/],
    ['{"kind":"op","id":1,"process":"p","host":"h","key":"k","type":"read","result":"ok","invokeMs":5,"completeMs":2}', /completes before/],
    ['{"kind":"op","id":1,"process":"p","host":"h","key":"k","type":"read","result":"ok","invokeMs":5,"completeMs":null}', /must have completeMs/],
    ['{"kind":"weird"}', /unknown line kind/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseHistory(text), (e: unknown) => isCoherdError(e) && re.test((e as Error).message));
  }
});
