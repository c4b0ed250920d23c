//! `net_` and `web3_` namespaces.

use std::sync::Arc;

use alloy::primitives::{B256, Bytes, keccak256};
use jsonrpsee::{core::RpcResult, proc_macros::rpc};

use crate::RpcContext;

/// `net_` methods.
#[rpc(server, namespace = "net")]
pub trait NetApi {
    /// The chain id as a decimal string.
    #[method(name = "version")]
    fn version(&self) -> RpcResult<String>;
    /// Always true: the node serves requests.
    #[method(name = "listening")]
    fn listening(&self) -> RpcResult<bool>;
    /// Number of peers (no p2p yet: 0).
    #[method(name = "peerCount")]
    fn peer_count(&self) -> RpcResult<alloy::primitives::U64>;
}

/// The `net_` implementation.
pub struct NetRpc {
    ctx: Arc<RpcContext>,
}

impl NetRpc {
    /// Over a context.
    pub fn new(ctx: Arc<RpcContext>) -> Self {
        Self { ctx }
    }
}

impl NetApiServer for NetRpc {
    fn version(&self) -> RpcResult<String> {
        Ok(self.ctx.chain.chain_id().to_string())
    }
    fn listening(&self) -> RpcResult<bool> {
        Ok(true)
    }
    fn peer_count(&self) -> RpcResult<alloy::primitives::U64> {
        Ok(alloy::primitives::U64::ZERO)
    }
}

/// `web3_` methods.
#[rpc(server, namespace = "web3")]
pub trait Web3Api {
    /// `opal/vX.Y.Z`.
    #[method(name = "clientVersion")]
    fn client_version(&self) -> RpcResult<String>;
    /// Keccak-256 of the input.
    #[method(name = "sha3")]
    fn sha3(&self, data: Bytes) -> RpcResult<B256>;
}

/// The `web3_` implementation.
pub struct Web3Rpc;

impl Web3ApiServer for Web3Rpc {
    fn client_version(&self) -> RpcResult<String> {
        Ok(format!("opal/v{}", env!("CARGO_PKG_VERSION")))
    }
    fn sha3(&self, data: Bytes) -> RpcResult<B256> {
        Ok(keccak256(&data))
    }
}
