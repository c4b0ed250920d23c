//! End to end: the `txpool_` and `debug_` namespaces of `opal node --dev`, driven with
//! jsonrpsee's HTTP client and transactions signed with alloy: pool status/content/inspect before
//! inclusion, `debug_traceTransaction` / `debug_traceCall` with the struct logger and
//! `callTracer` (a token transfer, a failed transfer, Multicall3 calling the token, the L1-info
//! deposit), `prestateTracer` (both modes, checked against `eth_getBalance`) and `4byteTracer`,
//! and the raw header/block/transaction/receipts bytes checked against hashes.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256, address, hex, keccak256},
    rpc::types::trace::geth::{AccountState, DiffMode},
    signers::local::PrivateKeySigner,
    sol,
    sol_types::{SolCall, SolValue},
};
use alloy_rlp::Decodable;
use jsonrpsee::{
    core::client::ClientT,
    http_client::{HttpClient, HttpClientBuilder},
    types::ErrorObjectOwned,
};
use op_alloy::consensus::OpTxEnvelope;
use serde_json::{Value, json};

mod common;
use common::{DevNode, call_error, params, repo};

const KEY0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const KEY1: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const DEV0: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
const DEV1: Address = address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");
const DEV2: Address = address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
const KEY3: &str = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
const DEV3: Address = address!("90F79bf6EB2c4f870365E785982E1f101E93b906");
const DEV4: Address = address!("15d34AAf54267DB7D7c367839AAf71A00a2C6A65");
const MULTICALL3: Address = address!("cA11bde05977b3631167028862bE2a173976CA11");
const L1_BLOCK: Address = address!("4200000000000000000000000000000000000015");
const WAIT: Duration = Duration::from_secs(30);

sol! {
    function mint(address to, uint256 amount);
    function transfer(address to, uint256 amount) returns (bool);
    function balanceOf(address owner) returns (uint256);
    struct Call3 { address target; bool allowFailure; bytes callData; }
    struct Result3 { bool success; bytes returnData; }
    function aggregate3(Call3[] calls) returns (Result3[] returnData);
}

fn quantity(v: &Value) -> u64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a quantity: {v}"));
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

fn bytes(v: &Value) -> Bytes {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not bytes ({e}): {v}"))
}

fn addr(v: &Value) -> Address {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not an address ({e}): {v}"))
}

fn hash_of(v: &Value) -> B256 {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not a hash ({e}): {v}"))
}

/// JSON-RPC over HTTP plus transaction signing.
struct Rpc {
    http: HttpClient,
    max_fee: u128,
}

impl Rpc {
    async fn connect(addr: &str) -> Self {
        let http = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(60))
            .build(format!("http://{addr}"))
            .unwrap();
        let mut rpc = Self { http, max_fee: 0 };
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

    fn sign(&self, key: &str, nonce: u64, to: TxKind, input: Bytes, gas: u64) -> Bytes {
        let signer: PrivateKeySigner = key.parse().unwrap();
        common::sign_1559(&signer, nonce, to, input, gas, self.max_fee).0
    }

    /// Signs a plain ETH transfer of `value` wei.
    fn sign_transfer(&self, key: &str, nonce: u64, to: Address, value: U256) -> Bytes {
        let signer: PrivateKeySigner = key.parse().unwrap();
        let mut tx = TxEip1559 {
            chain_id: 72_077,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: self.max_fee,
            max_priority_fee_per_gas: 1_000_000,
            to: TxKind::Call(to),
            value,
            access_list: Default::default(),
            input: Bytes::new(),
        };
        let sig = signer.sign_transaction_sync(&mut tx).unwrap();
        TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into()
    }

    async fn balance(&self, who: Address, block: u64) -> U256 {
        let b = self
            .ok(
                "eth_getBalance",
                vec![json!(who), json!(format!("{block:#x}"))],
            )
            .await;
        serde_json::from_value(b).unwrap()
    }

    async fn nonce(&self, who: Address, block: u64) -> u64 {
        let n = self
            .ok(
                "eth_getTransactionCount",
                vec![json!(who), json!(format!("{block:#x}"))],
            )
            .await;
        quantity(&n)
    }

    async fn send(&self, raw: &Bytes) -> B256 {
        hash_of(&self.ok("eth_sendRawTransaction", vec![json!(raw)]).await)
    }

    async fn receipt(&self, hash: B256) -> Value {
        let started = Instant::now();
        loop {
            let r = self
                .ok("eth_getTransactionReceipt", vec![json!(hash)])
                .await;
            if !r.is_null() {
                return r;
            }
            assert!(started.elapsed() < WAIT, "{hash} not included");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn block_number(&self) -> u64 {
        quantity(&self.ok("eth_blockNumber", vec![]).await)
    }

    /// Waits until a new block appears, so what is sent next has most of a block time before
    /// the sequencer takes it.
    async fn after_next_block(&self) {
        let start = self.block_number().await;
        let started = Instant::now();
        while self.block_number().await == start {
            assert!(started.elapsed() < WAIT, "no new block");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn trace_tx(&self, hash: B256, opts: Value) -> Value {
        self.ok("debug_traceTransaction", vec![json!(hash), opts])
            .await
    }
}

fn assert_struct_logs(trace: &Value, receipt: &Value) {
    let logs = trace["structLogs"].as_array().expect("structLogs");
    assert!(!logs.is_empty(), "empty structLogs: {trace}");
    for log in logs {
        for key in ["gas", "gasCost", "op", "pc", "depth"] {
            assert!(log.get(key).is_some(), "struct log without {key}: {log}");
        }
    }
    assert_eq!(logs[0]["depth"], json!(1));
    assert_eq!(logs[0]["pc"], json!(0));
    let failed = receipt["status"] == json!("0x0");
    assert_eq!(trace["failed"], json!(failed), "{trace}");
    assert_eq!(trace["gas"].as_u64(), Some(quantity(&receipt["gasUsed"])));
}

#[tokio::test(flavor = "multi_thread")]
async fn txpool_and_debug_namespaces() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path(), "2s", &[]);
    let rpc = Rpc::connect(&node.addr).await;

    // --- txpool: a ready transaction is pending, a nonce-gapped one queued, before inclusion.
    let artifact: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("contracts/artifacts/TestERC20.json")).unwrap(),
    )
    .unwrap();
    let code = bytes(&artifact["bytecode"]);
    let deploy = rpc.sign(KEY0, 0, TxKind::Create, code, 2_000_000);
    let gapped = rpc.sign(KEY1, 3, TxKind::Call(DEV2), Bytes::new(), 21_000);
    rpc.after_next_block().await;
    let deploy_hash = rpc.send(&deploy).await;
    let gapped_hash = rpc.send(&gapped).await;
    let status = rpc.ok("txpool_status", vec![]).await;
    assert_eq!(status, json!({"pending": "0x1", "queued": "0x1"}));

    let content = rpc.ok("txpool_content", vec![]).await;
    let dev0 = DEV0.to_checksum(None);
    let dev1 = DEV1.to_checksum(None);
    let pending = &content["pending"][&dev0]["0"];
    assert_eq!(hash_of(&pending["hash"]), deploy_hash, "{content}");
    assert_eq!(pending["blockHash"], Value::Null);
    assert_eq!(pending["blockNumber"], Value::Null);
    assert_eq!(pending["to"], Value::Null);
    assert_eq!(addr(&pending["from"]), DEV0);
    let queued = &content["queued"][&dev1]["3"];
    assert_eq!(hash_of(&queued["hash"]), gapped_hash, "{content}");
    assert_eq!(queued["nonce"], json!("0x3"));
    assert!(content["queued"].get(&dev0).is_none());
    assert!(content["pending"].get(&dev1).is_none());

    let from = rpc.ok("txpool_contentFrom", vec![json!(DEV1)]).await;
    assert_eq!(hash_of(&from["queued"]["3"]["hash"]), gapped_hash);
    assert_eq!(from["pending"], json!({}));

    let inspect = rpc.ok("txpool_inspect", vec![]).await;
    assert_eq!(
        inspect["queued"][&dev1]["3"],
        json!(format!(
            "{}: 0 wei + 21000 gas × {} wei",
            DEV2.to_checksum(None),
            rpc.max_fee
        ))
    );
    assert_eq!(
        inspect["pending"][&dev0]["0"],
        json!(format!(
            "contract creation: 0 wei + 2000000 gas × {} wei",
            rpc.max_fee
        ))
    );
    // A pooled transaction's raw bytes come from the pool.
    let raw = rpc
        .ok("debug_getRawTransaction", vec![json!(gapped_hash)])
        .await;
    assert_eq!(bytes(&raw), gapped);

    // --- a token, minted, then transferred (two transactions, likely in one block).
    let deployed = rpc.receipt(deploy_hash).await;
    assert_eq!(deployed["status"], json!("0x1"));
    let token = addr(&deployed["contractAddress"]);
    let status = rpc.ok("txpool_status", vec![]).await;
    assert_eq!(status, json!({"pending": "0x0", "queued": "0x1"}));

    let mint_data: Bytes = mintCall {
        to: DEV0,
        amount: U256::from(1_000_000u64),
    }
    .abi_encode()
    .into();
    let transfer_data: Bytes = transferCall {
        to: DEV1,
        amount: U256::from(250u64),
    }
    .abi_encode()
    .into();
    let mint_hash = rpc
        .send(&rpc.sign(KEY0, 1, TxKind::Call(token), mint_data, 200_000))
        .await;
    let transfer_hash = rpc
        .send(&rpc.sign(KEY0, 2, TxKind::Call(token), transfer_data.clone(), 200_000))
        .await;
    assert_eq!(rpc.receipt(mint_hash).await["status"], json!("0x1"));
    let transfer_receipt = rpc.receipt(transfer_hash).await;
    assert_eq!(transfer_receipt["status"], json!("0x1"));

    // callTracer of the transfer: one CALL frame with the calldata and the `true` output.
    let frame = rpc
        .trace_tx(transfer_hash, json!({"tracer": "callTracer"}))
        .await;
    assert_eq!(frame["type"], json!("CALL"), "{frame}");
    assert_eq!(addr(&frame["from"]), DEV0);
    assert_eq!(addr(&frame["to"]), token);
    assert_eq!(bytes(&frame["input"]), transfer_data);
    assert_eq!(bytes(&frame["output"]), Bytes::from(true.abi_encode()));
    assert_eq!(quantity(&frame["gas"]), 200_000);
    assert_eq!(frame["gasUsed"], transfer_receipt["gasUsed"]);
    assert_eq!(frame["value"], json!("0x0"));
    assert!(frame.get("error").is_none());
    assert!(frame.get("calls").is_none());
    assert!(frame.get("logs").is_none());
    let with_log = rpc
        .trace_tx(
            transfer_hash,
            json!({"tracer": "callTracer", "tracerConfig": {"withLog": true}}),
        )
        .await;
    let logs = with_log["logs"].as_array().expect("logs with withLog");
    assert_eq!(logs.len(), 1);
    assert_eq!(addr(&logs[0]["address"]), token);

    // The struct logger agrees with the receipt; the options shape each step.
    let trace = rpc.trace_tx(transfer_hash, json!({})).await;
    assert_struct_logs(&trace, &transfer_receipt);
    assert_eq!(bytes(&trace["returnValue"]), Bytes::from(true.abi_encode()));
    let steps = trace["structLogs"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["op"] == json!("SSTORE")));
    assert!(steps.iter().all(|s| s.get("stack").is_some()));
    assert!(steps.iter().all(|s| s.get("memory").is_none()));
    let bare = rpc
        .trace_tx(
            transfer_hash,
            json!({"disableStack": true, "disableStorage": true, "enableMemory": true}),
        )
        .await;
    let steps = bare["structLogs"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .all(|s| s.get("stack").is_none() && s.get("storage").is_none())
    );
    assert!(steps.iter().any(|s| s.get("memory").is_some()));
    // The default trace of the transaction as a JSON null option is the same.
    let null_opts = rpc
        .ok("debug_traceTransaction", vec![json!(transfer_hash)])
        .await;
    assert_eq!(
        null_opts["structLogs"].as_array().map(Vec::len),
        Some(trace["structLogs"].as_array().unwrap().len())
    );

    // --- a transfer that reverts on chain: failed struct log, errored call frame.
    let too_much: Bytes = transferCall {
        to: DEV0,
        amount: U256::from(1_000u64),
    }
    .abi_encode()
    .into();
    let failing = rpc
        .send(&rpc.sign(KEY1, 0, TxKind::Call(token), too_much.clone(), 100_000))
        .await;
    let failed_receipt = rpc.receipt(failing).await;
    assert_eq!(failed_receipt["status"], json!("0x0"));
    let trace = rpc.trace_tx(failing, json!({})).await;
    assert_struct_logs(&trace, &failed_receipt);
    assert_eq!(
        trace["structLogs"].as_array().unwrap().last().unwrap()["op"],
        json!("REVERT")
    );
    let frame = rpc.trace_tx(failing, json!({"tracer": "callTracer"})).await;
    assert_eq!(frame["error"], json!("execution reverted"), "{frame}");
    assert_eq!(
        frame["revertReason"],
        json!("TestERC20: insufficient balance")
    );
    assert_eq!(frame["gasUsed"], failed_receipt["gasUsed"]);

    // --- Multicall3 calling the token: a nested CALL frame with its log.
    let inner: Bytes = mintCall {
        to: DEV2,
        amount: U256::from(7u64),
    }
    .abi_encode()
    .into();
    let multi: Bytes = aggregate3Call {
        calls: vec![Call3 {
            target: token,
            allowFailure: false,
            callData: inner.clone(),
        }],
    }
    .abi_encode()
    .into();
    let multi_hash = rpc
        .send(&rpc.sign(KEY0, 3, TxKind::Call(MULTICALL3), multi.clone(), 300_000))
        .await;
    let multi_receipt = rpc.receipt(multi_hash).await;
    assert_eq!(multi_receipt["status"], json!("0x1"));
    let frame = rpc
        .trace_tx(
            multi_hash,
            json!({"tracer": "callTracer", "tracerConfig": {"withLog": true}}),
        )
        .await;
    assert_eq!(frame["type"], json!("CALL"));
    assert_eq!(addr(&frame["to"]), MULTICALL3);
    assert_eq!(bytes(&frame["input"]), multi);
    assert_eq!(frame["gasUsed"], multi_receipt["gasUsed"]);
    let calls = frame["calls"].as_array().expect("nested calls");
    assert_eq!(calls.len(), 1, "{frame}");
    assert_eq!(calls[0]["type"], json!("CALL"));
    assert_eq!(addr(&calls[0]["from"]), MULTICALL3);
    assert_eq!(addr(&calls[0]["to"]), token);
    assert_eq!(bytes(&calls[0]["input"]), inner);
    assert_eq!(calls[0]["logs"].as_array().map(Vec::len), Some(1));
    let top = rpc
        .trace_tx(
            multi_hash,
            json!({"tracer": "callTracer", "tracerConfig": {"onlyTopCall": true}}),
        )
        .await;
    assert!(top.get("calls").is_none(), "{top}");
    assert_eq!(top["gasUsed"], multi_receipt["gasUsed"]);
    let trace = rpc.trace_tx(multi_hash, json!({})).await;
    assert_struct_logs(&trace, &multi_receipt);
    assert!(
        trace["structLogs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["depth"] == json!(2))
    );

    // --- the L1-info deposit (index 0 of every block) traces too.
    let block_hex = multi_receipt["blockNumber"].clone();
    let block = rpc
        .ok(
            "eth_getBlockByNumber",
            vec![block_hex.clone(), json!(false)],
        )
        .await;
    let txs = block["transactions"].as_array().unwrap().clone();
    let deposit = rpc
        .trace_tx(hash_of(&txs[0]), json!({"tracer": "callTracer"}))
        .await;
    assert_eq!(addr(&deposit["to"]), L1_BLOCK, "{deposit}");
    assert!(deposit.get("error").is_none());

    // --- unknown transactions and unsupported tracers are clear errors.
    let e = rpc
        .call(
            "debug_traceTransaction",
            vec![json!(B256::repeat_byte(7)), json!({})],
        )
        .await
        .unwrap_err();
    assert!(e.message().contains("not found"), "{e:?}");
    let e = rpc
        .call(
            "debug_traceTransaction",
            vec![json!(transfer_hash), json!({"tracer": "flatCallTracer"})],
        )
        .await
        .unwrap_err();
    assert!(
        e.message()
            .contains("tracer flatCallTracer is not supported"),
        "{e:?}"
    );

    // --- traceCall: a successful view call and a reverting call.
    let balance_call = json!({"from": DEV0, "to": token, "data": Bytes::from(balanceOfCall { owner: DEV1 }.abi_encode())});
    let frame = rpc
        .ok(
            "debug_traceCall",
            vec![
                balance_call,
                json!("latest"),
                json!({"tracer": "callTracer"}),
            ],
        )
        .await;
    assert_eq!(frame["type"], json!("CALL"));
    assert_eq!(
        bytes(&frame["output"]),
        Bytes::from(U256::from(250u64).abi_encode())
    );
    // The same call with a state override of DEV1's balance slot (mapping at slot 0).
    let slot = keccak256(
        [
            B256::left_padding_from(DEV1.as_slice()).as_slice(),
            &[0u8; 32],
        ]
        .concat(),
    );
    let overridden = rpc
        .ok(
            "debug_traceCall",
            vec![
                json!({"from": DEV0, "to": token, "data": Bytes::from(balanceOfCall { owner: DEV1 }.abi_encode())}),
                json!("latest"),
                json!({"tracer": "callTracer", "stateOverrides": {format!("{token:?}"): {"stateDiff": {format!("{slot:?}"): format!("{:?}", B256::from(U256::from(999u64)))}}}}),
            ],
        )
        .await;
    assert_eq!(
        bytes(&overridden["output"]),
        Bytes::from(U256::from(999u64).abi_encode())
    );
    let reverting = json!({"from": DEV2, "to": token, "data": too_much});
    let frame = rpc
        .ok(
            "debug_traceCall",
            vec![
                reverting.clone(),
                json!("latest"),
                json!({"tracer": "callTracer"}),
            ],
        )
        .await;
    assert_eq!(frame["error"], json!("execution reverted"), "{frame}");
    assert_eq!(
        frame["revertReason"],
        json!("TestERC20: insufficient balance")
    );
    let trace = rpc
        .ok("debug_traceCall", vec![reverting, json!("latest")])
        .await;
    assert_eq!(trace["failed"], json!(true), "{trace}");
    assert!(!trace["structLogs"].as_array().unwrap().is_empty());
    // At a block before the token existed, the call has no code to run.
    let early = json!({"from": DEV0, "to": token, "data": transfer_data});
    let trace = rpc.ok("debug_traceCall", vec![early, json!("0x0")]).await;
    assert_eq!(trace["structLogs"], json!([]));
    assert_eq!(trace["failed"], json!(false));

    // --- raw bytes: header hashes to the block hash, block decodes, txs hash, receipts count.
    let block_hash = hash_of(&block["hash"]);
    for id in [block_hex.clone(), json!(block_hash)] {
        let header = bytes(&rpc.ok("debug_getRawHeader", vec![id.clone()]).await);
        assert_eq!(keccak256(&header), block_hash);
        let receipts = rpc.ok("debug_getRawReceipts", vec![id.clone()]).await;
        assert_eq!(receipts.as_array().map(Vec::len), Some(txs.len()));
    }
    let raw_block = bytes(&rpc.ok("debug_getRawBlock", vec![block_hex.clone()]).await);
    let decoded = alloy::consensus::Block::<OpTxEnvelope>::decode(&mut raw_block.as_ref()).unwrap();
    assert_eq!(decoded.header.hash_slow(), block_hash);
    assert_eq!(decoded.body.transactions.len(), txs.len());
    for (tx, hash) in decoded.body.transactions.iter().zip(&txs) {
        assert_eq!(tx.tx_hash(), hash_of(hash));
        let raw = bytes(&rpc.ok("debug_getRawTransaction", vec![hash.clone()]).await);
        assert_eq!(keccak256(&raw), hash_of(hash));
    }
    let e = rpc
        .call("debug_getRawHeader", vec![json!("0xffffff")])
        .await
        .unwrap_err();
    assert!(e.message().contains("not found"), "{e:?}");
    let unknown = rpc
        .ok("debug_getRawTransaction", vec![json!(B256::repeat_byte(7))])
        .await;
    assert_eq!(unknown, json!("0x"));
}

fn prestate(v: Value) -> BTreeMap<Address, AccountState> {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not a prestate ({e}): {v}"))
}

fn diff(v: Value) -> DiffMode {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not a state diff ({e}): {v}"))
}

/// The 4byteTracer key of a call with `data`.
fn four_byte_key(data: &[u8]) -> String {
    format!("0x{}-{}", hex::encode(&data[..4]), data.len() - 4)
}

#[tokio::test(flavor = "multi_thread")]
async fn prestate_and_4byte_tracers() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path(), "1s", &[]);
    let rpc = Rpc::connect(&node.addr).await;

    // --- an ETH transfer between two funded accounts that nothing else in its block touches.
    let value = U256::from(123_456_789u64);
    rpc.after_next_block().await;
    let hash = rpc.send(&rpc.sign_transfer(KEY3, 0, DEV4, value)).await;
    let receipt = rpc.receipt(hash).await;
    assert_eq!(receipt["status"], json!("0x1"));
    let block = quantity(&receipt["blockNumber"]);
    let parent = block - 1;
    let (sender_before, recipient_before) = (
        rpc.balance(DEV3, parent).await,
        rpc.balance(DEV4, parent).await,
    );
    let (sender_after, recipient_after) = (
        rpc.balance(DEV3, block).await,
        rpc.balance(DEV4, block).await,
    );
    assert!(recipient_before > U256::ZERO && sender_before > sender_after + value);
    assert_eq!(recipient_after, recipient_before + value);

    // Default mode: every account the transaction touched, as it was before.
    let pre = prestate(
        rpc.trace_tx(hash, json!({"tracer": "prestateTracer"}))
            .await,
    );
    assert_eq!(pre[&DEV3].balance, Some(sender_before), "{pre:?}");
    assert_eq!(pre[&DEV4].balance, Some(recipient_before), "{pre:?}");
    assert_eq!(pre[&DEV3].nonce.unwrap_or(0), rpc.nonce(DEV3, parent).await);
    assert!(pre[&DEV3].code.is_none() && pre[&DEV3].storage.is_empty());

    // Diff mode: before at the parent block, after at the transaction's block.
    let d = diff(
        rpc.trace_tx(
            hash,
            json!({"tracer": "prestateTracer", "tracerConfig": {"diffMode": true}}),
        )
        .await,
    );
    assert_eq!(d.pre[&DEV3].balance, Some(sender_before), "{d:?}");
    assert_eq!(d.pre[&DEV4].balance, Some(recipient_before), "{d:?}");
    assert_eq!(d.post[&DEV3].balance, Some(sender_after), "{d:?}");
    assert_eq!(d.post[&DEV4].balance, Some(recipient_after), "{d:?}");
    assert_eq!(d.post[&DEV3].nonce, Some(rpc.nonce(DEV3, block).await));

    // traceCall of the same transfer on the block's state (no gas price: only the value moves).
    let call = json!({"from": DEV3, "to": DEV4, "value": value});
    let pre = prestate(
        rpc.ok(
            "debug_traceCall",
            vec![
                call.clone(),
                json!(format!("{block:#x}")),
                json!({"tracer": "prestateTracer"}),
            ],
        )
        .await,
    );
    assert_eq!(pre[&DEV3].balance, Some(sender_after), "{pre:?}");
    assert_eq!(pre[&DEV4].balance, Some(recipient_after), "{pre:?}");
    let d = diff(
        rpc.ok(
            "debug_traceCall",
            vec![
                call,
                json!(format!("{block:#x}")),
                json!({"tracer": "prestateTracer", "tracerConfig": {"diffMode": true}}),
            ],
        )
        .await,
    );
    assert_eq!(
        d.post[&DEV4].balance,
        Some(recipient_after + value),
        "{d:?}"
    );

    // A transfer has no calldata: nothing for the 4byteTracer.
    let four = rpc.trace_tx(hash, json!({"tracer": "4byteTracer"})).await;
    assert_eq!(four, json!({}));

    // --- a contract call: the 4byteTracer counts its selector once; the state diff has the
    // token's balance slot.
    let artifact: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("contracts/artifacts/TestERC20.json")).unwrap(),
    )
    .unwrap();
    let deploy = rpc.sign(
        KEY3,
        1,
        TxKind::Create,
        bytes(&artifact["bytecode"]),
        2_000_000,
    );
    let deployed = rpc.receipt(rpc.send(&deploy).await).await;
    assert_eq!(deployed["status"], json!("0x1"));
    let token = addr(&deployed["contractAddress"]);
    let amount = U256::from(4_242u64);
    let mint_data: Bytes = mintCall { to: DEV4, amount }.abi_encode().into();
    let mint = rpc
        .send(&rpc.sign(KEY3, 2, TxKind::Call(token), mint_data.clone(), 200_000))
        .await;
    assert_eq!(rpc.receipt(mint).await["status"], json!("0x1"));
    let four = rpc.trace_tx(mint, json!({"tracer": "4byteTracer"})).await;
    let mint_key = four_byte_key(&mint_data);
    assert_eq!(mint_key, "0x40c10f19-64");
    assert_eq!(four, json!({ mint_key.clone(): 1 }));

    let d = diff(
        rpc.trace_tx(
            mint,
            json!({"tracer": "prestateTracer", "tracerConfig": {"diffMode": true}}),
        )
        .await,
    );
    let slot = keccak256(
        [
            B256::left_padding_from(DEV4.as_slice()).as_slice(),
            &[0u8; 32],
        ]
        .concat(),
    );
    assert_eq!(
        d.post[&token].storage.get(&slot),
        Some(&B256::from(amount)),
        "{d:?}"
    );
    assert!(d.pre[&token].code.is_some(), "{d:?}");

    // Through Multicall3: both selectors, once each.
    let multi: Bytes = aggregate3Call {
        calls: vec![Call3 {
            target: token,
            allowFailure: false,
            callData: mint_data,
        }],
    }
    .abi_encode()
    .into();
    let four = rpc
        .ok(
            "debug_traceCall",
            vec![
                json!({"from": DEV3, "to": MULTICALL3, "data": multi}),
                json!("latest"),
                json!({"tracer": "4byteTracer"}),
            ],
        )
        .await;
    assert_eq!(four, json!({ four_byte_key(&multi): 1, mint_key: 1 }));
}
