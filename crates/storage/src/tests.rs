//! Store tests against an in-memory model of the state.

use std::collections::BTreeMap;

use alloy::consensus::Header;
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount, root};
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::*;

#[derive(Clone, Default, PartialEq, Debug)]
struct Model {
    accounts: BTreeMap<Address, AccountState>,
    storage: BTreeMap<Address, BTreeMap<U256, U256>>,
}

impl Model {
    fn root(&self) -> B256 {
        root::state_root_unhashed(self.accounts.iter().map(|(a, s)| {
            let st = self.storage.get(a).map_or(EMPTY_ROOT_HASH, |m| {
                root::storage_root_unhashed(m.iter().map(|(k, v)| (B256::from(*k), *v)))
            });
            (*a, TrieAccount::new(s.nonce, s.balance, st, s.code_hash))
        }))
    }
}

fn addr(i: u64) -> Address {
    Address::from_slice(&keccak256(i.to_be_bytes())[12..])
}

/// Random changes for one block, applied to the model as the store should apply them.
fn random_changes(rng: &mut StdRng, model: &mut Model, n: usize) -> StateChanges {
    let mut changes = StateChanges::default();
    let mut touched = std::collections::BTreeSet::new();
    for _ in 0..n {
        let a = addr(rng.random_range(0..40));
        if !touched.insert(a) {
            continue;
        }
        match rng.random_range(0..10) {
            0 if model.accounts.contains_key(&a) => {
                changes.accounts.push((a, None));
                model.accounts.remove(&a);
                model.storage.remove(&a);
            }
            _ => {
                let code_hash = if rng.random_bool(0.2) {
                    keccak256(a)
                } else {
                    KECCAK_EMPTY
                };
                if code_hash != KECCAK_EMPTY {
                    changes.codes.push((code_hash, a.to_vec().into()));
                }
                let s = AccountState {
                    nonce: rng.random_range(0..5),
                    balance: U256::from(rng.random_range(0..1000u64)),
                    code_hash,
                };
                changes.accounts.push((a, Some(s)));
                model.accounts.insert(a, s);
                let wipe = rng.random_bool(0.1);
                if wipe {
                    model.storage.remove(&a);
                }
                let mut slots = vec![];
                for _ in 0..rng.random_range(0..6) {
                    let k = U256::from(rng.random_range(0..12u64));
                    if slots.iter().any(|(s, _)| *s == k) {
                        continue;
                    }
                    let v = if rng.random_bool(0.3) {
                        U256::ZERO
                    } else {
                        U256::from(rng.random_range(1..u64::MAX))
                    };
                    slots.push((k, v));
                    let m = model.storage.entry(a).or_default();
                    if v.is_zero() {
                        m.remove(&k);
                    } else {
                        m.insert(k, v);
                    }
                }
                if model.storage.get(&a).is_some_and(|m| m.is_empty()) {
                    model.storage.remove(&a);
                }
                if wipe || !slots.is_empty() {
                    changes.storage.push(StorageChange {
                        address: a,
                        wipe,
                        slots,
                    });
                }
            }
        }
    }
    changes
}

fn seal(number: u64, parent: B256, roots: StateRoots) -> Result<BlockRecord, StoreError> {
    let header = Header {
        number,
        parent_hash: parent,
        state_root: roots.state_root,
        ..Default::default()
    };
    Ok(BlockRecord {
        tx_hashes: vec![keccak256(number.to_be_bytes())],
        ..BlockRecord::empty(header)
    })
}

fn check_reads(reader: &StateReader, model: &Model) {
    for i in 0..40 {
        let a = addr(i);
        let got = reader.account(a).unwrap();
        let want = model.accounts.get(&a);
        assert_eq!(
            got.map(|g| (g.nonce, g.balance, g.code_hash)),
            want.map(|w| (w.nonce, w.balance, w.code_hash)),
            "account {i}"
        );
        for k in 0..12u64 {
            let want = model
                .storage
                .get(&a)
                .and_then(|m| m.get(&U256::from(k)))
                .copied()
                .unwrap_or_default();
            assert_eq!(
                reader.storage(a, U256::from(k)).unwrap(),
                want,
                "account {i} slot {k}"
            );
        }
    }
}

#[test]
fn blocks_history_unwind_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let mut model = Model::default();
    let mut snapshots = vec![];
    let mut hashes = vec![];
    {
        let store = Store::open(dir.path()).unwrap();
        let mut parent = B256::ZERO;
        for n in 0..25u64 {
            let changes = random_changes(&mut rng, &mut model, 12);
            let block = store
                .commit_block(n, &changes, |r| seal(n, parent, r))
                .unwrap();
            assert_eq!(
                block.header.state_root,
                model.root(),
                "root after block {n}"
            );
            parent = block.hash;
            hashes.push(block.hash);
            snapshots.push(model.clone());
        }
        assert_eq!(store.check_state_root().unwrap(), model.root());
        // Historical reads see each block's state.
        for k in [0u64, 3, 11, 24] {
            check_reads(&store.at_block(k).unwrap(), &snapshots[k as usize]);
        }
        check_reads(&store.latest().unwrap(), &model);
        assert!(store.at_block(99).is_err());
    }
    // Reopen: same head, same root, same data.
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.head(Head::Unsafe).unwrap(), Some(24));
    assert_eq!(store.check_state_root().unwrap(), model.root());
    // Unwind to block 9: state, root, reads and chain all as they were then.
    let root = store.unwind_to(9).unwrap();
    assert_eq!(root, snapshots[9].root());
    assert_eq!(store.check_state_root().unwrap(), snapshots[9].root());
    check_reads(&store.latest().unwrap(), &snapshots[9]);
    check_reads(&store.at_block(4).unwrap(), &snapshots[4]);
    let reader = store.latest().unwrap();
    assert_eq!(reader.head().unwrap(), Some(9));
    assert_eq!(reader.block_hash(10).unwrap(), None);
    assert_eq!(
        reader
            .transaction_location(keccak256(12u64.to_be_bytes()))
            .unwrap(),
        None
    );
    assert_eq!(
        reader
            .transaction_location(keccak256(9u64.to_be_bytes()))
            .unwrap(),
        Some(BlockLocation {
            number: 9,
            index: 0
        })
    );
    drop(reader);
    // The chain continues from the unwound head with a different branch.
    let mut model = snapshots[9].clone();
    let mut parent = hashes[9];
    for n in 10..20u64 {
        let changes = random_changes(&mut rng, &mut model, 12);
        let block = store
            .commit_block(n, &changes, |r| seal(n, parent, r))
            .unwrap();
        assert_eq!(block.header.state_root, model.root());
        parent = block.hash;
    }
    assert_eq!(store.check_state_root().unwrap(), model.root());
}

#[test]
fn rejected_or_misplaced_blocks_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    let mut model = Model::default();
    let changes = random_changes(&mut rng, &mut model, 10);
    let g = store
        .commit_block(0, &changes, |r| seal(0, B256::ZERO, r))
        .unwrap();
    let before = store.check_state_root().unwrap();
    let mut m2 = model.clone();
    let more = random_changes(&mut rng, &mut m2, 10);
    // Sealing fails: nothing of the block is written.
    let err = store
        .commit_block(1, &more, |_| Err(StoreError::Rejected("bad root".into())))
        .unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)));
    assert_eq!(store.check_state_root().unwrap(), before);
    assert_eq!(store.head(Head::Unsafe).unwrap(), Some(0));
    // Wrong number or wrong parent.
    assert!(matches!(
        store.commit_block(2, &more, |r| seal(2, g.hash, r)),
        Err(StoreError::NotNext { .. })
    ));
    assert!(matches!(
        store.commit_block(1, &more, |r| seal(1, B256::repeat_byte(1), r)),
        Err(StoreError::NotNext { .. })
    ));
    assert_eq!(store.check_state_root().unwrap(), before);
    check_reads(&store.latest().unwrap(), &model);
}

/// Contents of test block `n`: two transactions with their senders, a body and receipts.
fn contents(n: u64) -> BlockContents {
    BlockContents {
        body: vec![n as u8; 3],
        tx_hashes: vec![
            keccak256(n.to_be_bytes()),
            keccak256((n + 1000).to_be_bytes()),
        ],
        senders: vec![addr(n), addr(n + 1)],
        receipts: vec![0xc0, n as u8],
    }
}

fn header(number: u64, parent: B256, roots: StateRoots) -> Header {
    Header {
        number,
        parent_hash: parent,
        state_root: roots.state_root,
        ..Default::default()
    }
}

#[test]
fn overlapped_commit_writes_what_a_plain_commit_writes() {
    let (plain_dir, overlapped_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let plain = Store::open(plain_dir.path()).unwrap();
    let overlapped = Store::open(overlapped_dir.path()).unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let mut model = Model::default();
    let mut parent = B256::ZERO;
    for n in 0..8u64 {
        let changes = random_changes(&mut rng, &mut model, 12);
        let a = plain
            .commit_block(n, &changes, |r| {
                Ok(BlockRecord::new(header(n, parent, r), contents(n)))
            })
            .unwrap();
        let b = overlapped
            .commit_block_overlapped(
                n,
                &changes,
                || Ok((contents(n), n)),
                |r, prepared| Ok(header(prepared, parent, r)),
            )
            .unwrap();
        assert_eq!(b.header, a.header, "block {n}");
        assert_eq!(b.header.state_root, model.root(), "block {n}");
        assert_eq!(b.hash, a.hash);
        parent = a.hash;
    }
    let (ra, rb) = (plain.latest().unwrap(), overlapped.latest().unwrap());
    for n in 0..8u64 {
        assert_eq!(rb.header(n).unwrap(), ra.header(n).unwrap());
        assert_eq!(rb.block_hash(n).unwrap(), ra.block_hash(n).unwrap());
        assert_eq!(rb.body(n).unwrap(), Some(contents(n).body));
        assert_eq!(rb.receipts(n).unwrap(), Some(contents(n).receipts));
        assert_eq!(rb.senders(n).unwrap(), Some(contents(n).senders));
        for (index, h) in contents(n).tx_hashes.into_iter().enumerate() {
            let at = Some(BlockLocation {
                number: n,
                index: index as u32,
            });
            assert_eq!(rb.transaction_location(h).unwrap(), at);
            assert_eq!(ra.transaction_location(h).unwrap(), at);
        }
    }
    check_reads(&rb, &model);
}

#[test]
fn overlapped_commit_that_fails_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let mut model = Model::default();
    let changes = random_changes(&mut rng, &mut model, 10);
    let g = store
        .commit_block_overlapped(
            0,
            &changes,
            || Ok((contents(0), ())),
            |r, ()| Ok(header(0, B256::ZERO, r)),
        )
        .unwrap();
    let before = store.check_state_root().unwrap();
    let more = random_changes(&mut rng, &mut model.clone(), 10);
    // The contents are written while the root is computed; a failed seal takes them back.
    let err = store
        .commit_block_overlapped(
            1,
            &more,
            || Ok((contents(1), ())),
            |_, ()| Err(StoreError::Rejected("bad root".into())),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)));
    // So does a failed `prepare`, and a sealed header with the wrong parent.
    let err = store
        .commit_block_overlapped(
            1,
            &more,
            || Err::<(BlockContents, ()), _>(StoreError::Index("no contents".into())),
            |r, ()| Ok(header(1, g.hash, r)),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Index(_)));
    let err = store
        .commit_block_overlapped(
            1,
            &more,
            || Ok((contents(1), ())),
            |r, ()| Ok(header(1, B256::repeat_byte(1), r)),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::NotNext { .. }));
    let reader = store.latest().unwrap();
    assert_eq!(reader.head().unwrap(), Some(0));
    assert_eq!(reader.body(1).unwrap(), None);
    assert_eq!(reader.receipts(1).unwrap(), None);
    assert_eq!(reader.senders(1).unwrap(), None);
    for h in contents(1).tx_hashes {
        assert_eq!(reader.transaction_location(h).unwrap(), None);
    }
    assert_eq!(store.check_state_root().unwrap(), before);
    check_reads(&reader, &model);
}

#[test]
fn genesis_is_idempotent_and_refuses_another_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let mut model = Model::default();
    let alloc = random_changes(&mut rng, &mut model, 20);
    let a = store
        .init_genesis(&alloc, |r| seal(0, B256::ZERO, r))
        .unwrap();
    let b = store
        .init_genesis(&alloc, |r| seal(0, B256::ZERO, r))
        .unwrap();
    assert_eq!(a.hash, b.hash);
    let other = random_changes(&mut rng, &mut model, 20);
    let err = store
        .init_genesis(&other, |r| seal(0, B256::ZERO, r))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::GenesisMismatch { existing, .. } if existing == a.hash),
        "{err}"
    );
    assert_eq!(store.genesis_hash().unwrap(), Some(a.hash));
}

#[test]
fn foreign_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.redb");
    std::fs::write(&junk, vec![0x5a; 10_000]).unwrap();
    let err = Store::open_file(&junk).unwrap_err();
    assert!(matches!(err, StoreError::Foreign { .. }), "{err}");
    // A short foreign file is refused too, and left as it was.
    let short = dir.path().join("short.redb");
    std::fs::write(&short, b"notes.txt").unwrap();
    assert!(matches!(
        Store::open_file(&short),
        Err(StoreError::Foreign { .. })
    ));
    assert_eq!(std::fs::read(&short).unwrap(), b"notes.txt");
    // A valid redb file of another program.
    let other = dir.path().join("other.redb");
    {
        let db = redb::Database::create(&other).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<u64, u64>::new("foo"))
            .unwrap()
            .insert(1, 2)
            .unwrap();
        txn.commit().unwrap();
    }
    let err = Store::open_file(&other).unwrap_err();
    assert!(err.to_string().contains("not an Opal database"), "{err}");
    // Truncated Opal database.
    let good = dir.path().join("good.redb");
    drop(Store::open_file(&good).unwrap());
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&good, &bytes[..bytes.len() / 3]).unwrap();
    assert!(Store::open_file(&good).is_err());
}

#[test]
fn a_database_of_another_schema_version_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.redb");
    drop(Store::open_file(&path).unwrap());
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(tables::META)
            .unwrap()
            .insert("schema", 1u32.to_be_bytes().as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let err = Store::open_file(&path).unwrap_err();
    assert!(matches!(err, StoreError::Foreign { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("schema version 1") && msg.contains(&format!("version {SCHEMA_VERSION}")),
        "{msg}"
    );
    // The refused database still holds its records as they were.
    let db = redb::Database::create(&path).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn.open_table(tables::META).unwrap();
    let schema = meta.get("schema").unwrap().map(|v| v.value().to_vec());
    assert_eq!(schema, Some(1u32.to_be_bytes().to_vec()));
    assert!(meta.get("magic").unwrap().is_some());
}
