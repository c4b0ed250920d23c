//! The `opal` command line: one binary for every role of the node.

/// jemalloc, as reth uses: the node allocates many small, short-lived buffers on several threads
/// (requests, transactions, trie nodes), where it spends less time than the system allocator.
#[cfg(unix)]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod bench;
mod bench_attr;
mod bench_load;
mod bench_nodes;
mod bench_rpc;
mod genesis_gen;
mod node_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use eyre::{WrapErr, bail};

/// Opal: an OP Stack-compatible L2 node for Proof of Attribution.
#[derive(Debug, Parser)]
#[command(name = "opal", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a genesis into a datadir (idempotent) and print the genesis block hash.
    Init(InitArgs),
    /// Run the node (today: a single sequencer with JSON-RPC; `--dev` for a local chain).
    Node(node_cmd::NodeArgs),
    /// Developer tools.
    #[command(subcommand)]
    Tools(ToolsCommand),
    /// Benchmarks (build with --release).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Block execution with state root and commit, and state-root cost as the state grows.
    Execute(bench::ExecuteArgs),
    /// Pre-signed ETH transfers over JSON-RPC: included tx/s and latency, optionally vs anvil.
    Rpc(bench_rpc::RpcArgs),
    /// Attribution precompiles against their Solidity references (gas and time per gas).
    Attribution(bench_attr::AttributionArgs),
}

#[derive(Debug, clap::Args)]
struct InitArgs {
    /// op-geth-format genesis.json.
    #[arg(long, env = "OPAL_GENESIS")]
    genesis: PathBuf,
    /// op-node-format rollup.json; checked against the genesis when given.
    #[arg(long = "rollup.config", env = "OPAL_ROLLUP_CONFIG")]
    rollup_config: Option<PathBuf>,
    /// Data directory (created if absent).
    #[arg(long, env = "OPAL_DATADIR")]
    datadir: PathBuf,
}

#[derive(Debug, Subcommand)]
enum ToolsCommand {
    /// Regenerate genesis/genesis.json and genesis/rollup.json from the compiled contracts.
    Genesis {
        /// Directory of compiled contract artifacts.
        #[arg(long, default_value = "contracts/artifacts")]
        artifacts: PathBuf,
        /// Output directory.
        #[arg(long, default_value = "genesis")]
        out: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Init(args) => init(args),
        Command::Node(args) => node_cmd::run(args),
        Command::Bench(BenchCommand::Execute(args)) => bench::execute(args),
        Command::Bench(BenchCommand::Rpc(args)) => bench_rpc::rpc(args),
        Command::Bench(BenchCommand::Attribution(args)) => bench_attr::attribution(args),
        Command::Tools(ToolsCommand::Genesis { artifacts, out }) => {
            let files = genesis_gen::generate(&artifacts)?;
            std::fs::create_dir_all(&out)?;
            for (name, text) in files {
                let path = out.join(name);
                std::fs::write(&path, text)
                    .wrap_err_with(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
            }
            Ok(())
        }
    }
}

fn init(args: InitArgs) -> eyre::Result<()> {
    use opal_primitives::{ChainSpec, RollupConfig, genesis_header::compute_genesis_header};
    use std::sync::Arc;
    let spec = ChainSpec::from_file(&args.genesis)?;
    let hash = compute_genesis_header(&spec).hash_slow();
    if let Some(path) = &args.rollup_config {
        let rollup = RollupConfig::from_file(path)?;
        rollup.check_against(&spec, hash, path)?;
    }
    let chain = Arc::new(opal_evm::OpalChain::new(spec)?);
    let store = Arc::new(opal_storage::Store::open(&args.datadir)?);
    let block = opal_evm::BlockExecutor::new(chain, store).init_genesis()?;
    if block.hash != hash {
        bail!(
            "internal error: stored genesis hash {} differs from computed {hash}",
            block.hash
        );
    }
    println!("{hash}");
    Ok(())
}
