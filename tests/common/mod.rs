//! Shared harness of the end-to-end tests: starts `opal node --dev` as a child process on a
//! datadir, waits for it to listen, and stops it with SIGTERM (or kills it on drop).
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).to_path_buf()
}

/// A running dev node.
pub struct DevNode {
    child: Child,
    /// `host:port` of the JSON-RPC server (HTTP and WebSocket).
    pub addr: String,
    /// `host:port` of the WebSocket-only server, when started with `--ws`.
    pub ws: Option<String>,
    /// `host:port` of the metrics server, when started with `--metrics`.
    pub metrics: Option<String>,
}

impl DevNode {
    /// Starts a dev node with the given block time and extra flags.
    pub fn start(datadir: &Path, block_time: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_opal"))
            .args([
                "node",
                "--dev",
                "--http.port",
                "0",
                "--block-time",
                block_time,
                "--datadir",
            ])
            .arg(datadir)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn opal");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let started = Instant::now();
        let addr = loop {
            let line = lines
                .next()
                .expect("node exited before listening")
                .expect("stdout line");
            if let Some(addr) = line.strip_prefix("Listening on ") {
                break addr.trim().to_string();
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "node did not start"
            );
        };
        let ws = extra.contains(&"--ws").then(|| {
            let line = lines
                .next()
                .expect("websocket address")
                .expect("stdout line");
            line.strip_prefix("WebSocket on ")
                .expect("websocket line")
                .trim()
                .to_string()
        });
        let metrics = extra.contains(&"--metrics").then(|| {
            let line = lines.next().expect("metrics address").expect("stdout line");
            line.strip_prefix("Metrics on ")
                .expect("metrics line")
                .trim()
                .to_string()
        });
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            addr,
            ws,
            metrics,
        }
    }

    /// `http://host:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGTERM, then wait: the node finishes its block and exits cleanly.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
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
        let _ = self.child.wait();
    }
}

/// Signs an EIP-1559 call or creation for the devnet (chain 72077, 0.001 gwei tip); returns the
/// EIP-2718 bytes and the hash.
pub fn sign_1559(
    signer: &alloy::signers::local::PrivateKeySigner,
    nonce: u64,
    to: alloy::primitives::TxKind,
    input: alloy::primitives::Bytes,
    gas: u64,
    max_fee: u128,
) -> (alloy::primitives::Bytes, alloy::primitives::B256) {
    sign_1559_tip(signer, nonce, to, input, gas, max_fee, 1_000_000)
}

/// [`sign_1559`] with the priority fee given.
pub fn sign_1559_tip(
    signer: &alloy::signers::local::PrivateKeySigner,
    nonce: u64,
    to: alloy::primitives::TxKind,
    input: alloy::primitives::Bytes,
    gas: u64,
    max_fee: u128,
    tip: u128,
) -> (alloy::primitives::Bytes, alloy::primitives::B256) {
    use alloy::{
        consensus::{SignableTransaction, TxEip1559, TxEnvelope},
        eips::eip2718::Encodable2718,
        network::TxSignerSync,
    };
    let mut tx = TxEip1559 {
        chain_id: 72_077,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip,
        to,
        value: alloy::primitives::U256::ZERO,
        access_list: Default::default(),
        input,
    };
    let sig = signer.sign_transaction_sync(&mut tx).expect("sign");
    let env = TxEnvelope::from(tx.into_signed(sig));
    (env.encoded_2718().into(), *env.tx_hash())
}

/// Positional JSON-RPC parameters for the jsonrpsee client.
pub fn params(values: Vec<serde_json::Value>) -> jsonrpsee::core::params::ArrayParams {
    let mut p = jsonrpsee::core::params::ArrayParams::new();
    for v in values {
        p.insert(v).expect("serialisable parameter");
    }
    p
}

/// The JSON-RPC error object of a failed call (a transport failure fails the test).
pub fn call_error(e: jsonrpsee::core::ClientError) -> jsonrpsee::types::ErrorObjectOwned {
    match e {
        jsonrpsee::core::ClientError::Call(obj) => obj,
        other => panic!("transport error, not a JSON-RPC error: {other}"),
    }
}
