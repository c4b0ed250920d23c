//! `opal bench execute`: block execution with state root and commit over large states, and the
//! cost of the state root for 1,000 changed accounts as the state grows. Release builds only give
//! meaningful figures. Each measurement ends with one JSON line on stdout.

use std::{
    collections::VecDeque,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    consensus::{
        SignableTransaction, TxEip1559,
        transaction::{Recovered, SignerRecoverable},
    },
    eips::eip2718::{Encodable2718, WithEncoded},
    genesis::GenesisAccount,
    primitives::{Address, B64, B256, Bytes, TxKind, U256, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolCall,
};
use eyre::{WrapErr, eyre};
use op_alloy::consensus::OpTxEnvelope;
use opal_evm::{
    BlockExecutor, OpalChain, SequencerInputs, SkipReason, TxSource, sequencer_attributes,
};
use opal_primitives::ChainSpec;
use opal_protocol::L1BlockInfo;
use opal_storage::{AccountState, BlockRecord, StateChanges, Store};
use serde_json::json;

alloy::sol! {
    function transfer(address to, uint256 amount) returns (bool);
}

/// Arguments of `opal bench execute`.
#[derive(Debug, clap::Args)]
pub struct ExecuteArgs {
    /// State sizes (funded accounts) for the block replays.
    #[arg(long, value_delimiter = ',', default_values_t = vec![100_000usize, 1_000_000])]
    pub accounts: Vec<usize>,
    /// Blocks replayed per workload and state size.
    #[arg(long, default_value_t = 10)]
    pub blocks: usize,
    /// Block gas limit of the replayed blocks.
    #[arg(long, default_value_t = 30_000_000)]
    pub gas_limit: u64,
    /// State sizes for the state-root measurement (1,000 changed accounts each).
    #[arg(long, value_delimiter = ',', default_values_t = vec![10_000usize, 100_000, 1_000_000])]
    pub root_accounts: Vec<usize>,
    /// Genesis to extend with the benchmark accounts.
    #[arg(long, default_value = "genesis/genesis.json")]
    pub genesis: PathBuf,
    /// Compiled contracts (for the ERC-20).
    #[arg(long, default_value = "contracts/artifacts")]
    pub artifacts: PathBuf,
    /// Where to put the databases (a temporary directory by default).
    #[arg(long)]
    pub datadir: Option<PathBuf>,
}

const SENDERS: usize = 1_000;
const TOKEN: Address = Address::new([0xe2; 20]);

fn sender_key(i: usize) -> B256 {
    keccak256(format!("opal-bench-sender-{i}"))
}

fn filler(i: usize) -> Address {
    Address::from_slice(&keccak256((i as u64).to_be_bytes())[12..])
}

/// Runs every measurement.
pub fn execute(args: ExecuteArgs) -> eyre::Result<()> {
    let tmp = tempfile_dir(args.datadir.as_deref())?;
    for &n in &args.accounts {
        for kind in ["eth", "erc20"] {
            let dir = tmp.join(format!("{kind}-{n}"));
            replay(&args, kind, n, &dir)?;
            std::fs::remove_dir_all(&dir).ok();
        }
    }
    let mut medians = vec![];
    for &n in &args.root_accounts {
        let dir = tmp.join(format!("root-{n}"));
        medians.push((n, state_root(n, &dir)?));
        std::fs::remove_dir_all(&dir).ok();
    }
    if let (Some(first), Some(last)) = (medians.first(), medians.last()) {
        println!(
            "{}",
            json!({"bench": "state-root-growth", "from_accounts": first.0, "to_accounts": last.0,
            "ratio": last.1.as_secs_f64() / first.1.as_secs_f64()})
        );
    }
    if args.datadir.is_none() {
        std::fs::remove_dir_all(&tmp).ok();
    }
    Ok(())
}

/// The L1 origin of the benchmark blocks: 1 gwei base fee, blob base fee 1, OP mainnet's
/// Ecotone fee scalars.
pub(crate) fn l1_info() -> L1BlockInfo {
    L1BlockInfo {
        base_fee: U256::from(1_000_000_000u64),
        blob_base_fee: U256::from(1),
        base_fee_scalar: 1368,
        blob_base_fee_scalar: 810_949,
        ..Default::default()
    }
}

pub(crate) fn tempfile_dir(given: Option<&Path>) -> eyre::Result<PathBuf> {
    let dir = match given {
        Some(d) => d.to_path_buf(),
        None => std::env::temp_dir().join(format!("opal-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// A pool of pre-signed, pre-recovered transactions (recovery happens at pool admission).
pub(crate) struct Prepared(
    pub(crate) VecDeque<WithEncoded<Recovered<OpTxEnvelope>>>,
    pub(crate) usize,
);

impl TxSource for Prepared {
    fn next_tx(&mut self) -> Option<WithEncoded<Recovered<OpTxEnvelope>>> {
        self.0.pop_front()
    }
    fn skip(&mut self, hash: B256, reason: SkipReason) {
        tracing::debug!(%hash, ?reason, "benchmark transaction skipped");
        self.1 += 1;
    }
}

fn replay(args: &ExecuteArgs, kind: &str, accounts: usize, dir: &Path) -> eyre::Result<()> {
    let mut spec = ChainSpec::from_file(&args.genesis)?;
    let chain_id = spec.chain_id;
    let signers: Vec<PrivateKeySigner> = (0..SENDERS)
        .map(|i| PrivateKeySigner::from_bytes(&sender_key(i)))
        .collect::<Result<_, _>>()?;
    let eth = U256::from(10u64).pow(U256::from(18));
    let alloc = &mut spec.genesis.alloc;
    for s in &signers {
        alloc.insert(
            s.address(),
            GenesisAccount::default().with_balance(U256::from(1_000_000u64) * eth),
        );
    }
    for i in 0..accounts.saturating_sub(SENDERS) {
        alloc.insert(
            filler(i),
            GenesisAccount::default().with_balance(U256::from(1)),
        );
    }
    let token_code = artifact(&args.artifacts, "TestERC20")?;
    let balances = signers
        .iter()
        .map(|s| {
            let slot = keccak256(
                [
                    B256::left_padding_from(s.address().as_slice()).as_slice(),
                    &[0u8; 32],
                ]
                .concat(),
            );
            (slot, B256::from(U256::from(10u64).pow(U256::from(24))))
        })
        .collect();
    alloc.insert(
        TOKEN,
        GenesisAccount::default()
            .with_code(Some(token_code))
            .with_storage(Some(balances))
            .with_nonce(Some(1)),
    );

    let setup = Instant::now();
    let chain = Arc::new(OpalChain::new(spec)?);
    let store = Arc::new(Store::open(dir)?);
    let ex = BlockExecutor::new(chain.clone(), store);
    let genesis = ex.init_genesis()?;
    let setup_s = setup.elapsed().as_secs_f64();

    // Pre-sign every block's transactions.
    let (per_tx_gas, count) = match kind {
        "eth" => (21_000u64, (args.gas_limit - 100_000) / 21_000),
        _ => (60_000u64, (args.gas_limit - 100_000) / 60_000),
    };
    let mut nonces = vec![0u64; SENDERS];
    let mut blocks = Vec::with_capacity(args.blocks);
    let mut k = 0usize;
    for _ in 0..args.blocks {
        let mut txs = VecDeque::with_capacity(count as usize);
        for _ in 0..count {
            let s = k % SENDERS;
            let to = filler((k * 7919) % accounts.max(1));
            k += 1;
            let (target, value, input) = match kind {
                "eth" => (to, U256::from(1), Bytes::new()),
                _ => (
                    TOKEN,
                    U256::ZERO,
                    Bytes::from(
                        transferCall {
                            to,
                            amount: U256::from(1),
                        }
                        .abi_encode(),
                    ),
                ),
            };
            let tx = TxEip1559 {
                chain_id,
                nonce: nonces[s],
                gas_limit: per_tx_gas,
                max_fee_per_gas: 10_000_000_000,
                max_priority_fee_per_gas: 1,
                to: TxKind::Call(target),
                value,
                access_list: Default::default(),
                input,
            };
            nonces[s] += 1;
            let sig = signers[s].sign_hash_sync(&tx.signature_hash())?;
            let env = OpTxEnvelope::Eip1559(tx.into_signed(sig));
            let bytes = Bytes::from(env.encoded_2718());
            txs.push_back(WithEncoded::new(
                bytes,
                env.try_into_recovered().map_err(|e| eyre!("{e}"))?,
            ));
        }
        blocks.push(txs);
    }

    let info = l1_info();
    let mut parent = genesis.header;
    let (mut gas, mut txs, mut skipped) = (0u64, 0usize, 0usize);
    let mut elapsed = Duration::ZERO;
    for (i, block_txs) in blocks.into_iter().enumerate() {
        let inputs = SequencerInputs {
            l1_info: &L1BlockInfo {
                sequence_number: i as u64,
                ..info
            },
            deposits: &[],
            timestamp: parent.timestamp + 2,
            prev_randao: B256::ZERO,
            parent_beacon_block_root: B256::ZERO,
            gas_limit: args.gas_limit,
            eip1559_params: B64::ZERO,
            no_tx_pool: false,
        };
        let attrs = sequencer_attributes(&chain, &parent, &inputs)?;
        let mut pool = Prepared(block_txs, 0);
        let start = Instant::now();
        let block = ex.build(&parent, &attrs, &mut pool)?;
        elapsed += start.elapsed();
        gas += block.header.gas_used;
        txs += block.transactions.len() - 1;
        skipped += pool.1 + pool.0.len();
        parent = block.header;
    }
    let secs = elapsed.as_secs_f64();
    println!(
        "{}",
        json!({
            "bench": format!("execute-{kind}"), "accounts": accounts, "blocks": args.blocks, "txs": txs,
            "skipped": skipped, "gas": gas, "seconds": secs, "setup_seconds": setup_s,
            "mgas_per_s": gas as f64 / secs / 1e6, "tx_per_s": txs as f64 / secs,
        })
    );
    Ok(())
}

fn artifact(dir: &Path, name: &str) -> eyre::Result<Bytes> {
    let path = dir.join(format!("{name}.json"));
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&path).wrap_err_with(|| format!("reading {}", path.display()))?,
    )?;
    v["deployedBytecode"]
        .as_str()
        .ok_or_else(|| eyre!("{}: no deployedBytecode", path.display()))?
        .parse()
        .map_err(|e| eyre!("{e}"))
}

/// Median state-root time (and whole-commit time) of blocks changing 1,000 accounts over `n`
/// accounts, next to a from-scratch root of the same state.
fn state_root(n: usize, dir: &Path) -> eyre::Result<Duration> {
    let store = Store::open(dir)?;
    let account = |i: usize, v: u64| {
        (
            filler(i),
            Some(AccountState {
                nonce: 0,
                balance: U256::from(v),
                code_hash: alloy::primitives::KECCAK256_EMPTY,
            }),
        )
    };
    let seed = StateChanges {
        accounts: (0..n).map(|i| account(i, 1)).collect(),
        ..Default::default()
    };
    let commit = |number: u64,
                  changes: &StateChanges,
                  parent: B256|
     -> eyre::Result<(B256, Duration, Duration)> {
        let start = Instant::now();
        let mut root_time = Duration::ZERO;
        let rec = store.commit_block(number, changes, |roots| {
            root_time = roots.root_time;
            let header = alloy::consensus::Header {
                number,
                parent_hash: parent,
                state_root: roots.state_root,
                ..Default::default()
            };
            Ok(BlockRecord::empty(header))
        })?;
        Ok((rec.hash, root_time, start.elapsed()))
    };
    let mut parent = commit(0, &seed, B256::ZERO)?.0;
    let (mut times, mut commits) = (vec![], vec![]);
    for round in 1..=7u64 {
        let changes = StateChanges {
            accounts: (0..1000)
                .map(|j| account((j * 104_729 + round as usize * 7_919) % n, round + 1))
                .collect(),
            ..Default::default()
        };
        let (hash, root, total) = commit(round, &changes, parent)?;
        parent = hash;
        times.push(root);
        commits.push(total);
    }
    times.sort();
    commits.sort();
    let median = times[times.len() / 2];
    let full = Instant::now();
    let full_root = store.check_state_root()?;
    let full_ms = full.elapsed().as_secs_f64() * 1e3;
    let head_root = store.latest()?.header(7)?.map(|h| h.state_root);
    if head_root != Some(full_root) {
        return Err(eyre!(
            "incremental root {head_root:?} differs from the full rebuild {full_root}"
        ));
    }
    println!(
        "{}",
        json!({"bench": "state-root", "accounts": n, "changed": 1000,
        "root_ms_median": median.as_secs_f64() * 1e3, "root_ms_min": times[0].as_secs_f64() * 1e3,
        "commit_ms_median": commits[commits.len() / 2].as_secs_f64() * 1e3,
        "full_rebuild_ms": full_ms})
    );
    Ok(median)
}
