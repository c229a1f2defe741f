import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { collect, spawnCli } from '../support/cluster';
import { NetnsMachine, NetnsTopology } from '../../src/cli/netns-topology';

function why(): string | false {
  if (process.getuid?.() !== 0) return 'needs root: it creates network namespaces';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    execFileSync('nsenter', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'needs ip (iproute2) and nsenter (util-linux)';
  }
  return false;
}
const skip = why();

function namespacesOf(pid: number): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`coherd-${pid % 100000}-`));
}

/** Runs `script` with node inside machine m; resolves with its stdout. */
function inMachine(t: NetnsTopology, m: NetnsMachine, script: string, ...args: string[]): Promise<string> {
  const [cmd, ...prefix] = t.run(m);
  const child = spawn(cmd, [...prefix, process.execPath, '-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(child, 10_000).then((r) => { if (r.code !== 0) throw new Error(r.stderr); return r.stdout.trim(); });
}

// The receiver counts datagrams for 1.2 s and echoes each; the sender sends 10 and counts the echoes.
const RECEIVER = `const s=require('dgram').createSocket('udp4');let n=0;s.on('message',(m,r)=>{n++;s.send(m,r.port,r.address)});s.bind(9999,process.argv[1]);setTimeout(()=>{console.log(n);process.exit(0)},1200)`;
const SENDER = `const s=require('dgram').createSocket('udp4');let n=0;s.on('message',()=>n++);let i=0;const t=setInterval(()=>{s.send('x',9999,process.argv[1]);if(++i===10)clearInterval(t)},50);setTimeout(()=>{console.log(n);process.exit(0)},1000)`;

test('a cut drops real packets one way only: the receiver discards the sender\'s packets, the other direction still flows, heal restores both', { skip, timeout: 60_000 }, async () => {
  const t = new NetnsTopology();
  try {
    t.create();
    const x = t.addMachine('x', 51);
    const y = t.addMachine('y', 52);
    const exchange = async () => {
      const received = inMachine(t, y, RECEIVER, y.address);
      await new Promise((r) => setTimeout(r, 150));
      const echoed = await inMachine(t, x, SENDER, y.address);
      return { received: Number(await received), echoed: Number(echoed) };
    };
    const open = await exchange();
    assert.ok(open.received > 0 && open.echoed > 0, `no traffic before any cut: ${JSON.stringify(open)}`);
    t.dropFrom('y', x.address); // x→y lost
    assert.deepEqual(await exchange(), { received: 0, echoed: 0 });
    t.undropFrom('y', x.address);
    t.dropFrom('x', y.address); // y→x lost: y still hears x, x hears nothing back
    const back = await exchange();
    assert.ok(back.received > 0, `x→y should still flow: ${JSON.stringify(back)}`);
    assert.equal(back.echoed, 0);
    t.undropFrom('x', y.address);
    const healed = await exchange();
    assert.ok(healed.received > 0 && healed.echoed > 0, `heal did not restore traffic: ${JSON.stringify(healed)}`);
  } finally {
    t.destroy();
  }
  assert.deepEqual(namespacesOf(process.pid), []);
});

test('namespaces left by a run that was killed outright are removed by the next run', { skip, timeout: 30_000 }, async () => {
  const topology = path.resolve(__dirname, '../../src/cli/netns-topology.js');
  const child = spawn(process.execPath, ['-e', `const {NetnsTopology}=require(${JSON.stringify(topology)});const t=new NetnsTopology();t.create();t.addMachine('a0',31);console.log('ready');setInterval(()=>{},1000)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.on('data', (d) => { if (String(d).includes('ready')) resolve(); }));
  const pid = child.pid!;
  assert.equal(namespacesOf(pid).length, 2, 'the killed run had made its switch and one machine');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const removed = NetnsTopology.sweepStale();
  assert.ok(removed.length >= 2, `removed ${removed.join(', ')}`);
  assert.deepEqual(namespacesOf(pid), []);
  assert.throws(() => execFileSync('ip', ['link', 'show', `cr${pid % 100000}`], { stdio: 'ignore' }), 'its console cable is gone');
});

test('chaos run --netns puts every host on its own machine, injects real partitions and a slow store, passes its checkers and removes every namespace; Ctrl-C cleans up too', { skip, timeout: 240_000 }, async () => {
  const report = await fsp.mkdtemp(path.join(os.tmpdir(), 'coherd-chaos-report-'));
  let passed = false;
  try {
    const args = ['chaos', 'run', '--netns', '--seed', '2405', '--agents', '2', '--coordinators', '2', '--lock-clients', '2', '--faults', 'partition-agent,partition-lock-client,partition-coordinator-etcd,kill-leader,slow-store', '--fault-gap', '0.5-1.5', '--report', report];
    // Coordinators log at info (COHERD_TEST_LOG_LEVEL): a failed run keeps their logs.
    const child = spawnCli([...args, '--duration', '25'], { COHERD_LOG_LEVEL: 'warn', COHERD_TEST_LOG_LEVEL: 'info' });
    const r = await collect(child, 200_000);
    console.log(r.stdout);
    const summary = JSON.parse(await fsp.readFile(path.join(report, 'summary.json'), 'utf8'));
    assert.equal(r.code, 0, `the --netns run failed (report ${report}):\n${r.stdout}\n${r.stderr.slice(-3000)}`);
    const history = await fsp.readFile(path.join(report, 'history.jsonl'), 'utf8');
    assert.match(history, /"netns":true/);
    assert.ok(summary.faults.total >= 4, `only ${summary.faults.total} faults`);
    // Seed 2405's first five faults (about 18 s of 25): a lock host cut, an agent cut both ways for longer than its lease,
    // a slow store, a coordinator cut from etcd, a leader kill.
    for (const kind of ['partition-agent', 'partition-lock-client', 'partition-coordinator-etcd', 'kill-leader', 'slow-store']) assert.ok(summary.faults.byKind[kind] >= 1, `no ${kind} in ${JSON.stringify(summary.faults.byKind)}`);
    assert.ok((summary.faults.byKind['partition-agent'] ?? 0) + (summary.faults.byKind['partition-lock-client'] ?? 0) >= 1, 'no partition was injected');
    const agentOps = history.split('\n').filter((l) => l.includes('"kind":"op"') && l.includes('"host":"agent-')).length;
    assert.ok(agentOps > 200, `the agents on their machines ran ${agentOps} operations`);
    assert.deepEqual(namespacesOf(child.pid!), [], 'the run left namespaces behind');
    // The drops act: an agent cut both ways for longer than its lease (TTL 3 s) says it is fenced before the cut heals.
    const lines = history.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; fault?: string; target?: string; detail?: string; startMs: number; endMs: number; host?: string; atMs: number; deadlineMs?: number | null });
    const longCuts = lines.filter((l) => l.kind === 'fault' && l.fault === 'partition-agent' && /^both ways/.test(l.detail ?? '') && l.endMs - l.startMs > 3500);
    assert.ok(longCuts.length >= 1, 'seed 2405 cuts an agent both ways for longer than its lease');
    for (const cut of longCuts) {
      const fenced = lines.some((l) => l.kind === 'lease' && l.host === cut.target && l.deadlineMs === null && l.atMs > cut.startMs && l.atMs < cut.endMs);
      assert.ok(fenced, `${cut.target} never said it was fenced during ${cut.detail}`);
    }

    const interrupted = spawnCli([...args, '--duration', '300'], { COHERD_LOG_LEVEL: 'info' });
    const done = collect(interrupted, 120_000);
    let stderr = '';
    await new Promise<void>((resolve) => interrupted.stderr!.on('data', (d) => { stderr += d; if (stderr.includes('"fault"')) resolve(); }));
    assert.ok(namespacesOf(interrupted.pid!).length >= 8, 'switch, 3 etcd, 2 coordinators, 2 agents and 2 lock hosts are up');
    interrupted.kill('SIGINT');
    const ri = await done;
    assert.ok(ri.code === 0 || ri.code === 1, `exit ${ri.code ?? ri.signal}`);
    assert.deepEqual(namespacesOf(interrupted.pid!), [], 'Ctrl-C left namespaces behind');
    passed = true;
  } finally {
    // A failed run's report stays, with every process's log in logs/ (its path is in the assertion message).
    if (passed) await fsp.rm(report, { recursive: true, force: true });
  }
});
