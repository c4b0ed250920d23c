//! A validated pool transaction: decoded, sender recovered once, with its worst-case cost.

use std::time::Instant;

use alloy::{
    consensus::{Transaction, transaction::Recovered},
    primitives::{Address, B256, Bytes, U256},
};
use op_alloy::consensus::OpTxEnvelope;

/// A transaction admitted to the pool. Shared as `Arc<PooledTx>`; never mutated once pooled.
#[derive(Clone, Debug)]
pub struct PooledTx {
    /// Transaction hash.
    pub hash: B256,
    /// Sender, recovered once at admission.
    pub sender: Address,
    /// Nonce.
    pub nonce: u64,
    /// The EIP-2718 bytes as submitted.
    pub encoded: Bytes,
    /// The decoded transaction with its sender.
    pub tx: Recovered<OpTxEnvelope>,
    /// When the pool admitted it.
    pub added: Instant,
    /// `gas_limit * maxFeePerGas + value`: the worst-case L2 cost, without the L1 data fee
    /// (which depends on L1 state and is recomputed from [`BlockContext::l1_fee`]).
    ///
    /// [`BlockContext::l1_fee`]: crate::BlockContext::l1_fee
    pub cost: U256,
    /// Admission order, the tie-breaker between equal tips (older first).
    pub(crate) seq: u64,
}

impl PooledTx {
    /// `maxFeePerGas`, or the gas price of legacy and EIP-2930 transactions.
    pub fn max_fee_per_gas(&self) -> u128 {
        self.tx.max_fee_per_gas()
    }

    /// `maxPriorityFeePerGas`, or the gas price of legacy and EIP-2930 transactions.
    pub fn max_priority_fee_per_gas(&self) -> u128 {
        self.tx.priority_fee_or_price()
    }

    /// The gas limit.
    pub fn gas_limit(&self) -> u64 {
        self.tx.gas_limit()
    }

    /// What the block producer earns per gas at `base_fee`: `min(maxPriorityFee, maxFee -
    /// baseFee)`, or `gasPrice - baseFee`; `None` when the fee cap is below `base_fee`.
    pub fn effective_tip(&self, base_fee: u64) -> Option<u128> {
        self.tx.effective_tip_per_gas(base_fee)
    }
}
