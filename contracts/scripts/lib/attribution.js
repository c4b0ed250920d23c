// Shared helpers for the attribution contract tests: plain JavaScript (BigInt) models of the
// spec's algorithms, leaf builders for the Merkle trees, contract deployment through init code,
// and log decoding.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { createAddressFromString } = require('@ethereumjs/util');
const { Interface, encodeParams, decodeParams, keccak } = require('./abi.js');

const ROOT = path.resolve(__dirname, '..', '..');
const load = (name) => JSON.parse(fs.readFileSync(path.join(ROOT, 'artifacts', `${name}.json`), 'utf8'));
const hex = (b) => '0x' + Buffer.from(b).toString('hex');

const ADDR = {
  LEDGER: '0x0000000000000000000000000000000000a77001',
  FEE_SPLIT: '0x0000000000000000000000000000000000a77002',
  MULTIPROOF: '0x0000000000000000000000000000000000a77003',
  SPAN_MATCH: '0x0000000000000000000000000000000000a77004',
};

// Deterministic PRNG (xorshift32) so failures are reproducible.
function rng(seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  next.int = (n) => next() % n; // 0 <= x < n (n < 2^32)
  next.big = (bits) => {
    let v = 0n;
    for (let b = 0; b < bits; b += 32) v = (v << 32n) | BigInt(next());
    return v & ((1n << BigInt(bits)) - 1n);
  };
  next.bytes = (n) => Buffer.from(Array.from({ length: n }, () => next() & 0xff));
  next.word = () => hex(next.bytes(32));
  next.address = () => hex(next.bytes(20));
  return next;
}

// ---------------------------------------------------------------------------------------------
// FeeSplit, written the obvious way (spec section "FeeSplit"): sort every index by remainder.
function feeSplitModel(fee, bps, scores, minShareBps = 0) {
  fee = BigInt(fee);
  const b = bps.map(BigInt);
  if (fee >= 1n << 128n || b.reduce((x, y) => x + y, 0n) !== 10_000n || scores.length > 4096) {
    throw new Error('BadInput');
  }
  const protocol = (fee * b[0]) / 10_000n;
  const model = (fee * b[1]) / 10_000n;
  const staker = (fee * b[2]) / 10_000n;
  const pool = fee - protocol - model - staker;
  let w = scores.map((s) => (BigInt(s) > 0n ? BigInt(s) : 0n));
  let total = w.reduce((x, y) => x + y, 0n);
  if (minShareBps > 0 && total > 0n) {
    const bar = BigInt(minShareBps) * total;
    w = w.map((x) => (x * 10_000n < bar ? 0n : x));
    total = w.reduce((x, y) => x + y, 0n);
  }
  if (total === 0n) return { protocol, model, staker, shares: w.map(() => 0n), unassigned: pool };
  const shares = w.map((x) => (pool * x) / total);
  const rems = w.map((x) => (pool * x) % total);
  let left = pool - shares.reduce((x, y) => x + y, 0n);
  const order = w.map((_, i) => i).sort((i, j) => (rems[i] > rems[j] ? -1 : rems[i] < rems[j] ? 1 : i - j));
  for (const i of order) {
    if (left === 0n) break;
    shares[i] += 1n;
    left -= 1n;
  }
  return { protocol, model, staker, shares, unassigned: 0n };
}

// ---------------------------------------------------------------------------------------------
// Merkle leaves (OpenZeppelin StandardMerkleTree double hash of the ABI-encoded values).
const CONTRIBUTION_TYPES = ['bytes32', 'uint64', 'uint64', 'address', 'bytes32', 'uint32'];
const NGRAM_TYPES = ['uint8', 'uint32', 'bytes32', 'uint64'];

function standardLeaf(types, values) {
  return keccak(keccak(encodeParams(types.map((type) => ({ type })), values)));
}

// keccak256 of the tokens as Solidity's abi.encodePacked(uint32[] memory) lays them out: one
// 32-byte big-endian word per token (array elements are padded even in packed encoding).
function tokensHash(tokens) {
  return keccak(Buffer.concat(tokens.map((t) => encodeParams([{ type: 'uint32' }], [t]))));
}

// The n-gram leaf's values for StandardMerkleTree.of(values, NGRAM_TYPES).
function ngramValues(tokens, pos, n, tokenizerId, contributionIndex) {
  return [n, tokenizerId, hex(tokensHash(tokens.slice(pos, pos + n))), contributionIndex];
}

// Brute-force coverage of claims [pos, pos + n) over `len` tokens, in claim order.
function spanCoverage(len, n, positions) {
  const covered = new Array(len).fill(false);
  const perClaim = positions.map((pos) => {
    let fresh = 0;
    for (let t = pos; t < pos + n; t++) {
      if (!covered[t]) {
        covered[t] = true;
        fresh++;
      }
    }
    return fresh;
  });
  let longest = 0;
  let run = 0;
  for (const c of covered) {
    run = c ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return { covered: covered.filter(Boolean).length, longest, perClaim };
}

// ---------------------------------------------------------------------------------------------
// Runs init code (bytecode ++ encoded constructor args) and returns the new contract's address.
async function deploy(chain, name, ctorTypes = [], ctorArgs = [], from = '0x00000000000000000000000000000000000000d0') {
  const code = Buffer.concat([
    Buffer.from(load(name).bytecode.slice(2), 'hex'),
    encodeParams(ctorTypes.map((type) => ({ type })), ctorArgs),
  ]);
  const res = await chain.evm.runCall({
    block: chain.block,
    caller: createAddressFromString(from),
    origin: createAddressFromString(from),
    data: code,
    gasLimit: 30_000_000n,
  });
  if (res.execResult.exceptionError) throw new Error(`deploying ${name}: ${res.execResult.exceptionError.error}`);
  return res.createdAddress.toString();
}

// Decodes the logs of a call against an ABI: [{ address, name, args: { field: value } }].
function decodeLogs(abi, logs) {
  const iface = new Interface(abi);
  const events = abi.filter((i) => i.type === 'event').map((e) => ({ e, topic: iface.event(e.name).topic }));
  return logs.map((log) => {
    const match = events.find(({ topic }) => topic.equals(log.topics[0]));
    if (!match) return { address: log.address, name: null, log };
    const { e } = match;
    const args = {};
    const plain = e.inputs.filter((i) => !i.indexed);
    const values = decodeParams(plain, log.data);
    plain.forEach((p, k) => (args[p.name] = values[k]));
    e.inputs
      .filter((i) => i.indexed)
      .forEach((p, k) => (args[p.name] = decodeParams([p], log.topics[k + 1])[0]));
    return { address: log.address, name: e.name, args };
  });
}

// The 4-byte selector of a custom error, e.g. errorSelector('BadNonce(uint64)').
const errorSelector = (sig) => hex(keccak(Buffer.from(sig)).subarray(0, 4));

module.exports = {
  ADDR,
  CONTRIBUTION_TYPES,
  NGRAM_TYPES,
  decodeLogs,
  deploy,
  errorSelector,
  feeSplitModel,
  hex,
  load,
  ngramValues,
  rng,
  spanCoverage,
  standardLeaf,
  tokensHash,
};
