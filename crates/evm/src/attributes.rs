//! Payload attributes a sequencer builds for its next block: the L1-info deposit first, then any
//! user deposits, with the OP Stack's fixed fields (fee recipient, empty withdrawals, gas limit,
//! Holocene EIP-1559 parameters).

use alloy::{
    consensus::Header,
    eips::eip2718::Encodable2718,
    primitives::{B64, B256, Bytes, Sealed},
    rpc::types::engine::PayloadAttributes as EthPayloadAttributes,
};
use op_alloy::consensus::{OpTxEnvelope, TxDeposit};
use opal_primitives::addresses::SEQUENCER_FEE_VAULT;
use opal_protocol::{L1BlockInfo, L1InfoError, l1_info_deposit};

use crate::{OpalChain, PayloadAttributes};

/// Inputs of a sequenced block beyond its parent.
#[derive(Debug, Clone)]
pub struct SequencerInputs<'a> {
    /// The L1 origin's attributes and the fee parameters.
    pub l1_info: &'a L1BlockInfo,
    /// User deposits of a new epoch (empty otherwise).
    pub deposits: &'a [TxDeposit],
    /// Block timestamp.
    pub timestamp: u64,
    /// `prevRandao`: the L1 origin's mix hash.
    pub prev_randao: B256,
    /// The L1 origin's parent beacon block root.
    pub parent_beacon_block_root: B256,
    /// Block gas limit (from SystemConfig).
    pub gas_limit: u64,
    /// Holocene EIP-1559 parameters (`denominator ++ elasticity`; zero = chain defaults).
    pub eip1559_params: B64,
    /// Whether to leave the pool out.
    pub no_tx_pool: bool,
}

/// Builds the attributes of the block after `parent`.
pub fn sequencer_attributes(
    chain: &OpalChain,
    parent: &Header,
    inputs: &SequencerInputs<'_>,
) -> Result<PayloadAttributes, L1InfoError> {
    let calldata = inputs
        .l1_info
        .encode_for(&chain.forks, parent.timestamp, inputs.timestamp)?;
    let mut txs: Vec<Bytes> = Vec::with_capacity(1 + inputs.deposits.len());
    let l1 = OpTxEnvelope::Deposit(Sealed::new(l1_info_deposit(inputs.l1_info, calldata)));
    txs.push(l1.encoded_2718().into());
    for d in inputs.deposits {
        txs.push(
            OpTxEnvelope::Deposit(Sealed::new(d.clone()))
                .encoded_2718()
                .into(),
        );
    }
    Ok(PayloadAttributes {
        payload_attributes: EthPayloadAttributes {
            timestamp: inputs.timestamp,
            prev_randao: inputs.prev_randao,
            suggested_fee_recipient: SEQUENCER_FEE_VAULT,
            withdrawals: Some(vec![]),
            parent_beacon_block_root: Some(inputs.parent_beacon_block_root),
            slot_number: None,
            target_gas_limit: None,
        },
        transactions: Some(txs),
        no_tx_pool: Some(inputs.no_tx_pool),
        gas_limit: Some(inputs.gas_limit),
        eip_1559_params: Some(inputs.eip1559_params),
        min_base_fee: None,
    })
}
