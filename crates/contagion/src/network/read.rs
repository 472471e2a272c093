//! Reading a network's four CSV files (see the module documentation of [`super`]).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::{grow, NetworkBuilder, NetworkError, EXPECTED_AMOUNT};

impl NetworkBuilder {
    /// Reads a liabilities file, sparse (`debtor,creditor,amount`) or dense (`,n1,n2,...`).
    pub fn read_liabilities(&mut self, path: &Path) -> Result<(), NetworkError> {
        let (file, reader) = open(path)?;
        self.read_liabilities_from(&file, reader)
    }

    /// As [`NetworkBuilder::read_liabilities`], from any reader; `file` names it in errors.
    pub fn read_liabilities_from(
        &mut self,
        file: &str,
        reader: impl Read,
    ) -> Result<(), NetworkError> {
        let mut rows = Rows::new(file, reader);
        let header = rows.header()?;
        if header.first().is_some_and(String::is_empty) {
            return self.read_dense_liabilities(rows, header);
        }
        let edges = self.read_edges(rows, &header, ["debtor", "creditor", "amount"], false)?;
        self.liabilities.extend(edges);
        Ok(())
    }

    /// The edges of a sparse file `<from>,<to>,amount` (`cols` names the columns), as
    /// `(from, to, amount)` node indices in file order; unless `self_edges`, a row whose two nodes
    /// are the same must have amount 0.
    fn read_edges<R: Read>(
        &mut self,
        mut rows: Rows<R>,
        header: &[String],
        cols: [&str; 3],
        self_edges: bool,
    ) -> Result<Vec<(usize, usize, f64)>, NetworkError> {
        rows.expect_header(header, &cols, 0)?;
        let fields = format!("3 ({})", cols.join(","));
        let mut edges = Vec::new();
        while let Some((row, rec)) = rows.next_record()? {
            rows.expect_fields(row, &rec, 3, &fields)?;
            let from = rows.node_name(row, &rec, 0, cols[0])?;
            let to = rows.node_name(row, &rec, 1, cols[1])?;
            let amount = rows.amount(row, &rec, 2, cols[2])?;
            if !self_edges && from == to && amount != 0.0 {
                let expected = format!("0 when {} = {}", cols[0], cols[1]);
                return Err(rows.field_error(row, 2, cols[2], &rec[2], &expected));
            }
            edges.push((self.node(from), self.node(to), amount));
        }
        Ok(edges)
    }

    /// Reads a file with one row per node, `node,<value>[,<optional value>]` (`cols` names the
    /// columns), handing each row's node index and values to `set`; a node given twice is an error.
    fn read_node_values(
        &mut self,
        file: &str,
        reader: impl Read,
        cols: [&str; 3],
        set: fn(&mut Self, usize, f64, Option<f64>),
    ) -> Result<(), NetworkError> {
        let mut rows = Rows::new(file, reader);
        let header = rows.header()?;
        let width = rows.expect_header(&header, &cols, 1)?;
        let mut seen: HashMap<usize, usize> = HashMap::new();
        while let Some((row, rec)) = rows.next_record()? {
            rows.expect_fields(row, &rec, width, &width.to_string())?;
            let name = rows.node_name(row, &rec, 0, cols[0])?;
            let value = rows.amount(row, &rec, 1, cols[1])?;
            let optional = rows.optional_amount(row, &rec, 2, cols[2])?;
            let node = self.node(name);
            if let Some(&first_row) = seen.get(&node) {
                return Err(NetworkError::Duplicate {
                    file: file.into(),
                    row,
                    node: name.into(),
                    first_row,
                });
            }
            seen.insert(node, row);
            set(self, node, value, optional);
        }
        Ok(())
    }

    fn read_dense_liabilities<R: Read>(
        &mut self,
        mut rows: Rows<R>,
        header: Vec<String>,
    ) -> Result<(), NetworkError> {
        let file = rows.file.clone();
        let mut col_nodes = Vec::with_capacity(header.len() - 1);
        let mut seen_cols: HashMap<&str, usize> = HashMap::new();
        for (k, name) in header.iter().enumerate().skip(1) {
            if name.is_empty() || seen_cols.insert(name, k).is_some() {
                return Err(NetworkError::Header {
                    file,
                    found: header.join(","),
                    expected: format!(
                        "\",n1,n2,...\" with distinct non-empty node names (column {})",
                        k + 1
                    ),
                });
            }
        }
        for name in header.iter().skip(1) {
            col_nodes.push(self.node(name));
        }
        let mut seen_rows: HashMap<String, usize> = HashMap::new();
        let expected = format!(
            "{} (row name and {} amounts)",
            header.len(),
            header.len() - 1
        );
        while let Some((row, rec)) = rows.next_record()? {
            rows.expect_fields(row, &rec, header.len(), &expected)?;
            let name = rows.node_name(row, &rec, 0, "node")?;
            if let Some(&first_row) = seen_rows.get(name) {
                return Err(NetworkError::Duplicate {
                    file,
                    row,
                    node: name.to_string(),
                    first_row,
                });
            }
            seen_rows.insert(name.to_string(), row);
            let debtor = self.node(name);
            for (k, &creditor) in col_nodes.iter().enumerate() {
                let amount = rows.amount(row, &rec, k + 1, &header[k + 1])?;
                if amount == 0.0 {
                    continue;
                }
                if debtor == creditor {
                    return Err(rows.field_error(
                        row,
                        k + 1,
                        &header[k + 1],
                        &rec[k + 1],
                        "0 on the diagonal (no self-liabilities)",
                    ));
                }
                self.liabilities.push((debtor, creditor, amount));
            }
        }
        Ok(())
    }

    /// Reads an external-assets file `node,external_assets[,external_liabilities]`.
    pub fn read_external_assets(&mut self, path: &Path) -> Result<(), NetworkError> {
        let (file, reader) = open(path)?;
        self.read_external_assets_from(&file, reader)
    }

    /// As [`NetworkBuilder::read_external_assets`], from any reader.
    pub fn read_external_assets_from(
        &mut self,
        file: &str,
        reader: impl Read,
    ) -> Result<(), NetworkError> {
        let cols = ["node", "external_assets", "external_liabilities"];
        self.read_node_values(file, reader, cols, |b, node, assets, liabilities| {
            grow(&mut b.external, node);
            b.external[node] = Some((assets, liabilities.unwrap_or(0.0)));
        })
    }

    /// Reads an exposures file `creditor,debtor,amount`.
    pub fn read_exposures(&mut self, path: &Path) -> Result<(), NetworkError> {
        let (file, reader) = open(path)?;
        self.read_exposures_from(&file, reader)
    }

    /// As [`NetworkBuilder::read_exposures`], from any reader.
    pub fn read_exposures_from(
        &mut self,
        file: &str,
        reader: impl Read,
    ) -> Result<(), NetworkError> {
        let mut rows = Rows::new(file, reader);
        let header = rows.header()?;
        let edges = self.read_edges(rows, &header, ["creditor", "debtor", "amount"], true)?;
        self.exposures.extend(edges);
        Ok(())
    }

    /// Reads an equity file `node,equity[,weight]`.
    pub fn read_equity(&mut self, path: &Path) -> Result<(), NetworkError> {
        let (file, reader) = open(path)?;
        self.read_equity_from(&file, reader)
    }

    /// As [`NetworkBuilder::read_equity`], from any reader.
    pub fn read_equity_from(&mut self, file: &str, reader: impl Read) -> Result<(), NetworkError> {
        let cols = ["node", "equity", "weight"];
        self.read_node_values(file, reader, cols, |b, node, equity, weight| {
            grow(&mut b.equity, node);
            b.equity[node] = Some((equity, weight));
        })
    }
}

fn open(path: &Path) -> Result<(String, std::fs::File), NetworkError> {
    let file = path.display().to_string();
    match std::fs::File::open(path) {
        Ok(f) => Ok((file, f)),
        Err(source) => Err(NetworkError::Io { file, source }),
    }
}

/// A CSV reader that numbers data rows from 1 and reports errors with file, row and column.
struct Rows<R: Read> {
    file: String,
    reader: csv::Reader<R>,
    record: csv::StringRecord,
    row: usize,
}

impl<R: Read> Rows<R> {
    fn new(file: &str, reader: R) -> Self {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(reader);
        Rows {
            file: file.to_string(),
            reader,
            record: csv::StringRecord::new(),
            row: 0,
        }
    }

    fn csv_error(&self, e: csv::Error) -> NetworkError {
        let message = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(source) => NetworkError::Io {
                file: self.file.clone(),
                source,
            },
            _ => NetworkError::Csv {
                file: self.file.clone(),
                row: self.row,
                message,
            },
        }
    }

    fn header(&mut self) -> Result<Vec<String>, NetworkError> {
        match self.reader.read_record(&mut self.record) {
            Ok(true) => Ok(self.record.iter().map(str::to_string).collect()),
            Ok(false) => Err(NetworkError::Header {
                file: self.file.clone(),
                found: "an empty file".into(),
                expected: "a header row".into(),
            }),
            Err(e) => Err(self.csv_error(e)),
        }
    }

    /// Checks the header names (case-insensitive; the last `optional` are optional); returns the
    /// number of columns present.
    fn expect_header(
        &self,
        header: &[String],
        names: &[&str],
        optional: usize,
    ) -> Result<usize, NetworkError> {
        let min = names.len() - optional;
        let ok = header.len() >= min
            && header.len() <= names.len()
            && header
                .iter()
                .zip(names)
                .all(|(h, n)| h.eq_ignore_ascii_case(n));
        if ok {
            return Ok(header.len());
        }
        let expected = if optional == 0 {
            names.join(",")
        } else {
            format!("{}[,{}]", names[..min].join(","), names[min..].join(",["))
                + &"]".repeat(optional - 1)
        };
        Err(NetworkError::Header {
            file: self.file.clone(),
            found: header.join(","),
            expected,
        })
    }

    /// The next non-blank data row and its 1-based number.
    fn next_record(&mut self) -> Result<Option<(usize, csv::StringRecord)>, NetworkError> {
        loop {
            self.row += 1;
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return Ok(None),
                Ok(true) => {
                    if self.record.len() == 1 && self.record[0].is_empty() {
                        self.row -= 1;
                        continue; // a blank line
                    }
                    return Ok(Some((self.row, self.record.clone())));
                }
                Err(e) => return Err(self.csv_error(e)),
            }
        }
    }

    fn expect_fields(
        &self,
        row: usize,
        rec: &csv::StringRecord,
        n: usize,
        expected: &str,
    ) -> Result<(), NetworkError> {
        if rec.len() == n {
            Ok(())
        } else {
            Err(NetworkError::FieldCount {
                file: self.file.clone(),
                row,
                found: rec.len(),
                expected: expected.into(),
            })
        }
    }

    fn field_error(
        &self,
        row: usize,
        col: usize,
        name: &str,
        found: &str,
        expected: &str,
    ) -> NetworkError {
        NetworkError::Field {
            file: self.file.clone(),
            row,
            column: col + 1,
            name: name.into(),
            found: found.into(),
            expected: expected.into(),
        }
    }

    fn node_name<'a>(
        &self,
        row: usize,
        rec: &'a csv::StringRecord,
        col: usize,
        name: &str,
    ) -> Result<&'a str, NetworkError> {
        match rec.get(col) {
            Some(s) if !s.is_empty() => Ok(s),
            other => Err(self.field_error(row, col, name, other.unwrap_or(""), "a node name")),
        }
    }

    fn amount(
        &self,
        row: usize,
        rec: &csv::StringRecord,
        col: usize,
        name: &str,
    ) -> Result<f64, NetworkError> {
        let s = rec.get(col).unwrap_or("");
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
            _ => Err(self.field_error(row, col, name, s, EXPECTED_AMOUNT)),
        }
    }

    fn optional_amount(
        &self,
        row: usize,
        rec: &csv::StringRecord,
        col: usize,
        name: &str,
    ) -> Result<Option<f64>, NetworkError> {
        match rec.get(col) {
            None | Some("") => Ok(None),
            Some(_) => self.amount(row, rec, col, name).map(Some),
        }
    }
}
