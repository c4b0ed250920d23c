//! Stateless admission checks: everything that needs only the bytes, the chain id and the
//! next block's base fee and gas limit, in the order geth-compatible clients expect.

use alloy::{
    consensus::{Transaction, transaction::SignerRecoverable},
    eips::eip2718::Decodable2718,
    primitives::{Bytes, U256},
};
use op_alloy::consensus::OpTxEnvelope;
use revm::{
    context_interface::cfg::gas::calculate_initial_tx_gas,
    primitives::{eip3860::MAX_INITCODE_SIZE, hardfork::SpecId},
};

use crate::{BlockContext, PoolConfig, PoolError, PooledTx};

/// Intrinsic gas rules: Isthmus executes with Prague's (EIP-7623 floor, EIP-7702
/// authorizations), and every Opal chain runs Isthmus.
const SPEC: SpecId = SpecId::PRAGUE;

/// Runs the stateless checks on `raw` — size, decoding, chain id, sender recovery (the only
/// one), fee fields, gas limit, intrinsic gas, fee cap against the base fee — and returns the
/// transaction ready to be checked against state. `seq` is left 0 for the pool to fill.
pub(crate) fn validate_stateless(
    raw: &[u8],
    config: &PoolConfig,
    ctx: &BlockContext<'_>,
) -> Result<PooledTx, PoolError> {
    if raw.len() > config.max_tx_size {
        return Err(PoolError::OversizedData {
            size: raw.len(),
            limit: config.max_tx_size,
        });
    }
    let envelope = decode(raw)?;
    match envelope.chain_id() {
        None => return Err(PoolError::Unprotected),
        Some(have) if have != ctx.chain_id => {
            return Err(PoolError::InvalidChainId {
                have,
                want: ctx.chain_id,
            });
        }
        Some(_) => {}
    }
    let hash = envelope.tx_hash();
    let tx = envelope
        .try_into_recovered()
        .map_err(|_| PoolError::InvalidSender)?;
    let sender = tx.signer();

    let fee_cap = tx.max_fee_per_gas();
    let tip = tx.priority_fee_or_price();
    if tip > fee_cap {
        return Err(PoolError::TipAboveFeeCap {
            sender,
            tip,
            fee_cap,
        });
    }
    let gas = tx.gas_limit();
    if gas > ctx.block_gas_limit {
        return Err(PoolError::GasLimit {
            gas,
            limit: ctx.block_gas_limit,
        });
    }
    check_intrinsic_gas(tx.inner())?;

    let min_fee = ctx.base_fee.max(config.min_base_fee);
    if fee_cap < u128::from(min_fee) {
        return Err(PoolError::FeeCapTooLow {
            sender,
            fee_cap,
            base_fee: min_fee,
        });
    }
    let nonce = tx.nonce();
    if nonce == u64::MAX {
        return Err(PoolError::NonceMax { sender, nonce });
    }

    let cost = U256::from(gas)
        .saturating_mul(U256::from(fee_cap))
        .saturating_add(tx.value());
    Ok(PooledTx {
        hash,
        sender,
        nonce,
        encoded: Bytes::copy_from_slice(raw),
        tx,
        added: ctx.now,
        cost,
        seq: 0,
    })
}

/// Decodes the EIP-2718 bytes, refusing blob, deposit and unknown types with a clear reason
/// before trying to decode them.
fn decode(raw: &[u8]) -> Result<OpTxEnvelope, PoolError> {
    match raw.first() {
        None => return Err(PoolError::Decode("empty transaction bytes".into())),
        Some(0x03) => return Err(PoolError::BlobTxNotSupported),
        Some(0x7e) => return Err(PoolError::DepositTxNotAllowed),
        // Below 0x7f the first byte is an EIP-2718 type; legacy RLP lists start at 0xc0.
        Some(&ty) if ty < 0x7f && !matches!(ty, 1 | 2 | 4) => {
            return Err(PoolError::TxTypeNotSupported(ty));
        }
        Some(_) => {}
    }
    let envelope =
        OpTxEnvelope::decode_2718_exact(raw).map_err(|err| PoolError::Decode(err.to_string()))?;
    match envelope {
        OpTxEnvelope::Deposit(_) => Err(PoolError::DepositTxNotAllowed),
        OpTxEnvelope::PostExec(_) => Err(PoolError::TxTypeNotSupported(0x7d)),
        OpTxEnvelope::Legacy(_)
        | OpTxEnvelope::Eip2930(_)
        | OpTxEnvelope::Eip1559(_)
        | OpTxEnvelope::Eip7702(_) => Ok(envelope),
    }
}

/// EIP-3860 init code size, EIP-7702 non-empty authorizations, then revm's intrinsic gas
/// and EIP-7623 floor.
fn check_intrinsic_gas(tx: &impl Transaction) -> Result<(), PoolError> {
    if tx.is_create() && tx.input().len() > MAX_INITCODE_SIZE {
        return Err(PoolError::MaxInitCodeSize {
            size: tx.input().len(),
            limit: MAX_INITCODE_SIZE,
        });
    }
    let auths = tx.authorization_list().map(|list| list.len() as u64);
    if auths == Some(0) {
        return Err(PoolError::EmptyAuthList);
    }
    let (accounts, slots) = tx.access_list().map_or((0, 0), |list| {
        let slots = list.iter().map(|item| item.storage_keys.len() as u64).sum();
        (list.len() as u64, slots)
    });
    let initial = calculate_initial_tx_gas(
        SPEC,
        tx.input(),
        tx.is_create(),
        accounts,
        slots,
        auths.unwrap_or(0),
    );
    let gas = tx.gas_limit();
    if gas < initial.initial_total_gas {
        return Err(PoolError::IntrinsicGas {
            gas,
            needed: initial.initial_total_gas,
        });
    }
    if gas < initial.floor_gas {
        return Err(PoolError::FloorDataGas {
            gas,
            needed: initial.floor_gas,
        });
    }
    Ok(())
}
