//! Incremental Merkle-Patricia roots and proofs.
//!
//! The trie's branch nodes are kept in a store (`TrieNodeReader`) as alloy-trie
//! `BranchNodeCompact`s keyed by their nibble path; the leaves live in a sorted flat table
//! (`LeafReader`). To compute a new root after a set of keys changed, [`compute_root`] walks the
//! stored branches, reuses the hash of every subtree that holds no changed key, and feeds only the
//! leaves of changed subtrees into alloy-trie's `HashBuilder`. The cost follows the number of changed
//! keys, not the size of the state. The same walk, with the proof targets marked as changed and a
//! `ProofRetainer`, yields `eth_getProof` nodes.

mod codec;
mod prefix_set;
mod walk;

pub use codec::{decode_branch_node, encode_branch_node};
pub use prefix_set::PrefixSet;
pub use walk::{RootOutput, TrieUpdates, compute_root, proof};

pub use alloy_trie::{BranchNodeCompact, EMPTY_ROOT_HASH, KECCAK_EMPTY, Nibbles};

use alloy_primitives::B256;

/// An error reading the trie's backing store.
#[derive(Debug, thiserror::Error)]
pub enum TrieError {
    /// The store failed.
    #[error("trie store: {0}")]
    Store(String),
    /// A stored node could not be decoded.
    #[error("corrupt trie node at {path}: {reason}")]
    Corrupt {
        /// Hex of the node's nibble path.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Read access to the stored branch nodes of one trie.
pub trait TrieNodeReader {
    /// The stored node with the smallest path `>= path`, if any.
    fn seek_node(
        &mut self,
        path: &Nibbles,
    ) -> Result<Option<(Nibbles, BranchNodeCompact)>, TrieError>;
}

/// Read access to the sorted leaves of one trie (hashed key → RLP-encoded leaf value).
pub trait LeafReader {
    /// Calls `f` for every leaf with `from <= key < to` (`to = None`: to the end), in key order.
    fn for_each_leaf(
        &mut self,
        from: &B256,
        to: Option<&B256>,
        f: &mut dyn FnMut(B256, &[u8]),
    ) -> Result<(), TrieError>;
}

#[cfg(test)]
mod tests;
