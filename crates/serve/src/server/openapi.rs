//! The OpenAPI 3.1 document of the service, served at `/v1/openapi.json`.

use serde_json::{json, Value};

fn get(summary: &str, params: Value) -> Value {
    json!({ "get": { "summary": summary, "parameters": params,
        "responses": { "200": { "description": "OK", "content": { "application/json": {} } },
                       "401": { "description": "reads need a bearer token on this server" },
                       "404": { "description": "unknown name" },
                       "429": { "description": "rate limited" } } } })
}

fn query(name: &str, required: bool, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": required, "description": description, "schema": schema })
}

fn path_id(description: &str) -> Value {
    json!([{ "name": "id", "in": "path", "required": true, "description": description, "schema": { "type": "string" } }])
}

fn post(summary: &str, array: &str, item: Value) -> Value {
    json!({ "post": { "summary": summary, "security": [{ "bearer": [] }],
        "requestBody": { "required": true, "content": { "application/json": { "schema": {
            "type": "object", "additionalProperties": false, "required": [array],
            "properties": { array: { "type": "array", "items": item } } } } } },
        "responses": {
            "200": { "description": "durable and applied: {applied, duplicates, seq}" },
            "400": { "description": "malformed batch: {error, items: [{index, field, message}]}" },
            "401": { "description": "missing or wrong bearer token" },
            "413": { "description": "body too large" },
            "422": { "description": "values the system does not accept: {error, items: [{index, field, message}]}" },
            "429": { "description": "rate limited" },
            "503": { "description": "the state's disk is full; nothing applied" } } } })
}

/// The document.
pub fn document() -> Value {
    let price = json!({ "type": "object", "additionalProperties": false, "required": ["id", "asset", "price"],
        "properties": { "id": { "type": "string", "maxLength": 128 }, "asset": { "type": "string" },
                        "price": { "type": "number", "exclusiveMinimum": 0, "description": "USD per token" } } });
    let change = json!({ "type": "object", "required": ["id", "op", "protocol", "account"],
        "properties": { "id": { "type": "string", "maxLength": 128 }, "op": { "enum": ["set", "close"] },
                        "protocol": { "type": "string" }, "account": { "type": "string" },
                        "asset": { "type": "string" }, "side": { "enum": ["collateral", "debt"] },
                        "amount": { "type": "number", "minimum": 0, "description": "tokens; the position's new amount" } } });
    json!({
        "openapi": "3.1.0",
        "info": { "title": "cascade serve", "version": env!("CARGO_PKG_VERSION"),
                  "description": "The live systemic-risk monitor (docs/serve.md)." },
        "components": { "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } } },
        "paths": {
            "/v1/prices": post("Price updates, applied whole or not at all", "prices", price),
            "/v1/positions": post("Position changes, applied whole or not at all", "changes", change),
            "/v1/summary": get("Headline figures of the live state", json!([])),
            "/v1/protocols": get("Every protocol's figures", json!([])),
            "/v1/protocols/{id}": get("One protocol: reserves, HF histogram, largest accounts", path_id("protocol id")),
            "/v1/accounts/{id}": get("One account in each protocol it is in: positions, health, liquidation drops", path_id("account id")),
            "/v1/ladder": get("Debt liquidatable as the asset's price drops", json!([query("asset", true, "asset id", json!({ "type": "string" }))])),
            "/v1/history": get("A metric's recorded history", json!([
                query("metric", true, "a number of /v1/summary", json!({ "type": "string" })),
                query("from", false, "ms since the Unix epoch", json!({ "type": "integer" })),
                query("to", false, "ms since the Unix epoch", json!({ "type": "integer" }))])),
            "/v1/alerts": get("Active and resolved alerts", json!([])),
            "/v1/events": get("Server-Sent Events: the summary after each applied batch", json!([])),
            "/v1/openapi.json": get("This document", json!([])),
            "/metrics": get("Prometheus text exposition", json!([])),
        }
    })
}
