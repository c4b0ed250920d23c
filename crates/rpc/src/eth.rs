//! The `eth_` namespace: chain and state queries, transaction submission, blocks and receipts.

use std::sync::Arc;

use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, Bytes, U64, U256},
    rpc::types::{
        AccessListResult, Block, BlockOverrides, EIP1186AccountProofResponse, FeeHistory, Index,
        TransactionRequest, state::StateOverride,
    },
    serde::JsonStorageKey,
};
use alloy_evm::Evm as _;
use alloy_evm::EvmFactory as _;

use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use op_alloy::rpc_types::{OpTransactionReceipt, Transaction as OpTransaction};
use opal_storage::{Head, StateReader};
use revm::context_interface::result::ExecutionResult;
use revm_inspectors::access_list::AccessListInspector;
use tracing::debug;

use crate::{
    RpcContext, call,
    error::{internal, invalid_params, server_error},
    render,
};

/// Gas given to `eth_call` when the request names none (and the most it may ask for).
const CALL_GAS_CAP: u64 = 50_000_000;

/// `eth_` methods.
#[rpc(server, namespace = "eth")]
pub trait EthApi {
    /// EIP-155 chain id.
    #[method(name = "chainId")]
    fn chain_id(&self) -> RpcResult<U64>;
    /// Number of the latest block.
    #[method(name = "blockNumber")]
    fn block_number(&self) -> RpcResult<U64>;
    /// Always `false`: a sequencer is never syncing.
    #[method(name = "syncing")]
    fn syncing(&self) -> RpcResult<bool>;
    /// Suggested legacy gas price: next base fee plus the suggested tip.
    #[method(name = "gasPrice")]
    fn gas_price(&self) -> RpcResult<U256>;
    /// Suggested priority fee.
    #[method(name = "maxPriorityFeePerGas")]
    fn max_priority_fee_per_gas(&self) -> RpcResult<U256>;
    /// Balance at a block.
    #[method(name = "getBalance")]
    fn get_balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256>;
    /// Nonce at a block (`pending` counts pool transactions).
    #[method(name = "getTransactionCount")]
    fn get_transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256>;
    /// Code at a block.
    #[method(name = "getCode")]
    fn get_code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes>;
    /// A storage slot at a block.
    #[method(name = "getStorageAt")]
    fn get_storage_at(
        &self,
        address: Address,
        slot: JsonStorageKey,
        block: Option<BlockId>,
    ) -> RpcResult<B256>;
    /// Merkle proof of an account and slots (latest state).
    #[method(name = "getProof")]
    fn get_proof(
        &self,
        address: Address,
        keys: Vec<JsonStorageKey>,
        block: Option<BlockId>,
    ) -> RpcResult<EIP1186AccountProofResponse>;
    /// Submits a signed transaction to the pool.
    #[method(name = "sendRawTransaction")]
    fn send_raw_transaction(&self, bytes: Bytes) -> RpcResult<B256>;
    /// A block by number or tag.
    #[method(name = "getBlockByNumber")]
    fn get_block_by_number(
        &self,
        number: BlockNumberOrTag,
        full: bool,
    ) -> RpcResult<Option<Block<OpTransaction>>>;
    /// A block by hash.
    #[method(name = "getBlockByHash")]
    fn get_block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<Block<OpTransaction>>>;
    /// An included transaction by hash.
    #[method(name = "getTransactionByHash")]
    fn get_transaction_by_hash(&self, hash: B256) -> RpcResult<Option<OpTransaction>>;
    /// The receipt of an included transaction.
    #[method(name = "getTransactionReceipt")]
    fn get_transaction_receipt(&self, hash: B256) -> RpcResult<Option<OpTransactionReceipt>>;
    /// All receipts of a block.
    #[method(name = "getBlockReceipts")]
    fn get_block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<OpTransactionReceipt>>>;
    /// Number of transactions in a block.
    #[method(name = "getBlockTransactionCountByNumber")]
    fn get_block_transaction_count_by_number(
        &self,
        number: BlockNumberOrTag,
    ) -> RpcResult<Option<U64>>;
    /// Executes a call on a block's state without a transaction.
    #[method(name = "call")]
    fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
        block_overrides: Option<Box<BlockOverrides>>,
    ) -> RpcResult<Bytes>;
    /// The gas a transaction needs (binary search; revert reasons returned as errors).
    #[method(name = "estimateGas")]
    fn estimate_gas(&self, request: TransactionRequest, block: Option<BlockId>) -> RpcResult<U64>;
    /// Base fees, gas-used ratios and tip percentiles of recent blocks.
    #[method(name = "feeHistory")]
    fn fee_history(
        &self,
        block_count: U64,
        newest: BlockNumberOrTag,
        reward_percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory>;
    /// The access list a transaction would touch, and its gas with that list.
    #[method(name = "createAccessList")]
    fn create_access_list(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
    ) -> RpcResult<AccessListResult>;
    /// A transaction by block hash and index.
    #[method(name = "getTransactionByBlockHashAndIndex")]
    fn get_transaction_by_block_hash_and_index(
        &self,
        hash: B256,
        index: Index,
    ) -> RpcResult<Option<OpTransaction>>;
    /// A transaction by block number and index.
    #[method(name = "getTransactionByBlockNumberAndIndex")]
    fn get_transaction_by_block_number_and_index(
        &self,
        number: BlockNumberOrTag,
        index: Index,
    ) -> RpcResult<Option<OpTransaction>>;
    /// Number of transactions in a block, by hash.
    #[method(name = "getBlockTransactionCountByHash")]
    fn get_block_transaction_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>>;
    /// Number of uncles by block hash (always 0 on an L2).
    #[method(name = "getUncleCountByBlockHash")]
    fn get_uncle_count_by_block_hash(&self, hash: B256) -> RpcResult<U64>;
    /// Number of uncles (always 0 on an L2).
    #[method(name = "getUncleCountByBlockNumber")]
    fn get_uncle_count_by_block_number(&self, number: BlockNumberOrTag) -> RpcResult<U64>;
}

/// The `eth_` implementation.
pub struct EthRpc {
    ctx: Arc<RpcContext>,
}

impl EthRpc {
    /// Over a context.
    pub fn new(ctx: Arc<RpcContext>) -> Self {
        Self { ctx }
    }

    fn latest(&self) -> RpcResult<StateReader> {
        self.ctx.store.latest().map_err(internal)
    }

    fn head(&self, reader: &StateReader) -> RpcResult<u64> {
        reader
            .head()
            .map_err(internal)?
            .ok_or_else(|| server_error("chain not initialised"))
    }

    /// Resolves a tag or number to a block number that exists.
    fn number_of(&self, reader: &StateReader, tag: BlockNumberOrTag) -> RpcResult<Option<u64>> {
        let head = self.head(reader)?;
        let n = match tag {
            BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => head,
            BlockNumberOrTag::Earliest => 0,
            BlockNumberOrTag::Safe => self
                .ctx
                .store
                .head(Head::Safe)
                .map_err(internal)?
                .unwrap_or(0),
            BlockNumberOrTag::Finalized => self
                .ctx
                .store
                .head(Head::Finalized)
                .map_err(internal)?
                .unwrap_or(0),
            BlockNumberOrTag::Number(n) => n,
        };
        Ok((n <= head).then_some(n))
    }

    fn resolve(&self, reader: &StateReader, block: Option<BlockId>) -> RpcResult<u64> {
        match block.unwrap_or(BlockId::Number(BlockNumberOrTag::Latest)) {
            BlockId::Number(tag) => self
                .number_of(reader, tag)?
                .ok_or_else(|| server_error("header not found")),
            BlockId::Hash(h) => reader
                .block_number(h.block_hash)
                .map_err(internal)?
                .ok_or_else(|| server_error(format!("block {} not found", h.block_hash))),
        }
    }

    /// A state view at the block a request names.
    fn state_at(&self, block: Option<BlockId>) -> RpcResult<StateReader> {
        let latest = self.latest()?;
        let n = self.resolve(&latest, block)?;
        if Some(n) == latest.head().map_err(internal)? {
            Ok(latest)
        } else {
            self.ctx.store.at_block(n).map_err(internal)
        }
    }

    fn is_pending(block: &Option<BlockId>) -> bool {
        matches!(block, Some(BlockId::Number(BlockNumberOrTag::Pending)))
    }

    fn block_at(&self, n: u64, full: bool) -> RpcResult<Option<Block<OpTransaction>>> {
        let reader = self.latest()?;
        Ok(self
            .ctx
            .blocks
            .load(&reader, n)
            .map_err(internal)?
            .map(|b| render::block(&self.ctx.chain, &b, full)))
    }

    fn receipts_of(&self, n: u64) -> RpcResult<Option<Vec<OpTransactionReceipt>>> {
        let reader = self.latest()?;
        let Some(b) = self.ctx.blocks.load(&reader, n).map_err(internal)? else {
            return Ok(None);
        };
        let at = self.ctx.store.at_block(n).map_err(internal)?;
        render::receipts(&self.ctx.chain, &at, &b)
            .map(Some)
            .map_err(internal)
    }

    fn transaction_at(
        &self,
        reader: &StateReader,
        n: u64,
        index: usize,
    ) -> RpcResult<Option<OpTransaction>> {
        let Some(b) = self.ctx.blocks.load(reader, n).map_err(internal)? else {
            return Ok(None);
        };
        Ok((index < b.txs.len()).then(|| render::transaction(&b, index)))
    }

    /// The state and header a call runs against (`pending` = the latest block).
    fn call_state(
        &self,
        block: Option<BlockId>,
    ) -> RpcResult<(StateReader, alloy::consensus::Header)> {
        let reader = self.state_at(block)?;
        let n = reader
            .state_block()
            .map_err(internal)?
            .ok_or_else(|| server_error("header not found"))?;
        let header = reader
            .header(n)
            .map_err(internal)?
            .ok_or_else(|| server_error("header not found"))?;
        Ok((reader, header))
    }

    fn next_base_fee(&self) -> RpcResult<u64> {
        let reader = self.latest()?;
        let head = self.head(&reader)?;
        let header = reader
            .header(head)
            .map_err(internal)?
            .ok_or_else(|| server_error("head header missing"))?;
        self.ctx
            .chain
            .next_base_fee(&header, header.timestamp + 1)
            .map_err(internal)
    }
}

impl EthApiServer for EthRpc {
    fn chain_id(&self) -> RpcResult<U64> {
        Ok(U64::from(self.ctx.chain.chain_id()))
    }

    fn block_number(&self) -> RpcResult<U64> {
        let reader = self.latest()?;
        Ok(U64::from(self.head(&reader)?))
    }

    fn syncing(&self) -> RpcResult<bool> {
        Ok(false)
    }

    fn gas_price(&self) -> RpcResult<U256> {
        Ok(U256::from(
            self.next_base_fee()? as u128 + self.ctx.suggested_tip,
        ))
    }

    fn max_priority_fee_per_gas(&self) -> RpcResult<U256> {
        Ok(U256::from(self.ctx.suggested_tip))
    }

    fn get_balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256> {
        let s = self.state_at(block)?;
        Ok(s.account(address)
            .map_err(internal)?
            .map_or(U256::ZERO, |a| a.balance))
    }

    fn get_transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256> {
        let pending = Self::is_pending(&block);
        let s = self.state_at(block)?;
        let nonce = s.account(address).map_err(internal)?.map_or(0, |a| a.nonce);
        Ok(U256::from(if pending {
            self.ctx.pool.pending_nonce(address, nonce)
        } else {
            nonce
        }))
    }

    fn get_code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes> {
        let s = self.state_at(block)?;
        let Some(a) = s.account(address).map_err(internal)? else {
            return Ok(Bytes::new());
        };
        Ok(s.code(a.code_hash)
            .map_err(internal)?
            .map(Bytes::from)
            .unwrap_or_default())
    }

    fn get_storage_at(
        &self,
        address: Address,
        slot: JsonStorageKey,
        block: Option<BlockId>,
    ) -> RpcResult<B256> {
        let s = self.state_at(block)?;
        let v = s
            .storage(address, U256::from_be_bytes(slot.as_b256().0))
            .map_err(internal)?;
        Ok(B256::from(v))
    }

    fn get_proof(
        &self,
        address: Address,
        keys: Vec<JsonStorageKey>,
        block: Option<BlockId>,
    ) -> RpcResult<EIP1186AccountProofResponse> {
        let latest = self.latest()?;
        let n = self.resolve(&latest, block)?;
        if Some(n) != latest.head().map_err(internal)? {
            return Err(invalid_params(
                "proofs are served for the latest block only",
            ));
        }
        drop(latest);
        let slots: Vec<B256> = keys.iter().map(|k| k.as_b256()).collect();
        let (mut proof, _) = self.ctx.store.proof(address, &slots).map_err(internal)?;
        for (p, k) in proof.storage_proof.iter_mut().zip(keys) {
            p.key = k;
        }
        Ok(proof)
    }

    fn send_raw_transaction(&self, bytes: Bytes) -> RpcResult<B256> {
        let hash = self.ctx.pool.submit(bytes).map_err(server_error)?;
        debug!(%hash, "transaction submitted");
        // No subscriber is not an error.
        let _ = self.ctx.new_pending.send(hash);
        Ok(hash)
    }

    fn get_block_by_number(
        &self,
        number: BlockNumberOrTag,
        full: bool,
    ) -> RpcResult<Option<Block<OpTransaction>>> {
        let reader = self.latest()?;
        match self.number_of(&reader, number)? {
            Some(n) => self.block_at(n, full),
            None => Ok(None),
        }
    }

    fn get_block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<Block<OpTransaction>>> {
        let reader = self.latest()?;
        match reader.block_number(hash).map_err(internal)? {
            Some(n) => self.block_at(n, full),
            None => Ok(None),
        }
    }

    fn get_transaction_by_hash(&self, hash: B256) -> RpcResult<Option<OpTransaction>> {
        let reader = self.latest()?;
        let Some(loc) = reader.transaction_location(hash).map_err(internal)? else {
            return Ok(None);
        };
        let Some(b) = self
            .ctx
            .blocks
            .load(&reader, loc.number)
            .map_err(internal)?
        else {
            return Ok(None);
        };
        Ok(((loc.index as usize) < b.txs.len())
            .then(|| render::transaction(&b, loc.index as usize)))
    }

    fn get_transaction_receipt(&self, hash: B256) -> RpcResult<Option<OpTransactionReceipt>> {
        crate::sync_send::receipt_by_hash(&self.ctx, hash)
    }

    fn get_block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<OpTransactionReceipt>>> {
        let reader = self.latest()?;
        let n = match block {
            BlockId::Number(tag) => self.number_of(&reader, tag)?,
            BlockId::Hash(h) => reader.block_number(h.block_hash).map_err(internal)?,
        };
        match n {
            Some(n) => self.receipts_of(n),
            None => Ok(None),
        }
    }

    fn get_block_transaction_count_by_number(
        &self,
        number: BlockNumberOrTag,
    ) -> RpcResult<Option<U64>> {
        let reader = self.latest()?;
        let Some(n) = self.number_of(&reader, number)? else {
            return Ok(None);
        };
        Ok(self
            .ctx
            .blocks
            .load(&reader, n)
            .map_err(internal)?
            .map(|b| U64::from(b.txs.len())))
    }

    fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<StateOverride>,
        block_overrides: Option<Box<BlockOverrides>>,
    ) -> RpcResult<Bytes> {
        let (reader, header) = self.call_state(block)?;
        let gas = request.gas.unwrap_or(CALL_GAS_CAP).min(CALL_GAS_CAP);
        let overrides = call::Overrides {
            state: state_overrides,
            block: block_overrides.map(|b| *b),
        };
        call::call_output(call::run_with(
            &self.ctx.chain,
            &reader,
            &header,
            &request,
            gas,
            &overrides,
        )?)
    }

    fn estimate_gas(&self, request: TransactionRequest, block: Option<BlockId>) -> RpcResult<U64> {
        let (reader, header) = self.call_state(block)?;
        call::estimate(
            &self.ctx.chain,
            &reader,
            &header,
            &request,
            header.gas_limit,
        )
        .map(U64::from)
    }

    fn fee_history(
        &self,
        block_count: U64,
        newest: BlockNumberOrTag,
        reward_percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory> {
        let reader = self.latest()?;
        let newest = self
            .number_of(&reader, newest)?
            .ok_or_else(|| server_error("header not found"))?;
        let count = block_count.to::<u64>().clamp(1, 1024).min(newest + 1);
        let oldest = newest + 1 - count;
        let percentiles = reward_percentiles.unwrap_or_default();
        if percentiles.windows(2).any(|w| w[0] > w[1])
            || percentiles.iter().any(|p| !(0.0..=100.0).contains(p))
        {
            return Err(invalid_params(
                "reward percentiles must be ascending values in [0, 100]",
            ));
        }
        let mut history = FeeHistory {
            oldest_block: oldest,
            ..Default::default()
        };
        let mut rewards = vec![];
        let mut last = None;
        for n in oldest..=newest {
            let b = self
                .ctx
                .blocks
                .load(&reader, n)
                .map_err(internal)?
                .ok_or_else(|| server_error("header not found"))?;
            let base = b.header.base_fee_per_gas.unwrap_or_default();
            history.base_fee_per_gas.push(base as u128);
            history
                .gas_used_ratio
                .push(b.header.gas_used as f64 / b.header.gas_limit.max(1) as f64);
            history.base_fee_per_blob_gas.push(1);
            history.blob_gas_used_ratio.push(0.0);
            if !percentiles.is_empty() {
                rewards.push(render::tip_percentiles(&b, &percentiles));
            }
            last = Some(b.header.clone());
        }
        if let Some(h) = last {
            let next = self
                .ctx
                .chain
                .next_base_fee(&h, h.timestamp + 1)
                .map_err(internal)?;
            history.base_fee_per_gas.push(next as u128);
            history.base_fee_per_blob_gas.push(1);
        }
        history.reward = (!percentiles.is_empty()).then_some(rewards);
        Ok(history)
    }

    fn create_access_list(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
    ) -> RpcResult<AccessListResult> {
        let (reader, header) = self.call_state(block)?;
        let gas = request.gas.unwrap_or(CALL_GAS_CAP).min(CALL_GAS_CAP);
        let (env, tx) = call::call_env(&self.ctx.chain, &reader, &header, &request, gas)?;
        let caller = tx.0.base.caller;
        let target = match tx.0.base.kind {
            alloy::primitives::TxKind::Call(to) => to,
            alloy::primitives::TxKind::Create => caller.create(tx.0.base.nonce),
        };
        let mut inspector =
            AccessListInspector::new(request.access_list.clone().unwrap_or_default());
        {
            let mut state = revm::database::State::builder()
                .with_database_ref(&reader)
                .build();
            let mut evm = self.ctx.chain.evm_factory().create_evm_with_inspector(
                &mut state,
                env,
                &mut inspector,
            );
            evm.transact(tx).map_err(|e| server_error(e.to_string()))?;
        }
        // Like geth: the sender, the recipient and precompiles are listed only for the storage
        // slots they touch (they are warm anyway).
        let mut list = inspector.into_access_list();
        list.0.retain(|item| {
            !item.storage_keys.is_empty()
                || (item.address != caller
                    && item.address != target
                    && !is_precompile(item.address))
        });
        list.0.sort_by_key(|item| item.address);
        let with_list = TransactionRequest {
            access_list: Some(list.clone()),
            ..request
        };
        let result = call::run(&self.ctx.chain, &reader, &header, &with_list, gas)?;
        let error = match &result {
            ExecutionResult::Success { .. } => None,
            ExecutionResult::Revert { output, .. } => {
                Some(call::revert_error(output).message().to_string())
            }
            ExecutionResult::Halt { reason, .. } => Some(format!("{reason:?}")),
        };
        Ok(AccessListResult {
            access_list: list,
            gas_used: U256::from(result.tx_gas_used()),
            error,
        })
    }

    fn get_transaction_by_block_hash_and_index(
        &self,
        hash: B256,
        index: Index,
    ) -> RpcResult<Option<OpTransaction>> {
        let reader = self.latest()?;
        let Some(n) = reader.block_number(hash).map_err(internal)? else {
            return Ok(None);
        };
        self.transaction_at(&reader, n, index.into())
    }

    fn get_transaction_by_block_number_and_index(
        &self,
        number: BlockNumberOrTag,
        index: Index,
    ) -> RpcResult<Option<OpTransaction>> {
        let reader = self.latest()?;
        let Some(n) = self.number_of(&reader, number)? else {
            return Ok(None);
        };
        self.transaction_at(&reader, n, index.into())
    }

    fn get_block_transaction_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>> {
        let reader = self.latest()?;
        let Some(n) = reader.block_number(hash).map_err(internal)? else {
            return Ok(None);
        };
        Ok(self
            .ctx
            .blocks
            .load(&reader, n)
            .map_err(internal)?
            .map(|b| U64::from(b.txs.len())))
    }

    fn get_uncle_count_by_block_hash(&self, _hash: B256) -> RpcResult<U64> {
        Ok(U64::ZERO)
    }

    fn get_uncle_count_by_block_number(&self, _number: BlockNumberOrTag) -> RpcResult<U64> {
        Ok(U64::ZERO)
    }
}

/// Whether `a` is a precompile on an Isthmus chain (0x01–0x11 and P256VERIFY at 0x100).
fn is_precompile(a: Address) -> bool {
    let v = alloy::primitives::U160::from_be_bytes(a.0.0);
    (v >= alloy::primitives::U160::from(1) && v <= alloy::primitives::U160::from(0x11))
        || v == alloy::primitives::U160::from(0x100)
}
