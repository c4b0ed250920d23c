//! Node wiring: opens the store, initialises genesis, and runs the sequencer loop and the
//! JSON-RPC server until shutdown. The block in flight at shutdown either commits whole or not
//! at all (the store commits each block in one transaction), so a restart continues from the head.

mod journal;
mod metrics;
mod pool;
mod sequencer;

use std::{path::PathBuf, sync::Arc, time::Duration};

use opal_attribution::index::AttributionIndex;
use opal_evm::{BlockExecutor, OpalChain};
use opal_primitives::{ChainSpec, RollupConfig, genesis_header::compute_genesis_header};
use opal_rpc::{RpcConfig, RpcContext};
use opal_storage::Store;
use tracing::info;

pub use metrics::Metrics;
pub use pool::PoolService;
pub use sequencer::{DevL1, Sequencer, SequencerSwitch};

/// Errors starting or running the node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Configuration files.
    #[error(transparent)]
    ChainSpec(#[from] opal_primitives::ChainSpecError),
    /// rollup.json.
    #[error(transparent)]
    Rollup(#[from] opal_primitives::RollupConfigError),
    /// Chain rules.
    #[error(transparent)]
    Chain(#[from] opal_evm::ChainError),
    /// The database.
    #[error(transparent)]
    Store(#[from] opal_storage::StoreError),
    /// Block building.
    #[error(transparent)]
    Exec(#[from] opal_evm::ExecError),
    /// The RPC server.
    #[error(transparent)]
    Rpc(#[from] opal_rpc::RpcError),
    /// Anything else, described.
    #[error("{0}")]
    Other(String),
}

/// Node settings.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Data directory.
    pub datadir: PathBuf,
    /// genesis.json text and the path it came from (for messages).
    pub genesis: (String, PathBuf),
    /// rollup.json text and path.
    pub rollup: (String, PathBuf),
    /// RPC server.
    pub rpc: RpcConfig,
    /// Sequencer block time.
    pub block_time: Duration,
    /// Pool limits.
    pub pool: opal_txpool::PoolConfig,
    /// Suggested priority fee in wei.
    pub suggested_tip: u128,
    /// Prometheus metrics and health endpoint address.
    pub metrics: Option<std::net::SocketAddr>,
}

/// A running node's parts.
pub struct Node {
    /// Chain rules.
    pub chain: Arc<OpalChain>,
    /// The store.
    pub store: Arc<Store>,
    /// Block builder.
    pub executor: BlockExecutor,
    /// The pool service.
    pub pool: Arc<PoolService>,
    /// The rollup config.
    pub rollup: RollupConfig,
}

impl Node {
    /// Opens the datadir, initialising it with the genesis when empty.
    pub fn open(config: &NodeConfig) -> Result<Self, NodeError> {
        let spec = ChainSpec::from_json(&config.genesis.0, &config.genesis.1)?;
        let rollup = RollupConfig::from_json(&config.rollup.0, &config.rollup.1)?;
        let hash = compute_genesis_header(&spec).hash_slow();
        rollup.check_against(&spec, hash, &config.rollup.1)?;
        // The attribution index runs in every block's commit; its fee config starts from the
        // ledger's genesis storage.
        let index = AttributionIndex::new(AttributionIndex::genesis_fee_config(
            spec.genesis
                .alloc
                .get(&opal_attribution::LEDGER_ADDRESS)
                .and_then(|a| a.storage.as_ref()),
        ));
        let chain = Arc::new(OpalChain::new(spec)?);
        let store = Arc::new(Store::open(&config.datadir)?.with_indexer(Arc::new(index))?);
        let executor = BlockExecutor::new(chain.clone(), store.clone());
        let genesis = executor.init_genesis()?;
        info!(genesis = %genesis.hash, datadir = %config.datadir.display(), "chain opened");
        let pool = Arc::new(PoolService::new(
            chain.clone(),
            store.clone(),
            config.pool.clone(),
            rollup.genesis.system_config.gas_limit,
        ));
        let restored = pool
            .restore_journal(&config.datadir)
            .map_err(|e| NodeError::Other(format!("transaction journal: {e}")))?;
        if restored > 0 {
            info!(restored, "readmitted journaled transactions");
        }
        Ok(Self {
            chain,
            store,
            executor,
            pool,
            rollup,
        })
    }

    /// Runs the RPC server and the sequencer until `shutdown` resolves.
    pub async fn run(
        self,
        config: &NodeConfig,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), NodeError> {
        let (new_blocks, _) = tokio::sync::broadcast::channel(1024);
        let (new_pending, _) = tokio::sync::broadcast::channel(8192);
        let metrics = Arc::new(Metrics::default());
        let sequencer = Sequencer::new(
            self.executor.clone(),
            self.pool.clone(),
            DevL1::from_rollup(&self.rollup),
            config.block_time,
            new_blocks.clone(),
            metrics.clone(),
        );
        let ctx = Arc::new(RpcContext {
            chain: self.chain.clone(),
            store: self.store.clone(),
            pool: self.pool.clone(),
            suggested_tip: config.suggested_tip,
            new_blocks,
            new_pending,
            sequencer: Some(sequencer.switch()),
            blocks: opal_rpc::BlockCache::default(),
        });
        let rpc = opal_rpc::start(ctx, &config.rpc).await?;
        let addr = rpc.http_addr;
        info!(%addr, "JSON-RPC listening (HTTP and WebSocket)");
        println!("Listening on {addr}");
        if let Some((_, ws)) = &rpc.ws {
            info!(addr = %ws, "JSON-RPC WebSocket listening");
            println!("WebSocket on {ws}");
        }
        if let Some(maddr) = config.metrics {
            let bound = metrics::serve(maddr, metrics, self.pool.clone(), rpc.metrics.clone())
                .await
                .map_err(|e| NodeError::Other(format!("metrics on {maddr}: {e}")))?;
            info!(addr = %bound, "metrics and health endpoint listening");
            println!("Metrics on {bound}");
        }
        sequencer.run(shutdown).await?;
        rpc.stop().await;
        info!("node stopped");
        Ok(())
    }
}
