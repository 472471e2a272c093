//! Ingest batches as JSON (docs/serve.md#ingest): `POST /v1/prices` and `POST /v1/positions` bodies
//! turned into [`Event`]s, every problem of the batch named by its item index and field. A batch with
//! any problem is refused whole.
//!
//! ```json
//! {"prices": [{"id": "p-1", "asset": "ETH", "price": 1900.5}]}
//! {"changes": [{"id": "c-1", "op": "set", "protocol": "aave-v3", "account": "0xab…",
//!               "asset": "WETH", "side": "collateral", "amount": 10.0},
//!              {"id": "c-2", "op": "close", "protocol": "aave-v3", "account": "0xab…"}]}
//! ```

use serde::Serialize;
use serde_json::{Map, Value};

use crate::events::{Change, Event, PositionSide, MAX_ID_LEN};

/// Most items in one batch.
pub const MAX_BATCH_ITEMS: usize = 100_000;

/// One problem of a batch: the item (its index in the batch's array), the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemError {
    pub index: usize,
    pub field: String,
    pub message: String,
}

/// Why a batch was refused: its JSON does not parse or has the wrong shape (400), or items are
/// invalid (400 for wrong types and unknown fields, 422 for values the system does not know or
/// accept).
#[derive(Debug, Clone, PartialEq)]
pub enum IngestError {
    Syntax(String),
    Items {
        unprocessable: bool,
        errors: Vec<ItemError>,
    },
}

impl IngestError {
    /// The HTTP status: 400, or 422 when every problem is an unacceptable value.
    pub fn status(&self) -> u16 {
        match self {
            IngestError::Items {
                unprocessable: true,
                ..
            } => 422,
            _ => 400,
        }
    }

    /// The JSON body of the refusal: `{"error": …, "items": [{index, field, message}]}`.
    pub fn body(&self) -> Value {
        match self {
            IngestError::Syntax(m) => serde_json::json!({ "error": m, "items": [] }),
            IngestError::Items { errors, .. } => serde_json::json!({
                "error": format!("{} problem(s) in the batch; nothing was applied", errors.len()),
                "items": errors,
            }),
        }
    }
}

/// Collects the problems of one item.
struct Item<'a> {
    array: &'static str,
    index: usize,
    obj: &'a Map<String, Value>,
    errors: &'a mut Vec<ItemError>,
    unacceptable: &'a mut bool,
}

impl Item<'_> {
    fn err(&mut self, field: &str, message: String, unacceptable: bool) {
        *self.unacceptable &= unacceptable;
        self.errors.push(ItemError {
            index: self.index,
            field: format!("{}[{}].{field}", self.array, self.index),
            message,
        });
    }

    fn string(&mut self, key: &str) -> Option<String> {
        match self.obj.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::String(_)) => {
                self.err(key, "empty, expected a name".into(), false);
                None
            }
            Some(other) => {
                self.err(key, format!("{other}, expected a string"), false);
                None
            }
            None => {
                self.err(key, "missing".into(), false);
                None
            }
        }
    }

    fn id(&mut self) -> Option<String> {
        let id = self.string("id")?;
        if id.len() > MAX_ID_LEN {
            self.err(
                "id",
                format!("{} bytes, expected at most {MAX_ID_LEN}", id.len()),
                false,
            );
            return None;
        }
        Some(id)
    }

    /// A finite number ≥ 0 (`positive`: > 0).
    fn amount(&mut self, key: &str, positive: bool) -> Option<f64> {
        match self.obj.get(key) {
            Some(Value::Number(n)) => match n.as_f64() {
                Some(x) if x.is_finite() && (x > 0.0 || (!positive && x == 0.0)) => Some(x),
                Some(x) => {
                    let want = if positive { "> 0" } else { "≥ 0" };
                    self.err(key, format!("{x}, expected a finite number {want}"), true);
                    None
                }
                None => {
                    self.err(key, format!("{n}, expected a finite number"), true);
                    None
                }
            },
            Some(other) => {
                self.err(key, format!("{other}, expected a number"), false);
                None
            }
            None => {
                self.err(key, "missing".into(), false);
                None
            }
        }
    }

    fn only(&mut self, allowed: &[&str]) {
        let unknown: Vec<String> = self
            .obj
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            let msg = format!("unknown field, expected one of: {}", allowed.join(", "));
            self.err(&k, msg, false);
        }
    }
}

/// The array `key` of a batch object with nothing else in it.
fn batch_array<'a>(root: &'a Value, key: &str) -> Result<&'a Vec<Value>, IngestError> {
    let Value::Object(o) = root else {
        return Err(IngestError::Syntax(format!(
            "expected a JSON object {{\"{key}\": [...]}}"
        )));
    };
    if let Some(k) = o.keys().find(|k| k.as_str() != key) {
        return Err(IngestError::Syntax(format!(
            "unknown field \"{k}\", expected only \"{key}\""
        )));
    }
    match o.get(key) {
        Some(Value::Array(a)) if a.len() <= MAX_BATCH_ITEMS => Ok(a),
        Some(Value::Array(a)) => Err(IngestError::Syntax(format!(
            "{} items, expected at most {MAX_BATCH_ITEMS} per batch",
            a.len()
        ))),
        Some(other) => Err(IngestError::Syntax(format!(
            "\"{key}\" is {}, expected an array",
            kind(other)
        ))),
        None => Err(IngestError::Syntax(format!("missing \"{key}\""))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_json(body: &[u8]) -> Result<Value, IngestError> {
    serde_json::from_slice(body).map_err(|e| IngestError::Syntax(format!("invalid JSON: {e}")))
}

/// Runs `each` on every item of the batch array `key`, collecting events and problems.
fn items(
    body: &[u8],
    key: &'static str,
    at_ms: i64,
    mut each: impl FnMut(&mut Item) -> Option<(String, Change)>,
) -> Result<Vec<Event>, IngestError> {
    let root = parse_json(body)?;
    let list = batch_array(&root, key)?;
    let mut errors = Vec::new();
    let mut unacceptable = true;
    let mut events = Vec::with_capacity(list.len());
    for (index, v) in list.iter().enumerate() {
        let Value::Object(obj) = v else {
            unacceptable = false;
            errors.push(ItemError {
                index,
                field: format!("{key}[{index}]"),
                message: format!("{}, expected an object", kind(v)),
            });
            continue;
        };
        let mut item = Item {
            array: key,
            index,
            obj,
            errors: &mut errors,
            unacceptable: &mut unacceptable,
        };
        if let Some((id, change)) = each(&mut item) {
            events.push(Event { id, at_ms, change });
        }
    }
    if errors.is_empty() {
        Ok(events)
    } else {
        Err(IngestError::Items {
            unprocessable: unacceptable,
            errors,
        })
    }
}

/// A `POST /v1/prices` body: `{"prices": [{"id", "asset", "price"}]}`, price USD per token, > 0.
pub fn parse_prices(body: &[u8], at_ms: i64) -> Result<Vec<Event>, IngestError> {
    items(body, "prices", at_ms, |it| {
        it.only(&["id", "asset", "price"]);
        let id = it.id();
        let asset = it.string("asset");
        let price = it.amount("price", true);
        Some((
            id?,
            Change::Price {
                asset: asset?,
                price: price?,
            },
        ))
    })
}

/// A `POST /v1/positions` body: `{"changes": [...]}`, each `op = "set"` (`protocol`, `account`,
/// `asset`, `side` = `"collateral"` or `"debt"`, `amount` tokens ≥ 0) or `op = "close"` (`protocol`,
/// `account`).
pub fn parse_positions(body: &[u8], at_ms: i64) -> Result<Vec<Event>, IngestError> {
    items(body, "changes", at_ms, |it| {
        let op = it.string("op");
        match op.as_deref() {
            Some("set") => {
                it.only(&["id", "op", "protocol", "account", "asset", "side", "amount"]);
                let id = it.id();
                let protocol = it.string("protocol");
                let account = it.string("account");
                let asset = it.string("asset");
                let side = match it.string("side").as_deref() {
                    Some("collateral") => Some(PositionSide::Collateral),
                    Some("debt") => Some(PositionSide::Debt),
                    Some(other) => {
                        it.err(
                            "side",
                            format!("\"{other}\", expected \"collateral\" or \"debt\""),
                            false,
                        );
                        None
                    }
                    None => None,
                };
                let amount = it.amount("amount", false);
                Some((
                    id?,
                    Change::Position {
                        protocol: protocol?,
                        account: account?,
                        asset: asset?,
                        side: side?,
                        amount: amount?,
                    },
                ))
            }
            Some("close") => {
                it.only(&["id", "op", "protocol", "account"]);
                let id = it.id();
                let protocol = it.string("protocol");
                let account = it.string("account");
                Some((
                    id?,
                    Change::Close {
                        protocol: protocol?,
                        account: account?,
                    },
                ))
            }
            Some(other) => {
                it.err(
                    "op",
                    format!("\"{other}\", expected \"set\" or \"close\""),
                    false,
                );
                None
            }
            None => None,
        }
    })
}

#[cfg(test)]
mod tests;
