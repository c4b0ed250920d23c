//! The attribution index: the ledger's events, decoded from each committed block's receipts
//! into tables of the node's own database, in the block's write transaction (see
//! [`opal_storage::BlockIndexer`]), unwound with the block on a reorg.
//!
//! What it keeps:
//! - inferences (id → block, transaction, log, model, attestor, fee, record hash or batch hash);
//! - one credit row per share and per pool credited, keyed by a stable [`Cursor`]
//!   `(block, log index, row)`; per recipient, datanet and model, one posting list per block of
//!   the cursors of its credits; per inference, the runs of consecutive credit rows it made;
//! - totals per account (credited, claimed), per account and datanet / model / UTC day, per
//!   datanet and contributor (with a rank by amount), per model, per day;
//! - models and datanets as registered and updated, claims, batches.
//!
//! The ledger emits `ShareCredited` for every positive share of `recordInference`, but credits
//! the model, staker and protocol pools (and an unclaimed contributor pool, to the treasury)
//! without events; the index derives those with the same [`crate::fee_split::split`] and the fee
//! config in force, tracked from the genesis value and every `FeeConfigSet` after it. For
//! `recordBatch` only per-recipient totals are logged (`BatchCredited`); when the transaction
//! called the ledger directly, the index decodes its calldata, checks it hashes to the batch
//! hash, re-splits every inference, and keeps per-share rows if their per-recipient sums equal
//! the logged totals; otherwise it keeps the logged totals (datanet unknown) and warns.
//!
//! A block's writes go through a journal (see `kv`): the rows it adds have keys that embed the
//! block (a cursor, or the block number), are written table by table in key order without undo
//! entries, and are deleted on unwind by the block's key range or by keys recomputed from its
//! credit and attribution rows; the records it updates in place (totals, registry records,
//! ranks, batches, the fee config, the tip) are read and decoded once per block, written once,
//! and carry an undo entry each. Unwinding restores every table byte for byte.

mod apply;
mod kv;
pub mod query;
mod rows;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use alloy_primitives::{B256, U256};
use opal_storage::{BlockIndexer, BlockRecord, StoreError};
use redb::WriteTransaction;

pub use apply::{DAY_SECONDS, LEDGER_MIN_SHARE_BPS, day_of};
pub use rows::{
    AccountTotals, BatchRow, CreditKind, CreditRow, Cursor, DatanetRow, InferenceRow, ModelRow,
    Totals, TxRef,
};

use crate::layout::{FeeConfig, Ns, field};

/// The attribution index, registered with [`opal_storage::Store::with_indexer`].
#[derive(Debug, Clone)]
pub struct AttributionIndex {
    initial_fee: FeeConfig,
}

impl AttributionIndex {
    /// An index whose fee config before any `FeeConfigSet` is `initial_fee` (the genesis one:
    /// see [`Self::genesis_fee_config`]).
    pub fn new(initial_fee: FeeConfig) -> Self {
        Self { initial_fee }
    }

    /// The fee config a genesis alloc gives the ledger (its config fields 1–3; all zero when the
    /// alloc has no ledger storage).
    pub fn genesis_fee_config(ledger_storage: Option<&BTreeMap<B256, B256>>) -> FeeConfig {
        let word = |i: u64| {
            let key = B256::from(field(Ns::Config, B256::ZERO, i));
            ledger_storage
                .and_then(|s| s.get(&key))
                .map_or(U256::ZERO, |v| U256::from_be_bytes(v.0))
        };
        FeeConfig::from_words(word(1), word(2), word(3))
    }

    /// The fee config before any `FeeConfigSet`.
    pub fn initial_fee_config(&self) -> FeeConfig {
        self.initial_fee
    }
}

impl BlockIndexer for AttributionIndex {
    fn name(&self) -> &'static str {
        "attribution"
    }

    fn create_tables(&self, txn: &WriteTransaction) -> Result<(), StoreError> {
        kv::create_tables(txn)
    }

    fn indexed_tip(&self, txn: &WriteTransaction) -> Result<Option<(u64, B256)>, StoreError> {
        use kv::Db;
        use redb::ReadableTable;
        let t = txn.open_table(kv::Tbl::Meta.def()).db()?;
        Ok(t.get(apply::TIP)
            .db()?
            .and_then(|v| apply::decode_tip(v.value())))
    }

    fn index_block(&self, txn: &WriteTransaction, block: &BlockRecord) -> Result<(), StoreError> {
        apply::index_block(txn, block, &self.initial_fee)
    }

    fn unwind_block(&self, txn: &WriteTransaction, number: u64) -> Result<(), StoreError> {
        let tip = self.indexed_tip(txn)?.map(|t| t.0);
        if tip != Some(number) {
            return Err(StoreError::Index(format!(
                "attribution index: unwinding block {number} but its tip is {tip:?}"
            )));
        }
        apply::unwind_block(txn, number)
    }
}
