//! ABI bindings of the four precompiles, generated from the Solidity interfaces in `contracts/`
//! (the ABI source of truth), so the Rust side never writes an ABI twice.

#![allow(missing_docs)]

alloy::sol!("../../contracts/src/attribution/IAttributionLedger.sol");
alloy::sol!("../../contracts/src/attribution/IFeeSplit.sol");
alloy::sol!("../../contracts/src/attribution/IMerkleMultiProof.sol");
alloy::sol!("../../contracts/src/attribution/ISpanMatch.sol");
