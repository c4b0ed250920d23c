// ethers v6 against `opal node --dev`: deploy the repository's ERC-20, mint and transfer, the
// receipt (with Opal's OP fields), balances, and a revert reason through staticCall.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ContractFactory, JsonRpcProvider, Network, Wallet, parseEther } from 'ethers';

import { CHAIN_ID, startNode, testErc20 } from './lib/node.mjs';

const { abi, bytecode } = testErc20();

describe('ethers against opal node --dev', () => {
  let node;
  let provider;
  let deployer;
  let alice;
  let token;
  const bob = Wallet.createRandom().address;

  before(async () => {
    node = await startNode({ blockTime: '500ms' });
    const network = Network.from(CHAIN_ID);
    provider = new JsonRpcProvider(node.url, network, { staticNetwork: network, pollingInterval: 100 });
    deployer = new Wallet(node.keys[0], provider);
    alice = new Wallet(node.keys[1], provider);
  });

  after(async () => {
    provider?.destroy();
    await node?.destroy();
  });

  test('network and balance', async () => {
    assert.equal((await provider.getNetwork()).chainId, BigInt(CHAIN_ID));
    assert.equal(await provider.getBalance(node.addresses[3]), parseEther('10000'));
    assert.ok((await provider.getBlockNumber()) >= 0);
  });

  test('deploy the ERC-20 and mint', async () => {
    const factory = new ContractFactory(abi, bytecode, deployer);
    token = await factory.deploy();
    const deployTx = token.deploymentTransaction();
    await token.waitForDeployment();
    const receipt = await deployTx.wait();
    assert.equal(receipt.status, 1);
    assert.equal(receipt.contractAddress, await token.getAddress());
    assert.notEqual(await provider.getCode(await token.getAddress()), '0x');

    const mint = await token.mint(alice.address, 1_000n);
    assert.equal((await mint.wait()).status, 1);
    assert.equal(await token.balanceOf(alice.address), 1_000n);
  });

  test('transfer, receipt and balances', async () => {
    const tx = await token.connect(alice).transfer(bob, 400n);
    const receipt = await tx.wait();
    assert.equal(receipt.status, 1);
    assert.equal(receipt.hash, tx.hash);
    assert.equal(receipt.from, alice.address);
    assert.equal(receipt.to, await token.getAddress());
    assert.ok(receipt.gasUsed > 21_000n);
    assert.equal(receipt.logs.length, 1);
    const parsed = token.interface.parseLog(receipt.logs[0]);
    assert.equal(parsed.name, 'Transfer');
    assert.equal(parsed.args.to, bob);
    assert.equal(parsed.args.value, 400n);

    // The raw receipt carries the OP L1 fee fields.
    const raw = await provider.send('eth_getTransactionReceipt', [tx.hash]);
    assert.ok(BigInt(raw.l1Fee) > 0n, `l1Fee ${raw.l1Fee}`);
    assert.ok(BigInt(raw.l1GasUsed) > 0n, `l1GasUsed ${raw.l1GasUsed}`);

    assert.equal(await token.balanceOf(alice.address), 600n);
    assert.equal(await token.balanceOf(bob), 400n);

    const fetched = await provider.getTransaction(tx.hash);
    assert.equal(fetched.nonce, tx.nonce);
    assert.equal(fetched.blockNumber, receipt.blockNumber);
  });

  test('ETH transfer moves exactly value + fee', async () => {
    const before = await provider.getBalance(alice.address);
    const tx = await alice.sendTransaction({ to: bob, value: 12_345n });
    const receipt = await tx.wait();
    const raw = await provider.send('eth_getTransactionReceipt', [tx.hash]);
    const fee = receipt.gasUsed * receipt.gasPrice + BigInt(raw.l1Fee);
    assert.equal(await provider.getBalance(bob), 12_345n);
    assert.equal(await provider.getBalance(alice.address), before - 12_345n - fee);
  });

  test('revert reason via staticCall', async () => {
    await assert.rejects(token.connect(alice).transfer.staticCall(bob, 10n ** 30n), (err) => {
      assert.equal(err.code, 'CALL_EXCEPTION');
      assert.equal(err.reason, 'TestERC20: insufficient balance');
      return true;
    });
  });
});
