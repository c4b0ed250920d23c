//! `eth_sendRawTransactionSync` (EIP-7966 draft): submit a transaction and wait for its receipt.
//!
//! The transaction goes through the pool exactly as `eth_sendRawTransaction` sends it; the call
//! then waits for committed blocks until the receipt exists and returns it as
//! `eth_getTransactionReceipt` renders it. Past the timeout (default
//! [`DEFAULT_SYNC_TIMEOUT_MS`], at most [`MAX_SYNC_TIMEOUT_MS`]) it fails with code
//! [`SYNC_TIMEOUT_CODE`] and the transaction hash as `data`: the transaction stays in the pool.

use std::{sync::Arc, time::Duration};

use alloy::primitives::{B256, Bytes, U64};
use jsonrpsee::{core::RpcResult, proc_macros::rpc, types::ErrorObjectOwned};
use op_alloy::rpc_types::OpTransactionReceipt;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tracing::debug;

use crate::{
    RpcContext,
    error::{internal, server_error},
    render,
};

/// Default wait of `eth_sendRawTransactionSync` (milliseconds), as in the EIP-7966 draft.
pub const DEFAULT_SYNC_TIMEOUT_MS: u64 = 2_000;
/// Longest wait a caller may ask for (milliseconds); longer requests are shortened to it.
pub const MAX_SYNC_TIMEOUT_MS: u64 = 60_000;
/// Error code of a wait that ended before the receipt existed (EIP-7966).
pub const SYNC_TIMEOUT_CODE: i32 = 4;

/// The receipt of an included transaction, as `eth_getTransactionReceipt` returns it; `None`
/// while the transaction is not in a committed block.
pub(crate) fn receipt_by_hash(
    ctx: &RpcContext,
    hash: B256,
) -> RpcResult<Option<OpTransactionReceipt>> {
    let reader = ctx.store.latest().map_err(internal)?;
    let Some(loc) = reader.transaction_location(hash).map_err(internal)? else {
        return Ok(None);
    };
    let Some(b) = ctx.blocks.load(&reader, loc.number).map_err(internal)? else {
        return Ok(None);
    };
    let i = loc.index as usize;
    if i >= b.txs.len() {
        return Ok(None);
    }
    let at = ctx.store.at_block(loc.number).map_err(internal)?;
    render::receipt(&ctx.chain, &at, &b, i)
        .map(Some)
        .map_err(internal)
}

/// A timeout given as a JSON number or a hex quantity (clients send either).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum TimeoutMs {
    /// A plain JSON number of milliseconds.
    Number(u64),
    /// A `0x…` quantity of milliseconds.
    Quantity(U64),
}

impl TimeoutMs {
    fn millis(self) -> u64 {
        match self {
            Self::Number(n) => n,
            Self::Quantity(q) => q.to::<u64>(),
        }
    }
}

/// `eth_sendRawTransactionSync`.
#[rpc(server, namespace = "eth")]
pub trait EthSendSyncApi {
    /// Submits a signed transaction and returns its receipt once a block includes it.
    #[method(name = "sendRawTransactionSync")]
    async fn send_raw_transaction_sync(
        &self,
        bytes: Bytes,
        timeout_ms: Option<TimeoutMs>,
    ) -> RpcResult<OpTransactionReceipt>;
}

/// The `eth_sendRawTransactionSync` implementation.
pub struct EthSendSyncRpc {
    ctx: Arc<RpcContext>,
}

impl EthSendSyncRpc {
    /// Over a context.
    pub fn new(ctx: Arc<RpcContext>) -> Self {
        Self { ctx }
    }
}

fn timeout_error(hash: B256, millis: u64) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        SYNC_TIMEOUT_CODE,
        format!(
            "the transaction was added to the transaction pool but wasn't processed in {millis}ms"
        ),
        Some(hash),
    )
}

#[jsonrpsee::core::async_trait]
impl EthSendSyncApiServer for EthSendSyncRpc {
    async fn send_raw_transaction_sync(
        &self,
        bytes: Bytes,
        timeout_ms: Option<TimeoutMs>,
    ) -> RpcResult<OpTransactionReceipt> {
        let millis = timeout_ms
            .map_or(DEFAULT_SYNC_TIMEOUT_MS, TimeoutMs::millis)
            .min(MAX_SYNC_TIMEOUT_MS);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(millis);
        // Listen before submitting so the including block cannot be missed.
        let mut blocks = self.ctx.new_blocks.subscribe();
        let hash = self.ctx.pool.submit(bytes).map_err(server_error)?;
        debug!(%hash, "transaction submitted (sync)");
        // No subscriber is not an error.
        let _ = self.ctx.new_pending.send(hash);
        loop {
            if let Some(receipt) = receipt_by_hash(&self.ctx, hash)? {
                return Ok(receipt);
            }
            match tokio::time::timeout_at(deadline, blocks.recv()).await {
                Err(_) => return Err(timeout_error(hash, millis)),
                // A new block, or several missed: look for the receipt again.
                Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
                // The node is shutting down; nothing more will be included.
                Ok(Err(RecvError::Closed)) => {
                    tokio::time::sleep_until(deadline).await;
                    return Err(timeout_error(hash, millis));
                }
            }
        }
    }
}
