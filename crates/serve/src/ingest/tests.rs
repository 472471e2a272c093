use super::*;

#[test]
fn a_good_price_batch_becomes_events_in_order() {
    let body = br#"{"prices": [{"id": "a", "asset": "ETH", "price": 1900.5}, {"id": "b", "asset": "USDC", "price": 1}]}"#;
    let e = parse_prices(body, 7).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(e.len(), 2);
    assert_eq!(
        e[0],
        Event {
            id: "a".into(),
            at_ms: 7,
            change: Change::Price {
                asset: "ETH".into(),
                price: 1900.5
            }
        }
    );
}

#[test]
fn every_problem_is_named_by_index_and_field() {
    let body = br#"{"prices": [
        {"id": "a", "asset": "ETH", "price": -1},
        {"id": "b", "asset": "ETH", "price": "NaN"},
        {"id": "c", "asset": "ETH", "price": 2, "extra": true},
        {"asset": "ETH", "price": 2},
        3
    ]}"#;
    let Err(e) = parse_prices(body, 0) else {
        panic!("accepted")
    };
    assert_eq!(e.status(), 400);
    let IngestError::Items { errors, .. } = &e else {
        panic!("{e:?}")
    };
    let fields: Vec<&str> = errors.iter().map(|x| x.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "prices[0].price",
            "prices[1].price",
            "prices[2].extra",
            "prices[3].id",
            "prices[4]"
        ]
    );
    assert!(errors[0].message.contains("expected a finite number > 0"));
    // Only unacceptable values: 422.
    let Err(e) = parse_prices(
        br#"{"prices": [{"id": "a", "asset": "ETH", "price": 0}]}"#,
        0,
    ) else {
        panic!("accepted")
    };
    assert_eq!(e.status(), 422);
}

#[test]
fn positions_set_and_close() {
    let body = br#"{"changes": [
        {"id": "1", "op": "set", "protocol": "p", "account": "a", "asset": "ETH", "side": "debt", "amount": 0},
        {"id": "2", "op": "close", "protocol": "p", "account": "a"}
    ]}"#;
    let e = parse_positions(body, 1).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        e[0].change,
        Change::Position {
            protocol: "p".into(),
            account: "a".into(),
            asset: "ETH".into(),
            side: PositionSide::Debt,
            amount: 0.0
        }
    );
    assert_eq!(
        e[1].change,
        Change::Close {
            protocol: "p".into(),
            account: "a".into()
        }
    );
    let bad = br#"{"changes": [{"id": "1", "op": "set", "protocol": "p", "account": "a", "asset": "ETH", "side": "both", "amount": -2},
                               {"id": "2", "op": "open"}]}"#;
    let Err(IngestError::Items { errors, .. }) = parse_positions(bad, 0) else {
        panic!("accepted")
    };
    let fields: Vec<&str> = errors.iter().map(|x| x.field.as_str()).collect();
    assert_eq!(
        fields,
        ["changes[0].side", "changes[0].amount", "changes[1].op"]
    );
}

#[test]
fn bodies_of_the_wrong_shape_are_syntax_errors() {
    for body in [
        &b"not json"[..],
        b"[]",
        b"{}",
        br#"{"prices": {}}"#,
        br#"{"prices": [], "more": 1}"#,
        br#"{"prices": [{"id": "a", "asset": "ETH", "price": 1e999}]}"#,
    ] {
        let r = parse_prices(body, 0);
        assert!(
            matches!(r, Err(IngestError::Syntax(_))),
            "{}: {r:?}",
            String::from_utf8_lossy(body)
        );
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
        let _ = parse_prices(&body, 0);
        let _ = parse_positions(&body, 0);
    }
}
