//! Indexing one block: decode the ledger's logs from the receipts and turn them into rows of the
//! block and updated records, all through the block's [`Journal`]; and unwinding it.

use std::{
    collections::{BTreeMap, BTreeSet},
    hash::Hash,
};

use alloy::{
    consensus::Transaction as _,
    sol_types::{SolCall, SolEventInterface},
};
use alloy_primitives::{Address, B256, BloomInput, U256, map::HashMap};
use alloy_rlp::Decodable;
use op_alloy::consensus::{OpReceiptEnvelope, OpTxEnvelope};
use opal_storage::{BlockRecord, StoreError};
use redb::{ReadableTable, WriteTransaction};
use tracing::warn;

use super::{
    kv::{self, Db, Journal, Tbl, corrupt},
    rows::{
        AccountTotals, AttributionRef, BatchRow, CREDIT_LEN, ClaimRow, CreditKind, CreditRow,
        Cursor, DatanetRow, INFERENCE_LEN, InferenceRow, ModelRow, Totals, TxRef,
        decode_fee_config, encode_fee_config,
    },
};
use crate::{
    LEDGER_ADDRESS,
    abi::IAttributionLedger::{
        self as L, BatchAttributed, BatchCredited, IAttributionLedgerEvents as Ev,
        InferenceAttributed, ShareCredited,
    },
    fee_split::split,
    layout::{FeeConfig, Ns, field},
};

/// The `minShareBps` the ledger splits with.
pub const LEDGER_MIN_SHARE_BPS: u16 = 0;

pub(crate) const TIP: &[u8] = b"tip";
pub(crate) const FEE: &[u8] = b"fee";

/// Seconds in a UTC day.
pub const DAY_SECONDS: u64 = 86_400;

/// The UTC day number (days since 1970-01-01) of a block timestamp.
pub fn day_of(timestamp: u64) -> u32 {
    (timestamp / DAY_SECONDS).min(u32::MAX as u64) as u32
}

pub(crate) fn decode_tip(v: &[u8]) -> Option<(u64, B256)> {
    (v.len() == 40).then(|| {
        (
            u64::from_be_bytes(v[..8].try_into().expect("8 bytes")),
            B256::from_slice(&v[8..]),
        )
    })
}

/// The transactions and receipts of a block as the executor stores them (RLP lists); empty
/// bytes are a block without transactions.
fn decode_block(block: &BlockRecord) -> (Vec<OpTxEnvelope>, Vec<OpReceiptEnvelope>) {
    let n = block.header.number;
    let txs = if block.body.is_empty() {
        vec![]
    } else {
        Vec::<OpTxEnvelope>::decode(&mut block.body.as_slice()).unwrap_or_else(|e| {
            warn!(block = n, error = %e, "attribution index: undecodable block body");
            vec![]
        })
    };
    let receipts = if block.receipts.is_empty() {
        vec![]
    } else {
        opal_primitives::receipts::decode_receipts(&block.receipts).unwrap_or_else(|e| {
            warn!(block = n, error = %e, "attribution index: undecodable receipts");
            vec![]
        })
    };
    (txs, receipts)
}

/// Indexes one block.
pub(crate) fn index_block(
    txn: &WriteTransaction,
    block: &BlockRecord,
    initial: &FeeConfig,
) -> Result<(), StoreError> {
    let n = block.header.number;
    let j = Journal::new(txn, n);
    let tip = j.get(Tbl::Meta, TIP)?.as_deref().and_then(decode_tip);
    match tip {
        Some((t, _)) if t + 1 == n => {}
        None if n == 0 => {}
        other => {
            return Err(StoreError::Index(format!(
                "attribution index: block {n} does not extend the indexed tip {other:?}"
            )));
        }
    }
    let fee = match j.get(Tbl::Meta, FEE)? {
        Some(v) => decode_fee_config(&v)?,
        None => *initial,
    };
    let mut bx = BlockIndexing {
        j,
        txn,
        fee,
        block: n,
        day: day_of(block.header.timestamp).to_be_bytes(),
        credited: Vec::new(),
        credit_totals: CreditTotals::default(),
        accounts: Cached::new(Tbl::Accounts),
        account_datanet: Cached::new(Tbl::AccountDatanet),
        account_model: Cached::new(Tbl::AccountModel),
        account_day: Cached::new(Tbl::AccountDay),
        datanet_contributor: Cached::new(Tbl::DatanetContributor),
        models: Cached::new(Tbl::Models),
        datanets: Cached::new(Tbl::Datanets),
        days: Cached::new(Tbl::Days),
    };
    // The header's bloom says whether any receipt has a log from the ledger; most blocks have
    // none and are not decoded at all.
    let (txs, receipts) = if block
        .header
        .logs_bloom
        .contains_input(BloomInput::Raw(LEDGER_ADDRESS.as_slice()))
    {
        decode_block(block)
    } else {
        (vec![], vec![])
    };
    // Room for the rows of the batches sent to the ledger, so the buffers are not regrown: a
    // batch's calldata takes 96 bytes per inference and per share, which make at most 4 and 1
    // credit rows.
    let mut calldata = 0;
    for t in &txs {
        if t.to() == Some(LEDGER_ADDRESS) {
            calldata += t.input().len();
        }
    }
    let (credits, inferences) = (calldata / 24, calldata / 96);
    bx.j.reserve(Tbl::Credits, credits, credits * CREDIT_LEN);
    bx.j.reserve(Tbl::Inferences, 2 * inferences, inferences * INFERENCE_LEN);
    bx.credited.reserve(credits);
    let mut log_index = 0u32;
    for (i, receipt) in receipts.iter().enumerate() {
        let logs = receipt.logs();
        let first = log_index;
        log_index += logs.len() as u32;
        let events: Vec<(u32, Ev)> = logs
            .iter()
            .enumerate()
            .filter(|(_, l)| l.address == LEDGER_ADDRESS)
            .filter_map(|(k, l)| match Ev::decode_raw_log(l.topics(), &l.data.data) {
                Ok(ev) => Some((first + k as u32, ev)),
                Err(e) => {
                    warn!(block = n, tx = i, error = %e, "attribution index: undecodable ledger log");
                    None
                }
            })
            .collect();
        if events.is_empty() {
            continue;
        }
        let tx = TxRef {
            index: i as u32,
            hash: block
                .tx_hashes
                .get(i)
                .copied()
                .or_else(|| txs.get(i).map(|t| t.tx_hash()))
                .unwrap_or_default(),
            timestamp: block.header.timestamp,
        };
        bx.transaction(tx, txs.get(i), events)?;
    }
    let mut tip = n.to_be_bytes().to_vec();
    tip.extend_from_slice(block.hash.as_slice());
    let mut j = bx.finish()?;
    j.put(Tbl::Meta, TIP, &tip);
    j.flush()
}

/// Removes what [`index_block`] wrote for block `n`: its rows (by the block's key ranges, and the
/// keys recomputed from them), then the keys it updated in place (from the undo log).
pub(crate) fn unwind_block(txn: &WriteTransaction, n: u64) -> Result<(), StoreError> {
    let mut keys: BTreeMap<Tbl, Vec<Vec<u8>>> = BTreeMap::new();
    let (lo, hi) = (
        Cursor::block_start(n).to_bytes(),
        Cursor::block_end(n).to_bytes(),
    );
    {
        let credits = txn.open_table(Tbl::Credits.def()).db()?;
        let mut credited = Vec::new();
        for e in credits.range(lo.as_slice()..=hi.as_slice()).db()? {
            let (k, v) = e.db()?;
            let ck: [u8; 16] = k
                .value()
                .try_into()
                .map_err(|_| corrupt(Tbl::Credits, "bad cursor key"))?;
            credited.push(CreditRef::new(ck, &CreditRow::decode(v.value())?));
        }
        credit_index(n, &mut credited, |t, key, _| {
            keys.entry(t).or_default().push(key.concat())
        });
    }
    kv::delete_range(txn, Tbl::Credits, &lo, &hi)?;
    let (lo, hi) = (&lo[..12], &hi[..12]);
    {
        let events = txn.open_table(Tbl::Events.def()).db()?;
        for e in events.range(lo..=hi).db()? {
            let (k, v) = e.db()?;
            let log = Cursor::from_bytes(&[k.value(), &[0; 4]].concat())
                .ok_or_else(|| corrupt(Tbl::Events, "bad key"))?
                .log;
            for (i, id) in AttributionRef::decode_rows(v.value())?
                .into_iter()
                .enumerate()
            {
                let at = Cursor {
                    block: n,
                    log,
                    sub: i as u32,
                };
                keys.entry(Tbl::Inferences)
                    .or_default()
                    .push([id.as_slice(), &at.to_bytes(), &[RECORD]].concat());
            }
        }
    }
    kv::delete_range(txn, Tbl::Events, lo, hi)?;
    kv::delete_range(txn, Tbl::Claims, lo, hi)?;
    for (t, mut k) in keys {
        kv::delete_keys(txn, t, &mut k)?;
    }
    kv::unwind_changes(txn, n)
}

/// The tag of an inference record in [`Tbl::Inferences`].
pub(crate) const RECORD: u8 = 0;
/// The tag of a run of an inference's credit rows in [`Tbl::Inferences`].
pub(crate) const RUN: u8 = 1;

/// What the secondary tables hold of a credit row.
struct CreditRef {
    ck: [u8; 16],
    recipient: Address,
    model: B256,
    datanet: Option<B256>,
    inference: Option<B256>,
}

impl CreditRef {
    fn new(ck: [u8; 16], row: &CreditRow) -> Self {
        Self {
            ck,
            recipient: row.recipient,
            model: row.model,
            datanet: row.datanet,
            inference: row.inference,
        }
    }
}

/// The secondary entries of a block's credit rows: for each recipient, datanet and model
/// credited, the block's posting list (`prefix ‖ block → (log ‖ sub)…`, ascending), and for each
/// inference its runs of consecutive rows (`id ‖ first cursor ‖ RUN → last cursor`), as
/// `f(table, key parts, value)`. Written at the end of the block, recomputed from the block's
/// rows on unwind.
fn credit_index(block: u64, rows: &mut [CreditRef], mut f: impl FnMut(Tbl, &[&[u8]], &[u8])) {
    rows.sort_unstable_by_key(|r| r.ck);
    let b = block.to_be_bytes();
    postings(
        rows,
        |r| Some(r.recipient.0.0),
        |k, v| f(Tbl::ByRecipient, &[&k, &b], v),
    );
    postings(
        rows,
        |r| r.datanet.map(|d| d.0),
        |k, v| f(Tbl::ByDatanet, &[&k, &b], v),
    );
    postings(
        rows,
        |r| Some(r.model.0),
        |k, v| f(Tbl::ByModel, &[&k, &b], v),
    );
    let mut run: Option<(B256, [u8; 16], [u8; 16])> = None;
    for r in rows.iter() {
        match (&mut run, r.inference) {
            (Some((id, _, last)), Some(i)) if *id == i => *last = r.ck,
            _ => {
                if let Some((id, first, last)) = run.take() {
                    f(Tbl::Inferences, &[id.as_slice(), &first, &[RUN]], &last);
                }
                run = r.inference.map(|i| (i, r.ck, r.ck));
            }
        }
    }
    if let Some((id, first, last)) = run {
        f(Tbl::Inferences, &[id.as_slice(), &first, &[RUN]], &last);
    }
}

/// Groups rows (in cursor order) by `key`, calling `emit(key, log ‖ sub of each row)` in key
/// order.
fn postings<const N: usize>(
    rows: &[CreditRef],
    key: impl Fn(&CreditRef) -> Option<[u8; N]>,
    mut emit: impl FnMut([u8; N], &[u8]),
) {
    let mut v: Vec<([u8; N], [u8; 8])> = rows
        .iter()
        .filter_map(|r| {
            key(r).map(|k| {
                let mut p = [0u8; 8];
                p.copy_from_slice(&r.ck[8..]);
                (k, p)
            })
        })
        .collect();
    v.sort_unstable();
    let mut list = Vec::new();
    for group in v.chunk_by(|a, b| a.0 == b.0) {
        list.clear();
        for (_, p) in group {
            list.extend_from_slice(p);
        }
        emit(group[0].0, &list);
    }
}

/// A record updated in place, decoded once per block.
trait Record: Copy + Default {
    fn decode(b: &[u8], t: Tbl) -> Result<Self, StoreError>;
    fn encode(&self) -> Vec<u8>;
}

impl Record for Totals {
    fn decode(b: &[u8], t: Tbl) -> Result<Self, StoreError> {
        Totals::decode(b, t)
    }
    fn encode(&self) -> Vec<u8> {
        Totals::encode(self)
    }
}

impl Record for AccountTotals {
    fn decode(b: &[u8], _: Tbl) -> Result<Self, StoreError> {
        AccountTotals::decode(b)
    }
    fn encode(&self) -> Vec<u8> {
        AccountTotals::encode(self)
    }
}

impl Record for ModelRow {
    fn decode(b: &[u8], _: Tbl) -> Result<Self, StoreError> {
        ModelRow::decode(b)
    }
    fn encode(&self) -> Vec<u8> {
        ModelRow::encode(self)
    }
}

impl Record for DatanetRow {
    fn decode(b: &[u8], _: Tbl) -> Result<Self, StoreError> {
        DatanetRow::decode(b)
    }
    fn encode(&self) -> Vec<u8> {
        DatanetRow::encode(self)
    }
}

/// A record as read before the block (its bytes and decoded) and as the block leaves it.
struct Slot<V> {
    stored: Option<Vec<u8>>,
    before: V,
    value: V,
    changed: bool,
}

/// The records of one table the block reads or updates, each read from the store once and
/// written to the journal once, at the end of the block, if the block changed it.
struct Cached<K, V> {
    t: Tbl,
    map: HashMap<K, Slot<V>>,
}

impl<K: AsRef<[u8]> + Hash + Eq + Copy, V: Record> Cached<K, V> {
    fn new(t: Tbl) -> Self {
        Self {
            t,
            map: HashMap::default(),
        }
    }

    fn slot(&mut self, j: &Journal<'_>, k: K) -> Result<&mut Slot<V>, StoreError> {
        use alloy_primitives::map::hash_map::Entry;
        Ok(match self.map.entry(k) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let stored = j.stored(self.t, k.as_ref())?;
                let before = match &stored {
                    Some(b) => V::decode(b, self.t)?,
                    None => V::default(),
                };
                e.insert(Slot {
                    stored,
                    before,
                    value: before,
                    changed: false,
                })
            }
        })
    }

    fn get(&mut self, j: &Journal<'_>, k: K) -> Result<V, StoreError> {
        Ok(self.slot(j, k)?.value)
    }

    fn get_mut(&mut self, j: &Journal<'_>, k: K) -> Result<&mut V, StoreError> {
        let s = self.slot(j, k)?;
        s.changed = true;
        Ok(&mut s.value)
    }

    /// Writes the records the block changed.
    fn write(self, j: &mut Journal<'_>) {
        for (k, s) in self.map {
            if s.changed {
                j.put_read(self.t, k.as_ref(), s.stored, s.value.encode());
            }
        }
    }
}

/// `a ‖ b` as an array.
fn key<const N: usize>(a: &[u8], b: &[u8]) -> [u8; N] {
    let mut k = [0u8; N];
    k[..a.len()].copy_from_slice(a);
    k[a.len()..].copy_from_slice(b);
    k
}

/// A per-share credit derived for a batch.
struct Derived {
    /// `(inference id, fee, shares)` in batch order.
    inferences: Vec<(B256, U256, u32)>,
    /// Credits in batch order.
    credits: Vec<NewCredit>,
    /// Whether the calldata re-derivation reproduces the emitted per-recipient totals.
    matches: bool,
}

struct NewCredit {
    kind: CreditKind,
    recipient: Address,
    amount: U256,
    inference: Option<B256>,
    datanet: Option<B256>,
}

/// What a block's credits add to totals, summed per key as the credits come and added to the
/// stored records once at the end of the block (the sum of saturating additions of amounts, all
/// non-negative, is the same in any grouping and order).
#[derive(Default)]
struct CreditTotals {
    /// recipient ‖ model → every credit (to [`Tbl::Accounts`], [`Tbl::AccountModel`],
    /// [`Tbl::AccountDay`]).
    by_model: HashMap<[u8; 52], Totals>,
    /// recipient ‖ datanet (zero: none) → every credit (to [`Tbl::AccountDatanet`]) and the
    /// contributor credits of that datanet (to [`Tbl::DatanetContributor`] and
    /// [`Tbl::Datanets`]).
    by_datanet: HashMap<[u8; 52], (Totals, Totals)>,
    /// model → contributor credits and the model pool (to [`Tbl::Models`]).
    models: HashMap<[u8; 32], (Totals, U256)>,
}

struct BlockIndexing<'t> {
    j: Journal<'t>,
    txn: &'t WriteTransaction,
    fee: FeeConfig,
    block: u64,
    /// The UTC day of the block, big-endian.
    day: [u8; 4],
    /// Every credit row of the block, for its secondary entries.
    credited: Vec<CreditRef>,
    /// What the block's credits add to totals.
    credit_totals: CreditTotals,
    accounts: Cached<[u8; 20], AccountTotals>,
    account_datanet: Cached<[u8; 52], Totals>,
    account_model: Cached<[u8; 52], Totals>,
    account_day: Cached<[u8; 24], Totals>,
    datanet_contributor: Cached<[u8; 52], Totals>,
    models: Cached<[u8; 32], ModelRow>,
    datanets: Cached<[u8; 32], DatanetRow>,
    days: Cached<[u8; 4], Totals>,
}

impl<'t> BlockIndexing<'t> {
    /// Adds the block's credits to the totals, writes the records the block changed to its
    /// journal with the rank moves of the contributors it credited and the secondary entries of
    /// its credit rows, and returns the journal.
    fn finish(mut self) -> Result<Journal<'t>, StoreError> {
        let CreditTotals {
            by_model,
            by_datanet,
            models,
        } = std::mem::take(&mut self.credit_totals);
        for (k, t) in by_model {
            let r: [u8; 20] = key(&k[..20], &[]);
            self.accounts.get_mut(&self.j, r)?.credited.merge(t);
            self.account_model.get_mut(&self.j, k)?.merge(t);
            self.account_day
                .get_mut(&self.j, key(&r, &self.day))?
                .merge(t);
        }
        for (k, (all, contributors)) in by_datanet {
            self.account_datanet.get_mut(&self.j, k)?.merge(all);
            if contributors.count == 0 {
                continue;
            }
            let (r, d) = (&k[..20], &k[20..]);
            let t = self.datanet_contributor.get_mut(&self.j, key(d, r))?;
            let first = t.count == 0;
            t.merge(contributors);
            let row = self.datanets.get_mut(&self.j, key(d, &[]))?;
            row.contributors += u64::from(first);
            row.credits.merge(contributors);
        }
        for (m, (contributors, pool)) in models {
            let row = self.models.get_mut(&self.j, m)?;
            row.contributor_credits.merge(contributors);
            row.model_pool = row.model_pool.saturating_add(pool);
        }
        let mut j = self.j;
        credit_index(self.block, &mut self.credited, |t, key, value| {
            j.add_row(t, key, |v| v.extend_from_slice(value))
        });
        for (k, s) in &self.datanet_contributor.map {
            if !s.changed {
                continue;
            }
            // A contributor credited before has exactly one rank key, at its amount then.
            let ranked = s.before.count != 0;
            if ranked && s.before.amount == s.value.amount {
                continue;
            }
            let d = B256::from_slice(&k[..32]);
            let c = Address::from_slice(&k[32..]);
            if ranked {
                j.del_read(
                    Tbl::DatanetRank,
                    &rank_key(d, s.before.amount, c),
                    Some(vec![]),
                );
            }
            j.put_read(
                Tbl::DatanetRank,
                &rank_key(d, s.value.amount, c),
                None,
                vec![],
            );
        }
        self.accounts.write(&mut j);
        self.account_datanet.write(&mut j);
        self.account_model.write(&mut j);
        self.account_day.write(&mut j);
        self.datanet_contributor.write(&mut j);
        self.models.write(&mut j);
        self.datanets.write(&mut j);
        self.days.write(&mut j);
        Ok(j)
    }

    fn transaction(
        &mut self,
        tx: TxRef,
        body: Option<&OpTxEnvelope>,
        events: Vec<(u32, Ev)>,
    ) -> Result<(), StoreError> {
        let mut shares: BTreeMap<B256, Vec<(u32, ShareCredited)>> = BTreeMap::new();
        let mut batch_credits: BTreeMap<B256, Vec<(u32, BatchCredited)>> = BTreeMap::new();
        for (log, ev) in &events {
            match ev {
                Ev::ShareCredited(s) => shares
                    .entry(s.inferenceId)
                    .or_default()
                    .push((*log, s.clone())),
                Ev::BatchCredited(b) => batch_credits
                    .entry(b.batchHash)
                    .or_default()
                    .push((*log, b.clone())),
                _ => {}
            }
        }
        for (log, ev) in events {
            match ev {
                Ev::ModelRegistered(e) => {
                    let m = self.models.get_mut(&self.j, e.modelId.0)?;
                    m.owner = Some(e.owner);
                    m.payout = e.payout;
                    m.tokenizer_id = e.tokenizerId;
                    m.registered_block = Some(self.block);
                }
                Ev::DatanetRegistered(e) => {
                    let d = self.datanets.get_mut(&self.j, e.datanetId.0)?;
                    d.owner = Some(e.owner);
                    d.registered_block = Some(self.block);
                }
                Ev::DatanetUpdated(e) => {
                    let d = self.datanets.get_mut(&self.j, e.datanetId.0)?;
                    d.version = e.version;
                    d.contribution_root = e.contributionRoot;
                    d.fingerprint_root = e.fingerprintRoot;
                    d.updated_block = Some(self.block);
                    d.updates += 1;
                }
                Ev::FeeConfigSet(e) => {
                    self.fee = FeeConfig {
                        bps: [e.protocolBps, e.modelBps, e.stakerBps, e.contributorBps],
                        treasury: e.treasury,
                        staker_pool: e.stakerPool,
                    };
                    self.j
                        .put(Tbl::Meta, super::apply::FEE, &encode_fee_config(&self.fee));
                }
                Ev::InferenceAttributed(e) => {
                    let s = shares.remove(&e.inferenceId).unwrap_or_default();
                    self.inference(tx, log, e, s)?;
                }
                Ev::BatchAttributed(e) => {
                    let c = batch_credits.remove(&e.batchHash).unwrap_or_default();
                    self.batch(tx, body, log, e, c)?;
                }
                Ev::Claimed(e) => {
                    let row = ClaimRow {
                        account: e.account,
                        to: e.to,
                        amount: e.amount,
                        tx,
                    };
                    self.j.add_row(
                        Tbl::Claims,
                        &[&self.block.to_be_bytes(), &log.to_be_bytes()],
                        |v| row.encode_into(v),
                    );
                    self.accounts
                        .get_mut(&self.j, e.account.0.0)?
                        .claimed
                        .add(e.amount);
                }
                Ev::ShareCredited(_) | Ev::BatchCredited(_) | Ev::RoleSet(_) => {}
            }
        }
        // Credits without their attribution event cannot come from the ledger as specified;
        // keep them so every credited wei is accounted for, and say so.
        for (id, list) in shares {
            warn!(block = self.block, inference = %id, "attribution index: ShareCredited without InferenceAttributed");
            for (log, s) in list {
                self.credit(
                    Cursor {
                        block: self.block,
                        log,
                        sub: 0,
                    },
                    tx,
                    NewCredit {
                        kind: CreditKind::Contributor,
                        recipient: s.contributor,
                        amount: s.amount,
                        inference: Some(id),
                        datanet: Some(s.datanetId),
                    },
                    B256::ZERO,
                    None,
                )?;
            }
        }
        for (hash, list) in batch_credits {
            warn!(block = self.block, batch = %hash, "attribution index: BatchCredited without BatchAttributed");
            for (log, c) in list {
                self.credit(
                    Cursor {
                        block: self.block,
                        log,
                        sub: 0,
                    },
                    tx,
                    NewCredit {
                        kind: CreditKind::BatchAggregate,
                        recipient: c.recipient,
                        amount: c.amount,
                        inference: None,
                        datanet: None,
                    },
                    B256::ZERO,
                    Some(hash),
                )?;
            }
        }
        Ok(())
    }

    fn inference(
        &mut self,
        tx: TxRef,
        log: u32,
        e: InferenceAttributed,
        shares: Vec<(u32, ShareCredited)>,
    ) -> Result<(), StoreError> {
        let at = Cursor {
            block: self.block,
            log,
            sub: 0,
        };
        let model = e.modelId;
        let paid: U256 = shares.iter().map(|(_, s)| s.amount).sum();
        let mut datanets = BTreeSet::new();
        for (slog, s) in &shares {
            datanets.insert(s.datanetId);
            self.credit(
                Cursor {
                    block: self.block,
                    log: *slog,
                    sub: 0,
                },
                tx,
                NewCredit {
                    kind: CreditKind::Contributor,
                    recipient: s.contributor,
                    amount: s.amount,
                    inference: Some(e.inferenceId),
                    datanet: Some(s.datanetId),
                },
                model,
                None,
            )?;
        }
        // The pools are credited without events: derive them as the ledger does.
        match split(e.fee, self.fee.bps, &[], LEDGER_MIN_SHARE_BPS) {
            Ok(pools) => {
                // With no scores the whole contributor pool comes back as `unassigned`.
                let pc = pools.unassigned;
                let unassigned = if paid > pc {
                    warn!(block = self.block, inference = %e.inferenceId, %paid, pool = %pc,
                        "attribution index: shares exceed the contributor pool; fee config out of step?");
                    U256::ZERO
                } else {
                    pc - paid
                };
                let payout = self.payout(model)?;
                let cfg = self.fee;
                let pool_credits = [
                    (CreditKind::Model, payout, pools.model),
                    (CreditKind::Staker, cfg.staker_pool, pools.staker),
                    (CreditKind::Protocol, cfg.treasury, pools.protocol),
                    (CreditKind::Unassigned, cfg.treasury, unassigned),
                ];
                let mut sub = 0;
                for (kind, recipient, amount) in pool_credits {
                    if amount.is_zero() {
                        continue;
                    }
                    self.credit(
                        Cursor { sub, ..at },
                        tx,
                        NewCredit {
                            kind,
                            recipient,
                            amount,
                            inference: Some(e.inferenceId),
                            datanet: None,
                        },
                        model,
                        None,
                    )?;
                    sub += 1;
                }
            }
            Err(err) => warn!(block = self.block, inference = %e.inferenceId, error = %err,
                "attribution index: cannot derive the pools of an inference"),
        }
        let row = InferenceRow {
            model,
            attestor: e.attestor,
            fee: e.fee,
            record_hash: Some(e.recordHash),
            batch: None,
            shares: shares.len() as u32,
            tx,
        };
        self.j.add_row(
            Tbl::Inferences,
            &[e.inferenceId.as_slice(), &at.to_bytes(), &[RECORD]],
            |v| row.encode_into(v),
        );
        self.model_inferences(model, 1, e.fee)?;
        for d in datanets {
            self.datanets.get_mut(&self.j, d.0)?.inferences += 1;
        }
        self.attribution(log, AttributionRef::Inference(e.inferenceId), &[], e.fee, 1)
    }

    fn batch(
        &mut self,
        tx: TxRef,
        body: Option<&OpTxEnvelope>,
        log: u32,
        e: BatchAttributed,
        credited: Vec<(u32, BatchCredited)>,
    ) -> Result<(), StoreError> {
        let at = Cursor {
            block: self.block,
            log,
            sub: 0,
        };
        let mut emitted: BTreeMap<Address, U256> = BTreeMap::new();
        for (_, c) in &credited {
            if !c.amount.is_zero() {
                *emitted.entry(c.recipient).or_default() += c.amount;
            }
        }
        let payout = self.payout(e.modelId)?;
        let derived = derive_batch(body, &self.fee, payout, &emitted);
        let mut ids = Vec::with_capacity(derived.as_ref().map_or(0, |d| d.inferences.len()));
        if let Some(d) = &derived {
            for (i, (id, fee, shares)) in d.inferences.iter().enumerate() {
                ids.push(*id);
                let row = InferenceRow {
                    model: e.modelId,
                    attestor: e.attestor,
                    fee: *fee,
                    record_hash: None,
                    batch: Some(e.batchHash),
                    shares: *shares,
                    tx,
                };
                let key = Cursor {
                    sub: i as u32,
                    ..at
                };
                self.j.add_row(
                    Tbl::Inferences,
                    &[id.as_slice(), &key.to_bytes(), &[RECORD]],
                    |v| row.encode_into(v),
                );
            }
        }
        let matches = derived.as_ref().is_some_and(|d| d.matches);
        match derived {
            Some(d) if d.matches => {
                let mut per_inference: BTreeMap<B256, BTreeSet<B256>> = BTreeMap::new();
                for (k, c) in d.credits.into_iter().enumerate() {
                    if let (Some(i), Some(dn)) = (c.inference, c.datanet) {
                        per_inference.entry(i).or_default().insert(dn);
                    }
                    self.credit(
                        Cursor {
                            sub: k as u32,
                            ..at
                        },
                        tx,
                        c,
                        e.modelId,
                        Some(e.batchHash),
                    )?;
                }
                let mut counts: BTreeMap<B256, u64> = BTreeMap::new();
                for set in per_inference.values() {
                    for dn in set {
                        *counts.entry(*dn).or_default() += 1;
                    }
                }
                for (dn, c) in counts {
                    self.datanets.get_mut(&self.j, dn.0)?.inferences += c;
                }
            }
            other => {
                warn!(
                    block = self.block,
                    batch = %e.batchHash,
                    calldata = other.is_some(),
                    "attribution index: batch shares not re-derivable; recording per-recipient totals"
                );
                for (clog, c) in credited.iter() {
                    self.credit(
                        Cursor {
                            block: self.block,
                            log: *clog,
                            sub: 0,
                        },
                        tx,
                        NewCredit {
                            kind: CreditKind::BatchAggregate,
                            recipient: c.recipient,
                            amount: c.amount,
                            inference: None,
                            datanet: None,
                        },
                        e.modelId,
                        Some(e.batchHash),
                    )?;
                }
            }
        }
        let row = BatchRow {
            cursor: at,
            model: e.modelId,
            attestor: e.attestor,
            total_fee: e.totalFee,
            inferences: e.inferences,
            recipients: credited.len() as u32,
            derived: matches,
            tx,
        };
        self.j
            .put(Tbl::Batches, e.batchHash.as_slice(), &row.encode());
        self.model_inferences(e.modelId, u64::from(e.inferences), e.totalFee)?;
        self.attribution(
            log,
            AttributionRef::Batch(e.batchHash),
            &ids,
            e.totalFee,
            u64::from(e.inferences),
        )
    }

    /// Records the attribution event of a block (with the ids of the inference rows a batch
    /// wrote) and the day's totals.
    fn attribution(
        &mut self,
        log: u32,
        r: AttributionRef,
        batch_rows: &[B256],
        fee: U256,
        inferences: u64,
    ) -> Result<(), StoreError> {
        self.j.add_row(
            Tbl::Events,
            &[&self.block.to_be_bytes(), &log.to_be_bytes()],
            |v| r.encode_into(batch_rows, v),
        );
        let t = self.days.get_mut(&self.j, self.day)?;
        t.amount = t.amount.saturating_add(fee);
        t.count += inferences;
        Ok(())
    }

    fn model_inferences(&mut self, model: B256, n: u64, fees: U256) -> Result<(), StoreError> {
        let payout = match self.models.get(&self.j, model.0)?.payout {
            p if p.is_zero() => self.payout(model)?,
            p => p,
        };
        let m = self.models.get_mut(&self.j, model.0)?;
        m.payout = payout;
        m.inferences += n;
        m.fees = m.fees.saturating_add(fees);
        m.first_block.get_or_insert(self.block);
        m.last_block = Some(self.block);
        Ok(())
    }

    /// Adds one credit row; its secondary entries and what it adds to totals are written at the
    /// end of the block (see [`Self::finish`]).
    fn credit(
        &mut self,
        cursor: Cursor,
        tx: TxRef,
        c: NewCredit,
        model: B256,
        batch: Option<B256>,
    ) -> Result<(), StoreError> {
        let ck = cursor.to_bytes();
        let row = CreditRow {
            kind: c.kind,
            recipient: c.recipient,
            amount: c.amount,
            inference: c.inference,
            batch,
            model,
            datanet: c.datanet,
            tx,
        };
        self.j.add_row(Tbl::Credits, &[&ck], |v| row.encode_into(v));
        self.credited.push(CreditRef::new(ck, &row));
        let r = c.recipient.as_slice();
        let t = &mut self.credit_totals;
        t.by_model
            .entry(key(r, model.as_slice()))
            .or_default()
            .add(c.amount);
        let dn = c.datanet.unwrap_or_default();
        let (all, contributors) = t.by_datanet.entry(key(r, dn.as_slice())).or_default();
        all.add(c.amount);
        match (c.kind, c.datanet) {
            (CreditKind::Contributor, Some(_)) => {
                contributors.add(c.amount);
                t.models.entry(model.0).or_default().0.add(c.amount);
            }
            (CreditKind::Model, _) => {
                let pool = &mut t.models.entry(model.0).or_default().1;
                *pool = pool.saturating_add(c.amount);
            }
            _ => {}
        }
        Ok(())
    }

    /// The model's payout address: from its `ModelRegistered`, or from the ledger state for a
    /// model registered in genesis (payouts never change).
    fn payout(&mut self, model: B256) -> Result<Address, StoreError> {
        let m = self.models.get(&self.j, model.0)?;
        if !m.payout.is_zero() {
            return Ok(m.payout);
        }
        let w = opal_storage::state_storage(self.txn, LEDGER_ADDRESS, field(Ns::Model, model, 1))?;
        Ok(Address::from_word(B256::from(w)))
    }
}

/// `datanet ‖ amount ‖ contributor`: contributors of a datanet in amount order.
pub(crate) fn rank_key(datanet: B256, amount: U256, contributor: Address) -> Vec<u8> {
    [
        datanet.as_slice(),
        &amount.to_be_bytes::<32>(),
        contributor.as_slice(),
    ]
    .concat()
}

/// Re-derives a batch's per-share credits from the transaction's calldata when the
/// transaction called the ledger directly (then the precompile ran on exactly that calldata, so
/// it is the batch; hashing 1–2 MB again to compare with the batch hash would only repeat the
/// ledger's work on the commit path): each inference is split with the fee config in force,
/// exactly as the ledger does, and the caller checks the sums against the emitted credits.
/// `None` when the calldata is not visible (the batch came through a contract) or cannot be
/// split.
fn derive_batch(
    tx: Option<&OpTxEnvelope>,
    cfg: &FeeConfig,
    payout: Address,
    emitted: &BTreeMap<Address, U256>,
) -> Option<Derived> {
    let tx = tx?;
    if tx.to() != Some(LEDGER_ADDRESS) {
        return None;
    }
    let input = tx.input();
    if input.len() < 4 || input[..4] != L::recordBatchCall::SELECTOR {
        return None;
    }
    let c = L::recordBatchCall::abi_decode(input).ok()?;
    let n = c.inferenceIds.len();
    let shares = c.shareScore.len();
    if c.fees.len() != n
        || c.offsets.len() != n + 1
        || c.offsets.first() != Some(&0)
        || c.offsets.last().map(|&o| o as usize) != Some(shares)
        || c.offsets.windows(2).any(|w| w[1] < w[0])
        || c.shareDatanet.len() != shares
        || c.shareContributor.len() != shares
    {
        return None;
    }
    let mut inferences = Vec::with_capacity(n);
    let mut credits = Vec::with_capacity(shares + 4 * n);
    for (i, w) in c.offsets.windows(2).enumerate() {
        let (lo, hi) = (w[0] as usize, w[1] as usize);
        let id = c.inferenceIds[i];
        let fee = U256::from(c.fees[i]);
        let s = split(fee, cfg.bps, &c.shareScore[lo..hi], LEDGER_MIN_SHARE_BPS).ok()?;
        let mut positive = 0u32;
        for k in lo..hi {
            if c.shareScore[k] > 0 {
                positive += 1;
                credits.push(NewCredit {
                    kind: CreditKind::Contributor,
                    recipient: c.shareContributor[k],
                    amount: s.per_contributor[k - lo],
                    inference: Some(id),
                    datanet: Some(c.shareDatanet[k]),
                });
            }
        }
        for (kind, recipient, amount) in [
            (CreditKind::Model, payout, s.model),
            (CreditKind::Staker, cfg.staker_pool, s.staker),
            (CreditKind::Protocol, cfg.treasury, s.protocol),
            (CreditKind::Unassigned, cfg.treasury, s.unassigned),
        ] {
            if !amount.is_zero() {
                credits.push(NewCredit {
                    kind,
                    recipient,
                    amount,
                    inference: Some(id),
                    datanet: None,
                });
            }
        }
        inferences.push((id, fee, positive));
    }
    let mut sums: BTreeMap<Address, U256> = BTreeMap::new();
    for c in &credits {
        if !c.amount.is_zero() {
            *sums.entry(c.recipient).or_default() += c.amount;
        }
    }
    let matches = &sums == emitted;
    Some(Derived {
        inferences,
        credits,
        matches,
    })
}
