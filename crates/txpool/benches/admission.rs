//! Stateless admission of an `eth_sendRawTransaction` payload: decoding, hashing, sender
//! recovery and the fee and gas checks, as `Pool::validate` runs them on the RPC threads.
//!
//! The peer in the same run is sender recovery with k256, the pure-Rust backend alloy
//! falls back to without libsecp256k1: the node recovers every sender once at admission,
//! so the recovery backend sets most of the cost. Run with `cargo bench -p opal-txpool`.

use std::{hint::black_box, time::Instant};

use alloy::{
    consensus::{SignableTransaction, TxEip1559},
    eips::eip2718::{Decodable2718, Encodable2718},
    primitives::{Address, B256, Bytes, Signature, TxKind, U256, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
};
use criterion::{Criterion, criterion_group, criterion_main};
use op_alloy::consensus::OpTxEnvelope;
use opal_txpool::{BlockContext, Pool, PoolConfig};

const CHAIN_ID: u64 = 72077;
const GWEI: u128 = 1_000_000_000;

/// Signed EIP-1559 transfers from distinct keys, as EIP-2718 bytes.
fn transfers(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let key = PrivateKeySigner::from_bytes(&keccak256(format!("bench-admission-{i}")))
                .expect("a hash is a valid key");
            let tx = TxEip1559 {
                chain_id: CHAIN_ID,
                nonce: i as u64,
                gas_limit: 21_000,
                max_fee_per_gas: 100 * GWEI,
                max_priority_fee_per_gas: GWEI,
                to: TxKind::Call(Address::with_last_byte(0xaa)),
                value: U256::from(1),
                access_list: Default::default(),
                input: Bytes::new(),
            };
            let sig = key
                .sign_hash_sync(&tx.signature_hash())
                .expect("signing works");
            OpTxEnvelope::from(tx.into_signed(sig)).encoded_2718()
        })
        .collect()
}

fn admission(c: &mut Criterion) {
    let txs = transfers(64);
    let config = PoolConfig::default();
    let l1_fee = |_: &[u8]| U256::ZERO;
    let ctx = BlockContext {
        base_fee: GWEI as u64,
        block_gas_limit: 30_000_000,
        chain_id: CHAIN_ID,
        l1_fee: &l1_fee,
        now: Instant::now(),
    };
    // The transactions are valid: a bench of the error path would measure nothing.
    for raw in &txs {
        Pool::validate(raw, &config, &ctx).expect("bench transfers are valid");
    }

    let mut group = c.benchmark_group("admission");
    let mut i = 0;
    group.bench_function("validate (libsecp256k1, the node's path)", |b| {
        b.iter(|| {
            i = (i + 1) % txs.len();
            black_box(Pool::validate(black_box(&txs[i]), &config, &ctx).is_ok())
        })
    });

    // Recovery alone, from the signatures and signing hashes of the same transactions.
    let signed: Vec<(Signature, B256)> = txs
        .iter()
        .map(|raw| match OpTxEnvelope::decode_2718(&mut raw.as_slice()) {
            Ok(OpTxEnvelope::Eip1559(tx)) => (*tx.signature(), tx.signature_hash()),
            _ => unreachable!("bench transactions are EIP-1559"),
        })
        .collect();
    group.bench_function("recover (libsecp256k1)", |b| {
        b.iter(|| {
            i = (i + 1) % signed.len();
            let (sig, hash) = &signed[i];
            black_box(alloy::consensus::crypto::secp256k1::recover_signer(
                sig, *hash,
            ))
        })
    });
    group.bench_function("recover (k256, peer)", |b| {
        b.iter(|| {
            i = (i + 1) % signed.len();
            let (sig, hash) = &signed[i];
            black_box(sig.recover_address_from_prehash(hash))
        })
    });
    group.finish();
}

criterion_group!(benches, admission);
criterion_main!(benches);
