//! Opal's persistent store, one redb file under the datadir.
//!
//! It keeps the canonical chain (headers, bodies, receipts, transaction index), the flat state keyed
//! by hashed address and slot, contract code, the branch nodes of the state and storage tries, and
//! per-block changesets. Each block is committed in **one** write transaction (state, trie nodes,
//! block, receipts, indexes, head), so a crash leaves the last committed block intact and nothing
//! half-written. Changesets allow unwinding the head and reading state at earlier blocks.

mod check;
mod commit;
mod index;
mod proof;
mod reader;
pub mod tables;
mod trie_io;
mod unwind;

use std::path::{Path, PathBuf};

use alloy_primitives::B256;
use redb::{Database, ReadableDatabase, ReadableTable, TableHandle};

pub use commit::{
    AccountState, BlockContents, BlockRecord, StateChanges, StateRoots, StorageChange,
};
pub use index::{BACKFILL_CHUNK, BlockIndexer, read_block, state_storage};
pub use reader::{BlockLocation, StateReader};
pub use tables::StoredAccount;

/// File name of the database inside the datadir.
pub const DB_FILE: &str = "opal.redb";
const MAGIC: &[u8] = b"opal-chain-db";
/// The first bytes of every redb file.
const REDB_SIGNATURE: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];
/// On-disk schema version; a database written with another version is refused. Version 2
/// stores account records compactly ([`tables::encode_account`]) and receipts without their
/// zero blooms (`opal_primitives::receipts`).
pub const SCHEMA_VERSION: u32 = 2;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb failed (I/O, corruption it detected, ...).
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    /// The file is not an Opal database or was written by an incompatible version.
    #[error("{path}: {reason}")]
    Foreign {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// A record could not be decoded.
    #[error("corrupt record in table {table}: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The trie walk failed.
    #[error(transparent)]
    Trie(#[from] opal_trie::TrieError),
    /// The datadir holds another chain.
    #[error("datadir already initialised with genesis {existing}, not {requested}")]
    GenesisMismatch {
        /// The genesis hash in the database.
        existing: B256,
        /// The genesis hash asked for.
        requested: B256,
    },
    /// A block does not extend the head.
    #[error("block {number} does not extend the head: {reason}")]
    NotNext {
        /// The block's number.
        number: u64,
        /// Why.
        reason: String,
    },
    /// The datadir was initialised for another chain id.
    #[error("datadir holds chain id {existing}, not {requested}")]
    ChainIdMismatch {
        /// The chain id recorded in the database.
        existing: u64,
        /// The chain id asked for.
        requested: u64,
    },
    /// The database holds no genesis yet.
    #[error("database is not initialised (run `opal init`)")]
    Uninitialised,
    /// The caller rejected the block while sealing it (e.g. a state-root mismatch); nothing was written.
    #[error("block rejected: {0}")]
    Rejected(String),
    /// The helper thread that computes the state root could not start or panicked; the block
    /// commit it was part of wrote nothing.
    #[error("state root thread: {0}")]
    RootThread(String),
    /// A secondary index failed; the block commit or unwind it was part of wrote nothing.
    #[error("index: {0}")]
    Index(String),
}

/// Converts any redb error into [`StoreError`].
pub(crate) trait DbResult<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> DbResult<T> for Result<T, E> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Db(e.into()))
    }
}

/// Head pointers kept by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// Latest block (sequenced or received, not yet derived from L1).
    Unsafe,
    /// Derived from L1.
    Safe,
    /// Derived from finalized L1.
    Finalized,
}

impl Head {
    fn key(self) -> &'static str {
        match self {
            Head::Unsafe => "unsafe",
            Head::Safe => "safe",
            Head::Finalized => "finalized",
        }
    }
}

/// The chain database.
pub struct Store {
    db: Database,
    path: PathBuf,
    indexers: Vec<std::sync::Arc<dyn BlockIndexer>>,
    /// Moves after every commit that changes the chain (a block, an unwind).
    generation: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if absent) the database in `datadir`.
    pub fn open(datadir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(datadir).map_err(|e| StoreError::Foreign {
            path: datadir.to_owned(),
            reason: format!("cannot create datadir: {e}"),
        })?;
        Self::open_file(&datadir.join(DB_FILE))
    }

    /// Opens (creating if absent) the database file at `path`.
    pub fn open_file(path: &Path) -> Result<Self, StoreError> {
        let foreign = |reason: String| StoreError::Foreign {
            path: path.to_owned(),
            reason,
        };
        // redb initialises files it considers empty or too short; never let it overwrite a
        // foreign file: a non-empty file must start with redb's file signature.
        if let Ok(f) = std::fs::File::open(path) {
            use std::io::Read;
            let mut head = Vec::with_capacity(REDB_SIGNATURE.len());
            let read = f.take(REDB_SIGNATURE.len() as u64).read_to_end(&mut head);
            if read.is_err() || (!head.is_empty() && head != REDB_SIGNATURE) {
                return Err(foreign(
                    "not an Opal database (no redb file signature); refusing to touch it".into(),
                ));
            }
        }
        let db = Database::create(path)
            .map_err(|e| foreign(format!("not a usable Opal database: {e}")))?;
        let store = Self {
            db,
            path: path.to_owned(),
            indexers: Vec::new(),
            generation: std::sync::atomic::AtomicU64::new(0),
        };
        let txn = store.db.begin_write().db()?;
        let names: Vec<String> = txn
            .list_tables()
            .db()?
            .map(|t| t.name().to_string())
            .collect();
        let has_meta = names.iter().any(|n| n == "meta");
        if !has_meta && !names.is_empty() {
            return Err(foreign("a redb file that is not an Opal database".into()));
        }
        {
            let mut meta = txn.open_table(tables::META).db()?;
            let magic = meta.get("magic").db()?.map(|v| v.value().to_vec());
            match magic {
                Some(m) if m == MAGIC => {
                    let schema = meta.get("schema").db()?.map(|v| v.value().to_vec());
                    let want = SCHEMA_VERSION.to_be_bytes().to_vec();
                    if schema.as_ref() != Some(&want) {
                        let found = schema
                            .as_deref()
                            .and_then(|s| <[u8; 4]>::try_from(s).ok())
                            .map_or("unknown".into(), |s| u32::from_be_bytes(s).to_string());
                        return Err(foreign(format!(
                            "written with storage schema version {found}, this node reads version \
                             {SCHEMA_VERSION}; run the opal release that wrote it, or move it \
                             aside and start from an empty datadir"
                        )));
                    }
                }
                Some(_) => return Err(foreign("a redb file that is not an Opal database".into())),
                None if has_meta => {
                    return Err(foreign("an Opal database without its magic record".into()));
                }
                None => {
                    meta.insert("magic", MAGIC).db()?;
                    meta.insert("schema", SCHEMA_VERSION.to_be_bytes().as_slice())
                        .db()?;
                }
            }
        }
        create_tables(&txn)?;
        txn.commit().db()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records the chain id on first use and refuses a different one later (the genesis hash
    /// alone does not cover the chain configuration).
    pub fn ensure_chain_id(&self, chain_id: u64) -> Result<(), StoreError> {
        let txn = self.db.begin_write().db()?;
        {
            let mut meta = txn.open_table(tables::META).db()?;
            let existing = meta.get("chain_id").db()?.map(|v| v.value().to_vec());
            match existing {
                Some(b) => {
                    let existing = <[u8; 8]>::try_from(b.as_slice())
                        .map(u64::from_be_bytes)
                        .map_err(|_| StoreError::Corrupt {
                            table: "meta",
                            reason: "chain_id is not 8 bytes".into(),
                        })?;
                    if existing != chain_id {
                        return Err(StoreError::ChainIdMismatch {
                            existing,
                            requested: chain_id,
                        });
                    }
                }
                None => {
                    meta.insert("chain_id", chain_id.to_be_bytes().as_slice())
                        .db()?;
                }
            }
        }
        txn.commit().db()?;
        Ok(())
    }

    /// The genesis block hash, if the database has been initialised.
    pub fn genesis_hash(&self) -> Result<Option<B256>, StoreError> {
        let txn = self.db.begin_read().db()?;
        let t = txn.open_table(tables::CANONICAL).db()?;
        Ok(t.get(0).db()?.map(|v| B256::from(*v.value())))
    }

    /// The block number a head points to.
    pub fn head(&self, head: Head) -> Result<Option<u64>, StoreError> {
        let txn = self.db.begin_read().db()?;
        let t = txn.open_table(tables::HEADS).db()?;
        Ok(t.get(head.key()).db()?.map(|v| v.value()))
    }

    /// Moves the safe or finalized head (never beyond the unsafe head).
    pub fn set_head(&self, head: Head, number: u64) -> Result<(), StoreError> {
        let txn = self.db.begin_write().db()?;
        {
            let mut t = txn.open_table(tables::HEADS).db()?;
            let latest = t
                .get(Head::Unsafe.key())
                .db()?
                .map(|v| v.value())
                .ok_or(StoreError::Uninitialised)?;
            if number > latest {
                return Err(StoreError::NotNext {
                    number,
                    reason: format!("beyond the unsafe head {latest}"),
                });
            }
            t.insert(head.key(), number).db()?;
        }
        txn.commit().db()?;
        Ok(())
    }

    /// A counter that moves after every commit that changes the chain (a block or an unwind).
    /// A value read before [`Store::latest`] tells, when it is read again unchanged, that the
    /// view opened then is still the latest: callers cache what they derive from the head.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Records a commit that changed the chain.
    pub(crate) fn chain_changed(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// A consistent read view of the latest committed state.
    pub fn latest(&self) -> Result<StateReader, StoreError> {
        StateReader::new(self.db.begin_read().db()?, None)
    }

    /// A read view of the state as it was after block `number`.
    pub fn at_block(&self, number: u64) -> Result<StateReader, StoreError> {
        let reader = StateReader::new(self.db.begin_read().db()?, Some(number))?;
        match reader.head()? {
            Some(h) if number <= h => Ok(reader),
            Some(h) => Err(StoreError::NotNext {
                number,
                reason: format!("state requested beyond head {h}"),
            }),
            None => Err(StoreError::Uninitialised),
        }
    }
}

fn create_tables(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(tables::HEADS).db()?;
    txn.open_table(tables::HEADERS).db()?;
    txn.open_table(tables::CANONICAL).db()?;
    txn.open_table(tables::HEADER_NUMBERS).db()?;
    txn.open_table(tables::BODIES).db()?;
    txn.open_table(tables::SENDERS).db()?;
    txn.open_table(tables::RECEIPTS).db()?;
    txn.open_table(tables::TX_LOOKUP).db()?;
    txn.open_table(tables::BLOCK_TX_HASHES).db()?;
    txn.open_table(tables::ACCOUNTS).db()?;
    txn.open_table(tables::STORAGE).db()?;
    txn.open_table(tables::BYTECODES).db()?;
    txn.open_table(tables::ACCOUNT_TRIE).db()?;
    txn.open_table(tables::STORAGE_TRIE).db()?;
    txn.open_table(tables::ACCOUNT_HISTORY).db()?;
    txn.open_table(tables::ACCOUNT_CHANGES).db()?;
    txn.open_table(tables::STORAGE_HISTORY).db()?;
    txn.open_table(tables::STORAGE_CHANGES).db()?;
    Ok(())
}

#[cfg(test)]
mod tests;
