//! Why a transaction was refused or dropped. The `Display` of each variant starts with the
//! message go-ethereum uses for the same condition, so clients that match on geth's wording
//! (viem, ethers, web3.py, cast) recognise it; details follow after a colon as geth adds them.

use alloy::primitives::{Address, U256};

/// A transaction refused at admission, or dropped from the pool later.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The EIP-2718 encoding is larger than [`PoolConfig::max_tx_size`](crate::PoolConfig).
    #[error("oversized data: transaction size {size}, limit {limit}")]
    OversizedData {
        /// Size of the submitted bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The bytes are not a valid EIP-2718 transaction.
    #[error("failed to decode signed transaction: {0}")]
    Decode(String),
    /// An EIP-4844 blob transaction (type 3); OP chains have no blob transactions.
    #[error("transaction type not supported: blob transactions are not supported on this chain")]
    BlobTxNotSupported,
    /// A deposit transaction (type 0x7E); deposits only come from L1.
    #[error("transaction type not supported: deposit transactions cannot be submitted")]
    DepositTxNotAllowed,
    /// Any other type the pool does not accept (it accepts 0, 1, 2 and 4).
    #[error("transaction type not supported: type {0:#04x}")]
    TxTypeNotSupported(u8),
    /// A legacy transaction signed without an EIP-155 chain id.
    #[error("only replay-protected (EIP-155) transactions allowed over RPC")]
    Unprotected,
    /// The transaction is signed for another chain.
    #[error("invalid chain id for signer: have {have} want {want}")]
    InvalidChainId {
        /// Chain id in the transaction.
        have: u64,
        /// This chain's id.
        want: u64,
    },
    /// The signature does not recover to a sender (including EIP-2 high-`s` signatures).
    #[error("invalid sender")]
    InvalidSender,
    /// `maxPriorityFeePerGas` is above `maxFeePerGas`.
    #[error(
        "max priority fee per gas higher than max fee per gas: address {sender}, \
         maxPriorityFeePerGas: {tip}, maxFeePerGas: {fee_cap}"
    )]
    TipAboveFeeCap {
        /// The sender.
        sender: Address,
        /// The tip cap.
        tip: u128,
        /// The fee cap.
        fee_cap: u128,
    },
    /// The gas limit is above the block gas limit.
    #[error("exceeds block gas limit: tx gas ({gas}) > current max gas ({limit})")]
    GasLimit {
        /// The transaction's gas limit.
        gas: u64,
        /// The block gas limit.
        limit: u64,
    },
    /// A contract creation whose init code is above the EIP-3860 limit.
    #[error("max initcode size exceeded: code size {size}, limit {limit}")]
    MaxInitCodeSize {
        /// Size of the init code.
        size: usize,
        /// The EIP-3860 limit.
        limit: usize,
    },
    /// An EIP-7702 transaction without authorizations.
    #[error("EIP-7702 transaction with empty auth list")]
    EmptyAuthList,
    /// The gas limit does not cover the intrinsic gas.
    #[error("intrinsic gas too low: gas {gas}, minimum needed {needed}")]
    IntrinsicGas {
        /// The transaction's gas limit.
        gas: u64,
        /// The intrinsic gas.
        needed: u64,
    },
    /// The gas limit does not cover the EIP-7623 calldata floor.
    #[error("insufficient gas for floor data gas cost: gas {gas}, minimum needed {needed}")]
    FloorDataGas {
        /// The transaction's gas limit.
        gas: u64,
        /// The EIP-7623 floor.
        needed: u64,
    },
    /// The fee cap is below the current base fee or the pool's minimum.
    #[error(
        "max fee per gas less than block base fee: address {sender}, maxFeePerGas: {fee_cap}, \
         baseFee: {base_fee}"
    )]
    FeeCapTooLow {
        /// The sender.
        sender: Address,
        /// The fee cap.
        fee_cap: u128,
        /// The base fee (or pool minimum) it had to reach.
        base_fee: u64,
    },
    /// The nonce is `u64::MAX`, which can never be followed.
    #[error("nonce has max value: address {sender}, nonce: {nonce}")]
    NonceMax {
        /// The sender.
        sender: Address,
        /// The nonce.
        nonce: u64,
    },
    /// The nonce was already used on chain (also the reason mined transactions are dropped).
    #[error("nonce too low: next nonce {next}, tx nonce {nonce}")]
    NonceTooLow {
        /// The account's next nonce.
        next: u64,
        /// The transaction's nonce.
        nonce: u64,
    },
    /// The pool already holds this exact transaction.
    #[error("already known")]
    AlreadyKnown,
    /// A transaction with the same sender and nonce is pooled and this one does not raise
    /// both fee fields by the configured bump.
    #[error("replacement transaction underpriced")]
    ReplaceUnderpriced,
    /// The balance does not cover `gas * maxFee + value + L1 data fee`.
    #[error(
        "insufficient funds for gas * price + value: balance {balance}, tx cost {cost}, \
         overshot {overshot}"
    )]
    InsufficientFunds {
        /// The sender's balance.
        balance: U256,
        /// The worst-case cost, L1 data fee included.
        cost: U256,
        /// `cost - balance`.
        overshot: U256,
    },
    /// The sender already has [`PoolConfig::max_per_sender`](crate::PoolConfig) transactions.
    #[error("account limit exceeded: address {sender} has {limit} pooled transactions")]
    AccountLimitExceeded {
        /// The sender.
        sender: Address,
        /// The per-sender limit.
        limit: usize,
    },
    /// The sub-pool is full and nothing cheaper can be evicted (also the reason evicted
    /// transactions are reported with).
    #[error("txpool is full")]
    PoolFull,
    /// The state could not be read.
    #[error("failed to read account state: {0}")]
    State(String),
}
