//! Pool tests with real signed transactions from the anvil dev keys.

mod admission;
mod best;
mod intrinsic;
mod lifecycle;
mod limits;
mod props;
