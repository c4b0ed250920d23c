//! The AttributionLedger precompile (`0x…A77001`): registry, attestation, fee crediting and pull
//! payments, with all state in the ledger account and every access through the EVM journal.
//!
//! Safety rules (see `docs/attribution.md`): gas for the base cost and calldata copy is charged
//! before the input is decoded; DELEGATECALL and CALLCODE are refused; writes under STATICCALL
//! and value on non-payable selectors revert; storage and logs are priced as in EVM bytecode;
//! there are no sub-calls; maps are ordered, so iteration is deterministic.

mod ctx;
mod record;
mod registry;

use alloy::sol_types::{SolCall, SolError, SolInterface};
use alloy_evm::precompiles::PrecompileInput;
use alloy_primitives::Bytes;
use revm::precompile::{PrecompileError, PrecompileHalt, PrecompileOutput, PrecompileResult};

use crate::{
    LEDGER_ADDRESS,
    abi::IAttributionLedger::{self as L, IAttributionLedgerCalls as Call},
};
use ctx::{Ctx, Res, Stop};

/// Gas every ledger call pays before anything else.
pub const BASE_GAS: u64 = 500;
/// Gas per 32-byte word of calldata, charged with the base before decoding.
pub const WORD_GAS: u64 = 3;
/// Largest accepted calldata. The spec's 512 KiB cannot hold its own 16,384-share cap in ABI
/// encoding (96 bytes a share); 2 MiB holds a full batch (see `docs/attribution.md`).
pub const MAX_CALLDATA: usize = 2 * 1024 * 1024;
/// Most shares in one `recordInference`.
pub const MAX_SHARES_PER_INFERENCE: usize = 64;
/// Most inferences in one `recordBatch`.
pub const MAX_BATCH_INFERENCES: usize = 2_048;
/// Most shares in one `recordBatch`.
pub const MAX_BATCH_SHARES: usize = 16_384;
/// Most distinct recipients credited by one `recordBatch`.
pub const MAX_BATCH_RECIPIENTS: usize = 4_096;

pub(crate) fn revert<E: SolError>(e: E) -> Stop {
    Stop::Revert(Bytes::from(e.abi_encode()))
}

/// Whether a ledger selector accepts value (`recordInference`, `recordBatch`).
pub fn is_payable(selector: [u8; 4]) -> bool {
    selector == L::recordInferenceCall::SELECTOR || selector == L::recordBatchCall::SELECTOR
}

/// Whether a ledger selector is a view (allowed under STATICCALL).
pub fn is_view(selector: [u8; 4]) -> bool {
    [
        L::claimableCall::SELECTOR,
        L::getInferenceCall::SELECTOR,
        L::getDatanetCall::SELECTOR,
        L::getModelCall::SELECTOR,
        L::feeConfigCall::SELECTOR,
        L::roleOfCall::SELECTOR,
        L::batchNonceCall::SELECTOR,
    ]
    .contains(&selector)
}

/// Runs one call to the ledger.
pub fn run(input: PrecompileInput<'_>) -> PrecompileResult {
    let PrecompileInput {
        data,
        gas,
        caller,
        value,
        target_address,
        is_static,
        bytecode_address,
        mut internals,
        ..
    } = input;
    let gas_limit = gas;
    // Rule 1: base plus copy cost before looking at the input.
    let upfront =
        BASE_GAS.saturating_add(WORD_GAS.saturating_mul((data.len() as u64).div_ceil(32)));
    if upfront > gas_limit {
        return Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, 0));
    }
    let mut cx = Ctx::new(&mut internals, gas_limit);
    cx.gas.used = upfront;
    let result = dispatch(
        &mut cx,
        data,
        caller,
        value,
        is_static,
        target_address,
        bytecode_address,
    );
    let used = cx.gas.used;
    let refund = cx.gas.refund;
    match result {
        Ok(out) => {
            let mut o = PrecompileOutput::new(used, out, 0);
            o.gas_refunded = refund;
            Ok(o)
        }
        Err(Stop::Revert(bytes)) => Ok(PrecompileOutput::revert(used, bytes, 0)),
        Err(Stop::OutOfGas) => Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, 0)),
        Err(Stop::Fatal(e)) => Err(PrecompileError::Fatal(e)),
    }
}

fn dispatch(
    cx: &mut Ctx<'_, '_>,
    data: &[u8],
    caller: alloy_primitives::Address,
    value: alloy_primitives::U256,
    is_static: bool,
    target: alloy_primitives::Address,
    code_address: alloy_primitives::Address,
) -> Res<Bytes> {
    // Rule 2: only a direct CALL/STATICCALL runs the ledger on its own storage.
    if target != LEDGER_ADDRESS || code_address != LEDGER_ADDRESS {
        return Err(revert(L::DelegateCallNotAllowed {}));
    }
    if data.len() > MAX_CALLDATA || data.len() < 4 {
        return Err(revert(L::BadInput {}));
    }
    let selector: [u8; 4] = [data[0], data[1], data[2], data[3]];
    if !value.is_zero() && !is_payable(selector) {
        return Err(revert(L::NonPayable {}));
    }
    if is_static && !is_view(selector) {
        return Err(revert(L::StaticCallWrite {}));
    }
    // Validating decode, as Solidity's decoder does: a word that does not fit its type (an
    // address or uintN with high bits, an intN not sign-extended) is malformed input, not a value
    // to truncate. Trailing bytes are allowed, as in Solidity.
    let call = Call::abi_decode_validate(data).map_err(|_| revert(L::BadInput {}))?;
    let who = caller;
    Ok(match call {
        Call::registerModel(c) => registry::register_model(cx, who, c)?,
        Call::registerDatanet(c) => registry::register_datanet(cx, who, c)?,
        Call::updateDatanet(c) => registry::update_datanet(cx, who, c)?,
        Call::setFeeConfig(c) => registry::set_fee_config(cx, who, c)?,
        Call::setRole(c) => registry::set_role(cx, who, c)?,
        Call::claimable(c) => registry::claimable(cx, c)?,
        Call::getInference(c) => registry::get_inference(cx, c)?,
        Call::getDatanet(c) => registry::get_datanet(cx, c)?,
        Call::getModel(c) => registry::get_model(cx, c)?,
        Call::feeConfig(_) => registry::fee_config(cx)?,
        Call::roleOf(c) => registry::role_of(cx, c)?,
        Call::batchNonce(c) => registry::batch_nonce(cx, c)?,
        Call::recordInference(c) => record::record_inference(cx, who, value, c)?,
        Call::recordBatch(c) => record::record_batch(cx, who, value, data, c)?,
        Call::claim(c) => record::claim(cx, who, c)?,
    })
}

#[cfg(test)]
mod tests;
