//! The op-node-format `rollup.json`: the derivation parameters of the chain.
//!
//! Field names are those op-node writes. Unknown fields are rejected, as op-node and kona do, so a
//! misspelt fork time cannot silently leave a fork inactive.

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::{ChainSpec, forks::ForkSchedule};

/// Errors reading or checking a rollup config. Each names the file and the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum RollupConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The JSON does not match op-node's format (serde names the field and position).
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A field has a value the node cannot accept, or disagrees with genesis.json.
    #[error("{path}: field `{field}`: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The JSON field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// A block reference: hash and number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockId {
    /// Block hash.
    pub hash: B256,
    /// Block number.
    pub number: u64,
}

/// The L1 SystemConfig values at genesis (camelCase, as op-node writes them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemConfig {
    /// The batcher's address (the L1 sender of batcher transactions).
    pub batcher_addr: Address,
    /// Pre-Ecotone fee overhead (32 bytes).
    pub overhead: B256,
    /// Fee scalar word (32 bytes; version byte 1 packs blob and base scalars).
    pub scalar: B256,
    /// L2 block gas limit.
    pub gas_limit: u64,
    /// Holocene EIP-1559 parameters (`denominator u32 ++ elasticity u32`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eip1559_params: Option<alloy::primitives::B64>,
    /// Isthmus operator fee parameters (`scalar u32 ++ constant u64`, right-aligned in 32 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_fee_params: Option<B256>,
    /// Jovian minimum base fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_base_fee: Option<u64>,
    /// Jovian DA footprint gas scalar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub da_footprint_gas_scalar: Option<u16>,
}

/// The rollup's genesis anchor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollupGenesis {
    /// The L1 block the rollup starts after.
    pub l1: BlockId,
    /// The L2 genesis block.
    pub l2: BlockId,
    /// L2 genesis timestamp.
    pub l2_time: u64,
    /// SystemConfig at genesis.
    pub system_config: SystemConfig,
}

/// Alt-DA (plasma) settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AltDaConfig {
    /// `KeccakCommitment` or `GenericCommitment`.
    pub da_commitment_type: String,
    /// DataAvailabilityChallenge contract on L1 (zero for generic commitments).
    #[serde(default)]
    pub da_challenge_contract_address: Address,
    /// Challenge window in L1 blocks.
    #[serde(default)]
    pub da_challenge_window: u64,
    /// Resolve window in L1 blocks.
    #[serde(default)]
    pub da_resolve_window: u64,
}

/// Chain-level EIP-1559 constants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChainOpConfig {
    /// Elasticity multiplier.
    pub eip1559_elasticity: u64,
    /// Denominator before Canyon.
    pub eip1559_denominator: u64,
    /// Denominator from Canyon on.
    pub eip1559_denominator_canyon: u64,
}

/// The rollup configuration, as op-node reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollupConfig {
    /// Genesis anchor.
    pub genesis: RollupGenesis,
    /// Seconds per L2 block.
    pub block_time: u64,
    /// Maximum sequencer drift (pre-Fjord).
    pub max_sequencer_drift: u64,
    /// Sequencing window in L1 blocks.
    pub seq_window_size: u64,
    /// Channel timeout in L1 blocks (pre-Granite).
    pub channel_timeout: u64,
    /// Channel timeout from Granite on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granite_channel_timeout: Option<u64>,
    /// L1 chain id.
    pub l1_chain_id: u64,
    /// L2 chain id.
    pub l2_chain_id: u64,
    /// Regolith time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regolith_time: Option<u64>,
    /// Canyon time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canyon_time: Option<u64>,
    /// Delta time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_time: Option<u64>,
    /// Ecotone time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecotone_time: Option<u64>,
    /// Fjord time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fjord_time: Option<u64>,
    /// Granite time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granite_time: Option<u64>,
    /// Holocene time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holocene_time: Option<u64>,
    /// L1 Pectra blob schedule fix time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pectra_blob_schedule_time: Option<u64>,
    /// Isthmus time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isthmus_time: Option<u64>,
    /// Jovian time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jovian_time: Option<u64>,
    /// Interop time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interop_time: Option<u64>,
    /// L1 batch inbox address.
    pub batch_inbox_address: Address,
    /// L1 OptimismPortal address.
    pub deposit_contract_address: Address,
    /// L1 SystemConfig address.
    pub l1_system_config_address: Address,
    /// L1 ProtocolVersions address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_versions_address: Option<Address>,
    /// Alt-DA settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_da: Option<AltDaConfig>,
    /// EIP-1559 constants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_op_config: Option<ChainOpConfig>,
}

impl RollupConfig {
    /// Reads and checks a rollup.json file.
    pub fn from_file(path: &Path) -> Result<Self, RollupConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| RollupConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Parses and checks rollup.json text; `path` is used in error messages.
    pub fn from_json(text: &str, path: &Path) -> Result<Self, RollupConfigError> {
        let cfg: Self = serde_json::from_str(text).map_err(|source| RollupConfigError::Json {
            path: path.to_owned(),
            source,
        })?;
        cfg.check(path)?;
        Ok(cfg)
    }

    fn check(&self, path: &Path) -> Result<(), RollupConfigError> {
        let bad = |field, reason: &str| {
            Err(RollupConfigError::Invalid {
                path: path.to_owned(),
                field,
                reason: reason.into(),
            })
        };
        if self.block_time == 0 {
            return bad("block_time", "must be non-zero");
        }
        if self.channel_timeout == 0 {
            return bad("channel_timeout", "must be non-zero");
        }
        if self.seq_window_size < 2 {
            return bad("seq_window_size", "must be at least 2");
        }
        if self.l1_chain_id == 0 {
            return bad("l1_chain_id", "must be non-zero");
        }
        if self.l2_chain_id == 0 {
            return bad("l2_chain_id", "must be non-zero");
        }
        if self.l1_chain_id == self.l2_chain_id {
            return bad("l2_chain_id", "must differ from l1_chain_id");
        }
        if self.genesis.system_config.gas_limit == 0 {
            return bad("genesis.system_config.gasLimit", "must be non-zero");
        }
        if self.batch_inbox_address.is_zero() {
            return bad("batch_inbox_address", "must be set");
        }
        if self.deposit_contract_address.is_zero() {
            return bad("deposit_contract_address", "must be set");
        }
        if let Err((a, b)) = self.forks().check_order() {
            return Err(RollupConfigError::Invalid {
                path: path.to_owned(),
                field: "*_time",
                reason: format!(
                    "{}_time is set earlier than (or without) {}_time",
                    b.name(),
                    a.name()
                ),
            });
        }
        Ok(())
    }

    /// The OP fork schedule (attribution is not a rollup.json field and stays `None`).
    pub fn forks(&self) -> ForkSchedule {
        ForkSchedule {
            regolith: self.regolith_time,
            canyon: self.canyon_time,
            delta: self.delta_time,
            ecotone: self.ecotone_time,
            fjord: self.fjord_time,
            granite: self.granite_time,
            holocene: self.holocene_time,
            isthmus: self.isthmus_time,
            jovian: self.jovian_time,
            attribution: None,
        }
    }

    /// Checks that this config and a genesis.json describe the same chain; `genesis_hash` is the
    /// computed L2 genesis block hash.
    pub fn check_against(
        &self,
        spec: &ChainSpec,
        genesis_hash: B256,
        path: &Path,
    ) -> Result<(), RollupConfigError> {
        let bad = |field, reason: String| {
            Err(RollupConfigError::Invalid {
                path: path.to_owned(),
                field,
                reason,
            })
        };
        let Some(mut forks) = spec.op_forks else {
            return bad(
                "l2_chain_id",
                "genesis.json has no `optimism` config section".into(),
            );
        };
        forks.attribution = None;
        if self.l2_chain_id != spec.chain_id {
            return bad(
                "l2_chain_id",
                format!(
                    "{} but genesis.json has chainId {}",
                    self.l2_chain_id, spec.chain_id
                ),
            );
        }
        if self.forks() != forks {
            return bad(
                "*_time",
                format!(
                    "fork times {:?} differ from genesis.json {:?}",
                    self.forks(),
                    forks
                ),
            );
        }
        if self.genesis.l2_time != spec.genesis.timestamp {
            return bad(
                "genesis.l2_time",
                format!(
                    "{} but genesis.json timestamp is {}",
                    self.genesis.l2_time, spec.genesis.timestamp
                ),
            );
        }
        if self.genesis.l2.number != spec.genesis.number.unwrap_or_default() {
            return bad(
                "genesis.l2.number",
                "differs from genesis.json number".into(),
            );
        }
        if self.genesis.l2.hash != genesis_hash {
            return bad(
                "genesis.l2.hash",
                format!(
                    "{} but genesis.json hashes to {genesis_hash}",
                    self.genesis.l2.hash
                ),
            );
        }
        if self.genesis.system_config.gas_limit != spec.genesis.gas_limit {
            return bad(
                "genesis.system_config.gasLimit",
                format!(
                    "{} but genesis.json gasLimit is {}",
                    self.genesis.system_config.gas_limit, spec.genesis.gas_limit
                ),
            );
        }
        Ok(())
    }

    /// The Ecotone fee scalars packed in `system_config.scalar`: `(base_fee_scalar, blob_base_fee_scalar)`.
    pub fn fee_scalars(&self) -> (u32, u32) {
        let s = self.genesis.system_config.scalar.0;
        let word =
            |r: std::ops::Range<usize>| u32::from_be_bytes(s[r].try_into().unwrap_or([0; 4]));
        match s[0] {
            1 => (word(28..32), word(24..28)),
            0 if s[1..28].iter().all(|b| *b == 0) => (word(28..32), 0),
            _ => (u32::MAX, 0),
        }
    }

    /// The Isthmus operator fee parameters `(scalar, constant)`.
    pub fn operator_fee(&self) -> (u32, u64) {
        let Some(p) = self.genesis.system_config.operator_fee_params else {
            return (0, 0);
        };
        let b = p.0;
        let scalar = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
        let constant = u64::from_be_bytes([b[24], b[25], b[26], b[27], b[28], b[29], b[30], b[31]]);
        (scalar, constant)
    }
}
