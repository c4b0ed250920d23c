//! Shared helpers: the devnet genesis, signed transactions, deposits and payload attributes.
#![allow(dead_code)]

use std::{path::Path, sync::Arc};

use alloy::{
    consensus::transaction::{Recovered, SignerRecoverable},
    consensus::{Header, SignableTransaction, TxEip1559},
    eips::eip2718::{Encodable2718, WithEncoded},
    primitives::{Address, B64, B256, Bytes, Sealed, TxKind, U256, address, b256},
    signers::{SignerSync, local::PrivateKeySigner},
};
use op_alloy::consensus::{OpTxEnvelope, TxDeposit};
use opal_evm::{
    BlockExecutor, OpalChain, PayloadAttributes, SequencerInputs, SkipReason, TxSource,
    sequencer_attributes,
};
use opal_primitives::ChainSpec;
use opal_protocol::L1BlockInfo;
use opal_storage::Store;

pub const KEYS: [B256; 3] = [
    b256!("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
    b256!("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
    b256!("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"),
];
pub const DEV0: Address = address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
pub const GAS_LIMIT: u64 = 30_000_000;

pub fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn chain() -> Arc<OpalChain> {
    let path = repo().join("genesis/genesis.json");
    Arc::new(OpalChain::new(ChainSpec::from_file(&path).unwrap()).unwrap())
}

pub fn executor(dir: &Path) -> BlockExecutor {
    let ex = BlockExecutor::new(chain(), Arc::new(Store::open(dir).unwrap()));
    ex.init_genesis().unwrap();
    ex
}

pub fn artifact_code(name: &str, field: &str) -> Bytes {
    let text =
        std::fs::read_to_string(repo().join(format!("contracts/artifacts/{name}.json"))).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v[field].as_str().unwrap().parse().unwrap()
}

pub fn signer(i: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&KEYS[i]).unwrap()
}

/// A signed EIP-1559 transaction.
#[allow(clippy::too_many_arguments)]
pub fn tx1559(
    key: usize,
    nonce: u64,
    to: TxKind,
    value: U256,
    input: Bytes,
    gas: u64,
    tip: u128,
    max_fee: u128,
) -> OpTxEnvelope {
    let tx = TxEip1559 {
        chain_id: 72_077,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip,
        to,
        value,
        access_list: Default::default(),
        input,
    };
    let sig = signer(key).sign_hash_sync(&tx.signature_hash()).unwrap();
    OpTxEnvelope::Eip1559(tx.into_signed(sig))
}

pub fn deposit_envelope(tx: TxDeposit) -> OpTxEnvelope {
    OpTxEnvelope::Deposit(Sealed::new(tx))
}

pub fn l1_info(seq: u64) -> L1BlockInfo {
    L1BlockInfo {
        number: 1,
        time: 1_767_225_600,
        base_fee: U256::from(20_000_000_000u64),
        block_hash: B256::repeat_byte(0x1b),
        sequence_number: seq,
        batcher_hash: B256::left_padding_from(&[0x70; 20]),
        blob_base_fee: U256::from(5),
        base_fee_scalar: 1368,
        blob_base_fee_scalar: 810_949,
        operator_fee_scalar: 2_000,
        operator_fee_constant: 300,
    }
}

/// Attributes for the block after `parent`: L1-info deposit, then `deposits`.
pub fn attrs(
    parent: &Header,
    seq: u64,
    deposits: Vec<TxDeposit>,
    no_tx_pool: bool,
) -> PayloadAttributes {
    let info = l1_info(seq);
    let inputs = SequencerInputs {
        l1_info: &info,
        deposits: &deposits,
        timestamp: parent.timestamp + 2,
        prev_randao: B256::repeat_byte(0x42),
        parent_beacon_block_root: B256::repeat_byte(0xbe),
        gas_limit: GAS_LIMIT,
        eip1559_params: B64::ZERO,
        no_tx_pool,
    };
    sequencer_attributes(&chain(), parent, &inputs).unwrap()
}

/// A pool that offers its transactions once, in order, and remembers what was skipped.
#[derive(Default)]
pub struct VecPool {
    pub txs: std::collections::VecDeque<OpTxEnvelope>,
    pub skipped: Vec<(B256, SkipReason)>,
}

impl VecPool {
    pub fn new(txs: Vec<OpTxEnvelope>) -> Self {
        Self {
            txs: txs.into(),
            skipped: vec![],
        }
    }
}

impl TxSource for VecPool {
    fn next_tx(&mut self) -> Option<WithEncoded<Recovered<OpTxEnvelope>>> {
        let tx = self.txs.pop_front()?;
        let bytes = Bytes::from(tx.encoded_2718());
        Some(WithEncoded::new(bytes, tx.try_into_recovered().unwrap()))
    }
    fn skip(&mut self, tx_hash: B256, reason: SkipReason) {
        self.skipped.push((tx_hash, reason));
    }
}
