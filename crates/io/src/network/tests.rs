use super::*;

/// The rendered errors of reading `text` with `read`, one per line.
fn errors(
    text: &str,
    read: fn(&mut NetworkTables, &str, &[u8]) -> Result<(), LoadError>,
) -> Vec<String> {
    let mut t = NetworkTables::new();
    match read(&mut t, "L.csv", text.as_bytes()) {
        Ok(()) => Vec::new(),
        Err(e) => e.diagnostics.items.iter().map(|d| d.to_string()).collect(),
    }
}

fn liabilities(t: &mut NetworkTables, f: &str, b: &[u8]) -> Result<(), LoadError> {
    t.read_from(NetworkFile::Liabilities, f, b)
}
fn external(t: &mut NetworkTables, f: &str, b: &[u8]) -> Result<(), LoadError> {
    t.read_from(NetworkFile::ExternalAssets, f, b)
}
fn exposures(t: &mut NetworkTables, f: &str, b: &[u8]) -> Result<(), LoadError> {
    t.read_from(NetworkFile::Exposures, f, b)
}
fn equity(t: &mut NetworkTables, f: &str, b: &[u8]) -> Result<(), LoadError> {
    t.read_from(NetworkFile::Equity, f, b)
}

#[test]
fn sparse_liabilities_and_external_assets_index_nodes_across_files() {
    let mut t = NetworkTables::new();
    t.read_from(
        NetworkFile::Liabilities,
        "L.csv",
        "debtor,creditor,amount\nbank A,B,2\nB,bank A,2.2\n\nbank A,B,0.5\n".as_bytes(),
    )
    .unwrap();
    t.read_from(
        NetworkFile::ExternalAssets,
        "E.csv",
        "node,external_assets,external_liabilities\nB,1,\nC,3,4\nbank A,1,0.25\n".as_bytes(),
    )
    .unwrap();
    assert_eq!(t.names, ["bank A", "B", "C"]);
    assert_eq!(t.liabilities, [(0, 1, 2.0), (1, 0, 2.2), (0, 1, 0.5)]);
    assert_eq!(
        t.external,
        [Some((1.0, 0.25)), Some((1.0, 0.0)), Some((3.0, 4.0))]
    );
}

#[test]
fn dense_liabilities_exposures_and_equity() {
    let mut t = NetworkTables::new();
    t.read_from(
        NetworkFile::Liabilities,
        "L.csv",
        ",x,y\ny,2,0\nx,0,0\n".as_bytes(),
    )
    .unwrap();
    assert_eq!(t.names, ["x", "y"]);
    assert_eq!(t.liabilities, [(1, 0, 2.0)]);
    let mut t = NetworkTables::new();
    t.read_from(
        NetworkFile::Exposures,
        "X.csv",
        "creditor,debtor,amount\nA,B,4\n".as_bytes(),
    )
    .unwrap();
    t.read_from(
        NetworkFile::Equity,
        "Q.csv",
        "node,equity,weight\nA,10,\nB,5,7\n".as_bytes(),
    )
    .unwrap();
    assert_eq!(t.exposures, [(0, 1, 4.0)]);
    assert_eq!(t.equity, [Some((10.0, None)), Some((5.0, Some(7.0)))]);
}

#[test]
fn every_bad_row_is_reported_with_row_and_column() {
    let e = errors(
        "debtor,creditor,amount\na,b,1\na,b,x\na,,1\na,b\na,b,-1\na,a,1\na,b,inf\n",
        liabilities,
    );
    assert_eq!(
        e,
        [
            "error: L.csv: row 2: amount: = \"x\", expected a finite number ≥ 0",
            "error: L.csv: row 3: creditor: empty; expected a node name",
            "error: L.csv: row 4: found 2 fields, expected 3 (debtor,creditor,amount)",
            "error: L.csv: row 5: amount: = -1, expected a finite number ≥ 0",
            "error: L.csv: row 6: amount: = 1, expected 0 when debtor = creditor",
            "error: L.csv: row 7: amount: = inf, expected a finite number ≥ 0",
        ]
    );
    assert_eq!(
        errors("from,to,value\na,b,1\n", liabilities),
        ["error: L.csv: row 0: header: found \"from,to,value\", expected \"debtor,creditor,amount\""]
    );
    assert_eq!(
        errors("", liabilities),
        ["error: L.csv: row 0: empty file; expected a header \"debtor,creditor,amount\" and one row per line"]
    );
    // Dense: wrong width, self-liability on the diagonal, a repeated row.
    assert_eq!(
        errors(",x,y\nx,0,1\ny,2\nx,1,1\nx,0,1\n", liabilities),
        [
            "error: L.csv: row 2: found 2 fields, expected 3 (row name and 2 amounts)",
            "error: L.csv: row 3: node: duplicate node \"x\"; first in row 1",
            "error: L.csv: row 4: node: duplicate node \"x\"; first in row 1",
        ]
    );
    assert_eq!(
        errors(",x,y\nx,1,1\n", liabilities),
        ["error: L.csv: row 1: x: = 1, expected 0 on the diagonal (no self-liabilities)"]
    );
    assert_eq!(
        errors("node,external_assets\na,1\na,2\nb,-3\n", external),
        [
            "error: L.csv: row 2: node: duplicate node \"a\"; first in row 1",
            "error: L.csv: row 3: external_assets: = -3, expected a finite number ≥ 0",
        ]
    );
    assert_eq!(
        errors("node,equity\na,1,2\n", equity),
        ["error: L.csv: row 1: found 3 fields, expected 2"]
    );
    assert_eq!(
        errors("node,capital\n", equity),
        ["error: L.csv: row 0: header: found \"node,capital\", expected \"node,equity[,weight]\""]
    );
    assert_eq!(
        errors("creditor,debtor,amount\n,b,1\n", exposures),
        ["error: L.csv: row 1: creditor: empty; expected a node name"]
    );
}

#[test]
fn rows_beyond_the_cap_are_counted() {
    let text = format!("debtor,creditor,amount\n{}", "a,b,x\n".repeat(60));
    let e = errors(&text, liabilities);
    assert_eq!(e.len(), crate::positions::MAX_ROW_ERRORS + 1);
    assert_eq!(
        e[e.len() - 1],
        "error: L.csv: ... and 10 more rows with errors"
    );
}

/// Writes `files` into a temporary folder; returns it and their paths.
fn files(files: &[(&str, &str)]) -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let paths = files
        .iter()
        .map(|(name, text)| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        })
        .collect();
    (dir, paths)
}

#[test]
fn a_node_without_an_external_assets_row_is_an_error() {
    let (_dir, p) = files(&[
        ("L.csv", "debtor,creditor,amount\nA,B,4\nB,C,3\n"),
        ("E.csv", "node,external_assets\nA,20\nB,20\n"),
    ]);
    let e = read_clearing_network(&p[0], &p[1]).unwrap_err().diagnostics;
    assert_eq!(e.items.len(), 1, "{e}");
    let d = &e.items[0];
    assert_eq!(d.file, p[1].display().to_string());
    assert_eq!(d.field, "node");
    assert_eq!(
        d.message(),
        format!(
            "no row for node \"C\" (named in {}, row 2); expected one row for every node of the network",
            p[0].display()
        )
    );
    // With C's row the network reads, C third.
    let (_dir, p) = files(&[
        ("L.csv", "debtor,creditor,amount\nA,B,4\nB,C,3\n"),
        ("E.csv", "node,external_assets\nC,10\nA,20\nB,20\n"),
    ]);
    let t = read_clearing_network(&p[0], &p[1]).unwrap();
    assert_eq!(t.external[2], Some((10.0, 0.0)));
}

#[test]
fn a_node_without_equity_and_problems_of_both_files_are_all_reported() {
    let (_dir, p) = files(&[
        ("X.csv", "creditor,debtor,amount\nA,B,4\nC,A,3\n"),
        ("Q.csv", "node,equity\nA,10\nB,5\n"),
    ]);
    let e = read_debtrank_network(&p[0], &p[1]).unwrap_err().diagnostics;
    assert_eq!(e.items.len(), 1, "{e}");
    assert!(e.items[0].message().starts_with("no row for node \"C\""));
    let (_dir, p) = files(&[
        ("X.csv", "creditor,debtor,amount\nA,B,x\n"),
        ("Q.csv", "node,equity\nA,-1\n"),
    ]);
    let e = read_debtrank_network(&p[0], &p[1]).unwrap_err().diagnostics;
    let fields: Vec<&str> = e.items.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["amount", "equity"], "{e}");
    let missing = p[0].with_file_name("nope.csv");
    let e = read_debtrank_network(&missing, &p[1])
        .unwrap_err()
        .diagnostics;
    assert!(
        e.items[0].to_string().contains("nope.csv: cannot read"),
        "{e}"
    );
}

#[test]
fn bytes_that_are_not_utf8_are_reported_and_the_rest_read() {
    let mut text = b"debtor,creditor,amount\na,b,1\n".to_vec();
    text.extend_from_slice(b"a,\xff,1\nc,d,x\n");
    let mut t = NetworkTables::new();
    let e = t
        .read_from(NetworkFile::Liabilities, "L.csv", &text[..])
        .unwrap_err()
        .diagnostics;
    assert_eq!(e.items.len(), 2, "{e}");
    assert_eq!(e.items[0].location, Location::Row(2));
    assert_eq!(e.items[1].location, Location::Row(3));
}
