//! Pool limits and policy knobs.

use std::time::Duration;

/// Limits and policy of a [`Pool`](crate::Pool).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most transactions held in the pending sub-pool (executable now). Default 5000.
    pub max_pending: usize,
    /// Most transactions held in the queued sub-pool (waiting for a nonce gap). Default 1024.
    pub max_queued: usize,
    /// Most transactions one sender may have in the pool, pending and queued together.
    /// Default 64.
    pub max_per_sender: usize,
    /// Largest accepted EIP-2718 encoding, in bytes. Default 128 KiB.
    pub max_tx_size: usize,
    /// Lowest fee cap accepted, in wei, whatever the current base fee. `0` means only the
    /// current base fee applies. Default 0.
    pub min_base_fee: u64,
    /// Percentage by which a replacement must raise both the fee cap and the tip of the
    /// transaction it replaces. Default 10.
    pub price_bump_percent: u64,
    /// How long a queued transaction may wait for its nonce gap to fill. Default 3 hours.
    pub queued_lifetime: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_pending: 5000,
            max_queued: 1024,
            max_per_sender: 64,
            max_tx_size: 128 * 1024,
            min_base_fee: 0,
            price_bump_percent: 10,
            queued_lifetime: Duration::from_secs(3 * 60 * 60),
        }
    }
}
