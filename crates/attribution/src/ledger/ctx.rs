//! The ledger's view of the EVM: journaled storage of the ledger account, logs and balance
//! transfers, each charged at the price the same operation costs in EVM bytecode (EIP-2929 cold
//! and warm access, EIP-2200/3529 SSTORE cost and refunds, LOG gas, CALL value transfer).

use alloy_evm::EvmInternals;
use alloy_primitives::{Address, B256, Bytes, Log, LogData, U256};
use revm::{context_interface::cfg::GasParams, primitives::hardfork::SpecId};

use crate::LEDGER_ADDRESS;

/// Why a ledger call stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// Not enough gas: the call halts and uses all its gas.
    OutOfGas,
    /// The call reverts with this data (an ABI-encoded custom error).
    Revert(Bytes),
    /// The database failed: a fatal error that aborts the block.
    Fatal(String),
}

pub(crate) type Res<T> = Result<T, Stop>;

/// Gas used so far, against the call's limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meter {
    pub limit: u64,
    pub used: u64,
    pub refund: i64,
}

impl Meter {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            used: 0,
            refund: 0,
        }
    }

    /// Charges `gas`, or stops with out-of-gas.
    pub fn charge(&mut self, gas: u64) -> Res<()> {
        let used = self.used.checked_add(gas).ok_or(Stop::OutOfGas)?;
        if used > self.limit {
            return Err(Stop::OutOfGas);
        }
        self.used = used;
        Ok(())
    }
}

fn params() -> GasParams {
    GasParams::new_spec(SpecId::PRAGUE)
}

/// Journaled access to the ledger account with metering.
pub(crate) struct Ctx<'a, 'b> {
    pub internals: &'b mut EvmInternals<'a>,
    pub gas: Meter,
    gas_params: GasParams,
}

impl<'a, 'b> Ctx<'a, 'b> {
    pub fn new(internals: &'b mut EvmInternals<'a>, gas_limit: u64) -> Self {
        Self {
            internals,
            gas: Meter::new(gas_limit),
            gas_params: params(),
        }
    }

    /// Reads a ledger slot: 2,100 gas cold, 100 warm.
    pub fn sload(&mut self, slot: U256) -> Res<U256> {
        // Charge the warm price first so a caller without even that much never touches state.
        self.gas.charge(self.gas_params.warm_storage_read_cost())?;
        let load = self
            .internals
            .sload(LEDGER_ADDRESS, slot)
            .map_err(|e| Stop::Fatal(e.to_string()))?;
        if load.is_cold {
            self.gas
                .charge(self.gas_params.cold_storage_additional_cost())?;
        }
        Ok(load.data)
    }

    /// Writes a ledger slot at SSTORE's price, recording its refund.
    pub fn sstore(&mut self, slot: U256, value: U256) -> Res<()> {
        self.gas.charge(self.gas_params.sstore_static_gas())?;
        let load = self
            .internals
            .sstore(LEDGER_ADDRESS, slot, value)
            .map_err(|e| Stop::Fatal(e.to_string()))?;
        self.gas.charge(
            self.gas_params
                .sstore_dynamic_gas(true, &load.data, load.is_cold),
        )?;
        self.gas.refund += self.gas_params.sstore_refund(true, &load.data);
        Ok(())
    }

    /// Reads `N` consecutive fields of a record.
    pub fn load_words<const N: usize>(&mut self, base: U256) -> Res<[U256; N]> {
        let mut out = [U256::ZERO; N];
        for (i, w) in out.iter_mut().enumerate() {
            *w = self.sload(base.wrapping_add(U256::from(i)))?;
        }
        Ok(out)
    }

    /// Writes consecutive fields of a record.
    pub fn store_words(&mut self, base: U256, words: &[U256]) -> Res<()> {
        for (i, w) in words.iter().enumerate() {
            self.sstore(base.wrapping_add(U256::from(i)), *w)?;
        }
        Ok(())
    }

    /// Emits a log from the ledger address at LOG's price.
    pub fn log(&mut self, topics: Vec<B256>, data: Bytes) -> Res<()> {
        let n = topics.len() as u8;
        self.gas
            .charge(375u64.saturating_add(self.gas_params.log_cost(n, data.len() as u64)))?;
        self.internals.log(Log {
            address: LEDGER_ADDRESS,
            data: LogData::new_unchecked(topics, data),
        });
        Ok(())
    }

    /// Emits a `SolEvent` from the ledger address.
    pub fn emit<E: alloy::sol_types::SolEvent>(&mut self, event: &E) -> Res<()> {
        let data = event.encode_log_data();
        self.log(data.topics().to_vec(), data.data)
    }

    /// Moves `amount` from the ledger account to `to` without running code at `to`, priced as a
    /// value-carrying CALL (account access, value transfer, new account).
    pub fn pay_out(&mut self, to: Address, amount: U256) -> Res<()> {
        self.gas.charge(self.gas_params.warm_storage_read_cost())?;
        let (cold, empty) = {
            let acc = self
                .internals
                .load_account(to)
                .map_err(|e| Stop::Fatal(e.to_string()))?;
            (acc.is_cold, acc.data.is_empty())
        };
        if cold {
            self.gas
                .charge(self.gas_params.cold_account_additional_cost())?;
        }
        if amount.is_zero() {
            return Ok(());
        }
        self.gas.charge(self.gas_params.transfer_value_cost())?;
        if empty {
            self.gas
                .charge(self.gas_params.new_account_cost(true, true))?;
        }
        match self
            .internals
            .transfer(LEDGER_ADDRESS, to, amount)
            .map_err(|e| Stop::Fatal(e.to_string()))?
        {
            None => Ok(()),
            // The ledger always holds at least the sum of claimable balances; anything else is a
            // broken invariant, not a user error.
            Some(e) => Err(Stop::Fatal(format!("ledger payout failed: {e:?}"))),
        }
    }

    /// keccak256 at the EVM's price (30 + 6 per word).
    pub fn keccak(&mut self, data: &[u8]) -> Res<B256> {
        self.gas.charge(30 + 6 * (data.len() as u64).div_ceil(32))?;
        Ok(alloy_primitives::keccak256(data))
    }
}
