//! Unwinding the head back to an earlier block: state restored from changesets, trie nodes
//! recomputed along the restored keys, later blocks removed — in one write transaction.

use std::collections::BTreeMap;

use alloy_primitives::B256;
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles};
use opal_trie::{PrefixSet, compute_root};
use redb::ReadableTable;

use crate::{
    DbResult, Head, Store, StoreError,
    tables::{self, decode_account, encode_account, key},
    trie_io::{AccountLeaves, NodeReader, StorageLeaves, apply_trie_updates},
};

impl Store {
    /// Rewinds the chain so that block `target` is the head again. Returns the restored state root.
    pub fn unwind_to(&self, target: u64) -> Result<B256, StoreError> {
        let txn = self.db.begin_write().db()?;
        let head = {
            let heads = txn.open_table(tables::HEADS).db()?;
            heads
                .get(Head::Unsafe.key())
                .db()?
                .map(|v| v.value())
                .ok_or(StoreError::Uninitialised)?
        };
        if target > head {
            return Err(StoreError::NotNext {
                number: target,
                reason: format!("cannot unwind forward past head {head}"),
            });
        }
        // Secondary indexes first, newest block first, while the blocks are still stored.
        self.unwind_indexes(&txn, target, head)?;
        let from = (target + 1).to_be_bytes();
        // Storage: restore the oldest previous value of each slot changed after `target`.
        let mut slots: BTreeMap<[u8; 64], [u8; 32]> = BTreeMap::new();
        {
            let mut changes = txn.open_table(tables::STORAGE_CHANGES).db()?;
            let mut history = txn.open_table(tables::STORAGE_HISTORY).db()?;
            let keys: Vec<[u8; 72]> = changes
                .range::<&[u8; 72]>(&key::<72>(&[&from, &[0u8; 64]])..)
                .db()?
                .map(|e| e.map(|(k, _)| *k.value()))
                .collect::<Result<_, _>>()
                .db()?;
            // Newest blocks first, so the oldest previous value wins.
            for k in keys.iter().rev() {
                let sk: [u8; 64] = k[8..].try_into().map_err(|_| corrupt("storage_changes"))?;
                let hk: [u8; 72] = key(&[&sk, &k[..8]]);
                let prev = history
                    .remove(&hk)
                    .db()?
                    .map(|v| *v.value())
                    .ok_or_else(|| corrupt("storage_history"))?;
                slots.insert(sk, prev);
                changes.remove(k).db()?;
            }
        }
        let mut storage_keys: BTreeMap<B256, Vec<Nibbles>> = BTreeMap::new();
        {
            let mut storage = txn.open_table(tables::STORAGE).db()?;
            for (k, v) in &slots {
                if *v == [0u8; 32] {
                    storage.remove(k).db()?;
                } else {
                    storage.insert(k, v).db()?;
                }
                storage_keys
                    .entry(B256::from_slice(&k[..32]))
                    .or_default()
                    .push(Nibbles::unpack(&k[32..]));
            }
        }
        // Accounts likewise.
        let mut accounts_prev: BTreeMap<B256, Vec<u8>> = BTreeMap::new();
        {
            let mut changes = txn.open_table(tables::ACCOUNT_CHANGES).db()?;
            let mut history = txn.open_table(tables::ACCOUNT_HISTORY).db()?;
            let keys: Vec<[u8; 40]> = changes
                .range::<&[u8; 40]>(&key::<40>(&[&from, &[0u8; 32]])..)
                .db()?
                .map(|e| e.map(|(k, _)| *k.value()))
                .collect::<Result<_, _>>()
                .db()?;
            for k in keys.iter().rev() {
                let h = B256::from_slice(&k[8..]);
                let hk: [u8; 40] = key(&[h.as_slice(), &k[..8]]);
                let prev = history
                    .remove(&hk)
                    .db()?
                    .map(|v| v.value().to_vec())
                    .ok_or_else(|| corrupt("account_history"))?;
                accounts_prev.insert(h, prev);
                changes.remove(k).db()?;
            }
        }
        for h in storage_keys.keys() {
            accounts_prev.entry(*h).or_default();
        }
        let root = {
            let mut accounts = txn.open_table(tables::ACCOUNTS).db()?;
            let storage = txn.open_table(tables::STORAGE).db()?;
            let mut storage_trie = txn.open_table(tables::STORAGE_TRIE).db()?;
            let mut account_keys = vec![];
            for (h, prev) in &accounts_prev {
                let changed = storage_keys.remove(h).unwrap_or_default();
                let restored = if prev.is_empty() {
                    None
                } else {
                    Some(decode_account("account_history", prev)?)
                };
                let out = compute_root(
                    &mut NodeReader {
                        table: &storage_trie,
                        prefix: h.as_slice(),
                    },
                    &mut StorageLeaves {
                        table: &storage,
                        account: *h,
                    },
                    &PrefixSet::new(changed),
                )?;
                apply_trie_updates(&mut storage_trie, h.as_slice(), &out.updates).db()?;
                let expected = restored.map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
                if out.root != expected {
                    return Err(StoreError::Corrupt {
                        table: "storage_history",
                        reason: format!(
                            "restored storage of {h} has root {} but its account records {expected}",
                            out.root
                        ),
                    });
                }
                match restored {
                    Some(a) => accounts.insert(&h.0, &*encode_account(&a)).db()?,
                    None => accounts.remove(&h.0).db()?,
                };
                account_keys.push(Nibbles::unpack(h));
            }
            let mut account_trie = txn.open_table(tables::ACCOUNT_TRIE).db()?;
            let out = compute_root(
                &mut NodeReader {
                    table: &account_trie,
                    prefix: &[],
                },
                &mut AccountLeaves(&accounts),
                &PrefixSet::new(account_keys),
            )?;
            apply_trie_updates(&mut account_trie, &[], &out.updates).db()?;
            out.root
        };
        // Blocks after `target`.
        {
            let mut headers = txn.open_table(tables::HEADERS).db()?;
            let mut canonical = txn.open_table(tables::CANONICAL).db()?;
            let mut numbers = txn.open_table(tables::HEADER_NUMBERS).db()?;
            let mut bodies = txn.open_table(tables::BODIES).db()?;
            let mut senders = txn.open_table(tables::SENDERS).db()?;
            let mut receipts = txn.open_table(tables::RECEIPTS).db()?;
            let mut lookup = txn.open_table(tables::TX_LOOKUP).db()?;
            let mut tx_hashes = txn.open_table(tables::BLOCK_TX_HASHES).db()?;
            for n in (target + 1)..=head {
                if let Some(hashes) = tx_hashes.remove(n).db()?.map(|v| v.value().to_vec()) {
                    for h in hashes.chunks_exact(32) {
                        let h: [u8; 32] = h.try_into().map_err(|_| corrupt("block_tx_hashes"))?;
                        lookup.remove(&h).db()?;
                    }
                }
                if let Some(h) = canonical.remove(n).db()?.map(|v| *v.value()) {
                    numbers.remove(&h).db()?;
                }
                headers.remove(n).db()?;
                bodies.remove(n).db()?;
                senders.remove(n).db()?;
                receipts.remove(n).db()?;
            }
            let mut heads = txn.open_table(tables::HEADS).db()?;
            for h in [Head::Unsafe, Head::Safe, Head::Finalized] {
                let cur = heads.get(h.key()).db()?.map(|v| v.value());
                if h == Head::Unsafe || cur.is_some_and(|c| c > target) {
                    heads.insert(h.key(), target).db()?;
                }
            }
        }
        txn.commit().db()?;
        self.chain_changed();
        Ok(root)
    }
}

fn corrupt(table: &'static str) -> StoreError {
    StoreError::Corrupt {
        table,
        reason: "changeset without its history record".into(),
    }
}
