//! Adapters that let the trie walk read stored branch nodes and flat leaves from redb tables.

use alloy_primitives::{B256, U256};
use alloy_rlp::Encodable;
use alloy_trie::{BranchNodeCompact, Nibbles, TrieAccount};
use opal_trie::{
    LeafReader, TrieError, TrieNodeReader, TrieUpdates, decode_branch_node, encode_branch_node,
};
use redb::{ReadableTable, Table};

use crate::tables::{ACCOUNT_LEN, decode_account};

fn store_err(e: impl std::fmt::Display) -> TrieError {
    TrieError::Store(e.to_string())
}

/// Stored nodes of one trie, addressed as `prefix ++ path` (prefix: empty for the account trie,
/// `keccak(address)` for a storage trie).
pub struct NodeReader<'a, T> {
    /// The node table.
    pub table: &'a T,
    /// Key prefix of this trie within the table.
    pub prefix: &'a [u8],
}

impl<T: ReadableTable<&'static [u8], &'static [u8]>> TrieNodeReader for NodeReader<'_, T> {
    fn seek_node(
        &mut self,
        path: &Nibbles,
    ) -> Result<Option<(Nibbles, BranchNodeCompact)>, TrieError> {
        let mut from = self.prefix.to_vec();
        from.extend(path.to_vec());
        let mut range = self
            .table
            .range::<&[u8]>(from.as_slice()..)
            .map_err(store_err)?;
        let Some(entry) = range.next() else {
            return Ok(None);
        };
        let (k, v) = entry.map_err(store_err)?;
        let k = k.value();
        if !k.starts_with(self.prefix) {
            return Ok(None);
        }
        let nibbles = &k[self.prefix.len()..];
        if nibbles.len() > 64 || nibbles.iter().any(|n| *n > 15) {
            return Err(TrieError::Corrupt {
                path: format!("{k:?}"),
                reason: "bad nibble path",
            });
        }
        let node = decode_branch_node(v.value()).map_err(|reason| TrieError::Corrupt {
            path: format!("{nibbles:?}"),
            reason,
        })?;
        Ok(Some((Nibbles::from_nibbles_unchecked(nibbles), node)))
    }
}

/// Writes a root computation's node updates under `prefix`.
pub fn apply_trie_updates(
    table: &mut Table<'_, &'static [u8], &'static [u8]>,
    prefix: &[u8],
    updates: &TrieUpdates,
) -> Result<(), redb::Error> {
    let full = |p: &Nibbles| {
        let mut k = prefix.to_vec();
        k.extend(p.to_vec());
        k
    };
    for p in &updates.removed {
        table.remove(full(p).as_slice())?;
    }
    for (p, node) in &updates.updated {
        table.insert(full(p).as_slice(), encode_branch_node(node).as_slice())?;
    }
    Ok(())
}

/// Removes every key starting with `prefix`.
pub fn remove_prefix(
    table: &mut Table<'_, &'static [u8], &'static [u8]>,
    prefix: &[u8],
) -> Result<(), redb::Error> {
    let keys: Vec<Vec<u8>> = {
        let mut out = vec![];
        for entry in table.range::<&[u8]>(prefix..)? {
            let (k, _) = entry?;
            if !k.value().starts_with(prefix) {
                break;
            }
            out.push(k.value().to_vec());
        }
        out
    };
    for k in keys {
        table.remove(k.as_slice())?;
    }
    Ok(())
}

/// Account-trie leaves from the flat account table.
pub struct AccountLeaves<'a, T>(pub &'a T);

impl<T: ReadableTable<&'static [u8; 32], &'static [u8; ACCOUNT_LEN]>> LeafReader
    for AccountLeaves<'_, T>
{
    fn for_each_leaf(
        &mut self,
        from: &B256,
        to: Option<&B256>,
        f: &mut dyn FnMut(B256, &[u8]),
    ) -> Result<(), TrieError> {
        let mut buf = Vec::with_capacity(110);
        for entry in self.0.range::<&[u8; 32]>(&from.0..).map_err(store_err)? {
            let (k, v) = entry.map_err(store_err)?;
            let k = B256::from(*k.value());
            if to.is_some_and(|t| k >= *t) {
                break;
            }
            let a = decode_account(v.value());
            buf.clear();
            TrieAccount::new(a.nonce, a.balance, a.storage_root, a.code_hash).encode(&mut buf);
            f(k, &buf);
        }
        Ok(())
    }
}

/// Storage-trie leaves of one account from the flat storage table.
pub struct StorageLeaves<'a, T> {
    /// The flat storage table.
    pub table: &'a T,
    /// `keccak(address)`.
    pub account: B256,
}

impl<T: ReadableTable<&'static [u8; 64], &'static [u8; 32]>> LeafReader for StorageLeaves<'_, T> {
    fn for_each_leaf(
        &mut self,
        from: &B256,
        to: Option<&B256>,
        f: &mut dyn FnMut(B256, &[u8]),
    ) -> Result<(), TrieError> {
        let start: [u8; 64] = crate::tables::key(&[self.account.as_slice(), from.as_slice()]);
        let mut buf = Vec::with_capacity(33);
        for entry in self.table.range::<&[u8; 64]>(&start..).map_err(store_err)? {
            let (k, v) = entry.map_err(store_err)?;
            let k = k.value();
            if k[..32] != self.account[..] {
                break;
            }
            let slot = B256::from_slice(&k[32..]);
            if to.is_some_and(|t| slot >= *t) {
                break;
            }
            buf.clear();
            U256::from_be_bytes(*v.value()).encode(&mut buf);
            f(slot, &buf);
        }
        Ok(())
    }
}
