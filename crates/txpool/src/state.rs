//! What the pool needs from the outside world: account state and the block being built on.

use std::{fmt, time::Instant};

use alloy::primitives::{Address, U256};

/// The part of an account the pool checks transactions against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccountInfo {
    /// Next nonce the account can use on chain.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
}

/// What the pool needs to know about current state.
pub trait StateView {
    /// The account at `address` in the latest state; a missing account is the default
    /// (nonce 0, balance 0). An `Err` is a failure to read state, not a missing account.
    fn account(&self, address: Address) -> Result<AccountInfo, String>;
}

/// The block transactions are validated against: the head the next block builds on.
pub struct BlockContext<'a> {
    /// Base fee of the next block, in wei.
    pub base_fee: u64,
    /// Gas limit of the next block.
    pub block_gas_limit: u64,
    /// The chain's EIP-155 chain id.
    pub chain_id: u64,
    /// The L1 data fee, in wei, of a transaction given its EIP-2718 bytes.
    pub l1_fee: &'a dyn Fn(&[u8]) -> U256,
    /// The current time; admission stamps transactions with it.
    pub now: Instant,
}

impl fmt::Debug for BlockContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockContext")
            .field("base_fee", &self.base_fee)
            .field("block_gas_limit", &self.block_gas_limit)
            .field("chain_id", &self.chain_id)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}
