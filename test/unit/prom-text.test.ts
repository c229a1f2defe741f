import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePromText, total, unboundedLabels } from '../support/prom-text';

const SCRAPE = `# HELP coherd_grants_total x
# TYPE coherd_grants_total counter
coherd_grants_total{space="data",mode="WRITE",component="coordinator"} 3
coherd_grants_total{space="range",mode="EXCLUSIVE",component="coordinator"} 2
coherd_sessions{component="coordinator"} 2
`;

test('parses samples and sums them by label', () => {
  const s = parsePromText(SCRAPE);
  assert.equal(total(s, 'coherd_grants_total'), 5);
  assert.equal(total(s, 'coherd_grants_total', { space: 'data' }), 3);
  assert.equal(total(s, 'coherd_sessions'), 2);
});

test('the bounded-label check flags a planted per-session label and passes the real ones', () => {
  const planted = parsePromText(SCRAPE + 'coherd_held_grants{session="a1b2c3d4e5f60708"} 1\n');
  assert.equal(unboundedLabels(planted, ['a1b2c3d4e5f60708']).length, 1);
  assert.equal(unboundedLabels(parsePromText(SCRAPE), ['a1b2c3d4e5f60708']).length, 0);
});

test('refuses lines that are not samples', () => {
  assert.throws(() => parsePromText('coherd grants 1\n'), /not a Prometheus sample line/);
});
