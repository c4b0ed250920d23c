//! End to end: logs, filters, WebSocket subscriptions and `eth_sendRawTransactionSync` against
//! `opal node --dev`, driven with jsonrpsee's HTTP and WebSocket clients and transactions
//! signed with alloy (an ERC-20 compiled with our pinned solc emits the `Transfer` logs).

use std::time::{Duration, Instant};

use alloy::{
    primitives::{Address, B256, Bytes, TxKind, U256, address, hex, keccak256},
    signers::local::PrivateKeySigner,
};
use jsonrpsee::{
    core::client::{ClientT, Subscription, SubscriptionClientT},
    http_client::{HttpClient, HttpClientBuilder},
    types::ErrorObjectOwned,
    ws_client::{WsClient, WsClientBuilder},
};
use serde_json::{Value, json};

mod common;
use common::{DevNode, call_error, params, repo};

const KEY0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const DEV0: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
const DEV1: Address = address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");
const DEV2: Address = address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
const WAIT: Duration = Duration::from_secs(20);

/// Talks JSON-RPC to the node and signs transactions from dev account 0.
struct Rpc {
    http: HttpClient,
    ws: WsClient,
    signer: PrivateKeySigner,
    nonce: u64,
    max_fee: u128,
}

fn word(a: Address) -> B256 {
    B256::left_padding_from(a.as_slice())
}

fn calldata(signature: &str, to: Address, amount: u64) -> Bytes {
    let mut data = keccak256(signature.as_bytes())[..4].to_vec();
    data.extend_from_slice(word(to).as_slice());
    data.extend_from_slice(&U256::from(amount).to_be_bytes::<32>());
    data.into()
}

fn hash_of(v: &Value) -> B256 {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not a hash ({e}): {v}"))
}

fn quantity(v: &Value) -> u64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a quantity: {v}"));
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

impl Rpc {
    async fn connect(addr: &str) -> Self {
        let http = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(60))
            .build(format!("http://{addr}"))
            .unwrap();
        let ws = WsClientBuilder::default()
            .request_timeout(Duration::from_secs(60))
            .build(format!("ws://{addr}"))
            .await
            .unwrap();
        let signer: PrivateKeySigner = KEY0.parse().unwrap();
        assert_eq!(signer.address(), DEV0);
        let mut rpc = Self {
            http,
            ws,
            signer,
            nonce: 0,
            max_fee: 0,
        };
        rpc.nonce = quantity(
            &rpc.ok(
                "eth_getTransactionCount",
                vec![json!(DEV0), json!("pending")],
            )
            .await,
        );
        let gas_price = quantity(&rpc.ok("eth_gasPrice", vec![]).await) as u128;
        rpc.max_fee = gas_price * 4 + 1_000_000_000;
        rpc
    }

    async fn call(&self, method: &str, args: Vec<Value>) -> Result<Value, ErrorObjectOwned> {
        self.http
            .request::<Value, _>(method, params(args))
            .await
            .map_err(call_error)
    }

    async fn ok(&self, method: &str, args: Vec<Value>) -> Value {
        self.call(method, args)
            .await
            .unwrap_or_else(|e| panic!("{method} failed: {e:?}"))
    }

    async fn err(&self, method: &str, args: Vec<Value>) -> ErrorObjectOwned {
        match self.call(method, args).await {
            Ok(v) => panic!("{method} should fail, returned {v}"),
            Err(e) => e,
        }
    }

    /// Signs an EIP-1559 transaction with the next nonce (or `nonce` when given).
    fn sign(&mut self, to: TxKind, input: Bytes, gas: u64, nonce: Option<u64>) -> (Bytes, B256) {
        let nonce = nonce.unwrap_or_else(|| {
            self.nonce += 1;
            self.nonce - 1
        });
        common::sign_1559(&self.signer, nonce, to, input, gas, self.max_fee)
    }

    /// Sends through `eth_sendRawTransactionSync`; checks the receipt is the one
    /// `eth_getTransactionReceipt` serves, successful, for this hash.
    async fn send_sync(&self, raw: Bytes, hash: B256, timeout: Value) -> Value {
        let receipt = self
            .ok("eth_sendRawTransactionSync", vec![json!(raw), timeout])
            .await;
        assert_eq!(hash_of(&receipt["transactionHash"]), hash, "{receipt}");
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        let stored = self
            .ok("eth_getTransactionReceipt", vec![json!(hash)])
            .await;
        assert_eq!(receipt, stored, "sync receipt differs from the stored one");
        receipt
    }

    async fn subscribe(&self, args: Vec<Value>) -> Subscription<Value> {
        self.ws
            .subscribe::<Value, _>("eth_subscribe", params(args), "eth_unsubscribe")
            .await
            .unwrap_or_else(|e| panic!("eth_subscribe {e}"))
    }

    async fn head(&self) -> u64 {
        quantity(&self.ok("eth_blockNumber", vec![]).await)
    }

    async fn wait_for_block_after(&self, n: u64) {
        let started = Instant::now();
        while self.head().await <= n {
            assert!(started.elapsed() < WAIT, "no block after {n}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn next_item(sub: &mut Subscription<Value>, what: &str) -> Value {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .unwrap_or_else(|_| panic!("no {what} notification within {WAIT:?}"))
        .unwrap_or_else(|| panic!("{what} subscription closed"))
        .unwrap_or_else(|e| panic!("{what} notification is not JSON: {e}"))
}

fn tx_hashes(logs: &Value) -> Vec<B256> {
    logs.as_array()
        .unwrap_or_else(|| panic!("not an array: {logs}"))
        .iter()
        .map(|l| hash_of(&l["transactionHash"]))
        .collect()
}

fn hashes(v: &Value) -> Vec<B256> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(hash_of)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_filters_subscriptions_and_sync_send() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path(), "500ms", &[]);
    let mut rpc = Rpc::connect(&node.addr).await;
    let transfer_topic = keccak256("Transfer(address,address,uint256)");
    let approval_topic = keccak256("Approval(address,address,uint256)");

    // Subscriptions and filters installed before any transaction.
    let mut heads = rpc.subscribe(vec![json!("newHeads")]).await;
    let mut pending = rpc.subscribe(vec![json!("newPendingTransactions")]).await;
    let block_filter = rpc.ok("eth_newBlockFilter", vec![]).await;
    let pending_filter = rpc.ok("eth_newPendingTransactionFilter", vec![]).await;
    assert!(block_filter.as_str().is_some_and(|s| s.starts_with("0x")));
    assert_ne!(block_filter, pending_filter);

    // Deploy the ERC-20 through eth_sendRawTransactionSync.
    let artifact: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("contracts/artifacts/TestERC20.json")).unwrap(),
    )
    .unwrap();
    let bytecode = hex::decode(artifact["bytecode"].as_str().unwrap()).unwrap();
    let (raw, deploy) = rpc.sign(TxKind::Create, bytecode.into(), 3_000_000, None);
    let receipt = rpc.send_sync(raw, deploy, json!(10_000)).await;
    let token: Address = serde_json::from_value(receipt["contractAddress"].clone()).unwrap();

    // A log filter (from genesis, so eth_getFilterLogs sees everything) and a logs subscription.
    let log_filter = rpc
        .ok(
            "eth_newFilter",
            vec![json!({"fromBlock": "0x0", "address": token})],
        )
        .await;
    let mut log_sub = rpc
        .subscribe(vec![json!("logs"), json!({"address": token})])
        .await;

    let (raw, mint) = rpc.sign(
        TxKind::Call(token),
        calldata("mint(address,uint256)", DEV0, 1000),
        200_000,
        None,
    );
    let mint_receipt = rpc.send_sync(raw, mint, json!("0x2710")).await;
    let (raw, t1) = rpc.sign(
        TxKind::Call(token),
        calldata("transfer(address,uint256)", DEV1, 400),
        200_000,
        None,
    );
    rpc.send_sync(raw, t1, json!(10_000)).await;

    // Log filter: first poll has the mint and the first transfer.
    let changes = rpc
        .ok("eth_getFilterChanges", vec![log_filter.clone()])
        .await;
    assert_eq!(tx_hashes(&changes), vec![mint, t1], "{changes}");

    let (raw, t2) = rpc.sign(
        TxKind::Call(token),
        calldata("transfer(address,uint256)", DEV2, 7),
        200_000,
        None,
    );
    rpc.send_sync(raw, t2, Value::Null).await;

    // Second poll: only the new transfer.
    let changes = rpc
        .ok("eth_getFilterChanges", vec![log_filter.clone()])
        .await;
    assert_eq!(tx_hashes(&changes), vec![t2], "{changes}");
    let all = rpc.ok("eth_getFilterLogs", vec![log_filter.clone()]).await;
    assert_eq!(tx_hashes(&all), vec![mint, t1, t2], "{all}");

    // Pending-transaction filter: everything so far, then only what is new.
    let changes = rpc
        .ok("eth_getFilterChanges", vec![pending_filter.clone()])
        .await;
    assert_eq!(hashes(&changes), vec![deploy, mint, t1, t2]);
    let (raw, t3) = rpc.sign(
        TxKind::Call(token),
        calldata("transfer(address,uint256)", DEV1, 1),
        200_000,
        None,
    );
    rpc.send_sync(raw, t3, json!(10_000)).await;
    let changes = rpc
        .ok("eth_getFilterChanges", vec![pending_filter.clone()])
        .await;
    assert_eq!(hashes(&changes), vec![t3]);

    // Block filter: the second poll continues exactly where the first stopped.
    let first = hashes(
        &rpc.ok("eth_getFilterChanges", vec![block_filter.clone()])
            .await,
    );
    assert!(
        first.len() >= 5,
        "five blocks included transactions: {first:?}"
    );
    let head = rpc.head().await;
    rpc.wait_for_block_after(head).await;
    let second = hashes(
        &rpc.ok("eth_getFilterChanges", vec![block_filter.clone()])
            .await,
    );
    assert!(!second.is_empty());
    assert!(second.iter().all(|h| !first.contains(h)));
    let next = rpc
        .ok("eth_getBlockByHash", vec![json!(second[0]), json!(false)])
        .await;
    assert_eq!(hash_of(&next["parentHash"]), *first.last().unwrap());

    // Uninstall each filter; a removed filter is "filter not found".
    for id in [&log_filter, &pending_filter, &block_filter] {
        assert_eq!(rpc.ok("eth_uninstallFilter", vec![id.clone()]).await, true);
        let e = rpc.err("eth_getFilterChanges", vec![id.clone()]).await;
        assert_eq!((e.code(), e.message()), (-32000, "filter not found"));
        assert_eq!(rpc.ok("eth_uninstallFilter", vec![id.clone()]).await, false);
    }
    let e = rpc.err("eth_getFilterLogs", vec![log_filter.clone()]).await;
    assert_eq!(e.message(), "filter not found");

    // eth_getLogs by address (one and many).
    let by_address = rpc
        .ok(
            "eth_getLogs",
            vec![json!({"fromBlock": "0x0", "toBlock": "latest", "address": token})],
        )
        .await;
    assert_eq!(tx_hashes(&by_address), vec![mint, t1, t2, t3]);
    for log in by_address.as_array().unwrap() {
        assert_eq!(hash_of(&log["topics"][0]), transfer_topic);
        assert_eq!(log["address"], json!(token));
    }
    let many = rpc
        .ok(
            "eth_getLogs",
            vec![json!({"fromBlock": "earliest", "address": [Address::repeat_byte(9), token]})],
        )
        .await;
    // Without toBlock the range ends at latest; with fromBlock earliest it covers everything.
    assert_eq!(many, by_address);
    let none = rpc
        .ok(
            "eth_getLogs",
            vec![json!({"fromBlock": "0x0", "address": Address::repeat_byte(9)})],
        )
        .await;
    assert_eq!(none, json!([]));
    // The same log objects as the receipt's.
    assert_eq!(by_address[0], mint_receipt["logs"][0]);

    // By topic: Transfer with indexed `to`, and any-of in a position.
    let to_dev1 = rpc
        .ok(
            "eth_getLogs",
            vec![json!({"fromBlock": "0x0", "topics": [transfer_topic, null, word(DEV1)]})],
        )
        .await;
    assert_eq!(tx_hashes(&to_dev1), vec![t1, t3]);
    let to_dev2 = rpc
        .ok(
            "eth_getLogs",
            vec![json!({"fromBlock": "0x0", "topics": [transfer_topic, null, word(DEV2)]})],
        )
        .await;
    assert_eq!(tx_hashes(&to_dev2), vec![t2]);
    let minted = rpc
        .ok(
            "eth_getLogs",
            vec![json!({
                "fromBlock": "0x0",
                "topics": [[approval_topic, transfer_topic], word(Address::ZERO)]
            })],
        )
        .await;
    assert_eq!(tx_hashes(&minted), vec![mint]);

    // By block hash.
    let mint_block = mint_receipt["blockHash"].clone();
    let in_block = rpc
        .ok("eth_getLogs", vec![json!({"blockHash": mint_block})])
        .await;
    assert_eq!(tx_hashes(&in_block), vec![mint]);
    assert_eq!(in_block[0]["blockHash"], mint_block);
    let e = rpc
        .err(
            "eth_getLogs",
            vec![json!({"blockHash": B256::repeat_byte(0x42)})],
        )
        .await;
    assert_eq!(e.message(), "unknown block");

    // The block-range cap: 10,000 blocks pass, 10,001 do not.
    rpc.ok(
        "eth_getLogs",
        vec![json!({"fromBlock": "0x0", "toBlock": "0x270f"})],
    )
    .await;
    let e = rpc
        .err(
            "eth_getLogs",
            vec![json!({"fromBlock": "0x0", "toBlock": "0x2710"})],
        )
        .await;
    assert_eq!(e.code(), -32005, "{e:?}");
    assert_eq!(e.message(), "query exceeds max block range 10000");

    // fromBlock above toBlock is invalid params.
    let e = rpc
        .err(
            "eth_getLogs",
            vec![json!({"fromBlock": "0x5", "toBlock": "0x2"})],
        )
        .await;
    assert_eq!(e.code(), -32602, "{e:?}");
    assert_eq!(e.message(), "invalid block range params");

    // Subscriptions received the right items.
    let mut last: Option<Value> = None;
    for _ in 0..3 {
        let h = next_item(&mut heads, "newHeads").await;
        let n = quantity(&h["number"]);
        let stored = rpc
            .ok(
                "eth_getBlockByNumber",
                vec![json!(format!("{n:#x}")), json!(false)],
            )
            .await;
        assert_eq!(h["hash"], stored["hash"], "{h}");
        assert_eq!(h["stateRoot"], stored["stateRoot"]);
        if let Some(prev) = last {
            assert_eq!(n, quantity(&prev["number"]) + 1);
            assert_eq!(h["parentHash"], prev["hash"]);
        }
        last = Some(h);
    }
    let mut seen = vec![];
    for _ in 0..5 {
        seen.push(hash_of(
            &next_item(&mut pending, "newPendingTransactions").await,
        ));
    }
    assert_eq!(seen, vec![deploy, mint, t1, t2, t3]);
    for (i, want) in [mint, t1, t2, t3].into_iter().enumerate() {
        let log = next_item(&mut log_sub, "logs").await;
        assert_eq!(log, by_address[i], "log {i}: {log}");
        assert_eq!(hash_of(&log["transactionHash"]), want);
    }
    heads.unsubscribe().await.unwrap();
    log_sub.unsubscribe().await.unwrap();
    pending.unsubscribe().await.unwrap();
    let e = call_error(
        rpc.ws
            .subscribe::<Value, _>(
                "eth_subscribe",
                params(vec![json!("syncing")]),
                "eth_unsubscribe",
            )
            .await
            .map(|_| ())
            .unwrap_err(),
    );
    assert_eq!(e.code(), -32602, "{e:?}");

    // eth_sendRawTransactionSync: a transaction behind a nonce gap times out with code 4 and
    // its hash as data; a malformed one fails at once.
    let gap = rpc.nonce + 50;
    let (raw, queued) = rpc.sign(TxKind::Call(DEV1), Bytes::new(), 21_000, Some(gap));
    let started = Instant::now();
    let e = rpc
        .err("eth_sendRawTransactionSync", vec![json!(raw), json!(300)])
        .await;
    assert_eq!(e.code(), 4, "{e:?}");
    let data: B256 = serde_json::from_str(e.data().expect("hash as data").get()).unwrap();
    assert_eq!(data, queued);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let e = rpc
        .err("eth_sendRawTransactionSync", vec![json!("0x1234")])
        .await;
    assert_eq!(e.code(), -32000, "{e:?}");

    // Two token transfers in one block: the sequencer is stopped while both are sent.
    let head_hash = rpc.ok("admin_stopSequencer", vec![]).await;
    let mut together = vec![];
    for to in [DEV1, DEV2] {
        let (raw, hash) = rpc.sign(
            TxKind::Call(token),
            calldata("transfer(address,uint256)", to, 1),
            200_000,
            None,
        );
        assert_eq!(
            hash_of(&rpc.ok("eth_sendRawTransaction", vec![json!(raw)]).await),
            hash
        );
        together.push(hash);
    }
    rpc.ok("admin_startSequencer", vec![head_hash]).await;
    let mut blocks = vec![];
    for hash in &together {
        let started = Instant::now();
        loop {
            let r = rpc.ok("eth_getTransactionReceipt", vec![json!(hash)]).await;
            if !r.is_null() {
                blocks.push(r["blockNumber"].clone());
                break;
            }
            assert!(started.elapsed() < WAIT, "no receipt for {hash}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(blocks[0], blocks[1], "both transfers in one block");

    // eth_getBlockReceipts (which reads the block's L1 attributes once and numbers logs as it
    // goes) serves, for every block, exactly the receipts eth_getTransactionReceipt serves.
    let mut logged = 0;
    for n in 1..=rpc.head().await {
        let block = rpc
            .ok(
                "eth_getBlockByNumber",
                vec![json!(format!("{n:#x}")), json!(false)],
            )
            .await;
        let receipts = rpc
            .ok("eth_getBlockReceipts", vec![json!(format!("{n:#x}"))])
            .await;
        let receipts = receipts.as_array().expect("a list of receipts");
        let txs = hashes(&block["transactions"]);
        assert_eq!(receipts.len(), txs.len(), "block {n}");
        for (receipt, hash) in receipts.iter().zip(&txs) {
            let single = rpc.ok("eth_getTransactionReceipt", vec![json!(hash)]).await;
            assert_eq!(receipt, &single, "block {n}");
            logged += receipt["logs"].as_array().map_or(0, Vec::len);
        }
    }
    assert!(logged > 0, "the blocks hold logs");
}

/// A client that unsubscribes as soon as it has the id is always told `true` (jsonrpsee alone
/// sends the id before it can find the subscription), a second unsubscribe and unknown ids are
/// told `false`, and a malformed id is a clear error. Both namespaces with subscriptions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_right_after_subscribe() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path(), "100ms", &[]);
    let rpc = Rpc::connect(&node.addr).await;
    let ws = std::sync::Arc::new(rpc.ws);
    for (namespace, kind) in [
        ("eth", "newHeads"),
        ("eth", "newPendingTransactions"),
        ("attribution", "attributions"),
    ] {
        let subscribe = format!("{namespace}_subscribe");
        let unsubscribe = format!("{namespace}_unsubscribe");
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (ws, subscribe, unsubscribe) = (ws.clone(), subscribe.clone(), unsubscribe.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..16 {
                    let id: String = ws
                        .request(&subscribe, params(vec![json!(kind)]))
                        .await
                        .unwrap_or_else(|e| panic!("{subscribe} {kind}: {e}"));
                    let gone: bool = ws
                        .request(&unsubscribe, params(vec![json!(id)]))
                        .await
                        .unwrap();
                    assert!(gone, "{unsubscribe} {id} right after {subscribe} {kind}");
                    let again: bool = ws
                        .request(&unsubscribe, params(vec![json!(id)]))
                        .await
                        .unwrap();
                    assert!(!again, "second {unsubscribe} {id}");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let unknown: bool = ws
            .request(&unsubscribe, params(vec![json!("0x1234")]))
            .await
            .unwrap();
        assert!(!unknown);
        let e = call_error(
            ws.request::<bool, _>(&unsubscribe, params(vec![json!({"id": 1})]))
                .await
                .unwrap_err(),
        );
        assert_eq!(e.code(), -32602, "{e:?}");
        // Over HTTP there are no subscriptions to end.
        let over_http: bool = rpc
            .http
            .request(&unsubscribe, params(vec![json!("0x1")]))
            .await
            .unwrap();
        assert!(!over_http);
    }
}
