//! Block building and import against the OP Stack rules, over a real store.

mod common;

use alloy::{
    consensus::Transaction as _,
    eips::eip2718::Encodable2718,
    primitives::{Address, B256, Bytes, TxKind, U256, address, keccak256},
    sol_types::SolCall,
};
use alloy_trie::EMPTY_ROOT_HASH;
use common::*;
use op_alloy::consensus::{OpReceiptEnvelope, TxDeposit};
use opal_evm::{ExecError, NoTransactions, SkipReason};
use opal_primitives::addresses::*;

alloy::sol! {
    function mint(address to, uint256 amount);
    function transfer(address to, uint256 amount) returns (bool);
    function balanceOf(address) returns (uint256);
    function initiateWithdrawal(address target, uint256 gasLimit, bytes data);
    function overhead() returns (uint256);
}

fn gas_used(receipts: &[OpReceiptEnvelope], i: usize) -> u64 {
    receipts[i].cumulative_gas_used()
        - if i == 0 {
            0
        } else {
            receipts[i - 1].cumulative_gas_used()
        }
}

fn balance(ex: &opal_evm::BlockExecutor, a: Address) -> U256 {
    ex.store()
        .latest()
        .unwrap()
        .account(a)
        .unwrap()
        .map_or(U256::ZERO, |a| a.balance)
}

/// Fjord L1 fee, written out from the spec: `size * (16*baseFee*baseScalar + blobFee*blobScalar) / 1e12`,
/// with `size = max(100e6, -42_585_600 + 836_500 * fastlz(tx))` (the estimator op-revm exports).
fn fjord_l1_fee(tx: &[u8]) -> U256 {
    let info = l1_info(0);
    let scaled = U256::from(info.base_fee_scalar) * info.base_fee * U256::from(16)
        + U256::from(info.blob_base_fee_scalar) * info.blob_base_fee;
    U256::from(op_revm::estimate_tx_compressed_size(tx)) * scaled / U256::from(1_000_000_000_000u64)
}

#[test]
fn transfers_pay_every_vault_by_the_spec_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let ex = executor(dir.path());
    let genesis = ex.store().latest().unwrap().header(0).unwrap().unwrap();
    let to = address!("0x00000000000000000000000000000000000000AA");
    let txs = vec![
        tx1559(
            0,
            0,
            TxKind::Call(to),
            U256::from(1_000_000u64),
            Bytes::new(),
            21_000,
            2_000_000_000,
            10_000_000_000,
        ),
        tx1559(
            0,
            1,
            TxKind::Call(to),
            U256::from(7u64),
            Bytes::from(vec![1, 2, 3, 0, 0]),
            50_000,
            100,
            10_000_000_000,
        ),
        tx1559(
            1,
            0,
            TxKind::Call(to),
            U256::from(5u64),
            Bytes::new(),
            21_000,
            3,
            2_000_000_000,
        ),
    ];
    let sender_before = balance(&ex, DEV0);
    let mut pool = VecPool::new(txs.clone());
    let block = ex
        .build(&genesis, &attrs(&genesis, 0, vec![], false), &mut pool)
        .unwrap();
    assert!(pool.skipped.is_empty(), "{:?}", pool.skipped);
    assert_eq!(block.transactions.len(), 4);
    // Base fee from genesis (1 gwei, empty parent, denominator 250): 1e9 - 1e9/250.
    let base_fee = block.header.base_fee_per_gas.unwrap();
    assert_eq!(base_fee, 996_000_000);
    assert!(block.receipts.iter().all(|r| r.status()));

    let (mut base, mut tip, mut l1, mut op) = (U256::ZERO, U256::ZERO, U256::ZERO, U256::ZERO);
    let mut dev0_spent = U256::ZERO;
    for (i, tx) in txs.iter().enumerate() {
        let used = U256::from(gas_used(&block.receipts, i + 1));
        let price =
            (base_fee as u128 + tx.max_priority_fee_per_gas().unwrap()).min(tx.max_fee_per_gas());
        let l1_fee = fjord_l1_fee(&tx.encoded_2718());
        let op_fee = used * U256::from(2_000) / U256::from(1_000_000) + U256::from(300);
        base += used * U256::from(base_fee);
        tip += used * U256::from(price - base_fee as u128);
        l1 += l1_fee;
        op += op_fee;
        if i < 2 {
            dev0_spent += used * U256::from(price) + l1_fee + op_fee + tx.value();
        }
    }
    assert!(l1 > U256::ZERO && op > U256::ZERO);
    assert_eq!(balance(&ex, BASE_FEE_VAULT), base, "BaseFeeVault");
    assert_eq!(balance(&ex, SEQUENCER_FEE_VAULT), tip, "SequencerFeeVault");
    assert_eq!(balance(&ex, L1_FEE_VAULT), l1, "L1FeeVault");
    assert_eq!(balance(&ex, OPERATOR_FEE_VAULT), op, "OperatorFeeVault");
    assert_eq!(balance(&ex, to), U256::from(1_000_012u64));
    assert_eq!(sender_before - balance(&ex, DEV0), dev0_spent);
}

#[test]
fn deposits_succeed_revert_and_fail_by_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let ex = executor(dir.path());
    let genesis = ex.store().latest().unwrap().header(0).unwrap().unwrap();
    let alice = address!("0x000000000000000000000000000000000000a11c");
    let bob = address!("0x0000000000000000000000000000000000000b0b");
    let deposit = |n: u8, from, to, mint: u128, value: u64, gas, input: Vec<u8>| TxDeposit {
        source_hash: B256::repeat_byte(n),
        from,
        to,
        mint,
        value: U256::from(value),
        gas_limit: gas,
        is_system_transaction: false,
        input: input.into(),
    };
    let deposits = vec![
        // Mint 5 ETH to alice, forward 1 ETH to bob.
        deposit(
            1,
            alice,
            TxKind::Call(bob),
            5_000_000_000_000_000_000,
            1_000_000_000_000_000_000,
            100_000,
            vec![],
        ),
        // A call that reverts (GasPriceOracle.overhead() reverts after Ecotone): mint kept, status 0.
        deposit(
            2,
            alice,
            TxKind::Call(GAS_PRICE_ORACLE),
            7,
            0,
            100_000,
            overheadCall {}.abi_encode(),
        ),
        // value above balance + mint: a non-EVM failure. Mint kept, nonce bumped, all gas used.
        deposit(
            3,
            bob,
            TxKind::Call(alice),
            11,
            2_000_000_000_000_000_000,
            60_000,
            vec![],
        ),
    ];
    let block = ex
        .build(
            &genesis,
            &attrs(&genesis, 0, deposits, true),
            &mut NoTransactions,
        )
        .unwrap();
    let r = &block.receipts;
    assert!(
        r[0].status() && r[1].status(),
        "L1-info and first deposit succeed"
    );
    assert!(!r[2].status(), "reverting deposit has status 0");
    assert!(!r[3].status(), "failed deposit has status 0");
    assert_eq!(
        gas_used(r, 3),
        60_000,
        "a failed deposit uses its whole gas limit"
    );
    assert!(
        gas_used(r, 2) < 100_000,
        "a reverted deposit is charged its real gas (Regolith)"
    );
    // depositNonce is the sender's nonce before the deposit; version 1 from Canyon.
    assert_eq!(r[1].deposit_nonce(), Some(0));
    assert_eq!(r[2].deposit_nonce(), Some(1));
    assert_eq!(r[3].deposit_nonce(), Some(0));
    assert!(r.iter().all(|x| x.deposit_receipt_version() == Some(1)));
    let reader = ex.store().latest().unwrap();
    let a = reader.account(alice).unwrap().unwrap();
    let b = reader.account(bob).unwrap().unwrap();
    assert_eq!(a.balance, U256::from(4_000_000_000_000_000_007u128));
    assert_eq!(a.nonce, 2);
    assert_eq!(
        b.balance,
        U256::from(1_000_000_000_000_000_011u128),
        "bob keeps the mint of his failed deposit"
    );
    assert_eq!(b.nonce, 1, "failed deposit still bumps the nonce");
    // Deposits pay no fees.
    assert_eq!(balance(&ex, BASE_FEE_VAULT), U256::ZERO);
    assert_eq!(balance(&ex, L1_FEE_VAULT), U256::ZERO);
}

#[test]
fn contracts_logs_reverts_system_calls_and_withdrawals_root() {
    let dir = tempfile::tempdir().unwrap();
    let ex = executor(dir.path());
    let genesis = ex.store().latest().unwrap().header(0).unwrap().unwrap();
    let fee = 10_000_000_000u128;
    let token = DEV0.create(0);
    let user = address!("0x0000000000000000000000000000000000001234");
    let txs = vec![
        tx1559(
            0,
            0,
            TxKind::Create,
            U256::ZERO,
            artifact_code("TestERC20", "bytecode"),
            2_000_000,
            1,
            fee,
        ),
        tx1559(
            0,
            1,
            TxKind::Call(token),
            U256::ZERO,
            mintCall {
                to: DEV0,
                amount: U256::from(1000),
            }
            .abi_encode()
            .into(),
            100_000,
            1,
            fee,
        ),
        tx1559(
            0,
            2,
            TxKind::Call(token),
            U256::ZERO,
            transferCall {
                to: user,
                amount: U256::from(400),
            }
            .abi_encode()
            .into(),
            100_000,
            1,
            fee,
        ),
        // Transfers more than the balance: reverts, still included and charged.
        tx1559(
            0,
            3,
            TxKind::Call(token),
            U256::ZERO,
            transferCall {
                to: user,
                amount: U256::from(10_000),
            }
            .abi_encode()
            .into(),
            100_000,
            1,
            fee,
        ),
    ];
    let block1 = ex
        .build(
            &genesis,
            &attrs(&genesis, 0, vec![], false),
            &mut VecPool::new(txs),
        )
        .unwrap();
    let r = &block1.receipts;
    assert_eq!(r.len(), 5);
    assert!(r[1].status() && r[2].status() && r[3].status());
    assert!(!r[4].status(), "over-balance transfer reverts");
    assert!(gas_used(r, 4) > 21_000);
    let transfer_topic = keccak256("Transfer(address,address,uint256)");
    let log = &r[3].logs()[0];
    assert_eq!(log.address, token);
    assert_eq!(log.topics()[0], transfer_topic);
    assert!(
        block1
            .header
            .logs_bloom
            .contains_input(alloy::primitives::BloomInput::Raw(token.as_slice()))
    );
    assert!(r[4].logs().is_empty());
    let reader = ex.store().latest().unwrap();
    let slot = keccak256(
        [
            B256::left_padding_from(user.as_slice()).as_slice(),
            &[0u8; 32],
        ]
        .concat(),
    );
    assert_eq!(
        reader.storage(token, U256::from_be_bytes(slot.0)).unwrap(),
        U256::from(400)
    );
    assert!(
        reader
            .code(reader.account(token).unwrap().unwrap().code_hash)
            .unwrap()
            .is_some()
    );
    // EIP-4788: the beacon root is stored at timestamp % 8191 (+8191 for the root).
    let ts = U256::from(block1.header.timestamp % 8191);
    assert_eq!(
        reader.storage(BEACON_ROOTS, ts).unwrap(),
        U256::from(block1.header.timestamp)
    );
    assert_eq!(
        reader.storage(BEACON_ROOTS, ts + U256::from(8191)).unwrap(),
        U256::from_be_bytes([0xbe; 32])
    );
    // No withdrawals yet: the message passer's storage is empty.
    assert_eq!(block1.header.withdrawals_root, Some(EMPTY_ROOT_HASH));
    assert_eq!(
        block1.header.requests_hash,
        Some(alloy::eips::eip7685::EMPTY_REQUESTS_HASH)
    );
    assert_eq!(block1.header.blob_gas_used, Some(0));
    assert_eq!(
        block1.header.extra_data.as_ref(),
        &[0, 0, 0, 0, 250, 0, 0, 0, 6]
    );
    drop(reader);

    // Block 2: a withdrawal changes the message passer's storage, which Isthmus puts in the header.
    let w = tx1559(
        1,
        0,
        TxKind::Call(L2_TO_L1_MESSAGE_PASSER),
        U256::from(1000),
        initiateWithdrawalCall {
            target: user,
            gasLimit: U256::from(100_000),
            data: Bytes::new(),
        }
        .abi_encode()
        .into(),
        200_000,
        1,
        fee,
    );
    let block2 = ex
        .build(
            &block1.header,
            &attrs(&block1.header, 1, vec![], false),
            &mut VecPool::new(vec![w]),
        )
        .unwrap();
    assert!(block2.receipts[1].status());
    let reader = ex.store().latest().unwrap();
    let mp_root = reader
        .account(L2_TO_L1_MESSAGE_PASSER)
        .unwrap()
        .unwrap()
        .storage_root;
    assert_ne!(mp_root, EMPTY_ROOT_HASH);
    assert_eq!(block2.header.withdrawals_root, Some(mp_root));
    // EIP-2935: the parent hash is stored at (number - 1) % 8191.
    assert_eq!(
        reader.storage(HISTORY_STORAGE, U256::from(1)).unwrap(),
        U256::from_be_bytes(block1.hash.0)
    );
    // L1Block holds the L1 attributes of the deposit.
    assert_eq!(
        reader.storage(L1_BLOCK, U256::from(1)).unwrap(),
        l1_info(1).base_fee
    );
}

#[test]
fn pool_transactions_that_do_not_fit_or_are_invalid_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let ex = executor(dir.path());
    let genesis = ex.store().latest().unwrap().header(0).unwrap().unwrap();
    let to = TxKind::Call(Address::repeat_byte(1));
    let fee = 10_000_000_000u128;
    let txs = vec![
        tx1559(0, 5, to, U256::ZERO, Bytes::new(), 21_000, 1, fee), // nonce too high
        tx1559(2, 0, to, U256::ZERO, Bytes::new(), GAS_LIMIT, 1, fee), // does not fit after the deposit
        tx1559(1, 0, to, U256::ZERO, Bytes::new(), 21_000, 1, 1),      // fee cap below base fee
        tx1559(0, 0, to, U256::ZERO, Bytes::new(), 21_000, 1, fee),    // fine
    ];
    let hashes: Vec<B256> = txs.iter().map(|t| t.tx_hash()).collect();
    let mut pool = VecPool::new(txs);
    let block = ex
        .build(&genesis, &attrs(&genesis, 0, vec![], false), &mut pool)
        .unwrap();
    assert_eq!(block.transactions.len(), 2);
    assert_eq!(block.transactions[1].tx_hash(), hashes[3]);
    assert_eq!(pool.skipped.len(), 3);
    assert!(matches!(&pool.skipped[0], (h, SkipReason::Invalid(_)) if *h == hashes[0]));
    assert_eq!(pool.skipped[1], (hashes[1], SkipReason::DoesNotFit));
    assert!(matches!(&pool.skipped[2], (h, SkipReason::Invalid(_)) if *h == hashes[2]));
}

#[test]
fn import_reproduces_blocks_and_rejects_tampering() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let builder = executor(a.path());
    let importer = executor(b.path());
    let mut parent = builder
        .store()
        .latest()
        .unwrap()
        .header(0)
        .unwrap()
        .unwrap();
    let mut built = vec![];
    for n in 0..4u64 {
        let to = TxKind::Call(Address::repeat_byte(n as u8 + 1));
        let txs = (0..3)
            .map(|i| {
                tx1559(
                    0,
                    n * 3 + i,
                    to,
                    U256::from(i + 1),
                    Bytes::new(),
                    21_000,
                    2,
                    10_000_000_000,
                )
            })
            .collect();
        let block = builder
            .build(
                &parent,
                &attrs(&parent, n, vec![], false),
                &mut VecPool::new(txs),
            )
            .unwrap();
        parent = block.header.clone();
        built.push(block);
    }
    let raw = |b: &opal_evm::BuiltBlock| -> Vec<Bytes> {
        b.transactions
            .iter()
            .map(|t| Bytes::from(t.encoded_2718()))
            .collect()
    };
    // A tampered header is rejected and leaves nothing behind.
    let mut bad = built[0].header.clone();
    bad.state_root = B256::repeat_byte(9);
    let err = importer.import(&bad, &raw(&built[0])).unwrap_err();
    assert!(
        matches!(
            err,
            ExecError::Mismatch {
                field: "stateRoot",
                ..
            }
        ),
        "{err}"
    );
    let mut bad = built[0].header.clone();
    bad.gas_used += 1;
    assert!(matches!(
        importer.import(&bad, &raw(&built[0])).unwrap_err(),
        ExecError::Mismatch {
            field: "gasUsed",
            ..
        }
    ));
    assert_eq!(
        importer.store().head(opal_storage::Head::Unsafe).unwrap(),
        Some(0)
    );
    // Missing transaction: the receipts and roots differ.
    let mut short = raw(&built[0]);
    short.pop();
    assert!(matches!(
        importer.import(&built[0].header, &short).unwrap_err(),
        ExecError::Mismatch { .. }
    ));
    // Garbage bytes are a clear error, not a panic.
    assert!(matches!(
        importer
            .import(&built[0].header, &[Bytes::from_static(&[0x03, 0xc0])])
            .unwrap_err(),
        ExecError::BadTransaction { index: 0, .. }
    ));
    for block in &built {
        let imported = importer.import(&block.header, &raw(block)).unwrap();
        assert_eq!(imported.hash, block.hash);
    }
    assert_eq!(
        importer.store().check_state_root().unwrap(),
        built[3].header.state_root
    );
}

#[test]
fn restart_resumes_from_the_committed_head() {
    let dir = tempfile::tempdir().unwrap();
    let head = {
        let ex = executor(dir.path());
        let mut parent = ex.store().latest().unwrap().header(0).unwrap().unwrap();
        for n in 0..3u64 {
            let tx = tx1559(
                0,
                n,
                TxKind::Call(Address::repeat_byte(7)),
                U256::from(1),
                Bytes::new(),
                21_000,
                1,
                10_000_000_000,
            );
            parent = ex
                .build(
                    &parent,
                    &attrs(&parent, n, vec![], false),
                    &mut VecPool::new(vec![tx]),
                )
                .unwrap()
                .header;
        }
        parent
    };
    let ex = executor(dir.path());
    let reader = ex.store().latest().unwrap();
    assert_eq!(reader.head().unwrap(), Some(3));
    assert_eq!(reader.header(3).unwrap().unwrap(), head);
    assert_eq!(ex.store().check_state_root().unwrap(), head.state_root);
    drop(reader);
    let next = ex
        .build(&head, &attrs(&head, 3, vec![], false), &mut NoTransactions)
        .unwrap();
    assert_eq!(next.header.number, 4);
    assert_eq!(
        ex.store()
            .latest()
            .unwrap()
            .account(DEV0)
            .unwrap()
            .unwrap()
            .nonce,
        3
    );
}

#[test]
fn bad_attributes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ex = executor(dir.path());
    let genesis = ex.store().latest().unwrap().header(0).unwrap().unwrap();
    let mut a = attrs(&genesis, 0, vec![], true);
    a.payload_attributes.parent_beacon_block_root = None;
    assert!(matches!(
        ex.build(&genesis, &a, &mut NoTransactions),
        Err(ExecError::Attributes(_))
    ));
    let mut a = attrs(&genesis, 0, vec![], true);
    a.gas_limit = None;
    assert!(matches!(
        ex.build(&genesis, &a, &mut NoTransactions),
        Err(ExecError::Attributes(_))
    ));
    // A blob transaction (type 3) cannot be decoded as an OP transaction.
    let mut a = attrs(&genesis, 0, vec![], true);
    a.transactions
        .as_mut()
        .unwrap()
        .push(Bytes::from_static(&[0x03, 0xc1, 0x80]));
    assert!(matches!(
        ex.build(&genesis, &a, &mut NoTransactions),
        Err(ExecError::BadTransaction { index: 1, .. })
    ));
    assert_eq!(
        ex.store().head(opal_storage::Head::Unsafe).unwrap(),
        Some(0)
    );
}
