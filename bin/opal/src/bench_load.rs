//! The load side of `opal bench rpc`: one keep-alive HTTP/1.1 connection per worker (hyper's
//! connection API), each `eth_sendRawTransaction` body built before the clock starts, and each
//! answer read only as far as "result or error". The node under test sees the same requests
//! any JSON-RPC client sends; the generator spends less of the shared CPU making them than a
//! general-purpose client does.

use std::{net::SocketAddr, time::Duration};

use eyre::{WrapErr, eyre};
use http_body_util::{BodyExt, Full};
use hyper::{
    Request, Uri,
    body::Bytes,
    client::conn::http1::{self, SendRequest},
    header::{CONTENT_TYPE, HOST},
};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpStream;

/// How long one request may take before the worker gives up on the connection.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The JSON-RPC request body for sending `raw` (a `0x`-prefixed hex transaction) as request `id`.
pub fn send_raw_body(id: usize, raw: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"eth_sendRawTransaction","params":["{raw}"]}}"#
    ))
}

/// What a JSON-RPC call answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// A `result` member.
    Result,
    /// An `error` member, with its message.
    Error(String),
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    error: Option<ErrorObject>,
    #[serde(default)]
    result: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default)]
    message: String,
}

/// Reads a JSON-RPC response body as result or error.
fn parse_answer(body: &[u8]) -> eyre::Result<Answer> {
    let reply: Reply = serde_json::from_slice(body).wrap_err_with(|| {
        format!(
            "not a JSON-RPC response: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )
    })?;
    match (reply.error, reply.result) {
        (Some(e), _) => Ok(Answer::Error(e.message)),
        (None, Some(_)) => Ok(Answer::Result),
        (None, None) => Err(eyre!("JSON-RPC response with neither result nor error")),
    }
}

/// One keep-alive HTTP/1.1 connection to a JSON-RPC endpoint.
pub struct Connection {
    addr: SocketAddr,
    authority: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    /// A connection to `url` (`http://host:port`), opened on first use.
    pub fn new(url: &str) -> eyre::Result<Self> {
        let uri: Uri = url.parse().wrap_err_with(|| format!("bad URL {url}"))?;
        let authority = uri
            .authority()
            .ok_or_else(|| eyre!("URL {url} has no host"))?
            .to_string();
        let addr = authority
            .parse()
            .wrap_err_with(|| format!("URL {url} does not name an IP address and port"))?;
        Ok(Self {
            addr,
            authority,
            sender: None,
        })
    }

    async fn open(&self) -> eyre::Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(self.addr)
            .await
            .wrap_err_with(|| format!("cannot connect to {}", self.addr))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // The connection ends when the sender is dropped or the server closes it; the next
            // call then reconnects.
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Posts `body` and reads the answer. A broken connection is dropped (the next call opens
    /// a new one) and reported as an error.
    pub async fn call(&mut self, body: Bytes) -> eyre::Result<Answer> {
        let result = tokio::time::timeout(REQUEST_TIMEOUT, self.try_call(body)).await;
        match result {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => {
                self.sender = None;
                Err(e)
            }
            Err(_) => {
                self.sender = None;
                Err(eyre!("no answer within {REQUEST_TIMEOUT:?}"))
            }
        }
    }

    async fn try_call(&mut self, body: Bytes) -> eyre::Result<Answer> {
        let sender = match &mut self.sender {
            Some(s) if !s.is_closed() => s,
            _ => self.sender.insert(self.open().await?),
        };
        sender.ready().await?;
        let request = Request::post("/")
            .header(HOST, &self.authority)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body))?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            return Err(eyre!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ));
        }
        parse_answer(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_result_or_error() {
        assert_eq!(
            parse_answer(br#"{"jsonrpc":"2.0","id":1,"result":"0x01"}"#).unwrap(),
            Answer::Result
        );
        assert_eq!(
            parse_answer(
                br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"already known"}}"#
            )
            .unwrap(),
            Answer::Error("already known".into())
        );
        assert!(parse_answer(br#"{"jsonrpc":"2.0","id":1}"#).is_err());
        assert!(parse_answer(b"<html>").is_err());
    }

    #[test]
    fn bodies_are_json_rpc_requests() {
        let body = send_raw_body(7, "0x02f8");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["method"], "eth_sendRawTransaction");
        assert_eq!(v["params"][0], "0x02f8");
    }

    #[test]
    fn urls_need_an_ip_and_port() {
        assert!(Connection::new("http://127.0.0.1:8545").is_ok());
        assert!(Connection::new("http://localhost").is_err());
    }

    /// Reads one HTTP request (head and `content-length` body) from `s`.
    async fn read_request(s: &mut tokio::net::TcpStream) {
        use tokio::io::AsyncReadExt;
        let mut seen = Vec::new();
        let mut buf = vec![0u8; 4096];
        loop {
            if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().unwrap())
                    .unwrap_or(0);
                if seen.len() >= end + 4 + len {
                    return;
                }
            }
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "client closed mid-request");
            seen.extend_from_slice(&buf[..n]);
        }
    }

    /// A real round trip over the connection against a one-shot HTTP server.
    #[tokio::test]
    async fn round_trip_and_reconnect() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            // Two connections, one request each, then close: the client must reconnect.
            for reply in [
                r#"{"id":1,"result":"0x1"}"#,
                r#"{"id":2,"error":{"message":"nonce too low"}}"#,
            ] {
                let (mut s, _) = listener.accept().await.unwrap();
                read_request(&mut s).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    reply.len()
                );
                s.write_all(head.as_bytes()).await.unwrap();
                s.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        let mut conn = Connection::new(&format!("http://{addr}")).unwrap();
        assert_eq!(
            conn.call(send_raw_body(1, "0x00")).await.unwrap(),
            Answer::Result
        );
        // The server closed the first connection; the second call opens a new one (a call on
        // a connection the server has just closed may fail once: retry like the bench does).
        let second = match conn.call(send_raw_body(2, "0x00")).await {
            Ok(a) => a,
            Err(_) => conn.call(send_raw_body(2, "0x00")).await.unwrap(),
        };
        assert_eq!(second, Answer::Error("nonce too low".into()));
    }
}
