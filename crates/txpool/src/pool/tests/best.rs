//! Block order: effective tip across senders, nonce order within one, invalid senders skipped.

use alloy::primitives::{Address, B256};

use crate::{Pool, test_utils::*};

fn order(best: impl Iterator<Item = std::sync::Arc<crate::PooledTx>>) -> Vec<(Address, u64)> {
    best.map(|tx| (tx.sender, tx.nonce)).collect()
}

#[test]
fn highest_tip_first_nonce_order_within_sender() {
    let mut pool = Pool::new(config());
    let state = MockState::funded();
    let ctx = ctx();
    // Sender 0's cheap nonce 0 gates its expensive nonce 1.
    for (k, n, tip) in [(0, 0, 1), (0, 1, 5), (1, 0, 3), (2, 0, 4), (2, 1, 2)] {
        pool.add(&transfer(k, n, 10 * GWEI, tip * GWEI), &state, &ctx)
            .unwrap();
    }
    let [a, b, c] = [0, 1, 2].map(|k| key(k).address());
    assert_eq!(
        order(pool.best(BASE_FEE)),
        [(c, 0), (b, 0), (c, 1), (a, 0), (a, 1)]
    );
}

#[test]
fn effective_tip_is_capped_by_fee_cap_minus_base_fee() {
    let mut pool = Pool::new(config());
    let state = MockState::funded();
    let ctx = ctx();
    // Tip 5 gwei but only 1 gwei of headroom over the base fee: effective 1 gwei.
    pool.add(&transfer(0, 0, 2 * GWEI, 5 * GWEI / 2 - GWEI), &state, &ctx)
        .unwrap();
    // Legacy at 3 gwei: effective tip 2 gwei.
    pool.add(
        &sign(&key(1), legacy(0, 3 * GWEI, Some(CHAIN_ID))),
        &state,
        &ctx,
    )
    .unwrap();
    // Tip 1.5 gwei with plenty of headroom.
    pool.add(&transfer(2, 0, 10 * GWEI, 3 * GWEI / 2), &state, &ctx)
        .unwrap();
    let [a, b, c] = [0, 1, 2].map(|k| key(k).address());
    assert_eq!(order(pool.best(BASE_FEE)), [(b, 0), (c, 0), (a, 0)]);
    for tx in pool.pending() {
        assert!(tx.effective_tip(BASE_FEE).unwrap() <= tx.max_priority_fee_per_gas());
    }
}

#[test]
fn fee_cap_below_base_fee_is_not_yielded_nor_its_successors() {
    let mut pool = Pool::new(config());
    let state = MockState::funded();
    let ctx = ctx();
    pool.add(&transfer(0, 0, 2 * GWEI, GWEI), &state, &ctx)
        .unwrap();
    pool.add(&transfer(0, 1, 50 * GWEI, GWEI), &state, &ctx)
        .unwrap();
    pool.add(&transfer(1, 0, 5 * GWEI, GWEI), &state, &ctx)
        .unwrap();
    let b = key(1).address();
    // At a 3 gwei base fee sender 0's first transaction cannot pay, so neither can its second.
    assert_eq!(order(pool.best(3_000_000_000)), [(b, 0)]);
    assert_eq!(pool.best(BASE_FEE).count(), 3);
}

#[test]
fn mark_invalid_skips_the_rest_of_a_sender() {
    let mut pool = Pool::new(config());
    let state = MockState::funded();
    let ctx = ctx();
    for (k, n, tip) in [(0, 0, 5), (0, 1, 5), (0, 2, 5), (1, 0, 3), (1, 1, 3)] {
        pool.add(&transfer(k, n, 10 * GWEI, tip * GWEI), &state, &ctx)
            .unwrap();
    }
    let [a, b] = [0, 1].map(|k| key(k).address());
    let mut best = pool.best(BASE_FEE);
    assert_eq!(best.next().map(|tx| (tx.sender, tx.nonce)), Some((a, 0)));
    best.mark_invalid(a);
    assert_eq!(order(best), [(b, 0), (b, 1)]);
    // The pool itself is untouched.
    assert_eq!(pool.status(), (5, 0));
}

#[test]
fn equal_tips_go_oldest_first_and_the_snapshot_is_stable() {
    let mut pool = Pool::new(config());
    let state = MockState::funded();
    let ctx = ctx();
    let mut hashes: Vec<B256> = Vec::new();
    for k in [3, 1, 4, 0] {
        hashes.push(
            pool.add(&transfer(k, 0, 10 * GWEI, GWEI), &state, &ctx)
                .unwrap()
                .hash,
        );
    }
    let best = pool.best(BASE_FEE);
    pool.add(&transfer(2, 0, 10 * GWEI, 9 * GWEI), &state, &ctx)
        .unwrap();
    let yielded: Vec<B256> = best.map(|tx| tx.hash).collect();
    assert_eq!(yielded, hashes);
    assert_eq!(pool.best(BASE_FEE).next().unwrap().sender, key(2).address());
}

#[test]
fn queued_transactions_are_not_yielded() {
    let mut pool = Pool::new(config());
    let state = MockState::funded();
    pool.add(&transfer(0, 1, 10 * GWEI, GWEI), &state, &ctx())
        .unwrap();
    assert_eq!(pool.best(BASE_FEE).count(), 0);
}

#[test]
fn best_from_resumes_each_sender_after_what_the_block_holds() {
    let mut pool = Pool::new(config());
    let state = MockState::funded();
    let ctx = ctx();
    for (k, n, tip) in [
        (0, 0, 1),
        (0, 1, 1),
        (0, 2, 1),
        (1, 0, 3),
        (1, 1, 3),
        (2, 0, 2),
    ] {
        pool.add(&transfer(k, n, 10 * GWEI, tip * GWEI), &state, &ctx)
            .unwrap();
    }
    let [a, b, c] = [0, 1, 2].map(|k| key(k).address());
    // The open block holds a's nonce 0 and b's nonces 0 and 1; c is blocked in it.
    let start = std::collections::HashMap::from([(a, 1), (b, 2), (c, u64::MAX)]);
    assert_eq!(order(pool.best_from(BASE_FEE, &start)), [(a, 1), (a, 2)]);
    // Unlisted senders start at their first pending nonce, as in `best`.
    let start = std::collections::HashMap::from([(a, 2)]);
    assert_eq!(
        order(pool.best_from(BASE_FEE, &start)),
        [(b, 0), (b, 1), (c, 0), (a, 2)]
    );
    assert_eq!(
        order(pool.best_from(BASE_FEE, &Default::default())),
        order(pool.best(BASE_FEE))
    );
}
