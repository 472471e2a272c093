//! The live state at scale (docs/serve-live.md#performance): a generated system of
//! `CASCADE_LIVE_ACCOUNTS` accounts (default 1,000,000) built from the built-in system; one price
//! update followed by the summary and that asset's ladder (latency percentiles over many updates),
//! batched price updates and position changes (rates), and a checkpoint's write and restore.
//! `cargo bench -p cascade-serve --bench live` (release). The percentiles are printed; criterion
//! then times the same single-update path and the queries.

use std::time::{Duration, Instant};

use cascade_io::{snapshot_from_str, Format};
use cascade_serve::events::{Change, PositionSide};
use cascade_serve::live::{Live, Resolved};
use criterion::Criterion;

const SYSTEM: &str = include_str!("../../../examples/builtin/system.toml");
const EXOGENOUS: [&str; 6] = ["ETH", "WBTC", "USDC", "USDT", "AAVE", "TBILL"];

/// splitmix64: the bench's own seeded draws.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// User + system CPU time of this process so far, seconds (Linux `/proc/self/stat`, in clock ticks
/// of 1/100 s), if readable.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn resolve(l: &Live, c: &Change) -> Resolved {
    match l.resolve(c) {
        Ok(r) => r,
        Err(e) => panic!("{c:?}: {e}"),
    }
}

/// A price near the current one (a random walk of ±0.5% per update, kept within ±20% of the
/// snapshot's so that the system neither melts down nor drifts away).
fn next_price(l: &Live, rng: &mut Rng, asset: &str, reference: f64) -> f64 {
    let p = l.price(asset).unwrap_or(reference);
    (p * (1.0 + 0.01 * (rng.unit() - 0.5))).clamp(0.8 * reference, 1.2 * reference)
}

fn main() {
    let n: usize = std::env::var("CASCADE_LIVE_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let (base, _) =
        snapshot_from_str(SYSTEM, Format::Toml, "system.toml").expect("built-in system");
    let t = Instant::now();
    let snapshot = cascade_gen::generate(&base, n, 1);
    let positions = snapshot.positions.len();
    println!(
        "generate {n} accounts ({positions} positions): {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let mut live = Live::new(snapshot.clone()).expect("generated system");
    println!("Live::new: {:.2} s", t.elapsed().as_secs_f64());
    let reference: Vec<f64> = EXOGENOUS
        .iter()
        .map(|a| live.price(a).unwrap_or(1.0))
        .collect();
    let mut rng = Rng(7);

    // One price update → summary and that asset's ladder, assets in turn (each ladder query
    // repairs what the other assets' updates made stale in its index).
    let rounds: usize = std::env::var("CASCADE_LIVE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut per_asset: Vec<Vec<Duration>> = vec![Vec::new(); EXOGENOUS.len()];
    let mut apply_only: Vec<Vec<Duration>> = vec![Vec::new(); EXOGENOUS.len()];
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    for _ in 0..rounds {
        for (i, asset) in EXOGENOUS.iter().enumerate() {
            let p = next_price(&live, &mut rng, asset, reference[i]);
            let r = resolve(
                &live,
                &Change::Price {
                    asset: asset.to_string(),
                    price: p,
                },
            );
            let t = Instant::now();
            live.apply(std::slice::from_ref(&r));
            let a = t.elapsed();
            let s = live.summary();
            let l = live.ladder(asset);
            let total = t.elapsed();
            std::hint::black_box((s, l));
            per_asset[i].push(total);
            apply_only[i].push(a);
        }
    }
    println!("one price update → summary + ladder ({rounds} updates per asset, assets in turn):");
    let mut all = Vec::new();
    for (i, asset) in EXOGENOUS.iter().enumerate() {
        let v = &mut per_asset[i];
        v.sort();
        apply_only[i].sort();
        all.extend_from_slice(v);
        println!(
            "  {asset:>5}: p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms   (apply alone: p50 {:.3} ms, p99 {:.3} ms)",
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.99)),
            ms(percentile(v, 1.0)),
            ms(percentile(&apply_only[i], 0.5)),
            ms(percentile(&apply_only[i], 0.99)),
        );
    }
    all.sort();
    println!(
        "  all  : p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
        ms(percentile(&all, 1.0))
    );
    if let (Some(c0), Some(c1)) = (cpu0, cpu_seconds()) {
        let updates = (rounds * EXOGENOUS.len()).max(1) as f64;
        println!(
            "  CPU time of the process per update (all threads; less sensitive to other load than the wall clock): {:.3} ms, wall {:.3} ms",
            (c1 - c0) * 1e3 / updates,
            wall0.elapsed().as_secs_f64() * 1e3 / updates
        );
    }

    // A ladder read after another asset's update: no pass of this batch to reuse, so the query
    // goes through the rows of the asset itself.
    let mut other: Vec<Duration> = Vec::new();
    for _ in 0..20 {
        let p = next_price(&live, &mut rng, "WBTC", reference[1]);
        let r = resolve(
            &live,
            &Change::Price {
                asset: "WBTC".into(),
                price: p,
            },
        );
        live.apply(std::slice::from_ref(&r));
        let t = Instant::now();
        std::hint::black_box(live.ladder("ETH"));
        other.push(t.elapsed());
    }
    other.sort();
    println!(
        "ladder(ETH) right after a WBTC update: p50 {:.3} ms, max {:.3} ms",
        ms(percentile(&other, 0.5)),
        ms(percentile(&other, 1.0))
    );

    // Batched price updates: random assets, random walk.
    for batch in [100usize, 1_000, 10_000] {
        let batches = (200_000 / batch).max(5);
        let mut spent = Duration::ZERO;
        for _ in 0..batches {
            let b: Vec<Resolved> = (0..batch)
                .map(|_| {
                    let i = (rng.next() % EXOGENOUS.len() as u64) as usize;
                    let p = next_price(&live, &mut rng, EXOGENOUS[i], reference[i]);
                    resolve(
                        &live,
                        &Change::Price {
                            asset: EXOGENOUS[i].into(),
                            price: p,
                        },
                    )
                })
                .collect();
            let t = Instant::now();
            live.apply(&b);
            spent += t.elapsed();
        }
        println!(
            "price updates in batches of {batch}: {:.0} updates/s ({:.2} ms per batch)",
            (batches * batch) as f64 / spent.as_secs_f64(),
            ms(spent) / batches as f64
        );
    }

    // Batched position changes: existing accounts' collateral and debt set to nearby amounts,
    // some new accounts; resolve (names → indices) is timed separately.
    let accounts = live.accounts();
    let snap = live.snapshot();
    for batch in [1_000usize, 10_000, 100_000] {
        let batches = (1_000_000 / batch).max(5);
        let (mut spent_resolve, mut spent_apply) = (Duration::ZERO, Duration::ZERO);
        for j in 0..batches {
            let changes: Vec<Change> = (0..batch)
                .map(|i| {
                    let k = (rng.next() % accounts as u64) as usize;
                    let row = (rng.next() % snap.positions.len() as u64) as usize;
                    let k = if i % 2 == 0 {
                        k
                    } else {
                        snap.positions.account[row] as usize
                    };
                    let p = snap.accounts.protocol[k] as usize;
                    let asset = snap.positions.asset[row] as usize;
                    let side = match snap.positions.side[row] {
                        cascade_model::Side::Collateral => PositionSide::Collateral,
                        cascade_model::Side::Debt => PositionSide::Debt,
                    };
                    let account = if i % 100 == 99 {
                        format!("new-{j}-{i}")
                    } else {
                        snap.accounts.id[k].to_string()
                    };
                    Change::Position {
                        protocol: snap.protocols[p].id.clone(),
                        account,
                        asset: snap.assets[asset].id.clone(),
                        side,
                        amount: snap.positions.amount[row] * (0.9 + 0.2 * rng.unit()),
                    }
                })
                .collect();
            let t = Instant::now();
            let b: Vec<Resolved> = changes
                .iter()
                .filter_map(|c| live.resolve(c).ok())
                .collect();
            spent_resolve += t.elapsed();
            let t = Instant::now();
            live.apply(&b);
            spent_apply += t.elapsed();
        }
        let total = (batches * batch) as f64;
        println!(
            "position changes in batches of {batch}: {:.0} changes/s resolve + apply ({:.0}/s apply alone)",
            total / (spent_resolve + spent_apply).as_secs_f64(),
            total / spent_apply.as_secs_f64()
        );
    }

    // Checkpoint.
    let t = Instant::now();
    let bytes = live.to_bytes();
    let write = t.elapsed();
    let t = Instant::now();
    let back = Live::from_bytes(&snapshot, &bytes).expect("checkpoint");
    let read = t.elapsed();
    println!(
        "checkpoint: {:.1} MB, written in {:.0} ms, restored (Live::from_bytes) in {:.0} ms; first ladder after restore {:.0} ms",
        bytes.len() as f64 / 1e6,
        ms(write),
        ms(read),
        {
            let t = Instant::now();
            std::hint::black_box(back.ladder("ETH"));
            ms(t.elapsed())
        }
    );
    drop(back);

    let mut c = Criterion::default().configure_from_args().sample_size(20);
    let mut i = 0usize;
    c.bench_function(&format!("live/{n}/price_update+summary+ladder(ETH)"), |b| {
        b.iter(|| {
            i += 1;
            let p = reference[0] * (1.0 + 0.001 * ((i % 20) as f64 - 10.0));
            let r = resolve(
                &live,
                &Change::Price {
                    asset: "ETH".into(),
                    price: p,
                },
            );
            live.apply(std::slice::from_ref(&r));
            (live.summary(), live.ladder("ETH"))
        })
    });
    c.bench_function(&format!("live/{n}/summary"), |b| b.iter(|| live.summary()));
    c.bench_function(&format!("live/{n}/ladder(ETH) fresh"), |b| {
        b.iter(|| live.ladder("ETH"))
    });
    c.final_summary();
}
