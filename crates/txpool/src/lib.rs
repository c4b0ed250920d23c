//! Opal's transaction pool: validated, nonce-ordered, price-prioritised.
//!
//! [`Pool::add`] runs geth-compatible admission checks on raw EIP-2718 bytes (recovering the
//! sender exactly once), then files the transaction per sender: a consecutive run of nonces
//! from the account's state nonce is *pending*, anything behind a gap is *queued*.
//! [`Pool::best`] hands the sequencer pending transactions by effective tip, nonce order per
//! sender; [`Pool::on_new_block`] re-evaluates the pool after each block; limits evict the
//! cheapest transactions and queued transactions expire.

#![warn(missing_docs)]

mod best;
mod config;
mod error;
mod pool;
mod sender;
mod state;
mod tx;
mod validate;

#[cfg(test)]
mod test_utils;

pub use best::BestTransactions;
pub use config::PoolConfig;
pub use error::PoolError;
pub use pool::{AddOutcome, Pool, RemoveOutcome, ValidatedTx};
pub use state::{AccountInfo, BlockContext, StateView};
pub use tx::PooledTx;
