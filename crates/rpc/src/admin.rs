//! `admin_` sequencer control, with op-node's method names and semantics.

use std::sync::Arc;

use alloy::primitives::B256;
use jsonrpsee::{core::RpcResult, proc_macros::rpc};

use crate::error::server_error;

/// What the node exposes to start and stop block production.
pub trait SequencerControl: Send + Sync + 'static {
    /// Resumes sequencing on top of `head`; fails if `head` is not the current head.
    fn start(&self, head: B256) -> Result<(), String>;
    /// Stops sequencing after the block in flight; returns the hash of the last sealed block.
    fn stop(&self) -> Result<B256, String>;
    /// Whether blocks are being produced.
    fn active(&self) -> bool;
}

/// `admin_` methods.
#[rpc(server, namespace = "admin")]
pub trait AdminApi {
    /// Starts the sequencer on top of `block_hash` (which must be the head).
    #[method(name = "startSequencer")]
    fn start_sequencer(&self, block_hash: B256) -> RpcResult<()>;
    /// Stops the sequencer; returns the head it stopped at.
    #[method(name = "stopSequencer")]
    fn stop_sequencer(&self) -> RpcResult<B256>;
    /// Whether the sequencer is producing blocks.
    #[method(name = "sequencerActive")]
    fn sequencer_active(&self) -> RpcResult<bool>;
}

/// The `admin_` implementation.
pub struct AdminRpc {
    control: Arc<dyn SequencerControl>,
}

impl AdminRpc {
    /// Over a sequencer.
    pub fn new(control: Arc<dyn SequencerControl>) -> Self {
        Self { control }
    }
}

impl AdminApiServer for AdminRpc {
    fn start_sequencer(&self, block_hash: B256) -> RpcResult<()> {
        self.control.start(block_hash).map_err(server_error)
    }
    fn stop_sequencer(&self) -> RpcResult<B256> {
        self.control.stop().map_err(server_error)
    }
    fn sequencer_active(&self) -> RpcResult<bool> {
        Ok(self.control.active())
    }
}
