//! Committing a block: state changes with changesets, incremental trie roots, the block itself,
//! its indexes and the head, all in one redb write transaction.

use std::collections::BTreeMap;

use alloy::consensus::Header;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rlp::Encodable;
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles};
use opal_trie::{PrefixSet, compute_root};
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};
use tracing::debug;

use crate::{
    DbResult, Head, Store, StoreError,
    tables::{self, StoredAccount, decode_account, encode_account, key},
    trie_io::{
        AccountLeaves, NodeReader, OverlayLeaves, StorageLeaves, apply_trie_updates,
        encode_account_leaf, remove_prefix,
    },
};

/// New values of an account's own fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountState {
    /// Nonce.
    pub nonce: u64,
    /// Balance.
    pub balance: U256,
    /// Code hash (`KECCAK_EMPTY` for none).
    pub code_hash: B256,
}

/// Storage writes of one account.
#[derive(Debug, Clone, Default)]
pub struct StorageChange {
    /// The account.
    pub address: Address,
    /// Clear all existing storage first (account destroyed or re-created).
    pub wipe: bool,
    /// New slot values (zero deletes the slot).
    pub slots: Vec<(U256, U256)>,
}

/// The state difference a block makes.
#[derive(Debug, Clone, Default)]
pub struct StateChanges {
    /// Accounts whose fields changed; `None` removes the account (and its storage).
    pub accounts: Vec<(Address, Option<AccountState>)>,
    /// Storage writes.
    pub storage: Vec<StorageChange>,
    /// New contract code by hash.
    pub codes: Vec<(B256, Bytes)>,
}

/// Roots computed from the committed state, handed to the sealing step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateRoots {
    /// State trie root.
    pub state_root: B256,
    /// Storage root of the L2ToL1MessagePasser (the Isthmus `withdrawalsRoot`).
    pub message_passer_storage_root: B256,
    /// Time spent computing the storage and state roots (for metrics and benchmarks).
    pub root_time: std::time::Duration,
}

/// A sealed block as the store keeps it.
#[derive(Debug, Clone)]
pub struct BlockRecord {
    /// The header.
    pub header: Header,
    /// The header's hash.
    pub hash: B256,
    /// The caller's encoding of the transactions.
    pub body: Vec<u8>,
    /// Hashes of the transactions, in order.
    pub tx_hashes: Vec<B256>,
    /// Recovered senders, in order.
    pub senders: Vec<Address>,
    /// The caller's encoding of the receipts.
    pub receipts: Vec<u8>,
}

/// A block's transactions and receipts as the store keeps them: everything but the header, so
/// they can be written while the state root is computed.
#[derive(Debug, Clone, Default)]
pub struct BlockContents {
    /// The caller's encoding of the transactions.
    pub body: Vec<u8>,
    /// Hashes of the transactions, in order.
    pub tx_hashes: Vec<B256>,
    /// Recovered senders, in order.
    pub senders: Vec<Address>,
    /// The caller's encoding of the receipts.
    pub receipts: Vec<u8>,
}

impl BlockRecord {
    /// The record of `header` with `contents`.
    pub fn new(header: Header, contents: BlockContents) -> Self {
        let BlockContents {
            body,
            tx_hashes,
            senders,
            receipts,
        } = contents;
        Self {
            hash: header.hash_slow(),
            header,
            body,
            tx_hashes,
            senders,
            receipts,
        }
    }

    /// A block without transactions: header, its hash, empty body and receipts.
    pub fn empty(header: Header) -> Self {
        Self {
            hash: header.hash_slow(),
            header,
            body: vec![],
            tx_hashes: vec![],
            senders: vec![],
            receipts: vec![],
        }
    }
}

impl Store {
    /// Commits block `number` atomically: applies `changes`, computes the state root, lets `seal`
    /// build (or check) the block from the roots, and writes block, indexes and head. If `seal`
    /// fails, nothing is written.
    pub fn commit_block(
        &self,
        number: u64,
        changes: &StateChanges,
        seal: impl FnOnce(StateRoots) -> Result<BlockRecord, StoreError>,
    ) -> Result<BlockRecord, StoreError> {
        let (txn, parent) = self.begin_block(number)?;
        // Block 0 creates the tables in this transaction: the parent has none to read.
        let parent_db = (number > 0).then_some(&self.db);
        let (roots, ()) = apply_state(&txn, parent_db, number, changes, || Ok(()))?;
        let block = seal(roots)?;
        write_contents(
            &txn,
            number,
            &block.body,
            &block.tx_hashes,
            &block.senders,
            &block.receipts,
        )?;
        self.finish_block(txn, parent, number, block)
    }

    /// Commits block `number` atomically, like [`Store::commit_block`], with the work that does
    /// not need the state root done while it is computed: `prepare` runs on this thread while
    /// another computes the account trie root, and returns the block's contents (written at
    /// once) with what the header takes from them (`P`, e.g. the transactions and receipts
    /// roots). `seal` then builds the header from the roots and `P`. If either fails, nothing
    /// is written.
    pub fn commit_block_overlapped<P>(
        &self,
        number: u64,
        changes: &StateChanges,
        prepare: impl FnOnce() -> Result<(BlockContents, P), StoreError>,
        seal: impl FnOnce(StateRoots, P) -> Result<Header, StoreError>,
    ) -> Result<BlockRecord, StoreError> {
        let (txn, parent) = self.begin_block(number)?;
        let parent_db = (number > 0).then_some(&self.db);
        let (roots, (contents, prepared)) = apply_state(&txn, parent_db, number, changes, || {
            let (contents, prepared) = prepare()?;
            write_contents(
                &txn,
                number,
                &contents.body,
                &contents.tx_hashes,
                &contents.senders,
                &contents.receipts,
            )?;
            Ok((contents, prepared))
        })?;
        let header = seal(roots, prepared)?;
        self.finish_block(txn, parent, number, BlockRecord::new(header, contents))
    }

    /// Opens the write transaction of block `number`, checking it extends the head; returns it
    /// with the head's number.
    fn begin_block(&self, number: u64) -> Result<(WriteTransaction, Option<u64>), StoreError> {
        let txn = self.db.begin_write().db()?;
        let parent = {
            let heads = txn.open_table(tables::HEADS).db()?;
            heads.get(Head::Unsafe.key()).db()?.map(|v| v.value())
        };
        match (parent, number) {
            (None, 0) => Ok((txn, parent)),
            (Some(p), n) if n == p + 1 => Ok((txn, parent)),
            (p, n) => Err(StoreError::NotNext {
                number: n,
                reason: format!("head is {p:?}"),
            }),
        }
    }

    /// Checks the sealed `block` against the head, writes its header, indexes and the head,
    /// and commits.
    fn finish_block(
        &self,
        txn: WriteTransaction,
        parent: Option<u64>,
        number: u64,
        block: BlockRecord,
    ) -> Result<BlockRecord, StoreError> {
        if block.header.number != number {
            return Err(StoreError::Rejected(format!(
                "sealed block has number {}",
                block.header.number
            )));
        }
        if let Some(p) = parent {
            let canonical = txn.open_table(tables::CANONICAL).db()?;
            let parent_hash = canonical.get(p).db()?.map(|v| B256::from(*v.value()));
            if parent_hash != Some(block.header.parent_hash) {
                return Err(StoreError::NotNext {
                    number,
                    reason: format!(
                        "parent hash {} is not the head's {parent_hash:?}",
                        block.header.parent_hash
                    ),
                });
            }
        }
        write_header(&txn, &block)?;
        self.index_block(&txn, &block)?;
        txn.commit().db()?;
        self.chain_changed();
        debug!(number, hash = %block.hash, "committed block");
        Ok(block)
    }

    /// Initialises an empty database with a genesis state, or checks that it already holds the
    /// same genesis. `seal` builds the genesis block from the roots.
    pub fn init_genesis(
        &self,
        alloc: &StateChanges,
        seal: impl FnOnce(StateRoots) -> Result<BlockRecord, StoreError>,
    ) -> Result<BlockRecord, StoreError> {
        if let Some(existing) = self.genesis_hash()? {
            // Compute what this genesis would be without writing it, and compare.
            let block = seal(scratch_roots(alloc)?)?;
            if block.hash != existing {
                return Err(StoreError::GenesisMismatch {
                    existing,
                    requested: block.hash,
                });
            }
            return Ok(block);
        }
        self.commit_block(0, alloc, seal)
    }
}

/// Roots of a genesis alloc computed in a throw-away in-memory database.
fn scratch_roots(alloc: &StateChanges) -> Result<StateRoots, StoreError> {
    let db = redb::Database::builder()
        .create_with_backend(redb::backends::InMemoryBackend::new())
        .db()?;
    let txn = db.begin_write().db()?;
    crate::create_tables(&txn)?;
    Ok(apply_state(&txn, None, 0, alloc, || Ok(()))?.0)
}

/// What a block does to one account: new fields (`Some(None)` removes it), changed slot keys,
/// and whether its storage is wiped first.
#[derive(Default)]
struct Touched {
    info: Option<Option<AccountState>>,
    changed_slots: Vec<Nibbles>,
    wipe: bool,
}

/// Applies state changes with changesets, updates trie nodes, and returns the new roots with
/// the result of `meanwhile`.
///
/// With `parent`, the database whose last commit is the state before `changes`, the account
/// trie root is computed on a second thread while this one writes the account records and then
/// runs `meanwhile`.
pub(crate) fn apply_state<T>(
    txn: &WriteTransaction,
    parent: Option<&redb::Database>,
    number: u64,
    changes: &StateChanges,
    meanwhile: impl FnOnce() -> Result<T, StoreError>,
) -> Result<(StateRoots, T), StoreError> {
    let block = number.to_be_bytes();
    let mut accounts = txn.open_table(tables::ACCOUNTS).db()?;
    let mut storage = txn.open_table(tables::STORAGE).db()?;
    let mut storage_trie = txn.open_table(tables::STORAGE_TRIE).db()?;
    let mut account_history = txn.open_table(tables::ACCOUNT_HISTORY).db()?;
    let mut account_changes = txn.open_table(tables::ACCOUNT_CHANGES).db()?;
    let mut storage_history = txn.open_table(tables::STORAGE_HISTORY).db()?;
    let mut storage_changes = txn.open_table(tables::STORAGE_CHANGES).db()?;

    // Touched accounts, by hashed address.
    let mut touched: BTreeMap<B256, Touched> = BTreeMap::new();
    for (address, info) in &changes.accounts {
        let entry = touched.entry(keccak256(address)).or_default();
        entry.info = Some(*info);
        entry.wipe |= info.is_none();
    }
    for change in &changes.storage {
        touched.entry(keccak256(change.address)).or_default().wipe |= change.wipe;
    }

    let mut record_slot = |sh: &[u8; 64], prev: [u8; 32]| -> Result<(), StoreError> {
        let hist: [u8; 72] = key(&[sh, &block]);
        if storage_history.get(&hist).db()?.is_none() {
            storage_history.insert(&hist, &prev).db()?;
            let ch: [u8; 72] = key(&[&block, sh]);
            storage_changes.insert(&ch, ()).db()?;
        }
        Ok(())
    };

    // Wipes first, then slot writes.
    for (h, t) in touched.iter_mut() {
        if !t.wipe {
            continue;
        }
        let from: [u8; 64] = key(&[h.as_slice(), &[0u8; 32]]);
        let mut old = vec![];
        for entry in storage.range::<&[u8; 64]>(&from..).db()? {
            let (k, v) = entry.db()?;
            if k.value()[..32] != h[..] {
                break;
            }
            old.push((*k.value(), *v.value()));
        }
        for (k, v) in old {
            record_slot(&k, v)?;
            storage.remove(&k).db()?;
            t.changed_slots.push(Nibbles::unpack(&k[32..]));
        }
        remove_prefix(&mut storage_trie, h.as_slice()).db()?;
    }
    for change in &changes.storage {
        let h = keccak256(change.address);
        let entry = touched.entry(h).or_default();
        for (slot, value) in &change.slots {
            let sh = keccak256(slot.to_be_bytes::<32>());
            let k: [u8; 64] = key(&[h.as_slice(), sh.as_slice()]);
            let prev = storage.get(&k).db()?.map(|v| *v.value()).unwrap_or([0; 32]);
            let new = value.to_be_bytes::<32>();
            if prev == new {
                continue;
            }
            record_slot(&k, prev)?;
            if value.is_zero() {
                storage.remove(&k).db()?;
            } else {
                storage.insert(&k, &new).db()?;
            }
            entry.changed_slots.push(Nibbles::unpack(sh));
        }
    }

    // Storage roots and the new account records.
    let mut root_time = std::time::Duration::ZERO;
    let mut changed: Vec<(B256, Option<StoredAccount>, Option<StoredAccount>)> =
        Vec::with_capacity(touched.len());
    for (
        h,
        Touched {
            info,
            changed_slots,
            wipe,
        },
    ) in touched
    {
        let prev = accounts
            .get(&h.0)
            .db()?
            .map(|v| decode_account("accounts", v.value()))
            .transpose()?;
        let storage_root = if changed_slots.is_empty() && !wipe {
            prev.map_or(EMPTY_ROOT_HASH, |p| p.storage_root)
        } else {
            let started = std::time::Instant::now();
            let out = compute_root(
                &mut NodeReader {
                    table: &storage_trie,
                    prefix: h.as_slice(),
                },
                &mut StorageLeaves {
                    table: &storage,
                    account: h,
                },
                &PrefixSet::new(changed_slots),
            )?;
            root_time += started.elapsed();
            apply_trie_updates(&mut storage_trie, h.as_slice(), &out.updates).db()?;
            out.root
        };
        let new = match info {
            Some(None) => None,
            Some(Some(a)) => Some(StoredAccount {
                nonce: a.nonce,
                balance: a.balance,
                code_hash: a.code_hash,
                storage_root,
            }),
            None => Some(match prev {
                Some(p) => StoredAccount { storage_root, ..p },
                None => StoredAccount {
                    code_hash: alloy_trie::KECCAK_EMPTY,
                    storage_root,
                    ..Default::default()
                },
            }),
        };
        if new != prev {
            changed.push((h, prev, new));
        }
    }

    // The account records with their history, and the code.
    let mut write_accounts = || -> Result<(), StoreError> {
        for (h, prev, new) in &changed {
            // Each account appears once in `touched`, so this block has no entry for it yet (an
            // unwind removes the entries of the blocks it undoes).
            let hist: [u8; 40] = key(&[h.as_slice(), &block]);
            let prev_bytes = prev
                .map(|p| encode_account(&p).to_vec())
                .unwrap_or_default();
            account_history.insert(&hist, prev_bytes.as_slice()).db()?;
            account_changes
                .insert(&key::<40>(&[&block, h.as_slice()]), ())
                .db()?;
            match new {
                Some(a) => accounts.insert(&h.0, &*encode_account(a)).db()?,
                None => accounts.remove(&h.0).db()?,
            };
        }
        let mut codes = txn.open_table(tables::BYTECODES).db()?;
        for (hash, code) in &changes.codes {
            if codes.get(&hash.0).db()?.is_none() {
                codes.insert(&hash.0, code.as_ref()).db()?;
            }
        }
        Ok(())
    };

    // The account trie: with the parent state at hand, on a second thread over the parent's
    // accounts with the new records laid over them, while this thread writes the records.
    let account_keys = PrefixSet::new(changed.iter().map(|(h, ..)| Nibbles::unpack(h)).collect());
    let (out, account_root_time, done) = match parent {
        Some(db) => {
            let read = db.begin_read().db()?;
            let overlay: BTreeMap<B256, Option<Vec<u8>>> = changed
                .iter()
                .map(|(h, _, new)| {
                    let leaf = new.map(|a| {
                        let mut buf = Vec::with_capacity(110);
                        encode_account_leaf(&a, &mut buf);
                        buf
                    });
                    (*h, leaf)
                })
                .collect();
            let span = tracing::Span::current();
            std::thread::scope(|s| {
                let root = std::thread::Builder::new()
                    .name("opal-state-root".into())
                    .spawn_scoped(s, || {
                        let _span = span.entered();
                        let started = std::time::Instant::now();
                        let trie = read.open_table(tables::ACCOUNT_TRIE).db()?;
                        let parent_accounts = read.open_table(tables::ACCOUNTS).db()?;
                        let out = compute_root(
                            &mut NodeReader {
                                table: &trie,
                                prefix: &[],
                            },
                            &mut OverlayLeaves {
                                inner: AccountLeaves(&parent_accounts),
                                overlay: &overlay,
                            },
                            &account_keys,
                        )?;
                        Ok::<_, StoreError>((out, started.elapsed()))
                    })
                    .map_err(|e| StoreError::RootThread(e.to_string()))?;
                let done = write_accounts().and_then(|()| meanwhile());
                let root = root
                    .join()
                    .map_err(|_| StoreError::RootThread("panicked".into()))?;
                let done = done?;
                root.map(|(out, time)| (out, time, done))
            })?
        }
        None => {
            write_accounts()?;
            let done = meanwhile()?;
            let account_trie = txn.open_table(tables::ACCOUNT_TRIE).db()?;
            let started = std::time::Instant::now();
            let out = compute_root(
                &mut NodeReader {
                    table: &account_trie,
                    prefix: &[],
                },
                &mut AccountLeaves(&accounts),
                &account_keys,
            )?;
            (out, started.elapsed(), done)
        }
    };
    root_time += account_root_time;
    let mut account_trie = txn.open_table(tables::ACCOUNT_TRIE).db()?;
    apply_trie_updates(&mut account_trie, &[], &out.updates).db()?;
    let mp = keccak256(opal_primitives::addresses::L2_TO_L1_MESSAGE_PASSER);
    let message_passer_storage_root = accounts
        .get(&mp.0)
        .db()?
        .map(|v| decode_account("accounts", v.value()))
        .transpose()?
        .map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
    Ok((
        StateRoots {
            state_root: out.root,
            message_passer_storage_root,
            root_time,
        },
        done,
    ))
}

/// Writes the header-independent parts of block `n`: body, senders, receipts, transaction
/// hashes and the transaction lookup.
fn write_contents(
    txn: &WriteTransaction,
    n: u64,
    body: &[u8],
    tx_hashes: &[B256],
    senders: &[Address],
    receipts: &[u8],
) -> Result<(), StoreError> {
    txn.open_table(tables::BODIES).db()?.insert(n, body).db()?;
    let senders: Vec<u8> = senders.iter().flat_map(|a| a.0.0).collect();
    txn.open_table(tables::SENDERS)
        .db()?
        .insert(n, senders.as_slice())
        .db()?;
    txn.open_table(tables::RECEIPTS)
        .db()?
        .insert(n, receipts)
        .db()?;
    let hashes: Vec<u8> = tx_hashes.iter().flat_map(|h| h.0).collect();
    txn.open_table(tables::BLOCK_TX_HASHES)
        .db()?
        .insert(n, hashes.as_slice())
        .db()?;
    let mut lookup = txn.open_table(tables::TX_LOOKUP).db()?;
    // In key order: neighbouring inserts share B-tree pages.
    let mut by_hash: Vec<(&B256, u32)> = tx_hashes.iter().zip(0u32..).collect();
    by_hash.sort_unstable();
    for (h, i) in by_hash {
        let loc: [u8; 12] = key(&[&n.to_be_bytes(), &i.to_be_bytes()]);
        lookup.insert(&h.0, &loc).db()?;
    }
    Ok(())
}

/// Writes the header of `block`, its hash indexes, and moves the head to it.
fn write_header(txn: &WriteTransaction, block: &BlockRecord) -> Result<(), StoreError> {
    let n = block.header.number;
    let mut rlp = Vec::with_capacity(600);
    block.header.encode(&mut rlp);
    txn.open_table(tables::HEADERS)
        .db()?
        .insert(n, rlp.as_slice())
        .db()?;
    txn.open_table(tables::CANONICAL)
        .db()?
        .insert(n, &block.hash.0)
        .db()?;
    txn.open_table(tables::HEADER_NUMBERS)
        .db()?
        .insert(&block.hash.0, n)
        .db()?;
    txn.open_table(tables::HEADS)
        .db()?
        .insert(Head::Unsafe.key(), n)
        .db()?;
    Ok(())
}
