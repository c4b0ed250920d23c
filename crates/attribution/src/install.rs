//! Installing the four precompiles into an EVM's precompile set (from the `attribution` fork).

use alloy_evm::precompiles::{DynPrecompile, PrecompileInput, PrecompilesMap};
use alloy_primitives::Address;
use revm::precompile::{PrecompileId, PrecompileOutput, PrecompileResult};

use crate::{
    FEE_SPLIT_ADDRESS, LEDGER_ADDRESS, MERKLE_ADDRESS, SPAN_MATCH_ADDRESS, ledger, precompiles,
};

/// The precompiles' addresses, ledger first.
pub const ADDRESSES: [Address; 4] = [
    LEDGER_ADDRESS,
    FEE_SPLIT_ADDRESS,
    MERKLE_ADDRESS,
    SPAN_MATCH_ADDRESS,
];

/// A pure precompile: no state, and value is refused (it would be locked at the address for
/// ever), so only a plain CALL or STATICCALL without value gets an answer.
fn pure(name: &'static str, f: fn(&[u8], u64) -> PrecompileOutput) -> DynPrecompile {
    DynPrecompile::new(
        PrecompileId::custom(name),
        move |input: PrecompileInput<'_>| -> PrecompileResult {
            if !input.value.is_zero() {
                return Ok(PrecompileOutput::revert(0, Default::default(), 0));
            }
            Ok(f(input.data, input.gas))
        },
    )
}

/// Adds the AttributionLedger, FeeSplit, MerkleMultiProof and SpanMatch precompiles (version 1)
/// to `map`.
pub fn install(map: &mut PrecompilesMap) {
    map.apply_precompile(&LEDGER_ADDRESS, |_| {
        Some(DynPrecompile::new_stateful(
            PrecompileId::custom("opal-attribution-ledger"),
            ledger::run,
        ))
    });
    map.apply_precompile(&FEE_SPLIT_ADDRESS, |_| {
        Some(pure("opal-fee-split", precompiles::fee_split))
    });
    map.apply_precompile(&MERKLE_ADDRESS, |_| {
        Some(pure(
            "opal-merkle-multiproof",
            precompiles::merkle_multi_proof,
        ))
    });
    map.apply_precompile(&SPAN_MATCH_ADDRESS, |_| {
        Some(pure("opal-span-match", precompiles::span_match))
    });
}
