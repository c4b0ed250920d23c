//! Adapters that let the trie walk read stored branch nodes and flat leaves from redb tables.

use std::collections::BTreeMap;

use alloy_primitives::{B256, U256};
use alloy_rlp::Encodable;
use alloy_trie::{BranchNodeCompact, Nibbles, TrieAccount};
use opal_trie::{
    LeafReader, TrieError, TrieNodeReader, TrieUpdates, decode_branch_node, encode_branch_node,
};
use redb::{ReadableTable, Table};

use crate::tables::{StoredAccount, decode_account};

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

impl<T: ReadableTable<&'static [u8; 32], &'static [u8]>> LeafReader for AccountLeaves<'_, T> {
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
            buf.clear();
            let account = decode_account("accounts", v.value()).map_err(store_err)?;
            encode_account_leaf(&account, &mut buf);
            f(k, &buf);
        }
        Ok(())
    }
}

/// The account trie's leaf value of `a`: RLP of `[nonce, balance, storage_root, code_hash]`.
pub fn encode_account_leaf(a: &StoredAccount, out: &mut Vec<u8>) {
    TrieAccount::new(a.nonce, a.balance, a.storage_root, a.code_hash).encode(out);
}

/// Leaves of `inner` with `overlay` laid over them: an overlay entry replaces the leaf with the
/// same key (`None` removes it) or adds a new one. Lets a root be computed over a committed
/// state plus a block's changes without writing them first.
pub struct OverlayLeaves<'a, R> {
    /// The leaves before the changes.
    pub inner: R,
    /// New leaf values by key, RLP-encoded; `None` for a removed leaf.
    pub overlay: &'a BTreeMap<B256, Option<Vec<u8>>>,
}

impl<R: LeafReader> LeafReader for OverlayLeaves<'_, R> {
    fn for_each_leaf(
        &mut self,
        from: &B256,
        to: Option<&B256>,
        f: &mut dyn FnMut(B256, &[u8]),
    ) -> Result<(), TrieError> {
        let mut changed = match to {
            Some(to) => self.overlay.range(*from..*to),
            None => self.overlay.range(*from..),
        }
        .peekable();
        self.inner.for_each_leaf(from, to, &mut |k, v| {
            // Overlay keys before this one are new leaves.
            while let Some((ok, ov)) = changed.next_if(|(ok, _)| **ok < k) {
                if let Some(ov) = ov {
                    f(*ok, ov);
                }
            }
            match changed.next_if(|(ok, _)| **ok == k) {
                Some((_, Some(ov))) => f(k, ov),
                Some((_, None)) => {}
                None => f(k, v),
            }
        })?;
        for (ok, ov) in changed {
            if let Some(ov) = ov {
                f(*ok, ov);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Sorted in-memory leaves.
    struct Leaves(Vec<(B256, Vec<u8>)>);

    impl LeafReader for Leaves {
        fn for_each_leaf(
            &mut self,
            from: &B256,
            to: Option<&B256>,
            f: &mut dyn FnMut(B256, &[u8]),
        ) -> Result<(), TrieError> {
            for (k, v) in &self.0 {
                if k >= from && to.is_none_or(|t| k < t) {
                    f(*k, v);
                }
            }
            Ok(())
        }
    }

    fn k(b: u8) -> B256 {
        B256::with_last_byte(b)
    }

    fn collect(r: &mut impl LeafReader, from: u8, to: Option<u8>) -> Vec<(u8, Vec<u8>)> {
        let mut out = vec![];
        r.for_each_leaf(&k(from), to.map(k).as_ref(), &mut |key, v| {
            out.push((key[31], v.to_vec()))
        })
        .unwrap();
        out
    }

    #[test]
    fn overlay_adds_replaces_and_removes_leaves_in_key_order() {
        let inner = Leaves(vec![
            (k(0x10), vec![1]),
            (k(0x20), vec![2]),
            (k(0x30), vec![3]),
        ]);
        let overlay: BTreeMap<B256, Option<Vec<u8>>> = [
            (k(0x05), Some(vec![9])),
            (k(0x20), Some(vec![22])),
            (k(0x30), None),
            (k(0x31), Some(vec![7])),
            (k(0x40), Some(vec![4])),
        ]
        .into_iter()
        .collect();
        let mut r = OverlayLeaves {
            inner,
            overlay: &overlay,
        };
        assert_eq!(
            collect(&mut r, 0, None),
            vec![
                (0x05, vec![9]),
                (0x10, vec![1]),
                (0x20, vec![22]),
                (0x31, vec![7]),
                (0x40, vec![4]),
            ]
        );
        // A bounded range takes neither the overlay's nor the inner leaves outside it.
        assert_eq!(
            collect(&mut r, 0x10, Some(0x31)),
            vec![(0x10, vec![1]), (0x20, vec![22])]
        );
        assert_eq!(collect(&mut r, 0x32, None), vec![(0x40, vec![4])]);
        // Over no inner leaves, the overlay's live entries are the leaves.
        let empty = BTreeMap::new();
        let mut bare = OverlayLeaves {
            inner: Leaves(vec![(k(0x10), vec![1])]),
            overlay: &empty,
        };
        assert_eq!(collect(&mut bare, 0, None), vec![(0x10, vec![1])]);
    }
}
