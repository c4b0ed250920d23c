//! The chain as the executor needs it: fork schedule mapped onto alloy-op-hardforks, the EVM spec
//! per timestamp, and the OP base-fee and `extraData` rules.

use alloy::{
    consensus::Header,
    eips::eip1559::BaseFeeParams,
    primitives::{B64, Bytes},
};
use alloy_op_hardforks::{ForkCondition, OpChainHardforks, OpHardfork};
use op_alloy::consensus::{decode_holocene_extra_data, encode_holocene_extra_data};
use op_revm::OpSpecId;
use opal_primitives::{ChainSpec, Fork, ForkSchedule};

/// Errors in the chain rules.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The genesis is not an OP chain.
    #[error("genesis.json has no `optimism` section: not an OP Stack chain")]
    NotOptimism,
    /// A fork Opal does not implement yet is scheduled.
    #[error("{0} is scheduled but not supported by this version of Opal")]
    Unsupported(&'static str),
    /// The parent's `extraData` does not carry Holocene EIP-1559 parameters.
    #[error("parent block {number} extraData is not in the Holocene format: {reason}")]
    ExtraData {
        /// Parent number.
        number: u64,
        /// Decoder message.
        reason: String,
    },
}

/// The chain spec with its executor-side views.
#[derive(Debug, Clone)]
pub struct OpalChain {
    /// The parsed genesis.json.
    pub spec: ChainSpec,
    /// OP fork schedule.
    pub forks: ForkSchedule,
    /// The same schedule in alloy-op-hardforks form, for `OpBlockExecutor`.
    pub hardforks: OpChainHardforks,
}

fn cond(t: Option<u64>) -> ForkCondition {
    t.map_or(ForkCondition::Never, ForkCondition::Timestamp)
}

impl OpalChain {
    /// Builds the executor view of a chain spec.
    pub fn new(spec: ChainSpec) -> Result<Self, ChainError> {
        let forks = spec.op_forks.ok_or(ChainError::NotOptimism)?;
        if forks.jovian.is_some() {
            return Err(ChainError::Unsupported("Jovian"));
        }
        let hardforks = OpChainHardforks::new([
            (OpHardfork::Bedrock, ForkCondition::Block(0)),
            (OpHardfork::Regolith, cond(forks.regolith)),
            (OpHardfork::Canyon, cond(forks.canyon)),
            (OpHardfork::Ecotone, cond(forks.ecotone)),
            (OpHardfork::Fjord, cond(forks.fjord)),
            (OpHardfork::Granite, cond(forks.granite)),
            (OpHardfork::Holocene, cond(forks.holocene)),
            (OpHardfork::Isthmus, cond(forks.isthmus)),
            (OpHardfork::Jovian, ForkCondition::Never),
        ]);
        Ok(Self {
            spec,
            forks,
            hardforks,
        })
    }

    /// The EVM factory for this chain (the attribution precompiles from their fork time).
    pub fn evm_factory(&self) -> crate::OpalEvmFactory {
        crate::OpalEvmFactory::new(self.forks.attribution)
    }

    /// EIP-155 chain id.
    pub fn chain_id(&self) -> u64 {
        self.spec.chain_id
    }

    /// Whether `fork` is active at `timestamp`.
    pub fn is_active(&self, fork: Fork, timestamp: u64) -> bool {
        self.forks.is_active(fork, timestamp)
    }

    /// The op-revm spec for a block at `timestamp`.
    pub fn spec_id(&self, timestamp: u64) -> OpSpecId {
        let f = &self.forks;
        [
            (Fork::Isthmus, OpSpecId::ISTHMUS),
            (Fork::Holocene, OpSpecId::HOLOCENE),
            (Fork::Granite, OpSpecId::GRANITE),
            (Fork::Fjord, OpSpecId::FJORD),
            (Fork::Ecotone, OpSpecId::ECOTONE),
            (Fork::Canyon, OpSpecId::CANYON),
            (Fork::Regolith, OpSpecId::REGOLITH),
        ]
        .into_iter()
        .find(|(fork, _)| f.is_active(*fork, timestamp))
        .map_or(OpSpecId::BEDROCK, |(_, s)| s)
    }

    /// The chain's own EIP-1559 parameters at `timestamp` (before Holocene overrides).
    pub fn base_fee_params(&self, timestamp: u64) -> BaseFeeParams {
        self.spec.base_fee.params_at(&self.forks, timestamp)
    }

    /// Base fee of the block after `parent` at `timestamp`.
    pub fn next_base_fee(&self, parent: &Header, timestamp: u64) -> Result<u64, ChainError> {
        let params = if self.is_active(Fork::Holocene, parent.timestamp) {
            let (elasticity, denominator) = decode_holocene_extra_data(&parent.extra_data)
                .map_err(|e| ChainError::ExtraData {
                    number: parent.number,
                    reason: format!("{e:?}"),
                })?;
            if denominator == 0 && elasticity == 0 {
                self.base_fee_params(timestamp)
            } else {
                BaseFeeParams::new(denominator as u128, elasticity as u128)
            }
        } else {
            self.base_fee_params(timestamp)
        };
        let base = parent
            .base_fee_per_gas
            .unwrap_or(alloy::eips::eip1559::INITIAL_BASE_FEE);
        Ok(params.next_block_base_fee(parent.gas_used, parent.gas_limit, base))
    }

    /// `extraData` of a block at `timestamp` built with `eip1559_params` (Holocene: 9 bytes).
    pub fn extra_data(
        &self,
        timestamp: u64,
        eip1559_params: Option<B64>,
    ) -> Result<Bytes, ChainError> {
        if !self.is_active(Fork::Holocene, timestamp) {
            return Ok(Bytes::new());
        }
        encode_holocene_extra_data(
            eip1559_params.unwrap_or_default(),
            self.base_fee_params(timestamp),
        )
        .map_err(|e| ChainError::ExtraData {
            number: 0,
            reason: format!("{e:?}"),
        })
    }
}
