//! `eth_call` and `eth_estimateGas`: a transaction request executed on a state snapshot with
//! op-revm, nothing committed. Revert reasons come back as geth returns them (code 3, the revert
//! data in `data`).

use alloy::{
    consensus::Header,
    primitives::{Address, Bytes, TxKind, U256},
    rpc::types::{BlockOverrides, TransactionRequest, state::StateOverride},
};
use alloy_evm::{Evm, EvmEnv, EvmFactory};
use alloy_op_evm::OpTx;
use jsonrpsee::types::ErrorObjectOwned;
use op_revm::{OpHaltReason, OpSpecId, OpTransaction};
use opal_evm::OpalChain;
use opal_primitives::Fork;
use opal_storage::StateReader;
use revm::{
    bytecode::Bytecode,
    context::{BlockEnv, CfgEnv, TxEnv},
    context_interface::{
        block::BlobExcessGasAndPrice,
        result::{EVMError, ExecutionResult},
    },
    database::{CacheDB, State},
};

use crate::error::{internal, invalid_params, server_error};

/// Gas used by a plain transfer: the floor of any estimate.
const MIN_GAS: u64 = 21_000;

/// geth's `execution reverted` error, with the revert data.
pub fn revert_error(output: &Bytes) -> ErrorObjectOwned {
    use alloy::sol_types::{Panic, Revert, SolError};
    let message = if let Ok(r) = Revert::abi_decode(output) {
        format!("execution reverted: {}", r.reason)
    } else if let Ok(p) = Panic::abi_decode(output) {
        format!("execution reverted: {p}")
    } else {
        "execution reverted".to_string()
    };
    ErrorObjectOwned::owned(3, message, Some(output.clone()))
}

/// The EVM environment of the block `header` describes, as the block executor builds it.
pub fn block_env(chain: &OpalChain, header: &Header) -> EvmEnv<OpSpecId> {
    let cfg = CfgEnv::new()
        .with_chain_id(chain.chain_id())
        .with_spec_and_mainnet_gas_params(chain.spec_id(header.timestamp));
    let block = BlockEnv {
        number: U256::from(header.number),
        beneficiary: header.beneficiary,
        timestamp: U256::from(header.timestamp),
        gas_limit: header.gas_limit,
        basefee: header.base_fee_per_gas.unwrap_or_default(),
        difficulty: U256::ZERO,
        prevrandao: Some(header.mix_hash),
        blob_excess_gas_and_price: chain.is_active(Fork::Ecotone, header.timestamp).then_some(
            BlobExcessGasAndPrice {
                excess_blob_gas: 0,
                blob_gasprice: 1,
            },
        ),
        slot_num: 0,
    };
    EvmEnv::new(cfg, block)
}

/// The environment and transaction that [`run`] executes for `req` with `gas_limit` on top of
/// `header`'s state: an unpriced request runs with base fee and balance checks off.
pub fn call_env(
    chain: &OpalChain,
    reader: &StateReader,
    header: &Header,
    req: &TransactionRequest,
    gas_limit: u64,
) -> Result<(EvmEnv<OpSpecId>, OpTx), ErrorObjectOwned> {
    let mut env = block_env(chain, header);
    let priced = req.gas_price.is_some() || req.max_fee_per_gas.is_some();
    // As geth: calls and estimates never check the nonce (a wallet estimating its next few
    // transactions passes nonces above the account's); a given nonce still sets CREATE addresses.
    env.cfg_env.disable_nonce_check = true;
    env.cfg_env.disable_base_fee = !priced;
    env.cfg_env.disable_balance_check = !priced;
    env.cfg_env.disable_eip3607 = true;
    env.cfg_env.disable_block_gas_limit = true;
    if !priced {
        env.block_env.basefee = 0;
    }
    let caller = req.from.unwrap_or(Address::ZERO);
    let nonce = match req.nonce {
        Some(n) => n,
        None => reader
            .account(caller)
            .map_err(internal)?
            .map_or(0, |a| a.nonce),
    };
    let gas_price = req.max_fee_per_gas.or(req.gas_price).unwrap_or(0);
    let tx_type = if req.max_fee_per_gas.is_some() || req.max_priority_fee_per_gas.is_some() {
        2
    } else if req.access_list.is_some() {
        1
    } else {
        0
    };
    let base = TxEnv {
        tx_type,
        caller,
        gas_limit,
        gas_price,
        kind: req.to.unwrap_or(TxKind::Create),
        value: req.value.unwrap_or_default(),
        data: req.input.input().cloned().unwrap_or_default(),
        nonce,
        chain_id: Some(chain.chain_id()),
        access_list: req.access_list.clone().unwrap_or_default(),
        gas_priority_fee: req.max_priority_fee_per_gas,
        ..Default::default()
    };
    let tx = OpTx(OpTransaction {
        base,
        enveloped_tx: Some(Bytes::new()),
        deposit: Default::default(),
    });
    Ok((env, tx))
}

/// Runs `req` with `gas_limit` on top of `header`'s state (as seen by `reader`).
pub fn run(
    chain: &OpalChain,
    reader: &StateReader,
    header: &Header,
    req: &TransactionRequest,
    gas_limit: u64,
) -> Result<ExecutionResult<OpHaltReason>, ErrorObjectOwned> {
    run_with(chain, reader, header, req, gas_limit, &Overrides::default())
}

/// `eth_call`'s optional state and block overrides.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// Per-account balance, nonce, code and storage replacements.
    pub state: Option<StateOverride>,
    /// Block environment replacements.
    pub block: Option<BlockOverrides>,
}

/// [`run`] with overrides applied to a copy-on-write view of the state and to the block env.
pub fn run_with(
    chain: &OpalChain,
    reader: &StateReader,
    header: &Header,
    req: &TransactionRequest,
    gas_limit: u64,
    overrides: &Overrides,
) -> Result<ExecutionResult<OpHaltReason>, ErrorObjectOwned> {
    let (mut env, tx) = call_env(chain, reader, header, req, gas_limit)?;
    if let Some(b) = &overrides.block {
        apply_block_overrides(&mut env.block_env, b)?;
    }
    let mut db = CacheDB::new(reader);
    if let Some(s) = &overrides.state {
        apply_state_overrides(&mut db, s)?;
    }
    let mut state = State::builder().with_database(db).build();
    let mut evm = chain.evm_factory().create_evm(&mut state, env);
    match evm.transact(tx) {
        Ok(r) => Ok(r.result),
        Err(EVMError::Database(e)) => Err(internal(e)),
        Err(EVMError::Transaction(e)) => Err(server_error(e.to_string())),
        Err(e) => Err(server_error(e.to_string())),
    }
}

/// Applies `eth_call` block overrides to a block environment.
pub fn apply_block_overrides(
    block: &mut BlockEnv,
    o: &BlockOverrides,
) -> Result<(), ErrorObjectOwned> {
    if o.block_hash.is_some() || o.beacon_root.is_some() {
        return Err(invalid_params(
            "blockHash and beaconRoot overrides are not supported",
        ));
    }
    if let Some(n) = o.number {
        block.number = n;
    }
    if let Some(t) = o.time {
        block.timestamp = U256::from(t);
    }
    if let Some(g) = o.gas_limit {
        block.gas_limit = g;
    }
    if let Some(c) = o.coinbase {
        block.beneficiary = c;
    }
    if let Some(r) = o.random {
        block.prevrandao = Some(r);
    }
    if let Some(d) = o.difficulty {
        block.difficulty = d;
    }
    if let Some(f) = o.base_fee {
        block.basefee = f
            .try_into()
            .map_err(|_| invalid_params("baseFee override above 2^64"))?;
    }
    Ok(())
}

/// Applies `eth_call` state overrides to a copy-on-write view of the state.
pub fn apply_state_overrides(
    db: &mut CacheDB<&StateReader>,
    overrides: &StateOverride,
) -> Result<(), ErrorObjectOwned> {
    for (address, o) in overrides {
        if o.move_precompile_to.is_some() {
            return Err(invalid_params("movePrecompileToAddress is not supported"));
        }
        if o.state.is_some() && o.state_diff.is_some() {
            return Err(invalid_params(format!(
                "account {address} has both state and stateDiff overrides"
            )));
        }
        let mut info = db.load_account(*address).map_err(internal)?.info.clone();
        if let Some(b) = o.balance {
            info.balance = b;
        }
        if let Some(n) = o.nonce {
            info.nonce = n;
        }
        if let Some(code) = &o.code {
            let bytecode = Bytecode::new_raw(code.clone());
            info.code_hash = bytecode.hash_slow();
            info.code = Some(bytecode);
        }
        db.insert_account_info(*address, info);
        if let Some(state) = &o.state {
            let slots = state
                .iter()
                .map(|(k, v)| (U256::from_be_bytes(k.0), U256::from_be_bytes(v.0)))
                .collect();
            db.replace_account_storage(*address, slots)
                .map_err(internal)?;
        }
        if let Some(diff) = &o.state_diff {
            for (k, v) in diff {
                db.insert_account_storage(
                    *address,
                    U256::from_be_bytes(k.0),
                    U256::from_be_bytes(v.0),
                )
                .map_err(internal)?;
            }
        }
    }
    Ok(())
}

/// The output of a successful call, or the error geth would return.
pub fn call_output(result: ExecutionResult<OpHaltReason>) -> Result<Bytes, ErrorObjectOwned> {
    match result {
        ExecutionResult::Success { output, .. } => Ok(output.into_data()),
        ExecutionResult::Revert { output, .. } => Err(revert_error(&output)),
        ExecutionResult::Halt { reason, .. } => {
            Err(server_error(format!("execution halted: {reason:?}")))
        }
    }
}

/// Smallest gas limit (within `cap`) with which `req` succeeds.
pub fn estimate(
    chain: &OpalChain,
    reader: &StateReader,
    header: &Header,
    req: &TransactionRequest,
    cap: u64,
) -> Result<u64, ErrorObjectOwned> {
    let hi = req.gas.unwrap_or(cap).min(cap);
    let first = run(chain, reader, header, req, hi)?;
    let used = match first {
        ExecutionResult::Success { .. } => first.tx_gas_used(),
        ExecutionResult::Revert { output, .. } => return Err(revert_error(&output)),
        ExecutionResult::Halt { .. } => {
            return Err(server_error(format!(
                "gas required exceeds allowance ({hi})"
            )));
        }
    };
    let ok = |gas: u64| -> Result<bool, ErrorObjectOwned> {
        Ok(run(chain, reader, header, req, gas)?.is_success())
    };
    // Refunds and the 63/64 rule can make the needed limit exceed the gas used.
    let mut lo = used.saturating_sub(1).max(MIN_GAS - 1);
    let mut hi = hi;
    let guess = (used + 2_300).saturating_mul(64) / 63;
    if guess < hi && ok(guess)? {
        hi = guess;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if ok(mid)? { hi = mid } else { lo = mid }
    }
    Ok(hi)
}
