//! The sequencer loop: build each block on top of the head for one block time, executing pool
//! transactions as they arrive, then commit it at the block's deadline and re-evaluate the pool.
//! Executing during the block time leaves only the commit between a block's deadline and its
//! receipts.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use alloy::primitives::Address;
use alloy::{
    consensus::transaction::Recovered,
    eips::eip2718::WithEncoded,
    primitives::{B64, B256, U256},
};
use op_alloy::consensus::OpTxEnvelope;
use opal_evm::{
    BlockExecutor, ExecError, SequencerInputs, SkipReason, TxSource, sequencer_attributes,
};
use opal_primitives::RollupConfig;
use opal_protocol::L1BlockInfo;
use opal_txpool::BestTransactions;
use tracing::{debug, error, info, info_span, warn};

use crate::{NodeError, PoolService, metrics::Metrics};

/// The L1 origin a node without an L1 connection sequences on: the rollup's genesis L1 block,
/// with the SystemConfig fee parameters.
#[derive(Debug, Clone, Copy)]
pub struct DevL1 {
    /// L1 attributes of the origin (sequence number is set per block).
    pub info: L1BlockInfo,
    /// Block gas limit.
    pub gas_limit: u64,
    /// L2 genesis block number (sequence numbers count from it).
    pub l2_genesis: u64,
}

impl DevL1 {
    /// The genesis L1 origin of `rollup`.
    pub fn from_rollup(rollup: &RollupConfig) -> Self {
        let (base_fee_scalar, blob_base_fee_scalar) = rollup.fee_scalars();
        let (operator_fee_scalar, operator_fee_constant) = rollup.operator_fee();
        let sc = &rollup.genesis.system_config;
        Self {
            info: L1BlockInfo {
                number: rollup.genesis.l1.number,
                time: rollup.genesis.l2_time,
                base_fee: U256::from(1_000_000_000u64),
                block_hash: rollup.genesis.l1.hash,
                sequence_number: 0,
                batcher_hash: B256::left_padding_from(sc.batcher_addr.as_slice()),
                blob_base_fee: U256::from(1),
                base_fee_scalar,
                blob_base_fee_scalar,
                operator_fee_scalar,
                operator_fee_constant,
            },
            gas_limit: sc.gas_limit,
            l2_genesis: rollup.genesis.l2.number,
        }
    }
}

/// How long the source lets transactions gather after an arrival before it takes the next pool
/// snapshot (a snapshot per admission would cost more than it saves).
const GATHER: Duration = Duration::from_millis(2);

/// Rebuilds of a block whose transactions keep being replaced before it is committed; the
/// last one commits whatever it holds.
const MAX_REBUILDS: usize = 3;

/// The executor's transaction source while a block is open: pool snapshots in block order,
/// and, until the block's deadline, the transactions admitted after each snapshot.
struct PoolSource<'a> {
    pool: &'a PoolService,
    base_fee: u64,
    /// Wait for more transactions until then; `None` takes one snapshot only.
    until: Option<Instant>,
    /// The sequencer was told to stop: close the block now.
    stop: &'a dyn Fn() -> bool,
    best: BestTransactions,
    /// Admission count the current snapshot covers.
    seen: u64,
    /// Per sender, the next nonce the block can take (`u64::MAX`: none in this block).
    next_nonce: HashMap<Address, u64>,
    last: Option<(B256, Address)>,
    invalid: Vec<B256>,
    /// Time spent waiting for transactions (not building).
    waited: Duration,
    /// Transactions handed out and not skipped.
    included: HashSet<B256>,
    /// Whether replacements withdraw the block (not on the last rebuild).
    withdraw_on_replacement: bool,
}

impl<'a> PoolSource<'a> {
    fn new(
        pool: &'a PoolService,
        base_fee: u64,
        until: Option<Instant>,
        stop: &'a dyn Fn() -> bool,
    ) -> Self {
        // Replacements before this snapshot cannot concern the block.
        pool.take_replaced();
        let seen = pool.arrivals();
        let best = pool.lock().best(base_fee);
        Self {
            pool,
            base_fee,
            until,
            stop,
            best,
            seen,
            next_nonce: HashMap::new(),
            last: None,
            invalid: vec![],
            waited: Duration::ZERO,
            included: HashSet::new(),
            withdraw_on_replacement: true,
        }
    }

    /// Waits for admissions after the current snapshot and takes a new one; `false` when the
    /// deadline passed or the sequencer is stopping first.
    fn refill(&mut self) -> bool {
        let Some(until) = self.until else {
            return false;
        };
        let started = Instant::now();
        loop {
            if (self.stop)() || Instant::now() >= until {
                self.waited += started.elapsed();
                return false;
            }
            if self.pool.wait_for_arrivals(self.seen, until) != self.seen {
                break;
            }
        }
        let gathered = (Instant::now() + GATHER).min(until);
        std::thread::sleep(gathered.saturating_duration_since(Instant::now()));
        self.waited += started.elapsed();
        self.seen = self.pool.arrivals();
        self.best = self.pool.lock().best_from(self.base_fee, &self.next_nonce);
        true
    }
}

impl TxSource for PoolSource<'_> {
    fn next_tx(&mut self) -> Option<WithEncoded<Recovered<OpTxEnvelope>>> {
        loop {
            // The block closes at its deadline even while transactions keep coming.
            if self.until.is_some_and(|until| Instant::now() >= until) || (self.stop)() {
                return None;
            }
            if let Some(t) = self.best.next() {
                self.last = Some((t.hash, t.sender));
                self.next_nonce.insert(t.sender, t.nonce + 1);
                self.included.insert(t.hash);
                return Some(WithEncoded::new(t.encoded.clone(), t.tx.clone()));
            }
            if !self.refill() {
                return None;
            }
        }
    }

    fn still_valid(&mut self) -> bool {
        // A replacement admitted while the block was open wins over the transaction it
        // replaced, as it would had the block been built at its deadline.
        let replaced = self.pool.take_replaced();
        !(self.withdraw_on_replacement && replaced.iter().any(|h| self.included.contains(h)))
    }

    fn skip(&mut self, tx_hash: B256, reason: SkipReason) {
        self.included.remove(&tx_hash);
        // Later nonces of the same sender cannot run in this block either.
        if let Some((_, sender)) = self.last.filter(|(h, _)| *h == tx_hash) {
            self.best.mark_invalid(sender);
            self.next_nonce.insert(sender, u64::MAX);
        }
        if let SkipReason::Invalid(why) = reason {
            warn!(%tx_hash, %why, "dropping transaction that failed in the block");
            self.invalid.push(tx_hash);
        }
    }
}

/// Builds a block every block time.
pub struct Sequencer {
    executor: BlockExecutor,
    pool: Arc<PoolService>,
    l1: DevL1,
    block_time: Duration,
    new_blocks: tokio::sync::broadcast::Sender<opal_rpc::NewBlock>,
    metrics: Arc<Metrics>,
    switch: Arc<SequencerSwitch>,
    /// Set on shutdown: the open block closes at once.
    stopping: AtomicBool,
}

/// Starts and stops block production (the `admin_` methods); held by the RPC server.
pub struct SequencerSwitch {
    active: AtomicBool,
    /// Held while a block is built, so `stop` returns after the block in flight.
    busy: Mutex<()>,
    store: Arc<opal_storage::Store>,
    /// Woken on stop, so an open block closes at once.
    pool: Arc<PoolService>,
}

impl SequencerSwitch {
    fn head_hash(&self) -> Result<B256, String> {
        let reader = self.store.latest().map_err(|e| e.to_string())?;
        let head = reader
            .head()
            .map_err(|e| e.to_string())?
            .ok_or("chain not initialised")?;
        reader
            .block_hash(head)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "head hash missing".into())
    }
}

impl opal_rpc::SequencerControl for SequencerSwitch {
    fn start(&self, head: B256) -> Result<(), String> {
        let _busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        if self.active.load(Ordering::SeqCst) {
            return Err("sequencer already running".into());
        }
        let current = self.head_hash()?;
        if current != head {
            return Err(format!(
                "block hash does not match: head {current} != {head}"
            ));
        }
        self.active.store(true, Ordering::SeqCst);
        info!(%head, "sequencer started");
        Ok(())
    }

    fn stop(&self) -> Result<B256, String> {
        if !self.active.swap(false, Ordering::SeqCst) {
            return Err("sequencer not running".into());
        }
        self.pool.wake();
        let _busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        let head = self.head_hash()?;
        info!(%head, "sequencer stopped");
        Ok(head)
    }

    fn active(&self) -> bool {
        self.active.load(Ordering::SeqCst)
    }
}

impl Sequencer {
    /// A sequencer over the executor and pool, producing blocks from the start.
    pub fn new(
        executor: BlockExecutor,
        pool: Arc<PoolService>,
        l1: DevL1,
        block_time: Duration,
        new_blocks: tokio::sync::broadcast::Sender<opal_rpc::NewBlock>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let switch = Arc::new(SequencerSwitch {
            active: AtomicBool::new(true),
            busy: Mutex::new(()),
            store: executor.store().clone(),
            pool: pool.clone(),
        });
        Self {
            executor,
            pool,
            l1,
            block_time,
            new_blocks,
            metrics,
            switch,
            stopping: AtomicBool::new(false),
        }
    }

    /// The start/stop control for the RPC server.
    pub fn switch(&self) -> Arc<SequencerSwitch> {
        self.switch.clone()
    }

    /// Produces blocks until `shutdown` resolves: each block is open for one block time, takes
    /// transactions as they are admitted, and commits at its deadline. On shutdown the open
    /// block closes at once and is committed whole before returning. A failed block is logged
    /// and the next one is tried at the next deadline.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), NodeError> {
        let this = Arc::new(self);
        // Block production has its own thread, outside the async runtime, so that a busy RPC
        // server (whose threads may run at a lower priority) does not delay blocks.
        let worker = {
            let this = this.clone();
            std::thread::Builder::new()
                .name("opal-sequencer".into())
                .spawn(move || this.blocks())
                .map_err(|e| NodeError::Other(format!("sequencer thread: {e}")))?
        };
        shutdown.await;
        this.stopping.store(true, Ordering::SeqCst);
        this.pool.wake();
        tokio::task::spawn_blocking(move || worker.join())
            .await
            .map_err(|e| NodeError::Other(format!("sequencer task: {e}")))?
            .map_err(|_| NodeError::Other("sequencer thread panicked".into()))
    }

    /// The block loop of [`Sequencer::run`], until `stopping` is set.
    fn blocks(&self) {
        let mut deadline = Instant::now() + self.block_time;
        while !self.stopping.load(Ordering::SeqCst) {
            let result = {
                let _busy = self.switch.busy.lock().unwrap_or_else(|e| e.into_inner());
                self.switch
                    .active
                    .load(Ordering::SeqCst)
                    .then(|| self.produce_until(Some(deadline)))
            };
            match result {
                // Stopped by `admin_stopSequencer`: idle until started again or shut down.
                None => {
                    let now = Instant::now();
                    self.pool
                        .wait_for_arrivals(self.pool.arrivals(), now + self.block_time);
                    deadline = Instant::now() + self.block_time;
                    continue;
                }
                Some(Err(e)) => {
                    error!(error = %e, "block production failed; retrying at the next deadline");
                    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                }
                Some(Ok(())) => {}
            }
            // A block that overran its successor's deadline delays the schedule.
            let now = Instant::now();
            deadline += self.block_time;
            if deadline <= now {
                deadline = now + self.block_time;
            }
        }
    }

    /// Builds and commits one block from what the pool holds now.
    pub fn produce(&self) -> Result<(), NodeError> {
        self.produce_until(None)
    }

    /// Builds and commits one block on top of the head, taking transactions as they are
    /// admitted until `until` (`None`: only those pooled now).
    pub fn produce_until(&self, until: Option<Instant>) -> Result<(), NodeError> {
        let store = self.executor.store();
        let reader = store.latest()?;
        let head = reader
            .head()?
            .ok_or(opal_storage::StoreError::Uninitialised)?;
        let parent = reader
            .header(head)?
            .ok_or(opal_storage::StoreError::Uninitialised)?;
        drop(reader);
        let number = head + 1;
        let _span = info_span!("sequence", number).entered();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        // Strictly increasing timestamps; at sub-second block times they run ahead of the clock.
        let timestamp = (parent.timestamp + 1).max(now);
        let info = L1BlockInfo {
            sequence_number: number - self.l1.l2_genesis,
            ..self.l1.info
        };
        let inputs = SequencerInputs {
            l1_info: &info,
            deposits: &[],
            timestamp,
            prev_randao: B256::ZERO,
            parent_beacon_block_root: B256::ZERO,
            gas_limit: self.l1.gas_limit,
            eip1559_params: B64::ZERO,
            no_tx_pool: false,
        };
        let attrs = sequencer_attributes(self.executor.chain(), &parent, &inputs)
            .map_err(|e| NodeError::Other(format!("attributes: {e}")))?;
        let base_fee = self.executor.chain().next_base_fee(&parent, timestamp)?;
        let stop =
            || self.stopping.load(Ordering::SeqCst) || !self.switch.active.load(Ordering::SeqCst);
        let started = Instant::now();
        let mut source = PoolSource::new(&self.pool, base_fee, until, &stop);
        let mut built = self.executor.build(&parent, &attrs, &mut source);
        // Rebuilt from the pool as it is now, without waiting, until no replacement interferes.
        for attempt in 1..=MAX_REBUILDS {
            if !matches!(built, Err(ExecError::Superseded)) {
                break;
            }
            debug!(
                number,
                "a transaction of the open block was replaced; building it again"
            );
            let waited = source.waited;
            source = PoolSource::new(&self.pool, base_fee, None, &stop);
            source.waited = waited;
            source.withdraw_on_replacement = attempt < MAX_REBUILDS;
            built = self.executor.build(&parent, &attrs, &mut source);
        }
        let mut block = built?;
        // Waiting for transactions is not execution.
        block.timings.execution = block.timings.execution.saturating_sub(source.waited);
        self.metrics.block(
            number,
            block.transactions.len(),
            block.header.gas_used,
            started.elapsed().saturating_sub(source.waited).as_micros() as u64,
            &block.timings,
        );
        {
            let mut pool = self.pool.lock();
            for hash in &source.invalid {
                pool.remove(hash);
            }
        }
        self.pool.on_new_block();
        let _ = self.new_blocks.send(opal_rpc::NewBlock {
            number,
            hash: block.hash,
        });
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        info!(
            number,
            hash = %block.hash,
            txs = block.transactions.len() - 1,
            gas = block.header.gas_used,
            execution_ms = ms(block.timings.execution),
            state_root_ms = ms(block.timings.state_root),
            commit_ms = ms(block.timings.commit),
            "sealed block"
        );
        Ok(())
    }
}
