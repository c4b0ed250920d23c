//! An in-memory op-revm EVM with the attribution precompiles installed: used by the ledger's
//! tests, by `opal bench attribution` (precompile vs Solidity reference on the same inputs) and
//! anywhere a call must run without a chain. Nothing here touches disk.

use std::collections::BTreeMap;

use alloy_evm::{Evm, EvmEnv, EvmFactory};
use alloy_op_evm::{OpEvmFactory, OpTx};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use op_revm::{OpHaltReason, OpSpecId, OpTransaction};
use revm::{
    DatabaseCommit,
    context::{BlockEnv, CfgEnv, TxEnv},
    context_interface::result::ExecutionResult,
    database::{CacheDB, EmptyDB},
    state::{AccountInfo, Bytecode},
};

use crate::{ADDRESSES, LEDGER_ADDRESS, PLACEHOLDER_CODE, genesis::LedgerGenesis};

/// Errors of the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The transaction was invalid (not a revert: it could not run at all).
    #[error("invalid transaction: {0}")]
    Invalid(String),
    /// A contract creation did not return code.
    #[error("deployment failed: {0}")]
    Deploy(String),
}

/// An in-memory chain with the precompiles active (cloning it forks the state).
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The state.
    pub db: CacheDB<EmptyDB>,
    /// EIP-155 chain id.
    pub chain_id: u64,
    block: u64,
    nonces: BTreeMap<Address, u64>,
    /// Whether the attribution precompiles are installed.
    precompiles: bool,
}

impl Sandbox {
    /// A sandbox with the four precompile accounts and the ledger's genesis storage.
    pub fn new(chain_id: u64, ledger: &LedgerGenesis) -> Self {
        let mut db = CacheDB::new(EmptyDB::default());
        let code = Bytecode::new_raw(Bytes::from_static(&PLACEHOLDER_CODE));
        for a in ADDRESSES {
            db.insert_account_info(
                a,
                AccountInfo {
                    nonce: 1,
                    code_hash: code.hash_slow(),
                    code: Some(code.clone()),
                    ..Default::default()
                },
            );
        }
        for (slot, value) in ledger.storage() {
            // An in-memory EmptyDB never fails.
            let _ = db.insert_account_storage(LEDGER_ADDRESS, slot, value);
        }
        Self {
            db,
            chain_id,
            block: 1,
            nonces: BTreeMap::new(),
            precompiles: true,
        }
    }

    /// A sandbox without the attribution precompiles, so code at their addresses runs as code
    /// (for the Solidity references), configured alike otherwise.
    pub fn without_precompiles(chain_id: u64) -> Self {
        Self {
            db: CacheDB::new(EmptyDB::default()),
            chain_id,
            block: 1,
            nonces: BTreeMap::new(),
            precompiles: false,
        }
    }

    /// Gives `account` a balance.
    pub fn fund(&mut self, account: Address, balance: U256) {
        let mut info = self.account(account);
        info.balance = balance;
        self.db.insert_account_info(account, info);
    }

    /// Installs runtime `code` at `at`.
    pub fn set_code(&mut self, at: Address, code: Bytes) {
        let code = Bytecode::new_raw(code);
        let mut info = self.account(at);
        info.code_hash = code.hash_slow();
        info.code = Some(code);
        self.db.insert_account_info(at, info);
    }

    /// An account's fields (default when absent).
    pub fn account(&self, a: Address) -> AccountInfo {
        self.db
            .cache
            .accounts
            .get(&a)
            .map(|acc| acc.info.clone())
            .unwrap_or_default()
    }

    /// An account's balance.
    pub fn balance(&self, a: Address) -> U256 {
        self.account(a).balance
    }

    /// A storage word (zero when unset or not cached).
    pub fn storage(&self, a: Address, slot: U256) -> U256 {
        self.db
            .cache
            .accounts
            .get(&a)
            .and_then(|acc| acc.storage.get(&slot).copied())
            .unwrap_or_default()
    }

    /// Runs one transaction from `from` in a new block and commits its state.
    pub fn exec(
        &mut self,
        from: Address,
        to: TxKind,
        data: Bytes,
        value: U256,
        gas: u64,
    ) -> Result<ExecutionResult<OpHaltReason>, SandboxError> {
        let mut cfg = CfgEnv::new()
            .with_chain_id(self.chain_id)
            .with_spec_and_mainnet_gas_params(OpSpecId::ISTHMUS);
        cfg.disable_base_fee = true;
        cfg.disable_block_gas_limit = true;
        cfg.limit_contract_code_size = Some(usize::MAX);
        let block = BlockEnv {
            number: U256::from(self.block),
            timestamp: U256::from(1_000 + self.block),
            gas_limit: u64::MAX,
            ..Default::default()
        };
        self.block += 1;
        let nonce = self.nonces.entry(from).or_default();
        let tx = OpTx(OpTransaction {
            base: TxEnv {
                caller: from,
                gas_limit: gas,
                kind: to,
                value,
                data,
                nonce: *nonce,
                chain_id: Some(self.chain_id),
                ..Default::default()
            },
            enveloped_tx: Some(Bytes::new()),
            deposit: Default::default(),
        });
        let mut evm =
            OpEvmFactory::<OpTx>::default().create_evm(&mut self.db, EvmEnv::new(cfg, block));
        if self.precompiles {
            crate::install(evm.precompiles_mut());
        }
        let r = evm
            .transact(tx)
            .map_err(|e| SandboxError::Invalid(e.to_string()))?;
        drop(evm);
        *nonce += 1;
        self.db.commit(r.state);
        Ok(r.result)
    }

    /// Deploys `init_code` from `from` and returns the new contract's address.
    pub fn deploy(&mut self, from: Address, init_code: Bytes) -> Result<Address, SandboxError> {
        let nonce = self.nonces.get(&from).copied().unwrap_or_default();
        let result = self.exec(from, TxKind::Create, init_code, U256::ZERO, 1_000_000_000)?;
        if !result.is_success() {
            return Err(SandboxError::Deploy(format!("{result:?}")));
        }
        Ok(from.create(nonce))
    }
}

/// A small deterministic generator (splitmix64) for reproducible test and benchmark inputs.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits (an endless generator, not an `Iterator`).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// 128 random bits.
    pub fn u128(&mut self) -> u128 {
        (u128::from(self.next()) << 64) | u128::from(self.next())
    }

    /// A random word.
    pub fn b256(&mut self) -> alloy_primitives::B256 {
        let mut b = [0u8; 32];
        for c in b.chunks_mut(8) {
            c.copy_from_slice(&self.next().to_be_bytes());
        }
        alloy_primitives::B256::from(b)
    }

    /// `k` distinct numbers below `n`, ascending.
    pub fn subset(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..k.min(n) {
            let j = i + self.below((n - i) as u64) as usize;
            all.swap(i, j);
        }
        let mut s = all[..k.min(n)].to_vec();
        s.sort_unstable();
        s
    }
}
