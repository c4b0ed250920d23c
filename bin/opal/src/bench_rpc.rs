//! `opal bench rpc`: pre-signed ETH transfers sent over JSON-RPC to a node this command starts
//! (`opal node --dev`, and with `--against-anvil` also anvil at the same block time), timing
//! inclusion throughput and submit→inclusion latency. Release builds only give meaningful
//! figures. Ends with one JSON line on stdout.

use std::{
    collections::HashMap,
    path::PathBuf,
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    primitives::{Address, B256, TxKind, U256, hex, keccak256},
    signers::{
        SignerSync,
        local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English},
    },
};
use eyre::{bail, eyre};
use jsonrpsee::{
    core::client::ClientT,
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
};
use serde_json::Value;

use crate::bench_load::{Answer, Connection, send_raw_body};
use crate::bench_nodes::{Spawned, find_anvil, machine_ticks, steal_percent};
use hyper::body::Bytes;

/// Arguments of `opal bench rpc`.
#[derive(Debug, clap::Args)]
pub struct RpcArgs {
    /// Transfers to send.
    #[arg(long, default_value_t = 20_000)]
    pub txs: usize,
    /// Sending accounts (derived deterministically, funded from the dev accounts first).
    #[arg(long, default_value_t = 200)]
    pub accounts: usize,
    /// JSON-RPC requests in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Block time of the node (and of anvil): `2s`, `250ms`, down to `100ms`.
    #[arg(long = "block-time", default_value = "100ms", value_parser = crate::node_cmd::parse_block_time)]
    pub block_time: Duration,
    /// Block gas limit of both chains. The devnet's 30M caps 100 ms blocks at 14,280
    /// transfers/s; other values run opal on a copy of the devnet genesis with this limit.
    #[arg(long = "gas-limit", default_value_t = crate::genesis_gen::GAS_LIMIT)]
    pub gas_limit: u64,
    /// Also run the same load against anvil and report the ratio.
    #[arg(long)]
    pub against_anvil: bool,
    /// The anvil binary (default: npm's @foundry-rs/anvil-linux-amd64 under tests/e2e/node_modules).
    #[arg(long, env = "ANVIL_BIN")]
    pub anvil_bin: Option<PathBuf>,
    /// Seconds to wait for every transfer to be included.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// An empty directory for the node's files (a temporary one, removed after, by default): its
    /// datadir is `db/` in it, a `--gas-limit` genesis goes in `bench-config/`; with several
    /// runs, run `i` uses its subdirectory `run-i`.
    #[arg(long)]
    pub datadir: Option<PathBuf>,
    /// Repetitions, each on a new chain, opal and anvil alternating; the JSON line gives the
    /// medians (the ratio is the median of the runs' ratios).
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
}

/// The devnet's chain id, which anvil is started with too.
pub const CHAIN_ID: u64 = 72077;
const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";
const DEV_ACCOUNTS: u32 = 10;
const GWEI: u128 = 1_000_000_000;
/// High enough that a base fee rising under load never strands a transfer.
const MAX_FEE: u128 = 1_000 * GWEI;
const TIP: u128 = GWEI;
const TRANSFER_GAS: u64 = 21_000;

/// Figures of one run.
#[derive(Clone, Copy)]
struct RunResult {
    included: usize,
    rejected: usize,
    retries: u64,
    tps: f64,
    p50_ms: f64,
    p99_ms: f64,
    blocks: u64,
    /// CPU time the node spent per included transfer, from the first send to the last
    /// inclusion (NaN where `/proc` is not available).
    cpu_us_per_tx: f64,
    /// Share of the machine's CPU time the hypervisor gave to other guests over the same
    /// window, in percent (NaN where `/proc/stat` is not available).
    steal_pct: f64,
}

/// Runs the benchmark.
pub fn rpc(args: RpcArgs) -> eyre::Result<()> {
    if args.accounts == 0 || args.txs == 0 || args.concurrency == 0 || args.runs == 0 {
        bail!("--txs, --accounts, --concurrency and --runs must be positive");
    }
    let anvil_bin = if args.against_anvil {
        Some(find_anvil(args.anvil_bin.as_deref())?)
    } else {
        None
    };
    let started = Instant::now();
    let senders: Vec<PrivateKeySigner> = (0..args.accounts)
        .map(|i| PrivateKeySigner::from_bytes(&keccak256(format!("opal-bench-rpc-sender-{i}"))))
        .collect::<Result<_, _>>()?;
    let load = presign(&senders, args.txs)?;
    eprintln!(
        "signed {} transfers from {} accounts in {:.1}s",
        load.len(),
        senders.len(),
        started.elapsed().as_secs_f64()
    );
    let per_sender = args.txs.div_ceil(args.accounts) as u128;
    let fund = U256::from(2 * per_sender * (TRANSFER_GAS as u128 * MAX_FEE + 1) + 10u128.pow(18));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut opal = Vec::with_capacity(args.runs);
    let mut anvil = Vec::with_capacity(args.runs);
    for run in 0..args.runs {
        let datadir = match (&args.datadir, args.runs) {
            (Some(d), 1) => Some(d.clone()),
            (Some(d), _) => Some(d.join(format!("run-{run}"))),
            (None, _) => None,
        };
        opal.push(runtime.block_on(async {
            let node = Spawned::opal(args.block_time, args.gas_limit, datadir.as_deref())?;
            let r = run_target("opal", &node, &args, &senders, fund, &load).await;
            drop(node);
            r
        })?);
        if let Some(bin) = &anvil_bin {
            anvil.push(runtime.block_on(async {
                let node = Spawned::anvil(bin, args.block_time, args.gas_limit).await?;
                let r = run_target("anvil", &node, &args, &senders, fund, &load).await;
                drop(node);
                r
            })?);
        }
    }
    let median_of = |runs: &[RunResult], f: fn(&RunResult) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    let ratios: Vec<RunResult> = opal
        .iter()
        .zip(&anvil)
        .map(|(o, a)| RunResult {
            tps: o.tps / a.tps,
            ..*o
        })
        .collect();
    let ratio = median_of(&ratios, |r| r.tps);
    let opal = RunResult {
        tps: median_of(&opal, |r| r.tps).unwrap_or(f64::NAN),
        p50_ms: median_of(&opal, |r| r.p50_ms).unwrap_or(f64::NAN),
        p99_ms: median_of(&opal, |r| r.p99_ms).unwrap_or(f64::NAN),
        cpu_us_per_tx: median_of(&opal, |r| r.cpu_us_per_tx).unwrap_or(f64::NAN),
        steal_pct: median_of(&opal, |r| r.steal_pct).unwrap_or(f64::NAN),
        ..opal[0]
    };
    let anvil = (!anvil.is_empty()).then(|| RunResult {
        tps: median_of(&anvil, |r| r.tps).unwrap_or(f64::NAN),
        p50_ms: median_of(&anvil, |r| r.p50_ms).unwrap_or(f64::NAN),
        p99_ms: median_of(&anvil, |r| r.p99_ms).unwrap_or(f64::NAN),
        cpu_us_per_tx: median_of(&anvil, |r| r.cpu_us_per_tx).unwrap_or(f64::NAN),
        steal_pct: median_of(&anvil, |r| r.steal_pct).unwrap_or(f64::NAN),
        ..anvil[0]
    });
    if let Some(ratio) = ratio {
        println!(
            "opal/anvil included tx/s: {ratio:.2}x (median of {} runs)",
            args.runs
        );
    }
    // One JSON line, fields in a fixed order (`bench` first).
    let num = |x: Option<f64>| match x {
        Some(x) if x.is_finite() => format!("{}", (x * 100.0).round() / 100.0),
        _ => "null".to_string(),
    };
    println!(
        "{{\"bench\":\"rpc-transfers\",\"opal_tps\":{},\"anvil_tps\":{},\"ratio\":{},\
         \"p50_ms\":{},\"p99_ms\":{},\"anvil_p50_ms\":{},\"anvil_p99_ms\":{},\"opal_cpu_us_per_tx\":{},\
         \"anvil_cpu_us_per_tx\":{},\"opal_steal_pct\":{},\"anvil_steal_pct\":{},\"txs\":{},\
         \"accounts\":{},\"concurrency\":{},\"block_time_ms\":{},\"gas_limit\":{},\"runs\":{}}}",
        num(Some(opal.tps)),
        num(anvil.as_ref().map(|a| a.tps)),
        num(ratio),
        num(Some(opal.p50_ms)),
        num(Some(opal.p99_ms)),
        num(anvil.as_ref().map(|a| a.p50_ms)),
        num(anvil.as_ref().map(|a| a.p99_ms)),
        num(Some(opal.cpu_us_per_tx)),
        num(anvil.as_ref().map(|a| a.cpu_us_per_tx)),
        num(Some(opal.steal_pct)),
        num(anvil.as_ref().map(|a| a.steal_pct)),
        args.txs,
        args.accounts,
        args.concurrency,
        args.block_time.as_millis(),
        args.gas_limit,
        args.runs,
    );
    Ok(())
}

/// One pre-signed transfer.
struct Prepared {
    hash: B256,
    raw: String,
}

/// Signs `txs` transfers, ordered so consecutive ones come from different senders (nonce `k`
/// of every sender before nonce `k + 1` of any), each to a fresh address.
fn presign(senders: &[PrivateKeySigner], txs: usize) -> eyre::Result<Vec<Prepared>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = txs.div_ceil(threads);
    let m = senders.len();
    let parts = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t * chunk..((t + 1) * chunk).min(txs))
                        .map(|i| {
                            let tx = TxEip1559 {
                                chain_id: CHAIN_ID,
                                nonce: (i / m) as u64,
                                gas_limit: TRANSFER_GAS,
                                max_fee_per_gas: MAX_FEE,
                                max_priority_fee_per_gas: TIP,
                                to: TxKind::Call(Address::from_slice(
                                    &keccak256(format!("opal-bench-rpc-recipient-{i}"))[12..],
                                )),
                                value: U256::from(1),
                                ..Default::default()
                            };
                            sign(&senders[i % m], tx)
                        })
                        .collect::<eyre::Result<Vec<_>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| eyre!("signing thread panicked"))?)
            .collect::<eyre::Result<Vec<_>>>()
    })?;
    Ok(parts.into_iter().flatten().collect())
}

fn sign(signer: &PrivateKeySigner, tx: TxEip1559) -> eyre::Result<Prepared> {
    let sig = signer.sign_hash_sync(&tx.signature_hash())?;
    let envelope = TxEnvelope::Eip1559(tx.into_signed(sig));
    Ok(Prepared {
        hash: *envelope.tx_hash(),
        raw: hex::encode_prefixed(envelope.encoded_2718()),
    })
}

/// A jsonrpsee HTTP client for the watcher, the funding and anvil's readiness check.
pub fn http_client(url: &str, concurrency: usize) -> eyre::Result<HttpClient> {
    Ok(HttpClientBuilder::default()
        .max_concurrent_requests(concurrency + 16)
        .max_response_size(64 * 1024 * 1024)
        .request_timeout(Duration::from_secs(60))
        .build(url)?)
}

/// How a submission ended.
enum Sent {
    Accepted,
    Rejected(String),
}

/// Sends one raw transaction (its request `body`), retrying while the pool reports it is full
/// (back-pressure) or the connection breaks.
async fn send_raw(conn: &mut Connection, body: &Bytes, retries: &AtomicU64) -> Sent {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match conn.call(body.clone()).await {
            Ok(Answer::Result) => return Sent::Accepted,
            Ok(Answer::Error(msg)) => {
                if msg.starts_with("already known") {
                    return Sent::Accepted;
                }
                let full = msg.starts_with("txpool is full")
                    || msg.starts_with("account limit exceeded")
                    || msg.contains("pool is full");
                if !full || Instant::now() > deadline {
                    return Sent::Rejected(msg);
                }
            }
            Err(e) => {
                if Instant::now() > deadline {
                    return Sent::Rejected(e.to_string());
                }
            }
        }
        retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Funds the senders from the dev accounts, then sends the load and waits for inclusion.
async fn run_target(
    name: &str,
    node: &Spawned,
    args: &RpcArgs,
    senders: &[PrivateKeySigner],
    fund: U256,
    load: &[Prepared],
) -> eyre::Result<RunResult> {
    let url = node.url.as_str();
    let client = http_client(url, args.concurrency)?;
    let chain_id: U256 = client.request("eth_chainId", rpc_params![]).await?;
    if chain_id != U256::from(CHAIN_ID) {
        bail!("{name} reports chain id {chain_id}, expected {CHAIN_ID}");
    }
    fund_senders(&client, url, senders, fund).await?;
    eprintln!("{name}: funded {} senders", senders.len());

    let bodies: Arc<Vec<Bytes>> = Arc::new(
        load.iter()
            .enumerate()
            .map(|(i, p)| send_raw_body(i, &p.raw))
            .collect(),
    );
    let conns = (0..args.concurrency)
        .map(|_| Connection::new(url))
        .collect::<eyre::Result<Vec<_>>>()?;
    let index: HashMap<B256, usize> = load.iter().enumerate().map(|(i, p)| (p.hash, i)).collect();
    let cpu0 = node.cpu_seconds();
    let machine0 = machine_ticks();
    let t0 = Instant::now();
    let submitted: Arc<Vec<AtomicU64>> =
        Arc::new((0..load.len()).map(|_| AtomicU64::new(0)).collect());
    let rejected = Arc::new(AtomicUsize::new(0));
    let retries = Arc::new(AtomicU64::new(0));
    let sending_done = Arc::new(AtomicBool::new(false));
    let first_block: u64 = block_number(&client).await?;

    // Watches blocks and notes when each transfer is first seen included.
    let watcher = {
        let client = client.clone();
        let rejected = rejected.clone();
        let sending_done = sending_done.clone();
        let total = load.len();
        let timeout = Duration::from_secs(args.timeout);
        tokio::spawn(async move {
            let mut included: Vec<Option<Duration>> = vec![None; total];
            let mut count = 0usize;
            let mut next = first_block + 1;
            let deadline = Instant::now() + timeout;
            loop {
                let head = block_number(&client).await?;
                while next <= head {
                    let block: Value = client
                        .request(
                            "eth_getBlockByNumber",
                            rpc_params![format!("{next:#x}"), false],
                        )
                        .await?;
                    let seen = t0.elapsed();
                    for h in block["transactions"].as_array().into_iter().flatten() {
                        let Some(i) = h.as_str().and_then(|s| B256::from_str(s).ok()) else {
                            continue;
                        };
                        if let Some(&i) = index.get(&i)
                            && included[i].is_none()
                        {
                            included[i] = Some(seen);
                            count += 1;
                        }
                    }
                    next += 1;
                }
                if sending_done.load(Ordering::Acquire)
                    && count + rejected.load(Ordering::Acquire) >= total
                {
                    return Ok::<_, eyre::Report>((included, next - first_block - 1));
                }
                if Instant::now() > deadline {
                    bail!("only {count} of {total} transfers included after {timeout:?}");
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let (bodies, next, submitted, rejected, retries, errors) = (
                bodies.clone(),
                next.clone(),
                submitted.clone(),
                rejected.clone(),
                retries.clone(),
                errors.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= bodies.len() {
                        break;
                    }
                    submitted[i].store(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    if let Sent::Rejected(msg) = send_raw(&mut conn, &bodies[i], &retries).await {
                        rejected.fetch_add(1, Ordering::AcqRel);
                        let mut errors = errors.lock().unwrap();
                        if errors.len() < 5 {
                            errors.push(msg);
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await?;
    }
    let send_secs = t0.elapsed().as_secs_f64();
    sending_done.store(true, Ordering::Release);
    let (included, blocks) = watcher.await??;

    let rejected = rejected.load(Ordering::Acquire);
    if rejected > 0 {
        eprintln!(
            "{name}: {rejected} transfers rejected, e.g. {:?}",
            errors.lock().unwrap()
        );
    }
    let mut latencies: Vec<f64> = included
        .iter()
        .enumerate()
        .filter_map(|(i, at)| {
            at.map(|at| at.as_secs_f64() * 1e3 - submitted[i].load(Ordering::Relaxed) as f64 / 1e6)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let last = included.iter().flatten().max().copied().unwrap_or_default();
    let count = latencies.len();
    let cpu = node.cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
    let steal_pct = steal_percent(machine0, machine_ticks());
    let result = RunResult {
        cpu_us_per_tx: cpu.map_or(f64::NAN, |c| c * 1e6 / count.max(1) as f64),
        steal_pct,
        included: count,
        rejected,
        retries: retries.load(Ordering::Relaxed),
        tps: count as f64 / last.as_secs_f64().max(1e-9),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        blocks,
    };
    println!(
        "{name}: {} transfers included in {:.2}s over {} blocks ({:.0} tx/s; submitted in {send_secs:.2}s, \
         {} rejected, {} pool-full retries); submit→inclusion p50 {:.1} ms, p99 {:.1} ms; node CPU {:.0} µs per transfer; \
         machine CPU steal {:.1} %",
        result.included,
        last.as_secs_f64(),
        result.blocks,
        result.tps,
        result.rejected,
        result.retries,
        result.p50_ms,
        result.p99_ms,
        result.cpu_us_per_tx,
        result.steal_pct,
    );
    Ok(result)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

async fn block_number(client: &HttpClient) -> eyre::Result<u64> {
    let n: U256 = client.request("eth_blockNumber", rpc_params![]).await?;
    Ok(n.to::<u64>())
}

/// Sends `fund` wei from the dev accounts to every sender and waits until all are included.
async fn fund_senders(
    client: &HttpClient,
    url: &str,
    senders: &[PrivateKeySigner],
    fund: U256,
) -> eyre::Result<()> {
    let devs: Vec<PrivateKeySigner> = (0..DEV_ACCOUNTS)
        .map(|i| MnemonicBuilder::<English>::from_phrase_nth(DEV_MNEMONIC, i))
        .collect();
    let mut expected = Vec::new();
    let retries = AtomicU64::new(0);
    let mut conn = Connection::new(url)?;
    for (d, dev) in devs.iter().enumerate() {
        let start: U256 = client
            .request(
                "eth_getTransactionCount",
                rpc_params![dev.address(), "pending"],
            )
            .await?;
        let mut nonce = start.to::<u64>();
        for sender in senders.iter().skip(d).step_by(devs.len()) {
            let tx = TxEip1559 {
                chain_id: CHAIN_ID,
                nonce,
                gas_limit: TRANSFER_GAS,
                max_fee_per_gas: MAX_FEE,
                max_priority_fee_per_gas: TIP,
                to: TxKind::Call(sender.address()),
                value: fund,
                ..Default::default()
            };
            let p = sign(dev, tx)?;
            if let Sent::Rejected(msg) =
                send_raw(&mut conn, &send_raw_body(0, &p.raw), &retries).await
            {
                bail!("funding {} failed: {msg}", sender.address());
            }
            nonce += 1;
        }
        expected.push((dev.address(), nonce));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    for (address, nonce) in expected {
        loop {
            let n: U256 = client
                .request("eth_getTransactionCount", rpc_params![address, "latest"])
                .await?;
            if n.to::<u64>() >= nonce {
                break;
            }
            if Instant::now() > deadline {
                bail!("funding transactions from {address} not included within 120 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}
