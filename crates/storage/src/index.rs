//! Secondary indexes maintained inside the block's own write transaction.
//!
//! A [`BlockIndexer`] keeps tables of its own in the chain database. The store calls it while
//! committing a block (after the block is sealed and written, before the transaction commits), so
//! the index and the chain can never disagree: an indexer error aborts the whole block. Unwinding
//! calls it for each removed block, newest first, in the unwind's transaction.
//!
//! Each indexer remembers the newest block it has seen ([`BlockIndexer::indexed_tip`]). When an
//! index is registered on an existing datadir ([`Store::with_indexer`]) the store first unwinds the
//! index past any block that is no longer canonical, then backfills it from the stored blocks.

use std::sync::Arc;

use alloy::consensus::Header;
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_rlp::Decodable;
use redb::{ReadableTable, WriteTransaction};
use tracing::info;

use crate::{
    BlockRecord, DbResult, Head, Store, StoreError,
    tables::{self, key},
};

/// Blocks indexed per write transaction while backfilling.
pub const BACKFILL_CHUNK: u64 = 512;

/// A secondary index over committed blocks, kept in the chain database.
///
/// Every method runs inside a write transaction the store owns; an error aborts that
/// transaction (the block commit, the unwind or the backfill step) and nothing is written.
pub trait BlockIndexer: Send + Sync {
    /// A short name for logs and errors.
    fn name(&self) -> &'static str;

    /// Creates the index's tables (idempotent).
    fn create_tables(&self, txn: &WriteTransaction) -> Result<(), StoreError>;

    /// The newest block the index has processed (number and hash), `None` if none yet.
    fn indexed_tip(&self, txn: &WriteTransaction) -> Result<Option<(u64, B256)>, StoreError>;

    /// Indexes a block that extends the index's tip; the block and its state are already
    /// written in `txn`.
    fn index_block(&self, txn: &WriteTransaction, block: &BlockRecord) -> Result<(), StoreError>;

    /// Removes what [`Self::index_block`] added for block `number` (the index's tip), restoring
    /// the tip to the block before it.
    fn unwind_block(&self, txn: &WriteTransaction, number: u64) -> Result<(), StoreError>;
}

impl Store {
    /// Registers a secondary index: creates its tables, unwinds it past blocks that are no longer
    /// canonical, and backfills it up to the head (in chunks of [`BACKFILL_CHUNK`] blocks, so a
    /// long catch-up neither holds one huge transaction nor starts over after a crash). From
    /// then on every commit and unwind maintains it.
    pub fn with_indexer(mut self, indexer: Arc<dyn BlockIndexer>) -> Result<Self, StoreError> {
        let name = indexer.name();
        let txn = self.db.begin_write().db()?;
        indexer.create_tables(&txn)?;
        // The index may have seen blocks that were unwound while it was not registered.
        loop {
            let Some((n, hash)) = indexer.indexed_tip(&txn)? else {
                break;
            };
            let canonical = txn
                .open_table(tables::CANONICAL)
                .db()?
                .get(n)
                .db()?
                .map(|v| B256::from(*v.value()));
            if canonical == Some(hash) {
                break;
            }
            indexer.unwind_block(&txn, n)?;
            if indexer.indexed_tip(&txn)?.map(|t| t.0) == Some(n) {
                return Err(StoreError::Index(format!(
                    "{name}: unwinding block {n} did not move its tip"
                )));
            }
        }
        txn.commit().db()?;
        let head = self.head(Head::Unsafe)?;
        if let Some(head) = head {
            let mut started = false;
            loop {
                let txn = self.db.begin_write().db()?;
                let from = indexer.indexed_tip(&txn)?.map_or(0, |t| t.0 + 1);
                if from > head {
                    break;
                }
                if !started {
                    info!(index = name, from, to = head, "backfilling index");
                    started = true;
                }
                let to = head.min(from + BACKFILL_CHUNK - 1);
                for n in from..=to {
                    let block = read_block(&txn, n)?;
                    indexer.index_block(&txn, &block)?;
                }
                txn.commit().db()?;
            }
            if started {
                info!(index = name, head, "index caught up");
            }
        }
        self.indexers.push(indexer);
        Ok(self)
    }

    /// Runs every registered indexer on a block being committed.
    pub(crate) fn index_block(
        &self,
        txn: &WriteTransaction,
        block: &BlockRecord,
    ) -> Result<(), StoreError> {
        for indexer in &self.indexers {
            indexer.index_block(txn, block)?;
        }
        Ok(())
    }

    /// Unwinds every registered indexer from `head` down to `target + 1`, newest block first.
    pub(crate) fn unwind_indexes(
        &self,
        txn: &WriteTransaction,
        target: u64,
        head: u64,
    ) -> Result<(), StoreError> {
        for n in ((target + 1)..=head).rev() {
            for indexer in &self.indexers {
                indexer.unwind_block(txn, n)?;
            }
        }
        Ok(())
    }
}

/// Reads a stored canonical block back as the [`BlockRecord`] it was committed as.
pub fn read_block(txn: &WriteTransaction, n: u64) -> Result<BlockRecord, StoreError> {
    let bytes = |def: redb::TableDefinition<u64, &[u8]>| -> Result<Vec<u8>, StoreError> {
        Ok(txn
            .open_table(def)
            .db()?
            .get(n)
            .db()?
            .map(|v| v.value().to_vec())
            .unwrap_or_default())
    };
    let rlp = bytes(tables::HEADERS)?;
    if rlp.is_empty() {
        return Err(StoreError::Corrupt {
            table: "headers",
            reason: format!("block {n} missing"),
        });
    }
    let header = Header::decode(&mut rlp.as_slice()).map_err(|e| StoreError::Corrupt {
        table: "headers",
        reason: e.to_string(),
    })?;
    let hash = txn
        .open_table(tables::CANONICAL)
        .db()?
        .get(n)
        .db()?
        .map(|v| B256::from(*v.value()))
        .ok_or_else(|| StoreError::Corrupt {
            table: "canonical_hashes",
            reason: format!("block {n} missing"),
        })?;
    Ok(BlockRecord {
        header,
        hash,
        body: bytes(tables::BODIES)?,
        tx_hashes: bytes(tables::BLOCK_TX_HASHES)?
            .chunks_exact(32)
            .map(B256::from_slice)
            .collect(),
        senders: bytes(tables::SENDERS)?
            .chunks_exact(20)
            .map(Address::from_slice)
            .collect(),
        receipts: bytes(tables::RECEIPTS)?,
    })
}

/// A storage slot of the latest state as written so far in `txn` (for indexers that need a value
/// the block's events do not carry).
pub fn state_storage(
    txn: &WriteTransaction,
    address: Address,
    slot: U256,
) -> Result<U256, StoreError> {
    let k: [u8; 64] = key(&[
        keccak256(address).as_slice(),
        keccak256(slot.to_be_bytes::<32>()).as_slice(),
    ]);
    Ok(txn
        .open_table(tables::STORAGE)
        .db()?
        .get(&k)
        .db()?
        .map_or(U256::ZERO, |v| U256::from_be_bytes(*v.value())))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use redb::TableDefinition;

    use super::*;
    use crate::StateChanges;

    /// Block number → (hash, transaction count), plus the tip.
    const SEEN: TableDefinition<u64, (&[u8; 32], u64)> = TableDefinition::new("test_index_seen");

    #[derive(Default)]
    struct TestIndex {
        fail: AtomicBool,
    }

    impl BlockIndexer for TestIndex {
        fn name(&self) -> &'static str {
            "test"
        }

        fn create_tables(&self, txn: &WriteTransaction) -> Result<(), StoreError> {
            txn.open_table(SEEN).db()?;
            Ok(())
        }

        fn indexed_tip(&self, txn: &WriteTransaction) -> Result<Option<(u64, B256)>, StoreError> {
            let t = txn.open_table(SEEN).db()?;
            Ok(t.last()
                .db()?
                .map(|(k, v)| (k.value(), B256::from(*v.value().0))))
        }

        fn index_block(
            &self,
            txn: &WriteTransaction,
            block: &BlockRecord,
        ) -> Result<(), StoreError> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(StoreError::Index("test index refuses".into()));
            }
            let n = block.header.number;
            let mut t = txn.open_table(SEEN).db()?;
            let tip = t.last().db()?.map(|(k, _)| k.value());
            if n > 0 && tip != Some(n - 1) {
                return Err(StoreError::Index(format!("block {n} after tip {tip:?}")));
            }
            t.insert(n, (&block.hash.0, block.tx_hashes.len() as u64))
                .db()?;
            Ok(())
        }

        fn unwind_block(&self, txn: &WriteTransaction, number: u64) -> Result<(), StoreError> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(StoreError::Index("test index refuses".into()));
            }
            let mut t = txn.open_table(SEEN).db()?;
            let tip = t.last().db()?.map(|(k, _)| k.value());
            if tip != Some(number) {
                return Err(StoreError::Index(format!(
                    "unwind {number} but tip {tip:?}"
                )));
            }
            t.remove(number).db()?;
            Ok(())
        }
    }

    fn seen(store: &Store) -> Vec<(u64, B256, u64)> {
        let r = store.latest().unwrap();
        let t = r.txn().open_table(SEEN).unwrap();
        t.iter()
            .unwrap()
            .map(|e| {
                let (k, v) = e.unwrap();
                let (h, c) = v.value();
                (k.value(), B256::from(*h), c)
            })
            .collect()
    }

    fn commit(store: &Store, n: u64, salt: u8) -> BlockRecord {
        let parent = if n == 0 {
            B256::ZERO
        } else {
            store.latest().unwrap().block_hash(n - 1).unwrap().unwrap()
        };
        store
            .commit_block(n, &StateChanges::default(), |r| {
                let header = Header {
                    number: n,
                    parent_hash: parent,
                    state_root: r.state_root,
                    extra_data: vec![salt].into(),
                    ..Default::default()
                };
                Ok(BlockRecord {
                    tx_hashes: vec![B256::repeat_byte(salt); n as usize % 3],
                    ..BlockRecord::empty(header)
                })
            })
            .unwrap()
    }

    fn chain(store: &Store) -> Vec<(u64, B256, u64)> {
        let r = store.latest().unwrap();
        (0..=r.head().unwrap().unwrap())
            .map(|n| {
                let h = r.block_hash(n).unwrap().unwrap();
                (n, h, n % 3)
            })
            .collect()
    }

    #[test]
    fn indexed_in_the_same_commit_and_unwound() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path())
            .unwrap()
            .with_indexer(Arc::new(TestIndex::default()))
            .unwrap();
        for n in 0..6 {
            let b = commit(&store, n, 1);
            assert_eq!(seen(&store).last().unwrap().1, b.hash);
        }
        assert_eq!(seen(&store), chain(&store));
        store.unwind_to(2).unwrap();
        assert_eq!(seen(&store).len(), 3);
        assert_eq!(seen(&store), chain(&store));
        for n in 3..5 {
            commit(&store, n, 2);
        }
        assert_eq!(seen(&store), chain(&store));
    }

    #[test]
    fn a_failing_indexer_aborts_the_block() {
        let dir = tempfile::tempdir().unwrap();
        let index = Arc::new(TestIndex::default());
        let store = Store::open(dir.path())
            .unwrap()
            .with_indexer(index.clone())
            .unwrap();
        commit(&store, 0, 1);
        commit(&store, 1, 1);
        index.fail.store(true, Ordering::SeqCst);
        let parent = store.latest().unwrap().block_hash(1).unwrap().unwrap();
        let changes = StateChanges {
            accounts: vec![(
                Address::repeat_byte(7),
                Some(crate::AccountState {
                    nonce: 1,
                    balance: U256::from(5),
                    code_hash: alloy_trie::KECCAK_EMPTY,
                }),
            )],
            ..Default::default()
        };
        let err = store
            .commit_block(2, &changes, |r| {
                Ok(BlockRecord::empty(Header {
                    number: 2,
                    parent_hash: parent,
                    state_root: r.state_root,
                    ..Default::default()
                }))
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::Index(_)), "{err}");
        // Nothing of block 2 was written: head, block, state, index.
        assert_eq!(store.head(Head::Unsafe).unwrap(), Some(1));
        let r = store.latest().unwrap();
        assert_eq!(r.block_hash(2).unwrap(), None);
        assert_eq!(r.account(Address::repeat_byte(7)).unwrap(), None);
        drop(r);
        assert_eq!(seen(&store).len(), 2);
        store.check_state_root().unwrap();
        // An unwind the index refuses is aborted too.
        assert!(store.unwind_to(0).is_err());
        assert_eq!(store.head(Head::Unsafe).unwrap(), Some(1));
        index.fail.store(false, Ordering::SeqCst);
        commit(&store, 2, 1);
        assert_eq!(seen(&store), chain(&store));
    }

    #[test]
    fn registering_backfills_and_repairs() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            for n in 0..(BACKFILL_CHUNK + 40) {
                commit(&store, n, 1);
            }
        }
        // Enabling the index on an existing datadir catches up with every block.
        {
            let store = Store::open(dir.path())
                .unwrap()
                .with_indexer(Arc::new(TestIndex::default()))
                .unwrap();
            assert_eq!(seen(&store), chain(&store));
        }
        // Registering again on a caught-up index is a no-op.
        {
            let store = Store::open(dir.path())
                .unwrap()
                .with_indexer(Arc::new(TestIndex::default()))
                .unwrap();
            assert_eq!(seen(&store).len() as u64, BACKFILL_CHUNK + 40);
        }
        // Without the index the chain is unwound and re-extended on another branch; the index
        // unwinds the blocks it saw that are gone, then catches up with the new ones.
        {
            let store = Store::open(dir.path()).unwrap();
            store.unwind_to(100).unwrap();
            for n in 101..110 {
                commit(&store, n, 9);
            }
        }
        let store = Store::open(dir.path())
            .unwrap()
            .with_indexer(Arc::new(TestIndex::default()))
            .unwrap();
        assert_eq!(seen(&store), chain(&store));
        assert_eq!(seen(&store).len(), 110);
        // The index reads back what was committed.
        let txn = store.db.begin_write().unwrap();
        let b = read_block(&txn, 5).unwrap();
        assert_eq!(b.hash, b.header.hash_slow());
        assert_eq!(b.tx_hashes, vec![B256::repeat_byte(1); 2]);
    }

    #[test]
    fn state_storage_reads_the_write_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = Address::repeat_byte(3);
        let changes = StateChanges {
            storage: vec![crate::StorageChange {
                address: a,
                wipe: false,
                slots: vec![(U256::from(9), U256::from(42))],
            }],
            ..Default::default()
        };
        store
            .commit_block(0, &changes, |r| {
                Ok(BlockRecord::empty(Header {
                    state_root: r.state_root,
                    ..Default::default()
                }))
            })
            .unwrap();
        let txn = store.db.begin_write().unwrap();
        assert_eq!(
            state_storage(&txn, a, U256::from(9)).unwrap(),
            U256::from(42)
        );
        assert_eq!(state_storage(&txn, a, U256::from(8)).unwrap(), U256::ZERO);
    }
}
