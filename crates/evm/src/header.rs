//! Sealing an L2 header: roots, bloom and the fields each OP fork adds.

use alloy::{
    consensus::{EMPTY_OMMER_ROOT_HASH, Header, TxReceipt},
    eips::{eip2718::Encodable2718, eip7685::EMPTY_REQUESTS_HASH},
    primitives::{Address, B64, B256, Bloom, Bytes, U256},
};
use alloy_trie::{EMPTY_ROOT_HASH, root::ordered_trie_root_with_encoder};
use op_alloy::consensus::{OpReceiptEnvelope, OpTxEnvelope};
use opal_primitives::Fork;
use opal_storage::StateRoots;

use crate::OpalChain;

/// Header fields decided before execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderFields {
    /// Parent hash.
    pub parent_hash: B256,
    /// Block number.
    pub number: u64,
    /// Timestamp.
    pub timestamp: u64,
    /// Fee recipient (SequencerFeeVault on OP chains).
    pub beneficiary: Address,
    /// Gas limit.
    pub gas_limit: u64,
    /// `prevRandao` (the L1 origin's mix hash).
    pub prev_randao: B256,
    /// Base fee.
    pub base_fee: u64,
    /// `extraData` (Holocene EIP-1559 parameters).
    pub extra_data: Bytes,
    /// Parent beacon block root (Ecotone on).
    pub parent_beacon_block_root: Option<B256>,
}

/// The header fields that depend only on a block's transactions and receipts, so they can be
/// computed while the state root is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyRoots {
    /// Ordered trie root of the EIP-2718 transactions.
    pub transactions_root: B256,
    /// Ordered trie root of the EIP-2718 receipts.
    pub receipts_root: B256,
    /// Union of the receipts' blooms.
    pub logs_bloom: Bloom,
}

impl BodyRoots {
    /// The roots and bloom of `txs` and their `receipts`.
    pub fn new(txs: &[OpTxEnvelope], receipts: &[OpReceiptEnvelope]) -> Self {
        Self {
            transactions_root: ordered_trie_root_with_encoder(txs, |t, buf| t.encode_2718(buf)),
            receipts_root: ordered_trie_root_with_encoder(receipts, |r, buf| r.encode_2718(buf)),
            logs_bloom: receipts.iter().fold(Bloom::ZERO, |acc, r| acc | r.bloom()),
        }
    }
}

/// Builds the sealed header of an executed block from its state roots and body roots.
pub fn seal_header(
    chain: &OpalChain,
    f: &HeaderFields,
    roots: StateRoots,
    body: &BodyRoots,
    gas_used: u64,
) -> Header {
    let ts = f.timestamp;
    let ecotone = chain.is_active(Fork::Ecotone, ts);
    let isthmus = chain.is_active(Fork::Isthmus, ts);
    Header {
        parent_hash: f.parent_hash,
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: f.beneficiary,
        state_root: roots.state_root,
        transactions_root: body.transactions_root,
        receipts_root: body.receipts_root,
        logs_bloom: body.logs_bloom,
        difficulty: U256::ZERO,
        number: f.number,
        gas_limit: f.gas_limit,
        gas_used,
        timestamp: ts,
        extra_data: f.extra_data.clone(),
        mix_hash: f.prev_randao,
        nonce: B64::ZERO,
        base_fee_per_gas: Some(f.base_fee),
        withdrawals_root: chain.is_active(Fork::Canyon, ts).then_some({
            if isthmus {
                roots.message_passer_storage_root
            } else {
                EMPTY_ROOT_HASH
            }
        }),
        blob_gas_used: ecotone.then_some(0),
        excess_blob_gas: ecotone.then_some(0),
        parent_beacon_block_root: if ecotone {
            f.parent_beacon_block_root
        } else {
            None
        },
        requests_hash: isthmus.then_some(EMPTY_REQUESTS_HASH),
        block_access_list_hash: None,
        slot_number: None,
    }
}

/// Names the first header field that differs, for a clear rejection message.
pub fn first_difference(ours: &Header, theirs: &Header) -> Option<&'static str> {
    let checks: [(&'static str, bool); 12] = [
        ("stateRoot", ours.state_root != theirs.state_root),
        ("receiptsRoot", ours.receipts_root != theirs.receipts_root),
        (
            "transactionsRoot",
            ours.transactions_root != theirs.transactions_root,
        ),
        ("gasUsed", ours.gas_used != theirs.gas_used),
        ("logsBloom", ours.logs_bloom != theirs.logs_bloom),
        (
            "baseFeePerGas",
            ours.base_fee_per_gas != theirs.base_fee_per_gas,
        ),
        (
            "withdrawalsRoot",
            ours.withdrawals_root != theirs.withdrawals_root,
        ),
        ("extraData", ours.extra_data != theirs.extra_data),
        ("blobGasUsed", ours.blob_gas_used != theirs.blob_gas_used),
        (
            "excessBlobGas",
            ours.excess_blob_gas != theirs.excess_blob_gas,
        ),
        ("requestsHash", ours.requests_hash != theirs.requests_hash),
        ("header", ours != theirs),
    ];
    checks
        .into_iter()
        .find(|(_, differs)| *differs)
        .map(|(name, _)| name)
}
