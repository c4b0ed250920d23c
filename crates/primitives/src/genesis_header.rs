//! The genesis block header: state root from the alloc, and the fields each fork active at the
//! genesis timestamp adds (base fee, withdrawals root, blob gas, beacon root, requests hash).

use alloy::{
    consensus::{EMPTY_OMMER_ROOT_HASH, Header},
    eips::{eip1559::INITIAL_BASE_FEE, eip7685::EMPTY_REQUESTS_HASH},
    genesis::GenesisAccount,
    primitives::{B64, B256, U256, keccak256},
};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount, root};

use crate::{ChainSpec, addresses::L2_TO_L1_MESSAGE_PASSER, forks::Fork};

/// The storage root of one genesis account (zero-valued slots are not stored).
pub fn account_storage_root(account: &GenesisAccount) -> B256 {
    match &account.storage {
        Some(storage) => root::storage_root_unhashed(
            storage
                .iter()
                .map(|(k, v)| (*k, U256::from_be_bytes(v.0)))
                .filter(|(_, v)| !v.is_zero()),
        ),
        None => EMPTY_ROOT_HASH,
    }
}

/// The account-trie leaf of one genesis account.
pub fn trie_account(account: &GenesisAccount) -> TrieAccount {
    TrieAccount::new(
        account.nonce.unwrap_or_default(),
        account.balance,
        account_storage_root(account),
        account
            .code
            .as_ref()
            .filter(|c| !c.is_empty())
            .map_or(KECCAK_EMPTY, keccak256),
    )
}

/// The state root of the genesis alloc, computed from scratch.
pub fn genesis_state_root(spec: &ChainSpec) -> B256 {
    root::state_root_unhashed(
        spec.genesis
            .alloc
            .iter()
            .map(|(a, acc)| (*a, trie_account(acc))),
    )
}

/// The storage root of the L2ToL1MessagePasser in the genesis alloc.
pub fn message_passer_storage_root(spec: &ChainSpec) -> B256 {
    spec.genesis
        .alloc
        .get(&L2_TO_L1_MESSAGE_PASSER)
        .map_or(EMPTY_ROOT_HASH, account_storage_root)
}

/// Builds the genesis header for `spec` over the given state root.
///
/// `message_passer_root` is the L2ToL1MessagePasser storage root, used as `withdrawalsRoot` when
/// Isthmus is active at genesis.
pub fn genesis_header(spec: &ChainSpec, state_root: B256, message_passer_root: B256) -> Header {
    let g = &spec.genesis;
    let ts = g.timestamp;
    let number = g.number.unwrap_or_default();
    let base_fee_per_gas = spec.is_london(number).then(|| {
        g.base_fee_per_gas
            .map(|b| b as u64)
            .unwrap_or(INITIAL_BASE_FEE)
    });
    let withdrawals_root = spec.is_shanghai(ts).then(|| {
        if spec.is_active(Fork::Isthmus, ts) {
            message_passer_root
        } else {
            EMPTY_ROOT_HASH
        }
    });
    let cancun = spec.is_cancun(ts);
    Header {
        parent_hash: g.parent_hash.unwrap_or_default(),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: g.coinbase,
        state_root,
        transactions_root: EMPTY_ROOT_HASH,
        receipts_root: EMPTY_ROOT_HASH,
        logs_bloom: Default::default(),
        difficulty: g.difficulty,
        number,
        gas_limit: g.gas_limit,
        gas_used: 0,
        timestamp: ts,
        extra_data: g.extra_data.clone(),
        mix_hash: g.mix_hash,
        nonce: B64::from(g.nonce),
        base_fee_per_gas,
        withdrawals_root,
        blob_gas_used: cancun.then(|| g.blob_gas_used.unwrap_or_default()),
        excess_blob_gas: cancun.then(|| g.excess_blob_gas.unwrap_or_default()),
        parent_beacon_block_root: cancun.then_some(B256::ZERO),
        requests_hash: spec.is_prague(ts).then_some(EMPTY_REQUESTS_HASH),
        block_access_list_hash: None,
        slot_number: None,
    }
}

/// Convenience: the genesis header computed entirely from the spec's alloc.
pub fn compute_genesis_header(spec: &ChainSpec) -> Header {
    genesis_header(
        spec,
        genesis_state_root(spec),
        message_passer_storage_root(spec),
    )
}
