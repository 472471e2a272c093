//! The loss distribution of a Monte Carlo run (DESIGN §11) as a histogram with VaR and ES markers.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use cascade_engine::trace::fmt_usd;

use crate::charts::{axis_usd, render, trim_decimals, FONT, WIDTH};

/// Positive losses spanning more than this ratio (max / min) are binned on a log scale, so a few
/// extreme paths do not squash the rest of the distribution into one bar.
const LOG_SCALE_SPAN: f64 = 50.0;
const MIN_BINS: usize = 10;
const MAX_BINS: usize = 60;
const HEIGHT: u32 = 500;
/// Room under the plot for the caption lines.
const CAPTION_H: u32 = 64;

const BAR: RGBColor = RGBColor(78, 121, 167);
const VAR_COLOR: RGBColor = RGBColor(214, 110, 0);
const ES_COLOR: RGBColor = RGBColor(190, 30, 45);

/// How the loss axis maps USD to plot coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    Linear,
    Log10,
}

impl Scale {
    fn to_plot(self, usd: f64) -> f64 {
        match self {
            Scale::Linear => usd,
            Scale::Log10 => usd.log10(),
        }
    }

    fn to_usd(self, x: f64) -> f64 {
        match self {
            Scale::Linear => x,
            Scale::Log10 => 10f64.powf(x),
        }
    }
}

/// The bins of the positive part of a sample.
#[derive(Debug, Clone, PartialEq)]
struct Bins {
    scale: Scale,
    /// Left edge of the first bin, in plot coordinates.
    start: f64,
    width: f64,
    counts: Vec<u64>,
}

/// `level` as written (`"99%"`), or a fraction (`"0.99"` → `99%`) or a percentage number (`"97.5"` →
/// `97.5%`) made into one.
fn level_label(kind: &str, level: &str) -> String {
    let l = level.trim();
    if l.starts_with(kind) {
        return l.to_string();
    }
    match l.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => format!("{kind} {}%", trim_decimals(100.0 * v)),
        Ok(v) if (1.0..=100.0).contains(&v) => format!("{kind} {}%", trim_decimals(v)),
        _ => format!("{kind} {l}"),
    }
}

/// Bins the positive losses (sorted ascending, non-empty), widening the range to take in `extra`
/// positive values (the markers).
fn bin(pos: &[f64], extra: &[f64]) -> Bins {
    let lo = extra
        .iter()
        .copied()
        .filter(|v| *v > 0.0)
        .fold(pos[0], f64::min);
    let hi = extra.iter().copied().fold(pos[pos.len() - 1], f64::max);
    let scale = if hi / lo > LOG_SCALE_SPAN {
        Scale::Log10
    } else {
        Scale::Linear
    };
    let (a, b) = match scale {
        // A linear histogram of losses starts at zero, so bar heights compare with no loss.
        Scale::Linear => (0.0, hi),
        Scale::Log10 => (lo.log10(), hi.log10()),
    };
    let (a, b) = if b - a > 0.0 {
        (a, b)
    } else {
        (a - 0.5 * a.abs().max(1.0), b + 0.5 * b.abs().max(1.0))
    };
    // Freedman–Diaconis on the plotted values, within [MIN_BINS, MAX_BINS].
    let t: Vec<f64> = pos.iter().map(|v| scale.to_plot(*v)).collect();
    let n = t.len();
    let q = |p: f64| t[((n - 1) as f64 * p).round() as usize];
    let iqr = q(0.75) - q(0.25);
    let k = if iqr > 0.0 {
        let h = 2.0 * iqr / (n as f64).cbrt();
        ((b - a) / h).ceil() as usize
    } else {
        (n as f64).sqrt().ceil() as usize
    }
    .clamp(MIN_BINS, MAX_BINS);
    let width = (b - a) / k as f64;
    let mut counts = vec![0u64; k];
    for x in &t {
        let i = (((x - a) / width).floor().max(0.0) as usize).min(k - 1);
        counts[i] += 1;
    }
    Bins {
        scale,
        start: a,
        width,
        counts,
    }
}

struct Marker {
    label: String,
    usd: f64,
    color: RGBColor,
}

/// A histogram of a sample of losses (USD, one per path) as a standalone SVG document, with a
/// vertical marker for each VaR and ES level.
///
/// `var` and `es` are `(level, usd)` pairs; a level like `"99%"` is labelled `VaR 99%` (a fraction
/// `"0.99"` is shown as `99%` too). Bins cover only the positive losses — paths with no loss (≤ 0) are
/// counted in the caption — and switch to a log scale when the positive losses span more than a
/// factor of 50, so a few extreme paths stay visible without flattening the rest. An all-zero (or
/// empty) sample gives an empty plot that says so, with its markers at zero. Non-finite values are
/// left out and counted in the caption.
///
/// # Examples
/// ```
/// let losses = [0.0, 0.0, 1.0e6, 2.5e6, 4.0e7];
/// let svg = cascade_report::loss_distribution_svg(
///     &losses,
///     &[("99%".into(), 3.9e7)],
///     &[("99%".into(), 4.0e7)],
///     "System loss, 10 days",
/// );
/// assert!(svg.contains("VaR 99%") && svg.contains("ES 99%"));
/// ```
pub fn loss_distribution_svg(
    losses_usd: &[f64],
    var: &[(String, f64)],
    es: &[(String, f64)],
    title: &str,
) -> String {
    let finite: Vec<f64> = losses_usd
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let non_finite = losses_usd.len() - finite.len();
    let mut pos: Vec<f64> = finite.iter().copied().filter(|v| *v > 0.0).collect();
    pos.sort_by(f64::total_cmp);
    let no_loss = finite.len() - pos.len();

    let mut markers: Vec<Marker> = var
        .iter()
        .map(|(l, v)| Marker {
            label: level_label("VaR", l),
            usd: *v,
            color: VAR_COLOR,
        })
        .chain(es.iter().map(|(l, v)| Marker {
            label: level_label("ES", l),
            usd: *v,
            color: ES_COLOR,
        }))
        .collect();
    markers.sort_by(|a, b| a.usd.total_cmp(&b.usd));
    let marker_values: Vec<f64> = markers
        .iter()
        .map(|m| m.usd)
        .filter(|v| v.is_finite())
        .collect();

    let bins = if pos.is_empty() {
        None
    } else {
        Some(bin(&pos, &marker_values))
    };
    let caption = caption_lines(&finite, pos.len(), no_loss, non_finite, &markers, &bins);

    render(WIDTH, HEIGHT, |root| {
        let (plot, foot) = root.split_vertically(HEIGHT - CAPTION_H);
        let style = (FONT, 16).into_font().color(&RGBColor(60, 68, 77));
        for (k, line) in caption.iter().enumerate() {
            foot.draw(&Text::new(
                line.clone(),
                (16, 8 + 24 * k as i32),
                style.clone(),
            ))?;
        }
        let scale = bins.as_ref().map_or(Scale::Linear, |b| b.scale);
        let (x0, x1) = match &bins {
            Some(b) => {
                let end = b.start + b.width * b.counts.len() as f64;
                let pad = 0.02 * (end - b.start);
                let left = if scale == Scale::Linear {
                    b.start
                } else {
                    b.start - pad
                };
                (left, end + pad)
            }
            None => (0.0, marker_values.iter().copied().fold(1.0, f64::max) * 1.1),
        };
        let max_count = bins
            .as_ref()
            .map_or(0, |b| b.counts.iter().copied().max().unwrap_or(0));
        // Head room above the highest bar for the marker labels.
        let y_top = (max_count as f64 * (1.2 + 0.08 * markers.len() as f64)).max(1.0);
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, (FONT, 22))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(72)
            .build_cartesian_2d(x0..x1, 0.0..y_top)?;
        let x_desc = match scale {
            Scale::Linear => "loss (USD)",
            Scale::Log10 => "loss (USD, log scale)",
        };
        chart
            .configure_mesh()
            .x_labels(10)
            .x_label_formatter(&|x| axis_usd(round_sig(scale.to_usd(*x), 2)))
            .y_label_formatter(&|y| {
                if (y - y.round()).abs() < 1e-9 {
                    format!("{}", y.round() as u64)
                } else {
                    String::new()
                }
            })
            .x_desc(x_desc)
            .y_desc("paths")
            .label_style((FONT, 16))
            .axis_desc_style((FONT, 16))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 229, 234))
            .draw()?;
        match &bins {
            Some(b) => {
                chart.draw_series(b.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(
                    |(i, c)| {
                        let l = b.start + b.width * i as f64;
                        let mut r =
                            Rectangle::new([(l, 0.0), (l + b.width, *c as f64)], BAR.filled());
                        r.set_margin(0, 0, 1, 1);
                        r
                    },
                ))?;
                // Bins too thin to see as a bar (a few extreme paths) get a dot on the axis.
                chart.draw_series(
                    b.counts
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| **c > 0 && (**c as f64) < 0.012 * y_top)
                        .map(|(i, _)| {
                            let mid = b.start + b.width * (i as f64 + 0.5);
                            Circle::new((mid, 0.0), 3, BAR.filled())
                        }),
                )?;
            }
            None => {
                chart.draw_series(std::iter::once(Text::new(
                    "no path had a loss",
                    ((x0 + x1) / 2.0, y_top * 0.5),
                    (FONT, 18)
                        .into_font()
                        .color(&RGBColor(100, 110, 120))
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                )))?;
            }
        }
        for (k, m) in markers.iter().enumerate() {
            if !m.usd.is_finite() {
                continue;
            }
            let x = if m.usd > 0.0 {
                scale.to_plot(m.usd).clamp(x0, x1)
            } else {
                x0
            };
            chart.draw_series(DashedLineSeries::new(
                vec![(x, 0.0), (x, y_top)],
                6,
                4,
                m.color.stroke_width(2),
            ))?;
            let right_half = x > x0 + 0.7 * (x1 - x0);
            let (text, h) = if right_half {
                (format!("{}\u{a0}", m.label), HPos::Right)
            } else {
                (format!("\u{a0}{}", m.label), HPos::Left)
            };
            let y = y_top * (0.97 - 0.075 * k as f64);
            chart.draw_series(std::iter::once(Text::new(
                text,
                (x, y),
                (FONT, 16)
                    .into_font()
                    .color(&m.color)
                    .pos(Pos::new(h, VPos::Top)),
            )))?;
        }
        Ok(())
    })
}

/// `x` rounded to `digits` significant digits.
fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let m = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * m).round() / m
}

fn caption_lines(
    finite: &[f64],
    positive: usize,
    no_loss: usize,
    non_finite: usize,
    markers: &[Marker],
    bins: &Option<Bins>,
) -> Vec<String> {
    let n = finite.len();
    let mut first = if n == 0 {
        "No path in the sample.".to_string()
    } else if positive == 0 {
        format!(
            "All {n} path{} had no loss: nothing to bin.",
            if n == 1 { "" } else { "s" }
        )
    } else {
        let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!(
            "{positive} of {n} paths had a loss (max {}); {no_loss} path{} ({:.1}%) had no loss and {} not in the histogram.",
            fmt_usd(max),
            if no_loss == 1 { "" } else { "s" },
            100.0 * no_loss as f64 / n as f64,
            if no_loss == 1 { "is" } else { "are" },
        )
    };
    if let Some(b) = bins {
        if b.scale == Scale::Log10 {
            first.push_str(" Log scale: bins of equal width in log(loss).");
        }
    }
    if non_finite > 0 {
        first.push_str(&format!(" {non_finite} non-finite value(s) left out."));
    }
    let second = markers
        .iter()
        .map(|m| {
            let v = if m.usd.is_finite() {
                fmt_usd(m.usd)
            } else {
                "n/a".into()
            };
            format!("{} = {v}", m.label)
        })
        .collect::<Vec<_>>()
        .join(" · ");
    vec![first, second]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(level_label("VaR", "99%"), "VaR 99%");
        assert_eq!(level_label("VaR", "0.99"), "VaR 99%");
        assert_eq!(level_label("ES", "0.975"), "ES 97.5%");
        assert_eq!(level_label("ES", "97.5"), "ES 97.5%");
        assert_eq!(level_label("VaR", "VaR 95%"), "VaR 95%");
    }

    #[test]
    fn heavy_tail_goes_log_and_counts_every_path() {
        let mut pos: Vec<f64> = (1..=1000).map(|i| 1000.0 + i as f64).collect();
        pos.push(1.0e9);
        let b = bin(&pos, &[]);
        assert_eq!(b.scale, Scale::Log10);
        assert_eq!(b.counts.iter().sum::<u64>(), 1001);
        assert!((MIN_BINS..=MAX_BINS).contains(&b.counts.len()));
        assert_eq!(*b.counts.last().unwrap_or(&0), 1);
    }

    #[test]
    fn narrow_sample_is_linear_from_zero() {
        let pos: Vec<f64> = (1..=100).map(|i| 1.0e6 + 1.0e4 * i as f64).collect();
        let b = bin(&pos, &[]);
        assert_eq!(b.scale, Scale::Linear);
        assert_eq!(b.start, 0.0);
        assert_eq!(b.counts.iter().sum::<u64>(), 100);
    }

    #[test]
    fn single_value_has_a_range() {
        let b = bin(&[5.0], &[5.0]);
        assert!(b.width > 0.0);
        assert_eq!(b.counts.iter().sum::<u64>(), 1);
    }

    #[test]
    fn rounding() {
        assert_eq!(round_sig(3162.2776, 2), 3200.0);
        assert_eq!(round_sig(0.0, 2), 0.0);
    }
}
