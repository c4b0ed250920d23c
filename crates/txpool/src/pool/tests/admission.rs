//! Every admission error, in the documented order, with geth's wording.

use alloy::{
    consensus::{SignableTransaction, TxEip4844},
    eips::eip2718::Encodable2718,
    primitives::{Address, B256, Bytes, Sealed, Signature, U256},
    signers::SignerSync,
};
use op_alloy::consensus::{OpTxEnvelope, TxDeposit};

use crate::{Pool, PoolConfig, PoolError, test_utils::*};

fn pool() -> Pool {
    Pool::new(config())
}

fn add(pool: &mut Pool, raw: &[u8]) -> Result<crate::AddOutcome, PoolError> {
    pool.add(raw, &MockState::funded(), &ctx())
}

#[test]
fn accepts_a_valid_transfer_as_pending() {
    let mut pool = pool();
    let raw = transfer(0, 0, 2 * GWEI, GWEI);
    let outcome = add(&mut pool, &raw).unwrap();
    assert!(outcome.pending);
    assert_eq!(outcome.replaced, None);
    let tx = pool.get(&outcome.hash).unwrap();
    assert_eq!(tx.sender, key(0).address());
    assert_eq!(tx.encoded.as_ref(), raw.as_slice());
    assert_eq!(tx.cost, U256::from(21_000 * 2 * GWEI + 1));
    assert_eq!(pool.status(), (1, 0));
    pool.check_invariants();
}

#[test]
fn oversized_data() {
    let mut tx = eip1559(0, 2 * GWEI, GWEI);
    tx.input = Bytes::from(vec![1u8; 128 * 1024]);
    tx.gas_limit = 10_000_000;
    let raw = sign(&key(0), tx);
    let err = add(&mut pool(), &raw).unwrap_err();
    assert_eq!(
        err,
        PoolError::OversizedData {
            size: raw.len(),
            limit: 128 * 1024
        }
    );
    assert!(err.to_string().starts_with("oversized data"));
}

#[test]
fn garbage_is_a_decode_error() {
    for raw in [
        &[][..],
        &[0xc0][..],
        &[0xf8, 0x01, 0x02][..],
        &[0x02, 0xc0][..],
        &[0x80][..],
    ] {
        let err = add(&mut pool(), raw).unwrap_err();
        assert!(matches!(err, PoolError::Decode(_)), "{raw:?}: {err}");
        assert!(
            err.to_string()
                .starts_with("failed to decode signed transaction")
        );
    }
    // A valid transaction followed by trailing bytes is refused too.
    let mut raw = transfer(0, 0, 2 * GWEI, GWEI);
    raw.push(0);
    assert!(matches!(add(&mut pool(), &raw), Err(PoolError::Decode(_))));
}

#[test]
fn blob_transactions_are_not_supported() {
    let tx = TxEip4844 {
        chain_id: CHAIN_ID,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 2 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to: TO,
        value: U256::ZERO,
        access_list: Default::default(),
        blob_versioned_hashes: vec![B256::repeat_byte(1)],
        max_fee_per_blob_gas: 1,
        input: Bytes::new(),
    };
    let signature = key(0).sign_hash_sync(&tx.signature_hash()).unwrap();
    let raw = tx.into_signed(signature).encoded_2718();
    assert_eq!(raw[0], 3);
    let err = add(&mut pool(), &raw).unwrap_err();
    assert_eq!(err, PoolError::BlobTxNotSupported);
    assert_eq!(
        err.to_string(),
        "transaction type not supported: blob transactions are not supported on this chain"
    );
}

#[test]
fn deposits_cannot_be_submitted() {
    let deposit = TxDeposit {
        source_hash: B256::repeat_byte(7),
        from: key(0).address(),
        to: TO.into(),
        gas_limit: 21_000,
        ..Default::default()
    };
    let raw = OpTxEnvelope::Deposit(Sealed::new(deposit)).encoded_2718();
    let err = add(&mut pool(), &raw).unwrap_err();
    assert_eq!(err, PoolError::DepositTxNotAllowed);
    assert_eq!(
        err.to_string(),
        "transaction type not supported: deposit transactions cannot be submitted"
    );
}

#[test]
fn unknown_types_are_not_supported() {
    let mut raw = transfer(0, 0, 2 * GWEI, GWEI);
    for ty in [0x00, 0x05, 0x7d] {
        raw[0] = ty;
        let err = add(&mut pool(), &raw).unwrap_err();
        assert_eq!(err, PoolError::TxTypeNotSupported(ty));
        assert!(
            err.to_string()
                .starts_with("transaction type not supported")
        );
    }
}

#[test]
fn legacy_needs_eip155_and_the_right_chain() {
    let mut pool = pool();
    let err = add(&mut pool, &sign(&key(0), legacy(0, 2 * GWEI, None))).unwrap_err();
    assert_eq!(err, PoolError::Unprotected);
    assert_eq!(
        err.to_string(),
        "only replay-protected (EIP-155) transactions allowed over RPC"
    );

    let err = add(&mut pool, &sign(&key(0), legacy(0, 2 * GWEI, Some(1)))).unwrap_err();
    assert_eq!(
        err,
        PoolError::InvalidChainId {
            have: 1,
            want: CHAIN_ID
        }
    );
    assert!(err.to_string().starts_with("invalid chain id"));

    assert!(
        add(
            &mut pool,
            &sign(&key(0), legacy(0, 2 * GWEI, Some(CHAIN_ID)))
        )
        .is_ok()
    );
}

#[test]
fn typed_transaction_for_another_chain() {
    let mut tx = eip1559(0, 2 * GWEI, GWEI);
    tx.chain_id = 10;
    let err = add(&mut pool(), &sign(&key(0), tx)).unwrap_err();
    assert_eq!(
        err,
        PoolError::InvalidChainId {
            have: 10,
            want: CHAIN_ID
        }
    );
}

/// secp256k1's group order.
const SECP256K1N: U256 = U256::from_be_slice(&[
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);

#[test]
fn invalid_signatures_are_invalid_sender() {
    let tx = eip1559(0, 2 * GWEI, GWEI);
    let good = key(0).sign_hash_sync(&tx.signature_hash()).unwrap();
    // EIP-2: the high-s twin of a valid signature recovers the same key but is refused.
    let high_s = Signature::new(good.r(), SECP256K1N - good.s(), !good.v());
    let zero = Signature::new(U256::ZERO, U256::ZERO, false);
    for signature in [high_s, zero] {
        let raw = OpTxEnvelope::from(tx.clone().into_signed(signature)).encoded_2718();
        let err = add(&mut pool(), &raw).unwrap_err();
        assert_eq!(err, PoolError::InvalidSender);
        assert_eq!(err.to_string(), "invalid sender");
    }
}

#[test]
fn tip_above_fee_cap() {
    let err = add(&mut pool(), &transfer(0, 0, 2 * GWEI, 3 * GWEI)).unwrap_err();
    assert_eq!(
        err,
        PoolError::TipAboveFeeCap {
            sender: key(0).address(),
            tip: 3 * GWEI,
            fee_cap: 2 * GWEI
        }
    );
    assert!(
        err.to_string()
            .starts_with("max priority fee per gas higher than max fee per gas")
    );
}

#[test]
fn gas_limit_above_block_gas_limit() {
    let mut tx = eip1559(0, 2 * GWEI, GWEI);
    tx.gas_limit = BLOCK_GAS + 1;
    let err = add(&mut pool(), &sign(&key(0), tx)).unwrap_err();
    assert_eq!(
        err,
        PoolError::GasLimit {
            gas: BLOCK_GAS + 1,
            limit: BLOCK_GAS
        }
    );
    assert!(err.to_string().starts_with("exceeds block gas limit"));
}

#[test]
fn fee_cap_below_base_fee() {
    let fee_cap = u128::from(BASE_FEE) - 1;
    let err = add(&mut pool(), &transfer(0, 0, fee_cap, 0)).unwrap_err();
    let sender = key(0).address();
    assert_eq!(
        err,
        PoolError::FeeCapTooLow {
            sender,
            fee_cap,
            base_fee: BASE_FEE
        }
    );
    assert!(
        err.to_string()
            .starts_with("max fee per gas less than block base fee")
    );
    // Exactly the base fee is enough.
    assert!(add(&mut pool(), &transfer(0, 0, u128::from(BASE_FEE), 0)).is_ok());
}

#[test]
fn fee_cap_below_configured_minimum() {
    let mut pool = Pool::new(PoolConfig {
        min_base_fee: 5_000_000_000,
        ..config()
    });
    let err = pool
        .add(
            &transfer(0, 0, 4 * GWEI, GWEI),
            &MockState::funded(),
            &ctx(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        PoolError::FeeCapTooLow {
            sender: key(0).address(),
            fee_cap: 4 * GWEI,
            base_fee: 5_000_000_000
        }
    );
    assert!(
        pool.add(
            &transfer(0, 0, 5 * GWEI, GWEI),
            &MockState::funded(),
            &ctx()
        )
        .is_ok()
    );
}

#[test]
fn nonce_too_low() {
    let mut state = MockState::funded();
    state.set_nonce(0, 5);
    let err = pool()
        .add(&transfer(0, 4, 2 * GWEI, GWEI), &state, &ctx())
        .unwrap_err();
    assert_eq!(err, PoolError::NonceTooLow { next: 5, nonce: 4 });
    assert!(err.to_string().starts_with("nonce too low"));
}

#[test]
fn nonce_max_is_refused() {
    let err = add(&mut pool(), &transfer(0, u64::MAX, 2 * GWEI, GWEI)).unwrap_err();
    assert_eq!(
        err,
        PoolError::NonceMax {
            sender: key(0).address(),
            nonce: u64::MAX
        }
    );
}

#[test]
fn already_known() {
    let mut pool = pool();
    let raw = transfer(0, 0, 2 * GWEI, GWEI);
    add(&mut pool, &raw).unwrap();
    let err = add(&mut pool, &raw).unwrap_err();
    assert_eq!(err, PoolError::AlreadyKnown);
    assert_eq!(err.to_string(), "already known");
    // A queued transaction too.
    let queued = transfer(0, 5, 2 * GWEI, GWEI);
    add(&mut pool, &queued).unwrap();
    assert_eq!(
        add(&mut pool, &queued).unwrap_err(),
        PoolError::AlreadyKnown
    );
}

#[test]
fn replacement_needs_ten_percent_on_both_fields() {
    let (fee, tip) = (100 * GWEI, 10 * GWEI);
    let mut pool = pool();
    let original = add(&mut pool, &transfer(0, 0, fee, tip)).unwrap().hash;

    for (new_fee, new_tip) in [
        (fee * 109 / 100, tip * 110 / 100),
        (fee * 110 / 100, tip * 109 / 100),
    ] {
        let err = add(&mut pool, &transfer(0, 0, new_fee, new_tip)).unwrap_err();
        assert_eq!(err, PoolError::ReplaceUnderpriced);
        assert_eq!(err.to_string(), "replacement transaction underpriced");
    }
    assert!(pool.contains(&original));

    let outcome = add(&mut pool, &transfer(0, 0, fee * 110 / 100, tip * 110 / 100)).unwrap();
    assert_eq!(outcome.replaced, Some(original));
    assert!(outcome.pending);
    assert!(!pool.contains(&original));
    assert_eq!(
        pool.get(&outcome.hash).unwrap().max_fee_per_gas(),
        fee * 110 / 100
    );
    assert_eq!(pool.status(), (1, 0));
    pool.check_invariants();
}

#[test]
fn replacement_of_a_queued_legacy_transaction() {
    let mut pool = pool();
    let original = add(
        &mut pool,
        &sign(&key(0), legacy(3, 10 * GWEI, Some(CHAIN_ID))),
    )
    .unwrap();
    assert!(!original.pending);
    let err = add(
        &mut pool,
        &sign(&key(0), legacy(3, 10 * GWEI + 1, Some(CHAIN_ID))),
    );
    assert_eq!(err.unwrap_err(), PoolError::ReplaceUnderpriced);
    let outcome = add(
        &mut pool,
        &sign(&key(0), legacy(3, 11 * GWEI, Some(CHAIN_ID))),
    )
    .unwrap();
    assert_eq!(outcome.replaced, Some(original.hash));
    assert!(!outcome.pending);
    assert_eq!(pool.status(), (0, 1));
    pool.check_invariants();
}

#[test]
fn replacement_with_zero_tip_must_still_raise_it() {
    let mut pool = pool();
    add(&mut pool, &transfer(0, 0, 10 * GWEI, 0)).unwrap();
    // 0 * 1.1 = 0, but an unchanged tip is no bump.
    let err = add(&mut pool, &transfer(0, 0, 20 * GWEI, 0)).unwrap_err();
    assert_eq!(err, PoolError::ReplaceUnderpriced);
    assert!(add(&mut pool, &transfer(0, 0, 20 * GWEI, 1)).is_ok());
}

#[test]
fn insufficient_funds() {
    let mut state = MockState::funded();
    let cost = U256::from(21_000 * 2 * GWEI + 1);
    state.set_balance(0, cost - U256::from(1));
    let err = pool()
        .add(&transfer(0, 0, 2 * GWEI, GWEI), &state, &ctx())
        .unwrap_err();
    assert_eq!(
        err,
        PoolError::InsufficientFunds {
            balance: cost - U256::from(1),
            cost,
            overshot: U256::from(1)
        }
    );
    assert!(
        err.to_string()
            .starts_with("insufficient funds for gas * price + value")
    );
    state.set_balance(0, cost);
    assert!(
        pool()
            .add(&transfer(0, 0, 2 * GWEI, GWEI), &state, &ctx())
            .is_ok()
    );
}

#[test]
fn l1_data_fee_counts_in_the_balance_check() {
    let raw = transfer(0, 0, 2 * GWEI, GWEI);
    let cost = U256::from(21_000 * 2 * GWEI + 1);
    let l1_fee = U256::from(1_000_000);
    let mut state = MockState::funded();
    state.set_balance(0, cost + l1_fee - U256::from(1));
    let expected_len = raw.len();
    let fee = move |bytes: &[u8]| {
        assert_eq!(
            bytes.len(),
            expected_len,
            "the L1 fee is computed on the raw bytes"
        );
        l1_fee
    };
    let ctx = crate::BlockContext {
        l1_fee: &fee,
        ..ctx()
    };
    let err = pool().add(&raw, &state, &ctx).unwrap_err();
    assert_eq!(
        err,
        PoolError::InsufficientFunds {
            balance: cost + l1_fee - U256::from(1),
            cost: cost + l1_fee,
            overshot: U256::from(1)
        }
    );
    state.set_balance(0, cost + l1_fee);
    assert!(pool().add(&raw, &state, &ctx).is_ok());
}

#[test]
fn state_read_failure_is_reported() {
    struct Broken;
    impl crate::StateView for Broken {
        fn account(&self, _: Address) -> Result<crate::AccountInfo, String> {
            Err("disk on fire".into())
        }
    }
    let err = pool()
        .add(&transfer(0, 0, 2 * GWEI, GWEI), &Broken, &ctx())
        .unwrap_err();
    assert_eq!(err, PoolError::State("disk on fire".into()));
}

#[test]
fn checks_run_in_the_documented_order() {
    let mut pool = pool();
    // Oversized beats an unsupported type.
    let mut raw = vec![0x03; 128 * 1024 + 1];
    assert!(matches!(
        add(&mut pool, &raw),
        Err(PoolError::OversizedData { .. })
    ));
    raw.truncate(10);
    assert_eq!(
        add(&mut pool, &raw).unwrap_err(),
        PoolError::BlobTxNotSupported
    );

    // Chain id beats tip > fee cap, which beats the gas limit, which beats the fee cap.
    let mut tx = eip1559(0, 1, 2);
    tx.gas_limit = BLOCK_GAS + 1;
    tx.chain_id = 1;
    let err = add(&mut pool, &sign(&key(0), tx.clone())).unwrap_err();
    assert!(matches!(err, PoolError::InvalidChainId { .. }));
    tx.chain_id = CHAIN_ID;
    let err = add(&mut pool, &sign(&key(0), tx.clone())).unwrap_err();
    assert!(matches!(err, PoolError::TipAboveFeeCap { .. }));
    tx.max_priority_fee_per_gas = 1;
    let err = add(&mut pool, &sign(&key(0), tx.clone())).unwrap_err();
    assert!(matches!(err, PoolError::GasLimit { .. }));
    // Intrinsic gas beats the base fee.
    tx.gas_limit = 20_000;
    let err = add(&mut pool, &sign(&key(0), tx.clone())).unwrap_err();
    assert!(matches!(err, PoolError::IntrinsicGas { .. }));
    tx.gas_limit = 21_000;
    let err = add(&mut pool, &sign(&key(0), tx)).unwrap_err();
    assert!(matches!(err, PoolError::FeeCapTooLow { .. }));

    // Nonce too low beats insufficient funds; already known beats replacement.
    let mut state = MockState::funded();
    state.set(key(0).address(), 1, U256::ZERO);
    let err = pool
        .add(&transfer(0, 0, 2 * GWEI, GWEI), &state, &ctx())
        .unwrap_err();
    assert!(matches!(err, PoolError::NonceTooLow { .. }));
    let raw = transfer(0, 0, 2 * GWEI, GWEI);
    add(&mut pool, &raw).unwrap();
    assert_eq!(add(&mut pool, &raw).unwrap_err(), PoolError::AlreadyKnown);
    // Replacement underpriced beats insufficient funds.
    state.set(key(0).address(), 0, U256::ZERO);
    let err = pool
        .add(&transfer(0, 0, 2 * GWEI + 1, GWEI), &state, &ctx())
        .unwrap_err();
    assert_eq!(err, PoolError::ReplaceUnderpriced);
}
