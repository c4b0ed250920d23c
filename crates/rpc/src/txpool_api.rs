//! The `txpool_` namespace: what the transaction pool holds, in geth's shapes.
//!
//! - `txpool_status`: `{"pending": "0x…", "queued": "0x…"}`.
//! - `txpool_content`: `{"pending": {sender: {nonce: tx}}, "queued": {…}}`, senders checksummed,
//!   nonces as decimal strings, transactions as `eth_getTransactionByHash` renders a transaction
//!   that is not yet in a block (`blockHash`, `blockNumber`, `transactionIndex` null, `gasPrice`
//!   the fee cap).
//! - `txpool_contentFrom(address)`: one sender's part of `txpool_content`.
//! - `txpool_inspect`: the same grouping with geth's one-line summaries,
//!   `"0xTo…: 0 wei + 21000 gas × 1000000000 wei"` or `"contract creation: …"`.

use std::{collections::BTreeMap, sync::Arc};

use alloy::{
    consensus::{Transaction as _, transaction::Recovered},
    primitives::{Address, TxKind, U64},
    rpc::types::TransactionInfo,
};
use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use op_alloy::{
    consensus::{OpTxEnvelope, transaction::OpTransactionInfo},
    rpc_types::Transaction as OpTransaction,
};
use serde::{Deserialize, Serialize};

use crate::RpcContext;

/// The pool's transactions, as [`PoolHandle::content`](crate::PoolHandle::content) reports them.
#[derive(Debug, Clone, Default)]
pub struct PoolContent {
    /// Executable transactions (no nonce gap from the sender's state nonce).
    pub pending: Vec<Recovered<OpTxEnvelope>>,
    /// Transactions waiting behind a nonce gap.
    pub queued: Vec<Recovered<OpTxEnvelope>>,
}

/// `txpool_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxpoolStatus {
    /// Number of pending transactions.
    pub pending: U64,
    /// Number of queued transactions.
    pub queued: U64,
}

/// sender (checksummed) → nonce → entry.
pub type BySender<T> = BTreeMap<String, BTreeMap<u64, T>>;

/// `txpool_content` and `txpool_inspect`: pending and queued entries grouped by sender and nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TxpoolGrouped<T> {
    /// Executable transactions.
    pub pending: BySender<T>,
    /// Transactions waiting behind a nonce gap.
    pub queued: BySender<T>,
}

/// `txpool_contentFrom`: one sender's transactions by nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TxpoolContentFrom {
    /// Executable transactions.
    pub pending: BTreeMap<u64, OpTransaction>,
    /// Transactions waiting behind a nonce gap.
    pub queued: BTreeMap<u64, OpTransaction>,
}

/// `txpool_` methods.
#[rpc(server, namespace = "txpool")]
pub trait TxpoolApi {
    /// Numbers of pending and queued transactions.
    #[method(name = "status")]
    fn status(&self) -> RpcResult<TxpoolStatus>;
    /// Every pooled transaction, by sender and nonce.
    #[method(name = "content")]
    fn content(&self) -> RpcResult<TxpoolGrouped<OpTransaction>>;
    /// One sender's pooled transactions, by nonce.
    #[method(name = "contentFrom")]
    fn content_from(&self, address: Address) -> RpcResult<TxpoolContentFrom>;
    /// One-line summaries of every pooled transaction, by sender and nonce.
    #[method(name = "inspect")]
    fn inspect(&self) -> RpcResult<TxpoolGrouped<String>>;
}

/// The `txpool_` implementation.
pub struct TxpoolRpc {
    ctx: Arc<RpcContext>,
}

impl TxpoolRpc {
    /// Over a context.
    pub fn new(ctx: Arc<RpcContext>) -> Self {
        Self { ctx }
    }
}

/// A pooled transaction as geth renders one that is not in a block.
fn render(tx: &Recovered<OpTxEnvelope>) -> OpTransaction {
    let info = OpTransactionInfo::new(
        TransactionInfo {
            hash: Some(tx.tx_hash()),
            ..Default::default()
        },
        Default::default(),
    );
    OpTransaction::from_transaction(tx.clone(), info)
}

/// geth's `txpool_inspect` line: `to: value wei + gas × gasPrice wei` (the fee cap for EIP-1559
/// transactions, as geth's `tx.GasPrice()`).
fn summary(tx: &OpTxEnvelope) -> String {
    let to = match tx.kind() {
        TxKind::Call(to) => to.to_checksum(None),
        TxKind::Create => "contract creation".to_string(),
    };
    format!(
        "{to}: {} wei + {} gas × {} wei",
        tx.value(),
        tx.gas_limit(),
        tx.max_fee_per_gas()
    )
}

fn group<T>(
    txs: &[Recovered<OpTxEnvelope>],
    f: impl Fn(&Recovered<OpTxEnvelope>) -> T,
) -> BySender<T> {
    let mut out: BySender<T> = BTreeMap::new();
    for tx in txs {
        out.entry(tx.signer().to_checksum(None))
            .or_default()
            .insert(tx.nonce(), f(tx));
    }
    out
}

impl TxpoolApiServer for TxpoolRpc {
    fn status(&self) -> RpcResult<TxpoolStatus> {
        let (pending, queued) = self.ctx.pool.status();
        Ok(TxpoolStatus {
            pending: U64::from(pending),
            queued: U64::from(queued),
        })
    }

    fn content(&self) -> RpcResult<TxpoolGrouped<OpTransaction>> {
        let c = self.ctx.pool.content();
        Ok(TxpoolGrouped {
            pending: group(&c.pending, render),
            queued: group(&c.queued, render),
        })
    }

    fn content_from(&self, address: Address) -> RpcResult<TxpoolContentFrom> {
        let c = self.ctx.pool.content();
        let of = |txs: &[Recovered<OpTxEnvelope>]| {
            txs.iter()
                .filter(|t| t.signer() == address)
                .map(|t| (t.nonce(), render(t)))
                .collect()
        };
        Ok(TxpoolContentFrom {
            pending: of(&c.pending),
            queued: of(&c.queued),
        })
    }

    fn inspect(&self) -> RpcResult<TxpoolGrouped<String>> {
        let c = self.ctx.pool.content();
        Ok(TxpoolGrouped {
            pending: group(&c.pending, |t| summary(t.inner())),
            queued: group(&c.queued, |t| summary(t.inner())),
        })
    }
}

#[cfg(test)]
mod tests {
    use alloy::{
        consensus::{Signed, TxEip1559, TxLegacy},
        primitives::{Signature, U256, address},
    };

    use super::*;

    fn eip1559(to: TxKind, nonce: u64) -> OpTxEnvelope {
        let tx = TxEip1559 {
            chain_id: 72077,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000,
            to,
            value: U256::from(5u64),
            ..Default::default()
        };
        OpTxEnvelope::Eip1559(Signed::new_unchecked(
            tx,
            Signature::test_signature(),
            Default::default(),
        ))
    }

    #[test]
    fn inspect_summary_matches_geth() {
        let to = address!("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
        assert_eq!(
            summary(&eip1559(TxKind::Call(to), 0)),
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8: 5 wei + 21000 gas × 2000000000 wei"
        );
        let legacy = TxLegacy {
            gas_price: 7,
            gas_limit: 100_000,
            to: TxKind::Create,
            ..Default::default()
        };
        let legacy = OpTxEnvelope::Legacy(Signed::new_unchecked(
            legacy,
            Signature::test_signature(),
            Default::default(),
        ));
        assert_eq!(
            summary(&legacy),
            "contract creation: 0 wei + 100000 gas × 7 wei"
        );
    }

    #[test]
    fn grouping_uses_checksummed_senders_and_decimal_nonces() {
        let sender = address!("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
        let txs: Vec<_> = [9u64, 10]
            .into_iter()
            .map(|n| Recovered::new_unchecked(eip1559(TxKind::Create, n), sender))
            .collect();
        let json = serde_json::to_value(TxpoolGrouped {
            pending: group(&txs, |t| summary(t.inner())),
            queued: BySender::new(),
        })
        .unwrap_or_default();
        let by_nonce = &json["pending"]["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"];
        assert!(
            by_nonce["9"].is_string() && by_nonce["10"].is_string(),
            "{json}"
        );
        assert_eq!(json["queued"], serde_json::json!({}));
    }
}
