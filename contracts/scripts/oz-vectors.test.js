// The committed OpenZeppelin multiproof fixture is what scripts/oz-vectors.js generates, and
// every vector in it verifies with @openzeppelin/merkle-tree's own verifier.
'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { StandardMerkleTree, SimpleMerkleTree } = require('@openzeppelin/merkle-tree');
const { FIXTURE, CONTRIBUTION_TYPES } = require('./oz-vectors.js');

describe('oz-multiproof fixture', () => {
  it('is up to date (oz-vectors.js --check)', () => {
    const r = spawnSync(process.execPath, [path.join(__dirname, 'oz-vectors.js'), '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('every vector verifies with OpenZeppelin', () => {
    const doc = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
    assert.ok(doc.contributions.length > 0 && doc.raw.length > 0);
    for (const v of doc.contributions) {
      const leaves = v.items.map((c) => [c.datanetId, c.version, c.index, c.contributor, c.contentHash, c.validationScore]);
      const ok = StandardMerkleTree.verifyMultiProof(v.root, CONTRIBUTION_TYPES, { leaves, proof: v.proof, proofFlags: v.proofFlags });
      assert.ok(ok, v.name);
    }
    for (const v of doc.raw) {
      const ok = SimpleMerkleTree.verifyMultiProof(v.root, { leaves: v.leaves, proof: v.proof, proofFlags: v.proofFlags });
      assert.ok(ok, v.name);
    }
  });
});
