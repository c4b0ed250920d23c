//! `eth_subscribe` / `eth_unsubscribe` over WebSocket: `newHeads` (RPC header objects), `logs`
//! (with an optional filter) and `newPendingTransactions` (hashes).
//!
//! Each subscription runs as a task fed by the node's broadcast channels. Block subscriptions
//! keep a cursor and read every block up to the announced one from the store, so a receiver that
//! lagged behind the channel still reports each block once (it skips ahead only when more than
//! [`MAX_CATCH_UP`] blocks behind); a lagged pending-transaction receiver skips the hashes it
//! lost. Nothing here panics on a slow or vanished client: the task ends when the client
//! unsubscribes or disconnects.

use std::sync::Arc;

use alloy::{
    consensus::Sealed,
    rpc::types::{Filter, Header as RpcHeader},
};
use jsonrpsee::{
    PendingSubscriptionSink, RpcModule, SubscriptionSink,
    core::{SubscriptionResult, to_json_raw_value},
    proc_macros::rpc,
};
use opal_storage::StoreError;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tracing::debug;

use crate::{
    NewBlock, RpcContext, RpcError,
    error::{internal, invalid_params},
    filter::{block_logs, live_bounds},
    subs::Subscriptions,
};

/// Most blocks a block subscription reads to catch up after lagging; older ones are skipped.
pub const MAX_CATCH_UP: u64 = 1024;

/// `eth_subscribe` / `eth_unsubscribe`.
#[rpc(server, namespace = "eth")]
pub trait EthPubSubApi {
    /// Subscribes to `newHeads`, `logs` (second parameter: a filter) or
    /// `newPendingTransactions`; notifications arrive as `eth_subscription`.
    #[subscription(
        name = "subscribe" => "subscription",
        unsubscribe = "unsubscribe",
        item = serde_json::Value
    )]
    async fn subscribe(
        &self,
        kind: String,
        params: Option<serde_json::Value>,
    ) -> SubscriptionResult;
}

/// The subscription implementation.
pub struct EthPubSubRpc {
    ctx: Arc<RpcContext>,
    subs: Arc<Subscriptions>,
}

impl EthPubSubRpc {
    /// Over a context.
    pub fn new(ctx: Arc<RpcContext>) -> Self {
        Self {
            ctx,
            subs: Subscriptions::new(),
        }
    }

    /// The module, with `eth_unsubscribe` served from this server's own subscription table.
    pub fn into_module(self) -> Result<RpcModule<()>, RpcError> {
        let subs = self.subs.clone();
        subs.module(self.into_rpc(), "eth_unsubscribe")
    }
}

/// What a block subscription sends for each new block.
enum BlockFeed {
    Heads,
    Logs(Box<Filter>),
}

#[jsonrpsee::core::async_trait]
impl EthPubSubApiServer for EthPubSubRpc {
    async fn subscribe(
        &self,
        pending: PendingSubscriptionSink,
        kind: String,
        params: Option<serde_json::Value>,
    ) -> SubscriptionResult {
        let params = params.filter(|p| !p.is_null());
        match kind.as_str() {
            "newHeads" => {
                if params.is_some() {
                    pending
                        .reject(invalid_params("newHeads takes no parameters"))
                        .await;
                    return Ok(());
                }
                self.blocks(pending, BlockFeed::Heads).await
            }
            "logs" => {
                let filter = match params.map(serde_json::from_value::<Filter>) {
                    None => Filter::default(),
                    Some(Ok(f)) => f,
                    Some(Err(e)) => {
                        pending
                            .reject(invalid_params(format!("invalid logs filter: {e}")))
                            .await;
                        return Ok(());
                    }
                };
                self.blocks(pending, BlockFeed::Logs(Box::new(filter)))
                    .await
            }
            "newPendingTransactions" => {
                let full = match params.map(serde_json::from_value::<bool>) {
                    None => false,
                    Some(Ok(full)) => full,
                    Some(Err(e)) => {
                        pending
                            .reject(invalid_params(format!("invalid parameter: {e}")))
                            .await;
                        return Ok(());
                    }
                };
                if full {
                    pending
                        .reject(invalid_params(
                            "full pending transactions are not supported; omit the flag for hashes",
                        ))
                        .await;
                    return Ok(());
                }
                self.pending_txs(pending).await
            }
            other => {
                pending
                    .reject(invalid_params(format!(
                        "unsupported subscription type {other:?}; \
                         expected newHeads, logs or newPendingTransactions"
                    )))
                    .await;
                Ok(())
            }
        }
    }
}

impl EthPubSubRpc {
    async fn blocks(
        &self,
        pending: PendingSubscriptionSink,
        feed: BlockFeed,
    ) -> SubscriptionResult {
        // Subscribe before reading the head so no block falls between the two.
        let mut rx = self.ctx.new_blocks.subscribe();
        let mut next = match self.ctx.store.latest().and_then(|r| r.head()) {
            Ok(h) => h.map_or(0, |h| h + 1),
            Err(e) => {
                pending.reject(internal(e)).await;
                return Ok(());
            }
        };
        let registered = self.subs.register(&pending);
        let sink = pending.accept().await?;
        let ctx = self.ctx.clone();
        let out = sink.clone();
        registered.run(sink, async move {
            loop {
                let block = match rx.recv().await {
                    Ok(block) => block,
                    // The cursor catches up from the store at the next block.
                    Err(RecvError::Lagged(n)) => {
                        debug!(skipped = n, "block subscription lagged");
                        continue;
                    }
                    Err(RecvError::Closed) => break,
                };
                match send_blocks(&ctx, &out, &feed, &mut next, block).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "block subscription stopped: store error");
                        break;
                    }
                }
            }
        });
        Ok(())
    }

    async fn pending_txs(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        let mut rx = self.ctx.new_pending.subscribe();
        let registered = self.subs.register(&pending);
        let sink = pending.accept().await?;
        let out = sink.clone();
        registered.run(sink, async move {
            loop {
                let hash = match rx.recv().await {
                    Ok(hash) => hash,
                    Err(RecvError::Lagged(n)) => {
                        debug!(skipped = n, "pending-transaction subscription lagged");
                        continue;
                    }
                    Err(RecvError::Closed) => break,
                };
                if !send(&out, &hash).await {
                    break;
                }
            }
        });
        Ok(())
    }
}

/// Sends one item; `false` when the client is gone.
async fn send<T: Serialize>(sink: &SubscriptionSink, item: &T) -> bool {
    match to_json_raw_value(item) {
        Ok(raw) => sink.send(raw).await.is_ok(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot serialise subscription item");
            false
        }
    }
}

/// Sends what `feed` reports for blocks `*next..=block.number` and moves the cursor; `Ok(false)`
/// when the client is gone.
async fn send_blocks(
    ctx: &RpcContext,
    sink: &SubscriptionSink,
    feed: &BlockFeed,
    next: &mut u64,
    block: NewBlock,
) -> Result<bool, StoreError> {
    // After an unwind the announced block may be at or below the cursor: report it again.
    let from = (*next)
        .min(block.number)
        .max(block.number.saturating_sub(MAX_CATCH_UP - 1));
    *next = block.number + 1;
    let reader = ctx.store.latest()?;
    for n in from..=block.number {
        match feed {
            BlockFeed::Heads => {
                let (Some(header), Some(hash)) = (reader.header(n)?, reader.block_hash(n)?) else {
                    continue;
                };
                let header =
                    RpcHeader::from_consensus(Sealed::new_unchecked(header, hash), None, None);
                if !send(sink, &header).await {
                    return Ok(false);
                }
            }
            BlockFeed::Logs(filter) => {
                let (lo, hi) = live_bounds(filter);
                if n < lo || n > hi {
                    continue;
                }
                for log in block_logs(&reader, n, filter)? {
                    if !send(sink, &log).await {
                        return Ok(false);
                    }
                }
            }
        }
    }
    Ok(true)
}
