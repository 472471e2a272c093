//! Tables for pandas: rows (JSON objects, nested objects flattened to `a.b` column names) turned
//! into one Arrow record batch in the IPC stream format, which the Python side reads with
//! `pyarrow.ipc.open_stream(...).read_pandas()` — column by column, no Python object per cell.
//!
//! A column is `int64` when every value is an integer (or missing), `float64` when every value is a
//! number, `bool` when every value is a boolean, else text (numbers and booleans written as JSON).
//! Missing values are nulls. The naming columns come first (`id`, `protocol`, `account`, `round`,
//! those present), then the others in the order their names first appear (a row's keys sorted).

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, DataType, Field, Schema};
use serde_json::{Map, Value};

fn flatten(prefix: &str, v: &Map<String, Value>, out: &mut Vec<(String, Value)>) {
    for (k, x) in v {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match x {
            Value::Object(m) => flatten(&name, m, out),
            other => out.push((name, other.clone())),
        }
    }
}

/// The kind of a column from its values.
fn kind(values: &[Option<&Value>]) -> DataType {
    let present = || values.iter().flatten().copied().filter(|v| !v.is_null());
    if present().all(|v| v.as_i64().is_some()) {
        DataType::Int64
    } else if present().all(Value::is_number) {
        DataType::Float64
    } else if present().all(Value::is_boolean) {
        DataType::Boolean
    } else {
        DataType::Utf8
    }
}

fn column(values: &[Option<&Value>], kind: &DataType) -> ArrayRef {
    fn get<'a>(v: &Option<&'a Value>) -> Option<&'a Value> {
        v.filter(|x| !x.is_null())
    }
    match kind {
        DataType::Int64 => Arc::new(Int64Array::from(
            values
                .iter()
                .map(|v| get(v).and_then(Value::as_i64))
                .collect::<Vec<_>>(),
        )),
        DataType::Float64 => Arc::new(Float64Array::from(
            values
                .iter()
                .map(|v| get(v).and_then(Value::as_f64))
                .collect::<Vec<_>>(),
        )),
        DataType::Boolean => Arc::new(BooleanArray::from(
            values
                .iter()
                .map(|v| get(v).and_then(Value::as_bool))
                .collect::<Vec<_>>(),
        )),
        _ => Arc::new(StringArray::from(
            values
                .iter()
                .map(|v| {
                    get(v).map(|x| match x {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                })
                .collect::<Vec<_>>(),
        )),
    }
}

/// The rows as one record batch (a row that is not an object counts as an empty one).
pub fn batch(rows: &[Value]) -> Result<RecordBatch, ArrowError> {
    let flat: Vec<Vec<(String, Value)>> = rows
        .iter()
        .map(|r| {
            let mut out = Vec::new();
            if let Value::Object(m) = r {
                flatten("", m, &mut out);
            }
            out
        })
        .collect();
    let mut names: Vec<String> = Vec::new();
    for row in &flat {
        for (k, _) in row {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    let key_rank = |n: &String| {
        ["id", "protocol", "account", "round"]
            .iter()
            .position(|k| k == n)
            .unwrap_or(usize::MAX)
    };
    names.sort_by_key(key_rank);
    let mut fields = Vec::with_capacity(names.len());
    let mut arrays = Vec::with_capacity(names.len());
    for name in &names {
        let values: Vec<Option<&Value>> = flat
            .iter()
            .map(|row| row.iter().find(|(k, _)| k == name).map(|(_, v)| v))
            .collect();
        let k = kind(&values);
        fields.push(Field::new(name, k.clone(), true));
        arrays.push(column(&values, &k));
    }
    let schema = Arc::new(Schema::new(fields));
    if arrays.is_empty() {
        return Ok(RecordBatch::new_empty(schema));
    }
    RecordBatch::try_new(schema, arrays)
}

/// Named columns (equal lengths) as an Arrow IPC stream (one batch).
pub fn columns_ipc(cols: Vec<(String, ArrayRef)>) -> Result<Vec<u8>, ArrowError> {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, a)| Field::new(n, a.data_type().clone(), true))
        .collect();
    let b = RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        cols.into_iter().map(|(_, a)| a).collect(),
    )?;
    write_ipc(&b)
}

fn write_ipc(b: &RecordBatch) -> Result<Vec<u8>, ArrowError> {
    let mut out = Vec::new();
    {
        let mut w = StreamWriter::try_new(&mut out, &b.schema())?;
        w.write(b)?;
        w.finish()?;
    }
    Ok(out)
}

/// The rows as an Arrow IPC stream (one batch).
pub fn ipc(rows: &[Value]) -> Result<Vec<u8>, ArrowError> {
    write_ipc(&batch(rows)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_take_the_kind_of_their_values() {
        let rows = vec![
            json!({"n": 1, "x": 1.5, "ok": true, "nested": {"v": 2}, "id": "a"}),
            json!({"id": "b", "n": 2, "x": 2, "ok": false, "extra": "e"}),
        ];
        let b = batch(&rows).unwrap();
        let s = b.schema();
        let kinds: Vec<(&str, &DataType)> = s
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("id", &DataType::Utf8),
                ("n", &DataType::Int64),
                ("nested.v", &DataType::Int64),
                ("ok", &DataType::Boolean),
                ("x", &DataType::Float64),
                ("extra", &DataType::Utf8),
            ]
        );
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(2).null_count(), 1);
        assert!(!ipc(&rows).unwrap().is_empty());
        assert_eq!(batch(&[]).unwrap().num_rows(), 0);
    }
}
