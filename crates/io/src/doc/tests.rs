use super::*;

#[test]
fn toml_lines_are_those_of_the_values() {
    let text = "name = \"x\"\n\n[[asset]]\nid = \"ETH\"\nprice = 2000.0\nliquidity = { curve = \"power_law\",\n  k = 1.0 }\n";
    let mut d = Diagnostics::new();
    let n = parse(text, Format::Toml, "s.toml", &mut d).unwrap();
    let Value::Obj(top) = &n.value else { panic!() };
    assert_eq!(top[0].1.line, 1);
    let Value::Arr(assets) = &top[1].1.value else {
        panic!()
    };
    let Value::Obj(a) = &assets[0].value else {
        panic!()
    };
    assert_eq!(a[0].1.line, 4);
    assert_eq!(a[1].1.line, 5);
    let Value::Obj(liq) = &a[2].1.value else {
        panic!()
    };
    assert_eq!(liq[1].1.line, 7);
}

#[test]
fn json_lines_and_syntax_errors() {
    let text =
        "{\n \"name\": \"x\",\n \"asset\": [\n  {\"id\": \"ETH\",\n   \"price\": 2000}\n ]\n}";
    let mut d = Diagnostics::new();
    let n = parse(text, Format::Json, "s.json", &mut d).unwrap();
    let Value::Obj(top) = &n.value else { panic!() };
    let Value::Arr(assets) = &top[1].1.value else {
        panic!()
    };
    let Value::Obj(a) = &assets[0].value else {
        panic!()
    };
    assert_eq!(a[1].1.line, 5);
    assert!(parse("{\n\"a\": }", Format::Json, "s.json", &mut d).is_none());
    assert_eq!(d.items[0].location, Location::Line(2));
}

#[test]
fn toml_syntax_error_names_line() {
    let mut d = Diagnostics::new();
    assert!(parse("a = 1\nb = = 2\n", Format::Toml, "s.toml", &mut d).is_none());
    assert_eq!(d.items[0].location, Location::Line(2));
}

#[test]
fn json_duplicate_keys_are_errors_naming_both_lines() {
    let text = "{\n \"name\": \"x\",\n \"asset\": [ {\"id\": \"ETH\",\n  \"id\": \"BTC\"} ],\n \"name\": \"y\"\n}";
    let mut d = Diagnostics::new();
    let n = parse(text, Format::Json, "s.json", &mut d).unwrap();
    let shown: Vec<String> = d.items.iter().map(|x| x.to_string()).collect();
    assert_eq!(
        shown,
        [
            "error: s.json:4: id: duplicate key \"id\"; first on line 3",
            "error: s.json:5: name: duplicate key \"name\"; first on line 2",
        ]
    );
    // The first of the two is the one kept.
    let Value::Obj(top) = &n.value else { panic!() };
    assert_eq!(top[0].1.value, Value::Str("x".into()));
}
