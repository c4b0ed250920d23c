//! Opal's JSON-RPC server: the `eth_`, `net_` and `web3_` methods that wallets, libraries and
//! tools use, over HTTP and WebSocket (jsonrpsee). The server sees the chain through the store
//! and the executor's chain view, and the transaction pool through [`PoolHandle`].

mod admin;
mod attribution;
mod blocks;
mod call;
mod debug;
mod error;
mod eth;
mod filter;
mod misc;
mod pubsub;
mod render;
mod subs;
mod sync_send;
mod timing;
mod tracers;
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
pub use attribution::{AttributionApiServer, AttributionRpc};
pub use blocks::{BlockCache, DEFAULT_CACHED_BLOCKS, DEFAULT_CACHED_BYTES};
pub use debug::{DebugApiServer, DebugRpc};
pub use error::RpcError;
pub use eth::{EthApiServer, EthRpc};
pub use filter::{EthFilterApiServer, EthFilterRpc, LogLimits};
pub use misc::{NetApiServer, NetRpc, Web3ApiServer, Web3Rpc};
pub use pubsub::{EthPubSubApiServer, EthPubSubRpc};
pub use sync_send::{EthSendSyncApiServer, EthSendSyncRpc};
pub use timing::RpcMetrics;
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
    /// The most recently read blocks, decoded.
    pub blocks: BlockCache,
}

/// Server limits and addresses.
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// HTTP listen address (WebSocket is served on it too).
    pub addr: SocketAddr,
    /// A separate WebSocket-only listener (`--ws.port`), if any.
    pub ws_addr: Option<SocketAddr>,
    /// Namespaces to serve (`--http.api`); `None` serves all of them.
    pub apis: Option<Vec<String>>,
    /// `Access-Control-Allow-Origin` values (`--http.corsdomain`); `["*"]` allows any origin,
    /// empty sends no CORS headers.
    pub cors: Vec<String>,
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
            ws_addr: None,
            apis: None,
            cors: vec![],
            max_request_bytes: 5 * 1024 * 1024,
            max_response_bytes: 100 * 1024 * 1024,
            max_connections: 500,
        }
    }
}

/// Every namespace the server knows.
pub const ALL_APIS: [&str; 7] = [
    "eth",
    "net",
    "web3",
    "txpool",
    "debug",
    "admin",
    "attribution",
];

/// All methods, merged into one module.
pub fn module(ctx: Arc<RpcContext>) -> Result<RpcModule<()>, RpcError> {
    let mut m = RpcModule::new(());
    m.merge(EthRpc::new(ctx.clone()).into_rpc())
        .map_err(|e| RpcError::Setup(e.to_string()))?;
    m.merge(EthFilterRpc::new(ctx.clone()).into_rpc())
        .map_err(|e| RpcError::Setup(e.to_string()))?;
    m.merge(EthPubSubRpc::new(ctx.clone()).into_module()?)
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
    m.merge(AttributionRpc::new(ctx.clone()).into_module()?)
        .map_err(|e| RpcError::Setup(e.to_string()))?;
    if let Some(control) = ctx.sequencer.clone() {
        m.merge(AdminRpc::new(control).into_rpc())
            .map_err(|e| RpcError::Setup(e.to_string()))?;
    }
    Ok(m)
}

/// Subscription ids as geth writes them: `0x` and 32 hex digits (a JSON string, which viem and
/// other clients require; a JSON number above 2^53 would also lose precision in JavaScript).
#[derive(Debug, Clone, Copy)]
struct HexIdProvider;

impl jsonrpsee::server::IdProvider for HexIdProvider {
    fn next_id(&self) -> jsonrpsee::types::SubscriptionId<'static> {
        jsonrpsee::types::SubscriptionId::Str(format!("0x{:032x}", rand::random::<u128>()).into())
    }
}

/// The running servers.
pub struct RpcServers {
    /// HTTP (and WebSocket) server.
    pub http: ServerHandle,
    /// Its bound address.
    pub http_addr: SocketAddr,
    /// The WebSocket-only server and its address, if configured.
    pub ws: Option<(ServerHandle, SocketAddr)>,
    /// Request counts and latency by method.
    pub metrics: Arc<RpcMetrics>,
}

impl RpcServers {
    /// Stops every server and waits until they have.
    pub async fn stop(self) {
        let _ = self.http.stop();
        self.http.stopped().await;
        if let Some((ws, _)) = self.ws {
            let _ = ws.stop();
            ws.stopped().await;
        }
    }
}

fn cors_layer(origins: &[String]) -> Result<Option<tower_http::cors::CorsLayer>, RpcError> {
    use tower_http::cors::{AllowOrigin, Any, CorsLayer};
    if origins.is_empty() {
        return Ok(None);
    }
    let layer = CorsLayer::new().allow_methods(Any).allow_headers(Any);
    if origins.iter().any(|o| o == "*") {
        return Ok(Some(layer.allow_origin(Any)));
    }
    let values = origins
        .iter()
        .map(|o| {
            o.parse()
                .map_err(|_| RpcError::Setup(format!("invalid CORS origin `{o}`")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(layer.allow_origin(AllowOrigin::list(values))))
}

/// Starts the server(s); they run until stopped.
pub async fn start(ctx: Arc<RpcContext>, config: &RpcConfig) -> Result<RpcServers, RpcError> {
    if let Some(apis) = &config.apis
        && let Some(bad) = apis.iter().find(|a| !ALL_APIS.contains(&a.as_str()))
    {
        return Err(RpcError::Setup(format!(
            "unknown API namespace `{bad}` (known: {})",
            ALL_APIS.join(",")
        )));
    }
    let methods = filter_apis(module(ctx)?, config.apis.as_deref());
    let cfg = |ws_only: bool| {
        let b = ServerConfig::builder()
            .set_id_provider(HexIdProvider)
            .max_request_body_size(config.max_request_bytes)
            .max_response_body_size(config.max_response_bytes)
            .max_connections(config.max_connections);
        if ws_only {
            b.ws_only().build()
        } else {
            b.build()
        }
    };
    let middleware = tower::ServiceBuilder::new().option_layer(cors_layer(&config.cors)?);
    let metrics = Arc::new(RpcMetrics::default());
    let timed = |m: Arc<RpcMetrics>| {
        jsonrpsee::server::middleware::rpc::RpcServiceBuilder::new()
            .layer_fn(move |s| timing::Timed::new(s, m.clone()))
    };
    let server = Server::builder()
        .set_config(cfg(false))
        .set_http_middleware(middleware)
        .set_rpc_middleware(timed(metrics.clone()))
        .build(config.addr)
        .await
        .map_err(|e| RpcError::Setup(format!("cannot listen on {}: {e}", config.addr)))?;
    let http_addr = server
        .local_addr()
        .map_err(|e| RpcError::Setup(e.to_string()))?;
    let http = server.start(methods.clone());
    let ws = match config.ws_addr {
        Some(addr) => {
            let server = Server::builder()
                .set_config(cfg(true))
                .set_rpc_middleware(timed(metrics.clone()))
                .build(addr)
                .await
                .map_err(|e| RpcError::Setup(format!("cannot listen on {addr}: {e}")))?;
            let bound = server
                .local_addr()
                .map_err(|e| RpcError::Setup(e.to_string()))?;
            Some((server.start(methods), bound))
        }
        None => None,
    };
    Ok(RpcServers {
        http,
        http_addr,
        ws,
        metrics,
    })
}

/// Keeps only the methods of the enabled namespaces (subscriptions belong to `eth`).
fn filter_apis(mut module: RpcModule<()>, apis: Option<&[String]>) -> RpcModule<()> {
    let Some(apis) = apis else { return module };
    let names: Vec<&'static str> = module.method_names().collect();
    for name in names {
        let namespace = name.split('_').next().unwrap_or_default();
        if !apis.iter().any(|a| a == namespace) {
            module.remove_method(name);
        }
    }
    module
}
