//! One sender's transactions, by nonce. The pending ones are exactly the run of consecutive
//! nonces starting at the account's state nonce; every other transaction is queued. Keeping a
//! single map and deriving the split means a transaction can never sit in both sub-pools.

use std::{collections::BTreeMap, sync::Arc};

use crate::PooledTx;

/// A sender's pooled transactions and the state nonce they are judged against.
#[derive(Debug)]
pub(crate) struct SenderTxs {
    /// The account's nonce in the latest state the pool saw.
    pub(crate) state_nonce: u64,
    /// Transactions by nonce; all nonces are `>= state_nonce`.
    pub(crate) txs: BTreeMap<u64, Arc<PooledTx>>,
    /// How many of `txs` (the first ones) are pending.
    pub(crate) pending: usize,
}

impl SenderTxs {
    /// An empty list for an account at `state_nonce`.
    pub(crate) fn new(state_nonce: u64) -> Self {
        Self {
            state_nonce,
            txs: BTreeMap::new(),
            pending: 0,
        }
    }

    /// Number of queued transactions.
    pub(crate) fn queued(&self) -> usize {
        self.txs.len() - self.pending
    }

    /// Recomputes the pending run after any change.
    pub(crate) fn recount(&mut self) {
        self.pending = contiguous_from(&self.txs, self.state_nonce);
    }

    /// The next nonce after the pending run.
    pub(crate) fn next_nonce(&self) -> u64 {
        self.state_nonce + self.pending as u64
    }

    /// Moves the state nonce to `nonce` and removes the transactions it makes stale.
    pub(crate) fn set_state_nonce(&mut self, nonce: u64) -> Vec<Arc<PooledTx>> {
        self.state_nonce = nonce;
        let keep = self.txs.split_off(&nonce);
        let stale = std::mem::replace(&mut self.txs, keep);
        stale.into_values().collect()
    }

    /// Pending transactions in nonce order.
    pub(crate) fn pending_txs(&self) -> impl Iterator<Item = &Arc<PooledTx>> {
        self.txs.values().take(self.pending)
    }

    /// Queued transactions in nonce order.
    pub(crate) fn queued_txs(&self) -> impl Iterator<Item = &Arc<PooledTx>> {
        self.txs.values().skip(self.pending)
    }

    /// The last pending transaction: the one to evict from this sender without opening a gap.
    pub(crate) fn pending_tail(&self) -> Option<&Arc<PooledTx>> {
        let last = self.next_nonce().checked_sub(1)?;
        if self.pending == 0 {
            None
        } else {
            self.txs.get(&last)
        }
    }

    /// The highest-nonce queued transaction.
    pub(crate) fn queued_tail(&self) -> Option<&Arc<PooledTx>> {
        (self.queued() > 0)
            .then(|| self.txs.values().next_back())
            .flatten()
    }
}

/// Length of the run of consecutive nonces in `txs` starting at `start`.
pub(crate) fn contiguous_from(txs: &BTreeMap<u64, Arc<PooledTx>>, start: u64) -> usize {
    txs.range(start..)
        .zip(start..)
        .take_while(|((nonce, _), expected)| *nonce == expected)
        .count()
}
