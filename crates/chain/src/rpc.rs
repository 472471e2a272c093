//! A small Ethereum JSON-RPC client over HTTP(S): batched requests, retries with backoff on network
//! faults, a timeout, and errors that name the call and the address (docs/import.md#faults).

use std::time::Duration;

use serde_json::{json, Value};

use crate::ChainError;

/// Requests per JSON-RPC batch.
pub const DEFAULT_BATCH: usize = 200;
/// Attempts per batch when the endpoint cannot be reached or answers 429/5xx.
const ATTEMPTS: u32 = 4;
/// The largest answer read (bytes). ureq's own default, 10 MiB, is below what one `eth_getLogs`
/// range of a busy pool returns (10,000 users' Supply events on the local node: ~9 MB).
const MAX_ANSWER_BYTES: u64 = 1 << 30;

/// One `eth_call`: what it is (for messages), the contract and the calldata.
#[derive(Debug, Clone)]
pub struct Call {
    pub label: String,
    pub to: String,
    pub data: Vec<u8>,
}

impl Call {
    /// A call of `data` to the contract at `to`, described as `label` in messages.
    pub fn new(label: impl Into<String>, to: alloy_primitives::Address, data: Vec<u8>) -> Call {
        Call {
            label: label.into(),
            to: to.to_checksum(None),
            data,
        }
    }
}

/// A block: its number and timestamp (seconds since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub number: u64,
    pub timestamp: u64,
}

/// A JSON-RPC endpoint.
pub struct Rpc {
    url: String,
    agent: ureq::Agent,
    batch: usize,
    /// Requests sent (batches count their members), for progress and benchmarks.
    sent: std::cell::Cell<u64>,
    /// Batches answered (one HTTP post each; retries not counted), for benchmarks.
    posts: std::cell::Cell<u64>,
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The bytes of a `0x…` hex string.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_prefix("0x")?;
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A `0x…` quantity as a number.
fn quantity(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.strip_prefix("0x")?, 16).ok()
}

impl Rpc {
    /// A client of `url` whose every request times out after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Rpc {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build();
        Rpc {
            url: url.to_string(),
            agent: config.into(),
            batch: DEFAULT_BATCH,
            sent: std::cell::Cell::new(0),
            posts: std::cell::Cell::new(0),
        }
    }

    /// Requests per batch (at least 1).
    pub fn with_batch(mut self, batch: usize) -> Rpc {
        self.batch = batch.max(1);
        self
    }

    /// Requests sent so far.
    pub fn requests_sent(&self) -> u64 {
        self.sent.get()
    }

    /// Batches answered so far.
    pub fn batches_sent(&self) -> u64 {
        self.posts.get()
    }

    /// Posts `body`, retrying network faults and 429/5xx answers with backoff (0.5, 1, 2 s).
    fn post(&self, what: &str, body: &Value) -> Result<Value, ChainError> {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(500 << (attempt - 1)));
            }
            match self.agent.post(&self.url).send_json(body) {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    if status == 429 || status >= 500 {
                        last = format!("HTTP {status}");
                        continue;
                    }
                    if status >= 400 {
                        return Err(ChainError::Unreachable {
                            url: self.url.clone(),
                            call: what.to_string(),
                            detail: format!("HTTP {status}"),
                        });
                    }
                    // Read whole, then parsed from memory: ureq's read_json parses an answer above
                    // 3.3 MB byte by byte from the socket and refuses one above 10 MiB.
                    let bytes = resp
                        .body_mut()
                        .with_config()
                        .limit(MAX_ANSWER_BYTES)
                        .read_to_vec()
                        .map_err(|e| ChainError::Malformed {
                            call: what.to_string(),
                            detail: match e {
                                ureq::Error::BodyExceedsLimit(_) => {
                                    format!("the answer is larger than {MAX_ANSWER_BYTES} bytes")
                                }
                                e => format!("cannot read the answer: {e}"),
                            },
                        })?;
                    return serde_json::from_slice::<Value>(&bytes).map_err(|e| {
                        ChainError::Malformed {
                            call: what.to_string(),
                            detail: format!("the answer is not JSON: {e}"),
                        }
                    });
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(ChainError::Unreachable {
            url: self.url.clone(),
            call: what.to_string(),
            detail: format!("{last} (after {ATTEMPTS} attempts)"),
        })
    }

    /// Sends `requests` (label, method, params) in batches; the results in order. A JSON-RPC error on
    /// any request fails the whole call, naming that request.
    pub fn batch(&self, requests: &[(String, &str, Value)]) -> Result<Vec<Value>, ChainError> {
        let mut out = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(self.batch) {
            let body: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, (_, method, params))| {
                    json!({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
                })
                .collect();
            let what = &chunk[0].0;
            let answer = self.post(what, &Value::Array(body))?;
            self.sent.set(self.sent.get() + chunk.len() as u64);
            self.posts.set(self.posts.get() + 1);
            let Value::Array(items) = answer else {
                return Err(ChainError::Malformed {
                    call: what.clone(),
                    detail: "expected a JSON array answering the batch".into(),
                });
            };
            if items.len() != chunk.len() {
                return Err(ChainError::Malformed {
                    call: what.clone(),
                    detail: format!(
                        "the batch of {} requests got {} answers",
                        chunk.len(),
                        items.len()
                    ),
                });
            }
            let mut results: Vec<Option<Value>> = vec![None; chunk.len()];
            for mut item in items {
                let id = item
                    .get("id")
                    .and_then(Value::as_u64)
                    .and_then(|i| usize::try_from(i).ok())
                    .filter(|&i| i < chunk.len());
                let Some(id) = id else {
                    return Err(ChainError::Malformed {
                        call: what.clone(),
                        detail: format!("an answer with an unknown id: {item}"),
                    });
                };
                if let Some(err) = item.get("error") {
                    return Err(ChainError::Call {
                        call: chunk[id].0.clone(),
                        message: err
                            .get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("unknown error")
                            .to_string(),
                    });
                }
                results[id] = item.as_object_mut().and_then(|o| o.remove("result"));
            }
            for (i, r) in results.into_iter().enumerate() {
                out.push(r.ok_or_else(|| ChainError::Malformed {
                    call: chunk[i].0.clone(),
                    detail: "no result in the answer".into(),
                })?);
            }
        }
        Ok(out)
    }

    /// The block `number` (the latest if `None`).
    pub fn block(&self, number: Option<u64>) -> Result<Block, ChainError> {
        let tag = number.map_or_else(|| "latest".to_string(), |n| format!("0x{n:x}"));
        let what = format!("eth_getBlockByNumber({tag})");
        let v = self.batch(&[(what.clone(), "eth_getBlockByNumber", json!([tag, false]))])?;
        let b = &v[0];
        if b.is_null() {
            return Err(ChainError::MissingBlock {
                block: number.unwrap_or(0),
            });
        }
        match (
            b.get("number").and_then(quantity),
            b.get("timestamp").and_then(quantity),
        ) {
            (Some(number), Some(timestamp)) => Ok(Block { number, timestamp }),
            _ => Err(ChainError::Malformed {
                call: what,
                detail: "a block without number or timestamp".into(),
            }),
        }
    }

    /// Runs `calls` at `block`; each call's returned bytes, in order.
    pub fn eth_calls(&self, block: u64, calls: &[Call]) -> Result<Vec<Vec<u8>>, ChainError> {
        let tag = format!("0x{block:x}");
        let requests: Vec<(String, &str, Value)> = calls
            .iter()
            .map(|c| {
                (
                    format!("{} at {}", c.label, c.to),
                    "eth_call",
                    json!([{"to": c.to, "data": hex(&c.data)}, tag]),
                )
            })
            .collect();
        let answers = self.batch(&requests)?;
        answers
            .iter()
            .zip(&requests)
            .map(|(a, (what, _, _))| {
                a.as_str()
                    .and_then(unhex)
                    .ok_or_else(|| ChainError::Malformed {
                        call: what.clone(),
                        detail: format!("expected 0x-prefixed hex bytes, found {a}"),
                    })
            })
            .collect()
    }

    /// The logs of `address` with first topic `topic0` in blocks `from..=to`, in ranges of at most
    /// `range` blocks.
    pub fn logs(
        &self,
        address: &str,
        topic0: &[u8; 32],
        (from, to): (u64, u64),
        range: u64,
    ) -> Result<Vec<Value>, ChainError> {
        let mut requests = Vec::new();
        let mut start = from;
        while start <= to {
            let end = to.min(start.saturating_add(range.max(1) - 1));
            requests.push((
                format!("eth_getLogs({address}, blocks {start}..={end})"),
                "eth_getLogs",
                json!([{"address": address, "topics": [hex(topic0)],
                        "fromBlock": format!("0x{start:x}"), "toBlock": format!("0x{end:x}")}]),
            ));
            if end == u64::MAX {
                break;
            }
            start = end + 1;
        }
        let mut out = Vec::new();
        for (a, (what, _, _)) in self.batch(&requests)?.into_iter().zip(&requests) {
            match a {
                Value::Array(items) => out.extend(items),
                other => {
                    return Err(ChainError::Malformed {
                        call: what.clone(),
                        detail: format!("expected an array of logs, found {other}"),
                    })
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex(&[0, 1, 0xab]), "0x0001ab");
        assert_eq!(unhex("0x0001ab"), Some(vec![0, 1, 0xab]));
        assert_eq!(unhex("0x"), Some(vec![]));
        assert_eq!(unhex("0x0"), None);
        assert_eq!(unhex("12"), None);
        assert_eq!(unhex("0xzz"), None);
    }

    /// A one-connection HTTP server on loopback that answers any request with `body`.
    fn serve_once(body: String) -> String {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let url = format!(
            "http://{}",
            listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
        );
        std::thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut request = vec![0u8; length];
            let _ = reader.read_exact(&mut request);
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        });
        url
    }

    #[test]
    fn answers_above_ten_mebibytes_are_read() {
        // 6 MB returned by one call: a 12 MB answer, above ureq's 10 MiB default (and above the
        // 3.3 MB from which its read_json parses from the socket byte by byte).
        let returned = vec![0xabu8; 6_000_000];
        let body = format!(
            r#"[{{"jsonrpc":"2.0","id":0,"result":"{}"}}]"#,
            hex(&returned)
        );
        let rpc = Rpc::new(&serve_once(body), Duration::from_secs(30));
        let call = Call::new("big()", alloy_primitives::Address::ZERO, vec![1, 2, 3, 4]);
        let out = rpc.eth_calls(1, &[call]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, vec![returned]);
        assert_eq!((rpc.requests_sent(), rpc.batches_sent()), (1, 1));
    }
}
