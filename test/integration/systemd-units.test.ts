import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const DIR = path.resolve(__dirname, '../../../deploy/systemd');
const UNITS: Array<[string, string]> = [['coherd-coordinator.service', 'coherd-coordinator.service'], ['coherd-agent@.service', 'coherd-agent@shared.service']];
const HAVE_ANALYZE = spawnSync('systemd-analyze', ['--version']).status === 0;

/**
 * systemd-analyze verify exits 0 even for unknown keys and unparsable
 * values (it only warns), so any output counts as a failure.
 */
function verify(files: Record<string, string>): { status: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coherd-units-'));
  try {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...Object.keys(files).map((n) => `./${n}`)], { cwd: dir, encoding: 'utf8' });
    return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function unit(file: string): string {
  return fs.readFileSync(path.join(DIR, file), 'utf8');
}

test('systemd-analyze verify accepts both units without a warning', { skip: HAVE_ANALYZE ? false : 'systemd-analyze is not installed (Debian package systemd)' }, () => {
  const r = verify(Object.fromEntries(UNITS.map(([src, as]) => [as, unit(src)])));
  assert.equal(r.status, 0, r.output);
  assert.equal(r.output, '');
});

test('the verify check fails on planted mistakes: a bad value, a misspelt key, a missing binary', { skip: HAVE_ANALYZE ? false : 'systemd-analyze is not installed (Debian package systemd)' }, () => {
  const base = unit('coherd-coordinator.service');
  for (const [from, to, pattern] of [
    ['Restart=always', 'Restart=sometimes', /restart specifier/],
    ['KillMode=mixed', 'KilMode=mixed', /Unknown key 'KilMode'/],
    ['ExecStart=/usr/bin/node ', 'ExecStart=/usr/bin/nodejs-missing ', /not executable/],
  ] as const) {
    assert.ok(base.includes(from), from);
    const r = verify({ 'coherd-coordinator.service': base.replace(from, to) });
    assert.match(r.output, pattern);
  }
});

test('both units restart, stop cleanly and start after the network (and etcd, for the coordinator)', () => {
  const coordinator = unit('coherd-coordinator.service');
  const agent = unit('coherd-agent@.service');
  for (const u of [coordinator, agent]) {
    assert.match(u, /^After=.*network-online\.target/m);
    assert.match(u, /^Wants=network-online\.target$/m);
    assert.match(u, /^Restart=(always|on-failure)$/m);
    assert.match(u, /^KillMode=mixed$/m);
    assert.match(u, /^TimeoutStopSec=\d+$/m);
    assert.match(u, /^NoNewPrivileges=yes$/m);
  }
  assert.match(coordinator, /^After=.*etcd\.service/m);
  assert.match(coordinator, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m, 'certificate reload');
  assert.match(coordinator, /^ProtectSystem=strict$/m);
  assert.match(agent, /^ExecStop=.*kill -TERM \$MAINPID/m, 'the agent unmounts itself on SIGTERM');
  assert.match(agent, /^ExecStopPost=-\/bin\/fusermount3 -uz \$\{COHERD_MOUNT\}$/m, 'a leftover mount is detached');
  assert.match(agent, /^DeviceAllow=\/dev\/fuse rw$/m);
  assert.doesNotMatch(agent, /^(ProtectSystem|PrivateTmp|ProtectHome)=/m, 'a private mount namespace would hide the FUSE mount from the host');
});
