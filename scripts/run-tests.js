#!/usr/bin/env node
// Runs every compiled test file with node's built-in runner, one file at a
// time (they start real etcd, coordinators and FUSE mounts), then prints a
// plain "N passed, N failed" line. Usage: node scripts/run-tests.js [unit|integration|e2e|chaos ...]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const suites = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const dirs = (suites.length ? suites : ['unit', 'integration', 'e2e', 'chaos']).map((s) => path.join(root, 'dist', 'test', s));

function testFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'support' ? [] : testFiles(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  }).sort();
}

const files = dirs.flatMap(testFiles);
if (files.length === 0) {
  console.error('no test files found under dist/test (did the build run?)');
  process.exit(1);
}

const args = ['--test', '--test-concurrency=1', '--test-timeout=600000', '--test-reporter=spec', ...files];
const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
// The runner's totals ("ℹ pass N") come before its list of failures, which
// can be long: every line is scanned, not just the end of the output.
const totals = {};
let partial = '';
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  const lines = (partial + d.toString()).split('\n');
  partial = lines.pop();
  for (const line of lines) {
    const m = /^ℹ (pass|fail|cancelled|skipped) (\d+)$/.exec(line.trim());
    if (m) totals[m[1]] = Number(m[2]);
  }
});
child.on('exit', (code, signal) => {
  const num = (name) => totals[name] || 0;
  const passed = num('pass');
  const failed = num('fail') + num('cancelled');
  console.log(`\n${passed} passed, ${failed} failed, ${num('skipped')} skipped`);
  process.exit(code === 0 && failed === 0 && passed > 0 ? 0 : code || 1);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
