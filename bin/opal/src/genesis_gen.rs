//! Generates the devnet `genesis.json` and `rollup.json` from the compiled contract artifacts, so
//! neither file is ever edited by hand. Deterministic: the same artifacts give the same bytes.

use std::{collections::BTreeMap, path::Path};

use alloy::{
    eips::{eip2935, eip4788},
    primitives::{Address, B256, U256, keccak256},
    signers::local::{MnemonicBuilder, coins_bip39::English},
};
use eyre::{WrapErr, eyre};
use opal_primitives::{ChainSpec, addresses as a, genesis_header::compute_genesis_header};
use serde_json::{Value, json};

/// Devnet L2 chain id.
pub const CHAIN_ID: u64 = 72_077;
/// L1 chain id of the devnet (anvil's default).
pub const L1_CHAIN_ID: u64 = 31_337;
/// Genesis timestamp (2026-01-01T00:00:00Z).
pub const GENESIS_TIME: u64 = 1_767_225_600;
/// L2 block gas limit.
pub const GAS_LIMIT: u64 = 30_000_000;
/// The mnemonic anvil and Hardhat derive their developer accounts from.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";
/// Number of prefunded developer accounts.
pub const DEV_ACCOUNTS: u32 = 10;
/// Balance of each developer account: 10,000 ETH.
pub const DEV_BALANCE_ETH: u64 = 10_000;
/// Ecotone fee scalars (OP mainnet's).
pub const BASE_FEE_SCALAR: u32 = 1368;
/// Ecotone blob fee scalar.
pub const BLOB_BASE_FEE_SCALAR: u32 = 810_949;
/// EIP-1559 parameters (OP mainnet's).
pub const EIP1559_ELASTICITY: u32 = 6;
/// Pre-Canyon denominator.
pub const EIP1559_DENOMINATOR: u32 = 50;
/// Canyon denominator.
pub const EIP1559_DENOMINATOR_CANYON: u32 = 250;

/// One compiled contract.
struct Artifact {
    code: String,
    layout: Value,
}

fn load(dir: &Path, name: &str) -> eyre::Result<Artifact> {
    let path = dir.join(format!("{name}.json"));
    let text =
        std::fs::read_to_string(&path).wrap_err_with(|| format!("reading {}", path.display()))?;
    let v: Value =
        serde_json::from_str(&text).wrap_err_with(|| format!("parsing {}", path.display()))?;
    let code = v["deployedBytecode"]
        .as_str()
        .ok_or_else(|| eyre!("{}: no deployedBytecode", path.display()))?;
    if code.len() <= 2 {
        return Err(eyre!("{}: empty deployedBytecode", path.display()));
    }
    Ok(Artifact {
        code: code.to_string(),
        layout: v["storageLayout"]["storage"].clone(),
    })
}

impl Artifact {
    /// `(slot, byte offset from the low end)` of a state variable, from solc's storage layout.
    fn slot(&self, label: &str) -> eyre::Result<(u64, usize)> {
        let entry = self
            .layout
            .as_array()
            .and_then(|l| l.iter().find(|e| e["label"] == label))
            .ok_or_else(|| eyre!("storage layout has no `{label}`"))?;
        let slot = entry["slot"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| eyre!("bad slot for {label}"))?;
        let offset = entry["offset"]
            .as_u64()
            .ok_or_else(|| eyre!("bad offset for {label}"))? as usize;
        Ok((slot, offset))
    }
}

/// Packs labelled values into storage words as solc lays them out.
fn storage(art: &Artifact, values: &[(&str, U256)]) -> eyre::Result<BTreeMap<B256, B256>> {
    let mut words: BTreeMap<u64, U256> = BTreeMap::new();
    for (label, value) in values {
        let (slot, offset) = art.slot(label)?;
        *words.entry(slot).or_default() |= *value << (8 * offset);
    }
    Ok(words
        .into_iter()
        .filter(|(_, v)| !v.is_zero())
        .map(|(k, v)| (B256::from(U256::from(k)), B256::from(v)))
        .collect())
}

fn account(code: &str, storage: BTreeMap<B256, B256>) -> Value {
    let mut acc = json!({"balance": "0x0", "nonce": "0x1", "code": code});
    if !storage.is_empty() {
        acc["storage"] = serde_json::to_value(storage).unwrap_or_default();
    }
    acc
}

/// Devnet fee split: protocol, model, staker and contributor basis points.
pub const ATTRIBUTION_BPS: [u16; 4] = [500, 2_000, 500, 7_000];

/// The attribution precompile accounts (nonce 1, revert code), the ledger's genesis storage
/// (schema version, fee config, roles) and the Datanets predeploy. Roles: developer account 0 is
/// the admin, account 2 the attestor, the Datanets contract the registrar; accounts 3 and 4
/// receive the protocol and staker pools.
fn attribution_alloc(
    artifacts: &Path,
    dev: &[(Address, B256)],
    alloc: &mut BTreeMap<String, Value>,
) -> eyre::Result<()> {
    use opal_attribution::{
        DATANETS_ADDRESS, LEDGER_ADDRESS, PLACEHOLDER_CODE,
        genesis::LedgerGenesis,
        layout::{FeeConfig, Role},
    };
    let ledger = LedgerGenesis {
        fee_config: FeeConfig {
            bps: ATTRIBUTION_BPS,
            treasury: dev[3].0,
            staker_pool: dev[4].0,
        },
        roles: vec![
            (dev[0].0, Role::Admin),
            (dev[2].0, Role::Attestor),
            (DATANETS_ADDRESS, Role::Registrar),
        ],
    };
    let placeholder = format!("0x{}", alloy::primitives::hex::encode(PLACEHOLDER_CODE));
    for addr in opal_attribution::ADDRESSES {
        let storage = if addr == LEDGER_ADDRESS {
            ledger
                .storage()
                .into_iter()
                .map(|(k, v)| (B256::from(k), B256::from(v)))
                .collect()
        } else {
            BTreeMap::new()
        };
        alloc.insert(format!("{addr:?}"), account(&placeholder, storage));
    }
    alloc.insert(
        format!("{DATANETS_ADDRESS:?}"),
        account(&load(artifacts, "Datanets")?.code, BTreeMap::new()),
    );
    Ok(())
}

/// The developer accounts of [`DEV_MNEMONIC`].
pub fn dev_accounts() -> eyre::Result<Vec<(Address, B256)>> {
    (0..DEV_ACCOUNTS)
        .map(|i| {
            let signer = MnemonicBuilder::<English>::default()
                .phrase(DEV_MNEMONIC)
                .index(i)?
                .build()?;
            Ok((
                signer.address(),
                B256::from_slice(&signer.credential().to_bytes()),
            ))
        })
        .collect()
}

/// The hash the rollup's L1 genesis placeholder uses until a devnet rewrites it with anvil's.
pub fn l1_genesis_placeholder() -> B256 {
    keccak256("opal devnet L1 genesis placeholder")
}

/// Builds `(file name, contents)` for genesis.json and rollup.json.
pub fn generate(artifacts: &Path) -> eyre::Result<Vec<(&'static str, String)>> {
    let dev = dev_accounts()?;
    let mut alloc: BTreeMap<String, Value> = BTreeMap::new();
    let eth = U256::from(10u64).pow(U256::from(18));
    for (addr, _) in &dev {
        alloc.insert(
            format!("{addr:?}"),
            json!({"balance": format!("{:#x}", U256::from(DEV_BALANCE_ETH) * eth)}),
        );
    }
    let batcher = dev[1].0;
    let l1_hash = l1_genesis_placeholder();

    let l1block = load(artifacts, "L1Block")?;
    let l1_values = [
        ("number", U256::ZERO),
        ("timestamp", U256::from(GENESIS_TIME)),
        ("basefee", U256::from(1_000_000_000u64)),
        ("hash", U256::from_be_bytes(l1_hash.0)),
        ("sequenceNumber", U256::ZERO),
        ("blobBaseFeeScalar", U256::from(BLOB_BASE_FEE_SCALAR)),
        ("baseFeeScalar", U256::from(BASE_FEE_SCALAR)),
        ("batcherHash", U256::from_be_slice(batcher.as_slice())),
        ("blobBaseFee", U256::from(1)),
    ];
    alloc.insert(
        format!("{:?}", a::L1_BLOCK),
        account(&l1block.code, storage(&l1block, &l1_values)?),
    );
    alloc.insert(
        format!("{:?}", a::GAS_PRICE_ORACLE),
        account(&load(artifacts, "GasPriceOracle")?.code, BTreeMap::new()),
    );
    alloc.insert(
        format!("{:?}", a::L2_TO_L1_MESSAGE_PASSER),
        account(
            &load(artifacts, "L2ToL1MessagePasser")?.code,
            BTreeMap::new(),
        ),
    );
    let vault = load(artifacts, "FeeVault")?;
    let vault_storage = storage(
        &vault,
        &[("recipient", U256::from_be_slice(dev[0].0.as_slice()))],
    )?;
    for addr in [
        a::SEQUENCER_FEE_VAULT,
        a::BASE_FEE_VAULT,
        a::L1_FEE_VAULT,
        a::OPERATOR_FEE_VAULT,
    ] {
        alloc.insert(
            format!("{addr:?}"),
            account(&vault.code, vault_storage.clone()),
        );
    }
    alloc.insert(
        format!("{:?}", a::MULTICALL3),
        account(&load(artifacts, "Multicall3")?.code, BTreeMap::new()),
    );
    alloc.insert(
        format!("{:?}", a::CREATE2_DEPLOYER),
        account(&load(artifacts, "Create2Deployer")?.code, BTreeMap::new()),
    );
    alloc.insert(
        format!("{:?}", a::BEACON_ROOTS),
        account(&format!("{}", eip4788::BEACON_ROOTS_CODE), BTreeMap::new()),
    );
    alloc.insert(
        format!("{:?}", a::HISTORY_STORAGE),
        account(
            &format!("{}", eip2935::HISTORY_STORAGE_CODE),
            BTreeMap::new(),
        ),
    );

    attribution_alloc(artifacts, &dev, &mut alloc)?;

    let mut extra = vec![0u8];
    extra.extend(EIP1559_DENOMINATOR_CANYON.to_be_bytes());
    extra.extend(EIP1559_ELASTICITY.to_be_bytes());
    let genesis = json!({
        "config": {
            "chainId": CHAIN_ID,
            "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0, "eip158Block": 0, "byzantiumBlock": 0,
            "constantinopleBlock": 0, "petersburgBlock": 0, "istanbulBlock": 0, "muirGlacierBlock": 0,
            "berlinBlock": 0, "londonBlock": 0, "arrowGlacierBlock": 0, "grayGlacierBlock": 0,
            "mergeNetsplitBlock": 0, "terminalTotalDifficulty": 0, "terminalTotalDifficultyPassed": true,
            "shanghaiTime": 0, "cancunTime": 0, "pragueTime": 0,
            "bedrockBlock": 0, "regolithTime": 0, "canyonTime": 0, "deltaTime": 0, "ecotoneTime": 0,
            "fjordTime": 0, "graniteTime": 0, "holoceneTime": 0, "isthmusTime": 0,
            "optimism": {
                "eip1559Elasticity": EIP1559_ELASTICITY,
                "eip1559Denominator": EIP1559_DENOMINATOR,
                "eip1559DenominatorCanyon": EIP1559_DENOMINATOR_CANYON
            },
            "opal": { "attributionTime": 0 }
        },
        "nonce": "0x0",
        "timestamp": format!("{GENESIS_TIME:#x}"),
        "extraData": format!("0x{}", alloy::primitives::hex::encode(&extra)),
        "gasLimit": format!("{GAS_LIMIT:#x}"),
        "difficulty": "0x0",
        "mixHash": format!("{:?}", B256::ZERO),
        "coinbase": format!("{:?}", a::SEQUENCER_FEE_VAULT),
        "baseFeePerGas": "0x3b9aca00",
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": format!("{:?}", B256::ZERO),
        "alloc": alloc,
    });
    let genesis_text = serde_json::to_string_pretty(&genesis)? + "\n";
    let spec = ChainSpec::from_json(&genesis_text, Path::new("genesis.json"))?;
    let l2_hash = compute_genesis_header(&spec).hash_slow();

    let mut scalar = [0u8; 32];
    scalar[0] = 1;
    scalar[24..28].copy_from_slice(&BLOB_BASE_FEE_SCALAR.to_be_bytes());
    scalar[28..32].copy_from_slice(&BASE_FEE_SCALAR.to_be_bytes());
    let mut inbox = [0u8; 20];
    inbox[0] = 0xff;
    inbox[12..].copy_from_slice(&CHAIN_ID.to_be_bytes());
    let rollup = json!({
        "genesis": {
            "l1": {"hash": format!("{l1_hash:?}"), "number": 0},
            "l2": {"hash": format!("{l2_hash:?}"), "number": 0},
            "l2_time": GENESIS_TIME,
            "system_config": {
                "batcherAddr": format!("{batcher:?}"),
                "overhead": format!("{:?}", B256::from(U256::from(188))),
                "scalar": format!("{:?}", B256::from(scalar)),
                "gasLimit": GAS_LIMIT,
                "eip1559Params": "0x0000000000000000",
                "operatorFeeParams": format!("{:?}", B256::ZERO)
            }
        },
        "block_time": 2,
        "max_sequencer_drift": 600,
        "seq_window_size": 3600,
        "channel_timeout": 300,
        "l1_chain_id": L1_CHAIN_ID,
        "l2_chain_id": CHAIN_ID,
        "regolith_time": 0, "canyon_time": 0, "delta_time": 0, "ecotone_time": 0, "fjord_time": 0,
        "granite_time": 0, "holocene_time": 0, "isthmus_time": 0,
        "batch_inbox_address": format!("{:?}", Address::from(inbox)),
        "deposit_contract_address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "l1_system_config_address": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
        "chain_op_config": {
            "eip1559Elasticity": EIP1559_ELASTICITY,
            "eip1559Denominator": EIP1559_DENOMINATOR,
            "eip1559DenominatorCanyon": EIP1559_DENOMINATOR_CANYON
        }
    });
    let rollup_text = serde_json::to_string_pretty(&rollup)? + "\n";
    Ok(vec![
        ("genesis.json", genesis_text),
        ("rollup.json", rollup_text),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use opal_primitives::RollupConfig;

    fn repo() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn dev_accounts_are_the_well_known_ones() {
        let dev = dev_accounts().unwrap();
        assert_eq!(
            format!("{:?}", dev[0].0).to_lowercase(),
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
        assert_eq!(
            format!("{:?}", dev[0].1),
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        );
        assert_eq!(
            format!("{:?}", dev[1].0).to_lowercase(),
            "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
        );
        assert_eq!(dev.len(), 10);
    }

    #[test]
    fn committed_genesis_matches_generator() {
        let root = repo();
        let files = generate(&root.join("contracts/artifacts")).unwrap();
        for (name, text) in files {
            let committed =
                std::fs::read_to_string(root.join("genesis").join(name)).unwrap_or_default();
            assert!(
                committed == text,
                "genesis/{name} is stale: run `cargo run -p opal -- tools genesis`"
            );
        }
    }

    #[test]
    fn generated_files_are_consistent() {
        let root = repo();
        let files = generate(&root.join("contracts/artifacts")).unwrap();
        let spec = ChainSpec::from_json(&files[0].1, Path::new("genesis.json")).unwrap();
        let hash = compute_genesis_header(&spec).hash_slow();
        let rollup = RollupConfig::from_json(&files[1].1, Path::new("rollup.json")).unwrap();
        rollup
            .check_against(&spec, hash, Path::new("rollup.json"))
            .unwrap();
        assert_eq!(
            rollup.fee_scalars(),
            (BASE_FEE_SCALAR, BLOB_BASE_FEE_SCALAR)
        );
        assert!(
            spec.forks()
                .is_active(opal_primitives::Fork::Isthmus, GENESIS_TIME)
        );
        assert!(
            spec.forks()
                .is_active(opal_primitives::Fork::Attribution, GENESIS_TIME)
        );
    }
}
