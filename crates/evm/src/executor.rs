//! Building and importing blocks: op-revm execution through `OpBlockExecutor`, then one atomic
//! commit of state, trie nodes and block.

use std::sync::Arc;

use alloy::{
    consensus::{
        Header, Transaction as _,
        transaction::{Recovered, SignerRecoverable},
    },
    eips::eip2718::{Decodable2718, WithEncoded},
    primitives::{Address, B256, Bytes, U256},
};
use alloy_evm::{
    EvmEnv, EvmFactory,
    block::{BlockExecutionError, BlockExecutor as _, BlockValidationError},
};
use alloy_op_evm::{OpBlockExecutionCtx, OpBlockExecutor, block::OpAlloyReceiptBuilder};
use alloy_rlp::Decodable;
use op_alloy::consensus::{OpReceiptEnvelope, OpTxEnvelope};
use opal_primitives::Fork;
use opal_storage::{BlockContents, BlockRecord, Store, StoreError};
use revm::{
    context::{BlockEnv, CfgEnv},
    context_interface::block::BlobExcessGasAndPrice,
    database::{State, states::bundle_state::BundleRetention},
};
use tracing::{debug, info_span, warn};

use crate::{
    ChainError, OpalChain,
    convert::{alloc_to_changes, bundle_to_changes},
    header::{BodyRoots, HeaderFields, first_difference, seal_header},
};

/// OP payload attributes, as derivation and the Engine API produce them.
pub use op_alloy::rpc_types_engine::OpPayloadAttributes as PayloadAttributes;

/// Errors building or importing a block.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The store failed or rejected the block.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A chain rule failed (base fee parameters, unsupported fork).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The parent is not the current head.
    #[error("parent {0} is not the head of the chain")]
    ParentNotHead(B256),
    /// A forced (attribute or block) transaction could not be decoded or recovered.
    #[error("transaction {index}: {reason}")]
    BadTransaction {
        /// Position in the block.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The attributes are unusable.
    #[error("payload attributes: {0}")]
    Attributes(String),
    /// Execution failed (an invalid forced transaction, or the database).
    #[error("execution: {0}")]
    Execution(String),
    /// The source withdrew transactions it had handed out (one was replaced in the pool): the
    /// block was not committed and should be built again.
    #[error("a transaction of the block was withdrawn; build it again")]
    Superseded,
    /// The imported block does not match its re-execution.
    #[error("block {number} is invalid: {field} differs from re-execution")]
    Mismatch {
        /// Block number.
        number: u64,
        /// The first differing header field.
        field: &'static str,
    },
}

/// Why the builder passed over a pool transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Not enough gas left in this block; it may fit in the next.
    DoesNotFit,
    /// The transaction is invalid against the current state (the reason as geth words it).
    Invalid(String),
}

/// Where the block builder takes pool transactions from, best first.
pub trait TxSource {
    /// The next candidate, with its EIP-2718 bytes and recovered sender.
    fn next_tx(&mut self) -> Option<WithEncoded<Recovered<OpTxEnvelope>>>;
    /// The last candidate was not included.
    fn skip(&mut self, tx_hash: B256, reason: SkipReason);
    /// Asked once the block is complete, before it is committed: `false` withdraws the block
    /// (a transaction it holds is no longer wanted) and the build fails with
    /// [`ExecError::Superseded`].
    fn still_valid(&mut self) -> bool {
        true
    }
}

/// A source with no transactions.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTransactions;

impl TxSource for NoTransactions {
    fn next_tx(&mut self) -> Option<WithEncoded<Recovered<OpTxEnvelope>>> {
        None
    }
    fn skip(&mut self, _: B256, _: SkipReason) {}
}

/// A committed block with its decoded contents.
#[derive(Debug, Clone)]
pub struct BuiltBlock {
    /// Sealed header.
    pub header: Header,
    /// Block hash.
    pub hash: B256,
    /// Transactions in order.
    pub transactions: Vec<OpTxEnvelope>,
    /// Their senders.
    pub senders: Vec<Address>,
    /// Receipts in order.
    pub receipts: Vec<OpReceiptEnvelope>,
    /// Where the time went.
    pub timings: BlockTimings,
}

/// Time spent on a block, by phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockTimings {
    /// Executing the transactions (pool selection included when building).
    pub execution: std::time::Duration,
    /// Computing the storage and state roots (part of `commit`).
    pub state_root: std::time::Duration,
    /// The whole atomic commit: state, trie, roots, block, indexes, fsync.
    pub commit: std::time::Duration,
}

/// Decodes a stored body.
pub fn decode_body(bytes: &[u8]) -> Result<Vec<OpTxEnvelope>, alloy_rlp::Error> {
    Vec::<OpTxEnvelope>::decode(&mut &bytes[..])
}

/// Decodes stored receipts ([`opal_primitives::receipts`]: a receipt without logs is stored
/// without its zero bloom).
pub fn decode_receipts(bytes: &[u8]) -> Result<Vec<OpReceiptEnvelope>, alloy_rlp::Error> {
    opal_primitives::receipts::decode_receipts(bytes)
}

struct Executed {
    txs: Vec<OpTxEnvelope>,
    senders: Vec<Address>,
    receipts: Vec<OpReceiptEnvelope>,
    gas_used: u64,
    changes: opal_storage::StateChanges,
}

/// Builds and imports blocks for one chain over one store.
#[derive(Debug, Clone)]
pub struct BlockExecutor {
    chain: Arc<OpalChain>,
    store: Arc<Store>,
}

impl BlockExecutor {
    /// An executor for `chain` over `store`.
    pub fn new(chain: Arc<OpalChain>, store: Arc<Store>) -> Self {
        Self { chain, store }
    }

    /// The chain.
    pub fn chain(&self) -> &OpalChain {
        &self.chain
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Writes the genesis block into an empty store, or checks that the store holds this genesis.
    pub fn init_genesis(&self) -> Result<BuiltBlock, ExecError> {
        let spec = &self.chain.spec;
        let changes = alloc_to_changes(&spec.genesis.alloc);
        // A datadir that holds a chain must hold this chain id; a fresh one records it once the
        // genesis is written.
        let fresh = self.store.genesis_hash()?.is_none();
        if !fresh {
            self.store.ensure_chain_id(self.chain.chain_id())?;
        }
        let block = self.store.init_genesis(&changes, |roots| {
            let header = opal_primitives::genesis_header::genesis_header(
                spec,
                roots.state_root,
                roots.message_passer_storage_root,
            );
            Ok(BlockRecord::new(header, contents(&[], &[], &[])))
        })?;
        if fresh {
            self.store.ensure_chain_id(self.chain.chain_id())?;
        }
        Ok(BuiltBlock {
            hash: block.hash,
            header: block.header,
            transactions: vec![],
            senders: vec![],
            receipts: vec![],
            timings: BlockTimings::default(),
        })
    }

    /// Builds, executes and commits the block after `parent` from payload attributes: the forced
    /// transactions first, then (unless `noTxPool`) pool transactions while gas remains.
    pub fn build(
        &self,
        parent: &Header,
        attrs: &PayloadAttributes,
        pool: &mut dyn TxSource,
    ) -> Result<BuiltBlock, ExecError> {
        let a = &attrs.payload_attributes;
        let number = parent.number + 1;
        let _span = info_span!("build_block", number).entered();
        if a.timestamp <= parent.timestamp {
            return Err(ExecError::Attributes(format!(
                "timestamp {} not after parent {}",
                a.timestamp, parent.timestamp
            )));
        }
        let gas_limit = attrs
            .gas_limit
            .ok_or_else(|| ExecError::Attributes("gasLimit is required".into()))?;
        if self.chain.is_active(Fork::Ecotone, a.timestamp) && a.parent_beacon_block_root.is_none()
        {
            return Err(ExecError::Attributes(
                "parentBeaconBlockRoot is required from Ecotone".into(),
            ));
        }
        let holocene = self.chain.is_active(Fork::Holocene, a.timestamp);
        if holocene && attrs.eip_1559_params.is_none() {
            return Err(ExecError::Attributes(
                "eip1559Params is required from Holocene".into(),
            ));
        }
        let fields = HeaderFields {
            parent_hash: parent.hash_slow(),
            number,
            timestamp: a.timestamp,
            beneficiary: a.suggested_fee_recipient,
            gas_limit,
            prev_randao: a.prev_randao,
            base_fee: self.chain.next_base_fee(parent, a.timestamp)?,
            extra_data: self.chain.extra_data(a.timestamp, attrs.eip_1559_params)?,
            parent_beacon_block_root: a.parent_beacon_block_root,
        };
        let mut forced = Vec::new();
        for (index, raw) in attrs.transactions.iter().flatten().enumerate() {
            forced.push(recover(raw, index)?);
        }
        let no_pool = attrs.no_tx_pool.unwrap_or(false);
        let started = std::time::Instant::now();
        let executed = self.execute(
            parent,
            &fields,
            forced,
            if no_pool { None } else { Some(pool) },
        )?;
        self.commit(&fields, executed, None, started.elapsed())
    }

    /// Re-executes a complete block on top of the head and commits it if every header field
    /// matches; otherwise nothing is written.
    pub fn import(&self, header: &Header, transactions: &[Bytes]) -> Result<BuiltBlock, ExecError> {
        let _span = info_span!("import_block", number = header.number).entered();
        let parent = {
            let reader = self.store.latest()?;
            let head = reader.head()?.ok_or(StoreError::Uninitialised)?;
            if head + 1 != header.number {
                return Err(ExecError::ParentNotHead(header.parent_hash));
            }
            reader.header(head)?.ok_or(StoreError::Uninitialised)?
        };
        let fields = HeaderFields {
            parent_hash: header.parent_hash,
            number: header.number,
            timestamp: header.timestamp,
            beneficiary: header.beneficiary,
            gas_limit: header.gas_limit,
            prev_randao: header.mix_hash,
            base_fee: header.base_fee_per_gas.unwrap_or_default(),
            extra_data: header.extra_data.clone(),
            parent_beacon_block_root: header.parent_beacon_block_root,
        };
        if header.timestamp <= parent.timestamp {
            return Err(ExecError::Mismatch {
                number: header.number,
                field: "timestamp",
            });
        }
        if Some(self.chain.next_base_fee(&parent, header.timestamp)?) != header.base_fee_per_gas {
            return Err(ExecError::Mismatch {
                number: header.number,
                field: "baseFeePerGas",
            });
        }
        let mut forced = Vec::with_capacity(transactions.len());
        for (index, raw) in transactions.iter().enumerate() {
            forced.push(recover(raw, index)?);
        }
        let started = std::time::Instant::now();
        let executed = self.execute(&parent, &fields, forced, None)?;
        self.commit(&fields, executed, Some(header), started.elapsed())
    }

    fn execute(
        &self,
        parent: &Header,
        f: &HeaderFields,
        forced: Vec<WithEncoded<Recovered<OpTxEnvelope>>>,
        pool: Option<&mut dyn TxSource>,
    ) -> Result<Executed, ExecError> {
        let reader = self.store.latest()?;
        if reader.head()? != Some(parent.number)
            || reader.block_hash(parent.number)? != Some(f.parent_hash)
        {
            return Err(ExecError::ParentNotHead(f.parent_hash));
        }
        let spec = self.chain.spec_id(f.timestamp);
        let cfg = CfgEnv::new()
            .with_chain_id(self.chain.chain_id())
            .with_spec_and_mainnet_gas_params(spec);
        let block = BlockEnv {
            number: U256::from(f.number),
            beneficiary: f.beneficiary,
            timestamp: U256::from(f.timestamp),
            gas_limit: f.gas_limit,
            basefee: f.base_fee,
            difficulty: U256::ZERO,
            prevrandao: Some(f.prev_randao),
            blob_excess_gas_and_price: self.chain.is_active(Fork::Ecotone, f.timestamp).then_some(
                BlobExcessGasAndPrice {
                    excess_blob_gas: 0,
                    blob_gasprice: 1,
                },
            ),
            slot_num: 0,
        };
        let mut state = State::builder()
            .with_database_ref(reader)
            .with_bundle_update()
            .build();
        let evm = self
            .chain
            .evm_factory()
            .create_evm(&mut state, EvmEnv::new(cfg, block));
        let ctx = OpBlockExecutionCtx {
            parent_hash: f.parent_hash,
            parent_beacon_block_root: f.parent_beacon_block_root,
            extra_data: f.extra_data.clone(),
        };
        let mut ex = OpBlockExecutor::new(
            evm,
            ctx,
            self.chain.hardforks.clone(),
            OpAlloyReceiptBuilder::default(),
        );
        ex.apply_pre_execution_changes().map_err(exec_err)?;
        let mut txs = Vec::with_capacity(forced.len());
        let mut senders = Vec::with_capacity(forced.len());
        for (index, tx) in forced.into_iter().enumerate() {
            ex.execute_transaction(&tx)
                .map_err(|e| ExecError::BadTransaction {
                    index,
                    reason: e.to_string(),
                })?;
            senders.push(tx.1.signer());
            txs.push(tx.1.into_inner());
        }
        if let Some(pool) = pool {
            while let Some(tx) = pool.next_tx() {
                let hash = tx.1.tx_hash();
                let left = f.gas_limit.saturating_sub(ex.gas_used);
                if tx.1.gas_limit() > left {
                    pool.skip(hash, SkipReason::DoesNotFit);
                    if left < 21_000 {
                        break;
                    }
                    continue;
                }
                match ex.execute_transaction(&tx) {
                    Ok(_) => {
                        senders.push(tx.1.signer());
                        txs.push(tx.1.into_inner());
                    }
                    Err(BlockExecutionError::Validation(BlockValidationError::InvalidTx {
                        error,
                        ..
                    })) => {
                        debug!(%hash, %error, "dropping invalid transaction");
                        pool.skip(hash, SkipReason::Invalid(error.to_string()));
                    }
                    Err(BlockExecutionError::Validation(e)) => {
                        warn!(%hash, %e, "skipping transaction");
                        pool.skip(hash, SkipReason::Invalid(e.to_string()));
                    }
                    Err(e) => return Err(exec_err(e)),
                }
            }
            if !pool.still_valid() {
                return Err(ExecError::Superseded);
            }
        }
        let (_evm, result) = ex.finish().map_err(exec_err)?;
        state.merge_transitions(BundleRetention::PlainState);
        let bundle = state.take_bundle();
        Ok(Executed {
            txs,
            senders,
            receipts: result.receipts,
            gas_used: result.gas_used,
            changes: bundle_to_changes(&bundle),
        })
    }

    fn commit(
        &self,
        f: &HeaderFields,
        ex: Executed,
        expected: Option<&Header>,
        execution: std::time::Duration,
    ) -> Result<BuiltBlock, ExecError> {
        let chain = &self.chain;
        let mut mismatch = None;
        let mut state_root = std::time::Duration::ZERO;
        let started = std::time::Instant::now();
        // The body's roots and encoding are made while the state root is computed.
        let prepare = || {
            Ok((
                contents(&ex.txs, &ex.senders, &ex.receipts),
                BodyRoots::new(&ex.txs, &ex.receipts),
            ))
        };
        let result =
            self.store
                .commit_block_overlapped(f.number, &ex.changes, prepare, |roots, body| {
                    state_root = roots.root_time;
                    let header = seal_header(chain, f, roots, &body, ex.gas_used);
                    if let Some(want) = expected
                        && let Some(field) = first_difference(&header, want)
                    {
                        mismatch = Some(field);
                        return Err(StoreError::Rejected(format!(
                            "{field} differs from re-execution"
                        )));
                    }
                    Ok(header)
                });
        let record = match (result, mismatch) {
            (Err(_), Some(field)) => {
                return Err(ExecError::Mismatch {
                    number: f.number,
                    field,
                });
            }
            (r, _) => r?,
        };
        debug!(number = f.number, hash = %record.hash, txs = ex.txs.len(), gas = ex.gas_used, "block committed");
        Ok(BuiltBlock {
            header: record.header,
            hash: record.hash,
            transactions: ex.txs,
            senders: ex.senders,
            receipts: ex.receipts,
            timings: BlockTimings {
                execution,
                state_root,
                commit: started.elapsed(),
            },
        })
    }
}

/// The store's encoding of a block's transactions, senders and receipts.
fn contents(
    txs: &[OpTxEnvelope],
    senders: &[Address],
    receipts: &[OpReceiptEnvelope],
) -> BlockContents {
    let mut body = Vec::new();
    alloy_rlp::encode_list(txs, &mut body);
    let mut rbytes = Vec::new();
    opal_primitives::receipts::encode_receipts(receipts, &mut rbytes);
    BlockContents {
        body,
        tx_hashes: txs.iter().map(|t| t.tx_hash()).collect(),
        senders: senders.to_vec(),
        receipts: rbytes,
    }
}

fn recover(raw: &Bytes, index: usize) -> Result<WithEncoded<Recovered<OpTxEnvelope>>, ExecError> {
    let tx =
        OpTxEnvelope::decode_2718(&mut raw.as_ref()).map_err(|e| ExecError::BadTransaction {
            index,
            reason: format!("decode: {e}"),
        })?;
    let recovered = tx
        .try_into_recovered()
        .map_err(|e| ExecError::BadTransaction {
            index,
            reason: format!("signature: {e}"),
        })?;
    Ok(WithEncoded::new(raw.clone(), recovered))
}

fn exec_err(e: BlockExecutionError) -> ExecError {
    ExecError::Execution(e.to_string())
}
