use super::*;

#[test]
fn dense_network_has_every_off_diagonal_pair_and_the_stated_balance_sheet() {
    let net = dense(5, 1).unwrap();
    assert_eq!(net.liabilities.nnz(), 20);
    let debt = net.liabilities.row_sums();
    for (i, d) in debt.iter().enumerate() {
        assert_eq!(net.liabilities.get(i, i), 0.0);
        assert!((net.external_liabilities[i] - 0.2 * d).abs() < 1e-15);
        assert!(net.external_assets[i] >= 0.0 && net.external_assets[i] <= 0.4 * d);
    }
    assert_eq!(net, dense(5, 1).unwrap());
}

#[test]
fn sparse_network_has_at_most_the_edges_asked_for() {
    let net = sparse(100, 300, 2).unwrap();
    assert!(net.liabilities.nnz() <= 300 && net.liabilities.nnz() > 250);
    assert!((0..100).all(|i| net.liabilities.get(i, i) == 0.0));
}
