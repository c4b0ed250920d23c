//! The sequencer loop: every block time, build the next block from the pool on top of the head,
//! commit it, and re-evaluate the pool.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use alloy::{
    consensus::transaction::Recovered,
    eips::eip2718::WithEncoded,
    primitives::{B64, B256, U256},
};
use op_alloy::consensus::OpTxEnvelope;
use opal_evm::{BlockExecutor, SequencerInputs, SkipReason, TxSource, sequencer_attributes};
use opal_primitives::RollupConfig;
use opal_protocol::L1BlockInfo;
use opal_txpool::BestTransactions;
use tracing::{error, info, info_span, warn};

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

/// Adapts a pool snapshot to the executor's transaction source.
struct PoolSource {
    best: BestTransactions,
    last: Option<(B256, alloy::primitives::Address)>,
    invalid: Vec<B256>,
}

impl TxSource for PoolSource {
    fn next_tx(&mut self) -> Option<WithEncoded<Recovered<OpTxEnvelope>>> {
        let t = self.best.next()?;
        self.last = Some((t.hash, t.sender));
        Some(WithEncoded::new(t.encoded.clone(), t.tx.clone()))
    }

    fn skip(&mut self, tx_hash: B256, reason: SkipReason) {
        // Later nonces of the same sender cannot run in this block either.
        if let Some((_, sender)) = self.last.filter(|(h, _)| *h == tx_hash) {
            self.best.mark_invalid(sender);
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
}

/// Starts and stops block production (the `admin_` methods); held by the RPC server.
pub struct SequencerSwitch {
    active: AtomicBool,
    /// Held while a block is built, so `stop` returns after the block in flight.
    busy: Mutex<()>,
    store: Arc<opal_storage::Store>,
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
        });
        Self {
            executor,
            pool,
            l1,
            block_time,
            new_blocks,
            metrics,
            switch,
        }
    }

    /// The start/stop control for the RPC server.
    pub fn switch(&self) -> Arc<SequencerSwitch> {
        self.switch.clone()
    }

    /// Produces blocks until `shutdown` resolves. A block being built when shutdown arrives is
    /// finished (and committed whole) before returning. A failed block is logged and retried at
    /// the next tick.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), NodeError> {
        let this = Arc::new(self);
        let mut interval = tokio::time::interval(this.block_time);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = interval.tick() => {}
            }
            if !this.switch.active.load(Ordering::SeqCst) {
                continue;
            }
            let s = this.clone();
            let result = tokio::task::spawn_blocking(move || {
                let _busy = s.switch.busy.lock().unwrap_or_else(|e| e.into_inner());
                if s.switch.active.load(Ordering::SeqCst) {
                    s.produce()
                } else {
                    Ok(())
                }
            })
            .await
            .map_err(|e| NodeError::Other(format!("sequencer task: {e}")))?;
            if let Err(e) = result {
                error!(error = %e, "block production failed; retrying at the next tick");
            }
        }
        Ok(())
    }

    /// Builds and commits one block on top of the head.
    pub fn produce(&self) -> Result<(), NodeError> {
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
        let mut source = PoolSource {
            best: self.pool.lock().best(base_fee),
            last: None,
            invalid: vec![],
        };
        let started = std::time::Instant::now();
        let block = self.executor.build(&parent, &attrs, &mut source)?;
        self.metrics.block(
            number,
            block.transactions.len(),
            block.header.gas_used,
            started.elapsed().as_micros() as u64,
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
