// The reference implementations expose exactly the functions of the precompile interfaces
// (src/attribution/I*.sol, the ABI source of truth), so the same calldata can go to both.
'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { signature } = require('./lib/abi.js');
const { load } = require('./lib/attribution.js');

const PAIRS = {
  IFeeSplit: 'FeeSplitReference',
  IMerkleMultiProof: 'MultiProofReference',
  ISpanMatch: 'SpanMatchReference',
  IAttributionLedger: 'LedgerReference',
};

// Compiles the interfaces alone (ABI output only) with the pinned solc.
function interfaceAbis() {
  const solc = require('solc');
  const sources = {};
  for (const name of Object.keys(PAIRS)) {
    const file = `src/attribution/${name}.sol`;
    sources[file] = { content: fs.readFileSync(path.join(__dirname, '..', file), 'utf8') };
  }
  const input = { language: 'Solidity', sources, settings: { outputSelection: { '*': { '*': ['abi'] } } } };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  assert.equal(errors.length, 0, errors.map((e) => e.formattedMessage).join('\n'));
  const abis = {};
  for (const name of Object.keys(PAIRS)) abis[name] = out.contracts[`src/attribution/${name}.sol`][name].abi;
  return abis;
}

// Functions as comparable records: signature, mutability, input and output types and names.
const functions = (abi) =>
  abi
    .filter((i) => i.type === 'function')
    .map((f) => ({
      sig: signature(f),
      mutability: f.stateMutability,
      inputs: f.inputs.map((p) => `${p.type} ${p.name}`),
      outputs: f.outputs.map((p) => `${p.type} ${p.name}`),
    }))
    .sort((a, b) => (a.sig < b.sig ? -1 : 1));

describe('reference ABIs equal the precompile interfaces', () => {
  const abis = interfaceAbis();
  for (const [iface, ref] of Object.entries(PAIRS)) {
    it(`${ref} has exactly the functions of ${iface}`, () => {
      assert.deepEqual(functions(load(ref).abi), functions(abis[iface]));
    });
  }

  it('LedgerReference declares every ledger event and error', () => {
    const key = (i) => `${i.type} ${signature({ name: i.name, inputs: i.inputs })} ${i.inputs.map((p) => !!p.indexed).join(',')}`;
    const ref = new Set(load('LedgerReference').abi.map(key));
    for (const item of abis.IAttributionLedger.filter((i) => i.type === 'event' || i.type === 'error')) {
      assert.ok(ref.has(key(item)), `missing ${key(item)}`);
    }
  });
});
