//! Per-sender and global limits, and eviction of the cheapest transaction.

use crate::{Pool, PoolConfig, PoolError, test_utils::*};

fn small(max_pending: usize, max_queued: usize, max_per_sender: usize) -> Pool {
    Pool::new(PoolConfig {
        max_pending,
        max_queued,
        max_per_sender,
        ..config()
    })
}

#[test]
fn per_sender_limit() {
    let mut pool = small(100, 100, 3);
    let state = MockState::funded();
    for n in 0..3 {
        pool.add(&transfer(0, n, 2 * GWEI, GWEI), &state, &ctx())
            .unwrap();
    }
    let err = pool
        .add(&transfer(0, 3, 2 * GWEI, GWEI), &state, &ctx())
        .unwrap_err();
    assert_eq!(
        err,
        PoolError::AccountLimitExceeded {
            sender: key(0).address(),
            limit: 3
        }
    );
    assert!(err.to_string().starts_with("account limit exceeded"));
    // Replacements do not count against the limit; other senders are unaffected.
    assert!(
        pool.add(&transfer(0, 2, 4 * GWEI, 2 * GWEI), &state, &ctx())
            .is_ok()
    );
    assert!(
        pool.add(&transfer(1, 0, 2 * GWEI, GWEI), &state, &ctx())
            .is_ok()
    );
}

#[test]
fn full_pending_evicts_the_cheapest_other_sender() {
    let mut pool = small(3, 10, 10);
    let state = MockState::funded();
    let ctx = ctx();
    let cheap = pool
        .add(&transfer(0, 0, 10 * GWEI, GWEI), &state, &ctx)
        .unwrap()
        .hash;
    pool.add(&transfer(1, 0, 10 * GWEI, 3 * GWEI), &state, &ctx)
        .unwrap();
    pool.add(&transfer(2, 0, 10 * GWEI, 4 * GWEI), &state, &ctx)
        .unwrap();

    // Paying no more than the cheapest: refused.
    let err = pool
        .add(&transfer(3, 0, 10 * GWEI, GWEI), &state, &ctx)
        .unwrap_err();
    assert_eq!(err, PoolError::PoolFull);
    assert_eq!(err.to_string(), "txpool is full");

    let outcome = pool
        .add(&transfer(3, 0, 10 * GWEI, 2 * GWEI), &state, &ctx)
        .unwrap();
    assert_eq!(outcome.discarded, [cheap]);
    assert!(outcome.pending);
    assert!(!pool.contains(&cheap));
    assert_eq!(pool.status(), (3, 0));
    pool.check_invariants();
}

#[test]
fn eviction_takes_a_senders_last_nonce_not_the_gating_one() {
    let mut pool = small(3, 10, 10);
    let state = MockState::funded();
    let ctx = ctx();
    pool.add(&transfer(0, 0, 10 * GWEI, GWEI), &state, &ctx)
        .unwrap();
    let tail = pool
        .add(&transfer(0, 1, 10 * GWEI, 2 * GWEI), &state, &ctx)
        .unwrap()
        .hash;
    pool.add(&transfer(1, 0, 10 * GWEI, 5 * GWEI), &state, &ctx)
        .unwrap();
    let outcome = pool
        .add(&transfer(2, 0, 10 * GWEI, 3 * GWEI), &state, &ctx)
        .unwrap();
    assert_eq!(outcome.discarded, [tail]);
    assert_eq!(pool.pending_nonce(key(0).address(), 0), 1);
    pool.check_invariants();
}

#[test]
fn a_sender_never_evicts_itself_to_enter() {
    let mut pool = small(2, 10, 10);
    let state = MockState::funded();
    let ctx = ctx();
    pool.add(&transfer(0, 0, 10 * GWEI, GWEI), &state, &ctx)
        .unwrap();
    pool.add(&transfer(0, 1, 10 * GWEI, GWEI), &state, &ctx)
        .unwrap();
    let err = pool
        .add(&transfer(0, 2, 10 * GWEI, 9 * GWEI), &state, &ctx)
        .unwrap_err();
    assert_eq!(err, PoolError::PoolFull);
}

#[test]
fn full_queue_evicts_the_cheapest_queued() {
    let mut pool = small(10, 2, 10);
    let state = MockState::funded();
    let ctx = ctx();
    pool.add(&transfer(0, 5, 10 * GWEI, 3 * GWEI), &state, &ctx)
        .unwrap();
    let cheap = pool
        .add(&transfer(1, 5, 10 * GWEI, GWEI), &state, &ctx)
        .unwrap()
        .hash;
    assert_eq!(pool.status(), (0, 2));
    let err = pool
        .add(&transfer(2, 5, 10 * GWEI, GWEI), &state, &ctx)
        .unwrap_err();
    assert_eq!(err, PoolError::PoolFull);
    let outcome = pool
        .add(&transfer(2, 5, 10 * GWEI, 2 * GWEI), &state, &ctx)
        .unwrap();
    assert_eq!(outcome.discarded, [cheap]);
    // A pending transaction does not need queued room.
    assert!(
        pool.add(&transfer(3, 0, 10 * GWEI, GWEI), &state, &ctx)
            .unwrap()
            .pending
    );
    assert_eq!(pool.status(), (1, 2));
    pool.check_invariants();
}

#[test]
fn promotion_past_the_pending_limit_evicts_the_cheapest() {
    let mut pool = small(3, 10, 10);
    let state = MockState::funded();
    let ctx = ctx();
    let cheap = pool
        .add(&transfer(1, 0, 10 * GWEI, GWEI), &state, &ctx)
        .unwrap()
        .hash;
    pool.add(&transfer(0, 1, 10 * GWEI, 5 * GWEI), &state, &ctx)
        .unwrap();
    pool.add(&transfer(0, 2, 10 * GWEI, 5 * GWEI), &state, &ctx)
        .unwrap();
    assert_eq!(pool.status(), (1, 2));
    // Nonce 0 fills the gap: 3 promoted transactions plus the other sender's make 4 > 3.
    let outcome = pool
        .add(&transfer(0, 0, 10 * GWEI, 5 * GWEI), &state, &ctx)
        .unwrap();
    assert_eq!(outcome.discarded, [cheap]);
    assert_eq!(pool.status(), (3, 0));
    pool.check_invariants();
}

#[test]
fn demotion_past_the_queued_limit_evicts_after_block() {
    let mut pool = small(10, 1, 10);
    let mut state = MockState::funded();
    let ctx = ctx();
    let first = pool
        .add(&transfer(0, 0, 20 * GWEI, GWEI), &state, &ctx)
        .unwrap()
        .hash;
    pool.add(&transfer(0, 1, 10 * GWEI, GWEI), &state, &ctx)
        .unwrap();
    let last = pool
        .add(&transfer(0, 2, 10 * GWEI, GWEI), &state, &ctx)
        .unwrap()
        .hash;
    // The balance no longer covers nonce 0: 1 and 2 are demoted, one too many for the queue.
    state.set_balance(0, alloy::primitives::U256::from(21_000 * 15 * GWEI));
    let dropped = pool.on_new_block(&state, &ctx);
    assert_eq!(dropped.len(), 2);
    assert_eq!(dropped[0].0, first);
    assert!(matches!(dropped[0].1, PoolError::InsufficientFunds { .. }));
    assert_eq!(dropped[1], (last, PoolError::PoolFull));
    assert_eq!(pool.status(), (0, 1));
    pool.check_invariants();
}

#[test]
fn remove_that_demotes_past_the_queued_limit_evicts_the_cheapest() {
    let mut pool = small(10, 2, 10);
    let state = MockState::funded();
    let ctx = ctx();
    let gating = pool
        .add(&transfer(0, 0, 10 * GWEI, 3 * GWEI), &state, &ctx)
        .unwrap()
        .hash;
    pool.add(&transfer(0, 1, 10 * GWEI, 3 * GWEI), &state, &ctx)
        .unwrap();
    let demoted_tail = pool
        .add(&transfer(0, 2, 10 * GWEI, 3 * GWEI), &state, &ctx)
        .unwrap()
        .hash;
    let cheap = pool
        .add(&transfer(1, 5, 10 * GWEI, GWEI), &state, &ctx)
        .unwrap()
        .hash;
    pool.add(&transfer(2, 5, 10 * GWEI, 4 * GWEI), &state, &ctx)
        .unwrap();
    assert_eq!(pool.status(), (3, 2));

    // Nonces 1 and 2 are demoted behind the gap: four queued for two slots.
    let outcome = pool.remove(&gating).unwrap();
    assert_eq!(outcome.tx.hash, gating);
    assert_eq!(outcome.evicted, [cheap, demoted_tail]);
    assert!(!pool.contains(&cheap) && !pool.contains(&demoted_tail));
    assert_eq!(pool.status(), (0, 2));
    pool.check_invariants();
}
