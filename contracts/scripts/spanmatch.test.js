// SpanMatchReference against a brute-force JS coverage model, with fingerprint trees built by
// @openzeppelin/merkle-tree over the documented n-gram leaf layout.
'use strict';

const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

const { Interface, encodeParams, keccak } = require('./lib/abi.js');
const { TestChain } = require('./lib/evm.js');
const { ADDR, NGRAM_TYPES, hex, load, ngramValues, rng, spanCoverage, standardLeaf, tokensHash } = require('./lib/attribution.js');

const HARNESS = '0x00000000000000000000000000000000000f1a21';
const BAD_INPUT = '0x'; // bounds violations revert with empty data, as in the precompile

// A fingerprint tree holding the claimed n-grams of `tokens` plus `decoys` unrelated ones, and a
// multiproof for the claims. Returns the claims in multiproof order (the order the leaves must be
// built in).
function fingerprint(r, tokens, n, tokenizerId, spans, decoys = 0) {
  // spans: [{ pos, contributionIndex }]
  const values = spans.map(({ pos, contributionIndex }) => ngramValues(tokens, pos, n, tokenizerId, contributionIndex));
  const key = (v) => v.map(String).join('/');
  const byKey = new Map(values.map((v, i) => [key(v), spans[i]]));
  for (let d = 0; d < decoys; d++) {
    const fake = Array.from({ length: n }, () => r());
    values.push(ngramValues(fake, 0, n, tokenizerId, BigInt(r.int(1000))));
  }
  const tree = StandardMerkleTree.of(values, NGRAM_TYPES);
  const mp = tree.getMultiProof(spans.map((_, i) => i));
  const claims = mp.leaves.map((v) => byKey.get(key(v)));
  return { tree, root: tree.root, claims, proof: mp.proof, flags: mp.proofFlags };
}

describe('SpanMatchReference', () => {
  let chain;
  const abi = new Interface(load('SpanMatchReference').abi);
  const harness = new Interface(load('NgramLeafHarness').abi);
  const call = (tokens, n, tokenizerId, root, claims, proof, flags) =>
    chain.call({
      to: ADDR.SPAN_MATCH,
      data: abi.encode('verifySpans', [tokens, n, tokenizerId, root, claims.map((c) => [c.pos, c.contributionIndex]), proof, flags]),
      gasLimit: 100_000_000n,
    });
  const verify = async (...args) => {
    const res = await call(...args);
    assert.equal(res.ok, true, `verifySpans reverted: ${res.error} ${hex(res.returnData)}`);
    const [ok, covered, longest, perClaim] = abi.decode('verifySpans', res.returnData);
    return { ok, covered: Number(covered), longest: Number(longest), perClaim: perClaim.map(Number), gasUsed: res.gasUsed };
  };
  const harnessCall = async (fn, args) => {
    const res = await chain.call({ to: HARNESS, data: harness.encode(fn, args) });
    assert.equal(res.ok, true, res.error);
    return harness.decode(fn, res.returnData)[0];
  };

  before(async () => {
    chain = await TestChain.create();
    await chain.place(ADDR.SPAN_MATCH, load('SpanMatchReference').deployedBytecode);
    await chain.place(HARNESS, load('NgramLeafHarness').deployedBytecode);
  });

  it('has exactly the ISpanMatch ABI', () => {
    assert.deepEqual(Object.keys(load('SpanMatchReference').methodIdentifiers), [
      'verifySpans(uint32[],uint8,uint32,bytes32,(uint32,uint64)[],bytes32[],bool[])',
    ]);
  });

  it('abi.encodePacked of a uint32 array pads each element to 32 bytes (the n-gram layout)', async () => {
    const tokens = [1, 0xdeadbeef, 3, 0xffffffff];
    const word = (t) => encodeParams([{ type: 'uint32' }], [t]);
    const expected = hex(Buffer.concat(tokens.map(word)));
    assert.equal(await harnessCall('packed', [tokens]), expected);
    assert.equal(await harnessCall('packedFixed4', [tokens]), expected);
    assert.equal(expected.length, 2 + 4 * 64);
    assert.equal(hex(tokensHash(tokens)), hex(keccak(Buffer.from(expected.slice(2), 'hex'))));
  });

  it('the literal Solidity leaf, the JS leaf and StandardMerkleTree agree', async () => {
    const r = rng(99);
    for (const n of [4, 5, 17, 32]) {
      const tokens = Array.from({ length: n }, () => r());
      const values = ngramValues(tokens, 0, n, 50257, 123456789n);
      const js = hex(standardLeaf(NGRAM_TYPES, values));
      assert.equal(await harnessCall('ngramLeaf', [tokens, 50257, 123456789n]), js);
      assert.equal(StandardMerkleTree.of([values], NGRAM_TYPES).leafHash(values), js);
      // One-leaf tree: root = leaf, empty proof; the reference accepts exactly that claim.
      const got = await verify(tokens, n, 50257, js, [{ pos: 0, contributionIndex: 123456789n }], [], []);
      assert.deepEqual([got.ok, got.covered, got.longest, got.perClaim], [true, n, n, [n]]);
      // Any other tokenizer, n-gram or contribution index is a different leaf.
      assert.equal((await verify(tokens, n, 50256, js, [{ pos: 0, contributionIndex: 123456789n }], [], [])).ok, false);
      assert.equal((await verify(tokens, n, 50257, js, [{ pos: 0, contributionIndex: 123456788n }], [], [])).ok, false);
    }
  });

  it('coverage, longest run and per-claim counts across word boundaries', async () => {
    const r = rng(7);
    const tokens = Array.from({ length: 1000 }, () => r());
    // Contiguous 32-grams over [0, 640): covers word 0 and 1 entirely and part of word 2; then
    // overlapping claims (some repeating a position with another contribution index), and a
    // span crossing the 768 boundary.
    const spans = [];
    for (let p = 0; p < 640; p += 32) spans.push({ pos: p, contributionIndex: 1n });
    spans.push({ pos: 600, contributionIndex: 2n }, { pos: 10, contributionIndex: 3n });
    spans.push({ pos: 760, contributionIndex: 4n }, { pos: 770, contributionIndex: 4n }, { pos: 968, contributionIndex: 5n });
    const f = fingerprint(r, tokens, 32, 7, spans, 50);
    const got = await verify(tokens, 32, 7, f.root, f.claims, f.proof, f.flags);
    const want = spanCoverage(tokens.length, 32, f.claims.map((c) => c.pos));
    assert.deepEqual({ ok: got.ok, covered: got.covered, longest: got.longest, perClaim: got.perClaim }, { ok: true, ...want, perClaim: want.perClaim });
    assert.equal(want.longest, 640);
    assert.equal(want.covered, 640 + 42 + 32);
  });

  it('equals the brute-force model on random inputs', async () => {
    const r = rng(0x5a11);
    for (let k = 0; k < 24; k++) {
      const n = 4 + r.int(29);
      const len = n + r.int(k < 20 ? 700 : 3000);
      const tokens = Array.from({ length: len }, () => r());
      const count = 1 + r.int(k < 20 ? 20 : 120);
      // Clustered positions so spans overlap and chain into runs; a few repeats of a position
      // with a different contribution index.
      const spans = [];
      const seen = new Set();
      let p = r.int(len - n + 1);
      for (let c = 0; c < count; c++) {
        p = r.int(3) === 0 ? r.int(len - n + 1) : Math.min(len - n, Math.max(0, p + r.int(2 * n) - Math.floor(n / 2)));
        const contributionIndex = BigInt(r.int(4));
        const key = `${p}/${contributionIndex}`;
        if (seen.has(key)) continue;
        seen.add(key);
        spans.push({ pos: p, contributionIndex });
      }
      const tokenizerId = r();
      const f = fingerprint(r, tokens, n, tokenizerId, spans, r.int(40));
      const got = await verify(tokens, n, tokenizerId, f.root, f.claims, f.proof, f.flags);
      const want = spanCoverage(len, n, f.claims.map((c) => c.pos));
      assert.deepEqual(
        { ok: got.ok, covered: got.covered, longest: got.longest, perClaim: got.perClaim },
        { ok: true, ...want },
        `case ${k}: n ${n} len ${len} claims ${f.claims.length}`,
      );
      // A wrong token anywhere in a claimed span breaks the proof: (false, 0, 0, []).
      const c = f.claims[r.int(f.claims.length)];
      const bad = tokens.slice();
      const at = c.pos + r.int(n);
      bad[at] = (bad[at] ^ (1 << r.int(32))) >>> 0;
      const rejected = await verify(bad, n, tokenizerId, f.root, f.claims, f.proof, f.flags);
      assert.deepEqual([rejected.ok, rejected.covered, rejected.longest, rejected.perClaim], [false, 0, 0, []]);
    }
  });

  it('bounds revert (empty data): n outside 4..32, > 8,192 tokens, > 1,024 claims, pos + n > len', async () => {
    const root = '0x' + '11'.repeat(32);
    const one = [{ pos: 0, contributionIndex: 0n }];
    const tokens = Array(40).fill(7);
    for (const [label, args] of [
      ['n = 3', [tokens, 3, 0, root, one, [], []]],
      ['n = 33', [tokens, 33, 0, root, one, [], []]],
      ['8,193 tokens', [Array(8193).fill(1), 4, 0, root, one, [], []]],
      ['1,025 claims', [tokens, 4, 0, root, Array(1025).fill(one[0]), [], []]],
      ['pos + n = len + 1', [tokens, 4, 0, root, [{ pos: 37, contributionIndex: 0n }], [], []]],
      ['pos near 2^32', [tokens, 4, 0, root, [{ pos: 0xffffffff, contributionIndex: 0n }], [], []]],
    ]) {
      const res = await call(...args);
      assert.equal(res.ok, false, label);
      assert.equal(hex(res.returnData), BAD_INPUT, label);
    }
    // At the limits it runs (and the proof simply fails).
    const edge = await verify(Array(8192).fill(1), 32, 0, root, [{ pos: 8160, contributionIndex: 0n }], [root], [false]);
    assert.equal(edge.ok, false);
    const last = await verify(tokens, 4, 0, root, [{ pos: 36, contributionIndex: 0n }], [root], [false]);
    assert.equal(last.ok, false);
  });

  it('rejects non-canonical token words (ABI validation)', async () => {
    const r = rng(3);
    const tokens = Array.from({ length: 8 }, () => r());
    const f = fingerprint(r, tokens, 4, 1, [{ pos: 2, contributionIndex: 0n }], 3);
    const data = abi.encode('verifySpans', [tokens, 4, 1, f.root, f.claims.map((c) => [c.pos, c.contributionIndex]), f.proof, f.flags]);
    assert.equal((await chain.call({ to: ADDR.SPAN_MATCH, data })).ok, true);
    // Token 3 sits in word 4 + 7*32 + 32 + 3*32 of the calldata: set a bit above bit 31.
    const dirty = Buffer.from(data);
    const offset = 4 + 7 * 32 + 32 + 3 * 32;
    assert.equal(dirty.readUInt32BE(offset + 28), tokens[3] >>> 0);
    dirty[offset + 27] = 1;
    assert.equal((await chain.call({ to: ADDR.SPAN_MATCH, data: dirty })).ok, false);
  });

  it('gas on a mid-size input (1,024 tokens, n = 8, 64 claims, 4,096-leaf tree)', async (t) => {
    const r = rng(1024);
    const tokens = Array.from({ length: 1024 }, () => r());
    const spans = Array.from({ length: 64 }, (_, i) => ({ pos: i * 16, contributionIndex: BigInt(i % 5) }));
    const f = fingerprint(r, tokens, 8, 1, spans, 4096 - 64);
    const got = await verify(tokens, 8, 1, f.root, f.claims, f.proof, f.flags);
    assert.equal(got.ok, true);
    assert.equal(got.covered, 512);
    t.diagnostic(
      `SpanMatchReference.verifySpans, 1,024 tokens, n 8, 64 claims, ${f.proof.length} proof hashes: ${got.gasUsed} gas (execution)`,
    );
  });
});
