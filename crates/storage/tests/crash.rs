//! Crash safety: a child process commits blocks in a loop and is killed (SIGKILL) at random
//! moments, many times. After each kill the reopened database must hold a complete, consistent
//! chain whose head state is exactly the state after that many blocks, and the next run resumes
//! from it.

use std::{collections::BTreeMap, path::Path, process::Command, time::Duration};

use alloy::consensus::Header;
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount, root};
use opal_storage::{AccountState, BlockRecord, Head, StateChanges, StorageChange, Store};
use rand::{Rng, SeedableRng, rngs::StdRng};

const CHILD_ENV: &str = "OPAL_CRASH_CHILD_DIR";

/// Block `n`'s changes: a deterministic function of `n` only.
fn changes_for(n: u64) -> StateChanges {
    let mut rng = StdRng::seed_from_u64(n);
    let mut c = StateChanges::default();
    for _ in 0..300 {
        let a = Address::from_slice(&keccak256(rng.random_range(0..5_000u64).to_be_bytes())[12..]);
        if c.accounts.iter().any(|(x, _)| *x == a) {
            continue;
        }
        c.accounts.push((
            a,
            Some(AccountState {
                nonce: n,
                balance: U256::from(rng.random::<u64>()),
                code_hash: KECCAK_EMPTY,
            }),
        ));
        let slots = (0..rng.random_range(0..4))
            .map(|_| {
                (
                    U256::from(rng.random_range(0..50u64)),
                    U256::from(rng.random_range(0..3u64)),
                )
            })
            .collect::<BTreeMap<_, _>>();
        if !slots.is_empty() {
            c.storage.push(StorageChange {
                address: a,
                wipe: false,
                slots: slots.into_iter().collect(),
            });
        }
    }
    c
}

fn commit(store: &Store, n: u64) {
    let parent = if n == 0 {
        B256::ZERO
    } else {
        store.latest().unwrap().block_hash(n - 1).unwrap().unwrap()
    };
    store
        .commit_block(n, &changes_for(n), |roots| {
            let header = Header {
                number: n,
                parent_hash: parent,
                state_root: roots.state_root,
                ..Default::default()
            };
            Ok(BlockRecord {
                body: vec![n as u8; 64],
                ..BlockRecord::empty(header)
            })
        })
        .unwrap();
}

/// The expected state root after blocks `0..=head`, from scratch.
fn model_root(head: u64) -> B256 {
    let mut accounts: BTreeMap<Address, AccountState> = BTreeMap::new();
    let mut storage: BTreeMap<Address, BTreeMap<U256, U256>> = BTreeMap::new();
    for n in 0..=head {
        let c = changes_for(n);
        for (a, s) in c.accounts {
            accounts.insert(a, s.unwrap());
        }
        for s in c.storage {
            let m = storage.entry(s.address).or_default();
            for (k, v) in s.slots {
                if v.is_zero() {
                    m.remove(&k);
                } else {
                    m.insert(k, v);
                }
            }
        }
    }
    root::state_root_unhashed(accounts.iter().map(|(a, s)| {
        let st = storage
            .get(a)
            .filter(|m| !m.is_empty())
            .map_or(EMPTY_ROOT_HASH, |m| {
                root::storage_root_unhashed(m.iter().map(|(k, v)| (B256::from(*k), *v)))
            });
        (*a, TrieAccount::new(s.nonce, s.balance, st, s.code_hash))
    }))
}

/// Entry point of the child process: commit blocks until killed.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = Store::open(Path::new(&dir)).unwrap();
    let start = store.head(Head::Unsafe).unwrap().map_or(0, |h| h + 1);
    for n in start..start + 100_000 {
        commit(&store, n);
    }
}

#[test]
fn killed_mid_commit_leaves_last_block_intact() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = StdRng::seed_from_u64(0xc0ffee);
    let mut last_head: Option<u64> = None;
    let mut progressed = 0;
    for round in 0..30 {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(30..400)));
        child.kill().unwrap();
        child.wait().unwrap();

        let store =
            Store::open(dir.path()).unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        let head = store.head(Head::Unsafe).unwrap();
        if let Some(h) = head {
            assert!(
                last_head.is_none_or(|l| h >= l),
                "round {round}: head went back from {last_head:?} to {h}"
            );
            if last_head != Some(h) {
                progressed += 1;
            }
            let root = store
                .check_state_root()
                .unwrap_or_else(|e| panic!("round {round}: inconsistent at head {h}: {e}"));
            assert_eq!(
                root,
                model_root(h),
                "round {round}: state after {h} blocks is not the committed state"
            );
            let reader = store.latest().unwrap();
            for n in 1..=h {
                let header = reader.header(n).unwrap().expect("header");
                assert_eq!(
                    Some(header.parent_hash),
                    reader.block_hash(n - 1).unwrap(),
                    "round {round}: chain broken at {n}"
                );
                assert_eq!(reader.body(n).unwrap(), Some(vec![n as u8; 64]));
            }
            assert_eq!(reader.block_hash(h + 1).unwrap(), None);
        }
        last_head = head;
    }
    assert!(
        progressed >= 10,
        "the child committed blocks in only {progressed} of 30 rounds"
    );
}
