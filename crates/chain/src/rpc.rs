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
    /// The contract, checksummed (for messages and requests).
    pub to: String,
    pub address: alloy_primitives::Address,
    pub data: Vec<u8>,
}

impl Call {
    /// A call of `data` to the contract at `to`, described as `label` in messages.
    pub fn new(label: impl Into<String>, to: alloy_primitives::Address, data: Vec<u8>) -> Call {
        Call {
            label: label.into(),
            to: to.to_checksum(None),
            address: to,
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
    /// Calls made inside multicall requests ([`Rpc::eth_call_words`]), for benchmarks.
    in_multicalls: std::cell::Cell<u64>,
    /// Off once the endpoint refused a multicall whose calls then succeeded one by one.
    multicall: std::cell::Cell<bool>,
    /// The multicall request the endpoint refused, if it did.
    refused: std::cell::RefCell<Option<String>>,
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The bytes of a `0x…` hex string.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_prefix("0x")?.as_bytes();
    if s.len() % 2 != 0 {
        return None;
    }
    s.chunks_exact(2)
        .map(|d| Some(nibble(d[0])? << 4 | nibble(d[1])?))
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
            in_multicalls: std::cell::Cell::new(0),
            multicall: std::cell::Cell::new(true),
            refused: std::cell::RefCell::new(None),
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

    /// Calls made inside multicall requests so far (each request counts once in
    /// [`Rpc::requests_sent`]).
    pub fn calls_in_multicalls(&self) -> u64 {
        self.in_multicalls.get()
    }

    /// The multicall request the endpoint refused (after which calls went one by one), if any.
    pub fn multicall_refused(&self) -> Option<String> {
        self.refused.borrow().clone()
    }

    /// Whether [`Rpc::eth_call_words`] may use multicall requests (on by default).
    pub fn with_multicall(self, on: bool) -> Rpc {
        self.multicall.set(on);
        self
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
        // Batch by batch, so that no batch goes out after one with an error.
        for chunk in requests.chunks(self.batch) {
            for (r, (what, _, _)) in self.batch_results(chunk)?.into_iter().zip(chunk) {
                out.push(r.map_err(|message| ChainError::Call {
                    call: what.clone(),
                    message,
                })?);
            }
        }
        Ok(out)
    }

    /// Sends `requests` in batches; per request, its result or its JSON-RPC error message. Only
    /// faults of the transport or of the batch's shape fail the whole call.
    fn batch_results(
        &self,
        requests: &[(String, &str, Value)],
    ) -> Result<Vec<Result<Value, String>>, ChainError> {
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
            let mut results: Vec<Option<Result<Value, String>>> = vec![None; chunk.len()];
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
                results[id] = if let Some(err) = item.get("error") {
                    Some(Err(err
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                        .to_string()))
                } else {
                    item.as_object_mut()
                        .and_then(|o| o.remove("result"))
                        .map(Ok)
                };
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
        let at: Vec<(u64, &Call)> = calls.iter().map(|c| (block, c)).collect();
        self.eth_calls_at(&at)
    }

    /// Runs each call at its own block (in as few batches as the batch size allows); each call's
    /// returned bytes, in order.
    pub fn eth_calls_at(&self, calls: &[(u64, &Call)]) -> Result<Vec<Vec<u8>>, ChainError> {
        let requests: Vec<(String, &str, Value)> = calls
            .iter()
            .map(|(block, c)| {
                (
                    format!("{} at {}", c.label, c.to),
                    "eth_call",
                    json!([{"to": c.to, "data": hex(&c.data)}, format!("0x{block:x}")]),
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

    /// Runs `calls`, each of which returns exactly one 32-byte word, at `block`; the words, in
    /// order. They go as multicall requests ([`crate::multicall`]: up to 700 calls in one
    /// `eth_call`, no contract deployed); a request the node refuses (a call among them failed or
    /// returned something else, or the node does not run creation code in `eth_call`) is made
    /// again as plain calls, one `eth_call` each, which then names the failing call. If those
    /// succeed, multicall is turned off for the rest of the session.
    pub fn eth_call_words(&self, block: u64, calls: &[Call]) -> Result<Vec<Vec<u8>>, ChainError> {
        if !self.multicall.get() {
            return self.eth_calls(block, calls);
        }
        // The requests: consecutive runs of calls within the size limits.
        let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
        let mut start = 0;
        let mut bytes = 0;
        for (i, c) in calls.iter().enumerate() {
            let b = crate::multicall::record_len(&c.data);
            if i > start
                && (i - start == crate::multicall::MAX_CALLS
                    || bytes + b > crate::multicall::MAX_LIST_BYTES)
            {
                runs.push(start..i);
                start = i;
                bytes = 0;
            }
            bytes += b;
        }
        if start < calls.len() {
            runs.push(start..calls.len());
        }
        let program = crate::multicall::program();
        let tag = format!("0x{block:x}");
        let requests: Vec<(String, &str, Value)> = runs
            .iter()
            .map(|r| {
                let code = crate::multicall::encode(
                    &program,
                    calls[r.clone()]
                        .iter()
                        .map(|c| (c.address, c.data.as_slice())),
                );
                (
                    format!(
                        "multicall of {} calls from {} at {}",
                        r.len(),
                        calls[r.start].label,
                        calls[r.start].to
                    ),
                    "eth_call",
                    json!([{"data": hex(&code)}, tag]),
                )
            })
            .collect();
        let answers = self.batch_results(&requests)?;
        let mut out = Vec::with_capacity(calls.len());
        for ((answer, r), (what, _, _)) in answers.into_iter().zip(&runs).zip(&requests) {
            let words = answer.ok().and_then(|a| {
                let bytes = unhex(a.as_str()?)?;
                (bytes.len() == 32 * r.len()).then_some(bytes)
            });
            match words {
                Some(bytes) => {
                    self.in_multicalls
                        .set(self.in_multicalls.get() + r.len() as u64);
                    out.extend(bytes.chunks_exact(32).map(<[u8]>::to_vec));
                }
                None => {
                    let one_by_one = self.eth_calls(block, &calls[r.clone()])?;
                    if one_by_one.iter().all(|b| b.len() == 32) {
                        // Every call answered a word, yet the multicall failed: the node
                        // does not run them (no creation in eth_call, a gas cap, ...).
                        self.multicall.set(false);
                        self.refused.replace(Some(what.clone()));
                    }
                    out.extend(one_by_one);
                }
            }
        }
        Ok(out)
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
        self.logs_any(&[address.to_string()], &[*topic0], (from, to), range)
    }

    /// The logs emitted by any of `addresses` whose first topic is any of `topics0`, in blocks
    /// `from..=to`, in ranges of at most `range` blocks; in the endpoint's order (by block, then
    /// by position in the block).
    pub fn logs_any(
        &self,
        addresses: &[String],
        topics0: &[[u8; 32]],
        (from, to): (u64, u64),
        range: u64,
    ) -> Result<Vec<Value>, ChainError> {
        let topics: Vec<String> = topics0.iter().map(|t| hex(t)).collect();
        let address = match addresses {
            [one] => one.clone(),
            _ => format!("{} contracts", addresses.len()),
        };
        let mut requests = Vec::new();
        let mut start = from;
        while start <= to {
            let end = to.min(start.saturating_add(range.max(1) - 1));
            requests.push((
                format!("eth_getLogs({address}, blocks {start}..={end})"),
                "eth_getLogs",
                json!([{"address": addresses, "topics": [topics],
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
