//! The public genesis files in `shared/fixtures/genesis` must hash to their published genesis
//! block hashes. Those files carry no `config`; each network's fork schedule is public knowledge and
//! is supplied here as the chain's config, exactly as geth/reth pair these files with a chain spec.

use std::path::{Path, PathBuf};

use alloy::primitives::{B256, b256};
use opal_primitives::{
    ChainSpec,
    genesis_header::{compute_genesis_header, genesis_state_root},
};

fn fixture(name: &str) -> PathBuf {
    let dir = std::env::var("OPAL_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"));
    dir.join("genesis").join(name)
}

fn load(name: &str, config: Option<serde_json::Value>) -> ChainSpec {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    if let Some(cfg) = config {
        json["config"] = cfg;
    }
    ChainSpec::from_json(&json.to_string(), &path).expect("fixture parses")
}

fn hash(spec: &ChainSpec) -> B256 {
    compute_genesis_header(spec).hash_slow()
}

#[test]
fn mainnet_genesis_hash_and_state_root() {
    let spec = load("mainnet.json", None);
    assert_eq!(
        genesis_state_root(&spec),
        b256!("0xd7f8974fb5ac78d9ac099b9ad5018bedc2ce0a72dad1827a1709da30580f0544")
    );
    assert_eq!(
        hash(&spec),
        b256!("0xd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3")
    );
}

#[test]
fn sepolia_genesis_hash() {
    // Sepolia: every fork through London at block 0.
    let cfg = serde_json::json!({"chainId": 11155111, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0,
        "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0, "petersburgBlock": 0,
        "istanbulBlock": 0, "muirGlacierBlock": 0, "berlinBlock": 0, "londonBlock": 0,
        "mergeNetsplitBlock": 1735371, "shanghaiTime": 1677557088u64, "cancunTime": 1706655072u64});
    let spec = load("sepolia.json", Some(cfg));
    assert_eq!(
        hash(&spec),
        b256!("0x25a5cc106eea7138acab33231d7160d69cb777ee0c2c553fcddf5138993e6dd9")
    );
}

#[test]
fn holesky_genesis_hash() {
    // Holesky: London at 0, Shanghai after genesis (1696000704 > genesis time 1695902100).
    let cfg = serde_json::json!({"chainId": 17000, "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0,
        "eip158Block": 0, "byzantiumBlock": 0, "constantinopleBlock": 0, "petersburgBlock": 0,
        "istanbulBlock": 0, "berlinBlock": 0, "londonBlock": 0, "mergeNetsplitBlock": 0,
        "terminalTotalDifficulty": 0, "shanghaiTime": 1696000704u64, "cancunTime": 1707305664u64});
    let spec = load("holesky.json", Some(cfg));
    assert_eq!(
        hash(&spec),
        b256!("0xb5f7f912443c940f21fd611f12828d75b534364ed9e95ca4e307729a4661bde4")
    );
}

#[test]
fn hoodi_genesis_hash_with_cancun_at_genesis() {
    // Hoodi ships its own config (Shanghai and Cancun at 0).
    let spec = load("hoodi.json", None);
    let header = compute_genesis_header(&spec);
    assert!(header.withdrawals_root.is_some() && header.blob_gas_used == Some(0));
    assert!(header.parent_beacon_block_root.is_some() && header.requests_hash.is_none());
    assert_eq!(
        header.hash_slow(),
        b256!("0xbbe312868b376a3001692a646dd2d7d1e4406380dfd86b98aa8a34d1557c971b")
    );
}
