//! Prometheus metrics and a health endpoint, served over plain HTTP on `--metrics ADDR`:
//! `GET /metrics` (text exposition format) and `GET /health` (200 with the head, JSON).

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use tracing::{debug, warn};

use opal_evm::BlockTimings;

use crate::PoolService;

/// Counters the node updates as it runs.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Blocks sealed by the sequencer.
    pub blocks: AtomicU64,
    /// Transactions included (deposits included).
    pub transactions: AtomicU64,
    /// Gas used by sealed blocks.
    pub gas: AtomicU64,
    /// Latest block number.
    pub head: AtomicU64,
    /// Time spent building and committing blocks, microseconds.
    pub build_micros: AtomicU64,
    /// Of which executing transactions.
    pub execution_micros: AtomicU64,
    /// Of which computing state roots.
    pub state_root_micros: AtomicU64,
    /// Of which the atomic commit (state roots included).
    pub commit_micros: AtomicU64,
}

impl Metrics {
    /// Records a sealed block.
    pub fn block(&self, number: u64, txs: usize, gas: u64, micros: u64, t: &BlockTimings) {
        self.execution_micros
            .fetch_add(t.execution.as_micros() as u64, Ordering::Relaxed);
        self.state_root_micros
            .fetch_add(t.state_root.as_micros() as u64, Ordering::Relaxed);
        self.commit_micros
            .fetch_add(t.commit.as_micros() as u64, Ordering::Relaxed);
        self.blocks.fetch_add(1, Ordering::Relaxed);
        self.transactions.fetch_add(txs as u64, Ordering::Relaxed);
        self.gas.fetch_add(gas, Ordering::Relaxed);
        self.head.store(number, Ordering::Relaxed);
        self.build_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self, pool: &PoolService) -> String {
        let (pending, queued) = pool.lock().status();
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        };
        metric(
            "opal_blocks_sealed_total",
            "counter",
            "Blocks sealed by the sequencer.",
            self.blocks.load(Ordering::Relaxed),
        );
        metric(
            "opal_transactions_total",
            "counter",
            "Transactions included in sealed blocks.",
            self.transactions.load(Ordering::Relaxed),
        );
        metric(
            "opal_gas_used_total",
            "counter",
            "Gas used by sealed blocks.",
            self.gas.load(Ordering::Relaxed),
        );
        metric(
            "opal_head_block",
            "gauge",
            "Number of the latest block.",
            self.head.load(Ordering::Relaxed),
        );
        metric(
            "opal_block_build_microseconds_total",
            "counter",
            "Microseconds spent building and committing blocks.",
            self.build_micros.load(Ordering::Relaxed),
        );
        metric(
            "opal_block_execution_microseconds_total",
            "counter",
            "Microseconds spent executing block transactions.",
            self.execution_micros.load(Ordering::Relaxed),
        );
        metric(
            "opal_block_state_root_microseconds_total",
            "counter",
            "Microseconds spent computing state roots.",
            self.state_root_micros.load(Ordering::Relaxed),
        );
        metric(
            "opal_block_commit_microseconds_total",
            "counter",
            "Microseconds spent in the atomic block commit (state roots included).",
            self.commit_micros.load(Ordering::Relaxed),
        );
        metric(
            "opal_txpool_pending",
            "gauge",
            "Executable transactions in the pool.",
            pending as u64,
        );
        metric(
            "opal_txpool_queued",
            "gauge",
            "Transactions waiting on a nonce gap.",
            queued as u64,
        );
        out
    }
}

/// Serves `/metrics` and `/health` until the task is dropped.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    pool: Arc<PoolService>,
    rpc: Arc<opal_rpc::RpcMetrics>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    warn!(error = %e, "metrics accept failed");
                    continue;
                }
            };
            let metrics = metrics.clone();
            let pool = pool.clone();
            let rpc = rpc.clone();
            tokio::spawn(async move {
                // Read the request head (bounded), then answer and close.
                let mut buf = Vec::with_capacity(1024);
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let request = String::from_utf8_lossy(&buf);
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let (status, kind, body) = match path {
                    "/metrics" => (
                        "200 OK",
                        "text/plain; version=0.0.4",
                        metrics.render(&pool) + &rpc.render(),
                    ),
                    "/health" => (
                        "200 OK",
                        "application/json",
                        format!(
                            "{{\"status\":\"ok\",\"head\":{}}}",
                            metrics.head.load(Ordering::Relaxed)
                        ),
                    ),
                    _ => ("404 Not Found", "text/plain", "not found\n".to_string()),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                if let Err(e) = stream.write_all(response.as_bytes()).await {
                    debug!(error = %e, "metrics write failed");
                }
            });
        }
    });
    Ok(local)
}
