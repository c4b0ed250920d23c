//! Rendering stored blocks, transactions and receipts as the JSON-RPC types op-geth returns,
//! including the OP receipt fields (L1 fee, L1 gas, scalars, operator fee).

use alloy::{
    consensus::{
        Header, ReceiptWithBloom, Transaction as _,
        transaction::{Recovered, TransactionInfo},
    },
    eips::eip2718::Encodable2718,
    primitives::{Address, B256, Sealed, TxKind, U256},
    rpc::types::{Block, BlockTransactions, Log, TransactionReceipt, Withdrawals},
};
use alloy_rlp::Encodable;
use op_alloy::{
    consensus::{
        OpReceipt, OpReceiptEnvelope, OpTxEnvelope,
        transaction::{OpDepositInfo, OpTransactionInfo},
    },
    rpc_types::{L1BlockInfo as RpcL1Info, OpTransactionReceipt, Transaction as OpTransaction},
};
use opal_evm::{OpalChain, decode_body, decode_receipts};
use opal_primitives::Fork;
use opal_storage::{StateReader, StoreError};
use revm::database_interface::WrapDatabaseRef;

/// A stored block, decoded.
#[derive(Debug)]
pub struct StoredBlock {
    /// Header.
    pub header: Header,
    /// Hash.
    pub hash: B256,
    /// Transactions.
    pub txs: Vec<OpTxEnvelope>,
    /// Senders.
    pub senders: Vec<Address>,
    /// Receipts.
    pub receipts: Vec<OpReceiptEnvelope>,
}

fn corrupt(table: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        reason: e.to_string(),
    }
}

/// Loads block `n` from a snapshot.
pub fn load_block(reader: &StateReader, n: u64) -> Result<Option<StoredBlock>, StoreError> {
    Ok(load_block_sized(reader, n)?.map(|(b, _)| b))
}

/// Loads block `n` from a snapshot, with the size of its encoded body and receipts.
pub fn load_block_sized(
    reader: &StateReader,
    n: u64,
) -> Result<Option<(StoredBlock, usize)>, StoreError> {
    let (Some(header), Some(hash)) = (reader.header(n)?, reader.block_hash(n)?) else {
        return Ok(None);
    };
    let body = reader.body(n)?.unwrap_or_default();
    let stored_receipts = reader.receipts(n)?.unwrap_or_default();
    let bytes = body.len() + stored_receipts.len();
    let txs = decode_body(&body).map_err(|e| corrupt("bodies", e))?;
    let receipts = decode_receipts(&stored_receipts).map_err(|e| corrupt("receipts", e))?;
    let senders = reader.senders(n)?.unwrap_or_default();
    if txs.len() != receipts.len() || txs.len() != senders.len() {
        return Err(corrupt(
            "bodies",
            format!(
                "block {n}: {} txs, {} receipts, {} senders",
                txs.len(),
                receipts.len(),
                senders.len()
            ),
        ));
    }
    Ok(Some((
        StoredBlock {
            header,
            hash,
            txs,
            senders,
            receipts,
        },
        bytes,
    )))
}

fn tx_info(b: &StoredBlock, i: usize) -> OpTransactionInfo {
    OpTransactionInfo::new(
        TransactionInfo {
            hash: Some(b.txs[i].tx_hash()),
            index: Some(i as u64),
            block_hash: Some(b.hash),
            block_number: Some(b.header.number),
            base_fee: b.header.base_fee_per_gas,
            block_timestamp: Some(b.header.timestamp),
        },
        OpDepositInfo {
            deposit_nonce: b.receipts[i].deposit_nonce(),
            deposit_receipt_version: b.receipts[i].deposit_receipt_version(),
        },
    )
}

/// Transaction `i` of a block as `eth_getTransactionBy*` returns it.
pub fn transaction(b: &StoredBlock, i: usize) -> OpTransaction {
    OpTransaction::from_transaction(
        Recovered::new_unchecked(b.txs[i].clone(), b.senders[i]),
        tx_info(b, i),
    )
}

/// A block as `eth_getBlockBy*` returns it.
pub fn block(chain: &OpalChain, b: &StoredBlock, full: bool) -> Block<OpTransaction> {
    let size = {
        let body_len: usize = b.txs.iter().map(|t| t.length()).sum::<usize>();
        b.header.length() + body_len + 8
    };
    let header = alloy::rpc::types::Header::from_consensus(
        Sealed::new_unchecked(b.header.clone(), b.hash),
        None,
        Some(U256::from(size)),
    );
    let transactions = if full {
        BlockTransactions::Full((0..b.txs.len()).map(|i| transaction(b, i)).collect())
    } else {
        BlockTransactions::Hashes(b.txs.iter().map(|t| t.tx_hash()).collect())
    };
    let withdrawals = chain
        .is_active(Fork::Canyon, b.header.timestamp)
        .then(|| Withdrawals::new(vec![]));
    Block {
        header,
        uncles: vec![],
        transactions,
        withdrawals,
    }
}

/// Receipt `i` of a block, with the OP L1-fee fields computed from the block's L1 attributes.
pub fn receipt(
    chain: &OpalChain,
    at_block: &StateReader,
    b: &StoredBlock,
    i: usize,
) -> Result<OpTransactionReceipt, StoreError> {
    let l1 = if b.txs[i].is_deposit() {
        None
    } else {
        Some(l1_block_info(chain, at_block, b)?)
    };
    let first_log = b.receipts[..i].iter().map(|r| r.logs().len()).sum();
    Ok(render_receipt(chain, l1.as_ref(), b, i, first_log))
}

/// Every receipt of block `b`, with the block's L1 attributes read once.
pub fn receipts(
    chain: &OpalChain,
    at_block: &StateReader,
    b: &StoredBlock,
) -> Result<Vec<OpTransactionReceipt>, StoreError> {
    let l1 = if b.txs.iter().all(|t| t.is_deposit()) {
        None
    } else {
        Some(l1_block_info(chain, at_block, b)?)
    };
    let mut first_log = 0;
    Ok((0..b.txs.len())
        .map(|i| {
            let r = render_receipt(chain, l1.as_ref(), b, i, first_log);
            first_log += b.receipts[i].logs().len();
            r
        })
        .collect())
}

/// The L1 attributes block `b` executed with (the L1Block predeploy's state after it).
fn l1_block_info(
    chain: &OpalChain,
    at_block: &StateReader,
    b: &StoredBlock,
) -> Result<op_revm::L1BlockInfo, StoreError> {
    let spec = chain.spec_id(b.header.timestamp);
    let mut db = WrapDatabaseRef(at_block);
    op_revm::L1BlockInfo::try_fetch(&mut db, U256::from(b.header.number), spec)
}

/// Receipt `i` of `b`, whose first log has block-wide index `first_log`; `l1` is the block's
/// L1 attributes (needed for every transaction but deposits).
fn render_receipt(
    chain: &OpalChain,
    l1: Option<&op_revm::L1BlockInfo>,
    b: &StoredBlock,
    i: usize,
    first_log: usize,
) -> OpTransactionReceipt {
    let tx = &b.txs[i];
    let env = &b.receipts[i];
    let prev_cumulative = if i == 0 {
        0
    } else {
        b.receipts[i - 1].cumulative_gas_used()
    };
    // Saturating: a corrupt record must not panic a request.
    let gas_used = env.cumulative_gas_used().saturating_sub(prev_cumulative);
    let bloom = *env.logs_bloom();
    let op: OpReceipt = env.clone().into();
    let mut k = first_log as u64;
    let op = op.map_logs(|inner| {
        let log = Log {
            inner,
            block_hash: Some(b.hash),
            block_number: Some(b.header.number),
            block_timestamp: Some(b.header.timestamp),
            transaction_hash: Some(tx.tx_hash()),
            transaction_index: Some(i as u64),
            log_index: Some(k),
            removed: false,
        };
        k += 1;
        log
    });
    let base_fee = b.header.base_fee_per_gas.unwrap_or_default();
    let effective_gas_price = if tx.is_deposit() {
        0
    } else {
        tx.effective_gas_price(Some(base_fee))
    };
    let (to, contract_address) = match tx.kind() {
        TxKind::Call(to) => (Some(to), None),
        TxKind::Create => (None, Some(b.senders[i].create(tx.nonce()))),
    };
    let l1_block_info = match l1 {
        Some(info) if !tx.is_deposit() => l1_fields(chain, info, b, tx),
        _ => RpcL1Info::default(),
    };
    OpTransactionReceipt {
        inner: TransactionReceipt {
            inner: ReceiptWithBloom {
                receipt: op,
                logs_bloom: bloom,
            },
            transaction_hash: tx.tx_hash(),
            transaction_index: Some(i as u64),
            block_hash: Some(b.hash),
            block_number: Some(b.header.number),
            gas_used,
            effective_gas_price,
            blob_gas_used: None,
            blob_gas_price: None,
            from: b.senders[i],
            to,
            contract_address,
        },
        l1_block_info,
        op_gas_refund: None,
    }
}

fn l1_fields(
    chain: &OpalChain,
    block_info: &op_revm::L1BlockInfo,
    b: &StoredBlock,
    tx: &OpTxEnvelope,
) -> RpcL1Info {
    let spec = chain.spec_id(b.header.timestamp);
    let mut info = block_info.clone();
    let enc = tx.encoded_2718();
    info.clear_tx_l1_cost();
    let l1_fee = info.calculate_tx_l1_cost(&enc, spec);
    let l1_gas_used = info.data_gas(&enc, spec);
    let isthmus = chain.is_active(Fork::Isthmus, b.header.timestamp);
    let u = |v: U256| v.try_into().ok();
    RpcL1Info {
        l1_gas_price: u(info.l1_base_fee),
        l1_gas_used: u(l1_gas_used),
        l1_fee: u(l1_fee),
        l1_fee_scalar: None,
        l1_base_fee_scalar: u(info.l1_base_fee_scalar),
        l1_blob_base_fee: info.l1_blob_base_fee.and_then(u),
        l1_blob_base_fee_scalar: info.l1_blob_base_fee_scalar.and_then(u),
        operator_fee_scalar: if isthmus {
            info.operator_fee_scalar.and_then(u)
        } else {
            None
        },
        operator_fee_constant: if isthmus {
            info.operator_fee_constant.and_then(u)
        } else {
            None
        },
        da_footprint_gas_scalar: None,
    }
}

/// Effective tips at the given gas-weighted percentiles of a block's transactions (deposits
/// excluded), as `eth_feeHistory` reports them.
pub fn tip_percentiles(b: &StoredBlock, percentiles: &[f64]) -> Vec<u128> {
    let base = b.header.base_fee_per_gas.unwrap_or_default();
    let mut tips: Vec<(u128, u64)> = Vec::new();
    for (i, tx) in b.txs.iter().enumerate() {
        if tx.is_deposit() {
            continue;
        }
        let prev = if i == 0 {
            0
        } else {
            b.receipts[i - 1].cumulative_gas_used()
        };
        let used = b.receipts[i].cumulative_gas_used() - prev;
        tips.push((tx.effective_tip_per_gas(base).unwrap_or_default(), used));
    }
    if tips.is_empty() {
        return vec![0; percentiles.len()];
    }
    tips.sort_unstable();
    let total: u64 = tips.iter().map(|t| t.1).sum();
    percentiles
        .iter()
        .map(|p| {
            let threshold = (total as f64 * p / 100.0) as u64;
            let mut acc = 0u64;
            for (tip, used) in &tips {
                acc += used;
                if acc >= threshold {
                    return *tip;
                }
            }
            tips.last().map_or(0, |t| t.0)
        })
        .collect()
}
