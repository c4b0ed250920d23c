//! Proof of Attribution on chain: the AttributionLedger, FeeSplit, MerkleMultiProof and
//! SpanMatch precompiles (addresses `0x…A77001`–`0x…A77004`), their ABI bindings generated from
//! the Solidity interfaces, their gas schedule, and the node's attribution index.
//!
//! The design is `docs/attribution.md`.

pub mod abi;
pub mod fee_split;
pub mod gas;
pub mod genesis;
pub mod index;
mod install;
pub mod layout;
pub mod ledger;
pub mod merkle;
pub mod precompiles;
pub mod sandbox;
pub mod span;

pub use install::{ADDRESSES, install};

use alloy_primitives::{Address, address};

/// The AttributionLedger precompile (stateful).
pub const LEDGER_ADDRESS: Address = address!("0x0000000000000000000000000000000000A77001");
/// The FeeSplit precompile (pure).
pub const FEE_SPLIT_ADDRESS: Address = address!("0x0000000000000000000000000000000000A77002");
/// The MerkleMultiProof precompile (pure).
pub const MERKLE_ADDRESS: Address = address!("0x0000000000000000000000000000000000A77003");
/// The SpanMatch precompile (pure).
pub const SPAN_MATCH_ADDRESS: Address = address!("0x0000000000000000000000000000000000A77004");
/// The code every precompile account carries in genesis: `PUSH1 0 PUSH1 0 REVERT`, so calls
/// before activation revert and the accounts are never empty under EIP-161.
pub const PLACEHOLDER_CODE: [u8; 5] = [0x60, 0x00, 0x60, 0x00, 0xfd];
/// The Datanets predeploy (holds the ledger's Registrar role at genesis on the devnet).
pub const DATANETS_ADDRESS: Address = address!("0x0000000000000000000000000000000000A77100");
