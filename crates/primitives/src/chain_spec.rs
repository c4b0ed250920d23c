//! The execution-layer chain specification, read from a geth/op-geth-format `genesis.json`.

use std::path::{Path, PathBuf};

use alloy::{eips::eip1559::BaseFeeParams, genesis::Genesis};
use op_alloy::rpc_types::{OpBaseFeeInfo, OpGenesisInfo};
use serde::Deserialize;

use crate::forks::{Fork, ForkSchedule};

/// Errors reading or checking a chain specification. Each names the file and the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum ChainSpecError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid JSON for its format.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error (names the field and position).
        source: serde_json::Error,
    },
    /// A field has a value the node cannot accept.
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

/// EIP-1559 parameters of an OP chain (`config.optimism` in genesis.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpBaseFeeConfig {
    /// Elasticity multiplier.
    pub elasticity: u64,
    /// Max change denominator before Canyon.
    pub denominator: u64,
    /// Max change denominator from Canyon on.
    pub denominator_canyon: u64,
}

impl OpBaseFeeConfig {
    /// The base-fee parameters in force at `timestamp` before Holocene's `extraData` overrides.
    pub fn params_at(&self, forks: &ForkSchedule, timestamp: u64) -> BaseFeeParams {
        let denominator = if forks.is_active(Fork::Canyon, timestamp) {
            self.denominator_canyon
        } else {
            self.denominator
        };
        BaseFeeParams::new(denominator as u128, self.elasticity as u128)
    }
}

/// Ethereum (L1-named) forks that shape the header: by block for London, by time after the merge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EthForks {
    /// London (EIP-1559 base fee) activation block.
    pub london_block: Option<u64>,
    /// Shanghai (withdrawals) activation time.
    pub shanghai_time: Option<u64>,
    /// Cancun (blob gas, beacon root) activation time.
    pub cancun_time: Option<u64>,
    /// Prague (requests hash) activation time.
    pub prague_time: Option<u64>,
}

/// Opal's own section of the genesis `config`: `"opal": {"attributionTime": 0}`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OpalConfig {
    attribution_time: Option<u64>,
}

/// A parsed and checked chain specification.
#[derive(Debug, Clone)]
pub struct ChainSpec {
    /// The genesis file as parsed.
    pub genesis: Genesis,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Header-shaping Ethereum forks.
    pub eth_forks: EthForks,
    /// OP and Opal forks; `None` for a plain Ethereum genesis (no `optimism` section).
    pub op_forks: Option<ForkSchedule>,
    /// OP EIP-1559 parameters.
    pub base_fee: OpBaseFeeConfig,
}

impl ChainSpec {
    /// Reads and checks a genesis.json file.
    pub fn from_file(path: &Path) -> Result<Self, ChainSpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| ChainSpecError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Parses and checks genesis.json text; `path` is used in error messages only.
    pub fn from_json(text: &str, path: &Path) -> Result<Self, ChainSpecError> {
        let genesis: Genesis =
            serde_json::from_str(text).map_err(|source| ChainSpecError::Json {
                path: path.to_owned(),
                source,
            })?;
        Self::from_genesis(genesis, path)
    }

    /// Checks an already parsed genesis.
    pub fn from_genesis(genesis: Genesis, path: &Path) -> Result<Self, ChainSpecError> {
        let invalid = |field: &'static str, reason: String| ChainSpecError::Invalid {
            path: path.to_owned(),
            field,
            reason,
        };
        let cfg = &genesis.config;
        let extra = &cfg.extra_fields;
        let is_optimism = extra.contains_key("optimism");

        let opal: OpalConfig = match extra.get("opal") {
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| invalid("config.opal", e.to_string()))?,
            None => OpalConfig::default(),
        };

        let (op_forks, base_fee, eth_forks) = if is_optimism {
            let info =
                OpGenesisInfo::try_from(extra).map_err(|e| invalid("config", e.to_string()))?;
            let fee: OpBaseFeeInfo = serde_json::from_value(extra["optimism"].clone())
                .map_err(|e| invalid("config.optimism", e.to_string()))?;
            let forks = ForkSchedule {
                regolith: info.regolith_time,
                canyon: info.canyon_time,
                delta: match extra.get("deltaTime") {
                    Some(v) => serde_json::from_value(v.clone())
                        .map_err(|e| invalid("config.deltaTime", e.to_string()))?,
                    None => None,
                },
                ecotone: info.ecotone_time,
                fjord: info.fjord_time,
                granite: info.granite_time,
                holocene: info.holocene_time,
                isthmus: info.isthmus_time,
                jovian: info.jovian_time,
                attribution: opal.attribution_time,
            };
            if let Err((a, b)) = forks.check_order() {
                return Err(invalid(
                    "config",
                    format!(
                        "{}Time is set earlier than (or without) {}Time",
                        b.name(),
                        a.name()
                    ),
                ));
            }
            if info.bedrock_block.is_some_and(|b| b != 0) {
                return Err(invalid(
                    "config.bedrockBlock",
                    "Opal chains start at Bedrock: must be 0".into(),
                ));
            }
            // op-reth derives the L1-named forks from the OP ones; a genesis that names both must agree.
            for (field, given, derived) in [
                ("config.shanghaiTime", cfg.shanghai_time, forks.canyon),
                ("config.cancunTime", cfg.cancun_time, forks.ecotone),
                ("config.pragueTime", cfg.prague_time, forks.isthmus),
            ] {
                if given.is_some() && given != derived {
                    return Err(invalid(
                        field,
                        format!("is {given:?} but the matching OP fork is {derived:?}"),
                    ));
                }
            }
            let get = |v: Option<u64>, field: &'static str| {
                v.filter(|v| *v > 0)
                    .ok_or_else(|| invalid(field, "missing or zero".into()))
            };
            let base_fee = OpBaseFeeConfig {
                elasticity: get(fee.eip1559_elasticity, "config.optimism.eip1559Elasticity")?,
                denominator: get(
                    fee.eip1559_denominator,
                    "config.optimism.eip1559Denominator",
                )?,
                denominator_canyon: match forks.canyon {
                    Some(_) => get(
                        fee.eip1559_denominator_canyon,
                        "config.optimism.eip1559DenominatorCanyon",
                    )?,
                    None => fee.eip1559_denominator_canyon.unwrap_or(0),
                },
            };
            let eth = EthForks {
                london_block: Some(0),
                shanghai_time: forks.canyon,
                cancun_time: forks.ecotone,
                prague_time: forks.isthmus,
            };
            (Some(forks), base_fee, eth)
        } else {
            let eth = EthForks {
                london_block: cfg.london_block,
                shanghai_time: cfg.shanghai_time,
                cancun_time: cfg.cancun_time,
                prague_time: cfg.prague_time,
            };
            let fee = OpBaseFeeConfig {
                elasticity: 2,
                denominator: 8,
                denominator_canyon: 8,
            };
            (None, fee, eth)
        };
        let chain_id = cfg.chain_id;
        if op_forks.is_some() && chain_id == 0 {
            return Err(invalid("config.chainId", "missing or zero".into()));
        }
        Ok(Self {
            genesis,
            chain_id,
            eth_forks,
            op_forks,
            base_fee,
        })
    }

    /// The OP fork schedule (all forks inactive for a plain Ethereum genesis).
    pub fn forks(&self) -> ForkSchedule {
        self.op_forks.unwrap_or_default()
    }

    /// Whether this is an OP Stack chain.
    pub fn is_optimism(&self) -> bool {
        self.op_forks.is_some()
    }

    /// Whether an OP/Opal fork is active at `timestamp`.
    pub fn is_active(&self, fork: Fork, timestamp: u64) -> bool {
        self.op_forks.is_some_and(|f| f.is_active(fork, timestamp))
    }

    /// Whether London is active at block `number`.
    pub fn is_london(&self, number: u64) -> bool {
        self.eth_forks.london_block.is_some_and(|b| number >= b)
    }

    /// Whether Shanghai is active at `timestamp`.
    pub fn is_shanghai(&self, timestamp: u64) -> bool {
        self.eth_forks.shanghai_time.is_some_and(|t| timestamp >= t)
    }

    /// Whether Cancun is active at `timestamp`.
    pub fn is_cancun(&self, timestamp: u64) -> bool {
        self.eth_forks.cancun_time.is_some_and(|t| timestamp >= t)
    }

    /// Whether Prague is active at `timestamp`.
    pub fn is_prague(&self, timestamp: u64) -> bool {
        self.eth_forks.prague_time.is_some_and(|t| timestamp >= t)
    }
}
