// LedgerReference (the Solidity gas baseline for the AttributionLedger precompile): roles,
// checks, events, and recordBatch balances equal to recording the same inferences one by one.
'use strict';

const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');

const { Interface, encodeParams, keccak } = require('./lib/abi.js');
const { TestChain } = require('./lib/evm.js');
const { decodeLogs, deploy, errorSelector, feeSplitModel, hex, load, rng } = require('./lib/attribution.js');

const A = {
  ADMIN: '0x00000000000000000000000000000000000ad000',
  ATTESTOR: '0x00000000000000000000000000000000000a7700',
  ATTESTOR2: '0x00000000000000000000000000000000000a7701',
  REGISTRAR: '0x00000000000000000000000000000000000e6000',
  TREASURY: '0x00000000000000000000000000000000000fee00',
  STAKERS: '0x000000000000000000000000000000000005a4e0',
  MODEL_OWNER: '0x00000000000000000000000000000000000b0b00',
  PAYOUT: '0x00000000000000000000000000000000000ba900',
  DATANET_OWNER: '0x00000000000000000000000000000000000d0000',
  NOBODY: '0x0000000000000000000000000000000000000bad',
};
const BPS = [1000, 2000, 500, 6500];
const MODEL = '0x' + 'aa'.repeat(32);
const DATANETS = ['0x' + 'd1'.repeat(32), '0x' + 'd2'.repeat(32), '0x' + 'd3'.repeat(32)];
const SHARE_TUPLE = { type: 'tuple[]', components: [{ type: 'bytes32' }, { type: 'address' }, { type: 'int128' }] };

const ledgerAbi = load('LedgerReference').abi;
const iface = new Interface(ledgerAbi);
const err = (sig, types = [], values = []) =>
  errorSelector(sig) + encodeParams(types.map((type) => ({ type })), values).toString('hex');

// One deployed LedgerReference with roles, fee config, a model and datanets set up.
class Ledger {
  static async create(chain) {
    const l = new Ledger();
    l.chain = chain;
    l.address = await deploy(chain, 'LedgerReference', ['address'], [A.ADMIN]);
    await l.ok(A.ADMIN, 'setRole', [A.ATTESTOR, 1]);
    await l.ok(A.ADMIN, 'setRole', [A.ATTESTOR2, 1]);
    await l.ok(A.ADMIN, 'setRole', [A.REGISTRAR, 2]);
    await l.ok(A.ADMIN, 'setFeeConfig', [...BPS, A.TREASURY, A.STAKERS]);
    await l.ok(A.REGISTRAR, 'registerModel', [MODEL, A.MODEL_OWNER, A.PAYOUT, 50257]);
    for (const d of DATANETS) await l.ok(A.REGISTRAR, 'registerDatanet', [d, A.DATANET_OWNER]);
    return l;
  }

  send(from, fn, args, value = 0n) {
    return this.chain.call({ from, to: this.address, data: iface.encode(fn, args), value, gasLimit: 100_000_000n });
  }

  async ok(from, fn, args, value = 0n) {
    const res = await this.send(from, fn, args, value);
    assert.equal(res.ok, true, `${fn} reverted: ${res.error} ${hex(res.returnData)}`);
    res.decoded = iface.decode(fn, res.returnData);
    res.events = decodeLogs(ledgerAbi, res.logs);
    return res;
  }

  async reverts(from, fn, args, value, expected, label = fn) {
    const res = await this.send(from, fn, args, value);
    assert.equal(res.ok, false, `${label} did not revert`);
    assert.equal(hex(res.returnData), expected, label);
  }

  async view(fn, args = []) {
    const res = await this.send(A.NOBODY, fn, args);
    assert.equal(res.ok, true);
    return iface.decode(fn, res.returnData);
  }

  async claimable(account) {
    return (await this.view('claimable', [account]))[0];
  }
}

// The three words of the batch record stored under `batchHash` (mapping `_batches`).
const BATCHES_SLOT = BigInt(load('LedgerReference').storageLayout.storage.find((v) => v.label === '_batches').slot);
async function batchRecord(l, batchHash) {
  const base = BigInt(hex(keccak(encodeParams([{ type: 'bytes32' }, { type: 'uint256' }], [batchHash, BATCHES_SLOT]))));
  const out = [];
  for (let i = 0n; i < 3n; i++) out.push(BigInt(hex(await l.chain.storage(l.address, base + i))));
  return out;
}

// Random inferences: { id, fee, shares: [[datanetId, contributor, score]] }.
function randomInferences(r, count, contributors, maxShares = 10) {
  return Array.from({ length: count }, () => ({
    id: r.word(),
    fee: 1n + r.big(r.int(2) ? 40 : 64),
    shares: Array.from({ length: r.int(maxShares + 1) }, () => [
      DATANETS[r.int(DATANETS.length)],
      contributors[r.int(contributors.length)],
      r.int(5) === 0 ? -BigInt(r.int(1000)) : BigInt(r.int(5)) * 10n ** BigInt(r.int(19)),
    ]),
  }));
}

function batchArgs(nonce, inferences) {
  const offsets = [0];
  for (const inf of inferences) offsets.push(offsets[offsets.length - 1] + inf.shares.length);
  const shares = inferences.flatMap((i) => i.shares);
  return [
    MODEL,
    nonce,
    inferences.map((i) => i.id),
    inferences.map((i) => i.fee),
    offsets,
    shares.map((s) => s[0]),
    shares.map((s) => s[1]),
    shares.map((s) => s[2]),
  ];
}

// Expected credits per address for a list of inferences (lower-case address => wei).
function expectedCredits(inferences) {
  const credits = new Map();
  const add = (a, v) => v > 0n && credits.set(a.toLowerCase(), (credits.get(a.toLowerCase()) || 0n) + v);
  for (const inf of inferences) {
    const s = feeSplitModel(inf.fee, BPS, inf.shares.map((x) => x[2]));
    add(A.TREASURY, s.protocol + s.unassigned);
    add(A.PAYOUT, s.model);
    add(A.STAKERS, s.staker);
    inf.shares.forEach((x, i) => add(x[1], s.shares[i]));
  }
  return credits;
}

describe('LedgerReference', () => {
  let chain;
  before(async () => {
    chain = await TestChain.create();
    for (const a of [A.ATTESTOR, A.ATTESTOR2]) await chain.setBalance(a, 10n ** 40n);
  });

  it('roles and governance checks', async () => {
    const l = await Ledger.create(chain);
    const notAuthorized = err('NotAuthorized()');
    assert.equal((await l.view('roleOf', [A.ADMIN]))[0], 3n);
    assert.equal((await l.view('roleOf', [A.ATTESTOR]))[0], 1n);
    assert.equal((await l.view('roleOf', [A.REGISTRAR]))[0], 2n);
    assert.deepEqual(await l.view('feeConfig'), [...BPS.map(BigInt), A.TREASURY, A.STAKERS]);
    await l.reverts(A.REGISTRAR, 'setRole', [A.NOBODY, 1], 0n, notAuthorized);
    await l.reverts(A.ATTESTOR, 'setFeeConfig', [...BPS, A.TREASURY, A.STAKERS], 0n, notAuthorized);
    await l.reverts(A.ADMIN, 'setFeeConfig', [1000, 2000, 500, 6499, A.TREASURY, A.STAKERS], 0n, err('BadInput()'));
    await l.reverts(A.ADMIN, 'setRole', [A.NOBODY, 4], 0n, err('BadInput()'));
    const ZERO = '0x' + '00'.repeat(20);
    await l.reverts(A.ADMIN, 'setRole', [ZERO, 1], 0n, err('BadInput()'), 'zero account');
    await l.reverts(A.ADMIN, 'setFeeConfig', [...BPS, ZERO, A.STAKERS], 0n, err('BadInput()'), 'zero treasury');
    await l.reverts(A.ADMIN, 'setFeeConfig', [...BPS, A.TREASURY, ZERO], 0n, err('BadInput()'), 'zero staker pool');
    await l.reverts(A.REGISTRAR, 'registerModel', ['0x' + '05'.repeat(32), A.MODEL_OWNER, ZERO, 1], 0n, err('BadInput()'), 'zero payout');
    await l.reverts(A.REGISTRAR, 'registerModel', ['0x' + '00'.repeat(32), A.MODEL_OWNER, A.PAYOUT, 1], 0n, err('BadInput()'), 'zero model id');
    await l.reverts(A.REGISTRAR, 'registerDatanet', ['0x' + '00'.repeat(32), A.NOBODY], 0n, err('BadInput()'), 'zero datanet id');
    await l.reverts(A.ATTESTOR, 'registerModel', ['0x' + '01'.repeat(32), A.MODEL_OWNER, A.PAYOUT, 1], 0n, notAuthorized);
    await l.reverts(A.NOBODY, 'registerDatanet', ['0x' + '01'.repeat(32), A.NOBODY], 0n, notAuthorized);
    await l.reverts(A.REGISTRAR, 'registerDatanet', [DATANETS[0], A.NOBODY], 0n, err('BadInput()'), 'duplicate datanet');
    await l.reverts(A.REGISTRAR, 'registerModel', [MODEL, A.NOBODY, A.NOBODY, 1], 0n, err('BadInput()'), 'duplicate model');
    const set = await l.ok(A.ADMIN, 'setRole', [A.NOBODY, 2]);
    assert.deepEqual(set.events.map((e) => [e.name, e.args.account, e.args.role, e.args.by]), [['RoleSet', A.NOBODY, 2n, A.ADMIN]]);
    // Admin may register too.
    await l.ok(A.ADMIN, 'registerDatanet', ['0x' + '02'.repeat(32), A.NOBODY]);
    // Only the datanet owner updates it, with a strictly increasing version.
    await l.reverts(A.REGISTRAR, 'updateDatanet', [DATANETS[0], 1n, MODEL, MODEL], 0n, notAuthorized);
    await l.reverts(A.DATANET_OWNER, 'updateDatanet', ['0x' + '03'.repeat(32), 1n, MODEL, MODEL], 0n, err('UnknownDatanet(bytes32)', ['bytes32'], ['0x' + '03'.repeat(32)]));
    const up = await l.ok(A.DATANET_OWNER, 'updateDatanet', [DATANETS[0], 2n, '0x' + '44'.repeat(32), '0x' + '55'.repeat(32)]);
    assert.equal(up.events[0].name, 'DatanetUpdated');
    await l.reverts(A.DATANET_OWNER, 'updateDatanet', [DATANETS[0], 2n, MODEL, MODEL], 0n, err('BadVersion()'));
    assert.deepEqual(await l.view('getDatanet', [DATANETS[0]]), [A.DATANET_OWNER, 2n, '0x' + '44'.repeat(32), '0x' + '55'.repeat(32)]);
  });

  it('recordInference: split, credits, events, record and checks', async () => {
    const l = await Ledger.create(chain);
    const shares = [
      [DATANETS[0], A.NOBODY, 1n],
      [DATANETS[1], A.MODEL_OWNER, 1n],
      [DATANETS[2], A.DATANET_OWNER, 1n],
      [DATANETS[0], A.REGISTRAR, -4n],
    ];
    const id = '0x' + '17'.repeat(32);
    const out = '0x' + '0c'.repeat(32);
    const res = await l.ok(A.ATTESTOR, 'recordInference', [id, MODEL, out, shares], 1000n);
    const recordHash = hex(
      keccak(
        encodeParams(
          ['uint256', 'address', 'bytes32', 'bytes32', 'bytes32', 'uint256', 'bytes32'].map((type) => ({ type })),
          [1n, l.address, id, MODEL, out, 1000n, keccak(encodeParams([SHARE_TUPLE], [shares]))],
        ),
      ),
    );
    assert.equal(res.decoded[0], recordHash);
    assert.deepEqual(
      res.events.map((e) => [e.name, ...Object.values(e.args)]),
      [
        ['InferenceAttributed', 1000n, recordHash, id, MODEL, A.ATTESTOR],
        ['ShareCredited', 217n, id, DATANETS[0], A.NOBODY],
        ['ShareCredited', 217n, id, DATANETS[1], A.MODEL_OWNER],
        ['ShareCredited', 216n, id, DATANETS[2], A.DATANET_OWNER],
      ],
    );
    assert.equal(await l.claimable(A.TREASURY), 100n);
    assert.equal(await l.claimable(A.PAYOUT), 200n);
    assert.equal(await l.claimable(A.STAKERS), 50n);
    assert.equal(await l.claimable(A.NOBODY), 217n);
    assert.equal(await l.claimable(A.REGISTRAR), 0n);
    assert.deepEqual(await l.view('getInference', [id]), [recordHash, MODEL, 100n, 1000n]);
    assert.deepEqual(await l.view('getModel', [MODEL]), [A.MODEL_OWNER, A.PAYOUT, 50257n, 1000n, 1n]);
    assert.equal(await chain.balance(l.address), 1000n);

    // All scores <= 0: the contributor pool goes to the treasury.
    await l.ok(A.ATTESTOR, 'recordInference', ['0x' + '18'.repeat(32), MODEL, out, [[DATANETS[0], A.NOBODY, 0n]]], 1000n);
    assert.equal(await l.claimable(A.TREASURY), 100n + 100n + 650n);

    const fresh = '0x' + '19'.repeat(32);
    await l.reverts(A.ATTESTOR, 'recordInference', [id, MODEL, out, shares], 1000n, err('AlreadyRecorded(bytes32)', ['bytes32'], [id]));
    await l.reverts(A.NOBODY, 'recordInference', [fresh, MODEL, out, shares], 0n, err('NotAuthorized()'));
    await l.reverts(A.REGISTRAR, 'recordInference', [fresh, MODEL, out, shares], 0n, err('NotAuthorized()'));
    await l.reverts(A.ATTESTOR, 'recordInference', [fresh, MODEL, out, shares], 0n, err('FeeMismatch()'));
    await l.reverts(A.ATTESTOR, 'recordInference', [fresh, fresh, out, shares], 5n, err('UnknownModel(bytes32)', ['bytes32'], [fresh]));
    await l.reverts(A.ATTESTOR, 'recordInference', [fresh, MODEL, out, [[fresh, A.NOBODY, 1n]]], 5n, err('UnknownDatanet(bytes32)', ['bytes32'], [fresh]));
    await l.reverts(A.ATTESTOR, 'recordInference', [fresh, MODEL, out, [[DATANETS[0], '0x' + '00'.repeat(20), 1n]]], 5n, err('BadInput()'), 'zero contributor');
    // A positive score whose share rounds to 0 still gets its ShareCredited (amount 0).
    const tiny = await l.ok(A.ATTESTOR, 'recordInference', ['0x' + '1a'.repeat(32), MODEL, out, [[DATANETS[0], A.NOBODY, 10n ** 18n], [DATANETS[1], A.REGISTRAR, 1n]]], 10n);
    assert.deepEqual(tiny.events.slice(1).map((e) => [e.name, e.args.contributor, e.args.amount]), [
      ['ShareCredited', A.NOBODY, 7n],
      ['ShareCredited', A.REGISTRAR, 0n],
    ]);
    const many = Array.from({ length: 65 }, () => [DATANETS[0], A.NOBODY, 1n]);
    await l.reverts(A.ATTESTOR, 'recordInference', [fresh, MODEL, out, many], 5n, err('TooManyShares(uint256)', ['uint256'], [65n]));
    await l.ok(A.ATTESTOR, 'recordInference', [fresh, MODEL, out, many.slice(1)], 5n);
  });

  it('recordBatch credits equal recording the same inferences one by one', async () => {
    const r = rng(0xba7c);
    const batched = await Ledger.create(chain);
    const single = await Ledger.create(chain);
    // Contributors include the payout, treasury and staker pool addresses, so pool credits and
    // share credits to the same account are summed too.
    const contributors = [...Array.from({ length: 12 }, () => r.address()), A.PAYOUT, A.TREASURY, A.STAKERS];
    const everyone = [...contributors, A.PAYOUT, A.TREASURY, A.STAKERS];
    let nonce = 0n;
    for (let round = 0; round < 6; round++) {
      const inferences = randomInferences(r, 1 + r.int(round < 3 ? 6 : 24), contributors, round === 5 ? 64 : 10);
      if (round === 1) inferences[0].shares = inferences[0].shares.map((s) => [s[0], s[1], -1n]); // unassigned
      if (round === 2) inferences.push({ id: r.word(), fee: 7n, shares: [] });
      const before = new Map();
      for (const a of everyone) before.set(a, await batched.claimable(a));
      nonce += 1n;
      const args = batchArgs(nonce, inferences);
      const total = inferences.reduce((s, i) => s + i.fee, 0n);
      const res = await batched.ok(A.ATTESTOR, 'recordBatch', args, total);
      for (const inf of inferences) await single.ok(A.ATTESTOR, 'recordInference', [inf.id, MODEL, '0x' + '00'.repeat(32), inf.shares], inf.fee);

      for (const a of everyone) {
        assert.equal(await batched.claimable(a), await single.claimable(a), `round ${round}: ${a}`);
      }
      // Events: one BatchCredited per recipient, ascending by address, each equal to that
      // recipient's balance change and to the model's expectation, after BatchAttributed.
      const batchHash = hex(keccak(iface.encode('recordBatch', args).subarray(4)));
      const credited = res.events.slice(1);
      const attributed = res.events[0];
      assert.deepEqual([attributed.name, attributed.args.batchHash, attributed.args.modelId, attributed.args.attestor, attributed.args.totalFee, attributed.args.inferences],
        ['BatchAttributed', batchHash, MODEL, A.ATTESTOR, total, BigInt(inferences.length)]);
      assert.deepEqual(res.decoded, [batchHash, BigInt(credited.length)]);
      const recipients = credited.map((e) => e.args.recipient);
      assert.deepEqual(recipients, [...recipients].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1)));
      assert.equal(new Set(recipients).size, recipients.length);
      const expected = expectedCredits(inferences);
      assert.deepEqual(new Map(credited.map((e) => [e.args.recipient, e.args.amount])), expected);
      for (const e of credited) {
        assert.equal(e.name, 'BatchCredited');
        assert.equal(e.args.batchHash, batchHash);
        const a = everyone.find((x) => x.toLowerCase() === e.args.recipient);
        assert.equal(await batched.claimable(a), before.get(a) + e.args.amount);
      }
      // The batch record (attestor | inferences << 160, modelId, block | totalFee << 64) under
      // the batch hash; batch entries get no per-inference record.
      const rec = await batchRecord(batched, batchHash);
      assert.deepEqual(rec, [BigInt(A.ATTESTOR) | (BigInt(inferences.length) << 160n), BigInt(MODEL), 100n | (total << 64n)]);
      assert.deepEqual(await batched.view('getInference', [inferences[0].id]), ['0x' + '00'.repeat(32), '0x' + '00'.repeat(32), 0n, 0n]);
      assert.equal((await batched.view('batchNonce', [A.ATTESTOR]))[0], nonce);
    }
    assert.deepEqual(await batched.view('getModel', [MODEL]), await single.view('getModel', [MODEL]));
    assert.equal(await chain.balance(batched.address), await chain.balance(single.address));
  });

  it('recordBatch checks: role, nonce, fees, CSR offsets, lengths, caps, duplicates', async () => {
    const r = rng(11);
    const l = await Ledger.create(chain);
    const inferences = randomInferences(r, 3, [A.NOBODY, A.REGISTRAR], 4);
    inferences[1].shares.push([DATANETS[0], A.NOBODY, 1n]);
    const total = inferences.reduce((s, i) => s + i.fee, 0n);
    const args = batchArgs(1n, inferences);
    const bad = err('BadInput()');
    const withArg = (k, v) => args.map((a, i) => (i === k ? v : a));

    await l.reverts(A.NOBODY, 'recordBatch', args, 0n, err('NotAuthorized()'));
    await l.reverts(A.ATTESTOR, 'recordBatch', withArg(1, 2n), total, err('BadNonce(uint64)', ['uint64'], [1n]));
    await l.reverts(A.ATTESTOR, 'recordBatch', withArg(1, 0n), total, err('BadNonce(uint64)', ['uint64'], [1n]));
    await l.reverts(A.ATTESTOR, 'recordBatch', args, total - 1n, err('FeeMismatch()'));
    await l.reverts(A.ATTESTOR, 'recordBatch', args, total + 1n, err('FeeMismatch()'));
    await l.reverts(A.ATTESTOR, 'recordBatch', withArg(3, [0n, ...args[3].slice(1)]), total - args[3][0], bad, 'zero fee');
    await l.reverts(A.ATTESTOR, 'recordBatch', withArg(6, args[6].map((c, i) => (i === 1 ? '0x' + '00'.repeat(20) : c))), total, bad, 'zero contributor');
    const offsets = args[4];
    for (const [label, o] of [
      ['offsets[0] != 0', [1, ...offsets.slice(1)]],
      ['last != shares', [...offsets.slice(0, -1), offsets[offsets.length - 1] - 1]],
      ['decreasing', [0, offsets[2] + 1, offsets[2], offsets[3]]],
      ['too short', offsets.slice(0, -1)],
      ['too long', [...offsets, offsets[offsets.length - 1]]],
    ]) {
      await l.reverts(A.ATTESTOR, 'recordBatch', withArg(4, o), total, bad, label);
    }
    await l.reverts(A.ATTESTOR, 'recordBatch', withArg(3, args[3].slice(1)), total, bad, 'fees length');
    await l.reverts(A.ATTESTOR, 'recordBatch', withArg(6, args[6].slice(1)), total, bad, 'contributors length');
    await l.reverts(A.ATTESTOR, 'recordBatch', withArg(5, [...args[5], DATANETS[0]]), total, bad, 'datanets length');
    await l.reverts(A.ATTESTOR, 'recordBatch', batchArgs(1n, []), 0n, bad, 'empty batch');
    const unknown = '0x' + '99'.repeat(32);
    await l.reverts(A.ATTESTOR, 'recordBatch', withArg(0, unknown), total, err('UnknownModel(bytes32)', ['bytes32'], [unknown]));
    await l.reverts(A.ATTESTOR, 'recordBatch', withArg(5, args[5].map((d, i) => (i === 2 ? unknown : d))), total, err('UnknownDatanet(bytes32)', ['bytes32'], [unknown]));
    // Ids repeated within the batch: the smallest repeated id is reported.
    const ids = ['0x' + 'c0'.repeat(32), '0x' + '0c'.repeat(32), '0x' + 'f0'.repeat(32)];
    const dup = [ids[0], ids[2], ids[1], ids[0], ids[2], ids[1]].map((id) => ({ id, fee: 3n, shares: [] }));
    await l.reverts(A.ATTESTOR, 'recordBatch', batchArgs(1n, dup), 18n, err('AlreadyRecorded(bytes32)', ['bytes32'], [ids[1]]), 'duplicate id');
    // More than 64 shares in one inference of a batch.
    const fat = [{ id: r.word(), fee: 1n, shares: Array(65).fill([DATANETS[0], A.NOBODY, 1n]) }];
    await l.reverts(A.ATTESTOR, 'recordBatch', batchArgs(1n, fat), 1n, err('TooManyShares(uint256)', ['uint256'], [65n]), '65 shares in one inference');

    // Caps: 2,049 inferences; 16,385 shares.
    const tooMany = Array.from({ length: 2049 }, (_, i) => ({ id: hex(encodeParams([{ type: 'uint256' }], [i + 1])), fee: 1n, shares: [] }));
    await l.reverts(A.ATTESTOR, 'recordBatch', batchArgs(1n, tooMany), 2049n, bad, '2049 inferences');
    const wide = [{ id: r.word(), fee: 1n, shares: Array(16385).fill([DATANETS[0], A.NOBODY, 1n]) }];
    await l.reverts(A.ATTESTOR, 'recordBatch', batchArgs(1n, wide), 1n, err('TooManyShares(uint256)', ['uint256'], [16385n]), '16385 shares');
    // Calldata over 2 MiB (trailing bytes after a valid encoding).
    const junk = Buffer.concat([iface.encode('recordBatch', args), Buffer.alloc(2 * 1024 * 1024)]);
    const big = await chain.call({ from: A.ATTESTOR, to: l.address, data: junk, value: total, gasLimit: 100_000_000n });
    assert.equal(big.ok, false);
    assert.equal(hex(big.returnData), bad, 'calldata > 2 MiB');

    // A valid batch goes through; each attestor has its own nonce sequence.
    await l.ok(A.ATTESTOR, 'recordBatch', args, total);
    await l.reverts(A.ATTESTOR, 'recordBatch', args, total, err('BadNonce(uint64)', ['uint64'], [2n]), 'replayed nonce');
    const other = randomInferences(r, 2, [A.NOBODY], 3);
    await l.ok(A.ATTESTOR2, 'recordBatch', batchArgs(1n, other), other.reduce((s, i) => s + i.fee, 0n));
    assert.equal((await l.view('batchNonce', [A.ATTESTOR2]))[0], 1n);
  });

  it('recordBatch: more than 4,096 credited recipients reverts with BadInput()', async () => {
    const l = await Ledger.create(chain);
    const addr = (i) => hex(encodeParams([{ type: 'uint256' }], [0x10000n + BigInt(i)]).subarray(12));
    const mk = (from, count) => Array.from({ length: count }, (_, i) => [DATANETS[0], addr(from + i), 1n]);
    const fee = 10n ** 18n;
    // 64 inferences x 64 contributors (4,094 distinct) + payout, treasury, staker pool = 4,097.
    const over = Array.from({ length: 64 }, (_, i) => ({ id: hex(encodeParams([{ type: 'uint256' }], [i + 1])), fee, shares: mk((i * 64) % 4094, 64) }));
    over[63].shares = mk(4030, 64);
    assert.equal(new Set(over.flatMap((o) => o.shares.map((x) => x[1]))).size, 4094);
    await l.reverts(A.ATTESTOR, 'recordBatch', batchArgs(1n, over), 64n * fee, err('BadInput()'), '4097 recipients');
  });

  it('claim moves the balance out once and emits Claimed', async () => {
    const l = await Ledger.create(chain);
    await l.ok(A.ATTESTOR, 'recordInference', ['0x' + '21'.repeat(32), MODEL, '0x' + '00'.repeat(32), [[DATANETS[0], A.NOBODY, 1n]]], 1000n);
    const to = '0x00000000000000000000000000000000000c1a1e';
    const res = await l.ok(A.NOBODY, 'claim', [to]);
    assert.equal(res.decoded[0], 650n);
    assert.deepEqual(res.events.map((e) => [e.name, e.args.account, e.args.to, e.args.amount]), [['Claimed', A.NOBODY, to, 650n]]);
    assert.equal(await chain.balance(to), 650n);
    assert.equal(await l.claimable(A.NOBODY), 0n);
    const again = await l.ok(A.NOBODY, 'claim', [to]);
    assert.deepEqual([again.decoded[0], again.events.length], [0n, 0]);
    await l.reverts(A.NOBODY, 'claim', ['0x' + '00'.repeat(20)], 0n, err('BadInput()'), 'claim to 0');
    assert.equal(await chain.balance(l.address), 350n);
  });

  it('gas: one batch of 100 inferences x 8 shares vs recordInference one by one', async (t) => {
    const r = rng(100);
    const batched = await Ledger.create(chain);
    const single = await Ledger.create(chain);
    const contributors = Array.from({ length: 64 }, () => r.address());
    const inferences = randomInferences(r, 100, contributors, 8).map((inf) => ({
      ...inf,
      shares: Array.from({ length: 8 }, () => [DATANETS[r.int(3)], contributors[r.int(64)], BigInt(1 + r.int(1000)) * 10n ** 15n]),
    }));
    // Warm the claimable slots once so both runs measure updates, not first writes.
    const warm = randomInferences(r, 1, contributors, 0)[0];
    warm.shares = contributors.map((c) => [DATANETS[0], c, 1n]);
    warm.fee = 10n ** 18n;
    for (const l of [batched, single]) {
      await l.ok(A.ATTESTOR2, 'recordInference', [warm.id, MODEL, '0x' + '00'.repeat(32), warm.shares], warm.fee);
    }
    const total = inferences.reduce((s, i) => s + i.fee, 0n);
    const res = await batched.ok(A.ATTESTOR, 'recordBatch', batchArgs(1n, inferences), total);
    let oneByOne = 0n;
    for (const inf of inferences) {
      oneByOne += (await single.ok(A.ATTESTOR, 'recordInference', [inf.id, MODEL, '0x' + '00'.repeat(32), inf.shares], inf.fee)).gasUsed;
    }
    t.diagnostic(
      `LedgerReference, 100 inferences x 8 shares over 64 warm contributors: recordBatch ${res.gasUsed} gas ` +
        `(${res.decoded[1]} recipients), recordInference x 100: ${oneByOne} gas (execution only)`,
    );
    for (const c of contributors) assert.equal(await batched.claimable(c), await single.claimable(c));
    const recipients = res.events.filter((e) => e.name === 'BatchCredited').map((e) => BigInt(e.args.recipient));
    assert.equal(recipients.length, Number(res.decoded[1]));
    for (let i = 1; i < recipients.length; i++) assert.ok(recipients[i - 1] < recipients[i], 'BatchCredited order');
  });
});
