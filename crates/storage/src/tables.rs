//! Table definitions and the fixed-width record encodings stored in them.
//!
//! Keys are hashed (`keccak(address)`, `keccak(slot)`) so the flat state is also the sorted leaf
//! set of the state trie. Block numbers are big-endian so ranges iterate in block order.

use alloy_primitives::{B256, U256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use redb::TableDefinition;

use crate::StoreError;

/// Free-form metadata: `magic`, `schema`, `genesis_hash`, `chain_id`.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Head pointers (`unsafe`, `safe`, `finalized`) → block number.
pub const HEADS: TableDefinition<&str, u64> = TableDefinition::new("heads");
/// Canonical block number → RLP header.
pub const HEADERS: TableDefinition<u64, &[u8]> = TableDefinition::new("headers");
/// Canonical block number → block hash.
pub const CANONICAL: TableDefinition<u64, &[u8; 32]> = TableDefinition::new("canonical_hashes");
/// Block hash → block number.
pub const HEADER_NUMBERS: TableDefinition<&[u8; 32], u64> = TableDefinition::new("header_numbers");
/// Block number → encoded body (the caller's encoding of the transactions).
pub const BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("bodies");
/// Block number → concatenated 20-byte senders, one per transaction.
pub const SENDERS: TableDefinition<u64, &[u8]> = TableDefinition::new("senders");
/// Block number → encoded receipts (the caller's encoding; the node's leaves out zero blooms).
pub const RECEIPTS: TableDefinition<u64, &[u8]> = TableDefinition::new("receipts");
/// Block number → concatenated 32-byte transaction hashes.
pub const BLOCK_TX_HASHES: TableDefinition<u64, &[u8]> = TableDefinition::new("block_tx_hashes");
/// Transaction hash → `block u64 BE ++ index u32 BE`.
pub const TX_LOOKUP: TableDefinition<&[u8; 32], &[u8; 12]> = TableDefinition::new("tx_lookup");
/// `keccak(address)` → account record ([`encode_account`]).
pub const ACCOUNTS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("accounts");
/// `keccak(address) ++ keccak(slot)` → non-zero value, 32 bytes BE.
pub const STORAGE: TableDefinition<&[u8; 64], &[u8; 32]> = TableDefinition::new("storage");
/// Code hash → bytecode.
pub const BYTECODES: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("bytecodes");
/// Account-trie branch node path (one nibble per byte) → encoded `BranchNodeCompact`.
pub const ACCOUNT_TRIE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("account_trie");
/// `keccak(address) ++ path` → encoded storage-trie branch node.
pub const STORAGE_TRIE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("storage_trie");
/// `keccak(address) ++ block` → account record before that block (empty = did not exist).
pub const ACCOUNT_HISTORY: TableDefinition<&[u8; 40], &[u8]> =
    TableDefinition::new("account_history");
/// `block ++ keccak(address)` → (): which accounts a block changed.
pub const ACCOUNT_CHANGES: TableDefinition<&[u8; 40], ()> = TableDefinition::new("account_changes");
/// `keccak(address) ++ keccak(slot) ++ block` → slot value before that block.
pub const STORAGE_HISTORY: TableDefinition<&[u8; 72], &[u8; 32]> =
    TableDefinition::new("storage_history");
/// `block ++ keccak(address) ++ keccak(slot)` → (): which slots a block changed.
pub const STORAGE_CHANGES: TableDefinition<&[u8; 72], ()> = TableDefinition::new("storage_changes");

/// The most bytes an account record takes ([`encode_account`]).
pub const MAX_ACCOUNT_LEN: usize = 3 + 8 + 32 + 32 + 32;

/// Flag: the record carries a code hash (otherwise it is `KECCAK_EMPTY`).
const HAS_CODE: u8 = 1;
/// Flag: the record carries a storage root (otherwise it is the empty root).
const HAS_STORAGE: u8 = 2;

/// The account fields kept in the flat state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoredAccount {
    /// Nonce.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Hash of the code (`KECCAK_EMPTY` for none).
    pub code_hash: B256,
    /// Root of the account's storage trie.
    pub storage_root: B256,
}

/// An encoded account record, on the stack.
#[derive(Clone, Copy)]
pub struct AccountRecord {
    buf: [u8; MAX_ACCOUNT_LEN],
    len: usize,
}

impl std::ops::Deref for AccountRecord {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The compact account record: `flags u8`, then the nonce and the balance each as a length byte
/// and big-endian bytes without leading zeros, then the code hash if it is not `KECCAK_EMPTY`
/// (flag 1) and the storage root if it is not the empty root (flag 2). An externally owned
/// account takes a few bytes instead of 104, which keeps the flat state and its history small.
pub fn encode_account(a: &StoredAccount) -> AccountRecord {
    let mut out = AccountRecord {
        buf: [0u8; MAX_ACCOUNT_LEN],
        len: 1,
    };
    let mut push = |bytes: &[u8]| {
        out.buf[out.len..out.len + bytes.len()].copy_from_slice(bytes);
        out.len += bytes.len();
    };
    let nonce = a.nonce.to_be_bytes();
    let nonce = &nonce[nonce.iter().take_while(|b| **b == 0).count()..];
    push(&[nonce.len() as u8]);
    push(nonce);
    let balance = a.balance.to_be_bytes::<32>();
    let balance = &balance[balance.iter().take_while(|b| **b == 0).count()..];
    push(&[balance.len() as u8]);
    push(balance);
    let mut flags = 0;
    if a.code_hash != KECCAK_EMPTY {
        flags |= HAS_CODE;
        push(a.code_hash.as_slice());
    }
    if a.storage_root != EMPTY_ROOT_HASH {
        flags |= HAS_STORAGE;
        push(a.storage_root.as_slice());
    }
    out.buf[0] = flags;
    out
}

/// Inverse of [`encode_account`]; a malformed record of `table` is [`StoreError::Corrupt`].
pub fn decode_account(table: &'static str, b: &[u8]) -> Result<StoredAccount, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        table,
        reason: format!(
            "account record {}: {reason}",
            alloy_primitives::hex::encode(b)
        ),
    };
    let (&flags, mut rest) = b.split_first().ok_or_else(|| corrupt("empty"))?;
    if flags & !(HAS_CODE | HAS_STORAGE) != 0 {
        return Err(corrupt("unknown flags"));
    }
    let mut take = |n: usize| -> Result<&[u8], StoreError> {
        if rest.len() < n {
            return Err(corrupt("truncated"));
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    let mut number = |max: usize| -> Result<&[u8], StoreError> {
        let len = take(1)?[0] as usize;
        if len > max {
            return Err(corrupt("integer too long"));
        }
        let bytes = take(len)?;
        if bytes.first() == Some(&0) {
            return Err(corrupt("integer with a leading zero"));
        }
        Ok(bytes)
    };
    let nonce = number(8)?
        .iter()
        .fold(0u64, |n, b| (n << 8) | u64::from(*b));
    let balance = U256::from_be_slice(number(32)?);
    let code_hash = if flags & HAS_CODE != 0 {
        B256::from_slice(take(32)?)
    } else {
        KECCAK_EMPTY
    };
    let storage_root = if flags & HAS_STORAGE != 0 {
        B256::from_slice(take(32)?)
    } else {
        EMPTY_ROOT_HASH
    };
    if !rest.is_empty() {
        return Err(corrupt("trailing bytes"));
    }
    Ok(StoredAccount {
        nonce,
        balance,
        code_hash,
        storage_root,
    })
}

/// Concatenates fixed-size parts into one key.
pub fn key<const N: usize>(parts: &[&[u8]]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    for p in parts {
        out[i..i + p.len()].copy_from_slice(p);
        i += p.len();
    }
    debug_assert_eq!(i, N);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(nonce: u64, balance: U256, code_hash: B256, storage_root: B256) -> StoredAccount {
        StoredAccount {
            nonce,
            balance,
            code_hash,
            storage_root,
        }
    }

    #[test]
    fn account_records_round_trip_at_the_extremes() {
        let h = B256::repeat_byte(0xab);
        let cases = [
            (account(0, U256::ZERO, KECCAK_EMPTY, EMPTY_ROOT_HASH), 3),
            (account(1, U256::from(1), KECCAK_EMPTY, EMPTY_ROOT_HASH), 5),
            (
                account(256, U256::from(256), KECCAK_EMPTY, EMPTY_ROOT_HASH),
                7,
            ),
            (account(u64::MAX, U256::MAX, h, h), MAX_ACCOUNT_LEN),
            (
                account(7, U256::from(1) << 255, h, EMPTY_ROOT_HASH),
                3 + 1 + 32 + 32,
            ),
            (account(0, U256::ZERO, KECCAK_EMPTY, h), 3 + 32),
            // Zero hashes are values like any other, not "absent".
            (account(0, U256::ZERO, B256::ZERO, B256::ZERO), 3 + 64),
        ];
        for (a, len) in cases {
            let rec = encode_account(&a);
            assert_eq!(rec.len(), len, "{a:?}");
            assert_eq!(decode_account("accounts", &rec).unwrap(), a);
        }
    }

    #[test]
    fn malformed_account_records_are_corrupt() {
        let good = encode_account(&account(
            300,
            U256::from(5),
            B256::repeat_byte(1),
            EMPTY_ROOT_HASH,
        ))
        .to_vec();
        let mut trailing = good.clone();
        trailing.push(0);
        let cases: [(&[u8], &str); 7] = [
            (&[], "empty"),
            (&[4, 0, 0], "unknown flags"),
            (&good[..good.len() - 1], "truncated"),
            (&trailing, "trailing bytes"),
            (&[0, 1, 0, 0], "leading zero"),
            (&[0, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0], "too long"),
            (&[0, 0, 33], "too long"),
        ];
        for (bytes, why) in cases {
            let err = decode_account("account_history", bytes).unwrap_err();
            assert!(
                matches!(
                    err,
                    StoreError::Corrupt {
                        table: "account_history",
                        ..
                    }
                ) && err.to_string().contains(why),
                "{bytes:?}: {err}"
            );
        }
    }
}
