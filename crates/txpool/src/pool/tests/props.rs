//! Random add / remove / new-block / expiry sequences keep the pool's invariants.

use std::{
    collections::HashMap,
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};

use alloy::primitives::U256;
use proptest::prelude::*;

use crate::{Pool, PoolConfig, test_utils::*};

const SENDERS: usize = 4;

/// Signed transactions by (sender, nonce, price level).
type Cache = Mutex<HashMap<(usize, u64, u8), Vec<u8>>>;

/// Signing is the slow part: each (sender, nonce, price level) is signed once per test run.
fn signed(k: usize, nonce: u64, level: u8) -> Vec<u8> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(raw) = cache.lock().unwrap().get(&(k, nonce, level)) {
        return raw.clone();
    }
    // Each level raises both fields by 20%, so a higher level always replaces a lower one.
    let tip = GWEI * 12u128.pow(u32::from(level)) / 10u128.pow(u32::from(level));
    let raw = transfer(k, nonce, 2 * GWEI + tip, tip);
    cache.lock().unwrap().insert((k, nonce, level), raw.clone());
    raw
}

#[derive(Clone, Debug)]
enum Op {
    Add { k: usize, nonce: u64, level: u8 },
    Remove { index: usize },
    Block { k: usize, advance: u64, poor: bool },
    Expire { secs: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..SENDERS, 0u64..8, 0u8..4)
            .prop_map(|(k, nonce, level)| Op::Add { k, nonce, level }),
        1 => any::<usize>().prop_map(|index| Op::Remove { index }),
        2 => (0..SENDERS, 0u64..3, any::<bool>())
            .prop_map(|(k, advance, poor)| Op::Block { k, advance, poor }),
        1 => (0u64..20).prop_map(|secs| Op::Expire { secs }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_invariants(ops in proptest::collection::vec(op(), 1..40)) {
        let config = PoolConfig {
            max_pending: 6,
            max_queued: 4,
            max_per_sender: 5,
            queued_lifetime: Duration::from_secs(10),
            ..PoolConfig::default()
        };
        let mut pool = Pool::new(config);
        let mut state = MockState::funded();
        let start = Instant::now();
        let mut clock = 0u64;
        for op in ops {
            clock += 1;
            let now = start + Duration::from_secs(clock);
            match op {
                Op::Add { k, nonce, level } => {
                    let before = pool.len();
                    match pool.add(&signed(k, nonce, level), &state, &ctx_at(now)) {
                        Ok(outcome) => {
                            prop_assert!(pool.contains(&outcome.hash));
                            let gone = outcome.discarded.len()
                                + usize::from(outcome.replaced.is_some());
                            prop_assert_eq!(pool.len() + gone, before + 1);
                        }
                        Err(_) => prop_assert!(pool.len() <= before),
                    }
                }
                Op::Remove { index } => {
                    let hashes: Vec<_> =
                        pool.pending().chain(pool.queued()).map(|tx| tx.hash).collect();
                    if !hashes.is_empty() {
                        let hash = hashes[index % hashes.len()];
                        let before = pool.len();
                        let outcome = pool.remove(&hash);
                        prop_assert!(outcome.is_some());
                        let outcome = outcome.unwrap();
                        prop_assert_eq!(outcome.tx.hash, hash);
                        prop_assert!(!pool.contains(&hash));
                        prop_assert_eq!(pool.len() + 1 + outcome.evicted.len(), before);
                        for evicted in &outcome.evicted {
                            prop_assert!(!pool.contains(evicted));
                        }
                    }
                }
                Op::Block { k, advance, poor } => {
                    let address = key(k).address();
                    let current = state.accounts[&address].nonce;
                    state.set_nonce(k, current + advance);
                    // A poor sender affords only the two cheapest price levels.
                    let balance = if poor {
                        U256::from(21_000 * 33 * GWEI / 10)
                    } else {
                        U256::from(10u128.pow(22))
                    };
                    state.set_balance(k, balance);
                    let before = pool.len();
                    let dropped = pool.on_new_block(&state, &ctx_at(now));
                    prop_assert_eq!(pool.len() + dropped.len(), before);
                    for (hash, _) in &dropped {
                        prop_assert!(!pool.contains(hash));
                    }
                }
                Op::Expire { secs } => {
                    let expired = pool.remove_expired(now + Duration::from_secs(secs));
                    for hash in &expired {
                        prop_assert!(!pool.contains(hash));
                    }
                }
            }
            pool.check_invariants();
            let (pending, queued) = pool.status();
            prop_assert!(pending <= 6 && queued <= 4);
            prop_assert_eq!(pending + queued, pool.len());
            // Pending runs start exactly at the state nonce of each sender.
            for k in 0..SENDERS {
                let address = key(k).address();
                let state_nonce = state.accounts[&address].nonce;
                let nonces: Vec<u64> = pool
                    .pending()
                    .filter(|tx| tx.sender == address)
                    .map(|tx| tx.nonce)
                    .collect();
                let expected: Vec<u64> = (state_nonce..).take(nonces.len()).collect();
                prop_assert_eq!(&nonces, &expected);
                let next = state_nonce + nonces.len() as u64;
                prop_assert!(
                    pool.queued().filter(|tx| tx.sender == address).all(|tx| tx.nonce > next)
                );
                prop_assert_eq!(pool.pending_nonce(address, state_nonce), next);
            }
            // best() yields every pending transaction once (base fee is met by all).
            let mut best: Vec<_> = pool.best(BASE_FEE).map(|tx| tx.hash).collect();
            let mut all: Vec<_> = pool.pending().map(|tx| tx.hash).collect();
            best.sort();
            all.sort();
            prop_assert_eq!(best, all);
        }
    }
}
