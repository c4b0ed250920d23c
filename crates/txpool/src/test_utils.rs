//! Signed transactions, a map-backed state and block contexts for the tests.

use std::{collections::HashMap, time::Instant};

use alloy::{
    consensus::{SignableTransaction, Signed, TxEip1559, TxLegacy},
    eips::eip2718::Encodable2718,
    primitives::{Address, Bytes, Signature, TxKind, U256, address},
    signers::{SignerSync, local::PrivateKeySigner},
};
use op_alloy::consensus::OpTxEnvelope;

use crate::{AccountInfo, BlockContext, PoolConfig, StateView};

/// The devnet chain id.
pub(crate) const CHAIN_ID: u64 = 72077;
/// One gwei.
pub(crate) const GWEI: u128 = 1_000_000_000;
/// Base fee of the test contexts.
pub(crate) const BASE_FEE: u64 = 1_000_000_000;
/// Block gas limit of the test contexts.
pub(crate) const BLOCK_GAS: u64 = 30_000_000;
/// A plain recipient.
pub(crate) const TO: Address = address!("0x000000000000000000000000000000000000dEaD");

/// The first anvil dev keys.
const KEYS: [&str; 5] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926e",
];

/// Anvil dev key number `i`.
pub(crate) fn key(i: usize) -> PrivateKeySigner {
    KEYS[i].parse().expect("valid key")
}

/// Signs `tx` with `key` and returns its EIP-2718 bytes.
pub(crate) fn sign<T>(key: &PrivateKeySigner, tx: T) -> Vec<u8>
where
    T: SignableTransaction<Signature>,
    OpTxEnvelope: From<Signed<T>>,
{
    let signature = key
        .sign_hash_sync(&tx.signature_hash())
        .expect("signing works");
    OpTxEnvelope::from(tx.into_signed(signature)).encoded_2718()
}

/// An EIP-1559 transfer of 1 wei with 21000 gas.
pub(crate) fn eip1559(nonce: u64, max_fee: u128, tip: u128) -> TxEip1559 {
    TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(TO),
        value: U256::from(1),
        access_list: Default::default(),
        input: Bytes::new(),
    }
}

/// A signed EIP-1559 transfer from key `k`.
pub(crate) fn transfer(k: usize, nonce: u64, max_fee: u128, tip: u128) -> Vec<u8> {
    sign(&key(k), eip1559(nonce, max_fee, tip))
}

/// A legacy transfer with the given chain id.
pub(crate) fn legacy(nonce: u64, gas_price: u128, chain_id: Option<u64>) -> TxLegacy {
    TxLegacy {
        chain_id,
        nonce,
        gas_price,
        gas_limit: 21_000,
        to: TxKind::Call(TO),
        value: U256::from(1),
        input: Bytes::new(),
    }
}

/// State backed by a map; unknown accounts are empty.
#[derive(Clone, Debug, Default)]
pub(crate) struct MockState {
    pub(crate) accounts: HashMap<Address, AccountInfo>,
}

impl MockState {
    /// Each of the dev keys funded with 10,000 ETH at nonce 0.
    pub(crate) fn funded() -> Self {
        let mut state = Self::default();
        for i in 0..KEYS.len() {
            state.set(key(i).address(), 0, U256::from(10_000u128 * 10u128.pow(18)));
        }
        state
    }

    /// Sets an account.
    pub(crate) fn set(&mut self, address: Address, nonce: u64, balance: U256) {
        self.accounts
            .insert(address, AccountInfo { nonce, balance });
    }

    /// Sets the nonce of dev key `k`.
    pub(crate) fn set_nonce(&mut self, k: usize, nonce: u64) {
        self.accounts.entry(key(k).address()).or_default().nonce = nonce;
    }

    /// Sets the balance of dev key `k`.
    pub(crate) fn set_balance(&mut self, k: usize, balance: U256) {
        self.accounts.entry(key(k).address()).or_default().balance = balance;
    }
}

impl StateView for MockState {
    fn account(&self, address: Address) -> Result<AccountInfo, String> {
        Ok(self.accounts.get(&address).copied().unwrap_or_default())
    }
}

/// No L1 data fee.
pub(crate) fn no_l1_fee(_: &[u8]) -> U256 {
    U256::ZERO
}

/// A context at [`BASE_FEE`] with no L1 fee, timed `now`.
pub(crate) fn ctx_at(now: Instant) -> BlockContext<'static> {
    BlockContext {
        base_fee: BASE_FEE,
        block_gas_limit: BLOCK_GAS,
        chain_id: CHAIN_ID,
        l1_fee: &no_l1_fee,
        now,
    }
}

/// A context at [`BASE_FEE`] with no L1 fee, timed now.
pub(crate) fn ctx() -> BlockContext<'static> {
    ctx_at(Instant::now())
}

/// The default configuration.
pub(crate) fn config() -> PoolConfig {
    PoolConfig::default()
}
