import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkAndReport } from '../../src/chaos/report/write-report';
import { runCli } from '../support/cluster';
import { HistoryBuilder } from './support/chaos-history-builder';

function history(withViolation: boolean) {
  const b = new HistoryBuilder(3000);
  b.hold('lock-0/c0', 'lock-0', 100, 400, [5, 1]);
  const second = b.hold('lock-1/c0', 'lock-0', withViolation ? 300 : 500, 700, [5, 2]);
  b.write('agent-0/reg', 'reg-0', 'v1', 50, 80);
  b.read('agent-1/reg', 'reg-0', 'v1', 90, 120);
  b.write('agent-1/reg', 'reg-0', 'v2', 1000, null, 'info');
  const h = b.history();
  h.faults.push({ id: 1, fault: 'pause-agent', target: 'agent-1', startMs: 200, endMs: 2500, detail: 'SIGSTOP 2.3 s' });
  h.meta.loggedErrors = [{ host: 'agent-1', message: 'reclaim refused; the grant is lost', error: 'conflict', count: 2, firstAt: '' }];
  return { h, second };
}

async function tempDir(): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'coherd-chaos-report-'));
}

test('the report is one self-contained page with a timeline, fault bands, a latency plot and violations linked to their ops', async () => {
  const dir = await tempDir();
  try {
    const { h, second } = history(true);
    const { summary } = await checkAndReport(h, dir);
    assert.equal(summary.passed, false);
    const html = await fsp.readFile(path.join(dir, 'index.html'), 'utf8');
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'no script, no network');
    assert.match(html, /<svg[^>]*class="timeline"/);
    assert.match(html, /<svg[^>]*class="latency"/);
    assert.match(html, new RegExp(`<rect id="op-${second.id}"[^>]*class="flagged"`));
    assert.match(html, new RegExp(`href="#op-${second.id}"`));
    assert.match(html, /class="fault"/);
    assert.match(html, /pause-agent/);
    assert.match(html, /Errors the agents logged \(2\)[\s\S]*reclaim refused; the grant is lost/);
    const saved = JSON.parse(await fsp.readFile(path.join(dir, 'summary.json'), 'utf8'));
    assert.equal(saved.faults.byKind['pause-agent'], 1);
    assert.equal(saved.checkers.find((c: { checker: string }) => c.checker === 'mutual-exclusion').verdict, 'fail');
    assert.ok((await fsp.readFile(path.join(dir, 'history.jsonl'), 'utf8')).split('\n').length > h.ops.length);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('coherd chaos check exits 0 on a valid saved run, 1 on one with a violation and 2 on a malformed history', async () => {
  const good = await tempDir();
  const bad = await tempDir();
  const broken = await tempDir();
  try {
    await checkAndReport(history(false).h, good);
    await checkAndReport(history(true).h, bad);
    await fsp.writeFile(path.join(broken, 'history.jsonl'), '{"kind":"op","id":1}\n');
    const ok = await runCli(['chaos', 'check', good]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /PASS\s+mutual-exclusion/);
    const fail = await runCli(['chaos', 'check', bad]);
    assert.equal(fail.code, 1);
    assert.match(fail.stdout, /FAIL\s+mutual-exclusion/);
    const malformed = await runCli(['chaos', 'check', broken]);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /history line 1/);
    const missing = await runCli(['chaos', 'check', path.join(good, 'nope')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no history/);
  } finally {
    for (const d of [good, bad, broken]) await fsp.rm(d, { recursive: true, force: true });
  }
});
