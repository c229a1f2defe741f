import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';

/**
 * coherd's processes tier hot functions up sooner than V8's default
 * (src/common/jit-tuning.ts). Checked in a child with V8's natives syntax
 * and synchronous optimization (deterministic): a small function called
 * 5,000 times is optimized with the tuning and not without it.
 */
const TUNING = path.resolve(__dirname, '..', '..', 'src', 'common', 'jit-tuning.js');

function optimizedAfter5000Calls(tuned: boolean): boolean {
  const script = `
    ${tuned ? `require(${JSON.stringify(TUNING)}).tuneJit();` : ''}
    function f(x) { return x + 1; }
    let s = 0;
    for (let i = 0; i < 5000; i++) s = f(s);
    process.stdout.write(String((%GetOptimizationStatus(f) & 16) !== 0));`;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--no-concurrent-recompilation', '-e', script], { encoding: 'utf8' });
  return out === 'true';
}

test('a hot function is optimized after a quarter of V8\'s default budget once the tuning is applied', () => {
  assert.equal(optimizedAfter5000Calls(false), false, 'control: V8\'s default budget has not optimized it yet');
  assert.equal(optimizedAfter5000Calls(true), true);
});

test('the coherd CLI applies the tuning before it runs a command', () => {
  const main = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
  // main.js runs the command line as it loads; --version exits at once. The tuning call precedes it.
  const out = execFileSync(process.execPath, ['-e', `
    const v8 = require('v8');
    const set = v8.setFlagsFromString;
    v8.setFlagsFromString = (flags) => { process.stdout.write('flags:' + flags + '\\n'); set(flags); };
    process.argv = [process.execPath, ${JSON.stringify(main)}, '--version'];
    require(${JSON.stringify(main)});`], { encoding: 'utf8' });
  assert.match(out, /flags:--interrupt-budget=16384/);
});
