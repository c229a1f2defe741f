import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { AgentCluster } from '../support/agent-cluster';
import { collect, spawnCli, runCli } from '../support/cluster';

test('coherd lock takes cluster range locks through each host\'s agent socket, and they exclude each other across hosts', { timeout: 120_000 }, async () => {
  const cluster = await AgentCluster.start({ agents: 2 });
  try {
    const socketA = path.join(cluster.agents[0].stateDir, 'agent.sock');
    const socketB = path.join(cluster.agents[1].stateDir, 'agent.sock');
    const log = cluster.tmp('local-lock.log');
    // A holds the lock until the test opens the gate (a fixed sleep raced slow CLI starts).
    const gate = cluster.tmp('local-lock.gate');
    const holder = collect(spawnCli(['lock', 'shared-job', '--', 'sh', '-c', `echo "start A $COHERD_FENCING_TOKEN" >> ${log}; while [ ! -e ${gate} ]; do sleep 0.05; done; echo "end A" >> ${log}`], { COHERD_AGENT_SOCKET: socketA }));
    while (!(await cluster.run(`cat ${log} 2>/dev/null`)).stdout.includes('start A')) await new Promise((r) => setTimeout(r, 20));
    const busy = await runCli(['lock', 'shared-job', '-n', '--', 'true'], { COHERD_AGENT_SOCKET: socketB });
    assert.equal(busy.code, 1, 'the lock held through agent A is taken for agent B too');
    const second = collect(spawnCli(['lock', 'shared-job', '--', 'sh', '-c', `echo "start B $COHERD_FENCING_TOKEN" >> ${log}; echo "end B" >> ${log}`], { COHERD_AGENT_SOCKET: socketB }));
    await new Promise((r) => setTimeout(r, 300));
    await cluster.sh(`touch ${gate}`);
    const [a, b] = await Promise.all([holder, second]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const lines = (await cluster.sh(`cat ${log}`)).trim().split('\n');
    assert.deepEqual(lines.map((l) => l.split(' ').slice(0, 2).join(' ')), ['start A', 'end A', 'start B', 'end B']);
    // The lock was held by the agents' sessions, not by sessions of the commands.
    const [ea, ca] = lines[0].split(' ')[2].split('.').map(Number);
    const [eb, cb] = lines[2].split(' ')[2].split('.').map(Number);
    assert.ok(eb > ea || (eb === ea && cb > ca), 'fencing tokens increase');
  } finally {
    await cluster.stop();
  }
});

test('the agent socket answers garbage with an error and keeps serving', { timeout: 60_000 }, async () => {
  const cluster = await AgentCluster.start({ agents: 1 });
  try {
    const socket = path.join(cluster.agents[0].stateDir, 'agent.sock');
    const ask = (line: string) => new Promise<string>((resolve, reject) => {
      const s = net.connect(socket, () => s.write(line + '\n'));
      let got = '';
      s.setEncoding('utf8');
      s.on('data', (d) => { got += d; if (got.includes('\n')) { s.end(); resolve(got.trim()); } });
      s.on('error', reject);
    });
    assert.match(await ask('not json'), /"ok":false.*INVALID_ARGUMENT/);
    assert.match(await ask('{"id":1,"op":"acquire","resource":"r","mode":"SIDEWAYS"}'), /INVALID_MODE/);
    assert.match(await ask('{"id":2,"op":"acquire","resource":"r","mode":"EXCLUSIVE","range":{"start":9,"end":3}}'), /INVALID_RANGE/);
    assert.match(await ask('{"id":3,"op":"release","lockId":12345}'), /not held by this connection/);
    assert.match(await ask('{"id":4,"op":"acquire","resource":"r","mode":"EXCLUSIVE"}'), /"ok":true.*"fencingToken"/);
    assert.ok(cluster.agents[0].alive);
  } finally {
    await cluster.stop();
  }
});
