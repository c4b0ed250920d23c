// MultiProofReference (OpenZeppelin MerkleProof.multiProofVerifyCalldata behind the
// IMerkleMultiProof ABI) against trees and multiproofs made by @openzeppelin/merkle-tree.
'use strict';

const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

const { Interface } = require('./lib/abi.js');
const { TestChain } = require('./lib/evm.js');
const { ADDR, CONTRIBUTION_TYPES, errorSelector, hex, load, rng, standardLeaf } = require('./lib/attribution.js');

const INVALID_MULTIPROOF = errorSelector('MerkleProofInvalidMultiproof()');
const PANIC_OOB = errorSelector('Panic(uint256)') + '32'.padStart(64, '0');

function randomContributions(r, count, datanetId = r.word()) {
  return Array.from({ length: count }, (_, i) => [
    datanetId,
    BigInt(1 + r.int(5)),
    BigInt(i),
    r.address(),
    r.word(),
    r.int(1_000_000),
  ]);
}

// Picks `k` distinct random indices of 0..n-1.
function pick(r, n, k) {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, k);
}

const flipWord = (w, bit = 0) => {
  const b = Buffer.from(w.slice(2), 'hex');
  b[31 - (bit >> 3)] ^= 1 << (bit & 7);
  return hex(b);
};

describe('MultiProofReference', () => {
  let chain;
  const abi = new Interface(load('MultiProofReference').abi);
  const call = (fn, args) => chain.call({ to: ADDR.MULTIPROOF, data: abi.encode(fn, args) });
  // true / false, or { revert: hex } when it reverts.
  const run = async (fn, args) => {
    const res = await call(fn, args);
    return res.ok ? abi.decode(fn, res.returnData)[0] : { revert: hex(res.returnData) };
  };
  const notAccepted = (got, what) =>
    assert.ok(got === false || (got && [INVALID_MULTIPROOF, PANIC_OOB].includes(got.revert)), `${what}: ${JSON.stringify(got)}`);

  before(async () => {
    chain = await TestChain.create();
    await chain.place(ADDR.MULTIPROOF, load('MultiProofReference').deployedBytecode);
  });

  it('has exactly the IMerkleMultiProof ABI', () => {
    assert.deepEqual(Object.keys(load('MultiProofReference').methodIdentifiers).sort(), [
      'verify(bytes32,bytes32[],bytes32[],bool[])',
      'verifyContributions(bytes32,(bytes32,uint64,uint64,address,bytes32,uint32)[],bytes32[],bool[])',
    ]);
  });

  it('the JS leaf equals StandardMerkleTree.leafHash', () => {
    const r = rng(1);
    for (const v of randomContributions(r, 10)) {
      const tree = StandardMerkleTree.of([v], CONTRIBUTION_TYPES);
      assert.equal(hex(standardLeaf(CONTRIBUTION_TYPES, v)), tree.leafHash(v));
      assert.equal(tree.root, tree.leafHash(v)); // a one-leaf tree's root is the leaf
    }
  });

  it('accepts every multiproof of random trees (verify and verifyContributions)', async () => {
    const r = rng(0x3e71);
    for (let k = 0; k < 30; k++) {
      const size = 1 + (k < 20 ? r.int(12) : r.int(200));
      const values = randomContributions(r, size);
      const tree = StandardMerkleTree.of(values, CONTRIBUTION_TYPES);
      const chosen = pick(r, size, 1 + r.int(Math.min(size, 24)));
      const mp = tree.getMultiProof(chosen);
      const leaves = mp.leaves.map((v) => tree.leafHash(v));
      assert.equal(await run('verify', [tree.root, leaves, mp.proof, mp.proofFlags]), true, `verify, case ${k}`);
      assert.equal(
        await run('verifyContributions', [tree.root, mp.leaves, mp.proof, mp.proofFlags]),
        true,
        `verifyContributions, case ${k} (${chosen.length} of ${size})`,
      );
    }
  });

  it('rejects any flipped leaf field, proof element or flag, a wrong root, reordered leaves', async () => {
    const r = rng(0xbad);
    for (let k = 0; k < 6; k++) {
      const size = 4 + r.int(60);
      const values = randomContributions(r, size);
      const tree = StandardMerkleTree.of(values, CONTRIBUTION_TYPES);
      const mp = tree.getMultiProof(pick(r, size, 2 + r.int(6)));
      const leaves = mp.leaves.map((v) => tree.leafHash(v));
      const base = [tree.root, mp.leaves, mp.proof, mp.proofFlags];

      for (let i = 0; i < mp.leaves.length; i++) {
        const badLeaves = leaves.slice();
        badLeaves[i] = flipWord(badLeaves[i], r.int(256));
        notAccepted(await run('verify', [tree.root, badLeaves, mp.proof, mp.proofFlags]), `leaf ${i}`);
        // Every field of the item takes part in the leaf.
        for (let f = 0; f < 6; f++) {
          const items = mp.leaves.map((v) => v.slice());
          const v = items[i][f];
          items[i][f] = typeof v === 'string' ? (f === 3 ? hex(Buffer.from(v.slice(2), 'hex').map((b, j) => (j === 19 ? b ^ 1 : b))) : flipWord(v)) : (BigInt(v) ^ 1n);
          notAccepted(await run('verifyContributions', [tree.root, items, mp.proof, mp.proofFlags]), `item ${i} field ${f}`);
        }
      }
      for (let i = 0; i < mp.proof.length; i++) {
        const proof = mp.proof.slice();
        proof[i] = flipWord(proof[i], r.int(256));
        notAccepted(await run('verifyContributions', [tree.root, mp.leaves, proof, mp.proofFlags]), `proof ${i}`);
      }
      for (let i = 0; i < mp.proofFlags.length; i++) {
        const flags = mp.proofFlags.slice();
        flags[i] = !flags[i];
        notAccepted(await run('verifyContributions', [tree.root, mp.leaves, mp.proof, flags]), `flag ${i}`);
      }
      notAccepted(await run('verifyContributions', [flipWord(tree.root), ...base.slice(1)]), 'root');
      // Reordered leaves: accepted exactly when the JS verifier accepts them (swapping two
      // sibling leaves keeps the root, since pairs are hashed sorted).
      const reversed = mp.leaves.slice().reverse();
      const jsAccepts = StandardMerkleTree.verifyMultiProof(tree.root, CONTRIBUTION_TYPES, { ...mp, leaves: reversed });
      const got = await run('verifyContributions', [tree.root, reversed, mp.proof, mp.proofFlags]);
      if (jsAccepts) assert.equal(got, true, 'reordered');
      else notAccepted(got, 'reordered');
      assert.equal(await run('verifyContributions', base), true);
    }
  });

  it('OpenZeppelin edge cases: one-leaf tree, empty set, malformed lengths', async () => {
    const r = rng(5);
    const [v] = randomContributions(r, 1);
    const leaf = hex(standardLeaf(CONTRIBUTION_TYPES, v));
    assert.equal(await run('verifyContributions', [leaf, [v], [], []]), true);
    assert.equal(await run('verify', [leaf, [leaf], [], []]), true);
    // The empty set with proof [root] is a valid (vacuous) multiproof, as in OpenZeppelin.
    assert.equal(await run('verify', [leaf, [], [leaf], []]), true);
    // leaves + proof != flags + 1
    assert.deepEqual(await run('verify', [leaf, [leaf], [leaf], []]), { revert: INVALID_MULTIPROOF });
    assert.deepEqual(await run('verify', [leaf, [], [], []]), { revert: INVALID_MULTIPROOF });
    // Unused proof elements.
    assert.deepEqual(await run('verify', [leaf, [leaf, leaf], [leaf], [true, true]]), { revert: INVALID_MULTIPROOF });
  });

  it('over the hash cap (leaves + proof, or 3 x items + proof > 4,096) reverts with empty data', async () => {
    const w = '0x' + '00'.repeat(31) + '01';
    const r = rng(8);
    const items = randomContributions(r, 1366);
    // At the cap the call gets past the check to OpenZeppelin (which rejects the flag count);
    // one hash over it reverts with empty data before any work.
    assert.deepEqual(await run('verify', [w, Array(4000).fill(w), Array(96).fill(w), []]), { revert: INVALID_MULTIPROOF });
    assert.deepEqual(await run('verify', [w, Array(4000).fill(w), Array(97).fill(w), []]), { revert: '0x' });
    assert.deepEqual(await run('verify', [w, Array(4097).fill(w), [], []]), { revert: '0x' });
    assert.deepEqual(await run('verifyContributions', [w, items.slice(0, 1365), [w], []]), { revert: INVALID_MULTIPROOF });
    assert.deepEqual(await run('verifyContributions', [w, items.slice(0, 1365), [w, w], []]), { revert: '0x' });
    assert.deepEqual(await run('verifyContributions', [w, items, [], []]), { revert: '0x' });
  });

  it('gas on a mid-size input (32 contributions of a 1,024-leaf tree)', async (t) => {
    const r = rng(1024);
    const values = randomContributions(r, 1024);
    const tree = StandardMerkleTree.of(values, CONTRIBUTION_TYPES);
    const mp = tree.getMultiProof(pick(r, 1024, 32));
    const res = await call('verifyContributions', [tree.root, mp.leaves, mp.proof, mp.proofFlags]);
    assert.equal(res.ok, true);
    const leaves = mp.leaves.map((v) => tree.leafHash(v));
    const res2 = await call('verify', [tree.root, leaves, mp.proof, mp.proofFlags]);
    t.diagnostic(
      `MultiProofReference, 32 of 1,024 leaves (${mp.proof.length} proof hashes, ${mp.proofFlags.length} flags): ` +
        `verifyContributions ${res.gasUsed} gas, verify ${res2.gasUsed} gas (execution)`,
    );
  });
});
