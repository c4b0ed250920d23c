//! Attestation and payment entry points: `recordInference`, `recordBatch` and `claim`.
//!
//! Both record paths split each fee with [`crate::fee_split::split`] (the one implementation the
//! FeeSplit precompile and the RPC previews use too) and credit claimable balances. A batch
//! aggregates its credits per recipient in memory and writes each recipient once, in address
//! order.

use std::collections::{BTreeMap, BTreeSet};

use alloy::sol_types::{SolCall, SolValue};
use alloy_primitives::{Address, B256, Bytes, U256};

use super::{
    L, MAX_BATCH_INFERENCES, MAX_BATCH_RECIPIENTS, MAX_BATCH_SHARES, MAX_SHARES_PER_INFERENCE,
    ctx::{Ctx, Res},
    registry::{load_fee_config, load_model, role},
    revert,
};
use crate::{
    LEDGER_ADDRESS,
    fee_split::{Split, split},
    layout::{
        BatchRecord, FeeConfig, InferenceRecord, ModelRecord, Ns, Role, address_key, field, slot,
    },
};

/// Compute gas of one fee split over `n` scores (the FeeSplit schedule without its base).
pub fn split_compute_gas(n: usize) -> u64 {
    let n = n as u64;
    let log = if n <= 1 {
        0
    } else {
        64 - (n - 1).leading_zeros() as u64
    };
    60 * n + 40 * n * log
}

/// Gas per share for aggregating a batch's credits in memory.
pub const AGGREGATE_GAS_PER_SHARE: u64 = 20;
/// Gas per inference id for the in-memory duplicate check of a batch.
pub const DEDUP_GAS_PER_INFERENCE: u64 = 10;

fn require_attestor(cx: &mut Ctx<'_, '_>, who: Address) -> Res<()> {
    match role(cx, who)? {
        Role::Attestor => Ok(()),
        _ => Err(revert(L::NotAuthorized {})),
    }
}

fn require_model(cx: &mut Ctx<'_, '_>, id: B256) -> Res<ModelRecord> {
    let m = load_model(cx, id)?;
    if !m.exists() {
        return Err(revert(L::UnknownModel { id }));
    }
    Ok(m)
}

fn require_datanets(cx: &mut Ctx<'_, '_>, ids: impl Iterator<Item = B256>) -> Res<()> {
    let unique: BTreeSet<B256> = ids.collect();
    for id in unique {
        if cx.sload(slot(Ns::Datanet, id))?.is_zero() {
            return Err(revert(L::UnknownDatanet { id }));
        }
    }
    Ok(())
}

fn do_split(fee: u128, config: &FeeConfig, scores: &[i128]) -> Res<Split> {
    split(U256::from(fee), config.bps, scores, 0).map_err(|_| revert(L::BadInput {}))
}

/// Adds one inference's pools to the per-recipient credits.
fn credit_pools(
    credits: &mut BTreeMap<Address, U256>,
    s: &Split,
    payout: Address,
    config: &FeeConfig,
) {
    let mut add = |a: Address, v: U256| {
        if !v.is_zero() {
            *credits.entry(a).or_default() += v;
        }
    };
    add(payout, s.model);
    add(config.staker_pool, s.staker);
    // Nobody earned the unassigned part of the contributor pool: it goes to the treasury.
    add(config.treasury, s.protocol + s.unassigned);
}

fn add_claimable(cx: &mut Ctx<'_, '_>, account: Address, amount: U256) -> Res<()> {
    let s = slot(Ns::Claimable, address_key(account));
    let old = cx.sload(s)?;
    cx.sstore(s, old.saturating_add(amount))
}

fn bump_model(cx: &mut Ctx<'_, '_>, id: B256, mut m: ModelRecord, fees: u128, n: u64) -> Res<()> {
    m.cumulative_fees = m.cumulative_fees.saturating_add(fees);
    m.inferences = m.inferences.saturating_add(n);
    cx.sstore(field(Ns::Model, id, 2), m.to_words()[2])
}

fn block_number(cx: &Ctx<'_, '_>) -> u64 {
    cx.internals.block_number().saturating_to::<u64>()
}

pub(super) fn record_inference(
    cx: &mut Ctx<'_, '_>,
    who: Address,
    value: U256,
    c: L::recordInferenceCall,
) -> Res<Bytes> {
    let n = c.shares.len();
    if n > MAX_SHARES_PER_INFERENCE {
        return Err(revert(L::TooManyShares { n: U256::from(n) }));
    }
    require_attestor(cx, who)?;
    if value.is_zero() || value >= U256::from(1u8) << 128 {
        return Err(revert(L::FeeMismatch {}));
    }
    let fee = value.to::<u128>();
    if c.shares.iter().any(|s| s.contributor.is_zero()) {
        return Err(revert(L::BadInput {}));
    }
    let base = slot(Ns::Inference, c.inferenceId);
    if !cx.sload(base)?.is_zero() {
        return Err(revert(L::AlreadyRecorded {
            inferenceId: c.inferenceId,
        }));
    }
    let model = require_model(cx, c.modelId)?;
    require_datanets(cx, c.shares.iter().map(|s| s.datanetId))?;
    let config = load_fee_config(cx)?;
    cx.gas.charge(split_compute_gas(n))?;
    let scores: Vec<i128> = c.shares.iter().map(|s| s.score).collect();
    let s = do_split(fee, &config, &scores)?;

    let shares_hash = cx.keccak(&c.shares.abi_encode())?;
    let preimage = (
        U256::from(cx.internals.chain_id()),
        LEDGER_ADDRESS,
        c.inferenceId,
        c.modelId,
        c.outputHash,
        value,
        shares_hash,
    )
        .abi_encode();
    let record_hash = cx.keccak(&preimage)?;

    let mut credits = BTreeMap::new();
    for (share, amount) in c.shares.iter().zip(&s.per_contributor) {
        if !amount.is_zero() {
            *credits.entry(share.contributor).or_default() += *amount;
        }
    }
    credit_pools(&mut credits, &s, model.payout, &config);
    for (account, amount) in &credits {
        add_claimable(cx, *account, *amount)?;
    }
    let record = InferenceRecord {
        record_hash,
        model_id: c.modelId,
        block_number: block_number(cx),
        fee,
        n_shares: n as u32,
    };
    cx.store_words(base, &record.to_words())?;
    bump_model(cx, c.modelId, model, fee, 1)?;
    cx.emit(&L::InferenceAttributed {
        inferenceId: c.inferenceId,
        modelId: c.modelId,
        attestor: who,
        fee: value,
        recordHash: record_hash,
    })?;
    for (share, amount) in c.shares.iter().zip(&s.per_contributor) {
        if share.score > 0 {
            cx.emit(&L::ShareCredited {
                inferenceId: c.inferenceId,
                datanetId: share.datanetId,
                contributor: share.contributor,
                amount: *amount,
            })?;
        }
    }
    Ok(Bytes::from(L::recordInferenceCall::abi_encode_returns(
        &record_hash,
    )))
}

/// Checks the CSR index: `offsets[0] = 0`, monotone, last = number of shares, each inference at
/// most [`MAX_SHARES_PER_INFERENCE`] shares.
fn check_offsets(offsets: &[u32], n: usize, shares: usize) -> Res<()> {
    if offsets.len() != n + 1 || offsets[0] != 0 || offsets[n] as usize != shares {
        return Err(revert(L::BadInput {}));
    }
    for w in offsets.windows(2) {
        if w[1] < w[0] {
            return Err(revert(L::BadInput {}));
        }
        let k = (w[1] - w[0]) as usize;
        if k > MAX_SHARES_PER_INFERENCE {
            return Err(revert(L::TooManyShares { n: U256::from(k) }));
        }
    }
    Ok(())
}

pub(super) fn record_batch(
    cx: &mut Ctx<'_, '_>,
    who: Address,
    value: U256,
    data: &[u8],
    c: L::recordBatchCall,
) -> Res<Bytes> {
    let n = c.inferenceIds.len();
    let shares = c.shareScore.len();
    if shares > MAX_BATCH_SHARES {
        return Err(revert(L::TooManyShares {
            n: U256::from(shares),
        }));
    }
    if n == 0
        || n > MAX_BATCH_INFERENCES
        || c.fees.len() != n
        || c.shareDatanet.len() != shares
        || c.shareContributor.len() != shares
    {
        return Err(revert(L::BadInput {}));
    }
    check_offsets(&c.offsets, n, shares)?;
    require_attestor(cx, who)?;
    if c.fees.contains(&0) || c.shareContributor.iter().any(|a| a.is_zero()) {
        return Err(revert(L::BadInput {}));
    }
    let total: U256 = c.fees.iter().map(|f| U256::from(*f)).sum();
    if total != value || total >= U256::from(1u8) << 128 {
        return Err(revert(L::FeeMismatch {}));
    }
    cx.gas.charge(DEDUP_GAS_PER_INFERENCE * n as u64)?;
    let mut ids = c.inferenceIds.clone();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(revert(L::AlreadyRecorded { inferenceId: w[0] }));
    }
    let nonce_slot = slot(Ns::BatchNonce, address_key(who));
    let expected = cx
        .sload(nonce_slot)?
        .saturating_to::<u64>()
        .saturating_add(1);
    if c.nonce != expected {
        return Err(revert(L::BadNonce { expected }));
    }
    let model = require_model(cx, c.modelId)?;
    require_datanets(cx, c.shareDatanet.iter().copied())?;
    let config = load_fee_config(cx)?;

    let compute: u64 = c
        .offsets
        .windows(2)
        .map(|w| split_compute_gas((w[1] - w[0]) as usize))
        .sum::<u64>()
        + AGGREGATE_GAS_PER_SHARE * shares as u64;
    cx.gas.charge(compute)?;
    let mut credits: BTreeMap<Address, U256> = BTreeMap::new();
    for (i, w) in c.offsets.windows(2).enumerate() {
        let (lo, hi) = (w[0] as usize, w[1] as usize);
        let s = do_split(c.fees[i], &config, &c.shareScore[lo..hi])?;
        for (k, amount) in s.per_contributor.iter().enumerate() {
            if !amount.is_zero() {
                *credits.entry(c.shareContributor[lo + k]).or_default() += *amount;
            }
        }
        credit_pools(&mut credits, &s, model.payout, &config);
    }
    if credits.len() > MAX_BATCH_RECIPIENTS {
        return Err(revert(L::BadInput {}));
    }
    let batch_hash = cx.keccak(&data[4..])?;
    cx.emit(&L::BatchAttributed {
        batchHash: batch_hash,
        modelId: c.modelId,
        attestor: who,
        totalFee: total,
        inferences: n as u32,
    })?;
    for (account, amount) in &credits {
        add_claimable(cx, *account, *amount)?;
        cx.emit(&L::BatchCredited {
            batchHash: batch_hash,
            recipient: *account,
            amount: *amount,
        })?;
    }
    let total_fee = total.to::<u128>();
    let record = BatchRecord {
        attestor: who,
        inferences: n as u32,
        model_id: c.modelId,
        block_number: block_number(cx),
        total_fee,
    };
    cx.store_words(slot(Ns::Batch, batch_hash), &record.to_words())?;
    bump_model(cx, c.modelId, model, total_fee, n as u64)?;
    cx.sstore(nonce_slot, U256::from(c.nonce))?;
    Ok(Bytes::from(L::recordBatchCall::abi_encode_returns(
        &L::recordBatchReturn {
            batchHash: batch_hash,
            uniqueRecipients: credits.len() as u32,
        },
    )))
}

pub(super) fn claim(cx: &mut Ctx<'_, '_>, who: Address, c: L::claimCall) -> Res<Bytes> {
    // Paying to the zero address or to a precompile account would strand the funds for ever.
    if c.to.is_zero() || crate::ADDRESSES.contains(&c.to) {
        return Err(revert(L::BadInput {}));
    }
    let s = slot(Ns::Claimable, address_key(who));
    let amount = cx.sload(s)?;
    if !amount.is_zero() {
        cx.sstore(s, U256::ZERO)?;
        cx.pay_out(c.to, amount)?;
        cx.emit(&L::Claimed {
            account: who,
            to: c.to,
            amount,
        })?;
    }
    Ok(Bytes::from(L::claimCall::abi_encode_returns(&amount)))
}
