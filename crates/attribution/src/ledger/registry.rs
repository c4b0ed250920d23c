//! Registry, governance and view entry points of the ledger.

use alloy::sol_types::SolCall;
use alloy_primitives::{Address, Bytes, U256};

use super::{
    L,
    ctx::{Ctx, Res},
    revert,
};
use crate::layout::{
    DatanetRecord, FeeConfig, InferenceRecord, ModelRecord, Ns, Role, address_key, field, slot,
};
use alloy_primitives::B256;

use crate::genesis::CONFIG_KEY;

fn ret<C: SolCall>(r: &C::Return) -> Bytes {
    Bytes::from(C::abi_encode_returns(r))
}

pub(super) fn role(cx: &mut Ctx<'_, '_>, account: Address) -> Res<Role> {
    let v = cx.sload(slot(Ns::Role, address_key(account)))?;
    Ok(Role::from_u8(v.saturating_to::<u8>()).unwrap_or(Role::None))
}

fn require_registrar(cx: &mut Ctx<'_, '_>, who: Address) -> Res<()> {
    match role(cx, who)? {
        Role::Registrar | Role::Admin => Ok(()),
        _ => Err(revert(L::NotAuthorized {})),
    }
}

fn require_admin(cx: &mut Ctx<'_, '_>, who: Address) -> Res<()> {
    match role(cx, who)? {
        Role::Admin => Ok(()),
        _ => Err(revert(L::NotAuthorized {})),
    }
}

pub(super) fn load_model(cx: &mut Ctx<'_, '_>, id: B256) -> Res<ModelRecord> {
    Ok(ModelRecord::from_words(
        cx.load_words::<3>(slot(Ns::Model, id))?,
    ))
}

pub(super) fn load_datanet(cx: &mut Ctx<'_, '_>, id: B256) -> Res<DatanetRecord> {
    Ok(DatanetRecord::from_words(
        cx.load_words::<3>(slot(Ns::Datanet, id))?,
    ))
}

pub(super) fn load_fee_config(cx: &mut Ctx<'_, '_>) -> Res<FeeConfig> {
    let w = cx.load_words::<3>(field(Ns::Config, CONFIG_KEY, 1))?;
    Ok(FeeConfig::from_words(w[0], w[1], w[2]))
}

pub(super) fn register_model(
    cx: &mut Ctx<'_, '_>,
    who: Address,
    c: L::registerModelCall,
) -> Res<Bytes> {
    require_registrar(cx, who)?;
    if c.modelId.is_zero() || c.owner.is_zero() || c.payout.is_zero() {
        return Err(revert(L::BadInput {}));
    }
    let base = slot(Ns::Model, c.modelId);
    // A registered model has a non-zero owner in field 0.
    if !cx.sload(base)?.is_zero() {
        return Err(revert(L::BadInput {}));
    }
    let record = ModelRecord {
        owner: c.owner,
        tokenizer_id: c.tokenizerId,
        payout: c.payout,
        cumulative_fees: 0,
        inferences: 0,
    };
    cx.store_words(base, &record.to_words()[..2])?;
    cx.emit(&L::ModelRegistered {
        modelId: c.modelId,
        owner: c.owner,
        payout: c.payout,
        tokenizerId: c.tokenizerId,
    })?;
    Ok(Bytes::new())
}

pub(super) fn register_datanet(
    cx: &mut Ctx<'_, '_>,
    who: Address,
    c: L::registerDatanetCall,
) -> Res<Bytes> {
    require_registrar(cx, who)?;
    if c.datanetId.is_zero() || c.owner.is_zero() {
        return Err(revert(L::BadInput {}));
    }
    let base = slot(Ns::Datanet, c.datanetId);
    if !cx.sload(base)?.is_zero() {
        return Err(revert(L::BadInput {}));
    }
    let record = DatanetRecord {
        owner: c.owner,
        ..Default::default()
    };
    cx.sstore(base, record.to_words()[0])?;
    cx.emit(&L::DatanetRegistered {
        datanetId: c.datanetId,
        owner: c.owner,
    })?;
    Ok(Bytes::new())
}

pub(super) fn update_datanet(
    cx: &mut Ctx<'_, '_>,
    who: Address,
    c: L::updateDatanetCall,
) -> Res<Bytes> {
    let base = slot(Ns::Datanet, c.datanetId);
    let mut d = DatanetRecord::from_words([cx.sload(base)?, U256::ZERO, U256::ZERO]);
    if !d.exists() {
        return Err(revert(L::UnknownDatanet { id: c.datanetId }));
    }
    if d.owner != who {
        return Err(revert(L::NotAuthorized {}));
    }
    if c.version <= d.version {
        return Err(revert(L::BadVersion {}));
    }
    d.version = c.version;
    d.contribution_root = c.contributionRoot;
    d.fingerprint_root = c.fingerprintRoot;
    cx.store_words(base, &d.to_words())?;
    cx.emit(&L::DatanetUpdated {
        datanetId: c.datanetId,
        version: c.version,
        contributionRoot: c.contributionRoot,
        fingerprintRoot: c.fingerprintRoot,
    })?;
    Ok(Bytes::new())
}

pub(super) fn set_fee_config(
    cx: &mut Ctx<'_, '_>,
    who: Address,
    c: L::setFeeConfigCall,
) -> Res<Bytes> {
    require_admin(cx, who)?;
    let bps = [c.protocolBps, c.modelBps, c.stakerBps, c.contributorBps];
    if bps.iter().map(|b| u32::from(*b)).sum::<u32>() != 10_000
        || c.treasury.is_zero()
        || c.stakerPool.is_zero()
    {
        return Err(revert(L::BadInput {}));
    }
    let config = FeeConfig {
        bps,
        treasury: c.treasury,
        staker_pool: c.stakerPool,
    };
    cx.store_words(
        field(Ns::Config, CONFIG_KEY, 1),
        &[
            config.packed_bps(),
            U256::from_be_bytes(c.treasury.into_word().0),
            U256::from_be_bytes(c.stakerPool.into_word().0),
        ],
    )?;
    cx.emit(&L::FeeConfigSet {
        protocolBps: c.protocolBps,
        modelBps: c.modelBps,
        stakerBps: c.stakerBps,
        contributorBps: c.contributorBps,
        treasury: c.treasury,
        stakerPool: c.stakerPool,
    })?;
    Ok(Bytes::new())
}

pub(super) fn set_role(cx: &mut Ctx<'_, '_>, who: Address, c: L::setRoleCall) -> Res<Bytes> {
    require_admin(cx, who)?;
    if Role::from_u8(c.role).is_none() || c.account.is_zero() {
        return Err(revert(L::BadInput {}));
    }
    cx.sstore(slot(Ns::Role, address_key(c.account)), U256::from(c.role))?;
    cx.emit(&L::RoleSet {
        account: c.account,
        role: c.role,
        by: who,
    })?;
    Ok(Bytes::new())
}

pub(super) fn claimable(cx: &mut Ctx<'_, '_>, c: L::claimableCall) -> Res<Bytes> {
    let v = cx.sload(slot(Ns::Claimable, address_key(c.account)))?;
    Ok(ret::<L::claimableCall>(&v))
}

pub(super) fn get_inference(cx: &mut Ctx<'_, '_>, c: L::getInferenceCall) -> Res<Bytes> {
    let r = InferenceRecord::from_words(cx.load_words::<3>(slot(Ns::Inference, c.inferenceId))?);
    Ok(ret::<L::getInferenceCall>(&L::getInferenceReturn {
        recordHash: r.record_hash,
        modelId: r.model_id,
        blockNumber: r.block_number,
        fee: r.fee,
    }))
}

pub(super) fn get_datanet(cx: &mut Ctx<'_, '_>, c: L::getDatanetCall) -> Res<Bytes> {
    let d = load_datanet(cx, c.datanetId)?;
    Ok(ret::<L::getDatanetCall>(&L::getDatanetReturn {
        owner: d.owner,
        version: d.version,
        contributionRoot: d.contribution_root,
        fingerprintRoot: d.fingerprint_root,
    }))
}

pub(super) fn get_model(cx: &mut Ctx<'_, '_>, c: L::getModelCall) -> Res<Bytes> {
    let m = load_model(cx, c.modelId)?;
    Ok(ret::<L::getModelCall>(&L::getModelReturn {
        owner: m.owner,
        payout: m.payout,
        tokenizerId: m.tokenizer_id,
        cumulativeFees: m.cumulative_fees,
        inferences: m.inferences,
    }))
}

pub(super) fn fee_config(cx: &mut Ctx<'_, '_>) -> Res<Bytes> {
    let f = load_fee_config(cx)?;
    Ok(ret::<L::feeConfigCall>(&L::feeConfigReturn {
        protocolBps: f.bps[0],
        modelBps: f.bps[1],
        stakerBps: f.bps[2],
        contributorBps: f.bps[3],
        treasury: f.treasury,
        stakerPool: f.staker_pool,
    }))
}

pub(super) fn role_of(cx: &mut Ctx<'_, '_>, c: L::roleOfCall) -> Res<Bytes> {
    let r = role(cx, c.account)?;
    Ok(ret::<L::roleOfCall>(&(r as u8)))
}

pub(super) fn batch_nonce(cx: &mut Ctx<'_, '_>, c: L::batchNonceCall) -> Res<Bytes> {
    let v = cx.sload(slot(Ns::BatchNonce, address_key(c.attestor)))?;
    Ok(ret::<L::batchNonceCall>(&v.saturating_to::<u64>()))
}
