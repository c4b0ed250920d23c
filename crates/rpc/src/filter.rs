//! Log queries and polled filters: `eth_getLogs`, `eth_newFilter`, `eth_newBlockFilter`,
//! `eth_newPendingTransactionFilter`, `eth_getFilterChanges`, `eth_getFilterLogs` and
//! `eth_uninstallFilter`.
//!
//! `eth_getLogs` walks the requested blocks and skips every block whose header logs bloom cannot
//! hold a match, so only candidate blocks are decoded. A query may span at most
//! [`DEFAULT_MAX_BLOCK_RANGE`] blocks and return at most [`DEFAULT_MAX_LOGS`] logs; past either
//! limit it fails with a `-32005` error naming the limit, as hosted providers word it.
//!
//! Installed filters live in memory. Block and log filters keep a cursor (the next block to
//! report) and read new blocks from the store when polled; pending-transaction filters hold a
//! receiver of the pool's accepted-transaction channel. A filter not polled for
//! [`FILTER_TIMEOUT`] is removed.

use std::{
    collections::HashMap,
    hash::{BuildHasher, Hasher, RandomState},
    sync::{Arc, Mutex, MutexGuard, Weak},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{B256, U128},
    rpc::types::{Filter, FilterBlockOption, FilterChanges, Log},
};
use jsonrpsee::{core::RpcResult, proc_macros::rpc, types::ErrorObjectOwned};
use op_alloy::rpc_types::Transaction as OpTransaction;
use opal_storage::{Head, StateReader, StoreError};
use tokio::sync::broadcast::{self, error::TryRecvError};

use crate::{
    RpcContext,
    error::{internal, invalid_params, server_error},
    render,
};

/// Most blocks one `eth_getLogs` (or `eth_getFilterLogs`) query may span.
pub const DEFAULT_MAX_BLOCK_RANGE: u64 = 10_000;
/// Most logs one `eth_getLogs` (or `eth_getFilterLogs`) query may return.
pub const DEFAULT_MAX_LOGS: usize = 10_000;
/// A filter not polled for this long is uninstalled.
pub const FILTER_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// JSON-RPC code for an exceeded limit (EIP-1474 "limit exceeded").
pub const LIMIT_EXCEEDED: i32 = -32005;

/// How often the background sweep removes expired filters.
const SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// Limits of log queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// Most blocks a query may span.
    pub max_block_range: u64,
    /// Most logs a query may return.
    pub max_logs: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        Self {
            max_block_range: DEFAULT_MAX_BLOCK_RANGE,
            max_logs: DEFAULT_MAX_LOGS,
        }
    }
}

/// Why a log query failed.
#[derive(Debug, thiserror::Error)]
pub enum LogQueryError {
    /// `fromBlock` is above `toBlock`.
    #[error("invalid block range params")]
    InvalidRange,
    /// The range spans more blocks than allowed.
    #[error("query exceeds max block range {0}")]
    RangeTooLarge(u64),
    /// More logs matched than allowed.
    #[error("query returned more than {0} results")]
    TooManyResults(usize),
    /// `blockHash` names no stored block.
    #[error("unknown block")]
    UnknownBlock,
    /// The chain has no head yet.
    #[error("chain not initialised")]
    NoHead,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LogQueryError> for ErrorObjectOwned {
    fn from(e: LogQueryError) -> Self {
        match &e {
            LogQueryError::InvalidRange => invalid_params(e.to_string()),
            LogQueryError::RangeTooLarge(_) | LogQueryError::TooManyResults(_) => {
                ErrorObjectOwned::owned(LIMIT_EXCEEDED, e.to_string(), None::<()>)
            }
            LogQueryError::UnknownBlock | LogQueryError::NoHead => server_error(e.to_string()),
            LogQueryError::Store(inner) => internal(inner),
        }
    }
}

/// The head block number of a snapshot.
pub(crate) fn head_of(reader: &StateReader) -> Result<u64, LogQueryError> {
    reader.head()?.ok_or(LogQueryError::NoHead)
}

/// The block number a tag names (numbers are returned as given, possibly above the head).
fn tag_number(ctx: &RpcContext, head: u64, tag: BlockNumberOrTag) -> Result<u64, LogQueryError> {
    Ok(match tag {
        BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => head,
        BlockNumberOrTag::Earliest => 0,
        BlockNumberOrTag::Safe => ctx.store.head(Head::Safe)?.unwrap_or(0),
        BlockNumberOrTag::Finalized => ctx.store.head(Head::Finalized)?.unwrap_or(0),
        BlockNumberOrTag::Number(n) => n,
    })
}

/// The logs of block `n` that match `filter`, with their block, transaction and log indexes.
/// Blocks whose logs bloom cannot contain a match are not decoded.
pub(crate) fn block_logs(
    reader: &StateReader,
    n: u64,
    filter: &Filter,
) -> Result<Vec<Log>, StoreError> {
    let Some(header) = reader.header(n)? else {
        return Ok(vec![]);
    };
    if !filter.matches_bloom(header.logs_bloom) {
        return Ok(vec![]);
    }
    let Some(b) = render::load_block(reader, n)? else {
        return Ok(vec![]);
    };
    if let FilterBlockOption::AtBlockHash(hash) = filter.block_option
        && hash != b.hash
    {
        return Ok(vec![]);
    }
    let mut out = vec![];
    let mut index = 0u64;
    for (i, (tx, receipt)) in b.txs.iter().zip(&b.receipts).enumerate() {
        for log in receipt.logs() {
            if filter.matches(log) {
                out.push(Log {
                    inner: log.clone(),
                    block_hash: Some(b.hash),
                    block_number: Some(n),
                    block_timestamp: Some(b.header.timestamp),
                    transaction_hash: Some(tx.tx_hash()),
                    transaction_index: Some(i as u64),
                    log_index: Some(index),
                    removed: false,
                });
            }
            index += 1;
        }
    }
    Ok(out)
}

/// Numeric bounds a filter puts on blocks reported as they arrive (`eth_getFilterChanges`, the
/// `logs` subscription): explicit numbers bound the range, tags do not.
pub(crate) fn live_bounds(filter: &Filter) -> (u64, u64) {
    match filter.block_option {
        FilterBlockOption::Range {
            from_block,
            to_block,
        } => (
            from_block.and_then(|t| t.as_number()).unwrap_or(0),
            to_block.and_then(|t| t.as_number()).unwrap_or(u64::MAX),
        ),
        FilterBlockOption::AtBlockHash(_) => (0, u64::MAX),
    }
}

/// Runs a log query over the store with `limits`.
pub(crate) fn query_logs(
    ctx: &RpcContext,
    filter: &Filter,
    limits: LogLimits,
) -> Result<Vec<Log>, LogQueryError> {
    let reader = ctx.store.latest()?;
    let head = head_of(&reader)?;
    let (from, to) = match filter.block_option {
        FilterBlockOption::AtBlockHash(hash) => {
            let n = reader
                .block_number(hash)?
                .ok_or(LogQueryError::UnknownBlock)?;
            (n, n)
        }
        FilterBlockOption::Range {
            from_block,
            to_block,
        } => {
            let from = tag_number(ctx, head, from_block.unwrap_or_default())?;
            let to = tag_number(ctx, head, to_block.unwrap_or_default())?;
            if from > to {
                return Err(LogQueryError::InvalidRange);
            }
            if to - from >= limits.max_block_range {
                return Err(LogQueryError::RangeTooLarge(limits.max_block_range));
            }
            (from, to.min(head))
        }
    };
    let mut logs = vec![];
    for n in from..=to {
        logs.extend(block_logs(&reader, n, filter)?);
        if logs.len() > limits.max_logs {
            return Err(LogQueryError::TooManyResults(limits.max_logs));
        }
    }
    Ok(logs)
}

/// What an installed filter reports.
enum FilterKind {
    /// Hashes of new blocks; `next` is the first block not yet reported.
    Blocks { next: u64 },
    /// Logs of new blocks matching `filter`.
    Logs { filter: Box<Filter>, next: u64 },
    /// Hashes of transactions accepted into the pool.
    Pending { rx: broadcast::Receiver<B256> },
}

struct Installed {
    kind: FilterKind,
    last_poll: Instant,
}

/// The installed filters and the id generator.
#[derive(Default)]
struct Registry {
    filters: HashMap<U128, Installed>,
    counter: u64,
    seed: RandomState,
}

impl Registry {
    fn sweep(&mut self) {
        self.filters
            .retain(|_, f| f.last_poll.elapsed() < FILTER_TIMEOUT);
    }

    /// An unpredictable, unused, non-zero id.
    fn fresh_id(&mut self) -> U128 {
        loop {
            self.counter = self.counter.wrapping_add(1);
            let half = |salt: u64| {
                let mut h = self.seed.build_hasher();
                h.write_u64(self.counter);
                h.write_u64(salt);
                h.write_u128(
                    SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos()),
                );
                h.finish()
            };
            let id = U128::from((u128::from(half(1)) << 64) | u128::from(half(2)));
            if !id.is_zero() && !self.filters.contains_key(&id) {
                return id;
            }
        }
    }

    fn install(&mut self, kind: FilterKind) -> U128 {
        self.sweep();
        let id = self.fresh_id();
        self.filters.insert(
            id,
            Installed {
                kind,
                last_poll: Instant::now(),
            },
        );
        id
    }
}

/// geth's error for an unknown or expired filter id.
fn filter_not_found() -> ErrorObjectOwned {
    server_error("filter not found")
}

/// `eth_` log and filter methods.
#[rpc(server, namespace = "eth")]
pub trait EthFilterApi {
    /// Logs matching a filter, over a block range or one block hash.
    #[method(name = "getLogs", blocking)]
    fn get_logs(&self, filter: Filter) -> RpcResult<Vec<Log>>;
    /// Installs a log filter; `eth_getFilterChanges` then reports logs of new blocks.
    #[method(name = "newFilter")]
    fn new_filter(&self, filter: Filter) -> RpcResult<U128>;
    /// Installs a filter reporting hashes of new blocks.
    #[method(name = "newBlockFilter")]
    fn new_block_filter(&self) -> RpcResult<U128>;
    /// Installs a filter reporting hashes of transactions accepted into the pool.
    #[method(name = "newPendingTransactionFilter")]
    fn new_pending_transaction_filter(&self, full: Option<bool>) -> RpcResult<U128>;
    /// What a filter saw since it was last polled.
    #[method(name = "getFilterChanges", blocking)]
    fn get_filter_changes(&self, id: U128) -> RpcResult<FilterChanges<OpTransaction>>;
    /// All logs a log filter matches, as `eth_getLogs` returns them.
    #[method(name = "getFilterLogs", blocking)]
    fn get_filter_logs(&self, id: U128) -> RpcResult<Vec<Log>>;
    /// Removes a filter; `false` when no such filter exists.
    #[method(name = "uninstallFilter")]
    fn uninstall_filter(&self, id: U128) -> RpcResult<bool>;
}

/// The log and filter implementation; holds the installed filters.
pub struct EthFilterRpc {
    ctx: Arc<RpcContext>,
    limits: LogLimits,
    registry: Arc<Mutex<Registry>>,
}

impl EthFilterRpc {
    /// Over a context, with the default limits. When called inside a tokio runtime it also
    /// starts a task that removes expired filters (it ends when this value is dropped).
    pub fn new(ctx: Arc<RpcContext>) -> Self {
        Self::with_limits(ctx, LogLimits::default())
    }

    /// Over a context, with the given query limits.
    pub fn with_limits(ctx: Arc<RpcContext>, limits: LogLimits) -> Self {
        let registry = Arc::new(Mutex::new(Registry::default()));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&registry);
            rt.spawn(sweep_task(weak));
        }
        Self {
            ctx,
            limits,
            registry,
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the map inconsistent; keep serving.
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn head(&self) -> RpcResult<u64> {
        let reader = self.ctx.store.latest().map_err(internal)?;
        Ok(head_of(&reader)?)
    }

    /// Logs of blocks `from..=to` matching `filter`.
    fn logs_between(&self, filter: &Filter, from: u64, to: u64) -> RpcResult<Vec<Log>> {
        let reader = self.ctx.store.latest().map_err(internal)?;
        let mut logs = vec![];
        for n in from..=to {
            logs.extend(block_logs(&reader, n, filter).map_err(internal)?);
        }
        Ok(logs)
    }

    fn block_hashes(&self, from: u64, to: u64) -> RpcResult<Vec<B256>> {
        let reader = self.ctx.store.latest().map_err(internal)?;
        let mut hashes = vec![];
        for n in from..=to {
            if let Some(h) = reader.block_hash(n).map_err(internal)? {
                hashes.push(h);
            }
        }
        Ok(hashes)
    }
}

async fn sweep_task(registry: Weak<Mutex<Registry>>) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tick.tick().await;
        let Some(registry) = registry.upgrade() else {
            return;
        };
        registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .sweep();
    }
}

/// What a poll must read from the store, decided under the lock.
enum Poll {
    Blocks(u64, u64),
    Logs(Box<Filter>, u64, u64),
    Hashes(Vec<B256>),
}

impl EthFilterApiServer for EthFilterRpc {
    fn get_logs(&self, filter: Filter) -> RpcResult<Vec<Log>> {
        Ok(query_logs(&self.ctx, &filter, self.limits)?)
    }

    fn new_filter(&self, filter: Filter) -> RpcResult<U128> {
        let next = self.head()? + 1;
        Ok(self.registry().install(FilterKind::Logs {
            filter: Box::new(filter),
            next,
        }))
    }

    fn new_block_filter(&self) -> RpcResult<U128> {
        let next = self.head()? + 1;
        Ok(self.registry().install(FilterKind::Blocks { next }))
    }

    fn new_pending_transaction_filter(&self, full: Option<bool>) -> RpcResult<U128> {
        if full == Some(true) {
            return Err(invalid_params(
                "full pending transactions are not supported; omit the flag for hashes",
            ));
        }
        let rx = self.ctx.new_pending.subscribe();
        Ok(self.registry().install(FilterKind::Pending { rx }))
    }

    fn get_filter_changes(&self, id: U128) -> RpcResult<FilterChanges<OpTransaction>> {
        let head = self.head()?;
        // Move the cursor under the lock, read the blocks after releasing it: each block is
        // reported once even to concurrent pollers, and the store is never read under the lock.
        // A long-unpolled filter catches up at most `max_block_range` blocks per poll.
        let span = self.limits.max_block_range.max(1);
        let poll = {
            let mut reg = self.registry();
            reg.sweep();
            let f = reg.filters.get_mut(&id).ok_or_else(filter_not_found)?;
            f.last_poll = Instant::now();
            match &mut f.kind {
                FilterKind::Blocks { next } => {
                    let from = *next;
                    let to = head.min(from.saturating_add(span - 1));
                    *next = (*next).max(to + 1);
                    Poll::Blocks(from, to)
                }
                FilterKind::Logs { filter, next } => {
                    let from = *next;
                    let to = head.min(from.saturating_add(span - 1));
                    *next = (*next).max(to + 1);
                    Poll::Logs(filter.clone(), from, to)
                }
                FilterKind::Pending { rx } => {
                    let mut hashes = vec![];
                    loop {
                        match rx.try_recv() {
                            Ok(h) => hashes.push(h),
                            // Older hashes were overwritten; report what is still buffered.
                            Err(TryRecvError::Lagged(_)) => continue,
                            Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                        }
                    }
                    Poll::Hashes(hashes)
                }
            }
        };
        match poll {
            Poll::Blocks(from, to) => Ok(FilterChanges::Hashes(self.block_hashes(from, to)?)),
            Poll::Hashes(hashes) => Ok(FilterChanges::Hashes(hashes)),
            Poll::Logs(filter, from, to) => {
                let (lo, hi) = live_bounds(&filter);
                let (from, to) = (from.max(lo), to.min(hi));
                Ok(FilterChanges::Logs(self.logs_between(&filter, from, to)?))
            }
        }
    }

    fn get_filter_logs(&self, id: U128) -> RpcResult<Vec<Log>> {
        let filter = {
            let mut reg = self.registry();
            reg.sweep();
            let f = reg.filters.get_mut(&id).ok_or_else(filter_not_found)?;
            f.last_poll = Instant::now();
            match &f.kind {
                FilterKind::Logs { filter, .. } => filter.clone(),
                FilterKind::Blocks { .. } | FilterKind::Pending { .. } => {
                    return Err(filter_not_found());
                }
            }
        };
        Ok(query_logs(&self.ctx, &filter, self.limits)?)
    }

    fn uninstall_filter(&self, id: U128) -> RpcResult<bool> {
        let mut reg = self.registry();
        reg.sweep();
        Ok(reg.filters.remove(&id).is_some())
    }
}
