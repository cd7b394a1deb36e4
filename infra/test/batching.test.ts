import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSettings } from '../lib/settings';
import { synth } from './helpers';

const BATCHING = { batching: 'true' };

describe('batching settings', () => {
  it('batching is off by default; batchingWindowSeconds is unset unless given, and takes 0 to 300', () => {
    const none = parseSettings(() => undefined);
    assert.equal(none.batching, false);
    assert.equal(none.batchingWindowSeconds, undefined);
    for (const [raw, expected] of [['true', true], ['false', false], [true, true], ['YES', true], ['0', false]] as const) {
      assert.equal(parseSettings((k) => (k === 'batching' ? raw : undefined)).batching, expected, `batching=${raw}`);
    }
    for (const [raw, expected] of [['0', 0], ['10', 10], [' 300 ', 300], [45, 45]] as const) {
      assert.equal(parseSettings((k) => (k === 'batchingWindowSeconds' ? raw : undefined)).batchingWindowSeconds, expected, `window=${raw}`);
    }
  });

  it('invalid batching and batchingWindowSeconds values are refused with an error naming the key', () => {
    assert.throws(() => synth({ batching: 'maybe' }), /Invalid context "batching": "maybe" is not true or false/);
    assert.throws(() => synth({ batching: 'on' }), /Invalid context "batching"/);
    for (const bad of ['301', '-1', '1.5', '10s', 'ten', '1e2', 1000, 2.5]) {
      assert.throws(
        () => synth({ ...BATCHING, batchingWindowSeconds: bad }),
        /Invalid context "batchingWindowSeconds": .* must be a whole number of seconds from 0 to 300/,
        `batchingWindowSeconds=${JSON.stringify(bad)}`,
      );
    }
  });
});
