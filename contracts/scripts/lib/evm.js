// Small wrapper around @ethereumjs/evm (Prague rules) for the contract tests: place runtime code
// at an address as genesis does (no constructor), call it, read and write storage and balances.
'use strict';

const { createEVM } = require('@ethereumjs/evm');
const { Common, Hardfork, Mainnet } = require('@ethereumjs/common');
const { createAddressFromString } = require('@ethereumjs/util');
const { uintWord } = require('./abi.js');

const addr = (a) => createAddressFromString(typeof a === 'string' ? a : a.toString());
const hexBytes = (h) => Buffer.from(h.replace(/^0x/, ''), 'hex');
const slotKey = (slot) => (Buffer.isBuffer(slot) || slot instanceof Uint8Array ? Buffer.from(slot) : uintWord(slot));

// Block context of every call.
const BLOCK = {
  number: 100n,
  coinbase: '0x4200000000000000000000000000000000000011',
  timestamp: 1_700_000_000n,
  gasLimit: 30_000_000n,
  baseFeePerGas: 7n,
  prevRandao: Buffer.alloc(32, 0x77),
};

class TestChain {
  static async create() {
    const common = new Common({ chain: Mainnet, hardfork: Hardfork.Prague });
    const chain = new TestChain();
    chain.evm = await createEVM({ common });
    chain.block = {
      header: {
        number: BLOCK.number,
        coinbase: addr(BLOCK.coinbase),
        timestamp: BLOCK.timestamp,
        difficulty: 0n,
        prevRandao: new Uint8Array(BLOCK.prevRandao),
        gasLimit: BLOCK.gasLimit,
        baseFeePerGas: BLOCK.baseFeePerGas,
        getBlobGasPrice: () => 1n,
      },
    };
    return chain;
  }

  get state() {
    return this.evm.stateManager;
  }

  // Places runtime bytecode (0x-hex) at `address`, like a genesis alloc entry.
  async place(address, runtimeHex) {
    await this.state.putCode(addr(address), hexBytes(runtimeHex));
  }

  async setBalance(address, wei) {
    const a = addr(address);
    const acc = await this.state.getAccount(a);
    if (acc === undefined) {
      await this.state.modifyAccountFields(a, { balance: BigInt(wei), nonce: 0n });
    } else {
      await this.state.modifyAccountFields(a, { balance: BigInt(wei) });
    }
  }

  async balance(address) {
    const acc = await this.state.getAccount(addr(address));
    return acc === undefined ? 0n : acc.balance;
  }

  async code(address) {
    return Buffer.from(await this.state.getCode(addr(address)));
  }

  async setStorage(address, slot, value) {
    await this.state.putStorage(addr(address), slotKey(slot), uintWord(value));
  }

  // Raw 32-byte big-endian storage word.
  async storage(address, slot) {
    const v = Buffer.from(await this.state.getStorage(addr(address), slotKey(slot)));
    return Buffer.concat([Buffer.alloc(32 - v.length), v]);
  }

  // Executes a call at depth 0. Returns { ok, returnData, logs, gasUsed, error }.
  async call({ from = '0x00000000000000000000000000000000000000c0', to, data = '0x', value = 0n, gasLimit = 30_000_000n }) {
    const res = await this.evm.runCall({
      block: this.block,
      caller: addr(from),
      origin: addr(from),
      to: addr(to),
      data: typeof data === 'string' ? hexBytes(data) : data,
      value: BigInt(value),
      gasLimit: BigInt(gasLimit),
    });
    const r = res.execResult;
    return {
      ok: r.exceptionError === undefined,
      error: r.exceptionError ? r.exceptionError.error : undefined,
      returnData: Buffer.from(r.returnValue),
      logs: (r.logs || []).map(([address, topics, logData]) => ({
        address: '0x' + Buffer.from(address).toString('hex'),
        topics: topics.map((t) => Buffer.from(t)),
        data: Buffer.from(logData),
      })),
      gasUsed: r.executionGasUsed,
    };
  }
}

module.exports = { TestChain, BLOCK };
