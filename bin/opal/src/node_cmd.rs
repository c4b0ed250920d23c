//! `opal node`: runs the sequencer and JSON-RPC server; `--dev` starts a local chain from the
//! built-in devnet genesis and prints the prefunded accounts like anvil does.

use std::{net::IpAddr, path::PathBuf, time::Duration};

use eyre::{WrapErr, bail};
use opal_node::{Node, NodeConfig};
use opal_rpc::RpcConfig;

/// The built-in devnet genesis.json.
pub const DEV_GENESIS: &str = include_str!("../../../genesis/genesis.json");
/// The built-in devnet rollup.json.
pub const DEV_ROLLUP: &str = include_str!("../../../genesis/rollup.json");

/// `opal node` flags (op-reth / op-node names, each also an `OPAL_*` variable).
#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// Local development chain: built-in devnet genesis, a temporary datadir unless one is given.
    #[arg(long, env = "OPAL_DEV")]
    dev: bool,
    /// Data directory.
    #[arg(long, env = "OPAL_DATADIR")]
    datadir: Option<PathBuf>,
    /// genesis.json (defaults to the built-in devnet with --dev).
    #[arg(long, env = "OPAL_GENESIS")]
    genesis: Option<PathBuf>,
    /// rollup.json (defaults to the built-in devnet with --dev).
    #[arg(long = "rollup.config", env = "OPAL_ROLLUP_CONFIG")]
    rollup_config: Option<PathBuf>,
    /// HTTP/WebSocket JSON-RPC listen address.
    #[arg(
        long = "http.addr",
        env = "OPAL_HTTP_ADDR",
        default_value = "127.0.0.1"
    )]
    http_addr: IpAddr,
    /// HTTP/WebSocket JSON-RPC port (0 picks a free port).
    #[arg(long = "http.port", env = "OPAL_HTTP_PORT", default_value_t = 8545)]
    http_port: u16,
    /// Also serve JSON-RPC over WebSocket on its own port (`--ws.addr`:`--ws.port`); WebSocket is
    /// always available on the HTTP port too.
    #[arg(long = "ws", env = "OPAL_WS")]
    ws: bool,
    /// WebSocket listen address.
    #[arg(long = "ws.addr", env = "OPAL_WS_ADDR", default_value = "127.0.0.1")]
    ws_addr: IpAddr,
    /// WebSocket port.
    #[arg(long = "ws.port", env = "OPAL_WS_PORT", default_value_t = 8546)]
    ws_port: u16,
    /// Namespaces to serve, comma-separated (default: all of eth,net,web3,txpool,debug,admin,
    /// attribution).
    #[arg(long = "http.api", env = "OPAL_HTTP_API", value_delimiter = ',')]
    http_api: Option<Vec<String>>,
    /// Origins allowed by CORS, comma-separated (`*` for any).
    #[arg(
        long = "http.corsdomain",
        env = "OPAL_HTTP_CORSDOMAIN",
        value_delimiter = ','
    )]
    cors: Vec<String>,
    /// Block time: `2s`, `250ms`, down to `100ms`.
    #[arg(long = "block-time", env = "OPAL_BLOCK_TIME", default_value = "2s", value_parser = parse_block_time)]
    block_time: Duration,
    /// Serve Prometheus metrics (`/metrics`) and health (`/health`) on this address.
    #[arg(long = "metrics", env = "OPAL_METRICS")]
    metrics: Option<std::net::SocketAddr>,
    /// Most executable transactions in the pool.
    #[arg(
        long = "txpool.pending",
        env = "OPAL_TXPOOL_PENDING",
        default_value_t = 5_000
    )]
    pool_pending: usize,
    /// Most transactions waiting on a nonce gap.
    #[arg(
        long = "txpool.queued",
        env = "OPAL_TXPOOL_QUEUED",
        default_value_t = 1_024
    )]
    pool_queued: usize,
    /// Most transactions per sender.
    #[arg(
        long = "txpool.accountslots",
        env = "OPAL_TXPOOL_ACCOUNTSLOTS",
        default_value_t = 64
    )]
    pool_per_sender: usize,
    /// Minimum fee cap accepted, in wei (0: the current base fee only).
    #[arg(
        long = "txpool.pricelimit",
        env = "OPAL_TXPOOL_PRICELIMIT",
        default_value_t = 0
    )]
    pool_min_fee: u64,
    /// Fee bump a replacement must pay, in percent of both fee fields.
    #[arg(
        long = "txpool.pricebump",
        env = "OPAL_TXPOOL_PRICEBUMP",
        default_value_t = 10
    )]
    pool_price_bump: u64,
    /// How long a queued transaction may wait, e.g. `3h`, `30m`, `90s`.
    #[arg(long = "txpool.lifetime", env = "OPAL_TXPOOL_LIFETIME", default_value = "3h", value_parser = parse_lifetime)]
    pool_lifetime: Duration,
    /// Suggested priority fee in wei (eth_maxPriorityFeePerGas).
    #[arg(long = "gpo.tip", env = "OPAL_GPO_TIP", default_value_t = 1_000_000)]
    tip: u128,
}

/// Parses `2s`, `1500ms`, `0.5s`; at least 100 ms.
pub fn parse_block_time(s: &str) -> Result<Duration, String> {
    let d = if let Some(ms) = s.strip_suffix("ms") {
        Duration::from_millis(
            ms.trim()
                .parse::<u64>()
                .map_err(|e| format!("`{s}`: {e}"))?,
        )
    } else if let Some(secs) = s.strip_suffix('s') {
        Duration::from_secs_f64(
            secs.trim()
                .parse::<f64>()
                .map_err(|e| format!("`{s}`: {e}"))?,
        )
    } else {
        return Err(format!("`{s}`: give a unit, e.g. 2s or 250ms"));
    };
    if d < Duration::from_millis(100) {
        return Err(format!("`{s}`: the block time must be at least 100ms"));
    }
    Ok(d)
}

/// Parses `3h`, `30m`, `90s`.
pub fn parse_lifetime(s: &str) -> Result<Duration, String> {
    let Some((last, _)) = s.char_indices().last() else {
        return Err("empty lifetime".into());
    };
    let (num, unit) = s.split_at(last);
    let n: u64 = num.trim().parse().map_err(|e| format!("`{s}`: {e}"))?;
    match unit {
        "h" => Ok(Duration::from_secs(n * 3600)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "s" => Ok(Duration::from_secs(n)),
        _ => Err(format!("`{s}`: give a unit: h, m or s")),
    }
}

fn read(path: &PathBuf) -> eyre::Result<String> {
    std::fs::read_to_string(path).wrap_err_with(|| format!("cannot read {}", path.display()))
}

/// Runs the node until SIGINT or SIGTERM.
pub fn run(args: NodeArgs) -> eyre::Result<()> {
    let (genesis, rollup) = match (&args.genesis, &args.rollup_config, args.dev) {
        (Some(g), Some(r), _) => ((read(g)?, g.clone()), (read(r)?, r.clone())),
        (None, None, true) => (
            (
                DEV_GENESIS.to_string(),
                PathBuf::from("<built-in devnet genesis.json>"),
            ),
            (
                DEV_ROLLUP.to_string(),
                PathBuf::from("<built-in devnet rollup.json>"),
            ),
        ),
        _ => bail!("give both --genesis and --rollup.config, or --dev for the built-in devnet"),
    };
    let datadir = match (&args.datadir, args.dev) {
        (Some(d), _) => d.clone(),
        (None, true) => std::env::temp_dir().join(format!("opal-dev-{}", std::process::id())),
        (None, false) => bail!("--datadir is required (or --dev for a temporary one)"),
    };
    let config = NodeConfig {
        datadir,
        genesis,
        rollup,
        rpc: RpcConfig {
            addr: (args.http_addr, args.http_port).into(),
            ws_addr: args.ws.then(|| (args.ws_addr, args.ws_port).into()),
            apis: args.http_api,
            cors: args.cors,
            ..Default::default()
        },
        block_time: args.block_time,
        pool: opal_txpool::PoolConfig {
            max_pending: args.pool_pending,
            max_queued: args.pool_queued,
            max_per_sender: args.pool_per_sender,
            min_base_fee: args.pool_min_fee,
            price_bump_percent: args.pool_price_bump,
            queued_lifetime: args.pool_lifetime,
            ..Default::default()
        },
        suggested_tip: args.tip,
        metrics: args.metrics,
    };
    let node = Node::open(&config)?;
    if args.dev {
        print_dev_accounts()?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(lower_priority)
        .build()?;
    runtime.block_on(async move {
        let shutdown = async {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "no SIGTERM handler");
                        let _ = tokio::signal::ctrl_c().await;
                        return;
                    }
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            tracing::info!("shutdown requested");
        };
        node.run(&config, shutdown).await
    })?;
    Ok(())
}

/// Niceness of the async runtime's threads (RPC, subscriptions, metrics). Block production
/// runs on its own thread at the process's priority, so on a machine whose cores are all busy
/// serving RPC, sealing the next block still gets the CPU first.
const RUNTIME_NICENESS: libc::c_int = 5;

/// Lowers the calling thread's scheduling priority (Linux sets niceness per thread).
fn lower_priority() {
    // SAFETY: setpriority only reads its arguments; `who = 0` is the calling thread on Linux.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, RUNTIME_NICENESS) };
    if rc != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "cannot lower runtime thread priority");
    }
}

fn print_dev_accounts() -> eyre::Result<()> {
    let accounts = crate::genesis_gen::dev_accounts()?;
    println!("\nAvailable Accounts\n==================");
    for (i, (a, _)) in accounts.iter().enumerate() {
        println!("({i}) {a} ({} ETH)", crate::genesis_gen::DEV_BALANCE_ETH);
    }
    println!("\nPrivate Keys\n==================");
    for (i, (_, k)) in accounts.iter().enumerate() {
        println!("({i}) {k}");
    }
    println!("\nChain ID: {}\n", crate::genesis_gen::CHAIN_ID);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_times() {
        assert_eq!(parse_block_time("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_block_time("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_block_time("100ms"), Ok(Duration::from_millis(100)));
        assert!(parse_block_time("99ms").is_err());
        assert!(parse_block_time("2").is_err());
        assert!(parse_block_time("fast").is_err());
        assert_eq!(parse_lifetime("3h"), Ok(Duration::from_secs(10_800)));
        assert_eq!(parse_lifetime("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_lifetime("3").is_err() && parse_lifetime("xh").is_err());
        assert!(parse_lifetime("").is_err() && parse_lifetime("3ĥ").is_err());
    }
}
