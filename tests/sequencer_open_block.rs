//! End to end: the sequencer's open block. Transactions admitted while a block is open join it in
//! nonce order, and a replacement the pool accepts is the transaction that gets mined, even when
//! the open block had already executed the transaction it replaced. Admission validates against
//! each new head as soon as it is committed.

use std::time::{Duration, Instant};

use alloy::{
    primitives::{Address, B256, Bytes, TxKind, address},
    signers::local::PrivateKeySigner,
};
use jsonrpsee::{
    core::client::ClientT,
    http_client::{HttpClient, HttpClientBuilder},
};
use serde_json::{Value, json};

mod common;
use common::{DevNode, call_error, params, sign_1559_tip};

const KEY4: &str = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
const KEY3: &str = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
const TO: Address = address!("000000000000000000000000000000000000dEaD");
const GWEI: u128 = 1_000_000_000;

async fn call(http: &HttpClient, method: &str, args: Vec<Value>) -> Value {
    http.request::<Value, _>(method, params(args))
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

/// A dev node with blocks every `block_time`, and an HTTP client for it.
fn start(datadir: &std::path::Path, block_time: &str) -> (DevNode, HttpClient) {
    let node = DevNode::start(datadir, block_time, &[]);
    let http = HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(30))
        .build(format!("http://{}", node.addr))
        .unwrap();
    (node, http)
}

/// A signed empty call to the dead address with the given fee cap and tip.
fn transfer(signer: &PrivateKeySigner, nonce: u64, fee: u128, tip: u128) -> (Bytes, B256) {
    sign_1559_tip(
        signer,
        nonce,
        TxKind::Call(TO),
        Bytes::new(),
        21_000,
        fee,
        tip,
    )
}

fn quantity(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("quantity").trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_block_keeps_nonce_order_and_honours_replacements() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, http) = start(dir.path(), "1s");
    let signer: PrivateKeySigner = KEY3.parse().unwrap();
    let me = signer.address();
    // The replacement bumps both fee fields (tip 1 → 3 gwei, fee cap 100 → 200 gwei).
    let sign = |nonce: u64, replacement: bool| {
        let (fee, tip) = if replacement {
            (200 * GWEI, 3 * GWEI)
        } else {
            (100 * GWEI, GWEI)
        };
        transfer(&signer, nonce, fee, tip)
    };

    let mut replaced_rounds = 0;
    for round in 0..4 {
        let start = quantity(
            &call(
                &http,
                "eth_getTransactionCount",
                vec![json!(me), json!("latest")],
            )
            .await,
        );
        // A run of ten, sent one after another while blocks open and close.
        let mut mined: Vec<B256> = vec![];
        for k in 0..10 {
            let (raw, hash) = sign(start + k, false);
            let got = call(&http, "eth_sendRawTransaction", vec![json!(raw)]).await;
            assert_eq!(got, json!(hash));
            mined.push(hash);
        }
        // Let the open block execute the run, then replace the last one (a new hash).
        tokio::time::sleep(Duration::from_millis(100)).await;
        let last = start + 9;
        let (raw, replacement) = sign(last, true);
        match http
            .request::<Value, _>("eth_sendRawTransaction", params(vec![json!(raw)]))
            .await
        {
            Ok(got) => {
                assert_eq!(got, json!(replacement));
                mined[9] = replacement;
                replaced_rounds += 1;
            }
            // The block holding the original was committed first: the replacement is too late.
            Err(e) => {
                let e = call_error(e);
                assert!(
                    e.message().contains("nonce too low"),
                    "round {round}: {e:?}"
                );
            }
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while quantity(
            &call(
                &http,
                "eth_getTransactionCount",
                vec![json!(me), json!("latest")],
            )
            .await,
        ) < start + 10
        {
            assert!(Instant::now() < deadline, "round {round}: run not mined");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Exactly the expected transactions were mined, in nonce order across blocks.
        let mut position = (0u64, 0u64);
        for (k, hash) in mined.iter().enumerate() {
            let r = call(&http, "eth_getTransactionReceipt", vec![json!(hash)]).await;
            assert_eq!(r["status"], "0x1", "round {round} nonce {k}: {r}");
            let at = (
                quantity(&r["blockNumber"]),
                quantity(&r["transactionIndex"]),
            );
            assert!(
                at > position,
                "round {round}: nonce {k} at {at:?} after {position:?}"
            );
            position = at;
            let tx = call(&http, "eth_getTransactionByHash", vec![json!(hash)]).await;
            assert_eq!(quantity(&tx["nonce"]), start + k as u64);
        }
        if mined[9] == replacement {
            let (_, original) = sign(last, false);
            let r = call(&http, "eth_getTransactionReceipt", vec![json!(original)]).await;
            assert!(
                r.is_null(),
                "round {round}: the replaced transaction was mined: {r}"
            );
        }
        let status = call(&http, "txpool_status", vec![]).await;
        assert_eq!(status["pending"], "0x0", "round {round}: {status}");
    }
    // 0.1 s after the run, in one-second blocks, most replacements find the block still open.
    assert!(
        replaced_rounds > 0,
        "no replacement was accepted in four rounds"
    );
}

/// Admission caches each sender's account per head. Right after a sender's transaction is
/// mined, another transaction with the same nonce must be refused as "nonce too low", and the
/// next nonce must be accepted: neither works if admission still sees the previous head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_sees_each_new_head() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, http) = start(dir.path(), "100ms");
    let signer: PrivateKeySigner = KEY4.parse().unwrap();
    let me = signer.address();
    let sign = |nonce: u64, tip: u128| transfer(&signer, nonce, 100 * GWEI, tip);
    for nonce in 0..12u64 {
        let (raw, hash) = sign(nonce, GWEI);
        assert_eq!(
            call(&http, "eth_sendRawTransaction", vec![json!(raw)]).await,
            json!(hash)
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let r = call(&http, "eth_getTransactionReceipt", vec![json!(hash)]).await;
            if !r.is_null() {
                break;
            }
            assert!(Instant::now() < deadline, "nonce {nonce} not mined");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Same nonce, a different transaction (another tip): the head already holds the nonce.
        let (raw, _) = sign(nonce, 2 * GWEI);
        let e = http
            .request::<Value, _>("eth_sendRawTransaction", params(vec![json!(raw)]))
            .await
            .expect_err("a mined nonce was admitted again");
        let e = call_error(e);
        assert!(
            e.message().contains("nonce too low"),
            "nonce {nonce}: {e:?}"
        );
    }
    let count = call(
        &http,
        "eth_getTransactionCount",
        vec![json!(me), json!("latest")],
    )
    .await;
    assert_eq!(quantity(&count), 12);
}
