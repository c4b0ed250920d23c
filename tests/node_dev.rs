//! End to end: `opal node --dev` driven by a real client (Foundry's `cast`, installed from npm
//! by `scripts/test.sh` into `tests/e2e/node_modules`), including a restart that keeps state.

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

mod common;
use common::{DevNode, repo};

const KEY0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const DEV0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const DEV1: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

fn cast_bin() -> PathBuf {
    let p = repo().join("tests/e2e/node_modules/@foundry-rs/cast-linux-amd64/bin/cast");
    assert!(
        p.exists(),
        "cast is not installed: run `npm ci` in tests/e2e (scripts/test.sh does)"
    );
    p
}

/// `cast` against a node.
trait Cast {
    fn cast(&self, args: &[&str]) -> Result<String, String>;
    fn ok(&self, args: &[&str]) -> String;
}

impl Cast for DevNode {
    fn cast(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(cast_bin())
            .args(args)
            .env("ETH_RPC_URL", self.url())
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
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn cast_against_dev_node_with_restart() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path(), "500ms", &[]);
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

    // An access list names the token and the two balance slots, not the sender or precompiles.
    let al = json(&node.ok(&["rpc", "eth_createAccessList",
        &format!(r#"{{"from":"{DEV0}","to":"{token}","data":"0xa9059cbb00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c80000000000000000000000000000000000000000000000000000000000000005"}}"#),
        "latest"]));
    let list = al["accessList"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{al}");
    assert_eq!(
        list[0]["address"].as_str().unwrap().to_lowercase(),
        token.to_lowercase()
    );
    assert_eq!(
        list[0]["storageKeys"].as_array().unwrap().len(),
        2,
        "the two balance slots: {al}"
    );
    assert!(
        al["gasUsed"].as_str().is_some() && al.get("error").is_none_or(|e| e.is_null()),
        "{al}"
    );
    // Transactions by block and index agree with the receipt.
    let minted_block = minted["blockNumber"].as_str().unwrap();
    let index = minted["transactionIndex"].as_str().unwrap();
    let by_index = json(&node.ok(&[
        "rpc",
        "eth_getTransactionByBlockNumberAndIndex",
        minted_block,
        index,
    ]));
    assert_eq!(by_index["hash"], minted["transactionHash"]);
    let by_hash_index = json(&node.ok(&[
        "rpc",
        "eth_getTransactionByBlockHashAndIndex",
        minted["blockHash"].as_str().unwrap(),
        index,
    ]));
    assert_eq!(by_hash_index["hash"], minted["transactionHash"]);
    let count = json(&node.ok(&[
        "rpc",
        "eth_getBlockTransactionCountByHash",
        minted["blockHash"].as_str().unwrap(),
    ]));
    assert!(count.as_str().is_some_and(|c| c != "0x0"));

    // eth_call with state and block overrides (Multicall3's getEthBalance and
    // getCurrentBlockTimestamp read what the overrides set).
    let mc = "0xcA11bde05977b3631167028862bE2a173976CA11";
    let get_balance = format!(
        r#"{{"to":"{mc}","data":"0x4d2301cc0000000000000000000000000000000000000000000000000000000000001234"}}"#
    );
    let overridden = node.ok(&[
        "rpc",
        "eth_call",
        &get_balance,
        "latest",
        r#"{"0x0000000000000000000000000000000000001234":{"balance":"0x2a"}}"#,
    ]);
    assert_eq!(overridden.trim_matches('"'), format!("0x{:064x}", 42));
    let plain = node.ok(&["rpc", "eth_call", &get_balance, "latest"]);
    assert_eq!(plain.trim_matches('"'), format!("0x{:064x}", 0));
    let get_time = format!(r#"{{"to":"{mc}","data":"0x0f28c97d"}}"#);
    let at_time = node.ok(&[
        "rpc",
        "eth_call",
        &get_time,
        "latest",
        "{}",
        r#"{"time":"0x3039"}"#,
    ]);
    assert_eq!(at_time.trim_matches('"'), format!("0x{:064x}", 12345));
    // A storage override of the token's balance slot for DEV1 (mapping at slot 0).
    let slot = node.ok(&["index", "address", DEV1, "0"]);
    let state = format!(
        r#"{{"{token}":{{"stateDiff":{{"{slot}":"0x{:064x}"}}}}}}"#,
        777
    );
    let bal_call = format!(
        r#"{{"to":"{token}","data":"0x70a0823100000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8"}}"#
    );
    let with_state = node.ok(&["rpc", "eth_call", &bal_call, "latest", &state]);
    assert_eq!(with_state.trim_matches('"'), format!("0x{:064x}", 777));

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
    let node = DevNode::start(dir.path(), "500ms", &[]);
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

fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn admin_journal_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path(), "500ms", &["--metrics", "127.0.0.1:0"]);
    let metrics_addr = node.metrics.clone().unwrap();
    assert_eq!(node.ok(&["rpc", "admin_sequencerActive"]), "true");
    // Stop the sequencer: the head no longer moves and a new transaction stays pending.
    let head_hash = json(&node.ok(&["rpc", "admin_stopSequencer"]));
    let head = node.ok(&["block-number"]);
    let err = node.cast(&["rpc", "admin_stopSequencer"]).unwrap_err();
    assert!(err.contains("sequencer not running"), "{err}");
    let pending = node.ok(&[
        "send",
        "--private-key",
        KEY0,
        "--async",
        "--gas-limit",
        "21000",
        DEV1,
        "--value",
        "777",
    ]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(node.ok(&["block-number"]), head, "no blocks while stopped");
    assert_eq!(
        node.ok(&["rpc", "eth_getTransactionReceipt", &pending]),
        "null"
    );
    // Metrics and health answer.
    let health = http_get(&metrics_addr, "/health");
    assert!(
        health.starts_with("HTTP/1.1 200") && health.contains("\"status\":\"ok\""),
        "{health}"
    );
    // A method the server does not have is counted under `unknown`, not its name.
    assert!(node.cast(&["rpc", "opal_noSuchMethod"]).is_err());
    let text = http_get(&metrics_addr, "/metrics");
    assert!(text.contains("opal_txpool_pending 1"), "{text}");
    assert!(
        text.contains("opal_rpc_errors_total{method=\"unknown\"} 1\n"),
        "{text}"
    );
    assert!(!text.contains("opal_noSuchMethod"), "{text}");
    assert!(text.contains("opal_blocks_sealed_total"));
    assert!(
        text.contains("opal_rpc_requests_total{method=\"eth_blockNumber\"}"),
        "{text}"
    );
    assert!(
        text.contains("opal_rpc_request_duration_seconds_sum{method=\"admin_stopSequencer\"}"),
        "{text}"
    );
    assert!(
        text.contains(
            "opal_rpc_request_duration_seconds_bucket{method=\"admin_stopSequencer\",le=\"+Inf\"} 2"
        ),
        "{text}"
    );
    // The second stop was refused: one error.
    assert!(
        text.contains("opal_rpc_errors_total{method=\"admin_stopSequencer\"} 1\n"),
        "{text}"
    );
    // Starting on a hash that is not the head is refused.
    let err = node
        .cast(&[
            "rpc",
            "admin_startSequencer",
            &format!("0x{}", "11".repeat(32)),
        ])
        .unwrap_err();
    assert!(err.contains("does not match"), "{err}");
    // Restart: the journaled transaction comes back and is mined.
    node.stop();
    let node = DevNode::start(dir.path(), "500ms", &[]);
    let started = Instant::now();
    loop {
        let r = node.ok(&["rpc", "eth_getTransactionReceipt", &pending]);
        if r != "null" {
            assert_eq!(json(&r)["status"], "0x1");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "journaled transaction was not mined"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(head_hash.is_string());
    node.stop();
}

fn http_post(addr: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let req = format!(
        "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    // The server may answer (413) and close before reading an oversized body.
    let _ = s.write_all(req.as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn bad_requests_get_json_rpc_errors() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path(), "500ms", &[]);
    let malformed = http_post(&node.addr, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":");
    assert!(malformed.contains("-32700"), "parse error: {malformed}");
    let unknown = http_post(
        &node.addr,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_noSuchMethod","params":[]}"#,
    );
    assert!(unknown.contains("-32601"), "method not found: {unknown}");
    let bad_params = http_post(
        &node.addr,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x12"]}"#,
    );
    assert!(
        bad_params.contains("-32602"),
        "invalid params: {bad_params}"
    );
    let garbage_tx = http_post(
        &node.addr,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0xdeadbeef"]}"#,
    );
    assert!(
        garbage_tx.contains("-32000") && garbage_tx.contains("decode"),
        "bad tx: {garbage_tx}"
    );
    let batch = http_post(
        &node.addr,
        r#"[{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]},{"jsonrpc":"2.0","id":2,"method":"net_version","params":[]}]"#,
    );
    assert!(
        batch.contains("\"0x1198d\"") && batch.contains("\"72077\""),
        "batch: {batch}"
    );
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x{}"]}}"#,
        "00".repeat(6 * 1024 * 1024)
    );
    let too_big = http_post(&node.addr, &huge);
    assert!(
        too_big.starts_with("HTTP/1.1 413")
            || too_big.contains("-32007")
            || too_big.contains("too big"),
        "oversized: {}",
        &too_big[..too_big.len().min(300)]
    );
    // The node is still serving.
    assert_eq!(node.ok(&["chain-id"]), "72077");
    node.stop();
}

#[test]
fn api_selection_and_websocket_port() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(
        dir.path(),
        "500ms",
        &[
            "--http.api",
            "eth,net",
            "--http.corsdomain",
            "https://app.example",
            "--ws",
            "--ws.port",
            "0",
        ],
    );
    // CORS: a browser preflight from the allowed origin gets the allow-origin header.
    let preflight = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&node.addr).unwrap();
        s.write_all(b"OPTIONS / HTTP/1.1\r\nhost: x\r\norigin: https://app.example\r\naccess-control-request-method: POST\r\naccess-control-request-headers: content-type\r\nconnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.to_lowercase()
    };
    assert!(
        preflight.contains("access-control-allow-origin: https://app.example"),
        "{preflight}"
    );
    let disabled = http_post(
        &node.addr,
        r#"{"jsonrpc":"2.0","id":1,"method":"web3_clientVersion","params":[]}"#,
    );
    assert!(
        disabled.contains("-32601"),
        "web3 is not served: {disabled}"
    );
    let debug = http_post(
        &node.addr,
        r#"{"jsonrpc":"2.0","id":1,"method":"debug_getRawHeader","params":["latest"]}"#,
    );
    assert!(debug.contains("-32601"), "debug is not served: {debug}");
    assert_eq!(node.ok(&["chain-id"]), "72077");
    // The WebSocket-only listener serves the same methods.
    let ws = format!("ws://{}", node.ws.clone().unwrap());
    assert_eq!(node.ok(&["chain-id", "--rpc-url", &ws]), "72077");
    node.stop();
}
