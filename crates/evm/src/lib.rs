//! The OP block executor and builder.
//!
//! One code path serves the sequencer (build from payload attributes and a pool), the follower
//! and the Engine API (re-execute a given block and check it): both run op-revm through
//! alloy-op-evm's `OpBlockExecutor` over a snapshot of the store, turn the resulting bundle into a
//! state diff, and commit it with the block in one write transaction; the header (state root,
//! receipts root, OP fork fields) is sealed from the roots the store computes.

mod attributes;
mod chain;
mod convert;
mod executor;
mod factory;
mod header;

pub use attributes::{SequencerInputs, sequencer_attributes};
pub use chain::{ChainError, OpalChain};
pub use convert::{alloc_to_changes, bundle_to_changes};
pub use executor::{
    BlockExecutor, BlockTimings, BuiltBlock, ExecError, NoTransactions, PayloadAttributes,
    SkipReason, TxSource, decode_body, decode_receipts,
};
pub use factory::OpalEvmFactory;
pub use header::HeaderFields;
