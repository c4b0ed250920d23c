//! Per-method request counts and latency, recorded by a jsonrpsee RPC middleware and rendered in
//! Prometheus text format by the node's metrics endpoint.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex},
    time::Instant,
};

use jsonrpsee::{
    core::middleware::{Batch, Notification, RpcServiceT},
    types::Request,
};

/// Counters per JSON-RPC method.
#[derive(Debug, Default)]
pub struct RpcMetrics {
    by_method: Mutex<BTreeMap<String, (u64, f64)>>,
}

impl RpcMetrics {
    fn record(&self, method: &str, seconds: f64) {
        let mut m = self.by_method.lock().unwrap_or_else(|e| e.into_inner());
        let entry = m.entry(method.to_string()).or_default();
        entry.0 += 1;
        entry.1 += seconds;
    }

    /// `opal_rpc_requests_total` and `opal_rpc_request_seconds_sum` by method.
    pub fn render(&self) -> String {
        let m = self.by_method.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::from(
            "# HELP opal_rpc_requests_total JSON-RPC requests by method.\n# TYPE opal_rpc_requests_total counter\n",
        );
        for (method, (count, _)) in m.iter() {
            out.push_str(&format!(
                "opal_rpc_requests_total{{method=\"{method}\"}} {count}\n"
            ));
        }
        out.push_str("# HELP opal_rpc_request_seconds_sum Time spent serving JSON-RPC requests by method.\n# TYPE opal_rpc_request_seconds_sum counter\n");
        for (method, (_, secs)) in m.iter() {
            out.push_str(&format!(
                "opal_rpc_request_seconds_sum{{method=\"{method}\"}} {secs}\n"
            ));
        }
        out
    }
}

/// The middleware: times each call and records it under its method name.
#[derive(Clone)]
pub struct Timed<S> {
    inner: S,
    metrics: Arc<RpcMetrics>,
}

impl<S> Timed<S> {
    /// Wraps a service.
    pub fn new(inner: S, metrics: Arc<RpcMetrics>) -> Self {
        Self { inner, metrics }
    }
}

impl<S> RpcServiceT for Timed<S>
where
    S: RpcServiceT + Clone + Send + Sync + 'static,
{
    type MethodResponse = S::MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = S::BatchResponse;

    fn call<'a>(
        &self,
        request: Request<'a>,
    ) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        let method = request.method_name().to_string();
        let metrics = self.metrics.clone();
        let fut = self.inner.call(request);
        async move {
            let started = Instant::now();
            let response = fut.await;
            metrics.record(&method, started.elapsed().as_secs_f64());
            response
        }
    }

    fn batch<'a>(
        &self,
        requests: Batch<'a>,
    ) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        self.inner.batch(requests)
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        self.inner.notification(n)
    }
}
