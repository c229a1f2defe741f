import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, NoSamplesError, percentile, perSecond, ratiosByRun, summarize } from '../../bench/stats';

describe('bench stats: median', () => {
  it('takes the middle sample of an odd count, whatever the order', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([7]), 7);
  });

  it('averages the two middle samples of an even count', () => {
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([10, 20]), 15);
  });

  it('does not reorder the caller’s array', () => {
    const xs = [3, 1, 2];
    median(xs);
    assert.deepEqual(xs, [3, 1, 2]);
  });

  it('refuses no samples and non-finite samples', () => {
    assert.throws(() => median([]), NoSamplesError);
    assert.throws(() => median([1, NaN]), NoSamplesError);
    assert.throws(() => median([1, Infinity]), NoSamplesError);
  });
});

describe('bench stats: percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted

  it('returns the sample with p% of samples at or below it', () => {
    assert.equal(percentile(hundred, 50), 50);
    assert.equal(percentile(hundred, 99), 99);
    assert.equal(percentile(hundred, 100), 100);
    assert.equal(percentile(hundred, 1), 1);
  });

  it('gives the minimum at p0 and the maximum at p100', () => {
    assert.equal(percentile([9, 4, 6], 0), 4);
    assert.equal(percentile([9, 4, 6], 100), 9);
  });

  it('always returns one of the samples, never an interpolation', () => {
    const xs = [1, 2, 3, 4];
    assert.equal(percentile(xs, 50), 2);
    assert.equal(percentile(xs, 51), 3);
    assert.equal(percentile(xs, 99), 4);
    for (const p of [0, 10, 33.3, 50, 75, 90, 99, 99.9, 100]) assert.ok(xs.includes(percentile(xs, p)));
  });

  it('p99 of fewer than 100 samples is the maximum', () => {
    assert.equal(percentile([0.5, 0.4, 3.2, 0.6], 99), 3.2);
  });

  it('refuses p outside [0, 100] and empty samples', () => {
    assert.throws(() => percentile([1], -1), RangeError);
    assert.throws(() => percentile([1], 101), RangeError);
    assert.throws(() => percentile([1], NaN), RangeError);
    assert.throws(() => percentile([], 50), NoSamplesError);
  });
});

describe('bench stats: summarize', () => {
  it('reports median, min, max and count', () => {
    assert.deepEqual(summarize([3, 9, 1, 4]), { median: 3.5, min: 1, max: 9, n: 4 });
  });
});

describe('bench stats: ratios computed run by run', () => {
  it('divides within each run, not medians by medians', () => {
    const coherd = [1, 2, 100];
    const baseline = [2, 1, 50];
    const ratios = ratiosByRun(coherd, baseline);
    assert.deepEqual(ratios, [0.5, 2, 2]);
    assert.equal(median(ratios), 2);
    // The ratio of medians would be 2 / 2 = 1: a different (wrong) answer.
    assert.equal(median(coherd) / median(baseline), 1);
  });

  it('cancels a slowdown that hits both subjects in the same run', () => {
    const baseline = [100, 50, 100, 25, 100];
    const coherd = baseline.map((b) => b * 3);
    assert.deepEqual(summarize(ratiosByRun(coherd, baseline)), { median: 3, min: 3, max: 3, n: 5 });
  });

  it('skips runs where either side failed or the baseline is zero', () => {
    assert.deepEqual(ratiosByRun([1, undefined, 3, 4], [2, 2, undefined, 0]), [0.5]);
  });

  it('refuses series of different lengths', () => {
    assert.throws(() => ratiosByRun([1, 2], [1]), RangeError);
  });
});

describe('bench stats: perSecond', () => {
  it('turns a count over milliseconds into a rate', () => {
    assert.equal(perSecond(500, 250), 2000);
  });

  it('refuses a zero or negative elapsed time', () => {
    assert.throws(() => perSecond(1, 0), RangeError);
    assert.throws(() => perSecond(1, -5), RangeError);
  });
});
