//! End to end: the `attribution_` namespace of `opal node --dev`, over HTTP and WebSocket.
//!
//! `attribution_shapes_and_errors` needs no ledger activity: every method's answer shape, the
//! snapshot fields, parameter errors, `null` for unknown ids and `verifySpans` against an explicit
//! root. `attribution_over_ledger_transactions` registers a model and a datanet, records an
//! inference and a batch, claims, and checks every method against the ledger's own views
//! (`eth_call`) and `eth_getProof`; it needs the AttributionLedger precompile active on the
//! devnet with the genesis roles (admin = dev account 0, attestor = dev account 2) and says so
//! and returns early while it is not.

use std::time::{Duration, Instant};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256, address, keccak256},
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use jsonrpsee::{
    core::client::{ClientT, Subscription, SubscriptionClientT},
    http_client::{HttpClient, HttpClientBuilder},
    types::ErrorObjectOwned,
    ws_client::{WsClient, WsClientBuilder},
};
use opal_attribution::{
    LEDGER_ADDRESS,
    abi::IAttributionLedger as L,
    layout::{Ns, field},
    merkle::hash_pair,
    span::ngram_leaf,
};
use serde_json::{Value, json};

mod common;
use common::{DevNode, call_error, params};

const KEY0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const KEY2: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const KEY5: &str = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
const DEV0: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
const DEV1: Address = address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");
const DEV2: Address = address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
const DEV3: Address = address!("90F79bf6EB2c4f870365E785982E1f101E93b906");
const DEV4: Address = address!("15d34AAf54267DB7D7c367839AAf71A00a2C6A65");
const DEV5: Address = address!("9965507D1a55bcC2695C58ba16FB37d819B0A4dc");
const DEV6: Address = address!("976EA74026E726554dB657fA54763abd0C3a0aa9");
const DEV7: Address = address!("14dC79964da2C08b23698B3D3cc7Ca32193d9955");
const WAIT: Duration = Duration::from_secs(30);
const INVALID_PARAMS: i32 = -32602;

fn quantity(v: &Value) -> u64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a quantity: {v}"));
    assert!(s.starts_with("0x"), "not a hex quantity: {s}");
    u64::from_str_radix(&s[2..], 16).unwrap()
}

fn big(v: &Value) -> U256 {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not a U256 ({e}): {v}"))
}

fn hash_of(v: &Value) -> B256 {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not a hash ({e}): {v}"))
}

fn addr_of(v: &Value) -> Address {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not an address ({e}): {v}"))
}

fn items(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}"))
}

struct Rpc {
    http: HttpClient,
    ws: WsClient,
    max_fee: u128,
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
        let mut rpc = Self {
            http,
            ws,
            max_fee: 0,
        };
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

    /// A `-32602` error whose message mentions `needle`.
    async fn bad_params(&self, method: &str, args: Vec<Value>, needle: &str) {
        match self.call(method, args.clone()).await {
            Ok(v) => panic!("{method}({args:?}) should fail, returned {v}"),
            Err(e) => {
                assert_eq!(e.code(), INVALID_PARAMS, "{method}({args:?}): {e:?}");
                let detail = format!("{} {}", e.message(), e.data().map_or("", |d| d.get()));
                assert!(
                    detail.contains(needle),
                    "{method}({args:?}): error {detail:?} lacks {needle:?}"
                );
            }
        }
    }

    async fn head(&self) -> u64 {
        quantity(&self.ok("eth_blockNumber", vec![]).await)
    }

    async fn wait_for_block(&self, n: u64) {
        let started = Instant::now();
        while self.head().await < n {
            assert!(started.elapsed() < WAIT, "block {n} not produced");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The snapshot fields every answer carries name a real block.
    async fn check_snapshot(&self, v: &Value) {
        let n = quantity(&v["blockNumber"]);
        let block = self
            .ok(
                "eth_getBlockByNumber",
                vec![json!(format!("{n:#x}")), json!(false)],
            )
            .await;
        assert_eq!(v["blockHash"], block["hash"], "{v}");
        assert_eq!(
            v["finality"], "unsafe",
            "the dev node moves no safe head: {v}"
        );
    }

    async fn nonce(&self, a: Address) -> u64 {
        quantity(
            &self
                .ok("eth_getTransactionCount", vec![json!(a), json!("pending")])
                .await,
        )
    }

    /// Signs, sends and waits for a successful receipt.
    async fn send(&self, key: &str, to: Address, value: U256, input: Vec<u8>) -> Value {
        let signer: PrivateKeySigner = key.parse().unwrap();
        let mut tx = TxEip1559 {
            chain_id: 72_077,
            nonce: self.nonce(signer.address()).await,
            gas_limit: 3_000_000,
            max_fee_per_gas: self.max_fee,
            max_priority_fee_per_gas: 1_000_000,
            to: TxKind::Call(to),
            value,
            access_list: Default::default(),
            input: input.into(),
        };
        let sig = signer.sign_transaction_sync(&mut tx).unwrap();
        let env = TxEnvelope::from(tx.into_signed(sig));
        let raw = Bytes::from(env.encoded_2718());
        let receipt = self
            .ok(
                "eth_sendRawTransactionSync",
                vec![json!(raw), json!(20_000)],
            )
            .await;
        assert_eq!(receipt["status"], "0x1", "ledger call failed: {receipt}");
        receipt
    }

    /// `eth_call` to the ledger.
    async fn ledger_call<C: SolCall>(&self, call: C) -> Result<C::Return, ErrorObjectOwned> {
        let out = self
            .call(
                "eth_call",
                vec![
                    json!({"to": LEDGER_ADDRESS, "data": Bytes::from(call.abi_encode())}),
                    json!("latest"),
                ],
            )
            .await?;
        let bytes: Bytes = serde_json::from_value(out).unwrap();
        Ok(C::abi_decode_returns(&bytes).expect("ledger return data"))
    }
}

async fn next_item(sub: &mut Subscription<Value>, what: &str) -> Value {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .unwrap_or_else(|_| panic!("no {what} notification within {WAIT:?}"))
        .unwrap_or_else(|| panic!("{what} subscription closed"))
        .unwrap_or_else(|e| panic!("{what} notification is not JSON: {e}"))
}

/// Output tokens 1..=12 with two 4-gram claims, and the fingerprint root of exactly their leaves.
fn spans(tokenizer: u32) -> (Vec<u32>, B256, Value) {
    let output: Vec<u32> = (1..=12).collect();
    let l0 = ngram_leaf(4, tokenizer, &output[0..4], 5);
    let l1 = ngram_leaf(4, tokenizer, &output[4..8], 6);
    let claims =
        json!([{"pos": 0, "contributionIndex": 5}, {"pos": "0x4", "contributionIndex": 6}]);
    (output, hash_pair(&l0, &l1), claims)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribution_shapes_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path(), "200ms", &[]);
    let rpc = Rpc::connect(&node.addr).await;
    rpc.wait_for_block(2).await;
    let unknown = B256::repeat_byte(0x5a);

    // Unknown ids are null, as eth_ answers for unknown transactions.
    for m in [
        "attribution_getInference",
        "attribution_getModel",
        "attribution_getDatanet",
        "attribution_getRecordProof",
    ] {
        assert_eq!(rpc.ok(m, vec![json!(unknown)]).await, Value::Null, "{m}");
    }
    rpc.bad_params("attribution_getInference", vec![json!("0x1234")], "")
        .await;

    // getShares: a page with the snapshot fields, with and without a filter.
    for args in [vec![], vec![json!({})], vec![json!(null)]] {
        let v = rpc.ok("attribution_getShares", args).await;
        assert_eq!(v["items"], json!([]), "{v}");
        assert_eq!(v["nextCursor"], Value::Null);
        assert_eq!(quantity(&v["fromBlock"]), 0);
        assert_eq!(v["toBlock"], v["blockNumber"]);
        rpc.check_snapshot(&v).await;
    }
    let v = rpc
        .ok(
            "attribution_getShares",
            vec![json!({
                "contributor": DEV1, "datanetId": unknown, "modelId": unknown,
                "fromBlock": "0x1", "toBlock": "latest", "limit": 1000,
                "cursor": "0x00000000000000010000000000000000",
            })],
        )
        .await;
    assert_eq!(v["items"], json!([]));
    for (filter, needle) in [
        (json!({"limit": 1001}), "1000"),
        (json!({"limit": "0x3e9"}), "1000"),
        (json!({"limit": 0}), "limit"),
        (json!({"cursor": "0xnope"}), "cursor"),
        (json!({"cursor": "0x01"}), "cursor"),
        (json!({"fromBlock": "0x2", "toBlock": "0x1"}), "after"),
        (json!({"contributer": DEV1}), "unknown field"),
        (json!({"datanetId": "0x12"}), ""),
    ] {
        rpc.bad_params("attribution_getShares", vec![filter], needle)
            .await;
    }

    // getEarnings: totals, the ledger's claimable, groups.
    let v = rpc.ok("attribution_getEarnings", vec![json!(DEV1)]).await;
    assert_eq!(addr_of(&v["account"]), DEV1);
    for k in ["credited", "claimed", "claimable", "credits", "claims"] {
        assert_eq!(v[k], "0x0", "{k}: {v}");
    }
    assert!(v.get("groups").is_none());
    rpc.check_snapshot(&v).await;
    for g in ["datanet", "model", "day"] {
        let v = rpc
            .ok(
                "attribution_getEarnings",
                vec![json!(DEV1), json!({"groupBy": g})],
            )
            .await;
        assert_eq!((v["groupBy"].as_str(), &v["groups"]), (Some(g), &json!([])));
    }
    rpc.bad_params(
        "attribution_getEarnings",
        vec![json!(DEV1), json!({"groupBy": "week"})],
        "week",
    )
    .await;
    rpc.bad_params("attribution_getEarnings", vec![], "").await;

    rpc.bad_params(
        "attribution_getDatanet",
        vec![json!(unknown), json!({"top": 101})],
        "100",
    )
    .await;

    // Record proofs are served at the head only.
    rpc.bad_params(
        "attribution_getRecordProof",
        vec![json!(unknown), json!("0x0")],
        "latest block",
    )
    .await;
    assert_eq!(
        rpc.ok(
            "attribution_getRecordProof",
            vec![json!(unknown), json!("latest")]
        )
        .await,
        Value::Null
    );

    // verifySpans against an explicit root: no transaction, no ledger state needed.
    let (output, root, claims) = spans(7);
    let req = |root: B256, n: Value| {
        json!({
            "outputTokens": output, "n": n, "tokenizerId": 7, "fingerprintRoot": root,
            "claims": claims, "proof": [], "proofFlags": [true],
        })
    };
    let v = rpc
        .ok("attribution_verifySpans", vec![req(root, json!(4))])
        .await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(quantity(&v["coveredTokens"]), 8);
    assert_eq!(quantity(&v["longestRun"]), 8);
    assert_eq!(v["tokensPerClaim"], json!(["0x4", "0x4"]));
    assert_eq!(hash_of(&v["fingerprintRoot"]), root);
    rpc.check_snapshot(&v).await;
    let v = rpc
        .ok("attribution_verifySpans", vec![req(unknown, json!("0x4"))])
        .await;
    assert_eq!(
        (v["ok"].clone(), v["coveredTokens"].clone()),
        (json!(false), json!("0x0"))
    );
    rpc.bad_params(
        "attribution_verifySpans",
        vec![req(root, json!(3))],
        "4..=32",
    )
    .await;
    let mut both = req(root, json!(4));
    both["datanetId"] = json!(unknown);
    rpc.bad_params("attribution_verifySpans", vec![both], "exactly one")
        .await;
    let mut by_datanet = req(root, json!(4));
    by_datanet
        .as_object_mut()
        .unwrap()
        .remove("fingerprintRoot");
    by_datanet["datanetId"] = json!(unknown);
    rpc.bad_params(
        "attribution_verifySpans",
        vec![by_datanet],
        "unknown datanet",
    )
    .await;
    let mut far = req(root, json!(4));
    far["claims"] = json!([{"pos": 10, "contributionIndex": 1}]);
    rpc.bad_params("attribution_verifySpans", vec![far], "past the output")
        .await;

    // The subscription: only `attributions`.
    let bad = rpc
        .ws
        .subscribe::<Value, _>(
            "attribution_subscribe",
            params(vec![json!("newHeads")]),
            "attribution_unsubscribe",
        )
        .await;
    assert!(bad.is_err());
    let sub = rpc
        .ws
        .subscribe::<Value, _>(
            "attribution_subscribe",
            params(vec![json!("attributions"), json!({"modelId": unknown})]),
            "attribution_unsubscribe",
        )
        .await
        .unwrap();
    sub.unsubscribe().await.unwrap();
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribution_over_ledger_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path(), "200ms", &[]);
    let rpc = Rpc::connect(&node.addr).await;
    rpc.wait_for_block(1).await;
    match rpc.ledger_call(L::roleOfCall { account: DEV2 }).await {
        Ok(1) => {}
        other => {
            eprintln!(
                "SKIPPED: the AttributionLedger precompile is not active on the devnet with \
                 dev account 2 as attestor (roleOf: {other:?})"
            );
            node.stop();
            return;
        }
    }
    let model = keccak256("opal-test-model");
    let datanet = keccak256("opal-test-datanet");
    let (output, fingerprint_root, claims) = spans(7);
    let contribution_root = keccak256("contributions v1");

    let r_model = rpc
        .send(
            KEY0,
            LEDGER_ADDRESS,
            U256::ZERO,
            L::registerModelCall {
                modelId: model,
                owner: DEV0,
                payout: DEV1,
                tokenizerId: 7,
            }
            .abi_encode(),
        )
        .await;
    rpc.send(
        KEY0,
        LEDGER_ADDRESS,
        U256::ZERO,
        L::registerDatanetCall {
            datanetId: datanet,
            owner: DEV0,
        }
        .abi_encode(),
    )
    .await;
    rpc.send(
        KEY0,
        LEDGER_ADDRESS,
        U256::ZERO,
        L::updateDatanetCall {
            datanetId: datanet,
            version: 1,
            contributionRoot: contribution_root,
            fingerprintRoot: fingerprint_root,
        }
        .abi_encode(),
    )
    .await;

    let mut sub = rpc
        .ws
        .subscribe::<Value, _>(
            "attribution_subscribe",
            params(vec![json!("attributions")]),
            "attribution_unsubscribe",
        )
        .await
        .unwrap();

    // One inference, recorded alone.
    let inference = keccak256("inference-1");
    let fee = U256::from(1_000_000_000_000_003u64);
    let shares = vec![
        L::Share {
            datanetId: datanet,
            contributor: DEV5,
            score: 3_000_000_000_000_000_000,
        },
        L::Share {
            datanetId: datanet,
            contributor: DEV6,
            score: 1_000_000_000_000_000_000,
        },
        L::Share {
            datanetId: datanet,
            contributor: DEV7,
            score: -1,
        },
    ];
    let r_inf = rpc
        .send(
            KEY2,
            LEDGER_ADDRESS,
            fee,
            L::recordInferenceCall {
                inferenceId: inference,
                modelId: model,
                outputHash: keccak256("output"),
                shares,
            }
            .abi_encode(),
        )
        .await;
    // Two more in one batch.
    let (b1, b2) = (keccak256("batch-1"), keccak256("batch-2"));
    let fees = [1_000_000_000_000_000u128, 2_000_000_000_000_001];
    let batch_call = L::recordBatchCall {
        modelId: model,
        nonce: 1,
        inferenceIds: vec![b1, b2],
        fees: fees.to_vec(),
        offsets: vec![0, 2, 3],
        shareDatanet: vec![datanet; 3],
        shareContributor: vec![DEV5, DEV6, DEV6],
        shareScore: vec![1, 1, 5],
    };
    let calldata = batch_call.abi_encode();
    let batch_hash = keccak256(&calldata[4..]);
    let batch_total = U256::from(fees[0] + fees[1]);
    let r_batch = rpc.send(KEY2, LEDGER_ADDRESS, batch_total, calldata).await;
    let batch_block = quantity(&r_batch["blockNumber"]);

    // The subscription reported both, in order.
    let n1 = next_item(&mut sub, "attributions").await;
    assert_eq!(n1["type"], "inference", "{n1}");
    assert_eq!(hash_of(&n1["inferenceId"]), inference);
    assert_eq!(big(&n1["fee"]), fee);
    assert_eq!(
        n1["recordedAt"]["transactionHash"],
        r_inf["transactionHash"]
    );
    assert_eq!(n1["blockNumber"], r_inf["blockNumber"]);
    let n2 = next_item(&mut sub, "attributions").await;
    assert_eq!(n2["type"], "batch", "{n2}");
    assert_eq!(hash_of(&n2["batchHash"]), batch_hash);
    assert_eq!(n2["sharesDerived"], true, "{n2}");
    assert_eq!(quantity(&n2["inferences"]), 2);
    sub.unsubscribe().await.unwrap();

    // getInference: the ledger's record hash, credits summing to the fee.
    let v = rpc
        .ok("attribution_getInference", vec![json!(inference)])
        .await;
    rpc.check_snapshot(&v).await;
    let onchain = rpc
        .ledger_call(L::getInferenceCall {
            inferenceId: inference,
        })
        .await
        .unwrap();
    assert_eq!(hash_of(&v["recordHash"]), onchain.recordHash, "{v}");
    assert_eq!(v["batchHash"], Value::Null);
    assert_eq!(addr_of(&v["attestor"]), DEV2);
    assert_eq!(quantity(&v["shares"]), 2);
    assert_eq!(v["recordedAt"]["transactionHash"], r_inf["transactionHash"]);
    let credits = items(&v["credits"]);
    let sum: U256 = credits.iter().map(|c| big(&c["amount"])).sum();
    assert_eq!(sum, fee, "{v}");
    let kinds: Vec<&str> = credits
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    for k in ["model", "staker", "protocol", "contributor"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    let v = rpc.ok("attribution_getInference", vec![json!(b2)]).await;
    assert_eq!(hash_of(&v["batchHash"]), batch_hash, "{v}");
    assert_eq!(v["recordHash"], Value::Null);
    assert_eq!(big(&v["fee"]), U256::from(fees[1]));

    // getShares: paging by contributor, filters, block range.
    let mut page = json!({"contributor": DEV6, "limit": 1});
    let mut dev6 = vec![];
    loop {
        let v = rpc.ok("attribution_getShares", vec![page.clone()]).await;
        let list = items(&v["items"]);
        assert!(list.len() <= 1);
        dev6.extend(list.iter().cloned());
        match v["nextCursor"].as_str() {
            Some(c) => page["cursor"] = json!(c),
            None => break,
        }
    }
    assert_eq!(dev6.len(), 3, "{dev6:?}");
    assert!(dev6.iter().all(|c| addr_of(&c["contributor"]) == DEV6));
    let dev6_sum: U256 = dev6.iter().map(|c| big(&c["amount"])).sum();
    let v = rpc
        .ok(
            "attribution_getShares",
            vec![json!({"datanetId": datanet, "limit": 1000})],
        )
        .await;
    assert!(
        items(&v["items"])
            .iter()
            .all(|c| c["kind"] == "contributor")
    );
    assert_eq!(items(&v["items"]).len(), 5);
    let v = rpc
        .ok(
            "attribution_getShares",
            vec![json!({
                "modelId": model,
                "fromBlock": format!("{batch_block:#x}"),
                "toBlock": format!("{batch_block:#x}"),
            })],
        )
        .await;
    let batch_sum: U256 = items(&v["items"]).iter().map(|c| big(&c["amount"])).sum();
    assert_eq!(batch_sum, batch_total, "{v}");
    assert!(
        items(&v["items"])
            .iter()
            .all(|c| hash_of(&c["batchHash"]) == batch_hash && !c["inferenceId"].is_null())
    );

    // getEarnings agrees with the ledger's claimable balances, for every recipient.
    for a in [DEV1, DEV3, DEV4, DEV5, DEV6] {
        let v = rpc.ok("attribution_getEarnings", vec![json!(a)]).await;
        let onchain = rpc
            .ledger_call(L::claimableCall { account: a })
            .await
            .unwrap();
        assert_eq!(big(&v["claimable"]), onchain, "{a}: {v}");
        assert_eq!(
            big(&v["credited"]) - big(&v["claimed"]),
            onchain,
            "{a}: {v}"
        );
    }
    let v = rpc.ok("attribution_getEarnings", vec![json!(DEV6)]).await;
    assert_eq!(big(&v["credited"]), dev6_sum);
    let v = rpc
        .ok(
            "attribution_getEarnings",
            vec![json!(DEV1), json!({"groupBy": "model"})],
        )
        .await;
    let groups = items(&v["groups"]);
    assert_eq!(groups.len(), 1, "{v}");
    assert_eq!(hash_of(&groups[0]["modelId"]), model);
    assert_eq!(groups[0]["credited"], v["credited"]);
    let v = rpc
        .ok(
            "attribution_getEarnings",
            vec![json!(DEV5), json!({"groupBy": "datanet"})],
        )
        .await;
    assert_eq!(hash_of(&items(&v["groups"])[0]["datanetId"]), datanet);
    let v = rpc
        .ok(
            "attribution_getEarnings",
            vec![json!(DEV5), json!({"groupBy": "day"})],
        )
        .await;
    let day = items(&v["groups"])[0]["day"].as_str().unwrap().to_string();
    assert_eq!(day.len(), 10, "YYYY-MM-DD: {day}");

    // A claim moves credited to claimed and empties claimable.
    let before = rpc.ok("attribution_getEarnings", vec![json!(DEV5)]).await;
    rpc.send(
        KEY5,
        LEDGER_ADDRESS,
        U256::ZERO,
        L::claimCall { to: DEV5 }.abi_encode(),
    )
    .await;
    let after = rpc.ok("attribution_getEarnings", vec![json!(DEV5)]).await;
    assert_eq!(after["claimable"], "0x0", "{after}");
    assert_eq!(after["claimed"], before["claimable"]);
    assert_eq!(after["claims"], "0x1");
    assert_eq!(after["credited"], before["credited"]);

    // getModel: the ledger's record and the index's statistics.
    let v = rpc.ok("attribution_getModel", vec![json!(model)]).await;
    rpc.check_snapshot(&v).await;
    assert_eq!(v["registered"], true);
    assert_eq!((addr_of(&v["owner"]), addr_of(&v["payout"])), (DEV0, DEV1));
    assert_eq!(quantity(&v["tokenizerId"]), 7);
    assert_eq!(quantity(&v["inferences"]), 3);
    assert_eq!(big(&v["cumulativeFees"]), fee + batch_total);
    assert_eq!(v["registeredAt"]["blockNumber"], r_model["blockNumber"]);
    assert_eq!(quantity(&v["stats"]["inferences"]), 3);
    assert_eq!(big(&v["stats"]["fees"]), fee + batch_total);

    // getDatanet: record, statistics, top contributors by amount.
    let v = rpc
        .ok(
            "attribution_getDatanet",
            vec![json!(datanet), json!({"top": 1})],
        )
        .await;
    assert_eq!(quantity(&v["version"]), 1);
    assert_eq!(hash_of(&v["fingerprintRoot"]), fingerprint_root);
    assert_eq!(hash_of(&v["contributionRoot"]), contribution_root);
    assert_eq!(quantity(&v["stats"]["contributors"]), 2);
    assert_eq!(quantity(&v["stats"]["shares"]), 5);
    assert_eq!(quantity(&v["stats"]["inferences"]), 3);
    let top = items(&v["topContributors"]);
    assert_eq!(top.len(), 1);
    let v = rpc.ok("attribution_getDatanet", vec![json!(datanet)]).await;
    let all = items(&v["topContributors"]);
    assert_eq!(all.len(), 2);
    assert!(big(&all[0]["credited"]) >= big(&all[1]["credited"]));
    assert_eq!(all[0], top[0]);

    // getRecordProof: the record's three slots as eth_getProof proves them, the block's state
    // root and its output root.
    let v = rpc
        .ok("attribution_getRecordProof", vec![json!(inference)])
        .await;
    rpc.check_snapshot(&v).await;
    assert_eq!(v["recordKind"], "inference");
    assert_eq!(
        hash_of(&v["record"]["recordHash"]),
        onchain_record_hash(&rpc, inference).await
    );
    let slots: Vec<B256> = (0..3)
        .map(|i| B256::from(field(Ns::Inference, inference, i)))
        .collect();
    let storage = items(&v["storageProof"]);
    assert_eq!(storage.len(), 3);
    for (p, s) in storage.iter().zip(&slots) {
        assert_eq!(hash_of(&p["key"]), *s);
        assert_ne!(p["value"], "0x0");
    }
    let eth = rpc
        .ok(
            "eth_getProof",
            vec![json!(LEDGER_ADDRESS), json!(slots), json!("latest")],
        )
        .await;
    // Later blocks change other accounts, not the ledger's storage.
    assert_eq!(v["storageHash"], eth["storageHash"]);
    assert_eq!(v["storageProof"], eth["storageProof"]);
    let block = rpc
        .ok(
            "eth_getBlockByNumber",
            vec![v["blockNumber"].clone(), json!(false)],
        )
        .await;
    assert_eq!(v["stateRoot"], block["stateRoot"]);
    let out = &v["outputRoot"];
    assert_eq!(out["stateRoot"], block["stateRoot"]);
    assert_eq!(out["withdrawalStorageRoot"], block["withdrawalsRoot"]);
    assert_eq!(out["blockHash"], block["hash"]);
    let mut pre = vec![0u8; 32];
    for k in ["stateRoot", "withdrawalStorageRoot", "blockHash"] {
        pre.extend_from_slice(hash_of(&out[k]).as_slice());
    }
    assert_eq!(hash_of(&out["outputRoot"]), keccak256(&pre));
    let v = rpc.ok("attribution_getRecordProof", vec![json!(b1)]).await;
    assert_eq!(v["recordKind"], "batch", "{v}");
    assert_eq!(hash_of(&v["record"]["batchHash"]), batch_hash);

    // verifySpans with the root and tokenizer read from the ledger.
    let v = rpc
        .ok(
            "attribution_verifySpans",
            vec![json!({
                "outputTokens": output, "n": 4, "modelId": model, "datanetId": datanet,
                "claims": claims, "proofFlags": [true],
            })],
        )
        .await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(quantity(&v["coveredTokens"]), 8);
    node.stop();
}

async fn onchain_record_hash(rpc: &Rpc, id: B256) -> B256 {
    rpc.ledger_call(L::getInferenceCall { inferenceId: id })
        .await
        .unwrap()
        .recordHash
}
