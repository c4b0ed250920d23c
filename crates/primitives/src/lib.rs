//! Opal's chain specification: the geth/op-geth `genesis.json`, the op-node `rollup.json`, the fork
//! schedule shared by both, the genesis header, the addresses of the OP Stack predeploys, and the
//! stored form of receipts.

pub mod addresses;
pub mod chain_spec;
pub mod forks;
pub mod genesis_header;
pub mod receipts;
pub mod rollup;

pub use chain_spec::{ChainSpec, ChainSpecError, OpBaseFeeConfig};
pub use forks::{Fork, ForkSchedule};
pub use rollup::{RollupConfig, RollupConfigError};
