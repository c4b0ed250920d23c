// Datanets predeploy: access control, input checks, events, what it forwards to the ledger
// (a recording stand-in sits at the ledger address) and checkContributions against trees made
// by @openzeppelin/merkle-tree (MultiProofReference stands in for the multiproof precompile).
'use strict';

const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

const { Interface, encodeParams, keccak } = require('./lib/abi.js');
const { TestChain, BLOCK } = require('./lib/evm.js');
const { ADDR, CONTRIBUTION_TYPES, decodeLogs, errorSelector, hex, load, rng } = require('./lib/attribution.js');

const DATANETS = '0x0000000000000000000000000000000000a77100'; // DATANETS_ADDRESS in crates/attribution
const ALICE = '0x000000000000000000000000000000000000a11c';
const BOB = '0x0000000000000000000000000000000000000b0b';
const CAROL = '0x00000000000000000000000000000000000ca201';
const ZERO32 = '0x' + '00'.repeat(32);

const abi = new Interface(load('Datanets').abi);
const allEvents = [...load('Datanets').abi, ...load('LedgerRecorder').abi];
const recorder = new Interface(load('LedgerRecorder').abi);

const err = (sig, types = [], values = []) =>
  errorSelector(sig) + encodeParams(types.map((type) => ({ type })), values).toString('hex');
const idOf = (curator, salt) => hex(keccak(encodeParams([{ type: 'address' }, { type: 'bytes32' }], [curator, salt])));
const word = (n) => hex(encodeParams([{ type: 'uint256' }], [n]));

describe('Datanets', () => {
  let chain;
  const send = (from, fn, args = []) => chain.call({ from, to: DATANETS, data: abi.encode(fn, args) });
  const ok = async (from, fn, args = []) => {
    const res = await send(from, fn, args);
    assert.equal(res.ok, true, `${fn} reverted: ${res.error} ${hex(res.returnData)}`);
    res.decoded = abi.decode(fn, res.returnData);
    res.events = decodeLogs(allEvents, res.logs).map((e) => ({ at: e.address, name: e.name, ...e.args }));
    return res;
  };
  const reverts = async (from, fn, args, expected) => {
    const res = await send(from, fn, args);
    assert.equal(res.ok, false, `${fn} did not revert`);
    assert.equal(hex(res.returnData), expected, fn);
  };
  const view = async (fn, args) => abi.decode(fn, (await send(BOB, fn, args)).returnData);
  const setLedgerFailing = async (v) =>
    assert.equal((await chain.call({ to: ADDR.LEDGER, data: recorder.encode('setFailing', [v]) })).ok, true);
  const create = async (curator, salt, uri = 'ipfs://meta') => (await ok(curator, 'createDatanet', [salt, uri])).decoded[0];

  before(async () => {
    chain = await TestChain.create();
    await chain.place(DATANETS, load('Datanets').deployedBytecode);
    await chain.place(ADDR.LEDGER, load('LedgerRecorder').deployedBytecode);
    await chain.place(ADDR.MULTIPROOF, load('MultiProofReference').deployedBytecode);
  });

  it('is a predeploy: no constructor, no immutables, no storage needed at genesis', () => {
    const a = load('Datanets');
    const src = fs.readFileSync(path.join(__dirname, '..', a.sourceName), 'utf8').replace(/\/\/.*$/gm, '');
    assert.doesNotMatch(src, /\bimmutable\b/);
    assert.doesNotMatch(src, /\bconstructor\s*\(/);
    assert.ok(!a.abi.some((i) => i.type === 'constructor'));
    assert.deepEqual(a.storageLayout.storage.map((s) => [s.label, s.slot]), [['_datanets', '0'], ['_contributions', '1']]);
    // The stand-in answers the ledger's own selectors.
    const ids = load('LedgerRecorder').methodIdentifiers;
    assert.equal(ids['registerDatanet(bytes32,address)'], hex(keccak(Buffer.from('registerDatanet(bytes32,address)')).subarray(0, 4)).slice(2));
    assert.ok('updateDatanet(bytes32,uint64,bytes32,bytes32)' in ids);
  });

  it('createDatanet: id from (caller, salt), registered in the ledger with Datanets as owner', async () => {
    const salt = word(1);
    const res = await ok(ALICE, 'createDatanet', [salt, 'ipfs://alice-1']);
    const id = idOf(ALICE, salt);
    assert.equal(res.decoded[0], id);
    assert.deepEqual(res.events, [
      { at: ADDR.LEDGER, name: 'RegisterDatanetCalled', caller: DATANETS, datanetId: id, owner: DATANETS },
      { at: DATANETS, name: 'DatanetCreated', datanetId: id, curator: ALICE, salt, metadataURI: 'ipfs://alice-1' },
    ]);
    assert.deepEqual(await view('getDatanet', [id]), [ALICE, 0n, 0n, ZERO32, ZERO32, 'ipfs://alice-1']);
    assert.equal((await view('datanetIdOf', [ALICE, salt]))[0], id);
    await reverts(ALICE, 'createDatanet', [salt, 'again'], err('DatanetExists(bytes32)', ['bytes32'], [id]));
    // Same salt, other caller: another Datanet.
    assert.equal(await create(BOB, salt), idOf(BOB, salt));
    // A ledger failure is not swallowed, and nothing is stored.
    await setLedgerFailing(true);
    await reverts(ALICE, 'createDatanet', [word(2), ''], errorSelector('LedgerDown()'));
    await setLedgerFailing(false);
    assert.equal((await view('getDatanet', [idOf(ALICE, word(2))]))[0], '0x' + '00'.repeat(20));
  });

  it('submitContribution: sequential indices, checks and events', async () => {
    const id = await create(ALICE, word(10));
    for (let i = 0n; i < 3n; i++) {
      const h = word(0xc0n + i);
      const res = await ok(BOB, 'submitContribution', [id, h, `ar://${i}`]);
      assert.equal(res.decoded[0], i);
      assert.deepEqual(res.events, [
        { at: DATANETS, name: 'ContributionSubmitted', datanetId: id, index: i, contributor: BOB, contentHash: h, metadataURI: `ar://${i}` },
      ]);
      assert.deepEqual(await view('getContribution', [id, i]), [BOB, 1n, BLOCK.number, h]);
    }
    assert.equal((await view('contributionCount', [id]))[0], 3n);
    assert.equal((await view('getDatanet', [id]))[2], 3n);
    // The curator may contribute too.
    assert.equal((await ok(ALICE, 'submitContribution', [id, word(7), ''])).decoded[0], 3n);
    await reverts(BOB, 'submitContribution', [id, ZERO32, 'x'], err('ZeroContentHash()'));
    const unknown = word(0xdead);
    await reverts(BOB, 'submitContribution', [unknown, word(1), 'x'], err('UnknownDatanet(bytes32)', ['bytes32'], [unknown]));
    // Unknown index reads as empty.
    assert.deepEqual(await view('getContribution', [id, 99n]), ['0x' + '00'.repeat(20), 0n, 0n, ZERO32]);
  });

  it('approve / reject: curator only, from Pending only', async () => {
    const id = await create(ALICE, word(20));
    for (let i = 0; i < 3; i++) await ok(BOB, 'submitContribution', [id, word(100 + i), '']);
    const notCurator = (who) => err('NotCurator(bytes32,address)', ['bytes32', 'address'], [id, who]);
    await reverts(BOB, 'approveContribution', [id, 0n], notCurator(BOB));
    await reverts(CAROL, 'rejectContribution', [id, 0n, 'no'], notCurator(CAROL));
    await reverts(ALICE, 'approveContribution', [id, 3n], err('UnknownContribution(bytes32,uint64)', ['bytes32', 'uint64'], [id, 3n]));
    const unknown = word(0xbeef);
    await reverts(ALICE, 'approveContribution', [unknown, 0n], err('UnknownDatanet(bytes32)', ['bytes32'], [unknown]));

    const a = await ok(ALICE, 'approveContribution', [id, 0n]);
    assert.deepEqual(a.events, [{ at: DATANETS, name: 'ContributionApproved', datanetId: id, index: 0n, contributor: BOB }]);
    assert.equal((await view('getContribution', [id, 0n]))[1], 2n);
    const r = await ok(ALICE, 'rejectContribution', [id, 1n, 'duplicate of #0']);
    assert.deepEqual(r.events, [
      { at: DATANETS, name: 'ContributionRejected', datanetId: id, index: 1n, contributor: BOB, reason: 'duplicate of #0' },
    ]);
    assert.equal((await view('getContribution', [id, 1n]))[1], 3n);
    const notPending = (i, status) => err('NotPending(bytes32,uint64,uint8)', ['bytes32', 'uint64', 'uint8'], [id, i, status]);
    await reverts(ALICE, 'approveContribution', [id, 0n], notPending(0n, 2));
    await reverts(ALICE, 'rejectContribution', [id, 0n, 'late'], notPending(0n, 2));
    await reverts(ALICE, 'approveContribution', [id, 1n], notPending(1n, 3));
    assert.equal((await view('getContribution', [id, 2n]))[1], 1n);
  });

  it('publishVersion: curator only, increasing versions, non-zero roots, forwarded to the ledger', async () => {
    const id = await create(ALICE, word(30));
    const [c1, f1] = [word(0x11), word(0x22)];
    await reverts(BOB, 'publishVersion', [id, 1n, c1, f1], err('NotCurator(bytes32,address)', ['bytes32', 'address'], [id, BOB]));
    const stale = (cur, v) => err('StaleVersion(bytes32,uint64,uint64)', ['bytes32', 'uint64', 'uint64'], [id, cur, v]);
    await reverts(ALICE, 'publishVersion', [id, 0n, c1, f1], stale(0n, 0n));
    await reverts(ALICE, 'publishVersion', [id, 1n, ZERO32, f1], err('ZeroRoot()'));
    await reverts(ALICE, 'publishVersion', [id, 1n, c1, ZERO32], err('ZeroRoot()'));
    const unknown = word(0xf00);
    await reverts(ALICE, 'publishVersion', [unknown, 1n, c1, f1], err('UnknownDatanet(bytes32)', ['bytes32'], [unknown]));

    const res = await ok(ALICE, 'publishVersion', [id, 1n, c1, f1]);
    assert.deepEqual(res.events, [
      { at: ADDR.LEDGER, name: 'UpdateDatanetCalled', caller: DATANETS, datanetId: id, version: 1n, contributionRoot: c1, fingerprintRoot: f1 },
      { at: DATANETS, name: 'VersionPublished', datanetId: id, version: 1n, contributionRoot: c1, fingerprintRoot: f1 },
    ]);
    assert.deepEqual((await view('getDatanet', [id])).slice(0, 5), [ALICE, 1n, 0n, c1, f1]);
    await reverts(ALICE, 'publishVersion', [id, 1n, c1, f1], stale(1n, 1n));
    // Gaps are fine; the ledger sees exactly what was published.
    const res5 = await ok(ALICE, 'publishVersion', [id, 5n, word(0x33), word(0x44)]);
    assert.deepEqual(res5.events[0], { at: ADDR.LEDGER, name: 'UpdateDatanetCalled', caller: DATANETS, datanetId: id, version: 5n, contributionRoot: word(0x33), fingerprintRoot: word(0x44) });
    await reverts(ALICE, 'publishVersion', [id, 4n, c1, f1], stale(5n, 4n));
    await setLedgerFailing(true);
    await reverts(ALICE, 'publishVersion', [id, 6n, c1, f1], errorSelector('LedgerDown()'));
    await setLedgerFailing(false);
    assert.equal((await view('getDatanet', [id]))[1], 5n);
  });

  it('transferCuratorship hands over every curator right', async () => {
    const id = await create(ALICE, word(40));
    await ok(BOB, 'submitContribution', [id, word(1), '']);
    await reverts(BOB, 'transferCuratorship', [id, BOB], err('NotCurator(bytes32,address)', ['bytes32', 'address'], [id, BOB]));
    await reverts(ALICE, 'transferCuratorship', [id, '0x' + '00'.repeat(20)], err('ZeroAddress()'));
    const res = await ok(ALICE, 'transferCuratorship', [id, CAROL]);
    assert.deepEqual(res.events, [{ at: DATANETS, name: 'CuratorshipTransferred', datanetId: id, previousCurator: ALICE, newCurator: CAROL }]);
    assert.equal((await view('getDatanet', [id]))[0], CAROL);
    const notAlice = err('NotCurator(bytes32,address)', ['bytes32', 'address'], [id, ALICE]);
    await reverts(ALICE, 'approveContribution', [id, 0n], notAlice);
    await reverts(ALICE, 'publishVersion', [id, 1n, word(1), word(2)], notAlice);
    await ok(CAROL, 'approveContribution', [id, 0n]);
    await ok(CAROL, 'publishVersion', [id, 1n, word(1), word(2)]);
    // The id stays derived from the creator, and the creator cannot recreate it.
    await reverts(ALICE, 'createDatanet', [word(40), ''], err('DatanetExists(bytes32)', ['bytes32'], [id]));
  });

  it('checkContributions verifies against the latest contribution root via the multiproof precompile', async () => {
    const r = rng(0xda7a);
    const id = await create(ALICE, word(50));
    const other = await create(BOB, word(50));
    const item = (datanetId, i) => [datanetId, 1n, BigInt(i), r.address(), r.word(), r.int(1000)];
    // A version-1 tree with 20 of our contributions and 2 of another Datanet's.
    const values = [...Array.from({ length: 20 }, (_, i) => item(id, i)), item(other, 0), item(other, 1)];
    const tree = StandardMerkleTree.of(values, CONTRIBUTION_TYPES);
    const check = async (indices, mutate = (mp) => mp) => {
      const mp = mutate(tree.getMultiProof(indices));
      return (await view('checkContributions', [id, mp.leaves, mp.proof, mp.proofFlags]))[0];
    };
    assert.equal(await check([0, 3, 7]), false, 'no version published yet');
    await ok(ALICE, 'publishVersion', [id, 1n, tree.root, word(0xf1)]);

    assert.equal(await check([0, 3, 7]), true);
    assert.equal(await check([...Array(20).keys()]), true);
    assert.equal(await check([5]), true);
    // An item of another Datanet is in the tree, but not ours.
    assert.equal(await check([2, 20]), false);
    // A changed field, a changed proof element, a flipped flag, a malformed proof.
    assert.equal(await check([0, 3], (mp) => ({ ...mp, leaves: mp.leaves.map((v, k) => (k === 0 ? [...v.slice(0, 5), v[5] + 1] : v)) })), false);
    assert.equal(await check([0, 3], (mp) => ({ ...mp, proof: [word(9), ...mp.proof.slice(1)] })), false);
    assert.equal(await check([0, 3], (mp) => ({ ...mp, proofFlags: mp.proofFlags.map((f, k) => (k === 0 ? !f : f)) })), false);
    assert.equal(await check([0, 3], (mp) => ({ ...mp, proof: [...mp.proof, word(1)] })), false);
    // The empty set proves nothing.
    assert.equal((await view('checkContributions', [id, [], [tree.root], []]))[0], false);
    // A newer version replaces the root.
    await ok(ALICE, 'publishVersion', [id, 2n, word(0xabc), word(0xf2)]);
    assert.equal(await check([0, 3, 7]), false);
    const unknown = word(0x404);
    const res = await send(BOB, 'checkContributions', [unknown, [], [], []]);
    assert.equal(hex(res.returnData), err('UnknownDatanet(bytes32)', ['bytes32'], [unknown]));
  });
});
