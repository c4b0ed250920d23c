//! Well-known addresses of the OP Stack and of the tooling that developers expect on every chain.

use alloy::primitives::{Address, address};

/// The account that sends the L1-info deposit (`DEPOSITOR_ACCOUNT`).
pub const L1_INFO_DEPOSITOR: Address = address!("0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001");
/// The L1Block predeploy: holds the L1 origin's attributes and fee parameters.
pub const L1_BLOCK: Address = address!("0x4200000000000000000000000000000000000015");
/// The GasPriceOracle predeploy.
pub const GAS_PRICE_ORACLE: Address = address!("0x420000000000000000000000000000000000000F");
/// The L2ToL1MessagePasser predeploy; its storage root is the Isthmus `withdrawalsRoot`.
pub const L2_TO_L1_MESSAGE_PASSER: Address = address!("0x4200000000000000000000000000000000000016");
/// Receives priority fees (the block's coinbase).
pub const SEQUENCER_FEE_VAULT: Address = address!("0x4200000000000000000000000000000000000011");
/// Receives the base fee, which OP chains do not burn.
pub const BASE_FEE_VAULT: Address = address!("0x4200000000000000000000000000000000000019");
/// Receives the L1 data fee.
pub const L1_FEE_VAULT: Address = address!("0x420000000000000000000000000000000000001A");
/// Receives the Isthmus operator fee.
pub const OPERATOR_FEE_VAULT: Address = address!("0x420000000000000000000000000000000000001b");
/// Multicall3, at the address every library expects.
pub const MULTICALL3: Address = address!("0xcA11bde05977b3631167028862bE2a173976CA11");
/// The deterministic CREATE2 deployment proxy that Foundry uses.
pub const CREATE2_DEPLOYER: Address = address!("0x4e59b44847b379578588920ca78fbf26c0b4956c");
/// EIP-4788 beacon roots contract.
pub const BEACON_ROOTS: Address = address!("0x000F3df6D732807Ef1319fB7B8bB8522d0Beac02");
/// EIP-2935 history storage contract.
pub const HISTORY_STORAGE: Address = address!("0x0000F90827F1C53a10cb7A02335B175320002935");
