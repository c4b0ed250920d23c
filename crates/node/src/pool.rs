//! The pool as a service: validation against the latest state and the next block's base fee and
//! L1 fee parameters, behind a lock shared by RPC handlers and the sequencer.

use std::{
    sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock},
    time::Instant,
};

use alloy::primitives::{Address, B256, Bytes, U256, map::AddressHashMap};
use opal_evm::OpalChain;
use opal_storage::{StateReader, Store};
use opal_txpool::{AccountInfo, BlockContext, Pool, PoolConfig, StateView};

use crate::journal::Journal;
use revm::database_interface::WrapDatabaseRef;
use tracing::debug;

/// The latest state as admission sees it: accounts from the head's cache, else from a read
/// view opened on first need (and then cached for the head).
struct Latest<'a> {
    store: &'a Store,
    head: &'a HeadContext,
    reader: OnceLock<StateReader>,
}

impl StateView for Latest<'_> {
    fn account(&self, address: Address) -> Result<AccountInfo, String> {
        if let Some(a) = self.head.accounts().get(&address) {
            return Ok(*a);
        }
        let reader = match self.reader.get() {
            Some(r) => r,
            None => {
                let r = self.store.latest().map_err(|e| e.to_string())?;
                self.reader.get_or_init(|| r)
            }
        };
        let account = reader
            .account(address)
            .map_err(|e| e.to_string())?
            .map(|a| AccountInfo {
                nonce: a.nonce,
                balance: a.balance,
            })
            .unwrap_or_default();
        self.head.remember(address, account);
        Ok(account)
    }
}

/// The most sender accounts one head's cache holds. A head normally lasts one block time, but
/// with the sequencer stopped it lasts until it is started again; past this, senders are read
/// from the store each time.
const MAX_CACHED_ACCOUNTS: usize = 65_536;

/// What admission needs from the head block, computed once per head rather than per
/// transaction.
struct HeadContext {
    /// The store's generation this was computed at; a later one means a new head.
    generation: u64,
    base_fee: u64,
    spec: op_revm::OpSpecId,
    l1: op_revm::L1BlockInfo,
    /// Sender accounts read at this head, so a sender's next transactions skip the database.
    accounts: Mutex<AddressHashMap<AccountInfo>>,
}

impl HeadContext {
    fn accounts(&self) -> MutexGuard<'_, AddressHashMap<AccountInfo>> {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Caches `account` for this head unless the cache is full.
    fn remember(&self, address: Address, account: AccountInfo) {
        let mut accounts = self.accounts();
        if accounts.len() < MAX_CACHED_ACCOUNTS {
            accounts.insert(address, account);
        }
    }
}

/// The admission count and how many threads wait for it to move.
#[derive(Debug, Default)]
struct Arrivals {
    count: u64,
    waiting: usize,
}

/// The shared pool.
pub struct PoolService {
    chain: Arc<OpalChain>,
    store: Arc<Store>,
    pool: Mutex<Pool>,
    /// The pool's limits, for the stateless checks run before taking the pool lock.
    config: PoolConfig,
    gas_limit: u64,
    journal: Mutex<Option<Journal>>,
    head: Mutex<Option<Arc<HeadContext>>>,
    /// Counts admissions (and wake-ups), so the sequencer can wait for new transactions.
    arrivals: Mutex<Arrivals>,
    arrived: Condvar,
    /// Transactions replaced since the sequencer last asked, which an open block may hold.
    replaced: Mutex<Vec<B256>>,
}

impl PoolService {
    /// A pool over the store's latest state.
    pub fn new(
        chain: Arc<OpalChain>,
        store: Arc<Store>,
        config: PoolConfig,
        gas_limit: u64,
    ) -> Self {
        Self {
            chain,
            store,
            pool: Mutex::new(Pool::new(config.clone())),
            config,
            gas_limit,
            journal: Mutex::new(None),
            head: Mutex::new(None),
            arrivals: Mutex::new(Arrivals::default()),
            arrived: Condvar::new(),
            replaced: Mutex::new(vec![]),
        }
    }

    /// Opens the journal in `datadir`, replays it into the pool and compacts it. Returns how many
    /// journaled transactions were readmitted.
    pub fn restore_journal(&self, datadir: &std::path::Path) -> std::io::Result<usize> {
        let (journal, txs) = Journal::open(datadir)?;
        let mut restored = 0;
        for raw in &txs {
            let added = self.with_context(|state, ctx| {
                self.lock().add(raw, state, ctx).map_err(|e| e.to_string())
            });
            match added {
                Ok(Ok(_)) => restored += 1,
                Ok(Err(why)) => debug!(%why, "journaled transaction not readmitted"),
                Err(e) => tracing::warn!(error = %e, "cannot replay journal"),
            }
        }
        *self.journal.lock().unwrap_or_else(|e| e.into_inner()) = Some(journal);
        self.compact_journal()?;
        Ok(restored)
    }

    /// Rewrites the journal with what the pool still holds.
    fn compact_journal(&self) -> std::io::Result<()> {
        let encoded: Vec<Bytes> = {
            let pool = self.lock();
            pool.pending()
                .chain(pool.queued())
                .map(|t| t.encoded.clone())
                .collect()
        };
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        match journal.as_mut() {
            Some(j) => j.rewrite(encoded.iter()),
            None => Ok(()),
        }
    }

    /// Locks the pool (a poisoned lock is recovered: the pool has no invariant a panic in a
    /// reader could break half-way).
    pub fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many transactions have been admitted (plus wake-ups) so far.
    pub fn arrivals(&self) -> u64 {
        self.arrivals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .count
    }

    /// Blocks until [`PoolService::arrivals`] moves past `seen` or `until` passes; returns the
    /// count then.
    pub fn wait_for_arrivals(&self, seen: u64, until: Instant) -> u64 {
        let mut a = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
        a.waiting += 1;
        while a.count == seen {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            a = self
                .arrived
                .wait_timeout(a, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        a.waiting -= 1;
        a.count
    }

    /// The transactions replaced in the pool since the last call.
    pub fn take_replaced(&self) -> Vec<B256> {
        std::mem::take(&mut *self.replaced.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Wakes whoever waits for arrivals (the sequencer, when it is told to stop).
    pub fn wake(&self) {
        let waiting = {
            let mut a = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
            a.count += 1;
            a.waiting > 0
        };
        // Most admissions find nobody waiting: no wake-up system call then.
        if waiting {
            self.arrived.notify_all();
        }
    }

    /// Runs `f` with the validation context of the next block over the latest state.
    pub fn with_context<T>(
        &self,
        f: impl FnOnce(&dyn StateView, &BlockContext<'_>) -> T,
    ) -> Result<T, String> {
        let (head, reader) = self.head_context()?;
        let l1_fee = |bytes: &[u8]| {
            let mut info = head.l1.clone();
            info.clear_tx_l1_cost();
            info.calculate_tx_l1_cost(bytes, head.spec)
        };
        let ctx = BlockContext {
            base_fee: head.base_fee,
            block_gas_limit: self.gas_limit,
            chain_id: self.chain.chain_id(),
            l1_fee: &l1_fee,
            now: Instant::now(),
        };
        let state = Latest {
            store: &self.store,
            head: &head,
            reader: reader.map(OnceLock::from).unwrap_or_default(),
        };
        Ok(f(&state, &ctx))
    }

    /// The next block's base fee and L1 fee parameters over the latest head: the cached ones
    /// while the store has committed nothing since, else computed from a new read view (which
    /// is returned too).
    fn head_context(&self) -> Result<(Arc<HeadContext>, Option<StateReader>), String> {
        // Read before the view is opened: the view is at least as new as this generation.
        let generation = self.store.generation();
        let mut cached = self.head.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cached.as_ref().filter(|c| c.generation == generation) {
            return Ok((c.clone(), None));
        }
        let reader = self.store.latest().map_err(|e| e.to_string())?;
        let head = reader
            .head()
            .map_err(|e| e.to_string())?
            .ok_or("chain not initialised")?;
        let header = reader
            .header(head)
            .map_err(|e| e.to_string())?
            .ok_or("head header missing")?;
        let next_ts = header.timestamp + 1;
        let base_fee = self
            .chain
            .next_base_fee(&header, next_ts)
            .map_err(|e| e.to_string())?;
        let spec = self.chain.spec_id(next_ts);
        let l1 = op_revm::L1BlockInfo::try_fetch(
            &mut WrapDatabaseRef(&reader),
            U256::from(head + 1),
            spec,
        )
        .map_err(|e| e.to_string())?;
        let c = Arc::new(HeadContext {
            generation,
            base_fee,
            spec,
            l1,
            accounts: Mutex::new(AddressHashMap::default()),
        });
        *cached = Some(c.clone());
        Ok((c, Some(reader)))
    }

    /// After a block: drops mined and no-longer-valid transactions, promotes queued ones.
    pub fn on_new_block(&self) {
        let res = self.with_context(|state, ctx| {
            let mut pool = self.lock();
            let dropped = pool.on_new_block(state, ctx);
            let expired = pool.remove_expired(ctx.now);
            (dropped, expired)
        });
        match res {
            Ok((dropped, expired)) => {
                for (hash, why) in dropped {
                    debug!(%hash, %why, "dropped from pool");
                }
                for hash in expired {
                    debug!(%hash, "expired from pool");
                }
            }
            Err(e) => tracing::warn!(error = %e, "pool re-evaluation failed"),
        }
        let (journaled, pooled) = {
            let journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
            (
                journal.as_ref().map_or(0, |j| j.written()),
                self.lock().len(),
            )
        };
        if journaled > 2 * pooled + 64
            && let Err(e) = self.compact_journal()
        {
            tracing::warn!(error = %e, "journal compaction failed");
        }
    }
}

impl opal_rpc::PoolHandle for PoolService {
    fn submit(&self, raw: Bytes) -> Result<B256, String> {
        let hash = self.with_context(|state, ctx| {
            // Decoding and sender recovery run outside the lock, in parallel across handlers.
            let tx = Pool::validate(&raw, &self.config, ctx).map_err(|e| e.to_string())?;
            let added = self
                .lock()
                .add_validated(tx, state, ctx)
                .map_err(|e| e.to_string())?;
            if let Some(old) = added.replaced {
                self.replaced
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(old);
            }
            Ok::<_, String>(added.hash)
        })??;
        if let Some(j) = self
            .journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            // The transaction is pooled either way; a journal failure only loses restart safety.
            if let Err(e) = j.append(&raw) {
                tracing::warn!(error = %e, "cannot journal transaction");
            }
        }
        self.wake();
        Ok(hash)
    }

    fn pending_nonce(&self, sender: Address, state_nonce: u64) -> u64 {
        self.lock().pending_nonce(sender, state_nonce)
    }

    fn status(&self) -> (usize, usize) {
        self.lock().status()
    }

    fn content(&self) -> opal_rpc::PoolContent {
        let pool = self.lock();
        opal_rpc::PoolContent {
            pending: pool.pending().map(|t| t.tx.clone()).collect(),
            queued: pool.queued().map(|t| t.tx.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn the_head_account_cache_stops_growing_at_its_cap() {
        let ctx = HeadContext {
            generation: 0,
            base_fee: 0,
            spec: op_revm::OpSpecId::ISTHMUS,
            l1: op_revm::L1BlockInfo::default(),
            accounts: Mutex::new(AddressHashMap::default()),
        };
        let info = |n: u64| AccountInfo {
            nonce: n,
            balance: U256::from(n),
        };
        for i in 0..MAX_CACHED_ACCOUNTS as u64 + 10 {
            ctx.remember(Address::left_padding_from(&i.to_be_bytes()), info(i));
        }
        let accounts = ctx.accounts();
        assert_eq!(accounts.len(), MAX_CACHED_ACCOUNTS);
        assert_eq!(
            accounts.get(&Address::left_padding_from(&[7])),
            Some(&info(7))
        );
        let late = (MAX_CACHED_ACCOUNTS as u64 + 3).to_be_bytes();
        assert_eq!(accounts.get(&Address::left_padding_from(&late)), None);
    }
}
