use super::*;

#[test]
fn kernels_compute_copy_and_triad() {
    let a = vec![1.5; 300_000];
    let b = vec![2.0; 300_000];
    let mut c = vec![0.0; 300_000];
    copy_parallel(&a, &mut c);
    assert!(c.iter().all(|&x| x == 1.5));
    let mut out = vec![0.0; 300_000];
    triad_parallel(&mut out, &b, &c);
    // 2 + 3·1.5 = 6.5
    assert!(out.iter().all(|&x| x == 6.5));
}
