//! Block-building order over a snapshot of the pending sub-pool: highest effective tip first
//! across senders, nonce order within a sender.

use std::{
    cmp::Ordering,
    collections::{BinaryHeap, HashMap, VecDeque},
    sync::Arc,
};

use alloy::primitives::Address;

use crate::PooledTx;

/// Iterator over pending transactions in the order a block should include them: the highest
/// effective tip at the base fee given to [`Pool::best`](crate::Pool::best) first, each
/// sender's transactions in nonce order. A sender whose next transaction's fee cap is below
/// the base fee yields nothing more (its later nonces could not execute either).
///
/// It is a snapshot: changes to the pool after it was taken are not seen.
#[derive(Debug)]
pub struct BestTransactions {
    base_fee: u64,
    /// Each sender's remaining transactions in nonce order.
    queues: HashMap<Address, VecDeque<Arc<PooledTx>>>,
    /// One entry per sender with transactions left: the tip of its next transaction.
    heap: BinaryHeap<Entry>,
}

impl BestTransactions {
    /// A snapshot over `senders`, each given as its pending transactions in nonce order.
    pub(crate) fn new(
        base_fee: u64,
        senders: impl Iterator<Item = (Address, Vec<Arc<PooledTx>>)>,
    ) -> Self {
        let mut best = Self {
            base_fee,
            queues: HashMap::new(),
            heap: BinaryHeap::new(),
        };
        for (sender, txs) in senders {
            if !txs.is_empty() {
                best.queues.insert(sender, txs.into());
                best.push_head(sender);
            }
        }
        best
    }

    /// Skips the rest of `sender`'s transactions in this iteration, e.g. after one of them
    /// failed to execute (its later nonces cannot execute either).
    pub fn mark_invalid(&mut self, sender: Address) {
        self.queues.remove(&sender);
    }

    /// Puts `sender`'s next transaction on the heap, or forgets the sender when it has none
    /// left or its next one does not pay the base fee.
    fn push_head(&mut self, sender: Address) {
        let Some(queue) = self.queues.get(&sender) else {
            return;
        };
        match queue
            .front()
            .map(|tx| (tx.effective_tip(self.base_fee), tx.seq))
        {
            Some((Some(tip), seq)) => self.heap.push(Entry { tip, seq, sender }),
            _ => {
                self.queues.remove(&sender);
            }
        }
    }
}

impl Iterator for BestTransactions {
    type Item = Arc<PooledTx>;

    /// The next transaction to include, if any.
    fn next(&mut self) -> Option<Arc<PooledTx>> {
        while let Some(entry) = self.heap.pop() {
            // Senders marked invalid have no queue left; their heap entry is stale.
            let Some(tx) = self
                .queues
                .get_mut(&entry.sender)
                .and_then(VecDeque::pop_front)
            else {
                continue;
            };
            self.push_head(entry.sender);
            return Some(tx);
        }
        None
    }
}

/// A sender's next transaction on the heap: ordered by tip, then older first.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    tip: u128,
    seq: u64,
    sender: Address,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.tip
            .cmp(&other.tip)
            .then_with(|| other.seq.cmp(&self.seq))
            .then_with(|| self.sender.cmp(&other.sender))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
