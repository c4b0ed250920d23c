//! Decoded blocks for the request handlers, with a cache of the most recently read ones.
//!
//! A receipt or transaction looked up by hash needs its whole block decoded (the receipt's gas
//! used and log indexes depend on the receipts before it), which for a full block of transfers
//! costs close to a millisecond. Clients that wait for their receipts ask for the newest blocks
//! over and over, so the handlers keep the last few decoded blocks. Entries are keyed by block
//! hash, which names one block's contents: after an unwind the number maps to another hash and
//! the old entry is simply never asked for again.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use opal_storage::{StateReader, StoreError};

use crate::render::{StoredBlock, load_block_sized};

/// Blocks kept by default.
pub const DEFAULT_CACHED_BLOCKS: usize = 32;
/// Encoded bytes (bodies and receipts) kept by default; large blocks leave room for fewer.
pub const DEFAULT_CACHED_BYTES: usize = 64 << 20;

/// The most recently read decoded blocks, newest first.
#[derive(Debug)]
pub struct BlockCache {
    recent: Mutex<VecDeque<(Arc<StoredBlock>, usize)>>,
    max_blocks: usize,
    max_bytes: usize,
}

impl Default for BlockCache {
    fn default() -> Self {
        Self::new(DEFAULT_CACHED_BLOCKS, DEFAULT_CACHED_BYTES)
    }
}

impl BlockCache {
    /// A cache of at most `max_blocks` blocks and `max_bytes` encoded bytes (a block larger
    /// than that is decoded each time it is read).
    pub fn new(max_blocks: usize, max_bytes: usize) -> Self {
        Self {
            recent: Mutex::new(VecDeque::new()),
            max_blocks,
            max_bytes,
        }
    }

    /// Block `n` of `reader`'s chain, decoded once while it stays among the recent ones.
    pub fn load(
        &self,
        reader: &StateReader,
        n: u64,
    ) -> Result<Option<Arc<StoredBlock>>, StoreError> {
        let Some(hash) = reader.block_hash(n)? else {
            return Ok(None);
        };
        {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = recent
                .iter()
                .position(|(b, _)| b.hash == hash)
                .and_then(|i| recent.remove(i))
            {
                let block = entry.0.clone();
                recent.push_front(entry);
                return Ok(Some(block));
            }
        }
        let Some((block, bytes)) = load_block_sized(reader, n)? else {
            return Ok(None);
        };
        let block = Arc::new(block);
        if bytes <= self.max_bytes && self.max_blocks > 0 {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            // Another request may have decoded it meanwhile.
            if !recent.iter().any(|(b, _)| b.hash == hash) {
                recent.push_front((block.clone(), bytes));
                let mut total: usize = recent.iter().map(|(_, s)| s).sum();
                while recent.len() > self.max_blocks || total > self.max_bytes {
                    let Some((_, s)) = recent.pop_back() else {
                        break;
                    };
                    total -= s;
                }
            }
        }
        Ok(Some(block))
    }

    /// How many blocks are cached.
    pub fn len(&self) -> usize {
        self.recent.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no block is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use alloy::consensus::Header;
    use alloy::primitives::B256;
    use opal_storage::{BlockContents, BlockRecord, StateChanges, Store};

    use super::*;

    /// Commits block `n` on `parent` with no transactions; `salt` makes its hash differ.
    fn commit(store: &Store, n: u64, parent: B256, salt: u64) -> B256 {
        let contents = BlockContents {
            body: vec![0xc0],
            receipts: vec![0xc0],
            ..Default::default()
        };
        store
            .commit_block(n, &StateChanges::default(), |r| {
                let header = Header {
                    number: n,
                    parent_hash: parent,
                    state_root: r.state_root,
                    timestamp: salt,
                    ..Default::default()
                };
                Ok(BlockRecord::new(header, contents))
            })
            .unwrap()
            .hash
    }

    #[test]
    fn blocks_are_decoded_once_keyed_by_hash_and_evicted_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut parent = B256::ZERO;
        let mut hashes = vec![];
        for n in 0..5 {
            parent = commit(&store, n, parent, n);
            hashes.push(parent);
        }
        let cache = BlockCache::new(3, usize::MAX);
        let reader = store.latest().unwrap();
        let first = cache.load(&reader, 4).unwrap().unwrap();
        assert_eq!(first.hash, hashes[4]);
        assert!(Arc::ptr_eq(
            &first,
            &cache.load(&reader, 4).unwrap().unwrap()
        ));
        assert!(cache.load(&reader, 9).unwrap().is_none());
        for n in [1, 2, 3] {
            cache.load(&reader, n).unwrap();
        }
        // Block 4 was the least recently read of four: it was evicted, and is decoded anew.
        assert_eq!(cache.len(), 3);
        let again = cache.load(&reader, 4).unwrap().unwrap();
        assert!(!Arc::ptr_eq(&first, &again));
        assert_eq!(again.hash, hashes[4]);
        drop(reader);

        // After an unwind, the number names another block and the cache serves that one.
        store.unwind_to(3).unwrap();
        let other = commit(&store, 4, hashes[3], 99);
        assert_ne!(other, hashes[4]);
        let reader = store.latest().unwrap();
        assert_eq!(cache.load(&reader, 4).unwrap().unwrap().hash, other);
    }

    #[test]
    fn blocks_over_the_byte_budget_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        commit(&store, 0, B256::ZERO, 0);
        let reader = store.latest().unwrap();
        let cache = BlockCache::new(8, 1);
        let a = cache.load(&reader, 0).unwrap().unwrap();
        let b = cache.load(&reader, 0).unwrap().unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(cache.is_empty());
    }
}
