//! The `debug_` namespace: transaction and call tracing with geth's struct logger, `callTracer`,
//! `prestateTracer`, `4byteTracer` and `noopTracer` (see [`crate::tracers`]), and the raw RLP /
//! EIP-2718 bytes of stored headers, blocks, transactions and receipts.
//!
//! `debug_traceTransaction` replays the transaction's block on its parent state through the same
//! alloy-op-evm `OpBlockExecutor` the node builds blocks with (pre-execution system calls, then
//! every earlier transaction untraced), then traces the transaction itself.

use std::sync::Arc;

use alloy::{
    consensus::{BlockBody, transaction::Recovered},
    eips::{
        BlockId, BlockNumberOrTag,
        eip2718::{Encodable2718, WithEncoded},
        eip4895::Withdrawals,
    },
    primitives::{B256, Bytes},
    rpc::types::{
        TransactionRequest,
        trace::geth::{GethDebugTracingCallOptions, GethDebugTracingOptions, GethTrace},
    },
};
use alloy_evm::{
    Evm, EvmFactory,
    block::{BlockExecutor as _, TxResult as _},
};
use alloy_op_evm::{OpBlockExecutionCtx, OpBlockExecutor, block::OpAlloyReceiptBuilder};
use jsonrpsee::{core::RpcResult, proc_macros::rpc, types::ErrorObjectOwned};
use op_alloy::consensus::OpTxEnvelope;
use opal_primitives::Fork;
use opal_storage::{Head, StateReader};
use revm::{context_interface::result::EVMError, database::State};

use crate::{
    RpcContext, call,
    error::{internal, invalid_params, server_error},
    render::StoredBlock,
    tracers::{self, Tracer},
};

/// Gas given to `debug_traceCall` when the request names none (and the most it may ask for),
/// as for `eth_call`.
const TRACE_CALL_GAS_CAP: u64 = 50_000_000;

/// `debug_` methods.
#[rpc(server, namespace = "debug")]
pub trait DebugApi {
    /// Re-executes an included transaction and traces it: the struct logger by default, or the
    /// tracer `opts.tracer` names (`callTracer`, `prestateTracer`, `4byteTracer`, `noopTracer`).
    #[method(name = "traceTransaction")]
    fn trace_transaction(
        &self,
        hash: B256,
        opts: Option<GethDebugTracingOptions>,
    ) -> RpcResult<GethTrace>;
    /// Executes a call on a block's state, as `eth_call` does, and traces it.
    #[method(name = "traceCall")]
    fn trace_call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        opts: Option<GethDebugTracingCallOptions>,
    ) -> RpcResult<GethTrace>;
    /// The RLP encoding of a block header.
    #[method(name = "getRawHeader")]
    fn get_raw_header(&self, block: BlockId) -> RpcResult<Bytes>;
    /// The RLP encoding of a block.
    #[method(name = "getRawBlock")]
    fn get_raw_block(&self, block: BlockId) -> RpcResult<Bytes>;
    /// The EIP-2718 encoding of a transaction, included or pooled (`0x` when unknown).
    #[method(name = "getRawTransaction")]
    fn get_raw_transaction(&self, hash: B256) -> RpcResult<Bytes>;
    /// The EIP-2718 encodings of a block's receipts.
    #[method(name = "getRawReceipts")]
    fn get_raw_receipts(&self, block: BlockId) -> RpcResult<Vec<Bytes>>;
}

/// The `debug_` implementation.
pub struct DebugRpc {
    ctx: Arc<RpcContext>,
}

fn evm_error<E: std::fmt::Display, T: std::fmt::Display>(e: EVMError<E, T>) -> ErrorObjectOwned {
    match e {
        EVMError::Database(e) => internal(e),
        other => server_error(other.to_string()),
    }
}

impl DebugRpc {
    /// Over a context.
    pub fn new(ctx: Arc<RpcContext>) -> Self {
        Self { ctx }
    }

    fn latest(&self) -> RpcResult<StateReader> {
        self.ctx.store.latest().map_err(internal)
    }

    /// The number of the block `id` names, if it exists.
    fn number_of(&self, reader: &StateReader, id: BlockId) -> RpcResult<Option<u64>> {
        let head = reader
            .head()
            .map_err(internal)?
            .ok_or_else(|| server_error("chain not initialised"))?;
        let tagged = |h: Head| -> RpcResult<u64> {
            Ok(self.ctx.store.head(h).map_err(internal)?.unwrap_or(0))
        };
        let n = match id {
            BlockId::Hash(h) => return reader.block_number(h.block_hash).map_err(internal),
            BlockId::Number(tag) => match tag {
                BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => head,
                BlockNumberOrTag::Earliest => 0,
                BlockNumberOrTag::Safe => tagged(Head::Safe)?,
                BlockNumberOrTag::Finalized => tagged(Head::Finalized)?,
                BlockNumberOrTag::Number(n) => n,
            },
        };
        Ok((n <= head).then_some(n))
    }

    /// The stored block `id` names, or geth's not-found error.
    fn stored_block(&self, id: BlockId) -> RpcResult<Arc<StoredBlock>> {
        let reader = self.latest()?;
        let not_found = || server_error(format!("block {id} not found"));
        let n = self.number_of(&reader, id)?.ok_or_else(not_found)?;
        self.ctx
            .blocks
            .load(&reader, n)
            .map_err(internal)?
            .ok_or_else(not_found)
    }

    /// Replays block `b` up to transaction `index` on its parent state and traces that transaction.
    fn trace_in_block(
        &self,
        b: &StoredBlock,
        index: usize,
        opts: GethDebugTracingOptions,
    ) -> RpcResult<GethTrace> {
        let (tracer, inspector) = Tracer::from_opts(opts)?;
        let parent = b
            .header
            .number
            .checked_sub(1)
            .ok_or_else(|| server_error("genesis is not traceable"))?;
        let parent_state = self.ctx.store.at_block(parent).map_err(internal)?;
        let with_encoded = |i: usize| {
            let tx = b.txs[i].clone();
            WithEncoded::new(
                tx.encoded_2718().into(),
                Recovered::new_unchecked(tx, b.senders[i]),
            )
        };
        let mut state = State::builder().with_database_ref(parent_state).build();
        let env = call::block_env(&self.ctx.chain, &b.header);
        let mut evm = self
            .ctx
            .chain
            .evm_factory()
            .create_evm_with_inspector(&mut state, env, inspector);
        evm.disable_inspector();
        let mut ex = OpBlockExecutor::new(
            evm,
            OpBlockExecutionCtx {
                parent_hash: b.header.parent_hash,
                parent_beacon_block_root: b.header.parent_beacon_block_root,
                extra_data: b.header.extra_data.clone(),
            },
            self.ctx.chain.hardforks.clone(),
            OpAlloyReceiptBuilder::default(),
        );
        let replay = |e: alloy_evm::block::BlockExecutionError| {
            internal(format!("replaying block {}: {e}", b.header.number))
        };
        ex.apply_pre_execution_changes().map_err(replay)?;
        for i in 0..index {
            ex.execute_transaction(&with_encoded(i)).map_err(replay)?;
        }
        tracers::fuse(ex.evm_mut().inspector_mut());
        ex.evm_mut().enable_inspector();
        let target = with_encoded(index);
        let out = ex
            .execute_transaction_without_commit(&target)
            .map_err(replay)?;
        let gas_limit = alloy::consensus::Transaction::gas_limit(&b.txs[index]);
        // Not committed: the state still holds what the transaction ran on.
        let (pre_state, inspector, _) = ex.evm_mut().components_mut();
        tracer.frame(
            inspector,
            gas_limit,
            b.senders[index],
            out.result(),
            &**pre_state,
        )
    }
}

impl DebugApiServer for DebugRpc {
    fn trace_transaction(
        &self,
        hash: B256,
        opts: Option<GethDebugTracingOptions>,
    ) -> RpcResult<GethTrace> {
        let reader = self.latest()?;
        let not_found = || server_error(format!("transaction {hash} not found"));
        let loc = reader
            .transaction_location(hash)
            .map_err(internal)?
            .ok_or_else(not_found)?;
        let b = self
            .ctx
            .blocks
            .load(&reader, loc.number)
            .map_err(internal)?
            .ok_or_else(not_found)?;
        drop(reader);
        let index = loc.index as usize;
        if index >= b.txs.len() {
            return Err(not_found());
        }
        self.trace_in_block(&b, index, opts.unwrap_or_default())
    }

    fn trace_call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        opts: Option<GethDebugTracingCallOptions>,
    ) -> RpcResult<GethTrace> {
        let opts = opts.unwrap_or_default();
        if opts.tx_index.is_some() {
            return Err(invalid_params(
                "txIndex is not supported by debug_traceCall",
            ));
        }
        let (tracer, inspector) = Tracer::from_opts(opts.tracing_options)?;
        let latest = self.latest()?;
        let id = block.unwrap_or(BlockId::Number(BlockNumberOrTag::Latest));
        let n = self
            .number_of(&latest, id)?
            .ok_or_else(|| server_error("header not found"))?;
        let header = latest
            .header(n)
            .map_err(internal)?
            .ok_or_else(|| server_error("header not found"))?;
        let reader = if Some(n) == latest.head().map_err(internal)? {
            latest
        } else {
            drop(latest);
            self.ctx.store.at_block(n).map_err(internal)?
        };
        let gas = request
            .gas
            .unwrap_or(TRACE_CALL_GAS_CAP)
            .min(TRACE_CALL_GAS_CAP);
        let (mut env, tx) = call::call_env(&self.ctx.chain, &reader, &header, &request, gas)?;
        let caller = tx.0.base.caller;
        if let Some(b) = &opts.block_overrides {
            call::apply_block_overrides(&mut env.block_env, b)?;
        }
        let mut db = revm::database::CacheDB::new(&reader);
        if let Some(o) = &opts.state_overrides {
            call::apply_state_overrides(&mut db, o)?;
        }
        let mut state = State::builder().with_database(db).build();
        let mut evm = self
            .ctx
            .chain
            .evm_factory()
            .create_evm_with_inspector(&mut state, env, inspector);
        let out = evm.transact(tx).map_err(evm_error)?;
        let (pre_state, inspector, _) = evm.components_mut();
        tracer.frame(inspector, gas, caller, &out, &**pre_state)
    }

    fn get_raw_header(&self, block: BlockId) -> RpcResult<Bytes> {
        let b = self.stored_block(block)?;
        Ok(alloy_rlp::encode(&b.header).into())
    }

    fn get_raw_block(&self, block: BlockId) -> RpcResult<Bytes> {
        let b = self.stored_block(block)?;
        let withdrawals = self
            .ctx
            .chain
            .is_active(Fork::Canyon, b.header.timestamp)
            .then(Withdrawals::default);
        let block = alloy::consensus::Block {
            header: b.header.clone(),
            body: BlockBody::<OpTxEnvelope> {
                transactions: b.txs.clone(),
                ommers: vec![],
                withdrawals,
            },
        };
        Ok(alloy_rlp::encode(&block).into())
    }

    fn get_raw_transaction(&self, hash: B256) -> RpcResult<Bytes> {
        let reader = self.latest()?;
        if let Some(loc) = reader.transaction_location(hash).map_err(internal)?
            && let Some(b) = self
                .ctx
                .blocks
                .load(&reader, loc.number)
                .map_err(internal)?
            && let Some(tx) = b.txs.get(loc.index as usize)
        {
            return Ok(tx.encoded_2718().into());
        }
        let pooled = self.ctx.pool.content();
        Ok(pooled
            .pending
            .iter()
            .chain(&pooled.queued)
            .find(|t| t.tx_hash() == hash)
            .map(|t| t.inner().encoded_2718().into())
            .unwrap_or_default())
    }

    fn get_raw_receipts(&self, block: BlockId) -> RpcResult<Vec<Bytes>> {
        let b = self.stored_block(block)?;
        Ok(b.receipts.iter().map(|r| r.encoded_2718().into()).collect())
    }
}
