//! OP Stack wire formats: user deposits read from L1 logs and the L1-info deposit that opens
//! every L2 block.

pub mod deposit;
pub mod l1_info;

pub use deposit::{DepositError, decode_deposit_log};
pub use l1_info::{L1BlockInfo, L1InfoError, l1_info_deposit};
