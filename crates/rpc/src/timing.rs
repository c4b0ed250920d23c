//! Per-method request counts, error counts and latency histograms, recorded by a jsonrpsee RPC
//! middleware and rendered in Prometheus text format by the node's metrics endpoint.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    future::Future,
    sync::{Arc, Mutex},
    time::Instant,
};

use jsonrpsee::{
    MethodResponse,
    core::middleware::{Batch, Notification, RpcServiceT},
    types::{Request, error::METHOD_NOT_FOUND_CODE},
};

/// Upper bounds (seconds) of the latency histogram's buckets; `+Inf` follows.
const BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The label calls to methods the server does not serve are counted under: the method name
/// comes from the client, so it is not used as a label unless it names a served method.
const UNKNOWN_METHOD: &str = "unknown";

/// What is recorded for one method.
#[derive(Debug, Default, Clone, PartialEq)]
struct MethodStats {
    /// Calls per bucket: `buckets[i]` counts durations in `(BUCKETS[i-1], BUCKETS[i]]`; the
    /// rendering makes them cumulative. Longer calls are only in `count`.
    buckets: [u64; BUCKETS.len()],
    /// All calls.
    count: u64,
    /// Calls answered with a JSON-RPC error.
    errors: u64,
    /// Total seconds.
    sum: f64,
}

impl MethodStats {
    fn record(&mut self, seconds: f64, error: bool) {
        if let Some(i) = BUCKETS.iter().position(|le| seconds <= *le) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.errors += u64::from(error);
        self.sum += seconds;
    }

    /// `(le, cumulative count)` for every bucket, `+Inf` last.
    fn cumulative(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        let mut running = 0;
        BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(move |(le, n)| {
                running += n;
                (le.to_string(), running)
            })
            .chain(std::iter::once(("+Inf".to_string(), self.count)))
    }
}

/// Request metrics per JSON-RPC method.
#[derive(Debug, Default)]
pub struct RpcMetrics {
    by_method: Mutex<BTreeMap<String, MethodStats>>,
}

/// A Prometheus label value: backslash, double quote and newline escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl RpcMetrics {
    /// Records one call of `method` that took `seconds`, and whether it answered with an error.
    fn record(&self, method: &str, seconds: f64, error: bool) {
        let mut m = self.by_method.lock().unwrap_or_else(|e| e.into_inner());
        match m.get_mut(method) {
            Some(stats) => stats.record(seconds, error),
            None => m
                .entry(method.to_string())
                .or_default()
                .record(seconds, error),
        }
    }

    /// `opal_rpc_requests_total`, `opal_rpc_errors_total` and the
    /// `opal_rpc_request_duration_seconds` histogram, by method.
    pub fn render(&self) -> String {
        let m = self.by_method.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        let header = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        header(
            &mut out,
            "opal_rpc_requests_total",
            "counter",
            "JSON-RPC requests by method.",
        );
        for (method, s) in m.iter() {
            let method = label(method);
            let _ = writeln!(
                out,
                "opal_rpc_requests_total{{method=\"{method}\"}} {}",
                s.count
            );
        }
        header(
            &mut out,
            "opal_rpc_errors_total",
            "counter",
            "JSON-RPC requests answered with an error, by method.",
        );
        for (method, s) in m.iter() {
            let method = label(method);
            let _ = writeln!(
                out,
                "opal_rpc_errors_total{{method=\"{method}\"}} {}",
                s.errors
            );
        }
        let name = "opal_rpc_request_duration_seconds";
        header(
            &mut out,
            name,
            "histogram",
            "Time spent serving JSON-RPC requests, by method.",
        );
        for (method, s) in m.iter() {
            let method = label(method);
            for (le, n) in s.cumulative() {
                let _ = writeln!(out, "{name}_bucket{{method=\"{method}\",le=\"{le}\"}} {n}");
            }
            let _ = writeln!(out, "{name}_sum{{method=\"{method}\"}} {}", s.sum);
            let _ = writeln!(out, "{name}_count{{method=\"{method}\"}} {}", s.count);
        }
        out
    }
}

/// The middleware: times each call and records it under its method name, with whether the
/// response is a JSON-RPC error.
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
    S: RpcServiceT<MethodResponse = MethodResponse> + Clone + Send + Sync + 'static,
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
            let seconds = started.elapsed().as_secs_f64();
            let served = match response.as_error_code() {
                Some(METHOD_NOT_FOUND_CODE) => UNKNOWN_METHOD,
                _ => &method,
            };
            metrics.record(served, seconds, response.is_error());
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A parsed sample: name, labels (unescaped), value.
    type Sample = (String, Vec<(String, String)>, f64);

    /// One sample line: `name{k="v",...} value`, label values unescaped.
    fn parse_sample(line: &str) -> Sample {
        let open = line
            .find('{')
            .unwrap_or_else(|| panic!("no labels: {line}"));
        let name = &line[..open];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "bad metric name: {line}"
        );
        let mut labels = Vec::new();
        let mut rest = &line[open + 1..];
        loop {
            let eq = rest
                .find("=\"")
                .unwrap_or_else(|| panic!("bad label: {line}"));
            let key = &rest[..eq];
            assert!(
                !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "bad label name: {line}"
            );
            let mut value = String::new();
            let mut chars = rest[eq + 2..].char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c @ ('\\' | '"'))) => value.push(c),
                        other => panic!("bad escape {other:?}: {line}"),
                    },
                    Some((i, '"')) => break eq + 2 + i + 1,
                    Some((_, '\n')) | None => panic!("unterminated label value: {line}"),
                    Some((_, c)) => value.push(c),
                }
            };
            labels.push((key.to_string(), value));
            rest = &rest[end..];
            if let Some(r) = rest.strip_prefix(',') {
                rest = r;
            } else {
                rest = rest
                    .strip_prefix("} ")
                    .unwrap_or_else(|| panic!("labels not closed: {line}"));
                break;
            }
        }
        let value = rest
            .parse::<f64>()
            .unwrap_or_else(|e| panic!("bad value ({e}): {line}"));
        (name.to_string(), labels, value)
    }

    fn samples(text: &str) -> Vec<Sample> {
        text.lines()
            .filter(|l| {
                if let Some(c) = l.strip_prefix("# ") {
                    let mut words = c.split(' ');
                    assert!(matches!(words.next(), Some("HELP" | "TYPE")), "{l}");
                    assert!(words.next().is_some_and(|n| n.starts_with("opal_rpc_")));
                    false
                } else {
                    true
                }
            })
            .map(parse_sample)
            .collect()
    }

    fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<f64> = samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && l.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, _, v)| *v)
            .collect();
        assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
        found[0]
    }

    #[test]
    fn buckets_are_cumulative_and_render_parses() {
        let m = RpcMetrics::default();
        // eth_call: one per region of the bucket list, one exactly on a bound, one past 5s.
        for (secs, error) in [
            (0.0001, false),
            (0.0005, false),
            (0.003, true),
            (0.003, false),
            (0.2, false),
            (1.0, true),
            (7.5, false),
        ] {
            m.record("eth_call", secs, error);
        }
        m.record("eth_chainId", 0.00002, false);
        m.record("weird\"name\\\n", 0.01, false);

        let text = m.render();
        let s = samples(&text);
        let bucket = |method: &str, le: &str| {
            value(
                &s,
                "opal_rpc_request_duration_seconds_bucket",
                &[("method", method), ("le", le)],
            )
        };
        let expected = [
            ("0.0005", 2.0),
            ("0.001", 2.0),
            ("0.0025", 2.0),
            ("0.005", 4.0),
            ("0.01", 4.0),
            ("0.025", 4.0),
            ("0.05", 4.0),
            ("0.1", 4.0),
            ("0.25", 5.0),
            ("0.5", 5.0),
            ("1", 6.0),
            ("2.5", 6.0),
            ("5", 6.0),
            ("+Inf", 7.0),
        ];
        for (le, n) in expected {
            assert_eq!(bucket("eth_call", le), n, "le={le}\n{text}");
        }
        // Every method has all the buckets, in order and never decreasing.
        for method in ["eth_call", "eth_chainId", "weird\"name\\\n"] {
            let les: Vec<(String, f64)> = s
                .iter()
                .filter(|(n, l, _)| {
                    n == "opal_rpc_request_duration_seconds_bucket"
                        && l.iter().any(|(k, v)| k == "method" && v == method)
                })
                .map(|(_, l, v)| (l[1].1.clone(), *v))
                .collect();
            let names: Vec<&str> = les.iter().map(|(le, _)| le.as_str()).collect();
            let want: Vec<&str> = expected.iter().map(|(le, _)| *le).collect();
            assert_eq!(names, want, "{method}");
            assert!(
                les.windows(2).all(|w| w[0].1 <= w[1].1),
                "{method}: {les:?}"
            );
        }
        assert_eq!(bucket("eth_chainId", "0.0005"), 1.0);
        assert_eq!(bucket("weird\"name\\\n", "0.005"), 0.0);
        assert_eq!(bucket("weird\"name\\\n", "0.01"), 1.0);

        let count = |name: &str, method: &str| value(&s, name, &[("method", method)]);
        assert_eq!(
            count("opal_rpc_request_duration_seconds_count", "eth_call"),
            7.0
        );
        assert_eq!(count("opal_rpc_requests_total", "eth_call"), 7.0);
        assert_eq!(count("opal_rpc_errors_total", "eth_call"), 2.0);
        assert_eq!(count("opal_rpc_errors_total", "eth_chainId"), 0.0);
        let sum = count("opal_rpc_request_duration_seconds_sum", "eth_call");
        assert!((sum - 8.7066).abs() < 1e-9, "{sum}");
        assert!(text.contains("# TYPE opal_rpc_request_duration_seconds histogram\n"));
        assert!(text.contains("# TYPE opal_rpc_errors_total counter\n"));
    }

    #[test]
    fn nothing_recorded_renders_only_headers() {
        let text = RpcMetrics::default().render();
        assert!(samples(&text).is_empty(), "{text}");
    }
}
