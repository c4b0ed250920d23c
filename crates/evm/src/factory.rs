//! Opal's EVM factory: alloy-op-evm's OP EVM plus the attribution precompiles from the chain's
//! `attribution` fork time. Every EVM the node creates (block building, import, `eth_call`,
//! tracing) comes from here, so all of them see the same precompile set for a given block.

use alloy_evm::{Database, Evm, EvmEnv, EvmFactory, precompiles::PrecompilesMap};
use alloy_op_evm::{OpEvm, OpEvmContext, OpEvmFactory, OpTx, OpTxError};
use op_revm::{OpHaltReason, OpSpecId};
use revm::{
    context::BlockEnv,
    context_interface::result::EVMError,
    inspector::{Inspector, NoOpInspector},
};

/// Creates OP EVMs with the attribution precompiles installed when their fork is active.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpalEvmFactory {
    /// Activation time of the `attribution` fork (`None`: never).
    pub attribution_time: Option<u64>,
}

impl OpalEvmFactory {
    /// A factory for a chain whose attribution fork activates at `attribution_time`.
    pub fn new(attribution_time: Option<u64>) -> Self {
        Self { attribution_time }
    }

    fn active(&self, block: &BlockEnv) -> bool {
        self.attribution_time
            .is_some_and(|t| block.timestamp >= revm::primitives::U256::from(t))
    }
}

impl EvmFactory for OpalEvmFactory {
    type Evm<DB: Database, I: Inspector<OpEvmContext<DB>>> = OpEvm<DB, I, PrecompilesMap, OpTx>;
    type Context<DB: Database> = OpEvmContext<DB>;
    type Tx = OpTx;
    type Error<DBError: core::error::Error + Send + Sync + 'static> = EVMError<DBError, OpTxError>;
    type HaltReason = OpHaltReason;
    type Spec = OpSpecId;
    type BlockEnv = BlockEnv;
    type Precompiles = PrecompilesMap;

    fn create_evm<DB: Database>(
        &self,
        db: DB,
        input: EvmEnv<OpSpecId, BlockEnv>,
    ) -> Self::Evm<DB, NoOpInspector> {
        let active = self.active(&input.block_env);
        let mut evm = OpEvmFactory::<OpTx>::default().create_evm(db, input);
        if active {
            opal_attribution::install(evm.precompiles_mut());
        }
        evm
    }

    fn create_evm_with_inspector<DB: Database, I: Inspector<Self::Context<DB>>>(
        &self,
        db: DB,
        input: EvmEnv<OpSpecId, BlockEnv>,
        inspector: I,
    ) -> Self::Evm<DB, I> {
        let active = self.active(&input.block_env);
        let mut evm =
            OpEvmFactory::<OpTx>::default().create_evm_with_inspector(db, input, inspector);
        if active {
            opal_attribution::install(evm.precompiles_mut());
        }
        evm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_evm::EvmEnv;
    use opal_attribution::{ADDRESSES, LEDGER_ADDRESS};
    use revm::{
        context::CfgEnv,
        database::{CacheDB, EmptyDB},
        primitives::U256,
    };

    fn env(timestamp: u64) -> EvmEnv<OpSpecId, BlockEnv> {
        EvmEnv::new(
            CfgEnv::new_with_spec(OpSpecId::ISTHMUS),
            BlockEnv {
                timestamp: U256::from(timestamp),
                ..Default::default()
            },
        )
    }

    #[test]
    fn precompiles_follow_the_fork_time() {
        let f = OpalEvmFactory::new(Some(100));
        let before = f.create_evm(CacheDB::new(EmptyDB::default()), env(99));
        assert!(before.precompiles().get(&LEDGER_ADDRESS).is_none());
        let at = f.create_evm(CacheDB::new(EmptyDB::default()), env(100));
        for a in ADDRESSES {
            assert!(at.precompiles().get(&a).is_some(), "{a} missing");
        }
        let never =
            OpalEvmFactory::new(None).create_evm(CacheDB::new(EmptyDB::default()), env(u64::MAX));
        assert!(never.precompiles().get(&LEDGER_ADDRESS).is_none());
    }
}
