//! Reading a full block the way a receipt or transaction lookup by hash does: through the
//! handlers' block cache, against decoding it on every read (a cache of size zero, which is
//! what every lookup did before the cache), the peer in the same run.
//!
//! The block holds 1,400 signed transfers with their receipts, committed to a real store in a
//! temporary directory. Run with `cargo bench -p opal-rpc`.

use std::hint::black_box;

use alloy::{
    consensus::{Header, SignableTransaction, TxEip1559},
    primitives::{Address, B256, TxKind, U256, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
};
use criterion::{Criterion, criterion_group, criterion_main};
use op_alloy::consensus::{OpReceiptEnvelope, OpTxEnvelope, OpTxType};
use opal_rpc::BlockCache;
use opal_storage::{BlockContents, BlockRecord, StateChanges, Store};

const TXS: u64 = 1_400;

/// Commits block 0 with `TXS` transfers and their receipts.
fn full_block(store: &Store) {
    let key = PrivateKeySigner::from_bytes(&keccak256("bench-blocks")).expect("a valid key");
    let txs: Vec<OpTxEnvelope> = (0..TXS)
        .map(|nonce| {
            let tx = TxEip1559 {
                chain_id: 72077,
                nonce,
                gas_limit: 21_000,
                max_fee_per_gas: 2_000_000_000,
                max_priority_fee_per_gas: 1_000_000,
                to: TxKind::Call(Address::left_padding_from(&nonce.to_be_bytes())),
                value: U256::from(1),
                ..Default::default()
            };
            let sig = key
                .sign_hash_sync(&tx.signature_hash())
                .expect("signing works");
            OpTxEnvelope::from(tx.into_signed(sig))
        })
        .collect();
    let receipts: Vec<OpReceiptEnvelope> = (1..=TXS)
        .map(|i| {
            OpReceiptEnvelope::from_parts(true, i * 21_000, &[], OpTxType::Eip1559, None, None)
        })
        .collect();
    let mut body = vec![];
    alloy_rlp::encode_list(&txs, &mut body);
    let mut stored = vec![];
    opal_primitives::receipts::encode_receipts(&receipts, &mut stored);
    let contents = BlockContents {
        body,
        tx_hashes: txs.iter().map(|t| t.tx_hash()).collect(),
        senders: vec![key.address(); TXS as usize],
        receipts: stored,
    };
    store
        .commit_block(0, &StateChanges::default(), |r| {
            let header = Header {
                state_root: r.state_root,
                parent_hash: B256::ZERO,
                ..Default::default()
            };
            Ok(BlockRecord::new(header, contents))
        })
        .expect("the block commits");
}

fn blocks(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(dir.path()).expect("a new store");
    full_block(&store);
    let reader = store.latest().expect("a snapshot");
    let cached = BlockCache::default();
    let uncached = BlockCache::new(0, 0);
    assert_eq!(
        cached
            .load(&reader, 0)
            .expect("readable")
            .map(|b| b.txs.len()),
        Some(TXS as usize)
    );
    let mut group = c.benchmark_group("a block of 1,400 transfers, read by a lookup");
    group.bench_function("through the block cache", |b| {
        b.iter(|| {
            cached
                .load(black_box(&reader), 0)
                .map(|b| b.map(|b| b.txs.len()))
        })
    });
    group.bench_function("decoded on every read (peer)", |b| {
        b.iter(|| {
            uncached
                .load(black_box(&reader), 0)
                .map(|b| b.map(|b| b.txs.len()))
        })
    });
    group.finish();
}

criterion_group!(benches, blocks);
criterion_main!(benches);
