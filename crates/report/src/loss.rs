//! The loss distribution of a Monte Carlo run (docs/monte-carlo.md#loss-of-a-path) as a histogram
//! with VaR and ES markers.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use cascade_engine::trace::fmt_usd;

use crate::axis::Axis;
use crate::charts::{axis_usd, house_style, render, trim_decimals, FONT, WIDTH};

/// Positive losses spanning more than this ratio (max / min) are binned on a log scale, so a few
/// extreme paths do not squash the rest of the distribution into one bar.
const LOG_SCALE_SPAN: f64 = 50.0;
const MIN_BINS: usize = 10;
const MAX_BINS: usize = 60;

/// The chart's frame in pixels: its height, the room under the plot for the caption lines, the
/// margin, the room on the right for half the last x label past the plot's end, the y and x label
/// areas and the title's font size. What is left of the top `height − caption_h` pixels is the plot.
struct Frame {
    height: u32,
    caption_h: u32,
    margin: u32,
    margin_right: u32,
    y_label_area: u32,
    x_label_area: u32,
    title_font: u32,
}

const FRAME: Frame = Frame {
    height: 500,
    caption_h: 64,
    margin: 12,
    margin_right: 32,
    y_label_area: 72,
    x_label_area: 50,
    title_font: 22,
};

/// How VaR and ES marker labels are set, pixels: font size, one row's height, the least gap between
/// two labels on a row, the approximate width of a character (the SVG renders the 16 px font at
/// ~13 px: 7–8 px a character) and how far a label starts from its marker's line.
pub(crate) struct MarkerLabels {
    pub(crate) font: u32,
    pub(crate) row_h: f64,
    pub(crate) gap: f64,
    pub(crate) char_w: f64,
    pub(crate) pad: f64,
}

pub(crate) const LABELS: MarkerLabels = MarkerLabels {
    font: 16,
    row_h: 22.0,
    gap: 10.0,
    char_w: 7.5,
    pad: 4.0,
};

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

    render(WIDTH, FRAME.height, |root| {
        let (plot, foot) = root.split_vertically(FRAME.height - FRAME.caption_h);
        let style = (FONT, 16).into_font().color(&RGBColor(60, 68, 77));
        for (k, line) in caption.iter().enumerate() {
            foot.draw(&Text::new(
                line.clone(),
                (16, 8 + 24 * k as i32),
                style.clone(),
            ))?;
        }
        let scale = bins.as_ref().map_or(Scale::Linear, |b| b.scale);
        // The x range: the bins (a hair of room on the left of a log axis), or up to the markers when
        // nothing was binned; widened to round ticks by `Axis`, which is total on any input.
        let (lo, hi) = match &bins {
            Some(b) => {
                let end = b.start + b.width * b.counts.len() as f64;
                let left = match scale {
                    Scale::Linear => b.start,
                    Scale::Log10 => b.start - 0.02 * (end - b.start),
                };
                (left, end)
            }
            None => (0.0, marker_values.iter().copied().fold(1.0, f64::max)),
        };
        let x_axis = Axis::nice(lo, hi, 10);
        let (x0, x1) = (x_axis.lo, x_axis.hi);
        let max_count = bins
            .as_ref()
            .map_or(0, |b| b.counts.iter().copied().max().unwrap_or(0));
        // The plot's pixel box inside `plot` (see the constants), for laying out the marker labels.
        let plot_left = f64::from(FRAME.margin + FRAME.y_label_area);
        let plot_right = f64::from(WIDTH - FRAME.margin_right);
        let plot_h = f64::from(
            FRAME.height
                - FRAME.caption_h
                - 2 * FRAME.margin
                - FRAME.x_label_area
                - FRAME.title_font
                - 8,
        );
        let to_px = |x: f64| {
            let f = if x1 > x0 { (x - x0) / (x1 - x0) } else { 0.0 };
            plot_left + f.clamp(0.0, 1.0) * (plot_right - plot_left)
        };
        let shown: Vec<(&Marker, f64)> = markers
            .iter()
            .filter(|m| m.usd.is_finite())
            .map(|m| {
                let x = if m.usd > 0.0 {
                    scale.to_plot(m.usd).clamp(x0, x1)
                } else {
                    x0
                };
                (m, x)
            })
            .collect();
        let placed = layout_labels(
            &shown
                .iter()
                .map(|(m, x)| (to_px(*x), label_width(&m.label)))
                .collect::<Vec<_>>(),
            (plot_left, plot_right),
        );
        let rows = placed.iter().map(|p| p.row + 1).max().unwrap_or(0);
        // Head room above the highest bar for the rows of marker labels.
        let band = (LABELS.row_h * rows as f64 + 8.0) / plot_h;
        let y = Axis::nice_with_min_step(
            0.0,
            (max_count as f64 * 1.08 / (1.0 - band.min(0.7))).max(1.0),
            8,
            1.0,
        );
        let y_top = y.hi;
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, (FONT, FRAME.title_font))
            .margin(FRAME.margin)
            .margin_right(FRAME.margin_right)
            .x_label_area_size(FRAME.x_label_area)
            .y_label_area_size(FRAME.y_label_area)
            .build_cartesian_2d(x_axis, y)?;
        let x_desc = match scale {
            Scale::Linear => "loss (USD)",
            Scale::Log10 => "loss (USD, log scale)",
        };
        house_style(
            chart
                .configure_mesh()
                .x_label_formatter(&|x| axis_usd(round_sig(scale.to_usd(*x), 2)))
                .y_label_formatter(&|y| {
                    if (y - y.round()).abs() < 1e-9 {
                        format!("{}", y.round() as u64)
                    } else {
                        String::new()
                    }
                })
                .x_desc(x_desc)
                .y_desc("paths"),
        )
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
        let top = chart.backend_coord(&(x0, y_top)).1;
        // Every line first, then every label on its white backing, so no line strikes a label out.
        for (m, x) in &shown {
            chart.draw_series(DashedLineSeries::new(
                vec![(*x, 0.0), (*x, y_top)],
                6,
                4,
                m.color.stroke_width(2),
            ))?;
        }
        for ((m, _), p) in shown.iter().zip(&placed) {
            // Drawn in pixels, where `layout_labels` put them.
            let ty = top + 4 + (LABELS.row_h * p.row as f64) as i32;
            let (l, r) = (p.left as i32, p.right as i32);
            plot.draw(&Rectangle::new(
                [(l - 2, ty - 1), (r + 2, ty + LABELS.font as i32 + 3)],
                WHITE.filled(),
            ))?;
            plot.draw(&Text::new(
                m.label.clone(),
                (l, ty),
                (FONT, LABELS.font)
                    .into_font()
                    .color(&m.color)
                    .pos(Pos::new(HPos::Left, VPos::Top)),
            ))?;
        }
        Ok(())
    })
}

/// A marker label's estimated width in pixels.
fn label_width(label: &str) -> f64 {
    label.chars().count() as f64 * LABELS.char_w
}

/// Where a marker label goes: its left and right edges (pixels) and its row (0 = top).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Placed {
    pub left: f64,
    pub right: f64,
    pub row: usize,
}

/// Lays out marker labels, given each marker's pixel x and its label's width, inside the plot's
/// `(left, right)` edges: a label sits right of its marker's line, or left of it when it would pass
/// the right edge; then it takes the first row (from the top) where it is at least `LABELS.gap` from
/// every label already there. Close markers so get labels on different rows; far ones share a row.
pub(crate) fn layout_labels(markers: &[(f64, f64)], (left, right): (f64, f64)) -> Vec<Placed> {
    let mut rows: Vec<Vec<(f64, f64)>> = Vec::new();
    markers
        .iter()
        .map(|&(x, w)| {
            let (a, b) = if x + LABELS.pad + w <= right {
                (x + LABELS.pad, x + LABELS.pad + w)
            } else {
                let b = (x - LABELS.pad).max(left + w);
                (b - w, b)
            };
            let free = |row: &Vec<(f64, f64)>| {
                row.iter()
                    .all(|&(c, d)| b + LABELS.gap <= c || d + LABELS.gap <= a)
            };
            let row = match rows.iter().position(free) {
                Some(r) => r,
                None => {
                    rows.push(Vec::new());
                    rows.len() - 1
                }
            };
            rows[row].push((a, b));
            Placed {
                left: a,
                right: b,
                row,
            }
        })
        .collect()
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
mod tests;
