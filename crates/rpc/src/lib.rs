//! Opal's JSON-RPC server: the `eth_`, `net_` and `web3_` methods that wallets, libraries and
//! tools use, over HTTP and WebSocket (jsonrpsee). The server sees the chain through the store
//! and the executor's chain view, and the transaction pool through [`PoolHandle`].

mod admin;
mod call;
mod debug;
mod error;
mod eth;
mod filter;
mod misc;
mod pubsub;
mod render;
mod sync_send;
mod txpool_api;

use std::{net::SocketAddr, sync::Arc};

use alloy::primitives::{Address, B256, Bytes};
use jsonrpsee::{
    RpcModule,
    server::{Server, ServerConfig, ServerHandle},
};
use opal_evm::OpalChain;
use opal_storage::Store;

pub use admin::{AdminApiServer, AdminRpc, SequencerControl};
pub use debug::{DebugApiServer, DebugRpc};
pub use error::RpcError;
pub use eth::{EthApiServer, EthRpc};
pub use filter::{EthFilterApiServer, EthFilterRpc, LogLimits};
pub use misc::{NetApiServer, NetRpc, Web3ApiServer, Web3Rpc};
pub use pubsub::{EthPubSubApiServer, EthPubSubRpc};
pub use sync_send::{EthSendSyncApiServer, EthSendSyncRpc};
pub use txpool_api::{PoolContent, TxpoolApiServer, TxpoolRpc};

/// What the RPC server needs from the transaction pool.
pub trait PoolHandle: Send + Sync + 'static {
    /// Validates and adds a raw EIP-2718 transaction; the error is the message clients see.
    fn submit(&self, raw: Bytes) -> Result<B256, String>;
    /// The next nonce of `sender` counting its pending transactions.
    fn pending_nonce(&self, sender: Address, state_nonce: u64) -> u64;
    /// `(pending, queued)` transaction counts.
    fn status(&self) -> (usize, usize);
    /// Every pooled transaction with its sender, pending and queued, each in sender and nonce
    /// order.
    fn content(&self) -> PoolContent;
}

/// A block the node committed (handlers load its contents from the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewBlock {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
}

/// Everything a request handler reads.
pub struct RpcContext {
    /// The chain rules.
    pub chain: Arc<OpalChain>,
    /// The chain database.
    pub store: Arc<Store>,
    /// The transaction pool.
    pub pool: Arc<dyn PoolHandle>,
    /// Suggested priority fee (wei) for `eth_maxPriorityFeePerGas` and `eth_gasPrice`.
    pub suggested_tip: u128,
    /// Committed blocks, in order (subscriptions, filters, `eth_sendRawTransactionSync`).
    pub new_blocks: tokio::sync::broadcast::Sender<NewBlock>,
    /// Hashes of transactions accepted into the pool.
    pub new_pending: tokio::sync::broadcast::Sender<B256>,
    /// Sequencer control for `admin_` (absent on nodes that do not sequence).
    pub sequencer: Option<Arc<dyn SequencerControl>>,
}

/// Server limits and addresses.
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// HTTP and WebSocket listen address (jsonrpsee serves both on one port).
    pub addr: SocketAddr,
    /// Largest request body accepted (bytes).
    pub max_request_bytes: u32,
    /// Largest response body sent (bytes).
    pub max_response_bytes: u32,
    /// Most concurrent connections.
    pub max_connections: u32,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            addr: ([127, 0, 0, 1], 8545).into(),
            max_request_bytes: 5 * 1024 * 1024,
            max_response_bytes: 100 * 1024 * 1024,
            max_connections: 500,
        }
    }
}

/// All methods, merged into one module.
pub fn module(ctx: Arc<RpcContext>) -> Result<RpcModule<()>, RpcError> {
    let mut m = RpcModule::new(());
    m.merge(EthRpc::new(ctx.clone()).into_rpc())
        .map_err(|e| RpcError::Setup(e.to_string()))?;
    m.merge(EthFilterRpc::new(ctx.clone()).into_rpc())
        .map_err(|e| RpcError::Setup(e.to_string()))?;
    m.merge(EthPubSubRpc::new(ctx.clone()).into_rpc())
        .map_err(|e| RpcError::Setup(e.to_string()))?;
    m.merge(EthSendSyncRpc::new(ctx.clone()).into_rpc())
        .map_err(|e| RpcError::Setup(e.to_string()))?;
    m.merge(NetRpc::new(ctx.clone()).into_rpc())
        .map_err(|e| RpcError::Setup(e.to_string()))?;
    m.merge(Web3Rpc.into_rpc())
        .map_err(|e| RpcError::Setup(e.to_string()))?;
    m.merge(TxpoolRpc::new(ctx.clone()).into_rpc())
        .map_err(|e| RpcError::Setup(e.to_string()))?;
    m.merge(DebugRpc::new(ctx.clone()).into_rpc())
        .map_err(|e| RpcError::Setup(e.to_string()))?;
    if let Some(control) = ctx.sequencer.clone() {
        m.merge(AdminRpc::new(control).into_rpc())
            .map_err(|e| RpcError::Setup(e.to_string()))?;
    }
    Ok(m)
}

/// Starts the server; it runs until the handle is stopped or dropped.
pub async fn start(
    ctx: Arc<RpcContext>,
    config: &RpcConfig,
) -> Result<(ServerHandle, SocketAddr), RpcError> {
    let cfg = ServerConfig::builder()
        .max_request_body_size(config.max_request_bytes)
        .max_response_body_size(config.max_response_bytes)
        .max_connections(config.max_connections)
        .build();
    let server = Server::builder()
        .set_config(cfg)
        .build(config.addr)
        .await
        .map_err(|e| RpcError::Setup(format!("cannot listen on {}: {e}", config.addr)))?;
    let addr = server
        .local_addr()
        .map_err(|e| RpcError::Setup(e.to_string()))?;
    let handle = server.start(module(ctx)?);
    Ok((handle, addr))
}
