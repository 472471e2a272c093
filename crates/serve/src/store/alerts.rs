//! Alerts in the store: one record per `(rule, key)`, replaced as the alert fires and resolves.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

/// State of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Firing,
    Resolved,
}

impl AlertState {
    fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// One alert: a rule's verdict on one key (an account, an asset, the whole system, …). Stored once
/// per `(rule, key)`; [`Store::upsert_alert`] replaces the previous record of the pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlertRecord {
    /// The rule's name.
    pub rule: String,
    /// What the rule fired on (an account id, an asset, `""` for the system).
    pub key: String,
    pub state: AlertState,
    /// When it last started firing, milliseconds since the Unix epoch.
    pub fired_at_ms: i64,
    /// When it resolved, milliseconds since the Unix epoch; `None` while firing.
    pub resolved_at_ms: Option<i64>,
    /// The value of the rule's metric that fired it (or the last value seen), in the metric's unit.
    /// Not NaN.
    pub value: f64,
    /// A line for humans.
    pub message: String,
    /// Whether an operator acknowledged it.
    pub acknowledged: bool,
}

const ALERT_SELECT: &str = "SELECT rule, key, state, fired_at_ms, resolved_at_ms, value, message,
                                   acknowledged FROM alerts";

impl Store {
    /// Inserts the alert or replaces the record of its `(rule, key)`. An acknowledgement stays with
    /// its crossing: replacing a record of the same firing (same `fired_at_ms`, e.g. its
    /// resolution) keeps it; a new firing starts unacknowledged. Refuses a NaN value
    /// ([`StoreError::Invalid`]).
    pub fn upsert_alert(&mut self, a: &AlertRecord) -> Result<(), StoreError> {
        if a.value.is_nan() {
            return Err(StoreError::Invalid {
                path: self.path.clone(),
                detail: format!(
                    "alert {:?} on {:?}: the value is NaN, expected a number",
                    a.rule, a.key
                ),
            });
        }
        self.conn
            .prepare_cached(
                "INSERT INTO alerts (rule, key, state, fired_at_ms, resolved_at_ms, value, message,
                                     acknowledged)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (rule, key) DO UPDATE SET
                     state = excluded.state, fired_at_ms = excluded.fired_at_ms,
                     resolved_at_ms = excluded.resolved_at_ms, value = excluded.value,
                     message = excluded.message,
                     acknowledged = CASE WHEN excluded.fired_at_ms = alerts.fired_at_ms
                                         THEN max(alerts.acknowledged, excluded.acknowledged)
                                         ELSE excluded.acknowledged END",
            )
            .and_then(|mut s| {
                s.execute(params![
                    a.rule,
                    a.key,
                    a.state.as_str(),
                    a.fired_at_ms,
                    a.resolved_at_ms,
                    a.value,
                    a.message,
                    a.acknowledged
                ])
            })
            .map(|_| ())
            .map_err(self.err())
    }

    /// Marks the alert of `(rule, key)` acknowledged by an operator; false if there is none.
    pub fn acknowledge_alert(&mut self, rule: &str, key: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("UPDATE alerts SET acknowledged = 1 WHERE rule = ?1 AND key = ?2")
            .and_then(|mut s| s.execute(params![rule, key]))
            .map(|n| n > 0)
            .map_err(self.err())
    }

    /// How many alerts are firing now.
    pub fn firing_alerts(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM alerts WHERE state = 'firing'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(self.err())
    }

    /// The record of `(rule, key)`, if any.
    pub fn alert(&self, rule: &str, key: &str) -> Result<Option<AlertRecord>, StoreError> {
        let err = self.err();
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{ALERT_SELECT} WHERE rule = ?1 AND key = ?2"))
            .map_err(&err)?;
        let mut rows = stmt.query(params![rule, key]).map_err(&err)?;
        match rows.next().map_err(&err)? {
            Some(row) => self.alert_of(row).map(Some),
            None => Ok(None),
        }
    }

    /// Up to `limit` alerts: the firing ones first (most recently fired first), then the resolved
    /// ones (most recently resolved first).
    pub fn alerts(&self, limit: usize) -> Result<Vec<AlertRecord>, StoreError> {
        let err = self.err();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "{ALERT_SELECT} ORDER BY state = 'firing' DESC,
                 coalesce(resolved_at_ms, fired_at_ms) DESC, fired_at_ms DESC, rule, key
                 LIMIT ?1"
            ))
            .map_err(&err)?;
        let mut rows = stmt.query([limit]).map_err(&err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(&err)? {
            out.push(self.alert_of(row)?);
        }
        Ok(out)
    }

    fn alert_of(&self, row: &rusqlite::Row<'_>) -> Result<AlertRecord, StoreError> {
        let err = self.err();
        let state: String = row.get(2).map_err(&err)?;
        let state = match state.as_str() {
            "firing" => AlertState::Firing,
            "resolved" => AlertState::Resolved,
            other => {
                return Err(StoreError::Corrupt {
                    path: self.path.clone(),
                    detail: format!("alert state {other:?}, expected firing or resolved"),
                })
            }
        };
        Ok(AlertRecord {
            rule: row.get(0).map_err(&err)?,
            key: row.get(1).map_err(&err)?,
            state,
            fired_at_ms: row.get(3).map_err(&err)?,
            resolved_at_ms: row.get(4).map_err(&err)?,
            value: row.get(5).map_err(&err)?,
            message: row.get(6).map_err(&err)?,
            acknowledged: row.get(7).map_err(&err)?,
        })
    }
}
