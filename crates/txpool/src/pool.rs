//! The pool: admission, the pending/queued split per sender, limits with eviction, and
//! re-evaluation after each block.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Instant,
};

use alloy::primitives::{Address, B256, U256};

use crate::{
    AccountInfo, BestTransactions, BlockContext, PoolConfig, PoolError, PooledTx, StateView,
    sender::{SenderTxs, contiguous_from},
    validate::validate_stateless,
};

#[cfg(test)]
mod tests;

/// What [`Pool::add`] did with an accepted transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddOutcome {
    /// Hash of the added transaction.
    pub hash: B256,
    /// Whether it is executable now (pending) rather than waiting for a nonce gap (queued).
    pub pending: bool,
    /// The transaction it replaced (same sender and nonce), if any.
    pub replaced: Option<B256>,
    /// Transactions removed to make room (evicted as cheapest) or found already mined while
    /// admitting this one.
    pub discarded: Vec<B256>,
}

/// What [`Pool::remove`] did.
#[derive(Clone, Debug)]
pub struct RemoveOutcome {
    /// The removed transaction.
    pub tx: Arc<PooledTx>,
    /// Other transactions evicted (cheapest first) because the removal opened a nonce gap and
    /// the sender's later transactions, demoted to queued, overfilled the queued sub-pool.
    pub evicted: Vec<B256>,
}

/// A transaction that passed the stateless admission checks ([`Pool::validate`]), ready for
/// [`Pool::add_validated`].
#[derive(Clone, Debug)]
pub struct ValidatedTx(PooledTx);

impl ValidatedTx {
    /// Its hash.
    pub fn hash(&self) -> B256 {
        self.0.hash
    }
}

/// A validated, nonce-ordered, price-prioritised transaction pool.
///
/// Each sender's transactions are kept by nonce; those forming a consecutive run from the
/// account's state nonce are *pending* (executable in order now), the rest are *queued*.
/// The pool is not synchronised: wrap it in a lock to share it.
#[derive(Debug)]
pub struct Pool {
    config: PoolConfig,
    by_hash: HashMap<B256, Arc<PooledTx>>,
    senders: BTreeMap<Address, SenderTxs>,
    pending_count: usize,
    queued_count: usize,
    next_seq: u64,
    /// The base fee of the latest [`Pool::add`] or [`Pool::on_new_block`] context: prices
    /// the evictions [`Pool::remove`] may need, which has no context of its own.
    base_fee: u64,
}

impl Pool {
    /// An empty pool with the given limits.
    pub fn new(config: PoolConfig) -> Self {
        Self {
            config,
            by_hash: HashMap::new(),
            senders: BTreeMap::new(),
            pending_count: 0,
            queued_count: 0,
            next_seq: 0,
            base_fee: 0,
        }
    }

    /// The pool's limits.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Validates the EIP-2718 bytes `raw` against `state` and `ctx` and admits the
    /// transaction, replacing the sender's transaction with the same nonce when it pays
    /// enough more, and evicting the cheapest transaction of another sender when the target
    /// sub-pool is full and this one pays more.
    ///
    /// Checks, in order: size, decoding and type, chain id, signature, tip against fee cap,
    /// block gas limit, intrinsic gas, fee cap against `max(min_base_fee, base fee)`, nonce
    /// too low, already known, replacement bump, balance (`gas * maxFee + value + L1 data
    /// fee`), per-sender and global limits.
    pub fn add(
        &mut self,
        raw: &[u8],
        state: &dyn StateView,
        ctx: &BlockContext<'_>,
    ) -> Result<AddOutcome, PoolError> {
        let tx = Self::validate(raw, &self.config, ctx)?;
        self.add_validated(tx, state, ctx)
    }

    /// The stateless half of [`Pool::add`] (size, decoding, chain id, signature, fee fields, gas
    /// limit, intrinsic gas, fee cap against the base fee), which needs no pool: callers that
    /// share the pool behind a lock run it, sender recovery included, before taking the lock.
    pub fn validate(
        raw: &[u8],
        config: &PoolConfig,
        ctx: &BlockContext<'_>,
    ) -> Result<ValidatedTx, PoolError> {
        validate_stateless(raw, config, ctx).map(ValidatedTx)
    }

    /// The stateful half of [`Pool::add`], for a transaction [`Pool::validate`] accepted under
    /// the same context.
    pub fn add_validated(
        &mut self,
        tx: ValidatedTx,
        state: &dyn StateView,
        ctx: &BlockContext<'_>,
    ) -> Result<AddOutcome, PoolError> {
        self.base_fee = ctx.base_fee;
        let mut tx = tx.0;
        let sender = tx.sender;
        let account = state.account(sender).map_err(PoolError::State)?;
        if tx.nonce < account.nonce {
            return Err(PoolError::NonceTooLow {
                next: account.nonce,
                nonce: tx.nonce,
            });
        }
        if self.by_hash.contains_key(&tx.hash) {
            return Err(PoolError::AlreadyKnown);
        }
        let existing = self
            .senders
            .get(&sender)
            .and_then(|s| s.txs.get(&tx.nonce))
            .cloned();
        if let Some(old) = &existing
            && !is_sufficient_bump(old, &tx, self.config.price_bump_percent)
        {
            return Err(PoolError::ReplaceUnderpriced);
        }
        check_funds(account.balance, tx.cost, (ctx.l1_fee)(&tx.encoded))?;

        let mut discarded: Vec<B256> = self
            .sync_state_nonce(sender, account.nonce)
            .iter()
            .map(|tx| tx.hash)
            .collect();
        if existing.is_none() {
            discarded.extend(self.make_room(&tx, account.nonce, ctx.base_fee)?);
        }

        tx.seq = self.next_seq;
        self.next_seq += 1;
        let (hash, nonce) = (tx.hash, tx.nonce);
        let tx = Arc::new(tx);
        if let Some(old) = &existing {
            self.by_hash.remove(&old.hash);
        }
        self.by_hash.insert(hash, Arc::clone(&tx));
        self.senders
            .entry(sender)
            .or_insert_with(|| SenderTxs::new(account.nonce));
        self.update_sender(sender, |s| s.txs.insert(nonce, tx));
        discarded.extend(
            self.enforce_limits(ctx.base_fee, Some(sender))
                .iter()
                .map(|t| t.hash),
        );

        let pending = match self.senders.get(&sender) {
            Some(s) if self.by_hash.contains_key(&hash) => nonce < s.next_nonce(),
            _ => return Err(PoolError::PoolFull),
        };
        let replaced = existing.map(|old| old.hash);
        tracing::debug!(%hash, %sender, nonce, pending, ?replaced, "txpool: added");
        Ok(AddOutcome {
            hash,
            pending,
            replaced,
            discarded,
        })
    }

    /// A snapshot of the pending transactions in block order at `base_fee`.
    pub fn best(&self, base_fee: u64) -> BestTransactions {
        self.best_from(base_fee, &HashMap::new())
    }

    /// Like [`Pool::best`], for a block already holding some transactions: a sender listed in
    /// `start` contributes only its pending transactions from that nonce on (`u64::MAX`: none).
    pub fn best_from(&self, base_fee: u64, start: &HashMap<Address, u64>) -> BestTransactions {
        BestTransactions::new(
            base_fee,
            self.senders.iter().filter_map(|(sender, s)| {
                let from = start.get(sender).copied().unwrap_or(0);
                (from != u64::MAX).then(|| {
                    let txs = s.pending_txs().filter(|t| t.nonce >= from).cloned();
                    (*sender, txs.collect())
                })
            }),
        )
    }

    /// Re-evaluates every sender after a block: drops mined transactions (nonce below the
    /// account nonce), those the balance no longer covers, those whose fee cap is below the
    /// configured minimum and those above the block gas limit; promotes queued transactions
    /// whose gap filled and demotes pending ones behind a new gap; then enforces the limits.
    /// Returns each dropped transaction with the reason.
    pub fn on_new_block(
        &mut self,
        state: &dyn StateView,
        ctx: &BlockContext<'_>,
    ) -> Vec<(B256, PoolError)> {
        self.base_fee = ctx.base_fee;
        let mut dropped = Vec::new();
        let senders: Vec<Address> = self.senders.keys().copied().collect();
        for sender in senders {
            let account = match state.account(sender) {
                Ok(account) => account,
                Err(err) => {
                    tracing::warn!(%sender, %err, "txpool: cannot read account; kept its txs");
                    continue;
                }
            };
            let min_fee = self.config.min_base_fee;
            let removed = self
                .update_sender(sender, |s| {
                    let next = account.nonce;
                    let mut removed: Vec<_> = s
                        .set_state_nonce(next)
                        .into_iter()
                        .map(|tx| {
                            let err = PoolError::NonceTooLow {
                                next,
                                nonce: tx.nonce,
                            };
                            (tx, err)
                        })
                        .collect();
                    let invalid: Vec<_> = s
                        .txs
                        .values()
                        .filter_map(|tx| {
                            recheck(tx, &account, min_fee, ctx)
                                .err()
                                .map(|e| (tx.nonce, e))
                        })
                        .collect();
                    for (nonce, err) in invalid {
                        removed.extend(s.txs.remove(&nonce).map(|tx| (tx, err)));
                    }
                    removed
                })
                .unwrap_or_default();
            for (tx, err) in removed {
                self.by_hash.remove(&tx.hash);
                tracing::debug!(hash = %tx.hash, %sender, reason = %err, "txpool: dropped");
                dropped.push((tx.hash, err));
            }
        }
        for tx in self.enforce_limits(ctx.base_fee, None) {
            dropped.push((tx.hash, PoolError::PoolFull));
        }
        dropped
    }

    /// Removes queued transactions that have waited longer than the configured lifetime.
    pub fn remove_expired(&mut self, now: Instant) -> Vec<B256> {
        let lifetime = self.config.queued_lifetime;
        let expired: Vec<B256> = self
            .senders
            .values()
            .flat_map(SenderTxs::queued_txs)
            .filter(|tx| now.saturating_duration_since(tx.added) > lifetime)
            .map(|tx| tx.hash)
            .collect();
        // Removing a queued transaction demotes nothing, so the limits still hold.
        for hash in &expired {
            self.remove_one(hash);
        }
        expired
    }

    /// Removes a transaction; the sender's later transactions become queued behind the gap.
    /// When that demotion overfills the queued sub-pool, the cheapest queued transactions (at
    /// the base fee of the latest [`add`](Self::add) or [`on_new_block`](Self::on_new_block))
    /// are evicted and reported in [`RemoveOutcome::evicted`].
    pub fn remove(&mut self, hash: &B256) -> Option<RemoveOutcome> {
        let tx = self.remove_one(hash)?;
        let evicted = self
            .enforce_limits(self.base_fee, None)
            .iter()
            .map(|tx| tx.hash)
            .collect();
        Some(RemoveOutcome { tx, evicted })
    }

    /// Removes one transaction without enforcing the limits.
    fn remove_one(&mut self, hash: &B256) -> Option<Arc<PooledTx>> {
        let tx = self.by_hash.remove(hash)?;
        self.update_sender(tx.sender, |s| s.txs.remove(&tx.nonce));
        Some(tx)
    }

    /// The pooled transaction with this hash.
    pub fn get(&self, hash: &B256) -> Option<Arc<PooledTx>> {
        self.by_hash.get(hash).cloned()
    }

    /// Whether the pool holds this transaction.
    pub fn contains(&self, hash: &B256) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// Pending transactions, grouped by sender (ascending address), in nonce order.
    pub fn pending(&self) -> impl Iterator<Item = &Arc<PooledTx>> {
        self.senders.values().flat_map(SenderTxs::pending_txs)
    }

    /// Queued transactions, grouped by sender (ascending address), in nonce order.
    pub fn queued(&self) -> impl Iterator<Item = &Arc<PooledTx>> {
        self.senders.values().flat_map(SenderTxs::queued_txs)
    }

    /// `(pending, queued)` transaction counts.
    pub fn status(&self) -> (usize, usize) {
        (self.pending_count, self.queued_count)
    }

    /// Number of pooled transactions.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// The nonce `sender`'s next transaction should use: `state_nonce` plus the run of
    /// consecutive pooled nonces from it (for `eth_getTransactionCount(.., "pending")`).
    pub fn pending_nonce(&self, sender: Address, state_nonce: u64) -> u64 {
        self.senders.get(&sender).map_or(state_nonce, |s| {
            state_nonce + contiguous_from(&s.txs, state_nonce) as u64
        })
    }

    /// Applies `f` to `sender`'s list and brings the split and the counters up to date,
    /// dropping the list when it empties. Callers keep `by_hash` in step.
    fn update_sender<R>(
        &mut self,
        sender: Address,
        f: impl FnOnce(&mut SenderTxs) -> R,
    ) -> Option<R> {
        let s = self.senders.get_mut(&sender)?;
        self.pending_count -= s.pending;
        self.queued_count -= s.queued();
        let out = f(s);
        s.recount();
        self.pending_count += s.pending;
        self.queued_count += s.queued();
        if s.txs.is_empty() {
            self.senders.remove(&sender);
        }
        Some(out)
    }

    /// Moves `sender`'s state nonce to `nonce`, removing the transactions it makes stale.
    fn sync_state_nonce(&mut self, sender: Address, nonce: u64) -> Vec<Arc<PooledTx>> {
        let stale = self
            .update_sender(sender, |s| s.set_state_nonce(nonce))
            .unwrap_or_default();
        for tx in &stale {
            self.by_hash.remove(&tx.hash);
        }
        stale
    }

    /// Checks the per-sender limit for a new (not replacing) transaction and, when the
    /// sub-pool it goes to is full, evicts the cheapest transaction of another sender if the
    /// new one pays a higher effective tip.
    fn make_room(
        &mut self,
        tx: &PooledTx,
        state_nonce: u64,
        base_fee: u64,
    ) -> Result<Vec<B256>, PoolError> {
        let (count, next) = self
            .senders
            .get(&tx.sender)
            .map_or((0, state_nonce), |s| (s.txs.len(), s.next_nonce()));
        if count >= self.config.max_per_sender {
            return Err(PoolError::AccountLimitExceeded {
                sender: tx.sender,
                limit: self.config.max_per_sender,
            });
        }
        let to_pending = tx.nonce == next;
        let (used, max) = if to_pending {
            (self.pending_count, self.config.max_pending)
        } else {
            (self.queued_count, self.config.max_queued)
        };
        if used < max {
            return Ok(Vec::new());
        }
        match self.cheapest_tail(to_pending, base_fee, Some(tx.sender)) {
            Some(victim) if victim.effective_tip(base_fee) < tx.effective_tip(base_fee) => {
                tracing::debug!(hash = %victim.hash, "txpool: evicted for a better-paying tx");
                self.remove_one(&victim.hash);
                Ok(vec![victim.hash])
            }
            _ => Err(PoolError::PoolFull),
        }
    }

    /// Evicts the cheapest transactions until both sub-pools are within their limits,
    /// sparing `protect` while another sender has something to evict.
    fn enforce_limits(&mut self, base_fee: u64, protect: Option<Address>) -> Vec<Arc<PooledTx>> {
        let mut evicted = Vec::new();
        for pending in [true, false] {
            loop {
                let (used, max) = if pending {
                    (self.pending_count, self.config.max_pending)
                } else {
                    (self.queued_count, self.config.max_queued)
                };
                if used <= max {
                    break;
                }
                let Some(victim) = self
                    .cheapest_tail(pending, base_fee, protect)
                    .or_else(|| self.cheapest_tail(pending, base_fee, None))
                else {
                    break;
                };
                evicted.extend(self.remove_one(&victim.hash));
            }
        }
        evicted
    }

    /// Among each sender's last pending (or last queued) transaction — removing one opens no
    /// gap — the one with the lowest effective tip at `base_fee`, newest first on ties.
    fn cheapest_tail(
        &self,
        pending: bool,
        base_fee: u64,
        exclude: Option<Address>,
    ) -> Option<Arc<PooledTx>> {
        self.senders
            .iter()
            .filter(|(sender, _)| Some(**sender) != exclude)
            .filter_map(|(_, s)| {
                if pending {
                    s.pending_tail()
                } else {
                    s.queued_tail()
                }
            })
            .min_by(|a, b| {
                a.effective_tip(base_fee)
                    .cmp(&b.effective_tip(base_fee))
                    .then_with(|| b.seq.cmp(&a.seq))
            })
            .cloned()
    }
}

/// Whether `new` raises both the fee cap and the tip of `old` by at least `bump_percent`.
fn is_sufficient_bump(old: &PooledTx, new: &PooledTx, bump_percent: u64) -> bool {
    let raised = |old: u128, new: u128| {
        let threshold = U256::from(old) * U256::from(100 + bump_percent) / U256::from(100);
        new > old && U256::from(new) >= threshold
    };
    raised(old.max_fee_per_gas(), new.max_fee_per_gas())
        && raised(
            old.max_priority_fee_per_gas(),
            new.max_priority_fee_per_gas(),
        )
}

/// `balance >= cost + l1_fee`.
fn check_funds(balance: U256, cost: U256, l1_fee: U256) -> Result<(), PoolError> {
    let cost = cost.saturating_add(l1_fee);
    if balance < cost {
        return Err(PoolError::InsufficientFunds {
            balance,
            cost,
            overshot: cost - balance,
        });
    }
    Ok(())
}

/// The checks a pooled transaction must still pass after a block.
fn recheck(
    tx: &PooledTx,
    account: &AccountInfo,
    min_fee: u64,
    ctx: &BlockContext<'_>,
) -> Result<(), PoolError> {
    if tx.max_fee_per_gas() < u128::from(min_fee) {
        return Err(PoolError::FeeCapTooLow {
            sender: tx.sender,
            fee_cap: tx.max_fee_per_gas(),
            base_fee: min_fee,
        });
    }
    if tx.gas_limit() > ctx.block_gas_limit {
        return Err(PoolError::GasLimit {
            gas: tx.gas_limit(),
            limit: ctx.block_gas_limit,
        });
    }
    check_funds(account.balance, tx.cost, (ctx.l1_fee)(&tx.encoded))
}

#[cfg(test)]
impl Pool {
    /// Panics unless the pool's internal structure is consistent.
    pub(crate) fn check_invariants(&self) {
        let mut total = 0;
        let (mut pending, mut queued) = (0, 0);
        for (sender, s) in &self.senders {
            assert!(!s.txs.is_empty(), "empty sender list kept");
            assert_eq!(s.pending, contiguous_from(&s.txs, s.state_nonce));
            for (i, tx) in s.pending_txs().enumerate() {
                assert_eq!(tx.nonce, s.state_nonce + i as u64, "pending not contiguous");
            }
            if let Some(first_queued) = s.queued_txs().next() {
                assert!(
                    first_queued.nonce > s.next_nonce(),
                    "queued tx could be pending"
                );
            }
            for (nonce, tx) in &s.txs {
                assert!(*nonce >= s.state_nonce, "stale tx kept");
                assert_eq!((tx.sender, tx.nonce), (*sender, *nonce));
                assert!(
                    Arc::ptr_eq(&self.by_hash[&tx.hash], tx),
                    "hash index out of step"
                );
            }
            total += s.txs.len();
            pending += s.pending;
            queued += s.queued();
        }
        assert_eq!(total, self.by_hash.len());
        assert_eq!((pending, queued), (self.pending_count, self.queued_count));
        assert_eq!(self.pending().count(), pending);
        assert_eq!(self.queued().count(), queued);
        let pending_hashes: std::collections::HashSet<_> = self.pending().map(|t| t.hash).collect();
        assert!(
            self.queued().all(|t| !pending_hashes.contains(&t.hash)),
            "tx in both sub-pools"
        );
        assert!(
            self.senders
                .values()
                .all(|s| s.txs.len() <= self.config.max_per_sender)
        );
    }
}
