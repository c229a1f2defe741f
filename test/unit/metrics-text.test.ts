import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Registry } from 'prom-client';
import { metricsText } from '../../src/common/metrics/metrics-text';

function registry(collectMs = 0): Registry {
  const r = new Registry();
  r.setDefaultLabels({ component: 'coordinator' });
  for (let i = 0; i < 6; i++) {
    const c = new Counter({ name: `test_requests_${i}_total`, help: `requests "${i}"\nsecond line`, labelNames: ['space'], registers: [r] });
    c.inc({ space: 'range' }, i);
    c.inc({ space: 'data' }, 2 * i);
    new Gauge({
      name: `test_depth_${i}`, help: 'depth', registers: [r],
      collect() {
        const until = performance.now() + collectMs;
        while (performance.now() < until); // a slow collector
        this.set(i);
      },
    });
  }
  return r;
}

test('gives exactly the text registry.metrics() gives', async () => {
  const r = registry();
  assert.equal(await metricsText(r), await r.metrics());
  assert.equal(await metricsText(r, 0), await r.metrics());
});

/** How many times the event loop turned while scrape ran. */
async function turnsDuring(scrape: () => Promise<string>): Promise<number> {
  let turns = 0;
  let counting = true;
  const tick = () => { if (counting) { turns++; setImmediate(tick); } };
  setImmediate(tick);
  await scrape();
  counting = false;
  return turns;
}

test('lets the event loop turn between metrics once a turn used its budget', async () => {
  const r = registry(0.3);
  // 12 metrics, 6 of them slow collectors of 0.3 ms, with a 0.5 ms budget: several turns in between.
  const turns = await turnsDuring(() => metricsText(r, 0.5));
  assert.ok(turns >= 2, `the loop turned ${turns} times during the scrape`);
});

test('the turn count catches a scrape that holds the loop (the planted bug: prom-client\'s registry.metrics())', async () => {
  const r = registry(0.3);
  assert.equal(await turnsDuring(() => r.metrics()), 0);
  assert.equal(await turnsDuring(() => metricsText(r, 60_000)), 0);
});
