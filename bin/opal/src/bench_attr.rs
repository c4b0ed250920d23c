//! `opal bench attribution`: the gas of each attribution operation through its precompile and
//! through the Solidity reference on the same calldata, the time per gas of each (native work
//! against the node's EVM running the reference), and attributed inferences per second through
//! the block builder. Release builds only give meaningful figures. Each measurement ends with one
//! JSON line on stdout.

use std::{collections::VecDeque, path::PathBuf, sync::Arc, time::Instant};

use alloy::{
    consensus::{
        SignableTransaction, TxEip1559,
        transaction::{Recovered, SignerRecoverable},
    },
    eips::eip2718::{Encodable2718, WithEncoded},
    primitives::{Address, B64, B256, Bytes, TxKind, U256, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{SolCall, SolValue},
};
use eyre::{WrapErr, eyre};
use op_alloy::consensus::OpTxEnvelope;
use opal_attribution::index::AttributionIndex;
use opal_attribution::{
    FEE_SPLIT_ADDRESS, LEDGER_ADDRESS, MERKLE_ADDRESS, SPAN_MATCH_ADDRESS,
    abi::{IAttributionLedger as L, IFeeSplit, IMerkleMultiProof, ISpanMatch},
    genesis::LedgerGenesis,
    layout::{FeeConfig, Role},
    merkle::tree::Tree,
    sandbox::{Sandbox, SplitMix64 as Rng},
    span::ngram_leaf,
};
use opal_evm::{
    BlockExecutor, OpalChain, SequencerInputs, SkipReason, TxSource, sequencer_attributes,
};
use opal_primitives::ChainSpec;
use opal_protocol::L1BlockInfo;
use opal_storage::Store;
use serde_json::json;

/// Arguments of `opal bench attribution`.
#[derive(Debug, Clone, clap::Args)]
pub struct AttributionArgs {
    /// Compiled contracts (the Solidity references).
    #[arg(long, default_value = "contracts/artifacts")]
    pub artifacts: PathBuf,
    /// Timed repetitions per operation (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Inferences per `recordBatch` in the gas comparison.
    #[arg(long, default_value_t = 2_048)]
    pub batch_inferences: usize,
    /// Shares per inference in the gas comparison.
    #[arg(long, default_value_t = 8)]
    pub batch_shares: usize,
    /// Distinct contributors the batch's shares are drawn from.
    #[arg(long, default_value_t = 256)]
    pub contributors: u64,
    /// Genesis for the block-builder throughput run.
    #[arg(long, default_value = "genesis/genesis.json")]
    pub genesis: PathBuf,
    /// Blocks built in the throughput run.
    #[arg(long, default_value_t = 20)]
    pub blocks: usize,
    /// Run the throughput measurement without the attribution index (to see its share).
    #[arg(long)]
    pub without_index: bool,
}

const CHAIN_ID: u64 = 72_077;
/// Inferences per batch transaction in the throughput run (about 110 KB of calldata).
const THROUGHPUT_BATCH: usize = 128;
const CALLER: Address = Address::new([0xca; 20]);
const ADMIN: Address = Address::new([0xad; 20]);
const WARMUP: Address = Address::new([0xaa; 20]);
const BPS: [u16; 4] = [500, 2_000, 500, 7_000];

/// Runtime code that CALLs `target` with its own calldata and value, and returns
/// `(gas the CALL took, success)` as two words.
fn gas_probe(target: Address) -> Bytes {
    let mut c = vec![
        0x36, 0x5f, 0x5f, 0x37, 0x5a, 0x5f, 0x5f, 0x36, 0x5f, 0x34, 0x73,
    ];
    c.extend_from_slice(target.as_slice());
    c.extend([
        0x5a, 0xf1, 0x5a, 0x90, 0x60, 0x20, 0x52, 0x90, 0x03, 0x5f, 0x52, 0x60, 0x40, 0x5f, 0xf3,
    ]);
    c.into()
}

fn artifact_code(args: &AttributionArgs, name: &str) -> eyre::Result<Bytes> {
    let path = args.artifacts.join(format!("{name}.json"));
    let text =
        std::fs::read_to_string(&path).wrap_err_with(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let hex = v["bytecode"]
        .as_str()
        .ok_or_else(|| eyre!("{}: no bytecode", path.display()))?;
    Ok(hex.parse()?)
}

/// One side of a comparison: gas through a probe, and the median time of the work.
struct Side {
    gas: u64,
    output: Bytes,
    ns: f64,
}

/// Gas of `data` sent to `target` through a probe (minus the probe's own CALL overhead).
fn probed(
    sb: &mut Sandbox,
    target: Address,
    data: &Bytes,
    value: U256,
) -> eyre::Result<(u64, bool)> {
    let probe = Address::from_word(keccak256(target.as_slice()));
    sb.set_code(probe, gas_probe(target));
    let r = sb.exec(
        CALLER,
        TxKind::Call(probe),
        data.clone(),
        value,
        2_000_000_000,
    )?;
    let out = r.output().cloned().unwrap_or_default();
    if out.len() != 64 {
        return Err(eyre!("gas probe returned {} bytes: {r:?}", out.len()));
    }
    let gas = U256::from_be_slice(&out[..32]).to::<u64>();
    let ok = !U256::from_be_slice(&out[32..]).is_zero();
    Ok((gas, ok))
}

/// Median wall time of `data` sent straight to `target` (a fresh copy of `sb` each run), minus
/// the same transaction sent to an account without code.
fn timed(
    sb: &Sandbox,
    target: Address,
    data: &Bytes,
    value: U256,
    runs: usize,
) -> eyre::Result<(f64, Bytes)> {
    let mut samples = Vec::with_capacity(runs);
    let mut output = Bytes::new();
    let empty = Address::repeat_byte(0xee);
    for _ in 0..runs.max(1) {
        let mut base = sb.clone();
        let t0 = Instant::now();
        base.exec(
            CALLER,
            TxKind::Call(empty),
            data.clone(),
            value,
            2_000_000_000,
        )?;
        let idle = t0.elapsed().as_nanos() as f64;
        let mut run = sb.clone();
        let t0 = Instant::now();
        let r = run.exec(
            CALLER,
            TxKind::Call(target),
            data.clone(),
            value,
            2_000_000_000,
        )?;
        let busy = t0.elapsed().as_nanos() as f64;
        if !r.is_success() {
            return Err(eyre!("call to {target} failed: {r:?}"));
        }
        output = r.output().cloned().unwrap_or_default();
        samples.push((busy - idle).max(1.0));
    }
    samples.sort_by(f64::total_cmp);
    Ok((samples[samples.len() / 2], output))
}

fn side(
    sb: &mut Sandbox,
    target: Address,
    data: &Bytes,
    value: U256,
    runs: usize,
) -> eyre::Result<Side> {
    let (ns, output) = timed(sb, target, data, value, runs)?;
    let (gas, ok) = probed(&mut sb.clone(), target, data, value)?;
    if !ok {
        return Err(eyre!("probed call to {target} failed"));
    }
    Ok(Side { gas, output, ns })
}

fn report(name: &str, native: &Side, reference: &Side) -> eyre::Result<()> {
    if native.output != reference.output {
        return Err(eyre!("{name}: precompile and Solidity reference disagree"));
    }
    let line = json!({
        "bench": name,
        "precompile_gas": native.gas,
        "solidity_gas": reference.gas,
        "ratio": reference.gas as f64 / native.gas.max(1) as f64,
        "precompile_ns_per_gas": native.ns / native.gas.max(1) as f64,
        "evm_ns_per_gas": reference.ns / reference.gas.max(1) as f64,
    });
    println!("{line}");
    Ok(())
}

fn deploy(
    sb: &mut Sandbox,
    args: &AttributionArgs,
    name: &str,
    ctor: &[u8],
) -> eyre::Result<Address> {
    let mut code = artifact_code(args, name)?.to_vec();
    code.extend_from_slice(ctor);
    Ok(sb.deploy(ADMIN, code.into())?)
}

fn genesis() -> LedgerGenesis {
    LedgerGenesis {
        fee_config: FeeConfig {
            bps: BPS,
            treasury: Address::repeat_byte(0x71),
            staker_pool: Address::repeat_byte(0x72),
        },
        roles: vec![(ADMIN, Role::Admin)],
    }
}

fn sandbox() -> Sandbox {
    let mut sb = Sandbox::new(CHAIN_ID, &genesis());
    for a in [ADMIN, CALLER, WARMUP] {
        sb.fund(a, U256::from(10u128.pow(30)));
    }
    sb
}

fn fee_split(args: &AttributionArgs) -> eyre::Result<()> {
    let mut sb = sandbox();
    let reference = deploy(&mut sb, args, "FeeSplitReference", &[])?;
    let mut rng = Rng(1);
    let scores = (0..256)
        .map(|_| (rng.next() % 5_000) as i128 * 10i128.pow(15) - 2 * 10i128.pow(17))
        .collect();
    let data: Bytes = IFeeSplit::splitCall {
        fee: U256::from(10u128.pow(18) + 12_345),
        bps: BPS,
        scores,
        minShareBps: 10,
    }
    .abi_encode()
    .into();
    let native = side(&mut sb, FEE_SPLIT_ADDRESS, &data, U256::ZERO, args.runs)?;
    let solidity = side(&mut sb, reference, &data, U256::ZERO, args.runs)?;
    report("attr-feeSplit", &native, &solidity)
}

fn multiproof(args: &AttributionArgs) -> eyre::Result<()> {
    let mut sb = sandbox();
    let reference = deploy(&mut sb, args, "MultiProofReference", &[])?;
    let mut rng = Rng(2);
    let leaves: Vec<B256> = (0..4_096).map(|_| rng.b256()).collect();
    let tree = Tree::new(&leaves).ok_or_else(|| eyre!("empty tree"))?;
    let mut picks: Vec<usize> = (0..256)
        .map(|i| i * 16 + (rng.next() % 16) as usize)
        .collect();
    picks.sort_unstable();
    let mp = tree.multi_proof(&picks);
    let data: Bytes = IMerkleMultiProof::verifyCall {
        root: tree.root(),
        leaves: mp.leaf_order.iter().map(|&k| leaves[k]).collect(),
        proof: mp.proof,
        proofFlags: mp.flags,
    }
    .abi_encode()
    .into();
    let native = side(&mut sb, MERKLE_ADDRESS, &data, U256::ZERO, args.runs)?;
    let solidity = side(&mut sb, reference, &data, U256::ZERO, args.runs)?;
    if native.output[..] != true.abi_encode()[..] {
        return Err(eyre!("multiproof did not verify"));
    }
    report("attr-multiproof", &native, &solidity)
}

fn span_match(args: &AttributionArgs) -> eyre::Result<()> {
    let mut sb = sandbox();
    let reference = deploy(&mut sb, args, "SpanMatchReference", &[])?;
    let mut rng = Rng(3);
    let (n, tokenizer) = (8u8, 7u32);
    let output: Vec<u32> = (0..8_192).map(|_| (rng.next() % 50_000) as u32).collect();
    // 1,024 claims at overlapping positions, each from some contribution, among 4,096 leaves.
    let claims: Vec<(u32, u64)> = (0..1_024u32).map(|i| (i * 7, u64::from(i % 100))).collect();
    let mut leaves: Vec<B256> = claims
        .iter()
        .map(|&(pos, c)| {
            let p = pos as usize;
            ngram_leaf(n, tokenizer, &output[p..p + n as usize], c)
        })
        .collect();
    leaves.extend((0..3_072).map(|_| rng.b256()));
    let tree = Tree::new(&leaves).ok_or_else(|| eyre!("empty tree"))?;
    let data: Bytes =
        opal_attribution::span::verify_spans_call(output, n, tokenizer, &claims, &tree)
            .abi_encode()
            .into();
    let native = side(&mut sb, SPAN_MATCH_ADDRESS, &data, U256::ZERO, args.runs)?;
    let solidity = side(&mut sb, reference, &data, U256::ZERO, args.runs)?;
    let ok = ISpanMatch::verifySpansCall::abi_decode_returns(&native.output)?;
    if !ok.ok {
        return Err(eyre!("span claims did not verify"));
    }
    report("attr-spanMatch", &native, &solidity)
}

/// The same recordBatch calldata for both ledgers; `seed` picks the inference ids and scores.
fn batch_call(
    args: &AttributionArgs,
    model: B256,
    datanets: &[B256],
    seed: u64,
) -> (L::recordBatchCall, U256) {
    let mut rng = Rng(seed);
    let n = args.batch_inferences;
    let k = args.batch_shares;
    let mut offsets = vec![0u32];
    let (mut dn, mut co, mut sc) = (vec![], vec![], vec![]);
    let mut fees = vec![];
    for _ in 0..n {
        for _ in 0..k {
            dn.push(datanets[(rng.next() % datanets.len() as u64) as usize]);
            co.push(Address::left_padding_from(
                &(0xc000 + rng.next() % args.contributors).to_be_bytes(),
            ));
            sc.push((rng.next() % 2_000) as i128 * 10i128.pow(15) - 2 * 10i128.pow(17));
        }
        offsets.push(dn.len() as u32);
        fees.push(10u128.pow(15) + (rng.next() % 10u64.pow(15)) as u128);
    }
    let total = fees.iter().map(|f| U256::from(*f)).sum();
    let call = L::recordBatchCall {
        modelId: model,
        nonce: 1,
        inferenceIds: (0..n).map(|_| rng.b256()).collect(),
        fees,
        offsets,
        shareDatanet: dn,
        shareContributor: co,
        shareScore: sc,
    };
    (call, total)
}

fn record_batch(args: &AttributionArgs) -> eyre::Result<()> {
    let mut sb = sandbox();
    let reference = deploy(&mut sb, args, "LedgerReference", &ADMIN.abi_encode())?;
    let model = B256::repeat_byte(0x11);
    let datanets: Vec<B256> = (1..=4u8).map(B256::repeat_byte).collect();
    for ledger in [LEDGER_ADDRESS, reference] {
        let fc = genesis().fee_config;
        let setup: Vec<Bytes> = vec![
            L::setFeeConfigCall {
                protocolBps: BPS[0],
                modelBps: BPS[1],
                stakerBps: BPS[2],
                contributorBps: BPS[3],
                treasury: fc.treasury,
                stakerPool: fc.staker_pool,
            }
            .abi_encode()
            .into(),
            L::registerModelCall {
                modelId: model,
                owner: ADMIN,
                payout: Address::repeat_byte(0x73),
                tokenizerId: 7,
            }
            .abi_encode()
            .into(),
        ];
        let mut calls = setup;
        for d in &datanets {
            calls.push(
                L::registerDatanetCall {
                    datanetId: *d,
                    owner: ADMIN,
                }
                .abi_encode()
                .into(),
            );
        }
        // Both ledgers see the probe, the caller and a warm-up attestor as attestors.
        for who in [
            CALLER,
            Address::from_word(keccak256(ledger.as_slice())),
            WARMUP,
        ] {
            calls.push(
                L::setRoleCall {
                    account: who,
                    role: Role::Attestor as u8,
                }
                .abi_encode()
                .into(),
            );
        }
        for data in calls {
            let r = sb.exec(ADMIN, TxKind::Call(ledger), data, U256::ZERO, 10_000_000)?;
            if !r.is_success() {
                return Err(eyre!("setting up {ledger}: {r:?}"));
            }
        }
    }
    // Steady state: a first batch gives every contributor a balance, as on a running chain.
    let (warm, warm_total) = batch_call(args, model, &datanets, 40);
    for ledger in [LEDGER_ADDRESS, reference] {
        let r = sb.exec(
            WARMUP,
            TxKind::Call(ledger),
            warm.abi_encode().into(),
            warm_total,
            2_000_000_000,
        )?;
        if !r.is_success() {
            return Err(eyre!("warm-up batch on {ledger}: {r:?}"));
        }
    }
    let (call, total) = batch_call(args, model, &datanets, 4);
    let data: Bytes = call.abi_encode().into();
    let native = side(&mut sb, LEDGER_ADDRESS, &data, total, args.runs)?;
    let solidity = side(&mut sb, reference, &data, total, args.runs)?;
    report("attr-recordBatch", &native, &solidity)
}

/// The EVM's own hashing rate: a loop of 10,000 KECCAK256 over 64 bytes of memory. Keccak-bound
/// precompiles charge the KECCAK256 price per hash, so this is the rate they are held to.
fn evm_keccak(args: &AttributionArgs) -> eyre::Result<()> {
    let mut sb = sandbox();
    let looper = Address::repeat_byte(0x4b);
    sb.set_code(
        looper,
        Bytes::from_static(&[
            0x61, 0x27, 0x10, 0x5b, 0x60, 0x40, 0x5f, 0x20, 0x5f, 0x52, 0x60, 0x01, 0x90, 0x03,
            0x80, 0x60, 0x03, 0x57, 0x00,
        ]),
    );
    let s = side(&mut sb, looper, &Bytes::new(), U256::ZERO, args.runs)?;
    let line = json!({
        "bench": "attr-evmKeccak",
        "evm_gas": s.gas,
        "evm_ns_per_gas": s.ns / s.gas.max(1) as f64,
    });
    println!("{line}");
    Ok(())
}

/// One sender's signed transactions in nonce order, offered to consecutive blocks: one that does
/// not fit waits at the front for the next block (later nonces cannot go before it).
struct NonceQueue {
    txs: VecDeque<WithEncoded<Recovered<OpTxEnvelope>>>,
    offered: Option<WithEncoded<Recovered<OpTxEnvelope>>>,
    block_full: bool,
    invalid: usize,
}

impl TxSource for NonceQueue {
    fn next_tx(&mut self) -> Option<WithEncoded<Recovered<OpTxEnvelope>>> {
        if self.block_full {
            return None;
        }
        let tx = self.txs.pop_front()?;
        self.offered = Some(tx.clone());
        Some(tx)
    }
    fn skip(&mut self, _: B256, reason: SkipReason) {
        match (reason, self.offered.take()) {
            (SkipReason::DoesNotFit, Some(tx)) => {
                self.txs.push_front(tx);
                self.block_full = true;
            }
            _ => self.invalid += 1,
        }
    }
}

/// Signs `calls` from `signer` as EIP-1559 transactions to the ledger, nonces from `nonce`.
fn sign_calls(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: &mut u64,
    calls: Vec<(Bytes, U256, u64)>,
) -> eyre::Result<VecDeque<WithEncoded<Recovered<OpTxEnvelope>>>> {
    let mut out = VecDeque::with_capacity(calls.len());
    for (input, value, gas_limit) in calls {
        let tx = TxEip1559 {
            chain_id,
            nonce: *nonce,
            gas_limit,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(LEDGER_ADDRESS),
            value,
            access_list: Default::default(),
            input,
        };
        *nonce += 1;
        let sig = signer.sign_hash_sync(&tx.signature_hash())?;
        let env = OpTxEnvelope::Eip1559(tx.into_signed(sig));
        let bytes = Bytes::from(env.encoded_2718());
        out.push_back(WithEncoded::new(
            bytes,
            env.try_into_recovered().map_err(|e| eyre!("{e}"))?,
        ));
    }
    Ok(out)
}

/// Attributed inferences per second through the block builder on the devnet genesis (the dev
/// attestor sending `recordBatch` transactions of [`THROUGHPUT_BATCH`] inferences × 8 shares,
/// each under the pool's 128 KiB size limit), state root, commit and attribution index included.
fn sequencer_throughput(args: &AttributionArgs) -> eyre::Result<()> {
    let spec = ChainSpec::from_file(&args.genesis)?;
    let chain_id = spec.chain_id;
    let dev = crate::genesis_gen::dev_accounts()?;
    let admin = PrivateKeySigner::from_bytes(&dev[0].1)?;
    let attestor = PrivateKeySigner::from_bytes(&dev[2].1)?;
    let index = AttributionIndex::new(AttributionIndex::genesis_fee_config(
        spec.genesis
            .alloc
            .get(&LEDGER_ADDRESS)
            .and_then(|a| a.storage.as_ref()),
    ));
    let dir = crate::bench::tempfile_dir(None)?;
    let chain = Arc::new(OpalChain::new(spec)?);
    let store = Store::open(&dir)?;
    let store = Arc::new(if args.without_index {
        store
    } else {
        store.with_indexer(Arc::new(index))?
    });
    let ex = BlockExecutor::new(chain.clone(), store);
    let genesis = ex.init_genesis()?;

    let model = B256::repeat_byte(0x11);
    let datanets: Vec<B256> = (1..=4u8).map(B256::repeat_byte).collect();
    let mut setup = vec![(
        L::registerModelCall {
            modelId: model,
            owner: dev[0].0,
            payout: dev[5].0,
            tokenizerId: 7,
        }
        .abi_encode()
        .into(),
        U256::ZERO,
        200_000,
    )];
    for d in &datanets {
        setup.push((
            L::registerDatanetCall {
                datanetId: *d,
                owner: dev[0].0,
            }
            .abi_encode()
            .into(),
            U256::ZERO,
            200_000,
        ));
    }
    let mut admin_nonce = 0;
    let setup = sign_calls(&admin, chain_id, &mut admin_nonce, setup)?;
    let per_block = 8;
    let sized = AttributionArgs {
        batch_inferences: THROUGHPUT_BATCH,
        batch_shares: 8,
        ..args.clone()
    };
    let mut attestor_nonce = 0;
    let mut queue = NonceQueue {
        txs: VecDeque::new(),
        offered: None,
        block_full: false,
        invalid: 0,
    };
    for b in 0..args.blocks {
        let mut calls = Vec::with_capacity(per_block);
        for k in 0..per_block {
            let (mut call, total) =
                batch_call(&sized, model, &datanets, 1_000 + (b * per_block + k) as u64);
            call.nonce = (b * per_block + k + 1) as u64;
            calls.push((call.abi_encode().into(), total, 8_000_000));
        }
        queue
            .txs
            .extend(sign_calls(&attestor, chain_id, &mut attestor_nonce, calls)?);
    }
    let info = crate::bench::l1_info();
    let mut parent = genesis.header;
    let (mut gas, mut batches) = (0u64, 0usize);
    let mut elapsed = std::time::Duration::ZERO;
    let mut setup = Some(crate::bench::Prepared(setup, 0));
    for i in 0..=args.blocks {
        let inputs = SequencerInputs {
            l1_info: &L1BlockInfo {
                sequence_number: i as u64,
                ..info
            },
            deposits: &[],
            timestamp: parent.timestamp + 1,
            prev_randao: B256::ZERO,
            parent_beacon_block_root: B256::ZERO,
            gas_limit: parent.gas_limit,
            eip1559_params: B64::ZERO,
            no_tx_pool: false,
        };
        let attrs = sequencer_attributes(&chain, &parent, &inputs)?;
        let start = Instant::now();
        let block = match setup.take() {
            Some(mut txs) => ex.build(&parent, &attrs, &mut txs)?,
            None => {
                queue.block_full = false;
                let block = ex.build(&parent, &attrs, &mut queue)?;
                elapsed += start.elapsed();
                gas += block.header.gas_used;
                batches += block.transactions.len() - 1;
                block
            }
        };
        for r in &block.receipts {
            if !r.is_success() {
                return Err(eyre!(
                    "a transaction of block {} failed",
                    block.header.number
                ));
            }
        }
        parent = block.header;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let secs = elapsed.as_secs_f64();
    let inferences = batches * THROUGHPUT_BATCH;
    println!(
        "{}",
        json!({
            "bench": "attr-sequencer", "index": !args.without_index, "blocks": args.blocks, "batches": batches,
            "inferences": inferences, "invalid": queue.invalid, "gas": gas, "seconds": secs,
            "inferences_per_s": inferences as f64 / secs, "mgas_per_s": gas as f64 / secs / 1e6,
        })
    );
    Ok(())
}

/// Runs every measurement.
pub fn attribution(args: AttributionArgs) -> eyre::Result<()> {
    evm_keccak(&args)?;
    fee_split(&args)?;
    multiproof(&args)?;
    span_match(&args)?;
    record_batch(&args)?;
    sequencer_throughput(&args)?;
    Ok(())
}
