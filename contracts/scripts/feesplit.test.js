// FeeSplitReference (the Solidity version of the FeeSplit precompile) against hand-checked
// vectors and a BigInt model of the spec's algorithm.   node --test scripts/
'use strict';

const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');

const { Interface } = require('./lib/abi.js');
const { TestChain } = require('./lib/evm.js');
const { ADDR, feeSplitModel, hex, load, rng } = require('./lib/attribution.js');

const E18 = 10n ** 18n;
const MAX_I128 = (1n << 127n) - 1n;
const MIN_I128 = -(1n << 127n);

describe('FeeSplitReference', () => {
  let chain;
  const abi = new Interface(load('FeeSplitReference').abi);
  const call = (fee, bps, scores, minShareBps = 0) =>
    chain.call({ to: ADDR.FEE_SPLIT, data: abi.encode('split', [fee, bps, scores, minShareBps]) });
  const split = async (fee, bps, scores, minShareBps = 0) => {
    const res = await call(fee, bps, scores, minShareBps);
    assert.equal(res.ok, true, `split reverted: ${res.error} ${hex(res.returnData)}`);
    const [protocol, model, staker, shares, unassigned] = abi.decode('split', res.returnData);
    return { protocol, model, staker, shares, unassigned, gasUsed: res.gasUsed };
  };
  const strip = ({ gasUsed, ...r }) => r; // eslint-disable-line no-unused-vars

  before(async () => {
    chain = await TestChain.create();
    // Placed at the precompile address, as a benchmark would, though nothing depends on it.
    await chain.place(ADDR.FEE_SPLIT, load('FeeSplitReference').deployedBytecode);
  });

  it('has exactly the IFeeSplit ABI', () => {
    assert.deepEqual(Object.keys(load('FeeSplitReference').methodIdentifiers), [
      'split(uint256,uint16[4],int128[],uint16)',
    ]);
  });

  it('hand-checked vectors', async () => {
    // 1000 at 10/20/5/65 %: pools 100, 200, 50, 650; 650/3 = 216 r 2 each -> 2 units to the
    // lowest indices.
    assert.deepEqual(strip(await split(1000n, [1000, 2000, 500, 6500], [1n, 1n, 1n])), {
      protocol: 100n, model: 200n, staker: 50n, shares: [217n, 217n, 216n], unassigned: 0n,
    });
    // Dust goes to the contributor pool: 999 -> 99 (99.9), 199 (199.8), 49 (49.95), 652.
    assert.deepEqual(strip(await split(999n, [1000, 2000, 500, 6500], [3n * E18, E18])), {
      protocol: 99n, model: 199n, staker: 49n, shares: [489n, 163n], unassigned: 0n,
    });
    // Negative and zero scores earn nothing.
    assert.deepEqual(strip(await split(100n, [0, 0, 0, 10000], [-5n, 0n, 2n, 1n])), {
      protocol: 0n, model: 0n, staker: 0n, shares: [0n, 0n, 67n, 33n], unassigned: 0n,
    });
    // 10 over 1:1:3 is exact (2, 2, 6). Over 1:1:1: 3 r 1 each, the one left unit goes to
    // index 0 (tie, lower index). Over 1:2: 3 r 1 and 6 r 2, so the larger remainder (index 1)
    // beats the lower index. Over 1:1:1:1: 2 r 2 each, two units left -> indices 0 and 1.
    assert.deepEqual((await split(10n, [0, 0, 0, 10000], [1n, 1n, 3n])).shares, [2n, 2n, 6n]);
    assert.deepEqual((await split(10n, [0, 0, 0, 10000], [1n, 1n, 1n])).shares, [4n, 3n, 3n]);
    assert.deepEqual((await split(10n, [0, 0, 0, 10000], [1n, 2n])).shares, [3n, 7n]);
    assert.deepEqual((await split(10n, [0, 0, 0, 10000], [1n, 1n, 1n, 1n])).shares, [3n, 3n, 2n, 2n]);
    // No positive score: the whole contributor pool is unassigned.
    assert.deepEqual(strip(await split(1000n, [1000, 2000, 500, 6500], [0n, -1n])), {
      protocol: 100n, model: 200n, staker: 50n, shares: [0n, 0n], unassigned: 650n,
    });
    assert.deepEqual(strip(await split(1000n, [1000, 2000, 500, 6500], [])), {
      protocol: 100n, model: 200n, staker: 50n, shares: [], unassigned: 650n,
    });
    // minShareBps 1000 (10 %) drops 5 of 100 (5 %), then splits over 95.
    assert.deepEqual((await split(950n, [0, 0, 0, 10000], [50n, 45n, 5n], 1000)).shares, [500n, 450n, 0n]);
    // Exactly at the bar is kept (w * 1e4 < bar drops, equality does not).
    assert.deepEqual((await split(100n, [0, 0, 0, 10000], [90n, 10n], 1000)).shares, [90n, 10n]);
    // A bar above 100 % drops everyone.
    assert.deepEqual(strip(await split(100n, [0, 0, 0, 10000], [1n, 1n], 10001)), {
      protocol: 0n, model: 0n, staker: 0n, shares: [0n, 0n], unassigned: 100n,
    });
  });

  it('extreme values: fee 2^128 - 1 and int128 scores', async () => {
    const fee = (1n << 128n) - 1n;
    const scores = [MAX_I128, MAX_I128, MIN_I128, 1n, MAX_I128 - 7n];
    const bps = [1, 2, 3, 9994];
    const got = await split(fee, bps, scores);
    const want = feeSplitModel(fee, bps, scores);
    assert.deepEqual(strip(got), want);
    const sum = got.shares.reduce((a, b) => a + b, 0n) + got.unassigned;
    assert.equal(got.protocol + got.model + got.staker + sum, fee);
  });

  it('bad input reverts with empty data, as the precompile does', async () => {
    const bad = '0x';
    const cases = [
      [1n << 128n, [1000, 2000, 500, 6500], [1n]],
      [1000n, [1000, 2000, 500, 6499], [1n]],
      [1000n, [10000, 1, 0, 0], [1n]],
      [1000n, [0xffff, 0xffff, 0xffff, 10000 - 3 * 0xffff + 3 * 0x10000 - 0x30000], [1n]], // wraps as uint16
      [1000n, [0, 0, 0, 10000], Array(4097).fill(1n)],
    ];
    for (const [fee, bps, scores] of cases) {
      if (bps.some((b) => b < 0 || b > 0xffff)) continue;
      const res = await call(fee, bps, scores);
      assert.equal(res.ok, false, `accepted fee ${fee} bps ${bps} n ${scores.length}`);
      assert.equal(hex(res.returnData), bad);
    }
    // 4096 scores is the cap, not over it (a fee that divides evenly keeps the call cheap).
    assert.equal((await call(8192n, [0, 0, 0, 10000], Array(4096).fill(1n))).ok, true);
  });

  it('equals the BigInt model on random inputs (negative scores, minShareBps, ties)', async () => {
    const r = rng(0xfee5);
    for (let k = 0; k < 70; k++) {
      const n = k < 56 ? r.int(20) : r.int(300);
      const feeBits = [8, 20, 64, 128][r.int(4)];
      const fee = r.big(feeBits);
      const a = r.int(10001);
      const b = r.int(10001 - a);
      const c = r.int(10001 - a - b);
      const bps = [a, b, c, 10000 - a - b - c];
      const mode = r.int(4);
      const scores = Array.from({ length: n }, () => {
        if (mode === 0) return BigInt(r.int(5)) - 1n; // tiny, many ties and zeros
        if (mode === 1) return (BigInt(r.int(2000)) - 400n) * E18; // 1e18 fixed point, some negative
        if (mode === 2) return r.big(127) - (r.int(3) === 0 ? 1n << 126n : 0n); // huge
        return BigInt(r.int(7)) * E18 / 3n; // repeating remainders
      });
      const minShareBps = r.int(3) === 0 ? 0 : r.int(3) === 0 ? r.int(65536) : r.int(2000);
      const got = strip(await split(fee, bps, scores, minShareBps));
      assert.deepEqual(got, feeSplitModel(fee, bps, scores, minShareBps), `case ${k}: n ${n} fee ${fee} min ${minShareBps}`);
    }
  });

  it('invariants: exact sums, scale invariance, monotone in the score', async () => {
    const r = rng(77);
    for (let k = 0; k < 25; k++) {
      const n = 1 + r.int(40);
      const fee = r.big(96);
      const bps = [100, 2000, 500, 7400];
      const scores = Array.from({ length: n }, () => BigInt(r.int(1000)) - 100n);
      const got = await split(fee, bps, scores);
      const contributors = got.shares.reduce((x, y) => x + y, 0n) + got.unassigned;
      assert.equal(got.protocol + got.model + got.staker + contributors, fee);
      const scaled = await split(fee, bps, scores.map((s) => s * 1000n));
      assert.deepEqual(scaled.shares, got.shares);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (scores[i] > scores[j]) assert.ok(got.shares[i] >= got.shares[j], `case ${k}: ${i} vs ${j}`);
        }
      }
    }
  });

  it('gas on a mid-size input (64 scores)', async (t) => {
    const r = rng(64);
    const scores = Array.from({ length: 64 }, () => BigInt(r.int(1_000_000)) * 10n ** 12n);
    const { gasUsed } = await split(10n ** 18n + 12345n, [1000, 2000, 500, 6500], scores);
    t.diagnostic(`FeeSplitReference.split, 64 scores: ${gasUsed} gas (execution, excluding intrinsic/calldata)`);
    assert.ok(gasUsed < 200_000n);
  });
});
