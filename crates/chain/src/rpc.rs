//! A small Ethereum JSON-RPC client over HTTP(S): batched requests, retries with backoff on network
//! faults, a timeout, and errors that name the call and the address (docs/import.md#faults).

use std::time::Duration;

use serde_json::{json, Value};

use crate::ChainError;

/// Requests per JSON-RPC batch.
pub const DEFAULT_BATCH: usize = 200;
/// Attempts per batch when the endpoint cannot be reached or answers 429/5xx.
const ATTEMPTS: u32 = 4;

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
                    return resp.body_mut().read_json::<Value>().map_err(|e| {
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
            for item in items {
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
                results[id] = item.get("result").cloned();
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
}
