//! Reading and writing a full block's receipts in the stored form (no bloom for a receipt
//! without logs) against the consensus encoding (a bloom in every receipt), the peer in the same
//! run.
//!
//! Two blocks of 1,400 receipts: plain transfers (no logs) and ERC-20 transfers (one `Transfer`
//! log with three topics each). Run with `cargo bench -p opal-primitives`.

use std::hint::black_box;

use alloy::primitives::{Address, B256, Bytes, Log, LogData};
use alloy_rlp::Decodable;
use criterion::{Criterion, criterion_group, criterion_main};
use op_alloy::consensus::{OpReceiptEnvelope, OpTxType};
use opal_primitives::receipts::{decode_receipts, encode_receipts};

const RECEIPTS: u64 = 1_400;

fn block(with_logs: bool) -> Vec<OpReceiptEnvelope> {
    (0..RECEIPTS)
        .map(|i| {
            let logs: Vec<Log> = with_logs
                .then(|| Log {
                    address: Address::with_last_byte(0x20),
                    data: LogData::new_unchecked(
                        vec![
                            B256::repeat_byte(0xdd),
                            B256::left_padding_from(&i.to_be_bytes()),
                            B256::left_padding_from(&(i + 1).to_be_bytes()),
                        ],
                        Bytes::from(B256::left_padding_from(&[1]).to_vec()),
                    ),
                })
                .into_iter()
                .collect();
            OpReceiptEnvelope::from_parts(
                true,
                (i + 1) * 30_000,
                &logs,
                OpTxType::Eip1559,
                None,
                None,
            )
        })
        .collect()
}

fn receipts(c: &mut Criterion) {
    for (name, with_logs) in [("transfers", false), ("erc20 transfers", true)] {
        let receipts = block(with_logs);
        let mut stored = vec![];
        encode_receipts(&receipts, &mut stored);
        let mut consensus = vec![];
        alloy_rlp::encode_list(&receipts, &mut consensus);
        eprintln!(
            "{name}: {RECEIPTS} receipts take {} bytes stored, {} bytes in consensus form",
            stored.len(),
            consensus.len()
        );
        let mut group = c.benchmark_group(format!("receipts of a block of {name}"));
        group.bench_function("decode stored", |b| {
            b.iter(|| decode_receipts(black_box(&stored)).map(|r| r.len()))
        });
        group.bench_function("decode consensus (peer)", |b| {
            b.iter(|| {
                Vec::<OpReceiptEnvelope>::decode(&mut black_box(&consensus[..])).map(|r| r.len())
            })
        });
        group.bench_function("encode stored", |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(stored.len());
                encode_receipts(black_box(&receipts), &mut out);
                out.len()
            })
        });
        group.bench_function("encode consensus (peer)", |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(consensus.len());
                alloy_rlp::encode_list(black_box(&receipts), &mut out);
                out.len()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, receipts);
criterion_main!(benches);
