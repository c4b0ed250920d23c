//! Conversions between revm's bundle and genesis allocs and the store's state diff.

use alloy::{
    genesis::GenesisAccount,
    primitives::{Address, U256, keccak256},
};
use alloy_trie::KECCAK_EMPTY;
use opal_storage::{AccountState, StateChanges, StorageChange};
use revm::database::{BundleState, OriginalValuesKnown};
use std::collections::BTreeMap;

/// The state diff of an executed block.
pub fn bundle_to_changes(bundle: &BundleState) -> StateChanges {
    let cs = bundle.to_plain_state(OriginalValuesKnown::Yes);
    StateChanges {
        accounts: cs
            .accounts
            .into_iter()
            .map(|(a, info)| {
                (
                    a,
                    info.map(|i| AccountState {
                        nonce: i.nonce,
                        balance: i.balance,
                        code_hash: i.code_hash,
                    }),
                )
            })
            .collect(),
        storage: cs
            .storage
            .into_iter()
            .map(|s| StorageChange {
                address: s.address,
                wipe: s.wipe_storage,
                slots: s.storage,
            })
            .collect(),
        codes: cs
            .contracts
            .into_iter()
            .map(|(h, code)| (h, code.original_bytes()))
            .collect(),
    }
}

/// The genesis alloc as a state diff over an empty state.
pub fn alloc_to_changes(alloc: &BTreeMap<Address, GenesisAccount>) -> StateChanges {
    let mut changes = StateChanges::default();
    for (address, account) in alloc {
        let code = account.code.clone().filter(|c| !c.is_empty());
        let code_hash = code.as_ref().map_or(KECCAK_EMPTY, keccak256);
        if let Some(code) = code {
            changes.codes.push((code_hash, code));
        }
        changes.accounts.push((
            *address,
            Some(AccountState {
                nonce: account.nonce.unwrap_or_default(),
                balance: account.balance,
                code_hash,
            }),
        ));
        if let Some(storage) = &account.storage {
            changes.storage.push(StorageChange {
                address: *address,
                wipe: false,
                slots: storage
                    .iter()
                    .map(|(k, v)| (U256::from_be_bytes(k.0), U256::from_be_bytes(v.0)))
                    .collect(),
            });
        }
    }
    changes
}
