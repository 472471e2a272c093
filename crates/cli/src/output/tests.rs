use super::*;

#[test]
fn negative_zero_is_written_as_zero_outside_strings_only() {
    let text = r#"{"a": -0.0, "b": [-0.0,-0.01, -0.05e3, -0.0e1], "c": "-0.0", "d\"-0.0": -0.0}"#;
    assert_eq!(
        without_negative_zero(text),
        r#"{"a": 0.0, "b": [0.0,-0.01, -0.05e3, -0.0e1], "c": "-0.0", "d\"-0.0": 0.0}"#
    );
}

#[test]
fn to_json_is_pretty_and_has_no_negative_zero() {
    let v = serde_json::json!({"x": -0.0, "y": -1.5});
    assert_eq!(
        to_json(&v).ok().as_deref(),
        Some("{\n  \"x\": 0.0,\n  \"y\": -1.5\n}")
    );
}

#[test]
fn an_output_path_in_a_missing_folder_is_a_usage_error_naming_it() {
    match check_output_path("--output", Path::new("/nonexistent-cascade/x.json")) {
        Err(Failure::Input(m)) => assert_eq!(
            m,
            "error: --output /nonexistent-cascade/x.json: cannot write: the folder /nonexistent-cascade does not exist"
        ),
        _ => panic!("expected a usage error"),
    }
    assert!(check_output_path("--output", Path::new("x.json")).is_ok());
}
