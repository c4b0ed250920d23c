//! The nodes `opal bench rpc` measures, as child processes: `opal node --dev` (this very binary)
//! on the devnet or on a copy of it with another gas limit, and anvil with the same block time,
//! chain id and gas limit. Each is killed, and its temporary datadir removed, on drop.

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use eyre::{WrapErr, bail, eyre};
use jsonrpsee::{core::client::ClientT, rpc_params};
use serde_json::Value;

use crate::bench_rpc::{CHAIN_ID, http_client};

/// The devnet's genesis.json and rollup.json with block gas limit `gas_limit`: the genesis
/// header's and the system config's limit, and the genesis hash that follows from them.
fn devnet_with_gas_limit(gas_limit: u64) -> eyre::Result<(String, String)> {
    use crate::node_cmd::{DEV_GENESIS, DEV_ROLLUP};
    let mut genesis: Value = serde_json::from_str(DEV_GENESIS)?;
    genesis["gasLimit"] = Value::String(format!("{gas_limit:#x}"));
    let genesis = serde_json::to_string_pretty(&genesis)?;
    let spec = opal_primitives::ChainSpec::from_json(&genesis, Path::new("<bench genesis.json>"))?;
    let hash = opal_primitives::genesis_header::compute_genesis_header(&spec).hash_slow();
    let mut rollup: Value = serde_json::from_str(DEV_ROLLUP)?;
    rollup["genesis"]["l2"]["hash"] = Value::String(hash.to_string());
    rollup["genesis"]["system_config"]["gasLimit"] = Value::from(gas_limit);
    Ok((genesis, serde_json::to_string_pretty(&rollup)?))
}

/// A node process this command started; killed (and its temporary datadir removed) on drop.
pub struct Spawned {
    child: Child,
    /// The node's JSON-RPC URL.
    pub url: String,
    cleanup: Option<PathBuf>,
}

impl Spawned {
    /// `opal node --dev` (this very binary) on a temporary datadir and a free port, with the
    /// devnet genesis or, for another gas limit, a copy of it written into the datadir.
    pub fn opal(
        block_time: Duration,
        gas_limit: u64,
        datadir: Option<&Path>,
    ) -> eyre::Result<Self> {
        let (dir, cleanup) = match datadir {
            // The transfers are pre-signed from nonce 0: the chain must be new.
            Some(d) if d.read_dir().is_ok_and(|mut e| e.next().is_some()) => {
                bail!(
                    "--datadir {} is not empty; give a new directory",
                    d.display()
                )
            }
            Some(d) => (d.to_path_buf(), None),
            None => {
                let d = std::env::temp_dir().join(format!("opal-bench-rpc-{}", std::process::id()));
                (d.clone(), Some(d))
            }
        };
        std::fs::create_dir_all(&dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
        let exe = std::env::current_exe()?;
        let mut command = Command::new(&exe);
        command
            .args(["node", "--dev", "--http.port", "0", "--block-time"])
            .arg(format!("{}ms", block_time.as_millis()));
        if gas_limit != crate::genesis_gen::GAS_LIMIT {
            let (genesis, rollup) = devnet_with_gas_limit(gas_limit)?;
            let config = dir.join("bench-config");
            std::fs::create_dir_all(&config)?;
            std::fs::write(config.join("genesis.json"), genesis)?;
            std::fs::write(config.join("rollup.json"), rollup)?;
            command
                .arg("--genesis")
                .arg(config.join("genesis.json"))
                .arg("--rollup.config")
                .arg(config.join("rollup.json"));
        }
        let mut child = command
            .arg("--datadir")
            .arg(dir.join("db"))
            // OPAL_BENCH_NODE_LOG=info shows each block's phase timings.
            .env(
                "RUST_LOG",
                std::env::var("OPAL_BENCH_NODE_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .wrap_err_with(|| format!("starting {}", exe.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(addr) = line.strip_prefix("Listening on ") {
                        break addr.trim().to_string();
                    }
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    bail!("opal node exited before listening");
                }
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self {
            child,
            url: format!("http://{addr}"),
            cleanup,
        })
    }

    /// anvil on a free port with the same block time, chain id and dev accounts.
    pub async fn anvil(bin: &Path, block_time: Duration, gas_limit: u64) -> eyre::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(bin)
            .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
            .args(["--block-time", &format!("{}", block_time.as_secs_f64())])
            .args(["--chain-id", &CHAIN_ID.to_string()])
            .arg("--gas-limit")
            .arg(gas_limit.to_string())
            .arg("--silent")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .wrap_err_with(|| format!("starting {}", bin.display()))?;
        let spawned = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            cleanup: None,
        };
        let client = http_client(&spawned.url, 4)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if client
                .request::<String, _>("eth_chainId", rpc_params![])
                .await
                .is_ok()
            {
                return Ok(spawned);
            }
            if Instant::now() > deadline {
                bail!("anvil did not answer on {} within 30 s", spawned.url);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// CPU seconds (user and system) the process has used so far, from `/proc/PID/stat`.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // SAFETY: sysconf has no preconditions.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        (per_second > 0).then(|| ticks as f64 / per_second as f64)
    }
}

/// Steal and total CPU ticks of the whole machine so far, from the `cpu` line of `/proc/stat`:
/// on a virtual machine, steal is time the hypervisor gave to other guests.
pub fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_cpu_line(stat.lines().next()?)
}

/// `(steal, total)` of a `/proc/stat` `cpu` line: `cpu user nice system idle iowait irq softirq
/// steal [guest guest_nice]` (guest time is already counted in user and nice).
fn parse_cpu_line(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let ticks: Vec<u64> = fields
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let steal = *ticks.get(7)?;
    Some((steal, ticks.iter().sum()))
}

/// Percentage of the machine's CPU time stolen between two [`machine_ticks`] readings.
pub fn steal_percent(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> f64 {
    match (before, after) {
        (Some((s0, t0)), Some((s1, t1))) if t1 > t0 => {
            100.0 * s1.saturating_sub(s0) as f64 / (t1 - t0) as f64
        }
        _ => f64::NAN,
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.cleanup {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn find_anvil(given: Option<&Path>) -> eyre::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    const REL: &str = "tests/e2e/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";
    let mut candidates = vec![PathBuf::from(REL)];
    // target/{debug,release}/opal → the checkout.
    if let Some(root) = std::env::current_exe()?.ancestors().nth(3) {
        candidates.push(root.join(REL));
    }
    candidates.into_iter().find(|p| p.exists()).ok_or_else(|| {
        eyre!("anvil not found: run `npm ci` in tests/e2e (installs {REL}) or set ANVIL_BIN")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opal_primitives::{ChainSpec, RollupConfig, genesis_header::compute_genesis_header};

    /// The node's own checks accept the rewritten devnet: genesis hash and system config agree.
    #[test]
    fn devnet_with_another_gas_limit_is_consistent() {
        let (genesis, rollup) = devnet_with_gas_limit(60_000_000).unwrap();
        let path = Path::new("bench");
        let spec = ChainSpec::from_json(&genesis, path).unwrap();
        let rollup = RollupConfig::from_json(&rollup, path).unwrap();
        let hash = compute_genesis_header(&spec).hash_slow();
        rollup.check_against(&spec, hash, path).unwrap();
        assert_eq!(spec.genesis.gas_limit, 60_000_000);
        assert_eq!(rollup.genesis.system_config.gas_limit, 60_000_000);
        // A different chain from the devnet's: the genesis hash moved with the limit.
        let devnet = RollupConfig::from_json(crate::node_cmd::DEV_ROLLUP, path).unwrap();
        assert_ne!(rollup.genesis.l2.hash, devnet.genesis.l2.hash);
    }

    #[test]
    fn steal_comes_from_the_eighth_field_of_the_cpu_line() {
        // A `/proc/stat` line of a KVM guest (user nice system idle iowait irq softirq steal
        // guest guest_nice).
        let line = "cpu  4705 150 1120 16250 520 0 37 300 0 0";
        assert_eq!(parse_cpu_line(line), Some((300, 23082)));
        assert_eq!(parse_cpu_line("cpu0 1 2 3 4 5 6 7 8 0 0"), None);
        assert_eq!(parse_cpu_line("cpu 1 2 x 4 5 6 7 8"), None);
        assert_eq!(parse_cpu_line("cpu 1 2 3"), None);
        let pct = steal_percent(Some((300, 23_082)), Some((400, 24_082)));
        assert!((pct - 10.0).abs() < 1e-9, "{pct}");
        assert!(steal_percent(None, Some((1, 2))).is_nan());
        assert!(steal_percent(Some((1, 5)), Some((1, 5))).is_nan());
        // This machine's own reading parses wherever /proc exists.
        if std::path::Path::new("/proc/stat").exists() {
            let (steal, total) = machine_ticks().expect("/proc/stat parses");
            assert!(steal <= total && total > 0);
        }
    }
}
