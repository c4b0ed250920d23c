//! Intrinsic gas through revm's Prague rules: calldata, access lists, creation, the EIP-7623
//! floor and EIP-7702 authorizations.

use alloy::{
    consensus::TxEip7702,
    eips::{
        eip2930::{AccessList, AccessListItem},
        eip7702::Authorization,
    },
    primitives::{B256, Bytes, TxKind, U256},
    signers::SignerSync,
};

use crate::{Pool, PoolError, test_utils::*};

fn add_1559(
    edit: impl FnOnce(&mut alloy::consensus::TxEip1559),
) -> Result<crate::AddOutcome, PoolError> {
    let mut tx = eip1559(0, 2 * GWEI, GWEI);
    edit(&mut tx);
    Pool::new(config()).add(&sign(&key(0), tx), &MockState::funded(), &ctx())
}

#[test]
fn plain_transfer_needs_21000() {
    let err = add_1559(|tx| tx.gas_limit = 20_999).unwrap_err();
    assert_eq!(
        err,
        PoolError::IntrinsicGas {
            gas: 20_999,
            needed: 21_000
        }
    );
    assert!(err.to_string().starts_with("intrinsic gas too low"));
    assert!(add_1559(|tx| tx.gas_limit = 21_000).is_ok());
}

#[test]
fn calldata_and_access_list_cost_gas() {
    // 2 zero bytes (4 each) + 2 non-zero (16 each) + 1 address (2400) + 2 keys (1900 each).
    let needed = 21_000 + 2 * 4 + 2 * 16 + 2_400 + 2 * 1_900;
    let edit = |gas| {
        move |tx: &mut alloy::consensus::TxEip1559| {
            tx.input = Bytes::from(vec![0, 0, 1, 2]);
            tx.access_list = AccessList(vec![AccessListItem {
                address: TO,
                storage_keys: vec![B256::ZERO, B256::repeat_byte(1)],
            }]);
            tx.gas_limit = gas;
        }
    };
    assert_eq!(
        add_1559(edit(needed - 1)).unwrap_err(),
        PoolError::IntrinsicGas {
            gas: needed - 1,
            needed
        }
    );
    assert!(add_1559(edit(needed)).is_ok());
}

#[test]
fn eip7623_floor_applies_to_calldata_heavy_transactions() {
    // 1000 non-zero bytes: 21000 + 16,000 intrinsic, 21000 + 10 * 4000 floor.
    let (intrinsic, floor) = (37_000, 61_000);
    let edit = |gas| {
        move |tx: &mut alloy::consensus::TxEip1559| {
            tx.input = Bytes::from(vec![1u8; 1000]);
            tx.gas_limit = gas;
        }
    };
    assert!(matches!(
        add_1559(edit(intrinsic - 1)),
        Err(PoolError::IntrinsicGas { .. })
    ));
    let err = add_1559(edit(floor - 1)).unwrap_err();
    assert_eq!(
        err,
        PoolError::FloorDataGas {
            gas: floor - 1,
            needed: floor
        }
    );
    assert!(
        err.to_string()
            .starts_with("insufficient gas for floor data gas cost")
    );
    assert!(add_1559(edit(floor)).is_ok());
}

#[test]
fn creation_costs_more_and_init_code_is_capped() {
    // 53000 + 2 init code words * 2 + 64 non-zero bytes * 16; the floor is 21000 + 64 * 40.
    let needed = 53_000 + 2 * 2 + 64 * 16;
    let create = |gas, len| {
        move |tx: &mut alloy::consensus::TxEip1559| {
            tx.to = TxKind::Create;
            tx.input = Bytes::from(vec![0x60; len]);
            tx.gas_limit = gas;
        }
    };
    assert_eq!(
        add_1559(create(needed - 1, 64)).unwrap_err(),
        PoolError::IntrinsicGas {
            gas: needed - 1,
            needed
        }
    );
    assert!(add_1559(create(needed, 64)).is_ok());
    let err = add_1559(create(10_000_000, 49_153)).unwrap_err();
    assert_eq!(
        err,
        PoolError::MaxInitCodeSize {
            size: 49_153,
            limit: 49_152
        }
    );
    assert!(err.to_string().starts_with("max initcode size exceeded"));
}

fn eip7702(auths: usize, gas_limit: u64) -> Vec<u8> {
    let authority = key(1);
    let authorization_list = (0..auths as u64)
        .map(|nonce| {
            let auth = Authorization {
                chain_id: U256::from(CHAIN_ID),
                address: TO,
                nonce,
            };
            let signature = authority.sign_hash_sync(&auth.signature_hash()).unwrap();
            auth.into_signed(signature)
        })
        .collect();
    let tx = TxEip7702 {
        chain_id: CHAIN_ID,
        nonce: 0,
        gas_limit,
        max_fee_per_gas: 2 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to: TO,
        value: U256::ZERO,
        access_list: Default::default(),
        authorization_list,
        input: Bytes::new(),
    };
    sign(&key(0), tx)
}

#[test]
fn eip7702_authorizations_cost_25000_each() {
    let add = |raw: Vec<u8>| Pool::new(config()).add(&raw, &MockState::funded(), &ctx());
    let needed = 21_000 + 2 * 25_000;
    assert_eq!(
        add(eip7702(2, needed - 1)).unwrap_err(),
        PoolError::IntrinsicGas {
            gas: needed - 1,
            needed
        }
    );
    assert!(add(eip7702(2, needed)).is_ok());
    let err = add(eip7702(0, 100_000)).unwrap_err();
    assert_eq!(err, PoolError::EmptyAuthList);
}
