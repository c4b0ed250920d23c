// Contract tests: node --test scripts/   (run `node scripts/compile.js` first)
// Artifacts are checked statically (selectors, ABI, storage layout) and executed in
// @ethereumjs/evm under Prague rules, with runtime code placed directly at the predeploy
// addresses as genesis does (constructors never run).
'use strict';

const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const { Interface, keccak, signature, encodeParams, uintWord, revertReason, decodeParams } = require('./lib/abi.js');
const { flzCompressLen } = require('./lib/fastlz.js');
const { TestChain, BLOCK } = require('./lib/evm.js');

const ROOT = path.resolve(__dirname, '..');
const load = (name) => JSON.parse(fs.readFileSync(path.join(ROOT, 'artifacts', `${name}.json`), 'utf8'));
const hex = (b) => '0x' + Buffer.from(b).toString('hex');
const word = (buf, i = 0) => BigInt(hex(buf.subarray(i * 32, i * 32 + 32)));
const beField = (slotWord, start, end) => BigInt(hex(slotWord.subarray(start, end)));

const ADDR = {
  L1_BLOCK: '0x4200000000000000000000000000000000000015',
  GPO: '0x420000000000000000000000000000000000000f',
  MESSAGE_PASSER: '0x4200000000000000000000000000000000000016',
  SEQUENCER_FEE_VAULT: '0x4200000000000000000000000000000000000011',
  MULTICALL3: '0xca11bde05977b3631167028862be2a173976ca11',
  CREATE2_DEPLOYER: '0x4e59b44847b379578588920ca78fbf26c0b4956c',
  DEPOSITOR: '0xdeaddeaddeaddeaddeaddeaddeaddeaddead0001',
  HARNESS: '0x00000000000000000000000000000000000f1a20',
  TOKEN: '0x0000000000000000000000000000000000e2c020',
  ALICE: '0x000000000000000000000000000000000000a11c',
  BOB: '0x0000000000000000000000000000000000000b0b',
};

const CONTRACTS = [
  'L1Block',
  'GasPriceOracle',
  'L2ToL1MessagePasser',
  'FeeVault',
  'Multicall3',
  'Create2Deployer',
  'TestERC20',
  'FastLZHarness',
];

// Deterministic byte generator (xorshift32) so failures are reproducible.
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}
function randomBytes(n, seed) {
  const r = rng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = r() & 0xff;
  return b;
}

// ---------------------------------------------------------------------------------------------
describe('build', () => {
  it('committed artifacts match the sources (compile.js --check)', () => {
    const res = spawnSync(process.execPath, [path.join(__dirname, 'compile.js'), '--check'], { encoding: 'utf8' });
    assert.equal(res.status, 0, `compile.js --check failed:\n${res.stdout}${res.stderr}`);
  });

  it('every artifact has the expected shape', () => {
    for (const name of CONTRACTS) {
      const a = load(name);
      assert.deepEqual(Object.keys(a), [
        'contractName',
        'sourceName',
        'solcVersion',
        'abi',
        'bytecode',
        'deployedBytecode',
        'methodIdentifiers',
        'storageLayout',
      ]);
      assert.equal(a.contractName, name);
      assert.match(a.solcVersion, /^0\.8\.37\+commit\./);
      assert.match(a.bytecode, /^0x([0-9a-f]{2})+$/);
      assert.match(a.deployedBytecode, /^0x([0-9a-f]{2})+$/);
      assert.ok(Array.isArray(a.storageLayout.storage));
    }
  });

  it('predeploy sources use no immutables or constructors (code is placed in genesis)', () => {
    for (const name of CONTRACTS.filter((n) => !['TestERC20', 'FastLZHarness'].includes(n))) {
      const src = fs.readFileSync(path.join(ROOT, load(name).sourceName), 'utf8').replace(/\/\/.*$/gm, '');
      assert.doesNotMatch(src, /\bimmutable\b/, `${name} uses immutable`);
      assert.doesNotMatch(src, /\bconstructor\s*\(/, `${name} has a constructor`);
    }
  });

  it('methodIdentifiers from solc equal keccak of the signatures', () => {
    for (const name of CONTRACTS) {
      const a = load(name);
      for (const [sig, sel] of Object.entries(a.methodIdentifiers)) {
        assert.equal(keccak(Buffer.from(sig)).subarray(0, 4).toString('hex'), sel, `${name}.${sig}`);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('ABI', () => {
  it('L1Block deposit entry points have the protocol selectors', () => {
    const ids = load('L1Block').methodIdentifiers;
    assert.equal(ids['setL1BlockValuesEcotone()'], '440a5e20');
    assert.equal(ids['setL1BlockValuesIsthmus()'], '098999be');
    assert.equal(ids['setL1BlockValues(uint64,uint64,uint256,bytes32,uint64,bytes32,uint256,uint256)'], '015d8eb9');
  });

  const REQUIRED = {
    L1Block: [
      'number()', 'timestamp()', 'basefee()', 'hash()', 'sequenceNumber()', 'blobBaseFeeScalar()',
      'baseFeeScalar()', 'batcherHash()', 'l1FeeOverhead()', 'l1FeeScalar()', 'blobBaseFee()',
      'operatorFeeConstant()', 'operatorFeeScalar()', 'DEPOSITOR_ACCOUNT()', 'version()',
      'setL1BlockValuesEcotone()', 'setL1BlockValuesIsthmus()',
    ],
    GasPriceOracle: [
      'DECIMALS()', 'decimals()', 'isEcotone()', 'isFjord()', 'isIsthmus()', 'gasPrice()', 'baseFee()',
      'l1BaseFee()', 'blobBaseFee()', 'baseFeeScalar()', 'blobBaseFeeScalar()', 'overhead()', 'scalar()',
      'getL1Fee(bytes)', 'getL1GasUsed(bytes)', 'getL1FeeUpperBound(uint256)', 'getOperatorFee(uint256)',
      'version()',
    ],
    L2ToL1MessagePasser: [
      'MESSAGE_VERSION()', 'initiateWithdrawal(address,uint256,bytes)', 'sentMessages(bytes32)',
      'messageNonce()', 'burn()', 'version()',
    ],
    FeeVault: [
      'RECIPIENT()', 'recipient()', 'MIN_WITHDRAWAL_AMOUNT()', 'minWithdrawalAmount()', 'totalProcessed()',
      'withdraw()', 'version()',
    ],
    Multicall3: [
      'aggregate((address,bytes)[])', 'aggregate3((address,bool,bytes)[])',
      'aggregate3Value((address,bool,uint256,bytes)[])', 'blockAndAggregate((address,bytes)[])',
      'tryAggregate(bool,(address,bytes)[])', 'tryBlockAndAggregate(bool,(address,bytes)[])',
      'getBasefee()', 'getBlockHash(uint256)', 'getBlockNumber()', 'getChainId()', 'getCurrentBlockCoinbase()',
      'getCurrentBlockDifficulty()', 'getCurrentBlockGasLimit()', 'getCurrentBlockTimestamp()',
      'getEthBalance(address)', 'getLastBlockHash()',
    ],
    TestERC20: [
      'name()', 'symbol()', 'decimals()', 'totalSupply()', 'balanceOf(address)', 'transfer(address,uint256)',
      'transferFrom(address,address,uint256)', 'approve(address,uint256)', 'allowance(address,address)',
      'mint(address,uint256)',
    ],
  };
  for (const [name, sigs] of Object.entries(REQUIRED)) {
    it(`${name} has the required functions`, () => {
      const ids = load(name).methodIdentifiers;
      for (const sig of sigs) assert.ok(sig in ids, `${name} lacks ${sig}`);
    });
  }

  it('Multicall3 payability and return types match the reference ABI', () => {
    const abi = new Interface(load('Multicall3').abi);
    for (const n of ['aggregate', 'aggregate3', 'aggregate3Value', 'blockAndAggregate', 'tryAggregate', 'tryBlockAndAggregate']) {
      assert.equal(abi.fn(n).stateMutability, 'payable', n);
    }
    const outs = (n) => abi.fn(n).outputs.map((o) => (o.type.startsWith('tuple') ? signature({ name: '', inputs: [o] }) : o.type));
    assert.deepEqual(outs('aggregate'), ['uint256', 'bytes[]']);
    assert.deepEqual(outs('aggregate3'), ['((bool,bytes)[])']);
    assert.deepEqual(outs('tryBlockAndAggregate'), ['uint256', 'bytes32', '((bool,bytes)[])']);
  });

  it('events have the OP signatures', () => {
    const topic = (name, ev) => new Interface(load(name).abi).event(ev).item;
    const sig = (e) => `${e.name}(${e.inputs.map((i) => i.type + (i.indexed ? ' indexed' : '')).join(',')})`;
    assert.equal(
      sig(topic('L2ToL1MessagePasser', 'MessagePassed')),
      'MessagePassed(uint256 indexed,address indexed,address indexed,uint256,uint256,bytes,bytes32)',
    );
    assert.equal(sig(topic('L2ToL1MessagePasser', 'WithdrawerBalanceBurnt')), 'WithdrawerBalanceBurnt(uint256 indexed)');
    assert.equal(sig(topic('FeeVault', 'Withdrawal')), 'Withdrawal(uint256,address,address)');
    assert.equal(sig(topic('TestERC20', 'Transfer')), 'Transfer(address indexed,address indexed,uint256)');
    assert.equal(sig(topic('TestERC20', 'Approval')), 'Approval(address indexed,address indexed,uint256)');
  });
});

// ---------------------------------------------------------------------------------------------
describe('storage layout', () => {
  const layout = (name) => load(name).storageLayout.storage.map((s) => [s.label, Number(s.slot), s.offset, s.type]);

  it('L1Block matches op-revm 20 (slots 1,3,5,6,7,8 and byte offsets)', () => {
    assert.deepEqual(layout('L1Block'), [
      ['number', 0, 0, 't_uint64'],
      ['timestamp', 0, 8, 't_uint64'],
      ['basefee', 1, 0, 't_uint256'],
      ['hash', 2, 0, 't_bytes32'],
      ['sequenceNumber', 3, 0, 't_uint64'],
      ['blobBaseFeeScalar', 3, 8, 't_uint32'], // op-revm BLOB_BASE_FEE_SCALAR_OFFSET 20 = BE [20,24)
      ['baseFeeScalar', 3, 12, 't_uint32'], // op-revm BASE_FEE_SCALAR_OFFSET 16 = BE [16,20)
      ['batcherHash', 4, 0, 't_bytes32'],
      ['l1FeeOverhead', 5, 0, 't_uint256'],
      ['l1FeeScalar', 6, 0, 't_uint256'],
      ['blobBaseFee', 7, 0, 't_uint256'],
      ['operatorFeeConstant', 8, 0, 't_uint64'], // op-revm OPERATOR_FEE_CONSTANT_OFFSET 24 = BE [24,32)
      ['operatorFeeScalar', 8, 8, 't_uint32'], // op-revm OPERATOR_FEE_SCALAR_OFFSET 20 = BE [20,24)
      ['daFootprintGasScalar', 8, 12, 't_uint16'], // op-revm DA_FOOTPRINT_GAS_SCALAR_OFFSET 18 = BE [18,20)
    ]);
  });

  it('other contracts', () => {
    assert.deepEqual(layout('L2ToL1MessagePasser'), [
      ['sentMessages', 0, 0, 't_mapping(t_bytes32,t_bool)'],
      ['msgNonce', 1, 0, 't_uint240'],
    ]);
    assert.deepEqual(layout('FeeVault'), [
      ['recipient', 0, 0, 't_address'],
      ['minWithdrawalAmount', 1, 0, 't_uint256'],
      ['totalProcessed', 2, 0, 't_uint256'],
    ]);
    assert.deepEqual(layout('TestERC20'), [
      ['balanceOf', 0, 0, 't_mapping(t_address,t_uint256)'],
      ['allowance', 1, 0, 't_mapping(t_address,t_mapping(t_address,t_uint256))'],
      ['totalSupply', 2, 0, 't_uint256'],
    ]);
    for (const n of ['GasPriceOracle', 'Multicall3', 'Create2Deployer', 'FastLZHarness']) {
      assert.deepEqual(layout(n), [], `${n} must have no storage`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// L1-info values used by the L1Block and GasPriceOracle tests.
const L1_INFO = {
  baseFeeScalar: 0x11223344n,
  blobBaseFeeScalar: 810949n,
  sequenceNumber: 0x0102030405060708n,
  timestamp: 0x1112131415161718n,
  number: 0x2122232425262728n,
  basefee: 1055991687n,
  blobBaseFee: 0x0123456789abcdefn,
  hash: Buffer.alloc(32, 0xab),
  batcherHash: Buffer.alloc(32, 0xcd),
  operatorFeeScalar: 0x99aabbccn,
  operatorFeeConstant: 0xdeadbeefcafef00dn,
};

function be(v, bytes) {
  return Buffer.from(BigInt(v).toString(16).padStart(bytes * 2, '0'), 'hex');
}

function ecotoneCalldata(i) {
  return Buffer.concat([
    Buffer.from('440a5e20', 'hex'),
    be(i.baseFeeScalar, 4),
    be(i.blobBaseFeeScalar, 4),
    be(i.sequenceNumber, 8),
    be(i.timestamp, 8),
    be(i.number, 8),
    be(i.basefee, 32),
    be(i.blobBaseFee, 32),
    i.hash,
    i.batcherHash,
  ]);
}

function isthmusCalldata(i) {
  const eco = ecotoneCalldata(i);
  eco.write('098999be', 0, 'hex');
  return Buffer.concat([eco, be(i.operatorFeeScalar, 4), be(i.operatorFeeConstant, 8)]);
}

describe('L1Block in the EVM', () => {
  let chain;
  const abi = new Interface(load('L1Block').abi);
  const get = async (fn) => abi.decode(fn, (await chain.call({ to: ADDR.L1_BLOCK, data: abi.encode(fn) })).returnData)[0];

  before(async () => {
    chain = await TestChain.create();
    await chain.place(ADDR.L1_BLOCK, load('L1Block').deployedBytecode);
  });

  it('calldata layouts are 164 and 176 bytes', () => {
    assert.equal(ecotoneCalldata(L1_INFO).length, 164);
    assert.equal(isthmusCalldata(L1_INFO).length, 176);
  });

  it('rejects callers other than the depositor', async () => {
    const res = await chain.call({ from: ADDR.ALICE, to: ADDR.L1_BLOCK, data: isthmusCalldata(L1_INFO) });
    assert.equal(res.ok, false);
    assert.equal(hex(res.returnData), hex(keccak(Buffer.from('NotDepositor()')).subarray(0, 4)));
    const eco = await chain.call({ from: ADDR.ALICE, to: ADDR.L1_BLOCK, data: ecotoneCalldata(L1_INFO) });
    assert.equal(eco.ok, false);
    assert.equal((await chain.storage(ADDR.L1_BLOCK, 1)).equals(Buffer.alloc(32)), true);
  });

  it('Isthmus setter stores every field where op-revm reads it', async () => {
    const res = await chain.call({ from: ADDR.DEPOSITOR, to: ADDR.L1_BLOCK, data: isthmusCalldata(L1_INFO) });
    assert.equal(res.ok, true, res.error);
    const s = async (n) => chain.storage(ADDR.L1_BLOCK, n);
    const s0 = await s(0);
    assert.equal(beField(s0, 24, 32), L1_INFO.number);
    assert.equal(beField(s0, 16, 24), L1_INFO.timestamp);
    assert.equal(beField(s0, 0, 16), 0n);
    assert.equal(word(await s(1)), L1_INFO.basefee); // op-revm L1_BASE_FEE_SLOT
    assert.equal((await s(2)).equals(L1_INFO.hash), true);
    const s3 = await s(3); // op-revm ECOTONE_L1_FEE_SCALARS_SLOT
    assert.equal(beField(s3, 16, 20), L1_INFO.baseFeeScalar);
    assert.equal(beField(s3, 20, 24), L1_INFO.blobBaseFeeScalar);
    assert.equal(beField(s3, 24, 32), L1_INFO.sequenceNumber);
    assert.equal(beField(s3, 0, 16), 0n);
    assert.equal((await s(4)).equals(L1_INFO.batcherHash), true);
    assert.equal(word(await s(5)), 0n);
    assert.equal(word(await s(6)), 0n);
    assert.equal(word(await s(7)), L1_INFO.blobBaseFee); // op-revm ECOTONE_L1_BLOB_BASE_FEE_SLOT
    const s8 = await s(8); // op-revm OPERATOR_FEE_SCALARS_SLOT
    assert.equal(beField(s8, 20, 24), L1_INFO.operatorFeeScalar);
    assert.equal(beField(s8, 24, 32), L1_INFO.operatorFeeConstant);
    assert.equal(beField(s8, 0, 20), 0n);
  });

  it('getters return the stored values', async () => {
    assert.equal(await get('number'), L1_INFO.number);
    assert.equal(await get('timestamp'), L1_INFO.timestamp);
    assert.equal(await get('basefee'), L1_INFO.basefee);
    assert.equal(await get('hash'), hex(L1_INFO.hash));
    assert.equal(await get('sequenceNumber'), L1_INFO.sequenceNumber);
    assert.equal(await get('baseFeeScalar'), L1_INFO.baseFeeScalar);
    assert.equal(await get('blobBaseFeeScalar'), L1_INFO.blobBaseFeeScalar);
    assert.equal(await get('batcherHash'), hex(L1_INFO.batcherHash));
    assert.equal(await get('blobBaseFee'), L1_INFO.blobBaseFee);
    assert.equal(await get('operatorFeeScalar'), L1_INFO.operatorFeeScalar);
    assert.equal(await get('operatorFeeConstant'), L1_INFO.operatorFeeConstant);
    assert.equal(await get('l1FeeOverhead'), 0n);
    assert.equal(await get('l1FeeScalar'), 0n);
    assert.equal(await get('DEPOSITOR_ACCOUNT'), ADDR.DEPOSITOR);
    assert.equal(await get('version'), '1.0.0');
  });

  it('Ecotone setter leaves the operator fee slot alone', async () => {
    const next = { ...L1_INFO, number: 7n, basefee: 9n, sequenceNumber: 0n, baseFeeScalar: 1n, blobBaseFeeScalar: 2n };
    const res = await chain.call({ from: ADDR.DEPOSITOR, to: ADDR.L1_BLOCK, data: ecotoneCalldata(next) });
    assert.equal(res.ok, true, res.error);
    assert.equal(await get('number'), 7n);
    assert.equal(await get('basefee'), 9n);
    assert.equal(await get('baseFeeScalar'), 1n);
    assert.equal(await get('blobBaseFeeScalar'), 2n);
    assert.equal(await get('sequenceNumber'), 0n);
    assert.equal(await get('operatorFeeScalar'), L1_INFO.operatorFeeScalar);
    assert.equal(await get('operatorFeeConstant'), L1_INFO.operatorFeeConstant);
  });

  it('Bedrock setter is ABI-encoded and fills the legacy slots', async () => {
    const data = abi.encode('setL1BlockValues', [1n, 2n, 3n, hex(L1_INFO.hash), 4n, hex(L1_INFO.batcherHash), 188n, 684000n]);
    assert.equal((await chain.call({ from: ADDR.ALICE, to: ADDR.L1_BLOCK, data })).ok, false);
    const res = await chain.call({ from: ADDR.DEPOSITOR, to: ADDR.L1_BLOCK, data });
    assert.equal(res.ok, true, res.error);
    assert.equal(word(await chain.storage(ADDR.L1_BLOCK, 5)), 188n);
    assert.equal(word(await chain.storage(ADDR.L1_BLOCK, 6)), 684000n);
    assert.equal(await get('timestamp'), 2n);
  });
});

// ---------------------------------------------------------------------------------------------
// Sample unsigned-ish transaction used by op-revm's own FastLZ test (expected length 202).
const SAMPLE_TX = Buffer.from(
  '02f901550a758302df1483be21b88304743f94f80e51afb613d764fa61751affd3313c190a86bb870151bd62fd12adb8e41ef24f3f' +
    '000000000000000000000000000000000000000000000000000000000000006e000000000000000000000000af88d065e77c8cc2' +
    '239327c5edb3a432268e5831000000000000000000000000000000000000000000000000000000000003c1e50000000000000000' +
    '00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000' +
    '0000000000a000000000000000000000000000000000000000000000000000000000000000148c89ed219d02f1a5be012c689b4f' +
    '5b731827bebe000000000000000000000000c001a033fd89cb37c31b2cba46b6466e040c61fc9b2a3675a7f5f493ebd5ad77c497' +
    'f8a07cdf65680e238392693019b4092f610222e71b7cec06449cb922b93b6a12744e',
  'hex',
);

function fastLzCases() {
  const cases = [
    ['empty', Buffer.alloc(0)],
    ['FACADE', Buffer.from('facade', 'hex')],
    ['1000 zeros', Buffer.alloc(1000)],
    ['1000 x 0x2a', Buffer.alloc(1000, 42)],
    ['op-revm sample tx', SAMPLE_TX],
    ['random 1 KiB', randomBytes(1024, 1)],
    ['ramp 0..255', Buffer.from(Array.from({ length: 256 }, (_, i) => i))],
    ['"abc" x 400', Buffer.from('abc'.repeat(400))],
    ['text', Buffer.from('the quick brown fox jumps over the lazy dog; '.repeat(30))],
    ['ABI-ish words', Buffer.concat(Array.from({ length: 40 }, (_, i) => uintWord(BigInt(i) * 0x1000000n + 7n)))],
    ['zero run of 600 (long match, > 262)', Buffer.concat([randomBytes(20, 2), Buffer.alloc(600), randomBytes(20, 3)])],
    // A block repeated at distance >= 8192 must not be matched (window limit).
    ['repeat beyond window', Buffer.concat([randomBytes(64, 4), randomBytes(8200, 5), randomBytes(64, 4)])],
    ['repeat within window', Buffer.concat([randomBytes(64, 6), randomBytes(8000, 7), randomBytes(64, 6)])],
    // Zero runs are consumed by long matches (two table insertions each), so the entry for the
    // first copy of Q survives and the second copy is found at distance exactly 8191 / 8192.
    ...[8191, 8192].map((d) => {
      const q = randomBytes(16, 12).fill(0xee, 0, 1);
      const data = Buffer.concat([randomBytes(40, 13), q, Buffer.alloc(d - 16), q, randomBytes(40, 14)]);
      return [`repeat at distance ${d}`, data];
    }),
  ];
  for (let n = 1; n <= 40; n++) cases.push([`random ${n} B`, randomBytes(n, 100 + n)]);
  for (let n = 1; n <= 20; n++) cases.push([`zeros ${n} B`, Buffer.alloc(n)]);
  // Structured fuzz: random mixes of literal runs, zero runs and copies of earlier data.
  const r = rng(0xfa57);
  for (let k = 0; k < 32; k++) {
    const parts = [];
    let total = 0;
    const target = 1 + (r() % 2500);
    while (total < target) {
      const kind = r() % 3;
      const len = 1 + (r() % 80);
      let part;
      if (kind === 0) part = randomBytes(len, r());
      else if (kind === 1) part = Buffer.alloc(len, r() % 4 === 0 ? 0xff : 0);
      else {
        const prev = Buffer.concat(parts);
        const start = prev.length ? r() % prev.length : 0;
        part = Buffer.from(prev.subarray(start, start + len));
      }
      parts.push(part);
      total += part.length;
    }
    cases.push([`fuzz #${k} (${total} B)`, Buffer.concat(parts)]);
  }
  return cases;
}

describe('FastLZ compressed length (Solidity vs op-revm flz_compress_len port)', () => {
  let chain;
  const abi = new Interface(load('FastLZHarness').abi);
  before(async () => {
    chain = await TestChain.create();
    await chain.place(ADDR.HARNESS, load('FastLZHarness').deployedBytecode);
  });

  it('JS port reproduces op-revm test vectors', () => {
    assert.equal(flzCompressLen(Buffer.alloc(0)), 0);
    assert.equal(flzCompressLen(Buffer.alloc(1000)), 21);
    assert.equal(flzCompressLen(Buffer.alloc(1000, 42)), 21);
    assert.equal(flzCompressLen(Buffer.from('facade', 'hex')), 4);
    assert.equal(flzCompressLen(SAMPLE_TX), 202);
  });

  it('EVM result equals the reference on every case', async () => {
    const cases = fastLzCases();
    let maxGasPerByte = 0;
    for (const [label, data] of cases) {
      const res = await chain.call({ to: ADDR.HARNESS, data: abi.encode('compressedLength', [data]), gasLimit: 100_000_000n });
      assert.equal(res.ok, true, `${label}: ${res.error}`);
      const got = abi.decode('compressedLength', res.returnData)[0];
      assert.equal(got, BigInt(flzCompressLen(data)), `${label} (${data.length} B)`);
      if (data.length >= 1000) maxGasPerByte = Math.max(maxGasPerByte, Number(res.gasUsed) / data.length);
    }
    // With a table that is not cleared, a stale entry pointing at position 1 (a position the
    // scan never inserts) would let the second "ABCDEFGH" match the first.
    const dirtyCases = [
      Buffer.concat([Buffer.from('Q'), Buffer.from('ABCDEFGH'), randomBytes(200, 15), Buffer.from('ABCDEFGH'), randomBytes(50, 16)]),
      ...cases.filter(([, d]) => d.length <= 3000).slice(0, 10).map(([, d]) => d),
    ];
    for (const data of dirtyCases) {
      const res = await chain.call({ to: ADDR.HARNESS, data: abi.encode('compressedLengthDirtyMemory', [data]), gasLimit: 100_000_000n });
      assert.equal(res.ok, true, res.error);
      assert.equal(abi.decode('compressedLengthDirtyMemory', res.returnData)[0], BigInt(flzCompressLen(data)), `dirty memory, ${data.length} B`);
    }
    // Keep the on-chain cost sane (a 32 KiB table, not a 256 KiB one).
    assert.ok(maxGasPerByte < 400, `FastLZ costs ${maxGasPerByte.toFixed(0)} gas/byte`);
  });
});

// ---------------------------------------------------------------------------------------------
describe('GasPriceOracle in the EVM', () => {
  let chain;
  const gpo = new Interface(load('GasPriceOracle').abi);
  const call = (fn, args = []) => chain.call({ to: ADDR.GPO, data: gpo.encode(fn, args) });
  const get = async (fn, args = []) => {
    const res = await call(fn, args);
    assert.equal(res.ok, true, `${fn}: ${res.error} ${revertReason(res.returnData)}`);
    return gpo.decode(fn, res.returnData)[0];
  };

  // Reference formulas (OPSTACK.md section 4, op-revm l1block.rs).
  const i = L1_INFO;
  const feeScaled = i.baseFeeScalar * 16n * i.basefee + i.blobBaseFeeScalar * i.blobBaseFee;
  const estimated = (flz) => {
    const v = BigInt(flz) * 836_500n - 42_585_600n;
    return v < 100_000_000n ? 100_000_000n : v;
  };
  const fjordFee = (flz) => (estimated(flz) * feeScaled) / 1_000_000_000_000n;

  before(async () => {
    chain = await TestChain.create();
    await chain.place(ADDR.L1_BLOCK, load('L1Block').deployedBytecode);
    await chain.place(ADDR.GPO, load('GasPriceOracle').deployedBytecode);
    const res = await chain.call({ from: ADDR.DEPOSITOR, to: ADDR.L1_BLOCK, data: isthmusCalldata(L1_INFO) });
    assert.equal(res.ok, true);
  });

  it('flags, decimals and version', async () => {
    assert.equal(await get('DECIMALS'), 6n);
    assert.equal(await get('decimals'), 6n);
    assert.equal(await get('isEcotone'), true);
    assert.equal(await get('isFjord'), true);
    assert.equal(await get('isIsthmus'), true);
    assert.equal(await get('version'), '1.0.0');
  });

  it('overhead() and scalar() revert as deprecated', async () => {
    for (const fn of ['overhead', 'scalar']) {
      const res = await call(fn);
      assert.equal(res.ok, false);
      assert.equal(revertReason(res.returnData), `GasPriceOracle: ${fn}() is deprecated`);
    }
  });

  it('L1 values are read from L1Block', async () => {
    assert.equal(await get('l1BaseFee'), i.basefee);
    assert.equal(await get('blobBaseFee'), i.blobBaseFee);
    assert.equal(await get('baseFeeScalar'), i.baseFeeScalar);
    assert.equal(await get('blobBaseFeeScalar'), i.blobBaseFeeScalar);
    assert.equal(await get('gasPrice'), BLOCK.baseFeePerGas);
    assert.equal(await get('baseFee'), BLOCK.baseFeePerGas);
  });

  it('getL1Fee uses the Fjord formula on FastLZ(data) + 68', async () => {
    for (const data of [Buffer.alloc(0), SAMPLE_TX, randomBytes(300, 9), randomBytes(2000, 10), Buffer.alloc(5000)]) {
      assert.equal(await get('getL1Fee', [data]), fjordFee(flzCompressLen(data) + 68), `${data.length} B`);
    }
  });

  it('getL1GasUsed and getL1FeeUpperBound', async () => {
    for (const data of [Buffer.alloc(0), SAMPLE_TX, randomBytes(2000, 11)]) {
      assert.equal(await get('getL1GasUsed', [data]), (estimated(flzCompressLen(data) + 68) * 16n) / 1_000_000n);
    }
    for (const size of [0n, 150n, 1000n, 100000n]) {
      const txSize = size + 68n;
      assert.equal(await get('getL1FeeUpperBound', [size]), fjordFee(txSize + txSize / 255n + 16n), `size ${size}`);
    }
  });

  it('getOperatorFee = gasUsed * scalar / 1e6 + constant (saturating)', async () => {
    for (const gas of [0n, 21000n, 1_000_000n, 30_000_000n]) {
      assert.equal(await get('getOperatorFee', [gas]), (gas * i.operatorFeeScalar) / 1_000_000n + i.operatorFeeConstant);
    }
    const max = (1n << 256n) - 1n;
    assert.equal(await get('getOperatorFee', [max]), max / 1_000_000n + i.operatorFeeConstant);
  });
});

// ---------------------------------------------------------------------------------------------
describe('L2ToL1MessagePasser in the EVM', () => {
  let chain;
  const mp = new Interface(load('L2ToL1MessagePasser').abi);
  const get = async (fn, args = []) =>
    mp.decode(fn, (await chain.call({ to: ADDR.MESSAGE_PASSER, data: mp.encode(fn, args) })).returnData)[0];
  const VERSION_BIT = 1n << 240n;

  before(async () => {
    chain = await TestChain.create();
    await chain.place(ADDR.MESSAGE_PASSER, load('L2ToL1MessagePasser').deployedBytecode);
    await chain.setBalance(ADDR.ALICE, 10n ** 18n);
  });

  it('starts at versioned nonce 0', async () => {
    assert.equal(await get('MESSAGE_VERSION'), 1n);
    assert.equal(await get('messageNonce'), VERSION_BIT);
  });

  it('initiateWithdrawal records the hash, emits MessagePassed and bumps the nonce', async () => {
    const data = Buffer.from('c0ffee', 'hex');
    const res = await chain.call({
      from: ADDR.ALICE,
      to: ADDR.MESSAGE_PASSER,
      value: 12345n,
      data: mp.encode('initiateWithdrawal', [ADDR.BOB, 200000n, data]),
    });
    assert.equal(res.ok, true, res.error);
    const expectedHash = keccak(
      encodeParams(
        ['uint256', 'address', 'address', 'uint256', 'uint256', 'bytes'].map((type) => ({ type })),
        [VERSION_BIT, ADDR.ALICE, ADDR.BOB, 12345n, 200000n, data],
      ),
    );
    assert.equal(res.logs.length, 1);
    const log = res.logs[0];
    assert.equal(log.topics[0].equals(mp.event('MessagePassed').topic), true);
    assert.equal(word(log.topics[1]), VERSION_BIT);
    assert.equal(word(log.topics[2]), BigInt(ADDR.ALICE));
    assert.equal(word(log.topics[3]), BigInt(ADDR.BOB));
    const [value, gasLimit, logData, hash] = decodeParams(
      [{ type: 'uint256' }, { type: 'uint256' }, { type: 'bytes' }, { type: 'bytes32' }],
      log.data,
    );
    assert.deepEqual([value, gasLimit, logData, hash], [12345n, 200000n, '0xc0ffee', hex(expectedHash)]);
    // sentMessages[hash] lives at keccak256(hash ++ bytes32(0)).
    const slot = keccak(Buffer.concat([expectedHash, Buffer.alloc(32)]));
    assert.equal(word(await chain.storage(ADDR.MESSAGE_PASSER, slot)), 1n);
    assert.equal(await get('sentMessages', [hex(expectedHash)]), true);
    assert.equal(word(await chain.storage(ADDR.MESSAGE_PASSER, 1)), 1n);
    assert.equal(await get('messageNonce'), VERSION_BIT + 1n);
    assert.equal(await chain.balance(ADDR.MESSAGE_PASSER), 12345n);
  });

  it('a plain transfer withdraws to the sender with gas limit 100000', async () => {
    const res = await chain.call({ from: ADDR.ALICE, to: ADDR.MESSAGE_PASSER, value: 5n });
    assert.equal(res.ok, true, res.error);
    const [value, gasLimit, data] = decodeParams([{ type: 'uint256' }, { type: 'uint256' }, { type: 'bytes' }], res.logs[0].data);
    assert.deepEqual([value, gasLimit, data], [5n, 100000n, '0x']);
    assert.equal(word(res.logs[0].topics[3]), BigInt(ADDR.ALICE));
    assert.equal(await get('messageNonce'), VERSION_BIT + 2n);
  });

  it('burn() removes the balance and emits WithdrawerBalanceBurnt', async () => {
    const res = await chain.call({ from: ADDR.BOB, to: ADDR.MESSAGE_PASSER, data: mp.encode('burn') });
    assert.equal(res.ok, true, res.error);
    assert.equal(await chain.balance(ADDR.MESSAGE_PASSER), 0n);
    const log = res.logs[0];
    assert.equal(log.topics[0].equals(mp.event('WithdrawerBalanceBurnt').topic), true);
    assert.equal(word(log.topics[1]), 12350n);
  });
});

// ---------------------------------------------------------------------------------------------
describe('FeeVault in the EVM', () => {
  let chain;
  const fv = new Interface(load('FeeVault').abi);
  const VAULT = ADDR.SEQUENCER_FEE_VAULT;
  const get = async (fn) => fv.decode(fn, (await chain.call({ to: VAULT, data: fv.encode(fn) })).returnData)[0];

  before(async () => {
    chain = await TestChain.create();
    await chain.place(VAULT, load('FeeVault').deployedBytecode);
    await chain.setBalance(ADDR.ALICE, 10n ** 18n);
  });

  it('withdraw() reverts while no recipient is set', async () => {
    const res = await chain.call({ to: VAULT, data: fv.encode('withdraw') });
    assert.equal(res.ok, false);
    assert.equal(revertReason(res.returnData), 'FeeVault: recipient not set');
  });

  it('recipient and minimum come from slots 0 and 1; withdraw pays out on L2', async () => {
    await chain.setStorage(VAULT, 0, BigInt(ADDR.BOB));
    await chain.setStorage(VAULT, 1, 1000n);
    assert.equal(await get('RECIPIENT'), ADDR.BOB);
    assert.equal(await get('recipient'), ADDR.BOB);
    assert.equal(await get('MIN_WITHDRAWAL_AMOUNT'), 1000n);
    assert.equal(await get('version'), '1.0.0');

    assert.equal((await chain.call({ from: ADDR.ALICE, to: VAULT, value: 600n })).ok, true);
    const early = await chain.call({ to: VAULT, data: fv.encode('withdraw') });
    assert.equal(early.ok, false);
    assert.match(revertReason(early.returnData), /minimum withdrawal amount/);

    assert.equal((await chain.call({ from: ADDR.ALICE, to: VAULT, value: 900n })).ok, true);
    const res = await chain.call({ from: ADDR.ALICE, to: VAULT, data: fv.encode('withdraw') });
    assert.equal(res.ok, true, res.error);
    assert.equal(await chain.balance(ADDR.BOB), 1500n);
    assert.equal(await chain.balance(VAULT), 0n);
    assert.equal(await get('totalProcessed'), 1500n);
    assert.equal(word(await chain.storage(VAULT, 2)), 1500n);
    assert.equal(res.logs[0].topics[0].equals(fv.event('Withdrawal').topic), true);
    const decoded = decodeParams([{ type: 'uint256' }, { type: 'address' }, { type: 'address' }], res.logs[0].data);
    assert.deepEqual(decoded, [1500n, ADDR.BOB, ADDR.ALICE]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('Create2Deployer in the EVM', () => {
  let chain;
  const D = ADDR.CREATE2_DEPLOYER;
  const create2Address = (salt, initCode) =>
    '0x' +
    keccak(Buffer.concat([Buffer.from('ff', 'hex'), Buffer.from(D.slice(2), 'hex'), salt, keccak(initCode)]))
      .subarray(12)
      .toString('hex');

  before(async () => {
    chain = await TestChain.create();
    await chain.place(D, load('Create2Deployer').deployedBytecode);
    await chain.setBalance(ADDR.ALICE, 10n ** 18n);
  });

  it('deploys salt ++ initcode with CREATE2 and returns the raw 20-byte address', async () => {
    const salt = Buffer.alloc(32, 0x5a);
    const initCode = Buffer.from(load('TestERC20').bytecode.slice(2), 'hex');
    const res = await chain.call({ from: ADDR.ALICE, to: D, data: Buffer.concat([salt, initCode]) });
    assert.equal(res.ok, true, res.error);
    assert.equal(res.returnData.length, 20);
    assert.equal(hex(res.returnData), create2Address(salt, initCode));
    assert.equal(hex(await chain.code(hex(res.returnData))), load('TestERC20').deployedBytecode);
    // Same salt and code again: address collision, so it reverts.
    const again = await chain.call({ from: ADDR.ALICE, to: D, data: Buffer.concat([salt, initCode]) });
    assert.equal(again.ok, false);
  });

  it('forwards msg.value to the new contract', async () => {
    const salt = Buffer.alloc(32, 1);
    const initCode = Buffer.from('00', 'hex'); // STOP: empty runtime code
    const res = await chain.call({ from: ADDR.ALICE, to: D, value: 777n, data: Buffer.concat([salt, initCode]) });
    assert.equal(res.ok, true, res.error);
    assert.equal(await chain.balance(hex(res.returnData)), 777n);
  });

  it('reverts on failing init code or calldata shorter than a salt', async () => {
    const failing = await chain.call({ to: D, data: Buffer.concat([Buffer.alloc(32, 2), Buffer.from('5f5ffd', 'hex')]) });
    assert.equal(failing.ok, false);
    assert.equal((await chain.call({ to: D, data: Buffer.alloc(31) })).ok, false);
  });
});

// ---------------------------------------------------------------------------------------------
describe('Multicall3 and TestERC20 in the EVM', () => {
  let chain;
  const mc = new Interface(load('Multicall3').abi);
  const tok = new Interface(load('TestERC20').abi);
  const M = ADDR.MULTICALL3;
  const T = ADDR.TOKEN;
  const tokGet = async (fn, args = []) => tok.decode(fn, (await chain.call({ to: T, data: tok.encode(fn, args) })).returnData)[0];

  before(async () => {
    chain = await TestChain.create();
    await chain.place(M, load('Multicall3').deployedBytecode);
    await chain.place(T, load('TestERC20').deployedBytecode);
    await chain.setBalance(ADDR.ALICE, 10n ** 18n);
  });

  it('TestERC20 basics and balance slot', async () => {
    assert.equal(await tokGet('name'), 'Test Token');
    assert.equal(await tokGet('symbol'), 'TEST');
    assert.equal(await tokGet('decimals'), 18n);
    const mint = await chain.call({ from: ADDR.BOB, to: T, data: tok.encode('mint', [ADDR.ALICE, 1000n]) });
    assert.equal(mint.ok, true, mint.error);
    assert.equal(mint.logs[0].topics[0].equals(tok.event('Transfer').topic), true);
    assert.equal(await tokGet('totalSupply'), 1000n);
    // balanceOf[a] at keccak256(pad32(a) ++ pad32(0))
    const slot = keccak(Buffer.concat([uintWord(BigInt(ADDR.ALICE)), uintWord(0n)]));
    assert.equal(word(await chain.storage(T, slot)), 1000n);

    assert.equal((await chain.call({ from: ADDR.ALICE, to: T, data: tok.encode('transfer', [ADDR.BOB, 300n]) })).ok, true);
    const tooMuch = await chain.call({ from: ADDR.BOB, to: T, data: tok.encode('transfer', [ADDR.ALICE, 301n]) });
    assert.equal(revertReason(tooMuch.returnData), 'TestERC20: insufficient balance');
    assert.equal((await chain.call({ from: ADDR.ALICE, to: T, data: tok.encode('approve', [ADDR.BOB, 50n]) })).ok, true);
    assert.equal(await tokGet('allowance', [ADDR.ALICE, ADDR.BOB]), 50n);
    const over = await chain.call({ from: ADDR.BOB, to: T, data: tok.encode('transferFrom', [ADDR.ALICE, ADDR.BOB, 51n]) });
    assert.equal(revertReason(over.returnData), 'TestERC20: insufficient allowance');
    const tf = await chain.call({ from: ADDR.BOB, to: T, data: tok.encode('transferFrom', [ADDR.ALICE, ADDR.BOB, 50n]) });
    assert.equal(tf.ok, true, tf.error);
    assert.equal(await tokGet('balanceOf', [ADDR.ALICE]), 650n);
    assert.equal(await tokGet('balanceOf', [ADDR.BOB]), 350n);
    assert.equal(await tokGet('allowance', [ADDR.ALICE, ADDR.BOB]), 0n);
  });

  it('aggregate3 returns results in order and honours allowFailure', async () => {
    const calls = [
      [T, false, tok.encode('balanceOf', [ADDR.ALICE])],
      [T, true, tok.encode('transfer', [ADDR.BOB, 10n ** 30n])], // fails, allowed
      [M, false, mc.encode('getChainId')],
    ];
    const res = await chain.call({ to: M, data: mc.encode('aggregate3', [calls]) });
    assert.equal(res.ok, true, res.error);
    const [results] = mc.decode('aggregate3', res.returnData);
    assert.equal(results.length, 3);
    assert.equal(results[0][0], true);
    assert.equal(word(Buffer.from(results[0][1].slice(2), 'hex')), 650n);
    assert.equal(results[1][0], false);
    assert.equal(revertReason(Buffer.from(results[1][1].slice(2), 'hex')), 'TestERC20: insufficient balance');
    assert.equal(word(Buffer.from(results[2][1].slice(2), 'hex')), 1n);

    calls[1][1] = false;
    const strict = await chain.call({ to: M, data: mc.encode('aggregate3', [calls]) });
    assert.equal(strict.ok, false);
    assert.equal(revertReason(strict.returnData), 'Multicall3: call failed');
  });

  it('aggregate, tryAggregate, blockAndAggregate', async () => {
    const good = [[T, tok.encode('totalSupply')], [M, mc.encode('getBlockNumber')]];
    const agg = await chain.call({ to: M, data: mc.encode('aggregate', [good]) });
    assert.equal(agg.ok, true, agg.error);
    const [blockNumber, rets] = mc.decode('aggregate', agg.returnData);
    assert.equal(blockNumber, BLOCK.number);
    assert.equal(word(Buffer.from(rets[1].slice(2), 'hex')), BLOCK.number);
    assert.equal(word(Buffer.from(rets[0].slice(2), 'hex')), 1000n);

    const bad = [...good, [T, tok.encode('transfer', [ADDR.BOB, 1n])]]; // Multicall3 holds no tokens
    const aggBad = await chain.call({ to: M, data: mc.encode('aggregate', [bad]) });
    assert.equal(revertReason(aggBad.returnData), 'Multicall3: call failed');
    const tryRes = await chain.call({ to: M, data: mc.encode('tryAggregate', [false, bad]) });
    assert.equal(tryRes.ok, true);
    assert.deepEqual(mc.decode('tryAggregate', tryRes.returnData)[0].map((r) => r[0]), [true, true, false]);
    assert.equal((await chain.call({ to: M, data: mc.encode('tryAggregate', [true, bad]) })).ok, false);
    const bag = await chain.call({ to: M, data: mc.encode('blockAndAggregate', [good]) });
    assert.equal(bag.ok, true);
    assert.equal(mc.decode('blockAndAggregate', bag.returnData)[2].length, 2);
    assert.equal((await chain.call({ to: M, data: mc.encode('blockAndAggregate', [bad]) })).ok, false);
    const tbag = await chain.call({ to: M, data: mc.encode('tryBlockAndAggregate', [false, bad]) });
    assert.equal(mc.decode('tryBlockAndAggregate', tbag.returnData)[2][2][0], false);
  });

  it('aggregate3Value forwards values and checks the sum', async () => {
    const calls = [
      [ADDR.BOB, false, 100n, '0x'],
      [ADDR.HARNESS, false, 23n, '0x'],
    ];
    const before = await chain.balance(ADDR.BOB);
    const res = await chain.call({ from: ADDR.ALICE, to: M, value: 123n, data: mc.encode('aggregate3Value', [calls]) });
    assert.equal(res.ok, true, res.error);
    assert.equal(await chain.balance(ADDR.BOB), before + 100n);
    const mismatch = await chain.call({ from: ADDR.ALICE, to: M, value: 124n, data: mc.encode('aggregate3Value', [calls]) });
    assert.equal(revertReason(mismatch.returnData), 'Multicall3: value mismatch');
  });

  it('block and account getters', async () => {
    const get = async (fn, args = []) => mc.decode(fn, (await chain.call({ to: M, data: mc.encode(fn, args) })).returnData)[0];
    assert.equal(await get('getChainId'), 1n);
    assert.equal(await get('getEthBalance', [ADDR.ALICE]), await chain.balance(ADDR.ALICE));
    assert.equal(await get('getBasefee'), BLOCK.baseFeePerGas);
    assert.equal(await get('getBlockNumber'), BLOCK.number);
    assert.equal(await get('getCurrentBlockDifficulty'), word(BLOCK.prevRandao));
    assert.equal(await get('getCurrentBlockGasLimit'), BLOCK.gasLimit);
    assert.equal(await get('getCurrentBlockTimestamp'), BLOCK.timestamp);
    assert.equal(await get('getCurrentBlockCoinbase'), BLOCK.coinbase);
    assert.match(await get('getBlockHash', [0n]), /^0x[0-9a-f]{64}$/);
    assert.match(await get('getLastBlockHash'), /^0x[0-9a-f]{64}$/);
  });
});
