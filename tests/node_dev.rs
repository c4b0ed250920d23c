//! End to end: `opal node --dev` driven by a real client (Foundry's `cast`, installed from npm
//! by `scripts/test.sh` into `tests/e2e/node_modules`), including a restart that keeps state.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const KEY0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const DEV0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const DEV1: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

fn repo() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).to_path_buf()
}

fn cast_bin() -> PathBuf {
    let p = repo().join("tests/e2e/node_modules/@foundry-rs/cast-linux-amd64/bin/cast");
    assert!(
        p.exists(),
        "cast is not installed: run `npm ci` in tests/e2e (scripts/test.sh does)"
    );
    p
}

struct DevNode {
    child: Child,
    url: String,
}

impl DevNode {
    fn start(datadir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_opal"))
            .args([
                "node",
                "--dev",
                "--http.port",
                "0",
                "--block-time",
                "500ms",
                "--datadir",
            ])
            .arg(datadir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let started = Instant::now();
        let url = loop {
            let line = lines.next().expect("node exited before listening").unwrap();
            if let Some(addr) = line.strip_prefix("Listening on ") {
                break format!("http://{addr}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "node did not start"
            );
        };
        std::thread::spawn(move || for _ in lines {});
        Self { child, url }
    }

    fn cast(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(cast_bin())
            .args(args)
            .env("ETH_RPC_URL", &self.url)
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    fn ok(&self, args: &[&str]) -> String {
        self.cast(args)
            .unwrap_or_else(|e| panic!("cast {args:?} failed: {e}"))
    }

    /// SIGTERM, then wait: the node finishes its block and exits cleanly.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "node exited with {status}");
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "node ignored SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for DevNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn cast_against_dev_node_with_restart() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path());
    assert_eq!(node.ok(&["chain-id"]), "72077");
    assert_eq!(node.ok(&["client"]).split('/').next(), Some("opal"));

    // A value transfer, mined with a receipt carrying the OP L1-fee fields.
    let receipt = json(&node.ok(&[
        "send",
        "--private-key",
        KEY0,
        "0x00000000000000000000000000000000000000aa",
        "--value",
        "12345",
        "--json",
    ]));
    assert_eq!(receipt["status"], "0x1");
    // cast drops fields it does not know; read the raw receipt for the OP ones.
    let hash = receipt["transactionHash"].as_str().unwrap();
    let raw = json(&node.ok(&["rpc", "eth_getTransactionReceipt", hash]));
    assert!(
        raw["l1Fee"].as_str().is_some_and(|f| f != "0x0"),
        "receipt has l1Fee: {raw}"
    );
    assert!(
        raw["l1GasUsed"].is_string()
            && raw["l1BaseFeeScalar"].is_string()
            && raw["l1GasPrice"].is_string()
    );
    assert_eq!(
        node.ok(&["balance", "0x00000000000000000000000000000000000000aa"]),
        "12345"
    );

    // Deploy the ERC-20 compiled with our pinned solc, mint, read, and see its Transfer log.
    let artifact =
        json(&std::fs::read_to_string(repo().join("contracts/artifacts/TestERC20.json")).unwrap());
    let bytecode = artifact["bytecode"].as_str().unwrap();
    let deployed = json(&node.ok(&[
        "send",
        "--private-key",
        KEY0,
        "--create",
        bytecode,
        "--json",
    ]));
    assert_eq!(deployed["status"], "0x1");
    let token = deployed["contractAddress"].as_str().unwrap().to_string();
    assert!(node.ok(&["code", &token]).len() > 100);
    let minted = json(&node.ok(&[
        "send",
        "--private-key",
        KEY0,
        &token,
        "mint(address,uint256)",
        DEV0,
        "1000",
        "--json",
    ]));
    assert_eq!(minted["logs"].as_array().unwrap().len(), 1);
    assert_eq!(
        node.ok(&["call", &token, "balanceOf(address)(uint256)", DEV0]),
        "1000"
    );

    // Gas estimate and a decoded revert reason.
    let gas: u64 = node
        .ok(&[
            "estimate",
            &token,
            "transfer(address,uint256)",
            DEV1,
            "5",
            "--from",
            DEV0,
        ])
        .parse()
        .unwrap();
    assert!((25_000..80_000).contains(&gas), "estimate {gas}");
    let err = node
        .cast(&[
            "call",
            &token,
            "transfer(address,uint256)(bool)",
            DEV0,
            "5",
            "--from",
            DEV1,
        ])
        .unwrap_err();
    assert!(
        err.contains("execution reverted: TestERC20: insufficient balance"),
        "{err}"
    );

    // Pool errors as geth words them.
    let err = node
        .cast(&[
            "send",
            "--private-key",
            KEY0,
            "--nonce",
            "0",
            "--gas-limit",
            "21000",
            DEV1,
            "--value",
            "1",
        ])
        .unwrap_err();
    assert!(err.contains("nonce too low"), "{err}");
    let err = node
        .cast(&[
            "send",
            "--private-key",
            KEY0,
            DEV1,
            "--value",
            "1",
            "--gas-limit",
            "20000",
        ])
        .unwrap_err();
    assert!(err.contains("intrinsic gas too low"), "{err}");

    let height = node.ok(&["block-number"]).parse::<u64>().unwrap();
    node.stop();

    // Restart on the same datadir: state and chain continue.
    let node = DevNode::start(dir.path());
    assert!(node.ok(&["block-number"]).parse::<u64>().unwrap() >= height);
    assert_eq!(
        node.ok(&["balance", "0x00000000000000000000000000000000000000aa"]),
        "12345"
    );
    assert_eq!(
        node.ok(&["call", &token, "balanceOf(address)(uint256)", DEV0]),
        "1000"
    );
    let receipt = json(&node.ok(&[
        "send",
        "--private-key",
        KEY0,
        &token,
        "transfer(address,uint256)",
        DEV1,
        "400",
        "--json",
    ]));
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(
        node.ok(&["call", &token, "balanceOf(address)(uint256)", DEV1]),
        "400"
    );
    node.stop();
}
