// viem against `opal node --dev`: deploy the repository's ERC-20, mint, transfer, balances, logs,
// gas estimates, revert reasons, OP Stack L1-fee actions through GasPriceOracle, WebSocket
// newHeads, a restart on the same datadir mid-suite, and (on a 2 s block time) replacing a
// pending transaction and each transaction-pool admission error.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  parseEther,
  parseEventLogs,
  webSocket,
} from 'viem';
import { chainConfig, publicActionsL2 } from 'viem/op-stack';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

import { CHAIN_ID, GAS_PRICE_ORACLE, startNode, testErc20, waitFor } from './lib/node.mjs';

const { abi, bytecode } = testErc20();

function opalChain(url, wsUrl) {
  return defineChain({
    ...chainConfig,
    id: CHAIN_ID,
    name: 'Opal devnet',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [url], webSocket: [wsUrl] } },
  });
}

function clients(node) {
  const chain = opalChain(node.url, node.wsUrl);
  const transport = http(node.url, { retryCount: 0 });
  const pub = createPublicClient({ chain, transport, pollingInterval: 100 }).extend(publicActionsL2());
  const wallet = (key) =>
    createWalletClient({ chain, transport, account: privateKeyToAccount(key), pollingInterval: 100 });
  return { chain, pub, wallet };
}

/** The JSON-RPC error text the node returned, wherever viem wrapped it. */
function rpcDetails(err) {
  const texts = [];
  let e = err;
  while (e) {
    if (e.details) texts.push(String(e.details));
    if (e.message) texts.push(String(e.message));
    e = e.cause;
  }
  return texts.join('\n');
}

async function rejects(promise, pattern) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected a rejection matching ${pattern}`);
  const text = rpcDetails(err);
  assert.match(text, pattern, `error text:\n${text}`);
}

describe('viem against opal node --dev', () => {
  let node;
  let c;
  let deployer; // dev account 0
  let alice; // dev account 1
  const bob = privateKeyToAccount(generatePrivateKey()).address;
  let token;
  let mintBlock;

  before(async () => {
    node = await startNode({ blockTime: '500ms' });
    c = clients(node);
    deployer = c.wallet(node.keys[0]);
    alice = c.wallet(node.keys[1]);
  });

  after(async () => {
    await node?.destroy();
  });

  test('chain id, blocks advance, prefunded accounts', async () => {
    assert.equal(await c.pub.getChainId(), CHAIN_ID);
    const first = await c.pub.getBlockNumber();
    await waitFor(async () => (await c.pub.getBlockNumber()) > first, { what: 'a new block' });
    assert.equal(await c.pub.getBalance({ address: node.addresses[2] }), parseEther('10000'));
  });

  test('deploy the ERC-20', async () => {
    const hash = await deployer.deployContract({ abi, bytecode });
    const receipt = await c.pub.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, 'success');
    token = receipt.contractAddress;
    assert.ok(token);
    const code = await c.pub.getCode({ address: token });
    assert.ok(code && code.length > 2, 'code at the deployed address');
    assert.equal(await c.pub.readContract({ address: token, abi, functionName: 'totalSupply' }), 0n);
  });

  test('mint, transfer, read balances', async () => {
    const mint = await deployer.writeContract({
      address: token,
      abi,
      functionName: 'mint',
      args: [alice.account.address, 1000n],
    });
    const mintReceipt = await c.pub.waitForTransactionReceipt({ hash: mint });
    assert.equal(mintReceipt.status, 'success');
    mintBlock = mintReceipt.blockNumber;

    const transfer = await alice.writeContract({
      address: token,
      abi,
      functionName: 'transfer',
      args: [bob, 250n],
    });
    const receipt = await c.pub.waitForTransactionReceipt({ hash: transfer });
    assert.equal(receipt.status, 'success');
    const events = parseEventLogs({ abi, logs: receipt.logs, eventName: 'Transfer' });
    assert.equal(events.length, 1);
    assert.equal(events[0].args.value, 250n);

    const balanceOf = (address) => c.pub.readContract({ address: token, abi, functionName: 'balanceOf', args: [address] });
    assert.equal(await balanceOf(alice.account.address), 750n);
    assert.equal(await balanceOf(bob), 250n);
    assert.equal(await c.pub.readContract({ address: token, abi, functionName: 'totalSupply' }), 1000n);
  });

  test('Transfer logs via eth_getLogs (getContractEvents, getLogs)', async () => {
    const events = await c.pub.getContractEvents({
      address: token,
      abi,
      eventName: 'Transfer',
      fromBlock: mintBlock,
      toBlock: 'latest',
    });
    assert.equal(events.length, 2);
    assert.equal(events[0].args.to, alice.account.address);
    assert.equal(events[0].args.value, 1000n);
    assert.equal(events[1].args.from, alice.account.address);
    assert.equal(events[1].args.to, bob);
    assert.equal(events[1].args.value, 250n);

    const toBob = await c.pub.getLogs({
      address: token,
      event: abi.find((x) => x.type === 'event' && x.name === 'Transfer'),
      args: { to: bob },
      fromBlock: 0n,
    });
    assert.equal(toBob.length, 1);
    assert.equal(toBob[0].args.value, 250n);
  });

  test('estimate gas and compare with gas used', async () => {
    const estimate = await c.pub.estimateContractGas({
      address: token,
      abi,
      functionName: 'transfer',
      args: [bob, 10n],
      account: alice.account,
    });
    const hash = await alice.writeContract({ address: token, abi, functionName: 'transfer', args: [bob, 10n], gas: estimate });
    const receipt = await c.pub.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, 'success');
    assert.ok(receipt.gasUsed <= estimate, `gasUsed ${receipt.gasUsed} <= estimate ${estimate}`);
    assert.ok(estimate < receipt.gasUsed * 2n, `estimate ${estimate} close to gasUsed ${receipt.gasUsed}`);
    const ethEstimate = await c.pub.estimateGas({ account: alice.account, to: bob, value: 1n });
    assert.equal(ethEstimate, 21000n);
  });

  test('revert reason of a transfer above balance', async () => {
    let err;
    try {
      await c.pub.simulateContract({
        address: token,
        abi,
        functionName: 'transfer',
        args: [alice.account.address, 10n ** 30n],
        account: privateKeyToAccount(node.keys[3]),
      });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof BaseError, `expected a viem error, got ${err}`);
    const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
    assert.ok(revert instanceof ContractFunctionRevertedError, `no ContractFunctionRevertedError in ${err}`);
    assert.equal(revert.reason, 'TestERC20: insufficient balance');

    // eth_estimateGas returns the same reason.
    await rejects(
      c.pub.estimateContractGas({
        address: token,
        abi,
        functionName: 'transfer',
        args: [alice.account.address, 10n ** 30n],
        account: privateKeyToAccount(node.keys[3]),
      }),
      /TestERC20: insufficient balance/,
    );
  });

  test('OP Stack actions: L1 fee through GasPriceOracle against the receipt', async (t) => {
    const l1BaseFee = await c.pub.getL1BaseFee();
    assert.ok(l1BaseFee > 0n, `L1 base fee ${l1BaseFee}`);

    const request = {
      account: alice.account,
      to: token,
      data: '0xa9059cbb' + bob.slice(2).toLowerCase().padStart(64, '0') + (5n).toString(16).padStart(64, '0'),
      gasPriceOracleAddress: GAS_PRICE_ORACLE,
    };
    const l1Fee = await c.pub.estimateL1Fee(request);
    const total = await c.pub.estimateTotalFee(request);
    assert.ok(l1Fee > 0n, `estimated L1 fee ${l1Fee}`);
    assert.ok(total > l1Fee, `total ${total} > L1 fee ${l1Fee}`);

    const hash = await alice.sendTransaction({ to: token, data: request.data });
    const receipt = await c.pub.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, 'success');
    assert.equal(typeof receipt.l1Fee, 'bigint', 'receipt carries l1Fee');
    assert.ok(receipt.l1Fee > 0n);
    assert.equal(receipt.l1GasPrice, l1BaseFee);
    const ratio = Number(l1Fee) / Number(receipt.l1Fee);
    t.diagnostic(`estimateL1Fee ${l1Fee} wei, receipt l1Fee ${receipt.l1Fee} wei, ratio ${ratio.toFixed(3)}`);
    assert.ok(ratio > 0.5 && ratio < 2, `estimate ${l1Fee} vs receipt ${receipt.l1Fee} (ratio ${ratio})`);
  });

  test('restart on the same datadir keeps state, the suite continues', async () => {
    const head = await c.pub.getBlockNumber();
    const aliceEth = await c.pub.getBalance({ address: alice.account.address });
    const aliceNonce = await c.pub.getTransactionCount({ address: alice.account.address });
    assert.equal(await node.stop(), 0, 'clean exit on SIGTERM');

    node = await startNode({ datadir: node.datadir, blockTime: '500ms' });
    c = clients(node);
    deployer = c.wallet(node.keys[0]);
    alice = c.wallet(node.keys[1]);

    assert.ok((await c.pub.getBlockNumber()) >= head, 'head kept');
    assert.equal(await c.pub.getBalance({ address: alice.account.address }), aliceEth);
    assert.equal(await c.pub.getTransactionCount({ address: alice.account.address }), aliceNonce);
    assert.equal(await c.pub.readContract({ address: token, abi, functionName: 'balanceOf', args: [bob] }), 265n);

    const hash = await alice.writeContract({ address: token, abi, functionName: 'transfer', args: [bob, 40n] });
    assert.equal((await c.pub.waitForTransactionReceipt({ hash })).status, 'success');
    assert.equal(await c.pub.readContract({ address: token, abi, functionName: 'balanceOf', args: [bob] }), 305n);
  });

  test('WebSocket newHeads via watchBlocks', async () => {
    const ws = createPublicClient({ chain: c.chain, transport: webSocket(node.wsUrl, { retryCount: 0 }) });
    const seen = [];
    let unwatch;
    try {
      // viem routes eth_subscription notifications only for string ids (geth returns "0x…").
      const id = await ws.request({ method: 'eth_subscribe', params: ['newHeads'] });
      assert.equal(typeof id, 'string', `eth_subscribe returned ${JSON.stringify(id)}, a hex string expected`);
      assert.equal(await ws.request({ method: 'eth_unsubscribe', params: [id] }), true);

      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`saw ${seen.length} heads in 10 s`)), 10_000);
        unwatch = ws.watchBlocks({
          emitOnBegin: false,
          onBlock: (block) => {
            seen.push(block);
            if (seen.length >= 3) {
              clearTimeout(timer);
              resolve();
            }
          },
          onError: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
      });
    } finally {
      unwatch?.();
      await ws.transport.getRpcClient?.().then((r) => r.close()).catch(() => {});
    }
    assert.equal(seen[1].number, seen[0].number + 1n);
    assert.equal(seen[2].number, seen[1].number + 1n);
    assert.equal(seen[1].parentHash, seen[0].hash);
  });
});

describe('viem: transaction pool on a 2 s block time', () => {
  let node;
  let c;

  before(async () => {
    node = await startNode({ blockTime: '2s' });
    c = clients(node);
  });

  after(async () => {
    await node?.destroy();
  });

  /** Waits until a new block was just sealed, so the next ~2 s stay within one block. */
  async function freshBlock() {
    const n = await c.pub.getBlockNumber();
    await waitFor(async () => (await c.pub.getBlockNumber()) > n, { intervalMs: 50, what: 'a new block' });
  }

  test('replace a pending transaction: only the replacement is mined', async () => {
    const sender = privateKeyToAccount(node.keys[4]);
    const to = privateKeyToAccount(generatePrivateKey()).address;
    const nonce = await c.pub.getTransactionCount({ address: sender.address });
    const fees = await c.pub.estimateFeesPerGas();
    const base = {
      chainId: CHAIN_ID,
      type: 'eip1559',
      to,
      nonce,
      gas: 21000n,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    };
    const bump = (v, pct) => (v * (100n + pct)) / 100n;

    await freshBlock();
    const first = await c.pub.sendRawTransaction({
      serializedTransaction: await sender.signTransaction({ ...base, value: 1n }),
    });
    // +5% on both fees is below the 10% bump.
    await rejects(
      c.pub.sendRawTransaction({
        serializedTransaction: await sender.signTransaction({
          ...base,
          value: 2n,
          maxFeePerGas: bump(base.maxFeePerGas, 5n),
          maxPriorityFeePerGas: bump(base.maxPriorityFeePerGas, 5n),
        }),
      }),
      /replacement transaction underpriced/,
    );
    assert.equal(await c.pub.getTransactionCount({ address: sender.address, blockTag: 'pending' }), nonce + 1);
    const second = await c.pub.sendRawTransaction({
      serializedTransaction: await sender.signTransaction({
        ...base,
        value: 3n,
        maxFeePerGas: bump(base.maxFeePerGas, 20n),
        maxPriorityFeePerGas: bump(base.maxPriorityFeePerGas, 20n),
      }),
    });
    assert.notEqual(first, second);

    const receipt = await c.pub.waitForTransactionReceipt({ hash: second, timeout: 15_000 });
    assert.equal(receipt.status, 'success');
    assert.equal(await c.pub.getBalance({ address: to }), 3n);
    assert.equal(await c.pub.getTransactionCount({ address: sender.address }), nonce + 1);
    assert.equal(await c.pub.getTransactionReceipt({ hash: first }).catch(() => null), null, 'the replaced one is not mined');
  });

  test('pool admission errors carry the node error text', async () => {
    const sender = privateKeyToAccount(node.keys[5]);
    const to = node.addresses[6];
    const fees = await c.pub.estimateFeesPerGas();
    const nonce = await c.pub.getTransactionCount({ address: sender.address });
    const tx = {
      chainId: CHAIN_ID,
      type: 'eip1559',
      to,
      value: 1n,
      nonce,
      gas: 21000n,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    };
    const send = async (account, fields) =>
      c.pub.sendRawTransaction({ serializedTransaction: await account.signTransaction({ ...tx, ...fields }) });

    // Advance the sender's nonce so there is a nonce below it.
    const hash = await send(sender, {});
    await c.pub.waitForTransactionReceipt({ hash, timeout: 15_000 });

    await rejects(send(sender, { nonce }), /nonce too low/);
    await rejects(send(sender, { nonce: nonce + 1, gas: 20_000n }), /intrinsic gas too low/);
    await rejects(
      send(sender, { nonce: nonce + 1, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }),
      /max fee per gas less than block base fee/,
    );
    const pauper = privateKeyToAccount(generatePrivateKey());
    await rejects(send(pauper, { nonce: 0 }), /insufficient funds for gas \* price \+ value/);

    // Replacement underpriced with the same fees (and a different value, so not "already known").
    await freshBlock();
    await send(sender, { nonce: nonce + 1 });
    await rejects(send(sender, { nonce: nonce + 1, value: 2n }), /replacement transaction underpriced/);
    await rejects(send(sender, { nonce: nonce + 1 }), /already known/);
  });
});
