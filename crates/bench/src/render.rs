//! Rendering a [`Report`]: the terminal table, and the Markdown of BENCHMARKS.md with the Python
//! peers' figures and the cascade/peer ratios.
//!
//! A ratio is `cascade throughput / peer throughput` (items per second each, so runs of different
//! sizes compare), counted only when the peer reproduced cascade's numbers to its tolerance.

use serde::{Deserialize, Serialize};

use crate::suite::{Measurement, Report};
use cascade_model::units::fmt_count;

/// The Python peers' results (`bench/peers/run_peers.py` writes them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Peers {
    /// Python version and package versions, in words.
    #[serde(default)]
    pub environment: String,
    pub peers: Vec<Peer>,
}

/// One peer measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Peer {
    /// What it is, in words (e.g. "QuantLib BlackCalculator, Python API").
    pub name: String,
    /// The cascade workload it compares with (a key of [`crate::suite::WORKLOADS`]).
    pub workload: String,
    pub items: f64,
    pub unit: String,
    pub runs: usize,
    pub median_s: f64,
    /// Largest difference from cascade's reference output (its meaning in `check`).
    pub max_diff: f64,
    pub tolerance: f64,
    /// How the numbers were compared, in words.
    pub check: String,
    /// Whether the peer agreed with cascade to the tolerance (its time counts only then).
    pub agrees: bool,
    /// The peer's own notes (what it includes or leaves out).
    #[serde(default)]
    pub note: String,
    /// A minimum cascade/peer ratio the issue sets, if any.
    #[serde(default)]
    pub target_ratio: Option<f64>,
}

impl Peer {
    /// Items per second.
    pub fn throughput_per_s(&self) -> f64 {
        self.items / self.median_s
    }
}

/// `1.23 s`, `45.6 ms`, `789 µs`.
pub fn fmt_seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.0} µs", s * 1e6)
    }
}

/// `12.3M`, `456k`, `78.9`.
pub fn fmt_compact(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2}G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.0}k", x / 1e3)
    } else if x >= 10.0 || x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

fn limit_text(m: &Measurement) -> String {
    match (m.bandwidth_share, m.bytes_per_run) {
        (Some(s), Some(b)) => format!(
            "{:.1} GB/s = {:.0}% of peak triad",
            b / m.timing.median_s / 1e9,
            100.0 * s
        ),
        (None, Some(b)) => format!("{:.1} GB/s", b / m.timing.median_s / 1e9),
        _ => "—".into(),
    }
}

fn met_text(m: &Measurement) -> &'static str {
    match (m.target.is_some(), m.target_met) {
        (false, _) => "",
        (true, Some(true)) => "met",
        (true, Some(false)) => "MISSED",
        (true, None) => "not judged",
    }
}

/// A Markdown table cell: `|` escaped so text such as `|diff|` stays in its cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The terminal table.
pub fn table(r: &Report) -> String {
    let mut out = format!(
        "cascade bench — {} run, {} thread(s) on {} ({} cores, {:.1} GiB)\n",
        r.mode, r.machine.threads, r.machine.cpu_model, r.machine.cores, r.machine.memory_gib
    );
    if let Some(b) = &r.bandwidth {
        out.push_str(&format!(
            "memory bandwidth (STREAM-style, 3 × {:.0} MiB arrays): copy {:.1} GB/s (1 thread), {:.1} GB/s ({} threads); triad {:.1} GB/s (1 thread), {:.1} GB/s ({} threads)\n",
            b.array_mib, b.copy_1t_gb_s, b.copy_all_gb_s, b.threads, b.triad_1t_gb_s, b.triad_all_gb_s, b.threads
        ));
    }
    out.push('\n');
    out.push_str(&format!(
        "{:<24} {:<44} {:>10} {:>4} {:>20}  {:<26} {}\n",
        "workload", "size", "median", "runs", "throughput", "vs limit", "target"
    ));
    for m in &r.workloads {
        out.push_str(&format!(
            "{:<24} {:<44} {:>10} {:>4} {:>20}  {:<26} {}\n",
            m.name,
            m.size,
            fmt_seconds(m.timing.median_s),
            m.timing.runs,
            format!("{} {}/s", fmt_compact(m.throughput_per_s), m.unit),
            limit_text(m),
            match &m.target {
                Some(t) => format!("{t}: {}", met_text(m)),
                None => String::new(),
            }
        ));
    }
    for s in &r.skipped {
        out.push_str(&format!("{:<24} skipped: {}\n", s.name, s.reason));
    }
    out.push_str(&format!(
        "\nevery workload's output passed its sanity checks; whole run {}\n",
        fmt_seconds(r.wall_s)
    ));
    out
}

/// The cascade/peer ratio of `p` against `r`, if cascade ran that workload.
pub fn ratio(r: &Report, p: &Peer) -> Option<f64> {
    r.get(&p.workload)
        .map(|m| m.throughput_per_s / p.throughput_per_s())
}

/// BENCHMARKS.md: machine, commands, limits, the table, the targets and the peers.
pub fn markdown(r: &Report, peers: Option<&Peers>, command: &str) -> String {
    let mut o = String::new();
    o.push_str("# Benchmarks\n\n");
    o.push_str(
        "Generated by one command; do not edit by hand (the history at the end is kept in \
         `bench/history.md`).\n\n",
    );
    o.push_str(&format!("```sh\n{command}\n```\n\n"));
    o.push_str(
        "It builds the release binary, runs `cascade bench --out-dir DIR --json` (every workload on \
         seeded inputs it generates, median of the runs, each output checked for sanity, and the \
         reference inputs/outputs the peers compare against), installs the Python peers into a \
         virtual environment (`bench/peers/`), runs them, and renders this page with \
         `cascade bench --render DIR/cascade.json --peers DIR/peers.json`.\n\n",
    );
    o.push_str("## Machine\n\n");
    o.push_str(&format!(
        "| CPU | cores | threads used | memory | OS |\n|---|---|---|---|---|\n| {} | {} | {} | {:.1} GiB | {} {} |\n\n",
        r.machine.cpu_model, r.machine.cores, r.machine.threads, r.machine.memory_gib, r.machine.os, r.machine.arch
    ));
    o.push_str(&format!(
        "Mode: {}; seed {}; cascade {}; whole run {}.\n\n",
        r.mode,
        r.seed,
        r.cascade_version,
        fmt_seconds(r.wall_s)
    ));
    if let Some(b) = &r.bandwidth {
        o.push_str("## Limits measured in the same run\n\n");
        o.push_str(&format!(
            "STREAM-style kernels in Rust on three arrays of {} f64 ({:.0} MiB each, far larger than \
             the caches); bytes counted as STREAM does (copy 16 per element, triad 24), median of \
             {} runs.\n\n",
            fmt_count(b.elements),
            b.array_mib,
            b.triad_all.runs
        ));
        o.push_str("| kernel | 1 thread | all threads |\n|---|---|---|\n");
        o.push_str(&format!(
            "| copy `c = a` | {:.1} GB/s | {:.1} GB/s ({} threads) |\n",
            b.copy_1t_gb_s, b.copy_all_gb_s, b.threads
        ));
        o.push_str(&format!(
            "| triad `a = b + s·c` | {:.1} GB/s | {:.1} GB/s ({} threads) |\n\n",
            b.triad_1t_gb_s, b.triad_all_gb_s, b.threads
        ));
    }
    o.push_str("## Workloads\n\n");
    o.push_str("| workload | size | median | min – max | runs | throughput | vs limit |\n");
    o.push_str("|---|---|---|---|---|---|---|\n");
    for m in &r.workloads {
        o.push_str(&format!(
            "| {} (`{}`) | {} | {} | {} – {} | {} | {} {}/s | {} |\n",
            m.title,
            m.name,
            m.size,
            fmt_seconds(m.timing.median_s),
            fmt_seconds(m.timing.min_s),
            fmt_seconds(m.timing.max_s),
            m.timing.runs,
            fmt_compact(m.throughput_per_s),
            m.unit,
            limit_text(m)
        ));
    }
    for s in &r.skipped {
        o.push_str(&format!(
            "| `{}` | skipped: {} | | | | | |\n",
            s.name, s.reason
        ));
    }
    o.push_str("\nSanity checks every output passed:\n\n");
    for m in &r.workloads {
        o.push_str(&format!("- `{}`: {}\n", m.name, m.checks.join("; ")));
    }
    o.push_str("\n## Targets (2 cores)\n\n| target | measured | met |\n|---|---|---|\n");
    for m in &r.workloads {
        if let Some(t) = &m.target {
            let measured = match m.name.as_str() {
                "health_scan" => limit_text(m),
                "monte_carlo" => format!(
                    "{} per 10,000 paths ({} {}/s)",
                    fmt_seconds(
                        m.details["seconds_per_10k_paths"]
                            .as_f64()
                            .unwrap_or(f64::NAN)
                    ),
                    fmt_compact(m.throughput_per_s),
                    m.unit
                ),
                "black76" => format!("{} {}/s", fmt_compact(m.throughput_per_s), m.unit),
                _ => fmt_seconds(m.timing.median_s),
            };
            o.push_str(&format!(
                "| `{}`: {t} | {measured} | {} |\n",
                m.name,
                met_text(m)
            ));
        }
    }
    if let Some(p) = peers {
        for peer in p.peers.iter().filter(|x| x.target_ratio.is_some()) {
            let (want, got) = (peer.target_ratio.unwrap_or(0.0), ratio(r, peer));
            o.push_str(&format!(
                "| `{}` ≥ {want}× {} | {} | {} |\n",
                peer.workload,
                peer.name,
                got.map_or("—".into(), |x| format!("{x:.1}×")),
                match (peer.agrees, got) {
                    (false, _) => "not counted (disagrees)",
                    (true, Some(x)) if x >= want => "met",
                    (true, Some(_)) => "MISSED",
                    (true, None) => "not run",
                }
            ));
        }
    }
    o.push('\n');
    if let Some(p) = peers {
        o.push_str("## Peers, same machine, same run\n\n");
        o.push_str(&format!("{}\n\n", p.environment));
        o.push_str("| peer | compares with | work | median | throughput | agrees with cascade | cascade / peer |\n");
        o.push_str("|---|---|---|---|---|---|---|\n");
        for peer in &p.peers {
            o.push_str(&format!(
                "| {} | `{}` | {} {} | {} | {} {}/s | {} ({}: max {:.1e} ≤ {:.0e}) | {} |\n",
                cell(&peer.name),
                peer.workload,
                fmt_compact(peer.items),
                peer.unit,
                fmt_seconds(peer.median_s),
                fmt_compact(peer.throughput_per_s()),
                peer.unit,
                if peer.agrees { "yes" } else { "NO" },
                cell(&peer.check),
                peer.max_diff,
                peer.tolerance,
                match (peer.agrees, ratio(r, peer)) {
                    (true, Some(x)) => format!("**{x:.1}×**"),
                    (false, _) => "not counted".into(),
                    (true, None) => "—".into(),
                }
            ));
        }
        let notes: Vec<&Peer> = p.peers.iter().filter(|x| !x.note.is_empty()).collect();
        if !notes.is_empty() {
            o.push('\n');
            for peer in notes {
                o.push_str(&format!("- {}: {}\n", peer.name, peer.note));
            }
        }
        o.push('\n');
    }
    o
}

#[cfg(test)]
mod tests;
