// Proof of Attribution end to end against `opal node --dev` (500 ms blocks), over JSON-RPC only:
// a curator creates a Datanet through the Datanets predeploy, contributors submit, the curator
// approves and rejects, publishes version 1 with a contribution root and an n-gram fingerprint
// root built with @openzeppelin/merkle-tree; multiproofs through Datanets and the
// MerkleMultiProof precompile; spans through attribution_verifySpans and SpanMatch; the admin
// registers a model, the attestor records two inferences and a batch; claimable balances against
// a BigInt model of the spec's fee split; a claim and its exact balance movements; the
// attribution_ namespace (earnings, shares paging, inferences, model, datanet) against the
// ledger's own views; a record proof checked with a real Merkle-Patricia verifier and the output
// root; ShareCredited by contributor through eth_getLogs; and an `attributions` subscription.
//
// ABIs: the precompile interfaces are compiled from contracts/src/attribution/I*.sol with the
// pinned solc-js of contracts/ (run `npm ci` there first, as scripts/test.sh does); Datanets'
// ABI is its committed artifact. See lib/attribution.mjs.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import {
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeAbiParameters,
  encodeFunctionData,
  getAddress,
  http,
  keccak256,
  numberToHex,
  pad,
  parseEventLogs,
  toEventSelector,
  toHex,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { chainConfig } from 'viem/op-stack';
import WebSocket from 'ws';

import {
  CONTRIBUTION_TYPES,
  DATANETS,
  FEE_SPLIT,
  L2_TO_L1_MESSAGE_PASSER,
  LEDGER,
  MULTIPROOF,
  NGRAM_TYPES,
  NS,
  SPAN_MATCH,
  addSums,
  attributionAbis,
  bits,
  coverage,
  feeSplit,
  inferenceCredits,
  lc,
  ledgerField,
  ngramValue,
  outputRoot,
  verifyAccountAndStorage,
} from './lib/attribution.mjs';
import { CHAIN_ID, startNode, waitFor } from './lib/node.mjs';

const abis = attributionAbis();
const N = 4; // n-gram length of the fingerprint tree
const TOKENIZER = 7;
const E18 = 10n ** 18n;

const same = (a, b, msg) => assert.equal(getAddress(a), getAddress(b), msg);
const big = (v) => {
  assert.ok(typeof v === 'string' && v.startsWith('0x'), `not a hex quantity: ${JSON.stringify(v)}`);
  return BigInt(v);
};
const num = (v) => Number(big(v));
const sum = (xs) => xs.reduce((a, b) => a + b, 0n);

/** The ledger's logs of a receipt, every one decoded (an undecodable one fails). */
function ledgerLogs(receipt) {
  const raw = receipt.logs.filter((l) => lc(l.address) === lc(LEDGER));
  const decoded = parseEventLogs({ abi: abis.ledger, logs: raw });
  assert.equal(decoded.length, raw.length, 'every ledger log decodes with IAttributionLedger');
  return decoded;
}

/** The Datanets contract's logs of a receipt, every one decoded. */
function datanetsLogs(receipt) {
  const raw = receipt.logs.filter((l) => lc(l.address) === lc(DATANETS));
  const decoded = parseEventLogs({ abi: abis.datanets, logs: raw });
  assert.equal(decoded.length, raw.length, 'every Datanets log decodes with its ABI');
  return decoded;
}

/** A revert carrying the custom error `name` (decoded with `abi`). */
async function revertsWith(promise, name) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected a revert with ${name}`);
  const revert = err.walk?.((e) => e instanceof ContractFunctionRevertedError);
  assert.ok(revert, `no ContractFunctionRevertedError in: ${err.message}`);
  assert.equal(revert.data?.errorName, name, `revert: ${revert.message}`);
}

describe('attribution: Datanets, ledger, index and proofs against opal node --dev', () => {
  let node;
  let pub;
  let wallet;
  let dev; // addresses
  let admin, attestor, curator, contributors;
  let config; // the ledger's fee config
  let ws;
  const notifications = { all: [], otherModel: [] };

  // Shared across the steps, in order.
  const s = {
    datanetId: null,
    createReceipt: null,
    contributions: [], // { index, contributor, contentHash, tokens, validationScore, approved, text }
    contributionTree: null,
    fingerprintTree: null,
    publishReceipt: null,
    modelId: keccak256(toHex('opal-e2e model')),
    payout: privateKeyToAccount(generatePrivateKey()).address,
    modelReceipt: null,
    singles: [], // { id, fee, shares, outputHash, receipt, recordHash, credits }
    batch: null, // { inferences, offsets, total, nonce, receipt, hash, sums }
    expected: new Map(), // recipient -> credited wei (all recordings)
    contributorCredits: [], // in chain order: { contributor, datanetId, amount, inferenceId, batchHash, txHash }
    claim: null,
  };

  const rpc = (method, params = []) => pub.request({ method, params });
  const ledgerRead = (functionName, args = []) => pub.readContract({ address: LEDGER, abi: abis.ledger, functionName, args });
  const datanetsRead = (functionName, args = []) =>
    pub.readContract({ address: DATANETS, abi: abis.datanets, functionName, args });

  /** Sends a contract call and waits for a successful receipt. */
  async function send(from, address, abi, functionName, args, extra = {}) {
    const hash = await wallet(from).writeContract({ address, abi, functionName, args, ...extra });
    const receipt = await pub.waitForTransactionReceipt({ hash, timeout: 20_000 });
    assert.equal(receipt.status, 'success', `${functionName} failed`);
    return receipt;
  }

  /**
   * Sends several calls from one account with consecutive nonces, then waits for all. Each gas
   * estimate carries the nonce its transaction will use, as viem does for `writeContract({ nonce })`
   * (so nonces above the account's must be accepted by eth_estimateGas, as geth accepts them).
   */
  async function sendMany(from, calls) {
    let nonce = await pub.getTransactionCount({ address: from, blockTag: 'pending' });
    const gas = await Promise.all(
      calls.map((c, i) => pub.estimateContractGas({ ...c, account: from, nonce: nonce + i })),
    );
    const hashes = [];
    for (const [i, c] of calls.entries()) {
      hashes.push(await wallet(from).writeContract({ ...c, nonce: nonce++, gas: (gas[i] * 6n) / 5n }));
    }
    const receipts = await Promise.all(hashes.map((hash) => pub.waitForTransactionReceipt({ hash, timeout: 20_000 })));
    for (const [i, r] of receipts.entries()) assert.equal(r.status, 'success', `${calls[i].functionName} failed`);
    return receipts;
  }

  /** The snapshot fields every attribution_ answer carries name a real block. */
  async function checkSnapshot(v) {
    const block = await pub.getBlock({ blockNumber: big(v.blockNumber) });
    assert.equal(v.blockHash, block.hash, 'snapshot blockHash is the block at blockNumber');
    assert.equal(v.finality, 'unsafe', 'the dev node moves no safe head');
  }

  before(async () => {
    node = await startNode({ blockTime: '500ms' });
    const chain = defineChain({
      ...chainConfig,
      id: CHAIN_ID,
      name: 'Opal devnet',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [node.url], webSocket: [node.wsUrl] } },
    });
    const transport = http(node.url, { retryCount: 0 });
    pub = createPublicClient({ chain, transport, pollingInterval: 100 });
    const wallets = new Map();
    for (const key of node.keys) {
      const account = privateKeyToAccount(key);
      wallets.set(lc(account.address), createWalletClient({ chain, transport, account, pollingInterval: 100 }));
    }
    wallet = (address) => wallets.get(lc(address));
    dev = node.addresses;
    admin = dev[0];
    attestor = dev[2];
    curator = dev[5];
    contributors = [dev[6], dev[7], dev[8]];
  });

  after(async () => {
    ws?.close();
    await node?.destroy();
  });

  test('genesis: ledger roles and fee config as the devnet sets them', async () => {
    assert.equal(await ledgerRead('roleOf', [admin]), 3, 'dev 0 is admin');
    assert.equal(await ledgerRead('roleOf', [attestor]), 1, 'dev 2 is attestor');
    assert.equal(await ledgerRead('roleOf', [DATANETS]), 2, 'Datanets is registrar');
    assert.equal(await ledgerRead('roleOf', [curator]), 0);
    const [protocolBps, modelBps, stakerBps, contributorBps, treasury, stakerPool] = await ledgerRead('feeConfig');
    assert.deepEqual([protocolBps, modelBps, stakerBps, contributorBps], [500, 2000, 500, 7000]);
    same(treasury, dev[3], 'treasury is dev 3');
    same(stakerPool, dev[4], 'staker pool is dev 4');
    config = { bps: [protocolBps, modelBps, stakerBps, contributorBps], treasury, stakerPool };
  });

  test('1. a curator creates a Datanet; contributors submit; the curator approves four and rejects one', async () => {
    const salt = keccak256(toHex('opal-e2e datanet'));
    const uri = 'ipfs://opal-e2e/datanet.json';
    const r = await send(curator, DATANETS, abis.datanets, 'createDatanet', [salt, uri]);
    s.createReceipt = r;
    const [created, ...extra] = datanetsLogs(r);
    assert.equal(extra.length, 0);
    assert.equal(created.eventName, 'DatanetCreated');
    s.datanetId = created.args.datanetId;
    same(created.args.curator, curator);
    assert.equal(created.args.salt, salt);
    assert.equal(created.args.metadataURI, uri);
    const idInJs = keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [curator, salt]));
    assert.equal(s.datanetId, idInJs, 'id = keccak256(abi.encode(curator, salt))');
    assert.equal(await datanetsRead('datanetIdOf', [curator, salt]), s.datanetId);
    const [registered, ...more] = ledgerLogs(r);
    assert.equal(more.length, 0);
    assert.equal(registered.eventName, 'DatanetRegistered');
    assert.equal(registered.args.datanetId, s.datanetId);
    same(registered.args.owner, DATANETS, 'the ledger-level owner is the Datanets contract');
    await revertsWith(
      pub.simulateContract({
        account: curator,
        address: DATANETS,
        abi: abis.datanets,
        functionName: 'createDatanet',
        args: [salt, uri],
      }),
      'DatanetExists',
    );

    // Contributions: dev 6 twice, dev 7 twice, dev 8 once; each account sends in order, the
    // accounts in parallel, so indices come from the events.
    const plan = [
      [dev[6], ['alpha corpus', 'gamma corpus']],
      [dev[7], ['beta corpus', 'beta spam']],
      [dev[8], ['delta corpus']],
    ];
    const submitted = await Promise.all(
      plan.map(([who, texts]) =>
        sendMany(
          who,
          texts.map((t) => ({
            address: DATANETS,
            abi: abis.datanets,
            functionName: 'submitContribution',
            args: [s.datanetId, keccak256(toHex(t)), `ipfs://opal-e2e/${t.replace(' ', '-')}`],
          })),
        ).then((receipts) => receipts.map((rc, k) => ({ who, text: texts[k], rc }))),
      ),
    );
    for (const { who, text, rc } of submitted.flat()) {
      const [ev, ...rest] = datanetsLogs(rc);
      assert.equal(rest.length, 0);
      assert.equal(ev.eventName, 'ContributionSubmitted');
      assert.equal(ev.args.datanetId, s.datanetId);
      same(ev.args.contributor, who);
      assert.equal(ev.args.contentHash, keccak256(toHex(text)));
      assert.equal(ev.args.metadataURI, `ipfs://opal-e2e/${text.replace(' ', '-')}`);
      const index = Number(ev.args.index);
      // Distinct tokens per contribution, so no n-gram repeats inside one.
      const tokens = Array.from({ length: 12 }, (_, j) => 10_000 + 97 * index + 13 * j + (j * j) % 5);
      s.contributions.push({
        index,
        contributor: getAddress(who),
        contentHash: ev.args.contentHash,
        tokens,
        validationScore: 60 + 7 * index,
        approved: text !== 'beta spam',
        text,
      });
    }
    s.contributions.sort((a, b) => a.index - b.index);
    assert.deepEqual(
      s.contributions.map((c) => c.index),
      [0, 1, 2, 3, 4],
      'indices 0..4, each once',
    );
    assert.equal(await datanetsRead('contributionCount', [s.datanetId]), 5n);

    // The curator approves four and rejects one, with consecutive nonces.
    const rejected = s.contributions.find((c) => !c.approved);
    const calls = s.contributions.map((c) =>
      c.approved
        ? { address: DATANETS, abi: abis.datanets, functionName: 'approveContribution', args: [s.datanetId, BigInt(c.index)] }
        : {
            address: DATANETS,
            abi: abis.datanets,
            functionName: 'rejectContribution',
            args: [s.datanetId, BigInt(c.index), 'duplicate of another contribution'],
          },
    );
    const receipts = await sendMany(curator, calls);
    for (const [k, c] of s.contributions.entries()) {
      const [ev, ...rest] = datanetsLogs(receipts[k]);
      assert.equal(rest.length, 0);
      assert.equal(ev.eventName, c.approved ? 'ContributionApproved' : 'ContributionRejected');
      assert.equal(ev.args.datanetId, s.datanetId);
      assert.equal(Number(ev.args.index), c.index);
      same(ev.args.contributor, c.contributor);
      if (!c.approved) assert.equal(ev.args.reason, 'duplicate of another contribution');
      const [contributor, status, submittedAt, contentHash] = await datanetsRead('getContribution', [
        s.datanetId,
        BigInt(c.index),
      ]);
      same(contributor, c.contributor);
      assert.equal(status, c.approved ? 2 : 3, `status of contribution ${c.index}`);
      assert.ok(submittedAt > 0n);
      assert.equal(contentHash, c.contentHash);
    }
    // Neither a second decision nor a non-curator's is accepted.
    await revertsWith(
      pub.simulateContract({
        account: curator,
        address: DATANETS,
        abi: abis.datanets,
        functionName: 'approveContribution',
        args: [s.datanetId, BigInt(rejected.index)],
      }),
      'NotPending',
    );
    await revertsWith(
      pub.simulateContract({
        account: dev[6],
        address: DATANETS,
        abi: abis.datanets,
        functionName: 'rejectContribution',
        args: [s.datanetId, 0n, 'not mine to reject'],
      }),
      'NotCurator',
    );
  });

  test('2. version 1: contribution and fingerprint trees, multiproofs, verifySpans', async () => {
    const approved = s.contributions.filter((c) => c.approved);
    const item = (c) => [s.datanetId, 1n, BigInt(c.index), c.contributor, c.contentHash, c.validationScore];
    s.contributionTree = StandardMerkleTree.of(approved.map(item), CONTRIBUTION_TYPES);
    const ngrams = [];
    for (const c of approved) {
      for (let j = 0; j + N <= c.tokens.length; j++) ngrams.push(ngramValue(N, TOKENIZER, c.tokens.slice(j, j + N), c.index));
    }
    s.fingerprintTree = StandardMerkleTree.of(ngrams, NGRAM_TYPES);
    const [root, fpRoot] = [s.contributionTree.root, s.fingerprintTree.root];

    const r = await send(curator, DATANETS, abis.datanets, 'publishVersion', [s.datanetId, 1n, root, fpRoot]);
    s.publishReceipt = r;
    const [published] = datanetsLogs(r);
    assert.equal(published.eventName, 'VersionPublished');
    assert.deepEqual(
      [published.args.datanetId, published.args.version, published.args.contributionRoot, published.args.fingerprintRoot],
      [s.datanetId, 1n, root, fpRoot],
    );
    const [updated, ...rest] = ledgerLogs(r);
    assert.equal(rest.length, 0);
    assert.equal(updated.eventName, 'DatanetUpdated');
    assert.deepEqual(
      [updated.args.datanetId, updated.args.version, updated.args.contributionRoot, updated.args.fingerprintRoot],
      [s.datanetId, 1n, root, fpRoot],
    );
    const d = await datanetsRead('getDatanet', [s.datanetId]);
    same(d[0], curator);
    assert.deepEqual(d.slice(1, 5), [1n, 5n, root, fpRoot]);
    const l = await ledgerRead('getDatanet', [s.datanetId]);
    same(l[0], DATANETS);
    assert.deepEqual(l.slice(1), [1n, root, fpRoot]);
    await revertsWith(
      pub.simulateContract({
        account: curator,
        address: DATANETS,
        abi: abis.datanets,
        functionName: 'publishVersion',
        args: [s.datanetId, 1n, root, fpRoot],
      }),
      'StaleVersion',
    );

    // A multiproof of three of the four approved contributions.
    const multi = s.contributionTree.getMultiProof([0, 2, 3]);
    const toItem = (v) => ({
      datanetId: v[0],
      version: v[1],
      index: v[2],
      contributor: v[3],
      contentHash: v[4],
      validationScore: v[5],
    });
    const items = multi.leaves.map(toItem);
    const tampered = items.map((x, k) => (k === 1 ? { ...x, validationScore: x.validationScore + 1 } : x));
    const otherContributor = items.map((x, k) => (k === 0 ? { ...x, contributor: dev[9] } : x));
    const check = (its) =>
      datanetsRead('checkContributions', [s.datanetId, its, multi.proof, multi.proofFlags]);
    const precompile = (its) =>
      pub.readContract({
        address: MULTIPROOF,
        abi: abis.multiProof,
        functionName: 'verifyContributions',
        args: [root, its, multi.proof, multi.proofFlags],
      });
    assert.equal(await check(items), true, 'Datanets.checkContributions accepts a real multiproof');
    assert.equal(await check(tampered), false, 'a tampered validation score is refused');
    assert.equal(await check(otherContributor), false, 'a swapped contributor is refused');
    assert.equal(await check([]), false, 'an empty list is refused');
    assert.equal(await precompile(items), true, 'MerkleMultiProof.verifyContributions agrees (true)');
    assert.equal(await precompile(tampered), false, 'MerkleMultiProof.verifyContributions agrees (false)');
    assert.equal(await precompile(otherContributor), false);
    const leafHashes = multi.leaves.map((v) => s.contributionTree.leafHash(v));
    const verify = (leaves) =>
      pub.readContract({
        address: MULTIPROOF,
        abi: abis.multiProof,
        functionName: 'verify',
        args: [root, leaves, multi.proof, multi.proofFlags],
      });
    assert.equal(await verify(leafHashes), true, 'MerkleMultiProof.verify over the leaf hashes');
    assert.equal(await verify([leafHashes[1], leafHashes[0], leafHashes[2]]), false, 'leaves out of order');

    // An output that quotes 7 tokens of one contribution and 6 of another, with other tokens
    // between and around them.
    const [a, b] = [approved[1], approved[3]];
    const output = [1, 2, ...a.tokens.slice(2, 9), 3, 4, ...b.tokens.slice(4, 10), 5];
    const posA = 2;
    const posB = 2 + 7 + 2;
    const wanted = [
      { pos: posA, index: a.index },
      { pos: posA + 3, index: a.index },
      { pos: posB, index: b.index },
      { pos: posB + 2, index: b.index },
    ];
    const valueOf = (c) => ngramValue(N, TOKENIZER, output.slice(c.pos, c.pos + N), c.index);
    const spanProof = s.fingerprintTree.getMultiProof(wanted.map(valueOf));
    // The precompile builds the leaves in claim order: order the claims as the multiproof's leaves.
    const claims = spanProof.leaves.map((leaf) => {
      const c = wanted.find((w) => valueOf(w)[2] === leaf[2] && BigInt(w.index) === leaf[3]);
      assert.ok(c, 'every multiproof leaf is one of the claims');
      return c;
    });
    const expect = coverage(
      claims.map((c) => c.pos),
      N,
      output.length,
    );
    assert.equal(expect.coveredTokens, 7 + 6, 'the model covers both quoted spans');
    assert.equal(expect.longestRun, 7);
    const request = (cl, extra = {}) => ({
      outputTokens: output,
      n: N,
      tokenizerId: TOKENIZER,
      datanetId: s.datanetId,
      claims: cl.map((c) => ({ pos: c.pos, contributionIndex: c.index })),
      proof: spanProof.proof,
      proofFlags: spanProof.proofFlags,
      ...extra,
    });
    const v = await rpc('attribution_verifySpans', [request(claims)]);
    await checkSnapshot(v);
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(num(v.coveredTokens), expect.coveredTokens);
    assert.equal(num(v.longestRun), expect.longestRun);
    assert.deepEqual(v.tokensPerClaim.map(num), expect.tokensPerClaim);
    assert.equal(v.fingerprintRoot, fpRoot, 'the root read from the datanet');
    assert.equal(num(v.tokenizerId), TOKENIZER);
    assert.equal(num(v.n), N);

    // SpanMatch itself, via eth_call, agrees.
    const [ok, covered, longest, perClaim] = await pub.readContract({
      address: SPAN_MATCH,
      abi: abis.spanMatch,
      functionName: 'verifySpans',
      args: [
        output,
        N,
        TOKENIZER,
        fpRoot,
        claims.map((c) => ({ pos: c.pos, contributionIndex: BigInt(c.index) })),
        spanProof.proof,
        spanProof.proofFlags,
      ],
    });
    assert.deepEqual(
      [ok, covered, longest, [...perClaim]],
      [true, expect.coveredTokens, expect.longestRun, expect.tokensPerClaim],
    );

    // False claims: a span attributed to the wrong contribution, a span of tokens that are in no
    // contribution, and the right claims under another tokenizer.
    const wrongContribution = claims.map((c, k) => (k === 0 ? { ...c, index: approved[0].index } : c));
    const junk = claims.map((c, k) => (k === claims.length - 1 ? { ...c, pos: 0 } : c));
    for (const [what, req] of [
      ['wrong contribution', request(wrongContribution)],
      ['unquoted tokens', request(junk)],
      ['other tokenizer', request(claims, { tokenizerId: TOKENIZER + 1 })],
    ]) {
      const bad = await rpc('attribution_verifySpans', [req]);
      assert.equal(bad.ok, false, `${what}: ${JSON.stringify(bad)}`);
      assert.equal(num(bad.coveredTokens), 0, what);
      assert.equal(num(bad.longestRun), 0, what);
      assert.deepEqual(bad.tokensPerClaim, [], what);
    }
  });

  test('3. model, two inferences and a batch: events and claimable against the fee-split model', async () => {
    // Subscribe first, so the notifications of everything recorded below arrive.
    ws = new WebSocket(node.wsUrl);
    await new Promise((res, rej) => {
      ws.once('open', res);
      ws.once('error', rej);
    });
    const subIds = {};
    const pending = new Map();
    let nextId = 1;
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.id !== undefined && pending.has(msg.id)) {
        pending.get(msg.id)(msg);
        pending.delete(msg.id);
      } else if (msg.method === 'attribution_subscription') {
        const which = Object.keys(subIds).find((k) => subIds[k] === msg.params.subscription);
        assert.ok(which, `notification for an unknown subscription ${msg.params.subscription}`);
        notifications[which].push(msg.params.result);
      }
    });
    const wsCall = (method, params) =>
      new Promise((res) => {
        const id = nextId++;
        pending.set(id, res);
        ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      });
    const sub = await wsCall('attribution_subscribe', ['attributions']);
    assert.ok(sub.result !== undefined, `attribution_subscribe: ${JSON.stringify(sub)}`);
    subIds.all = sub.result;
    const other = await wsCall('attribution_subscribe', ['attributions', { modelId: keccak256(toHex('another model')) }]);
    assert.ok(other.result !== undefined, JSON.stringify(other));
    subIds.otherModel = other.result;
    const bad = await wsCall('attribution_subscribe', ['newHeads']);
    assert.ok(bad.error, 'only `attributions` is a subscription kind');

    // The admin registers the model, paying out to a fresh address.
    const owner = dev[1];
    s.modelReceipt = await send(admin, LEDGER, abis.ledger, 'registerModel', [s.modelId, owner, s.payout, TOKENIZER]);
    const [reg, ...restReg] = ledgerLogs(s.modelReceipt);
    assert.equal(restReg.length, 0);
    assert.equal(reg.eventName, 'ModelRegistered');
    assert.equal(reg.args.modelId, s.modelId);
    same(reg.args.owner, owner);
    same(reg.args.payout, s.payout);
    assert.equal(reg.args.tokenizerId, TOKENIZER);
    await revertsWith(
      pub.simulateContract({
        account: attestor,
        address: LEDGER,
        abi: abis.ledger,
        functionName: 'registerModel',
        args: [keccak256(toHex('x')), owner, s.payout, TOKENIZER],
      }),
      'NotAuthorized',
    );

    const recipients = [...contributors, s.payout, config.treasury, config.stakerPool];
    const claimableOf = async () =>
      new Map(await Promise.all(recipients.map(async (a) => [lc(a), await ledgerRead('claimable', [a])])));
    const before = await claimableOf();
    for (const c of contributors) assert.equal(before.get(lc(c)), 0n, `${c} starts with nothing claimable`);
    const ledgerBalanceBefore = await pub.getBalance({ address: LEDGER });

    // Two single inferences: one with a negative and a zero score, one with a tie.
    const [c6, c7, c8] = contributors;
    const share = (contributor, score) => ({ datanetId: s.datanetId, contributor, score });
    s.singles = [
      {
        id: keccak256(toHex('inference 1')),
        fee: 1_000_000_000_000_000_003n,
        shares: [share(c6, 3n * E18), share(c7, E18), share(c8, -2n * E18), share(c8, 0n)],
      },
      {
        id: keccak256(toHex('inference 2')),
        fee: 777_777_777_777_777_777n,
        shares: [share(c7, 5n), share(c6, 5n), share(c8, 2n)],
      },
    ];
    const sharesParam = abis.ledger.find((x) => x.name === 'recordInference').inputs.find((i) => i.name === 'shares');
    for (const inf of s.singles) {
      inf.outputHash = keccak256(toHex(`output of ${inf.id}`));
      inf.recordHash = keccak256(
        encodeAbiParameters(
          [
            { type: 'uint256' },
            { type: 'address' },
            { type: 'bytes32' },
            { type: 'bytes32' },
            { type: 'bytes32' },
            { type: 'uint256' },
            { type: 'bytes32' },
          ],
          [
            BigInt(CHAIN_ID),
            LEDGER,
            inf.id,
            s.modelId,
            inf.outputHash,
            inf.fee,
            keccak256(encodeAbiParameters([sharesParam], [inf.shares])),
          ],
        ),
      );
    }
    const singleReceipts = await sendMany(
      attestor,
      s.singles.map((inf) => ({
        address: LEDGER,
        abi: abis.ledger,
        functionName: 'recordInference',
        args: [inf.id, s.modelId, inf.outputHash, inf.shares],
        value: inf.fee,
      })),
    );
    for (const [k, inf] of s.singles.entries()) {
      inf.receipt = singleReceipts[k];
      inf.credits = inferenceCredits(inf, config, s.payout);
      addSums(s.expected, inf.credits.sums);
      const [attributed, ...credited] = ledgerLogs(inf.receipt);
      assert.equal(attributed.eventName, 'InferenceAttributed');
      assert.equal(attributed.args.inferenceId, inf.id);
      assert.equal(attributed.args.modelId, s.modelId);
      same(attributed.args.attestor, attestor);
      assert.equal(attributed.args.fee, inf.fee);
      assert.equal(attributed.args.recordHash, inf.recordHash, 'recordHash as the spec defines it');
      // One ShareCredited per positive score, in share order.
      const positive = inf.credits.contributorCredits;
      assert.equal(credited.length, positive.length);
      for (const [i, ev] of credited.entries()) {
        assert.equal(ev.eventName, 'ShareCredited');
        assert.equal(ev.args.inferenceId, inf.id);
        assert.equal(ev.args.datanetId, s.datanetId);
        same(ev.args.contributor, positive[i].contributor);
        assert.equal(ev.args.amount, positive[i].amount, `share ${i} of ${inf.id}`);
        s.contributorCredits.push({ ...positive[i], inferenceId: inf.id, batchHash: null, txHash: inf.receipt.transactionHash });
      }
      const [recordHash, modelId, blockNumber, fee] = await ledgerRead('getInference', [inf.id]);
      assert.deepEqual([recordHash, modelId, blockNumber, fee], [inf.recordHash, s.modelId, inf.receipt.blockNumber, inf.fee]);
    }
    // On chain: the leftover unit of the tie (scores 5 and 5) went to the lower index, and the
    // negative score got no ShareCredited.
    const [, tieFirst, tieSecond] = ledgerLogs(s.singles[1].receipt);
    assert.equal(tieFirst.args.amount, tieSecond.args.amount + 1n, 'tie to the lower index');
    assert.ok(
      ledgerLogs(s.singles[0].receipt).every((e) => e.eventName !== 'ShareCredited' || lc(e.args.contributor) !== lc(c8)),
      'a score <= 0 is not credited',
    );
    await revertsWith(
      pub.simulateContract({
        account: attestor,
        address: LEDGER,
        abi: abis.ledger,
        functionName: 'recordInference',
        args: [s.singles[0].id, s.modelId, s.singles[0].outputHash, s.singles[0].shares],
        value: s.singles[0].fee,
      }),
      'AlreadyRecorded',
    );

    // A batch of four: one with no shares (its contributor pool goes to the treasury), one
    // with a negative score, one with a zero score.
    const nonce = (await ledgerRead('batchNonce', [attestor])) + 1n;
    const inferences = [
      { id: keccak256(toHex('batch inference 0')), fee: 1_000_000_000_000_001n, shares: [share(c6, 1n), share(c7, 2n)] },
      { id: keccak256(toHex('batch inference 1')), fee: 2_000_000_000_000_000_019n, shares: [] },
      {
        id: keccak256(toHex('batch inference 2')),
        fee: 333_333_333_333_333_337n,
        shares: [share(c8, 3n), share(c6, -1n), share(c7, 3n)],
      },
      {
        id: keccak256(toHex('batch inference 3')),
        fee: 123_456_789_012_345_679n,
        shares: [share(c6, 7n * 10n ** 17n), share(c7, 0n), share(c8, 3n * 10n ** 17n)],
      },
    ];
    const offsets = [0];
    for (const inf of inferences) offsets.push(offsets.at(-1) + inf.shares.length);
    const flat = inferences.flatMap((inf) => inf.shares);
    const args = [
      s.modelId,
      nonce,
      inferences.map((i) => i.id),
      inferences.map((i) => i.fee),
      offsets,
      flat.map((x) => x.datanetId),
      flat.map((x) => x.contributor),
      flat.map((x) => x.score),
    ];
    const total = sum(inferences.map((i) => i.fee));
    const batchSums = new Map();
    for (const inf of inferences) {
      inf.credits = inferenceCredits(inf, config, s.payout);
      addSums(batchSums, inf.credits.sums);
    }
    const batchCall = { account: attestor, address: LEDGER, abi: abis.ledger, functionName: 'recordBatch', args, value: total };
    const { result: simulated } = await pub.simulateContract(batchCall);
    await revertsWith(
      pub.simulateContract({ ...batchCall, args: [s.modelId, nonce + 1n, ...args.slice(2)] }),
      'BadNonce',
    );
    await revertsWith(
      pub.simulateContract({ ...batchCall, value: total - 1n }),
      'FeeMismatch',
    );
    const receipt = await send(attestor, LEDGER, abis.ledger, 'recordBatch', args, { value: total });
    const tx = await pub.getTransaction({ hash: receipt.transactionHash });
    assert.equal(tx.input, encodeFunctionData({ abi: abis.ledger, functionName: 'recordBatch', args }));
    const batchHash = keccak256(`0x${tx.input.slice(10)}`);
    s.batch = { inferences, offsets, total, nonce, receipt, hash: batchHash, sums: batchSums };
    addSums(s.expected, batchSums);
    assert.deepEqual(simulated, [batchHash, batchSums.size], 'recordBatch returns (batchHash, uniqueRecipients)');
    assert.equal(await ledgerRead('batchNonce', [attestor]), nonce);

    const [attributed, ...credited] = ledgerLogs(receipt);
    assert.equal(attributed.eventName, 'BatchAttributed');
    assert.equal(attributed.args.batchHash, batchHash, 'batchHash = keccak256(calldata without selector)');
    assert.equal(attributed.args.modelId, s.modelId);
    same(attributed.args.attestor, attestor);
    assert.equal(attributed.args.totalFee, total);
    assert.equal(attributed.args.inferences, inferences.length);
    // One BatchCredited per unique recipient, in ascending address order, with the aggregated sums.
    const expectedOrder = [...batchSums.keys()].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
    assert.deepEqual(
      credited.map((e) => [e.eventName, e.args.batchHash, lc(e.args.recipient), e.args.amount]),
      expectedOrder.map((a) => ['BatchCredited', batchHash, a, batchSums.get(a)]),
    );
    for (const inf of inferences) {
      for (const c of inf.credits.contributorCredits) {
        s.contributorCredits.push({ ...c, inferenceId: inf.id, batchHash, txHash: receipt.transactionHash });
      }
    }
    // A batch stores no per-inference record (docs/attribution.md).
    const [noRecord] = await ledgerRead('getInference', [inferences[0].id]);
    assert.equal(noRecord, pad('0x', { size: 32 }));

    // The FeeSplit precompile computes the same splits as the BigInt model.
    for (const inf of [...s.singles, ...inferences]) {
      const [protocol, model, staker, perContributor, unassigned] = await pub.readContract({
        address: FEE_SPLIT,
        abi: abis.feeSplit,
        functionName: 'split',
        args: [inf.fee, config.bps, inf.shares.map((x) => x.score), 0],
      });
      const m = inf.credits.split;
      assert.deepEqual([protocol, model, staker, [...perContributor], unassigned], [m.protocol, m.model, m.staker, m.perContributor, m.unassigned]);
    }

    // Claimable balances moved by exactly the model's credits; the ledger holds every fee.
    const after = await claimableOf();
    for (const a of recipients) {
      assert.equal(after.get(lc(a)) - before.get(lc(a)), s.expected.get(lc(a)) ?? 0n, `claimable of ${a}`);
    }
    for (const c of contributors) assert.equal(after.get(lc(c)), s.expected.get(lc(c)));
    assert.ok(inferences[1].credits.split.unassigned > 0n, 'an inference without shares leaves its pool unassigned');
    assert.equal(sum([...s.expected.values()]), sum(s.singles.map((i) => i.fee)) + total, 'credits sum to the fees');
    assert.equal((await pub.getBalance({ address: LEDGER })) - ledgerBalanceBefore, sum(s.singles.map((i) => i.fee)) + total);
  });

  test('4. a contributor claims to itself: exact balance movements', async (t) => {
    const who = contributors[0];
    const claimable = await ledgerRead('claimable', [who]);
    assert.equal(claimable, s.expected.get(lc(who)));
    assert.ok(claimable > 0n);
    const r = await send(who, LEDGER, abis.ledger, 'claim', [who]);
    s.claim = { who, amount: claimable, receipt: r };
    const [claimed, ...rest] = ledgerLogs(r);
    assert.equal(rest.length, 0);
    assert.equal(claimed.eventName, 'Claimed');
    same(claimed.args.account, who);
    same(claimed.args.to, who);
    assert.equal(claimed.args.amount, claimable);

    const at = (address, blockNumber) => pub.getBalance({ address, blockNumber });
    const [before, afterward, ledgerBefore, ledgerAfter] = await Promise.all([
      at(who, r.blockNumber - 1n),
      at(who, r.blockNumber),
      at(LEDGER, r.blockNumber - 1n),
      at(LEDGER, r.blockNumber),
    ]);
    const raw = await rpc('eth_getTransactionReceipt', [r.transactionHash]);
    assert.equal(typeof r.l1Fee, 'bigint', 'the receipt carries l1Fee');
    assert.ok(r.l1Fee > 0n);
    // Isthmus operator fee, when the chain charges one: gasUsed * scalar / 1e6 + constant.
    const operatorFee =
      raw.operatorFeeScalar != null || raw.operatorFeeConstant != null
        ? (r.gasUsed * BigInt(raw.operatorFeeScalar ?? 0)) / 1_000_000n + BigInt(raw.operatorFeeConstant ?? 0)
        : 0n;
    const paid = r.gasUsed * r.effectiveGasPrice + r.l1Fee + operatorFee;
    t.diagnostic(`claimed ${claimable} wei; gas ${r.gasUsed} x ${r.effectiveGasPrice} + L1 fee ${r.l1Fee} + operator fee ${operatorFee}`);
    assert.equal(afterward - before, claimable - paid, `balance delta = claimable - gas (${paid} wei, operator fee ${operatorFee})`);
    assert.equal(ledgerBefore - ledgerAfter, claimable, 'the ledger paid out exactly the claim');
    assert.equal(await ledgerRead('claimable', [who]), 0n);
    // Nothing left: a second claim returns 0.
    const { result } = await pub.simulateContract({ account: who, address: LEDGER, abi: abis.ledger, functionName: 'claim', args: [who] });
    assert.equal(result, 0n);
  });

  test('5. attribution_ answers: earnings, shares paging, inferences, model, datanet', async () => {
    const who = s.claim.who;
    const mine = s.contributorCredits.filter((c) => lc(c.contributor) === lc(who));
    const credited = sum(mine.map((c) => c.amount));
    assert.equal(credited, s.expected.get(lc(who)), 'a contributor is credited only contributor shares');

    // getEarnings: credited / claimed / claimable, and the same grouped by datanet.
    const e = await rpc('attribution_getEarnings', [who]);
    await checkSnapshot(e);
    same(e.account, who);
    assert.equal(big(e.credited), credited);
    assert.equal(num(e.credits), mine.length);
    assert.equal(big(e.claimed), s.claim.amount);
    assert.equal(num(e.claims), 1);
    assert.equal(big(e.claimable), 0n);
    assert.equal(big(e.claimable), await ledgerRead('claimable', [who]));
    const g = await rpc('attribution_getEarnings', [who, { groupBy: 'datanet' }]);
    assert.equal(g.groupBy, 'datanet');
    assert.deepEqual(
      g.groups.map((x) => [x.datanetId, big(x.credited), num(x.credits)]),
      [[s.datanetId, credited, mine.length]],
    );
    for (const a of [...contributors.slice(1), s.payout, config.treasury, config.stakerPool]) {
      const v = await rpc('attribution_getEarnings', [a]);
      const onchain = await ledgerRead('claimable', [a]);
      assert.equal(big(v.claimable), onchain, `claimable of ${a}`);
      assert.equal(big(v.credited), s.expected.get(lc(a)), `credited to ${a}`);
      assert.equal(big(v.claimed), 0n);
    }
    // Pool credits name no datanet.
    const pg = await rpc('attribution_getEarnings', [s.payout, { groupBy: 'datanet' }]);
    assert.deepEqual(
      pg.groups.map((x) => [x.datanetId, big(x.credited)]),
      [[null, s.expected.get(lc(s.payout))]],
    );

    // getShares: a contributor's credits, two a page, each once, in chain order.
    const pages = [];
    let cursor;
    for (let guard = 0; guard < 20; guard++) {
      const v = await rpc('attribution_getShares', [{ contributor: who, limit: 2, ...(cursor ? { cursor } : {}) }]);
      await checkSnapshot(v);
      assert.ok(v.items.length <= 2);
      pages.push(v.items);
      cursor = v.nextCursor;
      if (!cursor) break;
    }
    assert.ok(pages.length >= 2, `paged: ${pages.map((p) => p.length)}`);
    const listed = pages.flat();
    assert.equal(new Set(listed.map((c) => c.cursor)).size, listed.length, 'no credit twice');
    assert.deepEqual(
      listed.map((c) => [c.kind, lc(c.contributor), c.datanetId, c.inferenceId, c.batchHash, big(c.amount), c.transactionHash, c.modelId]),
      mine.map((c) => ['contributor', lc(who), s.datanetId, c.inferenceId, c.batchHash, c.amount, c.txHash, s.modelId]),
    );
    const onePage = await rpc('attribution_getShares', [{ contributor: who, limit: 1000 }]);
    assert.deepEqual(onePage.items, listed, 'the pages concatenate to the whole list');
    assert.equal(onePage.nextCursor, null);
    const byDatanet = await rpc('attribution_getShares', [{ datanetId: s.datanetId, limit: 1000 }]);
    assert.deepEqual(
      byDatanet.items.map((c) => [lc(c.contributor), big(c.amount), c.inferenceId]),
      s.contributorCredits.map((c) => [lc(c.contributor), c.amount, c.inferenceId]),
    );

    // getInference: a single one, with its pools and shares.
    const poolsOf = (inf) => {
      const p = inf.credits.split;
      return [
        ['model', s.payout, p.model],
        ['staker', config.stakerPool, p.staker],
        ['protocol', config.treasury, p.protocol],
        ['unassigned', config.treasury, p.unassigned],
      ].filter(([, , amount]) => amount !== 0n);
    };
    const single = s.singles[0];
    const vi = await rpc('attribution_getInference', [single.id]);
    await checkSnapshot(vi);
    const log = single.receipt.logs.find((l) => lc(l.address) === lc(LEDGER));
    assert.equal(vi.inferenceId, single.id);
    assert.equal(vi.modelId, s.modelId);
    same(vi.attestor, attestor);
    assert.equal(big(vi.fee), single.fee);
    assert.equal(vi.recordHash, single.recordHash);
    assert.equal(vi.batchHash, null);
    assert.equal(num(vi.shares), single.credits.contributorCredits.length, 'shares = positive shares (ShareCredited)');
    assert.equal(vi.recordedAt.transactionHash, single.receipt.transactionHash);
    assert.equal(big(vi.recordedAt.blockNumber), single.receipt.blockNumber);
    assert.equal(vi.recordedAt.blockHash, single.receipt.blockHash);
    assert.equal(num(vi.recordedAt.logIndex), log.logIndex);
    assert.equal(num(vi.recordedAt.transactionIndex), single.receipt.transactionIndex);
    assert.deepEqual(vi.laterRecords, []);
    const expectCredits = (inf) => [
      ...poolsOf(inf).map(([kind, a, amount]) => [kind, lc(a), amount, null]),
      ...inf.credits.contributorCredits.map((c) => ['contributor', lc(c.contributor), c.amount, s.datanetId]),
    ];
    assert.deepEqual(
      vi.credits.map((c) => [c.kind, lc(c.contributor), big(c.amount), c.datanetId]),
      expectCredits(single),
    );
    assert.equal(sum(vi.credits.map((c) => big(c.amount))), single.fee);

    // getInference: batched ones (one without shares), naming their batch.
    for (const k of [1, 3]) {
      const inf = s.batch.inferences[k];
      const vb = await rpc('attribution_getInference', [inf.id]);
      assert.equal(vb.batchHash, s.batch.hash);
      assert.equal(vb.recordHash, null);
      assert.equal(big(vb.fee), inf.fee);
      same(vb.attestor, attestor);
      assert.equal(num(vb.shares), inf.credits.contributorCredits.length);
      assert.equal(vb.recordedAt.transactionHash, s.batch.receipt.transactionHash);
      assert.equal(big(vb.recordedAt.blockNumber), s.batch.receipt.blockNumber);
      assert.deepEqual(
        vb.credits.map((c) => [c.kind, lc(c.contributor), big(c.amount), c.datanetId]).sort(),
        expectCredits(inf).sort(),
      );
      assert.ok(vb.credits.every((c) => c.batchHash === s.batch.hash && c.inferenceId === inf.id));
    }

    // getModel against the ledger's getModel and the recorded activity.
    const all = [...s.singles, ...s.batch.inferences];
    const vm = await rpc('attribution_getModel', [s.modelId]);
    await checkSnapshot(vm);
    const [owner, payout, tokenizerId, cumulativeFees, inferences] = await ledgerRead('getModel', [s.modelId]);
    assert.equal(vm.registered, true);
    same(vm.owner, owner);
    same(vm.payout, payout);
    same(vm.payout, s.payout);
    assert.equal(num(vm.tokenizerId), tokenizerId);
    assert.equal(big(vm.cumulativeFees), cumulativeFees);
    assert.equal(big(vm.inferences), inferences);
    assert.equal(cumulativeFees, sum(all.map((i) => i.fee)));
    assert.equal(inferences, BigInt(all.length));
    assert.equal(big(vm.registeredAt.blockNumber), s.modelReceipt.blockNumber);
    assert.equal(vm.registeredAt.blockHash, s.modelReceipt.blockHash);
    assert.equal(num(vm.stats.inferences), all.length);
    assert.equal(big(vm.stats.fees), cumulativeFees);
    assert.equal(big(vm.stats.contributorCredits), sum(s.contributorCredits.map((c) => c.amount)));
    assert.equal(num(vm.stats.contributorShares), s.contributorCredits.length);
    assert.equal(big(vm.stats.modelPool), sum(all.map((i) => i.credits.split.model)));
    assert.equal(big(vm.stats.firstBlock), s.singles[0].receipt.blockNumber);
    assert.equal(big(vm.stats.lastBlock), s.batch.receipt.blockNumber);

    // getDatanet against the ledger's getDatanet and the credits.
    const vd = await rpc('attribution_getDatanet', [s.datanetId]);
    await checkSnapshot(vd);
    const [dOwner, version, contributionRoot, fingerprintRoot] = await ledgerRead('getDatanet', [s.datanetId]);
    assert.equal(vd.registered, true);
    same(vd.owner, dOwner);
    assert.equal(big(vd.version), version);
    assert.equal(vd.contributionRoot, contributionRoot);
    assert.equal(vd.fingerprintRoot, fingerprintRoot);
    assert.equal(big(vd.registeredAt.blockNumber), s.createReceipt.blockNumber);
    assert.equal(big(vd.updatedAt.blockNumber), s.publishReceipt.blockNumber);
    const perContributor = new Map();
    for (const c of s.contributorCredits) {
      const t = perContributor.get(lc(c.contributor)) ?? { credited: 0n, shares: 0 };
      t.credited += c.amount;
      t.shares += 1;
      perContributor.set(lc(c.contributor), t);
    }
    assert.equal(big(vd.stats.credited), sum(s.contributorCredits.map((c) => c.amount)));
    assert.equal(num(vd.stats.shares), s.contributorCredits.length);
    assert.equal(num(vd.stats.contributors), perContributor.size);
    assert.equal(num(vd.stats.inferences), all.filter((i) => i.credits.contributorCredits.length > 0).length);
    assert.equal(num(vd.stats.versionsPublished), 1);
    const ranked = [...perContributor.entries()].sort(([a, x], [b, y]) =>
      x.credited === y.credited ? (BigInt(a) > BigInt(b) ? -1 : 1) : x.credited > y.credited ? -1 : 1,
    );
    assert.deepEqual(
      vd.topContributors.map((t) => [lc(t.contributor), big(t.credited), num(t.shares)]),
      ranked.map(([a, t]) => [a, t.credited, t.shares]),
    );

    // verifySpans can also read the tokenizer from the model.
    const quoted = s.contributions.find((c) => c.approved);
    const output = quoted.tokens.slice(0, N);
    const proof = s.fingerprintTree.getMultiProof([ngramValue(N, TOKENIZER, output, quoted.index)]);
    const vs = await rpc('attribution_verifySpans', [
      {
        outputTokens: output,
        n: N,
        modelId: s.modelId,
        datanetId: s.datanetId,
        claims: [{ pos: 0, contributionIndex: quoted.index }],
        proof: proof.proof,
        proofFlags: proof.proofFlags,
      },
    ]);
    assert.equal(vs.ok, true, JSON.stringify(vs));
    assert.equal(num(vs.coveredTokens), N);
  });

  test('6. attribution_getRecordProof: MPT proofs against the block state root, record fields, output root', async () => {
    const single = s.singles[0];
    const v = await rpc('attribution_getRecordProof', [single.id]);
    assert.ok(v, 'a proof for a recorded inference');
    await checkSnapshot(v);
    const block = await pub.getBlock({ blockNumber: big(v.blockNumber) });
    assert.equal(v.stateRoot, block.stateRoot);
    assert.equal(v.recordKind, 'inference');
    same(v.address, LEDGER);
    const slots = [0, 1, 2].map((i) => ledgerField(NS.inference, single.id, i));
    assert.equal(v.recordSlot, slots[0]);
    assert.deepEqual(
      v.storageProof.map((p) => BigInt(p.key)),
      slots.map(BigInt),
      'the record slots: keccak256(uint8 4 ‖ inferenceId) + 0..2',
    );

    const { account, values } = await verifyAccountAndStorage(v, block.stateRoot);
    assert.equal(account.storageRoot, v.storageHash);
    assert.equal(account.balance, big(v.balance));
    assert.equal(account.nonce, big(v.nonce));
    assert.equal(account.codeHash, v.codeHash);
    assert.equal(account.nonce, 1n, 'genesis gives the ledger nonce 1');
    assert.equal(account.codeHash, keccak256('0x60006000fd'), 'and the code 0x60006000fd');
    assert.deepEqual(values, v.storageProof.map((p) => big(p.value)), 'proven values are the answer values');
    assert.equal(numberToHex(values[0], { size: 32 }), single.recordHash);
    assert.equal(numberToHex(values[1], { size: 32 }), s.modelId);
    assert.equal(bits(values[2], 0, 64), single.receipt.blockNumber);
    assert.equal(bits(values[2], 64, 128), single.fee);
    assert.equal(bits(values[2], 192, 32), BigInt(single.shares.length), 'nShares counts every attested share');
    assert.equal(values[2] >> 224n, 0n);
    assert.equal(v.record.recordHash, single.recordHash);
    assert.equal(v.record.modelId, s.modelId);
    assert.equal(big(v.record.blockNumber), single.receipt.blockNumber);
    assert.equal(big(v.record.fee), single.fee);
    assert.equal(num(v.record.nShares), single.shares.length);

    // A proof node changed, or another root, is refused by the verifier.
    const forged = structuredClone(v);
    const last = forged.storageProof[2].proof.length - 1;
    const node2 = forged.storageProof[2].proof[last];
    forged.storageProof[2].proof[last] = node2.slice(0, -2) + (node2.endsWith('00') ? '01' : '00');
    await assert.rejects(verifyAccountAndStorage(forged, block.stateRoot), 'a forged storage node fails');
    await assert.rejects(verifyAccountAndStorage(v, block.parentHash), 'another root fails');

    // The output root: keccak256(version ‖ stateRoot ‖ withdrawalStorageRoot ‖ blockHash).
    const o = v.outputRoot;
    assert.equal(o.version, pad('0x', { size: 32 }));
    assert.equal(o.stateRoot, block.stateRoot);
    assert.equal(o.blockHash, block.hash);
    assert.equal(o.withdrawalStorageRoot, block.withdrawalsRoot, 'Isthmus: the header carries the message passer root');
    const passer = await rpc('eth_getProof', [L2_TO_L1_MESSAGE_PASSER, [], 'latest']);
    assert.equal(passer.storageHash, o.withdrawalStorageRoot, 'the message passer storage root');
    assert.equal(o.outputRoot, outputRoot(o));

    // A batched inference is proven through its batch record.
    const inf = s.batch.inferences[1];
    const vb = await rpc('attribution_getRecordProof', [inf.id]);
    assert.equal(vb.recordKind, 'batch');
    const bblock = await pub.getBlock({ blockNumber: big(vb.blockNumber) });
    const bslots = [0, 1, 2].map((i) => ledgerField(NS.batch, s.batch.hash, i));
    assert.deepEqual(vb.storageProof.map((p) => BigInt(p.key)), bslots.map(BigInt));
    const proven = (await verifyAccountAndStorage(vb, bblock.stateRoot)).values;
    assert.equal(bits(proven[0], 0, 160), BigInt(attestor));
    assert.equal(bits(proven[0], 160, 32), BigInt(s.batch.inferences.length));
    assert.equal(numberToHex(proven[1], { size: 32 }), s.modelId);
    assert.equal(bits(proven[2], 0, 64), s.batch.receipt.blockNumber);
    assert.equal(bits(proven[2], 64, 128), s.batch.total);
    assert.equal(vb.record.batchHash, s.batch.hash);
    same(vb.record.attestor, attestor);
    assert.equal(num(vb.record.inferences), s.batch.inferences.length);
    assert.equal(big(vb.record.totalFee), s.batch.total);
    assert.equal(await rpc('attribution_getRecordProof', [keccak256(toHex('never recorded'))]), null);
  });

  test('7. eth_getLogs: ShareCredited filtered by contributor (topic 3)', async () => {
    const event = abis.ledger.find((x) => x.type === 'event' && x.name === 'ShareCredited');
    const topic0 = toEventSelector(event);
    for (const who of contributors) {
      const logs = await rpc('eth_getLogs', [
        { address: LEDGER, fromBlock: '0x0', toBlock: 'latest', topics: [topic0, null, null, pad(who, { size: 32 })] },
      ]);
      const expected = s.singles.flatMap((inf) =>
        ledgerLogs(inf.receipt).filter((e) => e.eventName === 'ShareCredited' && lc(e.args.contributor) === lc(who)),
      );
      assert.ok(expected.length > 0, `${who} has ShareCredited events`);
      const decoded = parseEventLogs({ abi: abis.ledger, logs: logs.map((l) => ({ ...l, logIndex: num(l.logIndex) })) });
      assert.equal(decoded.length, logs.length);
      assert.deepEqual(
        decoded.map((e) => [e.eventName, e.transactionHash, e.logIndex, lc(e.args.contributor), e.args.inferenceId, e.args.amount]),
        expected.map((e) => ['ShareCredited', e.transactionHash, e.logIndex, lc(who), e.args.inferenceId, e.args.amount]),
      );
      // viem's typed filter asks the same question.
      const typed = await pub.getLogs({ address: LEDGER, event, args: { contributor: who }, fromBlock: 0n });
      assert.deepEqual(typed.map((e) => e.transactionHash + e.logIndex), expected.map((e) => e.transactionHash + e.logIndex));
    }
  });

  test('8. the attributions subscription reported the inferences and the batch', async () => {
    await waitFor(() => notifications.all.some((n) => n.type === 'batch'), { timeoutMs: 10_000, what: 'the batch notification' });
    const got = notifications.all;
    assert.deepEqual(
      got.map((n) => [n.type, n.inferenceId ?? n.batchHash]),
      [...s.singles.map((i) => ['inference', i.id]), ['batch', s.batch.hash]],
    );
    const b = got[2];
    assert.equal(b.modelId, s.modelId);
    same(b.attestor, attestor);
    assert.equal(big(b.totalFee), s.batch.total);
    assert.equal(num(b.inferences), s.batch.inferences.length);
    assert.equal(num(b.recipients), s.batch.sums.size);
    assert.equal(b.sharesDerived, true, 'the index re-derived the per-share credits from calldata');
    assert.equal(b.recordedAt.transactionHash, s.batch.receipt.transactionHash);
    assert.equal(big(b.blockNumber), s.batch.receipt.blockNumber);
    assert.equal(b.blockHash, s.batch.receipt.blockHash);
    const first = got[0];
    assert.equal(first.recordHash, s.singles[0].recordHash);
    assert.equal(big(first.fee), s.singles[0].fee);
    assert.equal(first.recordedAt.transactionHash, s.singles[0].receipt.transactionHash);
    assert.deepEqual(notifications.otherModel, [], 'a subscription filtered by another model hears nothing');
  });
});
