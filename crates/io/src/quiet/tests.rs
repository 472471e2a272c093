use super::*;

#[test]
fn a_panic_is_caught_with_its_message() {
    let r: Result<(), String> = catch_quietly(|| panic!("bad page {}", 3));
    assert_eq!(r, Err("bad page 3".to_string()));
    assert_eq!(catch_quietly(|| 7), Ok(7));
    let r: Result<(), String> = catch_quietly(|| panic!("static"));
    assert_eq!(r, Err("static".to_string()));
}

#[test]
fn the_flag_is_restored_after_a_catch() {
    let _ = catch_quietly(|| catch_quietly(|| panic!("inner")));
    assert!(!QUIET.with(Cell::get));
}
