//! Indexing one block: decode the ledger's logs from the receipts and turn them into rows and
//! totals, all through the block's [`Journal`].

use std::collections::{BTreeMap, BTreeSet};

use alloy::{
    consensus::Transaction as _,
    sol_types::{SolCall, SolEventInterface},
};
use alloy_primitives::{Address, B256, BloomInput, U256, keccak256};
use alloy_rlp::Decodable;
use op_alloy::consensus::{OpReceiptEnvelope, OpTxEnvelope};
use opal_storage::{BlockRecord, StoreError};
use redb::WriteTransaction;
use tracing::warn;

use super::{
    kv::{Journal, Tbl},
    rows::{
        AccountTotals, AttributionRef, BatchRow, ClaimRow, CreditKind, CreditRow, Cursor,
        DatanetRow, InferenceRow, ModelRow, Totals, TxRef, decode_fee_config, encode_fee_config,
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
        Vec::<OpReceiptEnvelope>::decode(&mut block.receipts.as_slice()).unwrap_or_else(|e| {
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
        timestamp: block.header.timestamp,
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
    bx.j.put(Tbl::Meta, TIP, &tip);
    bx.j.flush()
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

struct BlockIndexing<'t> {
    j: Journal<'t>,
    txn: &'t WriteTransaction,
    fee: FeeConfig,
    block: u64,
    timestamp: u64,
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

impl BlockIndexing<'_> {
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
                    let mut m = self.model(e.modelId)?;
                    m.owner = Some(e.owner);
                    m.payout = e.payout;
                    m.tokenizer_id = e.tokenizerId;
                    m.registered_block = Some(self.block);
                    self.j.put(Tbl::Models, e.modelId.as_slice(), &m.encode());
                }
                Ev::DatanetRegistered(e) => {
                    let mut d = self.datanet(e.datanetId)?;
                    d.owner = Some(e.owner);
                    d.registered_block = Some(self.block);
                    self.j
                        .put(Tbl::Datanets, e.datanetId.as_slice(), &d.encode());
                }
                Ev::DatanetUpdated(e) => {
                    let mut d = self.datanet(e.datanetId)?;
                    d.version = e.version;
                    d.contribution_root = e.contributionRoot;
                    d.fingerprint_root = e.fingerprintRoot;
                    d.updated_block = Some(self.block);
                    d.updates += 1;
                    self.j
                        .put(Tbl::Datanets, e.datanetId.as_slice(), &d.encode());
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
                    let key = cat(&[&self.block.to_be_bytes(), &log.to_be_bytes()]);
                    self.j.put(Tbl::Claims, &key, &row.encode());
                    let mut a = self.account(e.account)?;
                    a.claimed.add(e.amount);
                    self.j.put(Tbl::Accounts, e.account.as_slice(), &a.encode());
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
        self.j.put(
            Tbl::Inferences,
            &cat(&[e.inferenceId.as_slice(), &at.to_bytes()]),
            &row.encode(),
        );
        self.model_inferences(model, 1, e.fee)?;
        for d in datanets {
            let mut row = self.datanet(d)?;
            row.inferences += 1;
            self.j.put(Tbl::Datanets, d.as_slice(), &row.encode());
        }
        self.attribution(log, AttributionRef::Inference(e.inferenceId), e.fee, 1)
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
        let derived = derive_batch(body, e.batchHash, &self.fee, payout, &emitted);
        if let Some(d) = &derived {
            for (i, (id, fee, shares)) in d.inferences.iter().enumerate() {
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
                self.j.put(
                    Tbl::Inferences,
                    &cat(&[id.as_slice(), &key.to_bytes()]),
                    &row.encode(),
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
                    let mut row = self.datanet(dn)?;
                    row.inferences += c;
                    self.j.put(Tbl::Datanets, dn.as_slice(), &row.encode());
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
            e.totalFee,
            u64::from(e.inferences),
        )
    }

    /// Records the attribution event of a block and the day's totals.
    fn attribution(
        &mut self,
        log: u32,
        r: AttributionRef,
        fee: U256,
        inferences: u64,
    ) -> Result<(), StoreError> {
        self.j.put(
            Tbl::Events,
            &cat(&[&self.block.to_be_bytes(), &log.to_be_bytes()]),
            &r.encode(),
        );
        let day = day_of(self.timestamp).to_be_bytes();
        let mut t = self.totals(Tbl::Days, &day)?;
        t.amount = t.amount.saturating_add(fee);
        t.count += inferences;
        self.j.put(Tbl::Days, &day, &t.encode());
        Ok(())
    }

    fn model_inferences(&mut self, model: B256, n: u64, fees: U256) -> Result<(), StoreError> {
        let mut m = self.model(model)?;
        if m.payout.is_zero() {
            m.payout = self.payout(model)?;
        }
        m.inferences += n;
        m.fees = m.fees.saturating_add(fees);
        m.first_block.get_or_insert(self.block);
        m.last_block = Some(self.block);
        self.j.put(Tbl::Models, model.as_slice(), &m.encode());
        Ok(())
    }

    /// Writes one credit row, its secondary keys and every total it moves.
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
        self.j.put(Tbl::Credits, &ck, &row.encode());
        self.j
            .put(Tbl::ByRecipient, &cat(&[c.recipient.as_slice(), &ck]), &[]);
        self.j
            .put(Tbl::ByModel, &cat(&[model.as_slice(), &ck]), &[]);
        if let Some(d) = c.datanet {
            self.j.put(Tbl::ByDatanet, &cat(&[d.as_slice(), &ck]), &[]);
        }
        if let Some(i) = c.inference {
            self.j
                .put(Tbl::ByInference, &cat(&[i.as_slice(), &ck]), &[]);
        }
        let mut a = self.account(c.recipient)?;
        a.credited.add(c.amount);
        self.j
            .put(Tbl::Accounts, c.recipient.as_slice(), &a.encode());
        let dn = c.datanet.unwrap_or_default();
        for (t, key) in [
            (
                Tbl::AccountDatanet,
                cat(&[c.recipient.as_slice(), dn.as_slice()]),
            ),
            (
                Tbl::AccountModel,
                cat(&[c.recipient.as_slice(), model.as_slice()]),
            ),
            (
                Tbl::AccountDay,
                cat(&[
                    c.recipient.as_slice(),
                    &day_of(self.timestamp).to_be_bytes(),
                ]),
            ),
        ] {
            let mut tot = self.totals(t, &key)?;
            tot.add(c.amount);
            self.j.put(t, &key, &tot.encode());
        }
        match (c.kind, c.datanet) {
            (CreditKind::Contributor, Some(d)) => {
                let key = cat(&[d.as_slice(), c.recipient.as_slice()]);
                let old = self.totals(Tbl::DatanetContributor, &key)?;
                let mut new = old;
                new.add(c.amount);
                self.j.put(Tbl::DatanetContributor, &key, &new.encode());
                let mut row = self.datanet(d)?;
                if old.count == 0 {
                    row.contributors += 1;
                } else {
                    self.j
                        .del(Tbl::DatanetRank, &rank_key(d, old.amount, c.recipient));
                }
                self.j
                    .put(Tbl::DatanetRank, &rank_key(d, new.amount, c.recipient), &[]);
                row.credits.add(c.amount);
                self.j.put(Tbl::Datanets, d.as_slice(), &row.encode());
                let mut m = self.model(model)?;
                m.contributor_credits.add(c.amount);
                self.j.put(Tbl::Models, model.as_slice(), &m.encode());
            }
            (CreditKind::Model, _) => {
                let mut m = self.model(model)?;
                m.model_pool = m.model_pool.saturating_add(c.amount);
                self.j.put(Tbl::Models, model.as_slice(), &m.encode());
            }
            _ => {}
        }
        Ok(())
    }

    fn totals(&self, t: Tbl, key: &[u8]) -> Result<Totals, StoreError> {
        self.j
            .get(t, key)?
            .map_or(Ok(Totals::default()), |v| Totals::decode(&v, t))
    }

    fn account(&self, a: Address) -> Result<AccountTotals, StoreError> {
        self.j
            .get(Tbl::Accounts, a.as_slice())?
            .map_or(Ok(AccountTotals::default()), |v| AccountTotals::decode(&v))
    }

    fn model(&self, id: B256) -> Result<ModelRow, StoreError> {
        self.j
            .get(Tbl::Models, id.as_slice())?
            .map_or(Ok(ModelRow::default()), |v| ModelRow::decode(&v))
    }

    fn datanet(&self, id: B256) -> Result<DatanetRow, StoreError> {
        self.j
            .get(Tbl::Datanets, id.as_slice())?
            .map_or(Ok(DatanetRow::default()), |v| DatanetRow::decode(&v))
    }

    /// The model's payout address: from its `ModelRegistered`, or from the ledger state for a
    /// model registered in genesis (payouts never change).
    fn payout(&self, model: B256) -> Result<Address, StoreError> {
        let m = self.model(model)?;
        if !m.payout.is_zero() {
            return Ok(m.payout);
        }
        let w = opal_storage::state_storage(self.txn, LEDGER_ADDRESS, field(Ns::Model, model, 1))?;
        Ok(Address::from_word(B256::from(w)))
    }
}

/// `datanet ‖ amount ‖ contributor`: contributors of a datanet in amount order.
pub(crate) fn rank_key(datanet: B256, amount: U256, contributor: Address) -> Vec<u8> {
    cat(&[
        datanet.as_slice(),
        &amount.to_be_bytes::<32>(),
        contributor.as_slice(),
    ])
}

/// Re-derives a batch's per-share credits from the transaction's calldata when the
/// transaction called the ledger directly and its calldata hashes to the batch hash: each
/// inference is split with the fee config in force, exactly as the ledger does. `None` when
/// the calldata is not visible (the batch came through a contract) or cannot be split.
fn derive_batch(
    tx: Option<&OpTxEnvelope>,
    batch_hash: B256,
    cfg: &FeeConfig,
    payout: Address,
    emitted: &BTreeMap<Address, U256>,
) -> Option<Derived> {
    let tx = tx?;
    if tx.to() != Some(LEDGER_ADDRESS) {
        return None;
    }
    let input = tx.input();
    if input.len() < 4
        || input[..4] != L::recordBatchCall::SELECTOR
        || keccak256(&input[4..]) != batch_hash
    {
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
