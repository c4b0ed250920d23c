//! Sub-pools over time: promotion, demotion, block re-evaluation, removal and expiry.

use std::time::{Duration, Instant};

use alloy::primitives::U256;

use crate::{Pool, PoolError, test_utils::*};

fn nonces<'a>(txs: impl Iterator<Item = &'a std::sync::Arc<crate::PooledTx>>) -> Vec<u64> {
    txs.map(|tx| tx.nonce).collect()
}

#[test]
fn gap_queues_and_filling_it_promotes() {
    let mut pool = Pool::new(config());
    let state = MockState::funded();
    let ctx = ctx();
    assert!(
        !pool
            .add(&transfer(0, 2, 2 * GWEI, GWEI), &state, &ctx)
            .unwrap()
            .pending
    );
    assert!(
        !pool
            .add(&transfer(0, 1, 2 * GWEI, GWEI), &state, &ctx)
            .unwrap()
            .pending
    );
    assert!(
        !pool
            .add(&transfer(0, 4, 2 * GWEI, GWEI), &state, &ctx)
            .unwrap()
            .pending
    );
    assert_eq!(pool.status(), (0, 3));
    assert_eq!(pool.pending_nonce(key(0).address(), 0), 0);

    assert!(
        pool.add(&transfer(0, 0, 2 * GWEI, GWEI), &state, &ctx)
            .unwrap()
            .pending
    );
    assert_eq!(pool.status(), (3, 1));
    assert_eq!(nonces(pool.pending()), [0, 1, 2]);
    assert_eq!(nonces(pool.queued()), [4]);
    assert_eq!(pool.pending_nonce(key(0).address(), 0), 3);
    assert_eq!(pool.pending_nonce(key(1).address(), 7), 7);
    pool.check_invariants();
}

#[test]
fn new_block_drops_mined_and_promotes() {
    let mut pool = Pool::new(config());
    let mut state = MockState::funded();
    let ctx = ctx();
    let mined = pool
        .add(&transfer(0, 0, 2 * GWEI, GWEI), &state, &ctx)
        .unwrap()
        .hash;
    let waiting = pool
        .add(&transfer(0, 2, 2 * GWEI, GWEI), &state, &ctx)
        .unwrap()
        .hash;
    assert_eq!(pool.status(), (1, 1));

    // Nonces 0 and 1 (the latter sent elsewhere) are mined: 2 becomes executable.
    state.set_nonce(0, 2);
    let dropped = pool.on_new_block(&state, &ctx);
    assert_eq!(
        dropped,
        [(mined, PoolError::NonceTooLow { next: 2, nonce: 0 })]
    );
    assert_eq!(pool.status(), (1, 0));
    assert_eq!(pool.pending().next().unwrap().hash, waiting);
    pool.check_invariants();

    state.set_nonce(0, 3);
    assert_eq!(pool.on_new_block(&state, &ctx).len(), 1);
    assert!(pool.is_empty());
    assert_eq!(pool.status(), (0, 0));
}

#[test]
fn balance_drop_after_block_removes_and_demotes() {
    let mut pool = Pool::new(config());
    let mut state = MockState::funded();
    let ctx = ctx();
    let cheap = transfer(0, 0, 2 * GWEI, GWEI);
    let expensive = transfer(0, 1, 20 * GWEI, GWEI);
    let after = transfer(0, 2, 2 * GWEI, GWEI);
    for raw in [&cheap, &expensive, &after] {
        pool.add(raw, &state, &ctx).unwrap();
    }
    assert_eq!(pool.status(), (3, 0));

    // Enough for the cheap ones, not for nonce 1.
    let balance = U256::from(21_000 * 10 * GWEI);
    state.set_balance(0, balance);
    let dropped = pool.on_new_block(&state, &ctx);
    assert_eq!(dropped.len(), 1);
    let cost = U256::from(21_000 * 20 * GWEI + 1);
    assert_eq!(
        dropped[0].1,
        PoolError::InsufficientFunds {
            balance,
            cost,
            overshot: cost - balance
        }
    );
    assert_eq!(nonces(pool.pending()), [0]);
    assert_eq!(nonces(pool.queued()), [2]);
    pool.check_invariants();
}

#[test]
fn l1_fee_rise_is_rechecked_after_block() {
    let mut pool = Pool::new(config());
    let mut state = MockState::funded();
    let cost = U256::from(21_000 * 2 * GWEI + 1);
    state.set_balance(0, cost);
    pool.add(&transfer(0, 0, 2 * GWEI, GWEI), &state, &ctx())
        .unwrap();
    assert!(pool.on_new_block(&state, &ctx()).is_empty());
    let one = |_: &[u8]| U256::from(1);
    let ctx = crate::BlockContext {
        l1_fee: &one,
        ..ctx()
    };
    let dropped = pool.on_new_block(&state, &ctx);
    assert!(matches!(
        dropped[..],
        [(_, PoolError::InsufficientFunds { .. })]
    ));
    assert!(pool.is_empty());
}

#[test]
fn gas_limit_drop_after_block() {
    let mut pool = Pool::new(config());
    let state = MockState::funded();
    pool.add(&transfer(0, 0, 2 * GWEI, GWEI), &state, &ctx())
        .unwrap();
    let ctx = crate::BlockContext {
        block_gas_limit: 20_000,
        ..ctx()
    };
    let dropped = pool.on_new_block(&state, &ctx);
    assert_eq!(
        dropped[0].1,
        PoolError::GasLimit {
            gas: 21_000,
            limit: 20_000
        }
    );
}

#[test]
fn remove_demotes_later_nonces() {
    let mut pool = Pool::new(config());
    let state = MockState::funded();
    let ctx = ctx();
    let hashes: Vec<_> = (0..3)
        .map(|n| {
            pool.add(&transfer(0, n, 2 * GWEI, GWEI), &state, &ctx)
                .unwrap()
                .hash
        })
        .collect();
    let removed = pool.remove(&hashes[1]).unwrap();
    assert_eq!(removed.tx.nonce, 1);
    assert!(removed.evicted.is_empty());
    assert!(pool.get(&hashes[1]).is_none());
    assert!(pool.remove(&hashes[1]).is_none());
    assert_eq!(nonces(pool.pending()), [0]);
    assert_eq!(nonces(pool.queued()), [2]);
    pool.check_invariants();
    // Re-adding the gap promotes again.
    assert!(
        pool.add(&transfer(0, 1, 2 * GWEI, GWEI), &state, &ctx)
            .unwrap()
            .pending
    );
    assert_eq!(pool.status(), (3, 0));
}

#[test]
fn stale_transactions_found_at_admission_are_discarded() {
    let mut pool = Pool::new(config());
    let mut state = MockState::funded();
    let first = pool
        .add(&transfer(0, 0, 2 * GWEI, GWEI), &state, &ctx())
        .unwrap()
        .hash;
    state.set_nonce(0, 1);
    let outcome = pool
        .add(&transfer(0, 1, 2 * GWEI, GWEI), &state, &ctx())
        .unwrap();
    assert!(outcome.pending);
    assert_eq!(outcome.discarded, [first]);
    assert_eq!(pool.status(), (1, 0));
    pool.check_invariants();
}

#[test]
fn queued_transactions_expire() {
    let mut pool = Pool::new(config());
    let state = MockState::funded();
    let t0 = Instant::now();
    let pending = pool
        .add(&transfer(0, 0, 2 * GWEI, GWEI), &state, &ctx_at(t0))
        .unwrap()
        .hash;
    let old = pool
        .add(&transfer(0, 5, 2 * GWEI, GWEI), &state, &ctx_at(t0))
        .unwrap()
        .hash;
    let t1 = t0 + Duration::from_secs(3600);
    let young = pool
        .add(&transfer(1, 3, 2 * GWEI, GWEI), &state, &ctx_at(t1))
        .unwrap()
        .hash;

    let lifetime = config().queued_lifetime;
    assert!(pool.remove_expired(t0 + lifetime).is_empty());
    assert_eq!(
        pool.remove_expired(t0 + lifetime + Duration::from_secs(1)),
        [old]
    );
    assert!(pool.contains(&pending) && pool.contains(&young));
    assert_eq!(
        pool.remove_expired(t1 + lifetime + Duration::from_secs(1)),
        [young]
    );
    // Pending transactions never expire.
    assert!(pool.remove_expired(t1 + 100 * lifetime).is_empty());
    assert_eq!(pool.status(), (1, 0));
    pool.check_invariants();
}

#[test]
fn listings_group_by_sender_in_nonce_order() {
    let mut pool = Pool::new(config());
    let state = MockState::funded();
    let ctx = ctx();
    for (k, n) in [(1, 1), (0, 1), (1, 0), (0, 0), (0, 3), (1, 5)] {
        pool.add(&transfer(k, n, 2 * GWEI, GWEI), &state, &ctx)
            .unwrap();
    }
    let pending: Vec<_> = pool.pending().map(|tx| (tx.sender, tx.nonce)).collect();
    let (a, b) = (key(0).address(), key(1).address());
    let mut expected = vec![(a, 0), (a, 1), (b, 0), (b, 1)];
    expected.sort_by_key(|(sender, nonce)| (*sender, *nonce));
    assert_eq!(pending, expected);
    let queued: Vec<_> = pool.queued().map(|tx| (tx.sender, tx.nonce)).collect();
    let mut expected = vec![(a, 3), (b, 5)];
    expected.sort();
    assert_eq!(queued, expected);
    assert_eq!(pool.len(), 6);
}
