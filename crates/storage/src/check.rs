//! Full consistency check: recompute every storage root and the state root from the flat state,
//! ignoring stored trie nodes, and compare with the records and the head header.

use alloy_primitives::{B256, U256};
use alloy_rlp::Encodable;
use alloy_trie::{HashBuilder, Nibbles, TrieAccount};
use redb::{ReadableDatabase, ReadableTable};

use crate::{DbResult, Store, StoreError, tables};

impl Store {
    /// Recomputes the state root from scratch and checks it against every account's recorded
    /// storage root and the head header. Returns the root.
    pub fn check_state_root(&self) -> Result<B256, StoreError> {
        let txn = self.db.begin_read().db()?;
        let accounts = txn.open_table(tables::ACCOUNTS).db()?;
        let storage = txn.open_table(tables::STORAGE).db()?;
        let mut hb = HashBuilder::default();
        let mut storage_iter = storage.iter().db()?.peekable();
        let mut buf = Vec::new();
        for entry in accounts.iter().db()? {
            let (k, v) = entry.db()?;
            let h = *k.value();
            let a = tables::decode_account("accounts", v.value())?;
            let mut shb = HashBuilder::default();
            while let Some(next) = storage_iter.peek() {
                let (sk, sv) = match next {
                    Ok((sk, sv)) => (*sk.value(), *sv.value()),
                    Err(_) => {
                        return Err(StoreError::Corrupt {
                            table: "storage",
                            reason: "unreadable entry".into(),
                        });
                    }
                };
                if sk[..32] < h[..] {
                    return Err(StoreError::Corrupt {
                        table: "storage",
                        reason: "slot of a missing account".into(),
                    });
                }
                if sk[..32] != h[..] {
                    break;
                }
                buf.clear();
                U256::from_be_bytes(sv).encode(&mut buf);
                shb.add_leaf(Nibbles::unpack(&sk[32..]), &buf);
                storage_iter.next();
            }
            let storage_root = shb.root();
            if storage_root != a.storage_root {
                return Err(StoreError::Corrupt {
                    table: "accounts",
                    reason: format!(
                        "account {} records storage root {} but its storage hashes to {storage_root}",
                        B256::from(h),
                        a.storage_root
                    ),
                });
            }
            buf.clear();
            TrieAccount::new(a.nonce, a.balance, storage_root, a.code_hash).encode(&mut buf);
            hb.add_leaf(Nibbles::unpack(h), &buf);
        }
        if storage_iter.next().is_some() {
            return Err(StoreError::Corrupt {
                table: "storage",
                reason: "slot of a missing account".into(),
            });
        }
        let root = hb.root();
        let reader = self.latest()?;
        if let Some(head) = reader.head()? {
            let header = reader.header(head)?.ok_or(StoreError::Corrupt {
                table: "headers",
                reason: format!("head {head} has no header"),
            })?;
            if header.state_root != root {
                return Err(StoreError::Corrupt {
                    table: "accounts",
                    reason: format!(
                        "state hashes to {root} but head {head} records {}",
                        header.state_root
                    ),
                });
            }
        }
        Ok(root)
    }
}
