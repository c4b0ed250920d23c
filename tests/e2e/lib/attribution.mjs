// Helpers for the attribution end-to-end suite: ABIs compiled from the repository's Solidity
// interfaces, independent JS models of what the chain computes (the fee split, the ledger's
// credits, the ledger's storage slots, n-gram fingerprint leaves, span coverage), and
// Merkle-Patricia proof verification with @ethereumjs/mpt.
//
// Nothing here asks the node: the suite compares the node's answers with these models.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { RLP } from '@ethereumjs/rlp';
import { verifyMerkleProof } from '@ethereumjs/mpt';
import { bytesToHex, concatHex, encodeAbiParameters, getAddress, hexToBytes, keccak256, numberToHex, pad } from 'viem';

import { repoRoot } from './node.mjs';

// Checksummed, as viem insists on for mixed-case addresses.
export const LEDGER = getAddress('0x0000000000000000000000000000000000a77001');
export const FEE_SPLIT = getAddress('0x0000000000000000000000000000000000a77002');
export const MULTIPROOF = getAddress('0x0000000000000000000000000000000000a77003');
export const SPAN_MATCH = getAddress('0x0000000000000000000000000000000000a77004');
export const DATANETS = getAddress('0x0000000000000000000000000000000000a77100');
export const L2_TO_L1_MESSAGE_PASSER = '0x4200000000000000000000000000000000000016';

// ---------------------------------------------------------------------------------------------
// ABIs

const INTERFACES = ['IAttributionLedger', 'IMerkleMultiProof', 'ISpanMatch', 'IFeeSplit'];
let cachedAbis;

/**
 * The ABIs the suite talks to, none written by hand: the precompile interfaces
 * (`contracts/src/attribution/I*.sol`, the ABI source of truth) compiled here with the pinned
 * solc-js that `contracts/` installs (`npm ci` there), and `Datanets` from its committed
 * artifact (`contracts/artifacts/Datanets.json`).
 */
export function attributionAbis() {
  if (cachedAbis) return cachedAbis;
  const contracts = join(repoRoot, 'contracts');
  let solc;
  try {
    solc = createRequire(join(contracts, 'package.json'))('solc');
  } catch (e) {
    throw new Error(`solc-js is not installed under contracts/: run \`npm ci\` in contracts/ (${e.message})`);
  }
  const pinned = JSON.parse(readFileSync(join(contracts, 'package.json'), 'utf8')).devDependencies.solc;
  if (!solc.version().startsWith(`${pinned}+`)) {
    throw new Error(`solc ${solc.version()} is installed under contracts/, package.json pins ${pinned}: run npm ci`);
  }
  const sources = {};
  for (const name of INTERFACES) {
    const path = `src/attribution/${name}.sol`;
    sources[path] = { content: readFileSync(join(contracts, path), 'utf8') };
  }
  const input = { language: 'Solidity', sources, settings: { outputSelection: { '*': { '*': ['abi'] } } } };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  const abi = (name) => output.contracts[`src/attribution/${name}.sol`][name].abi;
  const datanets = JSON.parse(readFileSync(join(contracts, 'artifacts/Datanets.json'), 'utf8')).abi;
  cachedAbis = {
    ledger: abi('IAttributionLedger'),
    multiProof: abi('IMerkleMultiProof'),
    spanMatch: abi('ISpanMatch'),
    feeSplit: abi('IFeeSplit'),
    datanets,
  };
  return cachedAbis;
}

// ---------------------------------------------------------------------------------------------
// The fee split (spec, "FeeSplit"), as BigInt arithmetic

const BPS = 10_000n;

/**
 * `split(fee, bps, scores, minShareBps)`: pools by floor division, the contributor pool takes
 * the dust; contributor shares by the largest-remainder method over max(score, 0), ties to the
 * lower index; `unassigned` is the contributor pool when no weight is positive.
 */
export function feeSplit(fee, bps, scores, minShareBps = 0n) {
  const [b0, b1, b2, b3] = bps.map(BigInt);
  if (b0 + b1 + b2 + b3 !== BPS) throw new Error(`bps ${bps} do not sum to 10,000`);
  const protocol = (fee * b0) / BPS;
  const model = (fee * b1) / BPS;
  const staker = (fee * b2) / BPS;
  const pool = fee - protocol - model - staker;
  let w = scores.map((s) => (BigInt(s) > 0n ? BigInt(s) : 0n));
  let total = w.reduce((a, b) => a + b, 0n);
  if (BigInt(minShareBps) > 0n) {
    const min = BigInt(minShareBps);
    w = w.map((x) => (x * BPS < min * total ? 0n : x));
    total = w.reduce((a, b) => a + b, 0n);
  }
  if (total === 0n) {
    return { protocol, model, staker, pool, perContributor: scores.map(() => 0n), unassigned: pool };
  }
  const perContributor = w.map((x) => (pool * x) / total);
  const rest = w.map((x) => (pool * x) % total);
  let left = pool - perContributor.reduce((a, b) => a + b, 0n);
  const order = rest
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of order) {
    if (left === 0n) break;
    perContributor[i] += 1n;
    left -= 1n;
  }
  return { protocol, model, staker, pool, perContributor, unassigned: 0n };
}

/** Lower-cased address, for map keys. */
export const lc = (a) => a.toLowerCase();

/**
 * What the ledger credits for one inference, by the spec and docs/attribution.md: each
 * contributor its share, the model's payout the model pool, the staker pool its pool, the
 * treasury the protocol pool plus any unassigned contributor pool. Returns the split, the
 * per-recipient sums (lower-cased address → wei) and the contributor credits the index lists
 * (one per positive share, in share order).
 */
export function inferenceCredits({ fee, shares }, config, payout) {
  const s = feeSplit(fee, config.bps, shares.map((x) => x.score));
  const sums = new Map();
  const add = (a, v) => {
    if (v !== 0n) sums.set(lc(a), (sums.get(lc(a)) ?? 0n) + v);
  };
  const contributorCredits = [];
  shares.forEach((x, i) => {
    add(x.contributor, s.perContributor[i]);
    if (BigInt(x.score) > 0n) {
      contributorCredits.push({ contributor: x.contributor, datanetId: x.datanetId, amount: s.perContributor[i] });
    }
  });
  add(payout, s.model);
  add(config.stakerPool, s.staker);
  add(config.treasury, s.protocol + s.unassigned);
  return { split: s, sums, contributorCredits };
}

/** Adds the per-recipient sums of `b` into `a`. */
export function addSums(a, b) {
  for (const [k, v] of b) a.set(k, (a.get(k) ?? 0n) + v);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Ledger storage (docs/attribution.md, "Storage")

export const NS = { config: 0, role: 1, model: 2, datanet: 3, inference: 4, claimable: 5, batchNonce: 6, batch: 7 };

/** `keccak256(uint8 ns ‖ bytes32 key)` as a BigInt. */
export function ledgerSlot(ns, key) {
  return BigInt(keccak256(concatHex([numberToHex(ns, { size: 1 }), pad(key, { size: 32 })])));
}

/** Field `i` of the record `(ns, key)`: the slot plus `i`, as a 32-byte hex string. */
export function ledgerField(ns, key, i) {
  return numberToHex((ledgerSlot(ns, key) + BigInt(i)) % (1n << 256n), { size: 32 });
}

/** Bits `[lo, lo + width)` of a word. */
export const bits = (word, lo, width) => (BigInt(word) >> BigInt(lo)) & ((1n << BigInt(width)) - 1n);

// ---------------------------------------------------------------------------------------------
// Fingerprints and spans (spec, "SpanMatch"; crates/attribution/src/span.rs)

export const NGRAM_TYPES = ['uint8', 'uint32', 'bytes32', 'uint64'];
export const CONTRIBUTION_TYPES = ['bytes32', 'uint64', 'uint64', 'address', 'bytes32', 'uint32'];

/** keccak256 of the tokens, each as a 32-byte big-endian word (abi.encodePacked of uint32[]). */
export function tokensHash(tokens) {
  return keccak256(concatHex(tokens.map((t) => numberToHex(t, { size: 32 }))));
}

/** The StandardMerkleTree value of an n-gram leaf: [n, tokenizerId, tokensHash, contributionIndex]. */
export function ngramValue(n, tokenizerId, tokens, contributionIndex) {
  if (tokens.length !== n) throw new Error(`an n-gram of ${tokens.length} tokens, n = ${n}`);
  return [n, tokenizerId, tokensHash(tokens), BigInt(contributionIndex)];
}

/**
 * Coverage of span claims of width n, in the order given: the union's size, the longest
 * contiguous covered run, and per claim the tokens it covered first.
 */
export function coverage(positions, n, outputLength) {
  const covered = new Array(outputLength).fill(false);
  const perClaim = positions.map((pos) => {
    let fresh = 0;
    for (let k = pos; k < pos + n; k++) {
      if (!covered[k]) fresh++;
      covered[k] = true;
    }
    return fresh;
  });
  let longest = 0;
  let run = 0;
  for (const c of covered) {
    run = c ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return { coveredTokens: perClaim.reduce((a, b) => a + b, 0), longestRun: longest, tokensPerClaim: perClaim };
}

// ---------------------------------------------------------------------------------------------
// Merkle-Patricia proofs (EIP-1186), checked with @ethereumjs/mpt

/**
 * Verifies an `eth_getProof`-shaped answer against a state root: the account proof against
 * `stateRoot` (key keccak256(address)), then every storage proof against the account's storage
 * root (key keccak256(slot)). Throws if a proof does not reach its root or proves another value.
 * Returns the proven account fields and the proven storage values (BigInts, in order).
 */
export async function verifyAccountAndStorage(answer, stateRoot) {
  const accountRlp = await verifyMerkleProof(hexToBytes(answer.address), answer.accountProof.map(hexToBytes), {
    root: hexToBytes(stateRoot),
    useKeyHashing: true,
  });
  if (accountRlp === null) throw new Error(`the account proof proves ${answer.address} absent`);
  const [nonce, balance, storageRoot, codeHash] = RLP.decode(accountRlp);
  const account = {
    nonce: bytesToBig(nonce),
    balance: bytesToBig(balance),
    storageRoot: bytesToHex(storageRoot),
    codeHash: bytesToHex(codeHash),
  };
  const values = [];
  for (const p of answer.storageProof) {
    const raw = await verifyMerkleProof(hexToBytes(pad(p.key, { size: 32 })), p.proof.map(hexToBytes), {
      root: storageRoot,
      useKeyHashing: true,
    });
    values.push(raw === null ? 0n : bytesToBig(RLP.decode(raw)));
  }
  return { account, values };
}

function bytesToBig(b) {
  return b.length === 0 ? 0n : BigInt(bytesToHex(b));
}

/** keccak256(version ‖ stateRoot ‖ withdrawalStorageRoot ‖ blockHash), the OP output root v0. */
export function outputRoot({ version, stateRoot, withdrawalStorageRoot, blockHash }) {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }],
      [version, stateRoot, withdrawalStorageRoot, blockHash],
    ),
  );
}
