//! Table definitions and the fixed-width record encodings stored in them.
//!
//! Keys are hashed (`keccak(address)`, `keccak(slot)`) so the flat state is also the sorted leaf
//! set of the state trie. Block numbers are big-endian so ranges iterate in block order.

use alloy_primitives::{B256, U256};
use redb::TableDefinition;

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
/// Block number → encoded receipts.
pub const RECEIPTS: TableDefinition<u64, &[u8]> = TableDefinition::new("receipts");
/// Block number → concatenated 32-byte transaction hashes.
pub const BLOCK_TX_HASHES: TableDefinition<u64, &[u8]> = TableDefinition::new("block_tx_hashes");
/// Transaction hash → `block u64 BE ++ index u32 BE`.
pub const TX_LOOKUP: TableDefinition<&[u8; 32], &[u8; 12]> = TableDefinition::new("tx_lookup");
/// `keccak(address)` → account record ([`encode_account`]).
pub const ACCOUNTS: TableDefinition<&[u8; 32], &[u8; ACCOUNT_LEN]> =
    TableDefinition::new("accounts");
/// `keccak(address) ++ keccak(slot)` → non-zero value, 32 bytes BE.
pub const STORAGE: TableDefinition<&[u8; 64], &[u8; 32]> = TableDefinition::new("storage");
/// Code hash → bytecode.
pub const BYTECODES: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("bytecodes");
/// Account-trie branch node path (one nibble per byte) → encoded `BranchNodeCompact`.
pub const ACCOUNT_TRIE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("account_trie");
/// `keccak(address) ++ path` → encoded storage-trie branch node.
pub const STORAGE_TRIE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("storage_trie");
/// `keccak(address) ++ block` → account before that block (empty = did not exist).
pub const ACCOUNT_HISTORY: TableDefinition<&[u8; 40], &[u8]> =
    TableDefinition::new("account_history");
/// `block ++ keccak(address)` → (): which accounts a block changed.
pub const ACCOUNT_CHANGES: TableDefinition<&[u8; 40], ()> = TableDefinition::new("account_changes");
/// `keccak(address) ++ keccak(slot) ++ block` → slot value before that block.
pub const STORAGE_HISTORY: TableDefinition<&[u8; 72], &[u8; 32]> =
    TableDefinition::new("storage_history");
/// `block ++ keccak(address) ++ keccak(slot)` → (): which slots a block changed.
pub const STORAGE_CHANGES: TableDefinition<&[u8; 72], ()> = TableDefinition::new("storage_changes");

/// Bytes of an account record.
pub const ACCOUNT_LEN: usize = 104;

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

/// `nonce u64 ++ balance ++ code_hash ++ storage_root`.
pub fn encode_account(a: &StoredAccount) -> [u8; ACCOUNT_LEN] {
    let mut out = [0u8; ACCOUNT_LEN];
    out[..8].copy_from_slice(&a.nonce.to_be_bytes());
    out[8..40].copy_from_slice(&a.balance.to_be_bytes::<32>());
    out[40..72].copy_from_slice(a.code_hash.as_slice());
    out[72..].copy_from_slice(a.storage_root.as_slice());
    out
}

/// Inverse of [`encode_account`].
pub fn decode_account(b: &[u8; ACCOUNT_LEN]) -> StoredAccount {
    let mut nonce = [0u8; 8];
    nonce.copy_from_slice(&b[..8]);
    StoredAccount {
        nonce: u64::from_be_bytes(nonce),
        balance: U256::from_be_slice(&b[8..40]),
        code_hash: B256::from_slice(&b[40..72]),
        storage_root: B256::from_slice(&b[72..]),
    }
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
