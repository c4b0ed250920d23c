//! The index over synthetic blocks whose receipts carry ledger logs encoded with the bindings.

use std::{collections::BTreeMap, sync::Arc};

use alloy::{
    consensus::{Header, SignableTransaction, TxEip1559},
    primitives::{Address, B256, Bytes, Log, Signature, TxKind, U256, address, b256, keccak256},
    sol_types::{SolCall, SolEvent},
};
use op_alloy::consensus::{OpReceiptEnvelope, OpTxEnvelope, OpTxType};
use opal_storage::{BlockRecord, StateChanges, Store};
use redb::ReadableTable;

use super::{
    AttributionIndex, CreditKind, Cursor, kv,
    query::{self, CreditFilter, GroupBy, GroupKey},
};
use crate::{
    LEDGER_ADDRESS,
    abi::IAttributionLedger as L,
    fee_split::split,
    layout::{FeeConfig, Ns, field},
};

const TREASURY: Address = address!("0x00000000000000000000000000000000000000aa");
const STAKERS: Address = address!("0x00000000000000000000000000000000000000bb");
const TREASURY2: Address = address!("0x00000000000000000000000000000000000000ac");
const OWNER: Address = address!("0x0000000000000000000000000000000000000001");
const PAYOUT: Address = address!("0x0000000000000000000000000000000000000002");
const ATTESTOR: Address = address!("0x0000000000000000000000000000000000000003");
const C1: Address = address!("0x00000000000000000000000000000000000000c1");
const C2: Address = address!("0x00000000000000000000000000000000000000c2");
const C3: Address = address!("0x00000000000000000000000000000000000000c3");
const MODEL: B256 = b256!("0x1000000000000000000000000000000000000000000000000000000000000001");
const D1: B256 = b256!("0xd000000000000000000000000000000000000000000000000000000000000001");
const D2: B256 = b256!("0xd000000000000000000000000000000000000000000000000000000000000002");
const I1: B256 = b256!("0x0100000000000000000000000000000000000000000000000000000000000001");
const I4: B256 = b256!("0x0100000000000000000000000000000000000000000000000000000000000004");
const DAY: u64 = 86_400;

fn cfg() -> FeeConfig {
    FeeConfig {
        bps: [100, 2000, 500, 7400],
        treasury: TREASURY,
        staker_pool: STAKERS,
    }
}

fn cfg2() -> FeeConfig {
    FeeConfig {
        bps: [300, 1000, 700, 8000],
        treasury: TREASURY2,
        staker_pool: STAKERS,
    }
}

/// A transaction with its ledger events (logs from the ledger address) and any other logs.
#[derive(Clone)]
struct Tx {
    to: Address,
    input: Bytes,
    logs: Vec<Log>,
}

fn ledger_log<E: SolEvent>(e: &E) -> Log {
    Log {
        address: LEDGER_ADDRESS,
        data: e.encode_log_data(),
    }
}

fn tx(to: Address, input: Bytes, logs: Vec<Log>) -> Tx {
    Tx { to, input, logs }
}

fn commit(store: &Store, n: u64, timestamp: u64, txs: Vec<Tx>) -> BlockRecord {
    let parent = if n == 0 {
        B256::ZERO
    } else {
        store.latest().unwrap().block_hash(n - 1).unwrap().unwrap()
    };
    let mut envs = vec![];
    let mut receipts = vec![];
    let mut gas = 0;
    for (i, t) in txs.iter().enumerate() {
        let unsigned = TxEip1559 {
            chain_id: 72_077,
            nonce: n * 100 + i as u64,
            gas_limit: 1_000_000,
            to: TxKind::Call(t.to),
            input: t.input.clone(),
            ..Default::default()
        };
        let sig = Signature::new(U256::from(1), U256::from(1), false);
        envs.push(OpTxEnvelope::Eip1559(unsigned.into_signed(sig)));
        gas += 21_000;
        receipts.push(OpReceiptEnvelope::from_parts(
            true,
            gas,
            &t.logs,
            OpTxType::Eip1559,
            None,
            None,
        ));
    }
    let mut body = vec![];
    alloy_rlp::encode_list(&envs, &mut body);
    let mut rbytes = vec![];
    opal_primitives::receipts::encode_receipts(&receipts, &mut rbytes);
    store
        .commit_block(n, &StateChanges::default(), |r| {
            let header = Header {
                number: n,
                parent_hash: parent,
                timestamp,
                state_root: r.state_root,
                logs_bloom: receipts
                    .iter()
                    .map(|r| *r.logs_bloom())
                    .fold(Default::default(), |a, b| a | b),
                ..Default::default()
            };
            Ok(BlockRecord {
                hash: header.hash_slow(),
                header,
                body,
                tx_hashes: envs.iter().map(|e| e.tx_hash()).collect(),
                senders: vec![ATTESTOR; envs.len()],
                receipts: rbytes,
            })
        })
        .unwrap()
}

fn registry_block() -> Vec<Tx> {
    vec![tx(
        LEDGER_ADDRESS,
        Bytes::new(),
        vec![
            ledger_log(&L::ModelRegistered {
                modelId: MODEL,
                owner: OWNER,
                payout: PAYOUT,
                tokenizerId: 7,
            }),
            ledger_log(&L::DatanetRegistered {
                datanetId: D1,
                owner: OWNER,
            }),
            ledger_log(&L::DatanetRegistered {
                datanetId: D2,
                owner: OWNER,
            }),
            ledger_log(&L::DatanetUpdated {
                datanetId: D1,
                version: 1,
                contributionRoot: B256::repeat_byte(0xc0),
                fingerprintRoot: B256::repeat_byte(0xf0),
            }),
        ],
    )]
}

/// `recordInference` logs as the ledger emits them: the attribution, then one `ShareCredited`
/// per positive share.
fn inference_logs(
    id: B256,
    fee: u64,
    shares: &[(B256, Address, i128)],
    config: &FeeConfig,
) -> Vec<Log> {
    let scores: Vec<i128> = shares.iter().map(|s| s.2).collect();
    let s = split(U256::from(fee), config.bps, &scores, 0).unwrap();
    let mut logs = vec![ledger_log(&L::InferenceAttributed {
        inferenceId: id,
        modelId: MODEL,
        attestor: ATTESTOR,
        fee: U256::from(fee),
        recordHash: keccak256(id),
    })];
    for (share, amount) in shares.iter().zip(&s.per_contributor) {
        if share.2 > 0 {
            logs.push(ledger_log(&L::ShareCredited {
                inferenceId: id,
                datanetId: share.0,
                contributor: share.1,
                amount: *amount,
            }));
        }
    }
    logs
}

/// What the ledger credits each recipient for one inference.
fn expected_credits(
    fee: u64,
    shares: &[(B256, Address, i128)],
    config: &FeeConfig,
    out: &mut BTreeMap<Address, U256>,
) {
    let scores: Vec<i128> = shares.iter().map(|s| s.2).collect();
    let s = split(U256::from(fee), config.bps, &scores, 0).unwrap();
    let mut add = |a: Address, v: U256| {
        if !v.is_zero() {
            *out.entry(a).or_default() += v;
        }
    };
    for (share, amount) in shares.iter().zip(&s.per_contributor) {
        add(share.1, *amount);
    }
    add(PAYOUT, s.model);
    add(config.staker_pool, s.staker);
    add(config.treasury, s.protocol + s.unassigned);
}

type Batch = Vec<(B256, u64, Vec<(B256, Address, i128)>)>;

fn batch_call(nonce: u64, batch: &Batch) -> L::recordBatchCall {
    let mut c = L::recordBatchCall {
        modelId: MODEL,
        nonce,
        inferenceIds: vec![],
        fees: vec![],
        offsets: vec![0],
        shareDatanet: vec![],
        shareContributor: vec![],
        shareScore: vec![],
    };
    for (id, fee, shares) in batch {
        c.inferenceIds.push(*id);
        c.fees.push(u128::from(*fee));
        for s in shares {
            c.shareDatanet.push(s.0);
            c.shareContributor.push(s.1);
            c.shareScore.push(s.2);
        }
        c.offsets.push(c.shareScore.len() as u32);
    }
    c
}

/// The calldata and logs of a `recordBatch`, and what it credits.
fn batch_tx(
    nonce: u64,
    batch: &Batch,
    config: &FeeConfig,
) -> (Bytes, Vec<Log>, BTreeMap<Address, U256>) {
    let input = Bytes::from(batch_call(nonce, batch).abi_encode());
    let hash = keccak256(&input[4..]);
    let mut credits = BTreeMap::new();
    for (_, fee, shares) in batch {
        expected_credits(*fee, shares, config, &mut credits);
    }
    let mut logs: Vec<Log> = credits
        .iter()
        .map(|(a, v)| {
            ledger_log(&L::BatchCredited {
                batchHash: hash,
                recipient: *a,
                amount: *v,
            })
        })
        .collect();
    let total: u64 = batch.iter().map(|b| b.1).sum();
    logs.push(ledger_log(&L::BatchAttributed {
        batchHash: hash,
        modelId: MODEL,
        attestor: ATTESTOR,
        totalFee: U256::from(total),
        inferences: batch.len() as u32,
    }));
    (input, logs, credits)
}

fn open(dir: &std::path::Path) -> Store {
    Store::open(dir)
        .unwrap()
        .with_indexer(Arc::new(AttributionIndex::new(cfg())))
        .unwrap()
}

/// Every index table's rows (the undo log included).
type Dump = BTreeMap<&'static str, Vec<(Vec<u8>, Vec<u8>)>>;

fn dump(store: &Store) -> Dump {
    let r = store.latest().unwrap();
    let mut out = BTreeMap::new();
    for (name, def) in kv::all_defs() {
        let t = r.txn().open_table(def).unwrap();
        let rows = t
            .iter()
            .unwrap()
            .map(|e| {
                let (k, v) = e.unwrap();
                (k.value().to_vec(), v.value().to_vec())
            })
            .collect();
        out.insert(name, rows);
    }
    out
}

fn all_credits(store: &Store, f: CreditFilter) -> Vec<(Cursor, super::CreditRow)> {
    let r = store.latest().unwrap();
    let mut f = CreditFilter {
        to_block: u64::MAX,
        limit: 2,
        ..f
    };
    let mut out = vec![];
    loop {
        let page = query::credits(r.txn(), &f).unwrap();
        assert!(page.items.len() <= 2);
        out.extend(page.items);
        match page.next {
            Some(c) => f.cursor = Some(c),
            None => return out,
        }
    }
}

fn sum_by_recipient(rows: &[(Cursor, super::CreditRow)]) -> BTreeMap<Address, U256> {
    let mut m = BTreeMap::new();
    for (_, r) in rows {
        if !r.amount.is_zero() {
            *m.entry(r.recipient).or_default() += r.amount;
        }
    }
    m
}

const SHARES1: [(B256, Address, i128); 3] = [
    (D1, C1, 3_000_000_000_000_000_000),
    (D2, C2, 1_000_000_000_000_000_000),
    (D1, C3, -5),
];

/// Blocks 0–2: genesis, registry, one `recordInference`.
fn chain_to_2(store: &Store) -> BTreeMap<Address, U256> {
    commit(store, 0, 0, vec![]);
    commit(store, 1, 10, registry_block());
    commit(
        store,
        2,
        20,
        vec![tx(
            LEDGER_ADDRESS,
            Bytes::new(),
            inference_logs(I1, 1_000_003, &SHARES1, &cfg()),
        )],
    );
    let mut exp = BTreeMap::new();
    expected_credits(1_000_003, &SHARES1, &cfg(), &mut exp);
    exp
}

fn batch1() -> Batch {
    vec![
        (
            B256::repeat_byte(0x21),
            50_001,
            vec![(D1, C1, 2), (D2, C2, 1), (D2, C1, 1)],
        ),
        (B256::repeat_byte(0x22), 77_777, vec![(D2, C3, 5)]),
        (B256::repeat_byte(0x23), 9_999, vec![(D1, C2, -1)]),
    ]
}

/// Blocks 3–4 on a later day: a fee config change, a direct `recordBatch`, a batch through a
/// contract (calldata not visible), a claim; then an inference nobody scored.
fn chain_3_4(store: &Store, exp: &mut BTreeMap<Address, U256>) -> (B256, B256) {
    let c2 = cfg2();
    let fee_set = ledger_log(&L::FeeConfigSet {
        protocolBps: c2.bps[0],
        modelBps: c2.bps[1],
        stakerBps: c2.bps[2],
        contributorBps: c2.bps[3],
        treasury: c2.treasury,
        stakerPool: c2.staker_pool,
    });
    let (input, logs, credits) = batch_tx(1, &batch1(), &c2);
    let direct = keccak256(&input[4..]);
    for (a, v) in &credits {
        *exp.entry(*a).or_default() += *v;
    }
    let hidden: Batch = vec![(B256::repeat_byte(0x31), 40_000, vec![(D1, C3, 1)])];
    let (hidden_input, hidden_logs, hidden_credits) = batch_tx(2, &hidden, &c2);
    let via_contract = keccak256(&hidden_input[4..]);
    for (a, v) in &hidden_credits {
        *exp.entry(*a).or_default() += *v;
    }
    let claimed = exp[&C1] / U256::from(2);
    commit(
        store,
        3,
        3 * DAY + 5,
        vec![
            tx(LEDGER_ADDRESS, Bytes::new(), vec![fee_set]),
            tx(Address::repeat_byte(0x77), Bytes::new(), vec![]),
            tx(LEDGER_ADDRESS, input, logs),
            // A contract forwarded this batch: the transaction's calldata is not the ledger's.
            tx(Address::repeat_byte(0x99), hidden_input, hidden_logs),
            tx(
                LEDGER_ADDRESS,
                Bytes::new(),
                vec![ledger_log(&L::Claimed {
                    account: C1,
                    to: C1,
                    amount: claimed,
                })],
            ),
        ],
    );
    *exp.get_mut(&C1).unwrap() -= claimed;
    let unscored = [(D1, C1, 0i128), (D2, C2, -3)];
    commit(
        store,
        4,
        4 * DAY,
        vec![tx(
            LEDGER_ADDRESS,
            Bytes::new(),
            inference_logs(I4, 12_345, &unscored, &c2),
        )],
    );
    expected_credits(12_345, &unscored, &c2, exp);
    (direct, via_contract)
}

/// Credited minus claimed, per account, from the index.
fn claimable(store: &Store, accounts: impl Iterator<Item = Address>) -> BTreeMap<Address, U256> {
    let r = store.latest().unwrap();
    accounts
        .map(|a| {
            let t = query::account(r.txn(), a).unwrap();
            (a, t.credited.amount - t.claimed.amount)
        })
        .filter(|(_, v)| !v.is_zero())
        .collect()
}

#[test]
fn record_inference_shares_and_derived_pools() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let exp = chain_to_2(&store);
    let r = store.latest().unwrap();
    let inf = query::inference(r.txn(), I1).unwrap();
    assert_eq!(inf.len(), 1);
    let (at, row) = &inf[0];
    assert_eq!((at.block, at.log, row.tx.index), (2, 0, 0));
    assert_eq!(row.fee, U256::from(1_000_003));
    assert_eq!(row.record_hash, Some(keccak256(I1)));
    assert_eq!(
        (row.model, row.attestor, row.batch, row.shares),
        (MODEL, ATTESTOR, None, 2)
    );
    let credits = query::inference_credits(r.txn(), I1, 100).unwrap();
    let kinds: Vec<_> = credits.iter().map(|(_, c)| c.kind).collect();
    assert_eq!(
        kinds,
        [
            CreditKind::Model,
            CreditKind::Staker,
            CreditKind::Protocol,
            CreditKind::Contributor,
            CreditKind::Contributor
        ]
    );
    let total: U256 = credits.iter().map(|(_, c)| c.amount).sum();
    assert_eq!(total, U256::from(1_000_003));
    assert_eq!(sum_by_recipient(&credits), exp);
    assert_eq!(claimable(&store, exp.keys().copied()), exp);
    let model = query::model(r.txn(), MODEL).unwrap().unwrap();
    assert_eq!(
        (model.owner, model.payout, model.tokenizer_id),
        (Some(OWNER), PAYOUT, 7)
    );
    assert_eq!((model.inferences, model.fees), (1, U256::from(1_000_003)));
    assert_eq!(model.model_pool, exp[&PAYOUT]);
    assert_eq!(model.contributor_credits.count, 2);
    let d1 = query::datanet(r.txn(), D1).unwrap().unwrap();
    assert_eq!(
        (d1.owner, d1.registered_block, d1.version, d1.updates),
        (Some(OWNER), Some(1), 1, 1)
    );
    assert_eq!(d1.fingerprint_root, B256::repeat_byte(0xf0));
    assert_eq!(
        (d1.contributors, d1.inferences, d1.credits.amount),
        (1, 1, exp[&C1])
    );
    assert_eq!(query::tip(r.txn()).unwrap().map(|t| t.0), Some(2));
    let events = query::block_attributions(r.txn(), 2).unwrap();
    assert_eq!(events.len(), 1);
}

#[test]
fn batches_are_rederived_from_calldata_or_kept_aggregated() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut exp = chain_to_2(&store);
    let (direct, via_contract) = chain_3_4(&store, &mut exp);
    let r = store.latest().unwrap();
    // The direct batch: one inference row per id, per-share rows whose per-recipient sums are
    // the logged BatchCredited amounts.
    let b = query::batch(r.txn(), direct).unwrap().unwrap();
    assert!(b.derived);
    assert_eq!(
        (b.inferences, b.total_fee),
        (3, U256::from(50_001 + 77_777 + 9_999))
    );
    for (id, fee, _) in batch1() {
        let rows = query::inference(r.txn(), id).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].1.batch, rows[0].1.fee, rows[0].1.record_hash),
            (Some(direct), U256::from(fee), None)
        );
    }
    let rows: Vec<_> = all_credits(
        &store,
        CreditFilter {
            from_block: 3,
            ..Default::default()
        },
    )
    .into_iter()
    .filter(|(_, c)| c.batch == Some(direct))
    .collect();
    let mut logged = BTreeMap::new();
    for (a, v) in batch_tx(1, &batch1(), &cfg2()).2 {
        logged.insert(a, v);
    }
    assert_eq!(sum_by_recipient(&rows), logged);
    assert!(
        rows.iter()
            .all(|(_, c)| c.kind != CreditKind::BatchAggregate)
    );
    let contributor_rows: Vec<_> = rows
        .iter()
        .filter(|(_, c)| c.kind == CreditKind::Contributor)
        .collect();
    assert_eq!(contributor_rows.len(), 4);
    assert!(
        contributor_rows
            .iter()
            .all(|(_, c)| c.datanet.is_some() && c.inference.is_some())
    );
    // The third inference had no positive score: its contributor pool went to the treasury.
    let i3 = query::inference_credits(r.txn(), B256::repeat_byte(0x23), 10).unwrap();
    assert!(
        i3.iter()
            .any(|(_, c)| c.kind == CreditKind::Unassigned && c.recipient == TREASURY2)
    );
    // The batch sent through a contract: per-recipient totals, datanet unknown.
    let hb = query::batch(r.txn(), via_contract).unwrap().unwrap();
    assert!(!hb.derived);
    let hidden: Vec<_> = all_credits(
        &store,
        CreditFilter {
            from_block: 3,
            to_block: 3,
            ..Default::default()
        },
    )
    .into_iter()
    .filter(|(_, c)| c.batch == Some(via_contract))
    .collect();
    assert!(!hidden.is_empty());
    assert!(
        hidden
            .iter()
            .all(|(_, c)| c.kind == CreditKind::BatchAggregate && c.datanet.is_none())
    );
    assert!(
        query::inference(r.txn(), B256::repeat_byte(0x31))
            .unwrap()
            .is_empty()
    );
    // Every account's credited minus claimed is what the ledger would hold.
    assert_eq!(claimable(&store, exp.keys().copied()), exp);
    let c1 = query::account(r.txn(), C1).unwrap();
    assert_eq!(c1.claimed.count, 1);
    // The fee config moved with FeeConfigSet.
    assert_eq!(query::fee_config(r.txn()).unwrap(), Some(cfg2()));
    // Block 4's inference: nobody scored, so no ShareCredited and the pool is unassigned.
    let i4 = query::inference_credits(r.txn(), I4, 10).unwrap();
    let unassigned: Vec<_> = i4
        .iter()
        .filter(|(_, c)| c.kind == CreditKind::Unassigned)
        .collect();
    assert_eq!(unassigned.len(), 1);
    assert_eq!(
        i4.iter().map(|(_, c)| c.amount).sum::<U256>(),
        U256::from(12_345)
    );
    // Attributions by block, in log order.
    let ev = query::block_attributions(r.txn(), 3).unwrap();
    assert_eq!(ev.len(), 2);
    assert!(ev.windows(2).all(|w| w[0].0 < w[1].0));
}

#[test]
fn a_batch_whose_logged_totals_disagree_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    chain_to_2(&store);
    // Split with a config the index does not know: the re-derivation cannot match.
    let (input, logs, _) = batch_tx(1, &batch1(), &cfg2());
    let hash = keccak256(&input[4..]);
    commit(&store, 3, 30, vec![tx(LEDGER_ADDRESS, input, logs)]);
    let r = store.latest().unwrap();
    let b = query::batch(r.txn(), hash).unwrap().unwrap();
    assert!(!b.derived);
    // The inferences are still known from the calldata.
    assert_eq!(
        query::inference(r.txn(), B256::repeat_byte(0x22))
            .unwrap()
            .len(),
        1
    );
    let rows: Vec<_> = all_credits(
        &store,
        CreditFilter {
            from_block: 3,
            ..Default::default()
        },
    );
    assert!(
        rows.iter()
            .all(|(_, c)| c.kind == CreditKind::BatchAggregate)
    );
    assert_eq!(sum_by_recipient(&rows), batch_tx(1, &batch1(), &cfg2()).2);
}

#[test]
fn paging_filters_groups_and_ranks() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut exp = chain_to_2(&store);
    chain_3_4(&store, &mut exp);
    let everything = all_credits(&store, CreditFilter::default());
    assert!(
        everything.windows(2).all(|w| w[0].0 < w[1].0),
        "chain order, no repeats"
    );
    let r = store.latest().unwrap();
    // A big page equals the concatenation of small ones.
    let big = query::credits(
        r.txn(),
        &CreditFilter {
            to_block: u64::MAX,
            limit: 1_000,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(big.items.len(), everything.len());
    assert_eq!(big.next, None);
    for (f, pred) in [
        (
            CreditFilter {
                contributor: Some(C1),
                ..Default::default()
            },
            Box::new(|c: &super::CreditRow| c.recipient == C1)
                as Box<dyn Fn(&super::CreditRow) -> bool>,
        ),
        (
            CreditFilter {
                datanet: Some(D2),
                ..Default::default()
            },
            Box::new(|c| c.datanet == Some(D2)),
        ),
        (
            CreditFilter {
                model: Some(MODEL),
                ..Default::default()
            },
            Box::new(|c| c.model == MODEL),
        ),
        (
            CreditFilter {
                contributor: Some(C2),
                datanet: Some(D2),
                ..Default::default()
            },
            Box::new(|c| c.recipient == C2 && c.datanet == Some(D2)),
        ),
        (
            CreditFilter {
                from_block: 3,
                ..Default::default()
            },
            Box::new(|_| true),
        ),
    ] {
        let from = f.from_block;
        let got = all_credits(&store, f);
        let want: Vec<_> = everything
            .iter()
            .filter(|(c, row)| c.block >= from && pred(row))
            .cloned()
            .collect();
        assert!(!want.is_empty());
        assert_eq!(got, want);
    }
    let only2 = query::credits(
        r.txn(),
        &CreditFilter {
            from_block: 2,
            to_block: 2,
            limit: 100,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(only2.items.iter().all(|(c, _)| c.block == 2) && only2.items.len() == 5);
    // Groups sum to the account's total.
    let total = query::account(r.txn(), C1).unwrap().credited;
    for by in [GroupBy::Datanet, GroupBy::Model, GroupBy::Day] {
        let groups = query::account_groups(r.txn(), C1, by).unwrap();
        assert_eq!(
            groups.iter().map(|g| g.1.amount).sum::<U256>(),
            total.amount
        );
        assert_eq!(groups.iter().map(|g| g.1.count).sum::<u64>(), total.count);
    }
    let days: Vec<_> = query::account_groups(r.txn(), TREASURY2, GroupBy::Day)
        .unwrap()
        .into_iter()
        .map(|g| g.0)
        .collect();
    assert_eq!(days, [GroupKey::Day(3), GroupKey::Day(4)]);
    let pools = query::account_groups(r.txn(), PAYOUT, GroupBy::Datanet).unwrap();
    assert_eq!(pools.len(), 1);
    assert_eq!(pools[0].0, GroupKey::Datanet(None));
    assert_eq!(pools[0].1.amount, exp[&PAYOUT]);
    // Top contributors of a datanet, by amount.
    let top = query::top_contributors(r.txn(), D2, 10).unwrap();
    assert!(top.len() >= 2);
    assert!(top.windows(2).all(|w| w[0].1.amount >= w[1].1.amount));
    let d2 = query::datanet(r.txn(), D2).unwrap().unwrap();
    assert_eq!(
        top.iter().map(|t| t.1.amount).sum::<U256>(),
        d2.credits.amount
    );
    assert_eq!(d2.contributors as usize, top.len());
    assert_eq!(query::top_contributors(r.txn(), D2, 1).unwrap(), top[..1]);
    // Day totals.
    let day3 = query::day(r.txn(), 3).unwrap();
    assert_eq!(day3.count, 4);
}

#[test]
fn unwind_restores_exactly_and_replays_identically() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut exp = chain_to_2(&store);
    let at2 = dump(&store);
    chain_3_4(&store, &mut exp);
    let at4 = dump(&store);
    store.unwind_to(2).unwrap();
    assert_eq!(dump(&store), at2);
    let r = store.latest().unwrap();
    assert!(query::inference(r.txn(), I4).unwrap().is_empty());
    assert_eq!(query::fee_config(r.txn()).unwrap(), None);
    drop(r);
    // The same blocks again give the same index.
    let mut exp2 = BTreeMap::new();
    expected_credits(1_000_003, &SHARES1, &cfg(), &mut exp2);
    chain_3_4(&store, &mut exp2);
    assert_eq!(dump(&store), at4);
    assert_eq!(exp2, exp);
    // Down to genesis and up again.
    store.unwind_to(0).unwrap();
    let r = store.latest().unwrap();
    assert_eq!(query::tip(r.txn()).unwrap().map(|t| t.0), Some(0));
    assert_eq!(query::model(r.txn(), MODEL).unwrap(), None);
    assert_eq!(query::account(r.txn(), C1).unwrap(), Default::default());
}

#[test]
fn backfill_matches_live_indexing() {
    let live = tempfile::tempdir().unwrap();
    let store = open(live.path());
    let mut exp = chain_to_2(&store);
    chain_3_4(&store, &mut exp);
    let want = dump(&store);
    let late = tempfile::tempdir().unwrap();
    {
        let plain = Store::open(late.path()).unwrap();
        let mut e = chain_to_2(&plain);
        chain_3_4(&plain, &mut e);
    }
    let store = open(late.path());
    let got = dump(&store);
    for (name, rows) in &want {
        assert_eq!(got.get(name), Some(rows), "table {name}");
    }
    assert_eq!(got, want);
}

#[test]
fn genesis_fee_config_and_models_registered_in_genesis() {
    let mut storage = BTreeMap::new();
    let c = cfg();
    let key = |i: u64| B256::from(field(Ns::Config, B256::ZERO, i));
    storage.insert(key(1), B256::from(c.packed_bps()));
    storage.insert(key(2), c.treasury.into_word());
    storage.insert(key(3), c.staker_pool.into_word());
    assert_eq!(AttributionIndex::genesis_fee_config(Some(&storage)), c);
    assert_eq!(
        AttributionIndex::genesis_fee_config(None),
        FeeConfig::default()
    );
    // A model registered in genesis (no ModelRegistered): the payout comes from the state.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let model = crate::layout::ModelRecord {
        owner: OWNER,
        tokenizer_id: 1,
        payout: PAYOUT,
        cumulative_fees: 0,
        inferences: 0,
    };
    let words = model.to_words();
    let alloc = StateChanges {
        storage: vec![opal_storage::StorageChange {
            address: LEDGER_ADDRESS,
            wipe: false,
            slots: (0..2)
                .map(|i| (field(Ns::Model, MODEL, i), words[i as usize]))
                .collect(),
        }],
        ..Default::default()
    };
    store
        .commit_block(0, &alloc, |r| {
            Ok(BlockRecord::empty(Header {
                state_root: r.state_root,
                ..Default::default()
            }))
        })
        .unwrap();
    let shares = [(D1, C1, 1i128)];
    commit(
        &store,
        1,
        1,
        vec![tx(
            LEDGER_ADDRESS,
            Bytes::new(),
            inference_logs(I1, 10_000, &shares, &cfg()),
        )],
    );
    let mut exp = BTreeMap::new();
    expected_credits(10_000, &shares, &cfg(), &mut exp);
    assert_eq!(claimable(&store, exp.keys().copied()), exp);
    let r = store.latest().unwrap();
    let m = query::model(r.txn(), MODEL).unwrap().unwrap();
    assert_eq!((m.owner, m.payout, m.inferences), (None, PAYOUT, 1));
}

#[test]
fn days_cursors_and_records_round_trip() {
    for (day, s) in [
        (0, "1970-01-01"),
        (59, "1970-03-01"),
        (11_016, "2000-02-29"),
        (19_723, "2024-01-01"),
        (20_513, "2026-03-01"),
    ] {
        assert_eq!(query::day_string(day), s);
        assert_eq!(query::parse_day(s), Some(day));
    }
    assert_eq!(query::parse_day("2023-02-29"), None);
    assert_eq!(query::parse_day("nope"), None);
    let c = Cursor {
        block: 7,
        log: 3,
        sub: 9,
    };
    assert_eq!(Cursor::from_hex(&c.to_hex()), Some(c));
    assert_eq!(Cursor::from_hex("0x12"), None);
    assert_eq!(super::day_of(3 * DAY + 1), 3);
}

const MODEL2: B256 = b256!("0x1000000000000000000000000000000000000000000000000000000000000002");
/// A model never registered (its payout, from the empty ledger state, is zero).
const MODEL3: B256 = b256!("0x1000000000000000000000000000000000000000000000000000000000000003");
const PAYOUT2: Address = address!("0x0000000000000000000000000000000000000022");
const D3: B256 = b256!("0xd000000000000000000000000000000000000000000000000000000000000003");

/// Pseudo-random chains of blocks mixing every kind of ledger event, the way the ledger emits
/// them: batches sent directly (re-derived) or through a contract, batches whose totals do not
/// match (fallback), `recordInference`, orphan credits, claims, fee config changes and registry
/// events, with contributors, datanets and inference ids drawn from small pools so totals, ranks
/// and ids repeat.
struct ChainGen {
    rng: crate::sandbox::SplitMix64,
    cfg: FeeConfig,
    nonce: u64,
    timestamp: u64,
    model2: bool,
}

impl ChainGen {
    fn new(seed: u64) -> Self {
        Self {
            rng: crate::sandbox::SplitMix64(seed),
            cfg: cfg(),
            nonce: 0,
            timestamp: 0,
            model2: false,
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng.below(n)
    }

    fn contributors() -> Vec<Address> {
        (1..=12u8)
            .map(|i| Address::with_last_byte(0xc0 + i))
            .collect()
    }

    fn datanets() -> [B256; 4] {
        [D1, D2, D3, B256::ZERO]
    }

    fn ids() -> Vec<B256> {
        (1..=40u8).map(B256::with_last_byte).collect()
    }

    fn id(&mut self) -> B256 {
        B256::with_last_byte(self.below(40) as u8 + 1)
    }

    fn model(&mut self) -> (B256, Address) {
        match self.below(6) {
            0 if self.model2 => (MODEL2, PAYOUT2),
            1 => (MODEL3, Address::ZERO),
            _ => (MODEL, PAYOUT),
        }
    }

    fn shares(&mut self) -> Vec<(B256, Address, i128)> {
        let contributors = Self::contributors();
        (0..self.below(6))
            .map(|_| {
                let d = Self::datanets()[self.below(3) as usize];
                let c = contributors[self.below(12) as usize];
                (d, c, self.below(8) as i128 - 2)
            })
            .collect()
    }

    fn fee(&mut self) -> u64 {
        if self.below(10) == 0 {
            0
        } else {
            self.below(2_000_000)
        }
    }

    fn batch(&mut self, model: B256, payout: Address, config: &FeeConfig) -> (Bytes, Vec<Log>) {
        self.nonce += 1;
        let batch: Batch = (0..1 + self.below(6))
            .map(|_| (self.id(), self.fee(), self.shares()))
            .collect();
        let mut call = batch_call(self.nonce, &batch);
        call.modelId = model;
        let input = Bytes::from(call.abi_encode());
        let hash = keccak256(&input[4..]);
        let mut credits: BTreeMap<Address, U256> = BTreeMap::new();
        for (_, fee, shares) in &batch {
            let scores: Vec<i128> = shares.iter().map(|s| s.2).collect();
            let s = split(U256::from(*fee), config.bps, &scores, 0).unwrap();
            let mut add = |a: Address, v: U256| {
                if !v.is_zero() {
                    *credits.entry(a).or_default() += v;
                }
            };
            for (share, amount) in shares.iter().zip(&s.per_contributor) {
                add(share.1, *amount);
            }
            add(payout, s.model);
            add(config.staker_pool, s.staker);
            add(config.treasury, s.protocol + s.unassigned);
        }
        let mut logs: Vec<Log> = credits
            .iter()
            .map(|(a, v)| {
                ledger_log(&L::BatchCredited {
                    batchHash: hash,
                    recipient: *a,
                    amount: *v,
                })
            })
            .collect();
        logs.push(ledger_log(&L::BatchAttributed {
            batchHash: hash,
            modelId: model,
            attestor: ATTESTOR,
            totalFee: U256::from(batch.iter().map(|b| b.1).sum::<u64>()),
            inferences: batch.len() as u32,
        }));
        (input, logs)
    }

    fn inference(&mut self, model: B256) -> Vec<Log> {
        let id = self.id();
        let fee = self.fee();
        let shares = self.shares();
        let scores: Vec<i128> = shares.iter().map(|s| s.2).collect();
        let s = split(U256::from(fee), self.cfg.bps, &scores, 0).unwrap();
        let mut logs = vec![ledger_log(&L::InferenceAttributed {
            inferenceId: id,
            modelId: model,
            attestor: ATTESTOR,
            fee: U256::from(fee),
            recordHash: keccak256(id),
        })];
        for (share, amount) in shares.iter().zip(&s.per_contributor) {
            if share.2 > 0 {
                logs.push(ledger_log(&L::ShareCredited {
                    inferenceId: id,
                    datanetId: share.0,
                    contributor: share.1,
                    amount: *amount,
                }));
            }
        }
        logs
    }

    /// The timestamp and transactions of the next block.
    fn block(&mut self) -> (u64, Vec<Tx>) {
        self.timestamp += self.below(DAY / 2);
        let mut txs = vec![];
        for _ in 0..self.below(7) {
            let (model, payout) = self.model();
            let config = self.cfg;
            txs.push(match self.below(16) {
                0..=4 => {
                    let (input, logs) = self.batch(model, payout, &config);
                    tx(LEDGER_ADDRESS, input, logs)
                }
                5 => {
                    let (input, logs) = self.batch(model, payout, &config);
                    tx(Address::repeat_byte(0x99), input, logs)
                }
                6 => {
                    // Split with the other config: the re-derivation cannot match.
                    let other = if config == cfg() { cfg2() } else { cfg() };
                    let (input, logs) = self.batch(model, payout, &other);
                    tx(LEDGER_ADDRESS, input, logs)
                }
                7..=9 => {
                    let logs = self.inference(model);
                    tx(LEDGER_ADDRESS, Bytes::new(), logs)
                }
                10 => {
                    let contributors = Self::contributors();
                    let amount = U256::from(self.below(1_000));
                    let account = contributors[self.below(12) as usize];
                    let log = if self.below(2) == 0 {
                        ledger_log(&L::Claimed {
                            account,
                            to: account,
                            amount,
                        })
                    } else {
                        // Orphan credits: no attribution event names them.
                        let id = self.id();
                        let d = Self::datanets()[self.below(4) as usize];
                        ledger_log(&L::ShareCredited {
                            inferenceId: id,
                            datanetId: d,
                            contributor: account,
                            amount,
                        })
                    };
                    tx(LEDGER_ADDRESS, Bytes::new(), vec![log])
                }
                11 => {
                    self.cfg = if self.cfg == cfg() { cfg2() } else { cfg() };
                    let c = self.cfg;
                    tx(
                        LEDGER_ADDRESS,
                        Bytes::new(),
                        vec![ledger_log(&L::FeeConfigSet {
                            protocolBps: c.bps[0],
                            modelBps: c.bps[1],
                            stakerBps: c.bps[2],
                            contributorBps: c.bps[3],
                            treasury: c.treasury,
                            stakerPool: c.staker_pool,
                        })],
                    )
                }
                12 => {
                    self.model2 = true;
                    let d = Self::datanets()[self.below(3) as usize];
                    tx(
                        LEDGER_ADDRESS,
                        Bytes::new(),
                        vec![
                            ledger_log(&L::ModelRegistered {
                                modelId: MODEL2,
                                owner: OWNER,
                                payout: PAYOUT2,
                                tokenizerId: 9,
                            }),
                            ledger_log(&L::DatanetUpdated {
                                datanetId: d,
                                version: self.below(100),
                                contributionRoot: B256::with_last_byte(self.below(256) as u8),
                                fingerprintRoot: B256::ZERO,
                            }),
                        ],
                    )
                }
                13 => {
                    let hash = B256::with_last_byte(0xee);
                    tx(
                        LEDGER_ADDRESS,
                        Bytes::new(),
                        vec![ledger_log(&L::BatchCredited {
                            batchHash: hash,
                            recipient: Self::contributors()[self.below(12) as usize],
                            amount: U256::from(self.below(500)),
                        })],
                    )
                }
                _ => tx(Address::repeat_byte(0x77), Bytes::new(), vec![]),
            });
        }
        (self.timestamp, txs)
    }
}

/// A block of two direct batches (per-share rows for recipients, datanets and an inference id
/// the index already holds, so its posting lists, runs and in-place totals and ranks all move),
/// a `recordInference` and a claim.
fn batch_block(config: &FeeConfig) -> (Vec<Tx>, [B256; 2]) {
    let first: Batch = vec![
        (I1, 40_001, vec![(D1, C1, 3), (D2, C2, 2), (D1, C3, 1)]),
        (
            B256::repeat_byte(0x41),
            123_457,
            vec![(D2, C1, 1), (D1, C2, 4), (D2, C3, -1)],
        ),
        (B256::repeat_byte(0x41), 5, vec![(D1, C1, 1)]),
    ];
    let second: Batch = vec![
        (
            B256::repeat_byte(0x42),
            999_999,
            vec![(D1, C3, 7), (D2, C3, 1)],
        ),
        (B256::repeat_byte(0x43), 0, vec![(D2, C2, 1)]),
    ];
    let (a, a_logs, _) = batch_tx(10, &first, config);
    let (b, b_logs, _) = batch_tx(11, &second, config);
    let hashes = [keccak256(&a[4..]), keccak256(&b[4..])];
    let txs = vec![
        tx(LEDGER_ADDRESS, a, a_logs),
        tx(
            LEDGER_ADDRESS,
            Bytes::new(),
            inference_logs(B256::repeat_byte(0x44), 77_777, &SHARES1, config),
        ),
        tx(LEDGER_ADDRESS, b, b_logs),
        tx(
            LEDGER_ADDRESS,
            Bytes::new(),
            vec![ledger_log(&L::Claimed {
                account: C2,
                to: C2,
                amount: U256::from(17),
            })],
        ),
    ];
    (txs, hashes)
}

#[test]
fn unwinding_a_batch_block_leaves_every_table_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    chain_to_2(&store);
    let before = dump(&store);
    let (txs, hashes) = batch_block(&cfg());
    commit(&store, 3, 3 * DAY, txs.clone());
    let after = dump(&store);
    // The block wrote per-share rows, their posting lists and runs, and moved totals in place.
    let r = store.latest().unwrap();
    for h in hashes {
        assert!(query::batch(r.txn(), h).unwrap().unwrap().derived);
    }
    let rows = query::credits(
        r.txn(),
        &CreditFilter {
            from_block: 3,
            to_block: 3,
            limit: 1_000,
            ..Default::default()
        },
    )
    .unwrap()
    .items;
    assert!(
        rows.iter()
            .filter(|(_, c)| c.kind == CreditKind::Contributor && c.batch.is_some())
            .count()
            >= 8
    );
    assert_eq!(query::inference(r.txn(), I1).unwrap().len(), 2);
    assert_eq!(
        query::inference(r.txn(), B256::repeat_byte(0x41))
            .unwrap()
            .len(),
        2
    );
    drop(r);
    for (name, rows) in &after {
        if !name.contains("undo") && !name.contains("meta") {
            assert_ne!(before.get(name), Some(rows), "block 3 did not touch {name}");
        }
    }
    store.unwind_to(2).unwrap();
    let unwound = dump(&store);
    for (name, rows) in &before {
        assert_eq!(unwound.get(name), Some(rows), "table {name}");
    }
    assert_eq!(unwound, before);
    // Indexed again, the block gives the same tables.
    commit(&store, 3, 3 * DAY, txs);
    assert_eq!(dump(&store), after);
}

/// Every credit row, from a chain of pages over the whole range.
fn every_credit(store: &Store) -> Vec<(Cursor, super::CreditRow)> {
    all_credits(store, CreditFilter::default())
}

#[test]
fn random_chains_unwind_block_by_block_and_replay_exactly() {
    for seed in 1..=4 {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        commit(&store, 0, 0, vec![]);
        commit(&store, 1, 1, registry_block());
        let mut g = ChainGen::new(seed);
        let mut dumps = vec![dump(&store)];
        let mut blocks = vec![];
        for n in 2..30 {
            let (ts, txs) = g.block();
            commit(&store, n, ts + 10, txs.clone());
            blocks.push((ts + 10, txs));
            dumps.push(dump(&store));
        }
        // What the secondary tables answer is what the credit rows say.
        let every = every_credit(&store);
        assert!(every.len() > 100, "seed {seed}: {} credits", every.len());
        let r = store.latest().unwrap();
        for a in ChainGen::contributors()
            .into_iter()
            .chain([PAYOUT, TREASURY, TREASURY2, STAKERS])
        {
            let mine: Vec<_> = every
                .iter()
                .filter(|(_, c)| c.recipient == a)
                .cloned()
                .collect();
            let got = all_credits(
                &store,
                CreditFilter {
                    contributor: Some(a),
                    ..Default::default()
                },
            );
            assert_eq!(got, mine);
            let t = query::account(r.txn(), a).unwrap().credited;
            assert_eq!(t.count, mine.len() as u64);
            assert_eq!(t.amount, mine.iter().map(|(_, c)| c.amount).sum::<U256>());
        }
        for id in ChainGen::ids() {
            let mine: Vec<_> = every
                .iter()
                .filter(|(_, c)| c.inference == Some(id))
                .cloned()
                .collect();
            assert_eq!(
                query::inference_credits(r.txn(), id, usize::MAX).unwrap(),
                mine
            );
        }
        for d in ChainGen::datanets() {
            let mine: Vec<_> = every
                .iter()
                .filter(|(_, c)| c.datanet == Some(d))
                .cloned()
                .collect();
            let got = all_credits(
                &store,
                CreditFilter {
                    datanet: Some(d),
                    ..Default::default()
                },
            );
            assert_eq!(got, mine);
        }
        drop(r);
        // Down one block at a time: every table as it was before the block.
        for n in (2..30u64).rev() {
            store.unwind_to(n - 1).unwrap();
            assert!(
                dump(&store) == dumps[(n - 2) as usize],
                "seed {seed}: unwinding block {n}"
            );
        }
        // And up again: the same tables block by block.
        for (k, (ts, txs)) in blocks.into_iter().enumerate() {
            commit(&store, k as u64 + 2, ts, txs);
            assert!(dump(&store) == dumps[k + 1], "seed {seed}: replaying");
        }
    }
}

#[test]
fn random_chain_backfill_matches_live_indexing() {
    let live = tempfile::tempdir().unwrap();
    let late = tempfile::tempdir().unwrap();
    let plain = Store::open(late.path()).unwrap();
    let store = open(live.path());
    let mut g = ChainGen::new(99);
    for s in [&store, &plain] {
        commit(s, 0, 0, vec![]);
        commit(s, 1, 1, registry_block());
    }
    for n in 2..40 {
        let (ts, txs) = g.block();
        commit(&store, n, ts + 10, txs.clone());
        commit(&plain, n, ts + 10, txs);
    }
    drop(plain);
    assert!(dump(&open(late.path())) == dump(&store));
}

#[test]
fn encoded_row_lengths() {
    let tx = super::TxRef::default();
    let mut v = vec![];
    super::rows::InferenceRow {
        model: MODEL,
        attestor: ATTESTOR,
        fee: U256::MAX,
        record_hash: None,
        batch: Some(B256::ZERO),
        shares: 3,
        tx,
    }
    .encode_into(&mut v);
    assert_eq!(v.len(), super::rows::INFERENCE_LEN);
    v.clear();
    super::CreditRow {
        kind: CreditKind::Model,
        recipient: PAYOUT,
        amount: U256::from(5),
        inference: None,
        batch: None,
        model: MODEL,
        datanet: None,
        tx,
    }
    .encode_into(&mut v);
    assert_eq!(v.len(), super::rows::CREDIT_LEN);
}

#[test]
fn new_rows_go_into_every_gap_and_never_over_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = redb::Database::create(dir.path().join("db")).unwrap();
    let def = kv::Tbl::Credits.def();
    let key = |p: u8, i: u8| [p, 0, i];
    let txn = db.begin_write().unwrap();
    {
        let mut t = txn.open_table(def).unwrap();
        for i in (0..60).step_by(3) {
            t.insert(key(1, i).as_slice(), [i].as_slice()).unwrap();
        }
        // Sorted keys sharing their prefix but falling into many gaps between existing keys, in
        // runs long and short, then a key already present.
        let new: Vec<[u8; 3]> = (0..60).filter(|i| i % 3 != 0).map(|i| key(1, i)).collect();
        let rows: Vec<(&[u8], &[u8])> = new.iter().map(|k| (k.as_slice(), &k[2..])).collect();
        kv::insert_new(&mut t, kv::Tbl::Credits, 1, &rows).unwrap();
        let mut run: Vec<[u8; 3]> = (100..140).map(|i| key(1, i)).collect();
        run.extend((0..20).map(|i| key(2, i)));
        let rows: Vec<(&[u8], &[u8])> = run.iter().map(|k| (k.as_slice(), &k[2..])).collect();
        kv::insert_new(&mut t, kv::Tbl::Credits, 1, &rows).unwrap();
        let all: Vec<(Vec<u8>, Vec<u8>)> = t
            .iter()
            .unwrap()
            .map(|e| {
                let (k, v) = e.unwrap();
                (k.value().to_vec(), v.value().to_vec())
            })
            .collect();
        let want: Vec<(Vec<u8>, Vec<u8>)> = (0..60)
            .chain(100..140)
            .map(|i| (key(1, i).to_vec(), vec![i]))
            .chain((0..20).map(|i| (key(2, i).to_vec(), vec![i])))
            .collect();
        assert_eq!(all, want);
        for (at, len) in [(0, 1), (17, 1), (5, 30)] {
            let dup: Vec<[u8; 3]> = (0..len).map(|i| key(1, at + i)).collect();
            let rows: Vec<(&[u8], &[u8])> = dup.iter().map(|k| (k.as_slice(), &[][..])).collect();
            let err = kv::insert_new(&mut t, kv::Tbl::Credits, 1, &rows).unwrap_err();
            assert!(
                matches!(err, opal_storage::StoreError::Corrupt { .. }),
                "{err}"
            );
        }
    }
    drop(txn);
}
