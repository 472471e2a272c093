//! Charts drawn with plotters' SVG backend into a `String`: stacked horizontal bars, stacked vertical
//! bars and lines. Drawing into memory cannot fail in practice; if it does, the chart is replaced by a
//! small SVG that says so, never by a panic. Axis ranges and ticks come from [`Axis`], total on any
//! input, never from plotters' own tick search.

use std::error::Error;

use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axis::Axis;
use crate::html::escape_html;

/// Twenty colours, each clearly apart from every other (CIELAB ΔE76 ≥ 25 between any two, checked
/// by a test) and from the white background: D3's category10, then ten darker, brighter or paler
/// ones. Series past the twentieth reuse them with dashed lines.
pub(crate) const PALETTE: [RGBColor; 20] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
    RGBColor(0x0b, 0x1f, 0x6b),
    RGBColor(0xf5, 0xc4, 0x00),
    RGBColor(0x6a, 0x00, 0x32),
    RGBColor(0x00, 0xe0, 0xa0),
    RGBColor(0xff, 0x66, 0xff),
    RGBColor(0x5a, 0x3a, 0x00),
    RGBColor(0x7a, 0xa7, 0xff),
    RGBColor(0x3a, 0x5a, 0x00),
    RGBColor(0x11, 0x11, 0x11),
    RGBColor(0xff, 0x9e, 0x9e),
];

pub(crate) const FONT: &str = "sans-serif";
/// The width of a full-page chart, pixels; a chart in one column of two is [`HALF_WIDTH`] wide.
pub(crate) const WIDTH: u32 = 1000;
pub(crate) const HALF_WIDTH: u32 = 620;

pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
pub(crate) type DrawResult = Result<(), Box<dyn Error>>;

/// Draws into a fresh white `w`×`h` SVG and returns its text.
pub(crate) fn render<F>(w: u32, h: u32, draw: F) -> String
where
    F: FnOnce(&Area<'_>) -> DrawResult,
{
    let mut buf = String::new();
    let outcome: DrawResult = {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(Box::<dyn Error>::from)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(Box::<dyn Error>::from))
    };
    match outcome {
        Ok(()) => buf,
        Err(e) => error_svg(w, &e.to_string()),
    }
}

fn error_svg(w: u32, msg: &str) -> String {
    format!(
        "<svg width=\"{w}\" height=\"40\" viewBox=\"0 0 {w} 40\" xmlns=\"http://www.w3.org/2000/svg\">\
         <text x=\"10\" y=\"25\" font-family=\"{FONT}\" font-size=\"14\">chart could not be drawn: {}</text></svg>",
        escape_html(msg)
    )
}

/// A compact USD axis label: `$0`, `$950`, `$12k`, `$1.5M`, `$2.25B`, `$3.1T`, `$1.8e308`; `n/a` for
/// NaN, `∞` for infinities.
pub(crate) fn axis_usd(x: f64) -> String {
    if x.is_nan() {
        return "n/a".into();
    }
    let sign = if x < 0.0 { "−" } else { "" };
    if x.is_infinite() {
        return format!("{sign}∞");
    }
    // A hair up, so a tick at 10^6 computed as 999,999.9999 reads `$1M`, not `$1000k`.
    let a = x.abs() * (1.0 + 1e-9);
    if a >= 1e15 {
        return format!("{sign}${:.1e}", x.abs());
    }
    let (v, unit) = with_unit(a);
    format!("{sign}${}{unit}", trim_decimals(v))
}

/// A non-negative amount in thousands, millions, billions or trillions: `(1.5, "M")` for 1.5e6.
pub(crate) fn with_unit(a: f64) -> (f64, &'static str) {
    if a >= 1e12 {
        (a / 1e12, "T")
    } else if a >= 1e9 {
        (a / 1e9, "B")
    } else if a >= 1e6 {
        (a / 1e6, "M")
    } else if a >= 1e3 {
        (a / 1e3, "k")
    } else {
        (a, "")
    }
}

/// `1.50` → `1.5`, `2.00` → `2`, at most two decimals; from `1e15` in scientific notation
/// (`1.5e20`), so a huge value never prints hundreds of digits.
/// `v` with `decimals` decimals, trailing zeros trimmed (as [`trim_decimals`] does with two).
pub(crate) fn label_with(v: f64, decimals: usize) -> String {
    if !v.is_finite() || v.abs() >= 1e15 || decimals <= 2 {
        return trim_decimals(v);
    }
    let s = format!("{v:.decimals$}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

pub(crate) fn trim_decimals(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "n/a".into()
        } else {
            "∞".into()
        };
    }
    if v.abs() >= 1e15 {
        return format!("{v:.1e}");
    }
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Replaces a non-finite or negative figure by 0 (bars only show what happened).
fn bar_value(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 {
        v
    } else {
        0.0
    }
}

/// `a + b` for bar stacking, at most `f64::MAX`: stacked huge values must not reach infinity.
fn stack(a: f64, b: f64) -> f64 {
    (a + b).min(f64::MAX)
}

/// One series of a chart: its name, one value per category (or x), its colour and whether its line is
/// dashed (for series past the palette's end).
pub(crate) struct Series {
    pub name: String,
    pub values: Vec<f64>,
    pub color: RGBColor,
    pub dashed: bool,
}

impl Series {
    /// A series drawn in the `k`-th colour of the palette (dashed after the palette's end).
    pub(crate) fn nth(k: usize, name: impl Into<String>, values: Vec<f64>) -> Series {
        Series {
            name: name.into(),
            values,
            color: color(k),
            dashed: k >= PALETTE.len(),
        }
    }

    /// A series in a colour of its own (a fixed meaning, such as "uncovered").
    pub(crate) fn colored(name: impl Into<String>, values: Vec<f64>, color: RGBColor) -> Series {
        Series {
            name: name.into(),
            values,
            color,
            dashed: false,
        }
    }
}

/// The palette's `k`-th colour (cycling).
pub(crate) fn color(k: usize) -> RGBColor {
    PALETTE[k % PALETTE.len()]
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Box,
    Line,
}

const LEGEND_ROW_H: u32 = 22;
const TITLE_H: u32 = 34;
const LABEL_FONT: u32 = 16;
/// Room right of a plot for half its last x label.
const MARGIN_RIGHT: u32 = 32;
/// Ticks asked of a value axis.
const VALUE_TICKS: usize = 8;

/// Approximate width of a legend entry, pixels (swatch, gap, text at ~7.3 px per character).
fn legend_item_w(name: &str) -> u32 {
    22 + (name.chars().count() as f64 * 7.3) as u32 + 22
}

/// Legend entries laid out in centred rows that fit the chart's width.
fn legend_rows(names: &[&str], width: u32) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut used = 0;
    for (k, n) in names.iter().enumerate() {
        let w = legend_item_w(n);
        match rows.last_mut() {
            Some(row) if used + w <= width.saturating_sub(40) => {
                row.push(k);
                used += w;
            }
            _ => {
                rows.push(vec![k]);
                used = w;
            }
        }
    }
    rows
}

/// Height of the title and legend strip above a chart `width` pixels wide.
pub(crate) fn header_h(series: &[Series], width: u32) -> u32 {
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    TITLE_H + LEGEND_ROW_H * legend_rows(&names, width).len() as u32 + 6
}

/// Draws the title and, under it, the legend (outside the plot, so it never hides data); returns the
/// area left for the plot.
pub(crate) fn header<'a>(
    root: &Area<'a>,
    title: &str,
    series: &[Series],
    mark: Mark,
) -> Result<Area<'a>, Box<dyn Error>> {
    let (w, _) = root.dim_in_pixel();
    let (head, body) = root.split_vertically(header_h(series, w));
    head.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 10),
        (FONT, 22)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let text = (FONT, LABEL_FONT)
        .into_font()
        .color(&RGBColor(40, 46, 54))
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in legend_rows(&names, w).iter().enumerate() {
        let row_w: u32 = row.iter().map(|k| legend_item_w(names[*k])).sum();
        let mut x = (w.saturating_sub(row_w) / 2) as i32;
        let y = (TITLE_H + LEGEND_ROW_H * r as u32 + LEGEND_ROW_H / 2) as i32;
        for k in row {
            let s = &series[*k];
            match (mark, s.dashed) {
                (Mark::Box, _) => head.draw(&Rectangle::new(
                    [(x, y - 6), (x + 12, y + 6)],
                    s.color.filled(),
                ))?,
                (Mark::Line, false) => head.draw(&PathElement::new(
                    vec![(x - 2, y), (x + 16, y)],
                    s.color.stroke_width(3),
                ))?,
                (Mark::Line, true) => {
                    for x0 in [x - 2, x + 6, x + 14] {
                        head.draw(&PathElement::new(
                            vec![(x0, y), (x0 + 4, y)],
                            s.color.stroke_width(3),
                        ))?;
                    }
                }
            }
            head.draw(&Text::new(names[*k].to_string(), (x + 22, y), text.clone()))?;
            x += legend_item_w(names[*k]) as i32;
        }
    }
    Ok(body)
}

/// Per category, the sum of the series' shown values (at most `f64::MAX`).
fn totals(n: usize, series: &[Series]) -> Vec<f64> {
    (0..n)
        .map(|i| {
            series
                .iter()
                .map(|s| bar_value(s.values.get(i).copied().unwrap_or(0.0)))
                .fold(0.0, stack)
        })
        .collect()
}

/// A value axis from 0 to `max` plus `headroom` (a share of it, for labels), at most `f64::MAX`.
fn value_axis(max: f64, headroom: f64) -> Axis {
    let top = if max > 0.0 {
        (max * (1.0 + headroom)).min(f64::MAX)
    } else {
        1.0
    };
    Axis::nice(0.0, top, VALUE_TICKS)
}

/// Horizontal bars, one per category, each stacked from `series` left to right, with the total written
/// at the end of the bar by `fmt_total`; `width` pixels wide.
pub(crate) fn hbar_stacked(
    title: &str,
    categories: &[String],
    series: &[Series],
    fmt_total: fn(f64) -> String,
    width: u32,
) -> String {
    // Room on the right of the longest bar for its label.
    let (n, totals, axis) = stacked_axis(categories.len(), series, 0.18);
    let label_w = categories
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(4) as u32
        * 8
        + 16;
    let h = 70 + header_h(series, width) + 36 * n as u32;
    render(width, h, |root| {
        let body = header(root, title, series, Mark::Box)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .margin_right(MARGIN_RIGHT)
            .x_label_area_size(38)
            .y_label_area_size(label_w.min(width / 4))
            .build_cartesian_2d(axis, (0..n - 1).into_segmented())?;
        // The first category at the top.
        let row = |i: usize| n - 1 - i;
        house_style(
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n)
                .y_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) if *i < n => {
                        categories.get(row(*i)).cloned().unwrap_or_default()
                    }
                    _ => String::new(),
                })
                .x_label_formatter(&|x| axis_usd(*x)),
        )
        .draw()?;
        let bars = stacked_bars(series, categories.len(), (6, 6, 0, 0), |i, x0, x1| {
            [
                (x0, SegmentValue::Exact(row(i))),
                (x1, SegmentValue::Exact(row(i) + 1)),
            ]
        });
        for b in bars {
            chart.draw_series(b)?;
        }
        chart.draw_series(totals.iter().enumerate().map(|(i, t)| {
            Text::new(
                format!("  {}", fmt_total(*t)),
                (*t, SegmentValue::CenterOf(row(i))),
                (FONT, LABEL_FONT)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )
        }))?;
        Ok(())
    })
}

/// For a stacked bar chart over `categories`: the number of bar slots (at least 1), each category's
/// total, and the value axis with `headroom` above the longest bar.
fn stacked_axis(categories: usize, series: &[Series], headroom: f64) -> (usize, Vec<f64>, Axis) {
    let totals = totals(categories, series);
    let max = totals.iter().copied().fold(0.0, f64::max);
    (categories.max(1), totals, value_axis(max, headroom))
}

/// The mesh style every chart shares: the house font for labels and axis descriptions, white minor
/// lines, light grey major lines.
pub(crate) fn house_style<'a, 'b, 'm, X, Y, DB>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB>
where
    X: Ranged,
    Y: Ranged,
    DB: DrawingBackend,
{
    mesh.label_style((FONT, LABEL_FONT))
        .axis_desc_style((FONT, LABEL_FONT))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(225, 229, 234))
}

/// Each series' bars of a stacked chart: `corners(category, from, to)` places a piece, `margin`
/// (top, bottom, left, right pixels) trims it.
fn stacked_bars<C>(
    series: &[Series],
    n: usize,
    (top, bottom, left, right): (u32, u32, u32, u32),
    corners: impl Fn(usize, f64, f64) -> [C; 2],
) -> Vec<Vec<Rectangle<C>>> {
    series
        .iter()
        .zip(stacked_pieces(series, n))
        .map(|(s, pieces)| {
            pieces
                .into_iter()
                .map(|(i, from, to)| {
                    let mut r = Rectangle::new(corners(i, from, to), s.color.filled());
                    r.set_margin(top, bottom, left, right);
                    r
                })
                .collect()
        })
        .collect()
}

/// Each series' pieces of a stacked bar chart over `n` categories, in stacking order: `(category,
/// from, to)` for each value drawn (see [`bar_value`]), on top of the series before it.
fn stacked_pieces(series: &[Series], n: usize) -> Vec<Vec<(usize, f64, f64)>> {
    let mut base = vec![0.0; n];
    series
        .iter()
        .map(|s| {
            s.values
                .iter()
                .enumerate()
                .take(n)
                .filter(|(_, v)| bar_value(**v) > 0.0)
                .map(|(i, v)| {
                    let from = base[i];
                    let to = stack(from, bar_value(*v));
                    base[i] = to;
                    (i, from, to)
                })
                .collect()
        })
        .collect()
}

/// Vertical bars, one per x category, stacked from `series` bottom to top, with a legend; `width`
/// pixels wide.
pub(crate) fn vbar_stacked(
    title: &str,
    x_labels: &[String],
    series: &[Series],
    y_desc: &str,
    width: u32,
) -> String {
    vbar_stacked_in(title, x_labels, series, (y_desc, Unit::Usd), width)
}

/// The unit of a value axis: how its tick labels read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// `$1.2M`.
    Usd,
    /// A plain number with the decimals its ticks need.
    Plain,
}

/// [`vbar_stacked`] with the value axis in `unit`.
pub(crate) fn vbar_stacked_in(
    title: &str,
    x_labels: &[String],
    series: &[Series],
    (y_desc, unit): (&str, Unit),
    width: u32,
) -> String {
    let (n, _, axis) = stacked_axis(x_labels.len(), series, 0.12);
    let y_decimals = axis.label_decimals();
    // One label per bar while they fit (~28 px each), else every k-th.
    let every = (n * 28 / width.max(1) as usize) + 1;
    render(width, 360 + header_h(series, width), |root| {
        let body = header(root, title, series, Mark::Box)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(86)
            .build_cartesian_2d((0..n - 1).into_segmented(), axis)?;
        house_style(
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n.min(200))
                .x_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) if i % every == 0 => {
                        x_labels.get(*i).cloned().unwrap_or_default()
                    }
                    _ => String::new(),
                })
                .y_label_formatter(&|y| match unit {
                    Unit::Usd => axis_usd(*y),
                    Unit::Plain => label_with(*y, y_decimals),
                })
                .y_desc(y_desc),
        )
        .draw()?;
        let corners = |i, y0, y1| {
            [
                (SegmentValue::Exact(i), y0),
                (SegmentValue::Exact(i + 1), y1),
            ]
        };
        for b in stacked_bars(series, x_labels.len(), (0, 0, 8, 8), corners) {
            chart.draw_series(b)?;
        }
        Ok(())
    })
}

/// Vertical bars grouped by x category: in each category one bar per series, side by side in the
/// series' order, with a legend; values below 0 are drawn as 0; `width` pixels wide.
pub(crate) fn vbar_grouped(
    title: &str,
    x_labels: &[String],
    series: &[Series],
    y_desc: &str,
    width: u32,
) -> String {
    let n = x_labels.len().max(1);
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().map(|v| bar_value(*v)))
        .fold(0.0, f64::max);
    let axis = value_axis(max, 0.12);
    render(width, 360 + header_h(series, width), |root| {
        let body = header(root, title, series, Mark::Box)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(86)
            .build_cartesian_2d((0..n - 1).into_segmented(), axis)?;
        house_style(
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n.min(200))
                .x_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) => x_labels.get(*i).cloned().unwrap_or_default(),
                    _ => String::new(),
                })
                .y_label_formatter(&|y| axis_usd(*y))
                .y_desc(y_desc),
        )
        .draw()?;
        // Each category's width in pixels: 10% padding each side, the rest shared by the bars.
        let seg = f64::from(chart.plotting_area().dim_in_pixel().0) / n as f64;
        let m = series.len().max(1) as f64;
        let (pad, bar) = (seg * 0.1, seg * 0.8 / m);
        for (k, s) in series.iter().enumerate() {
            let left = (pad + k as f64 * bar).round() as u32;
            let right = (pad + (m - 1.0 - k as f64) * bar).round() as u32;
            chart.draw_series(
                s.values
                    .iter()
                    .enumerate()
                    .take(x_labels.len())
                    .filter(|(_, v)| bar_value(**v) > 0.0)
                    .map(|(i, v)| {
                        let corners = [
                            (SegmentValue::Exact(i), 0.0),
                            (SegmentValue::Exact(i + 1), bar_value(*v)),
                        ];
                        let mut r = Rectangle::new(corners, s.color.filled());
                        r.set_margin(0, 0, left, right);
                        r
                    }),
            )?;
        }
        Ok(())
    })
}

/// Lines over integer x values (`xs`), one per series, with dots at the points and a legend; `width`
/// pixels wide.
pub(crate) fn lines(
    title: &str,
    xs: &[u32],
    series: &[Series],
    (x_desc, y_desc): (&str, &str),
    width: u32,
) -> String {
    lines_in(title, xs, series, (x_desc, y_desc, Unit::Plain), width)
}

/// [`lines`] with the value axis in `unit`.
pub(crate) fn lines_in(
    title: &str,
    xs: &[u32],
    series: &[Series],
    (x_desc, y_desc, unit): (&str, &str, Unit),
    width: u32,
) -> String {
    let finite = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    // 8% of the span on each side (computed on halves, which cannot overflow).
    let pad = (hi / 2.0 - lo / 2.0) * 0.16;
    // USD amounts that are never negative keep their axis at 0 and above.
    let floor = if unit == Unit::Usd && lo >= 0.0 {
        0.0
    } else {
        f64::NEG_INFINITY
    };
    let y = if pad.is_finite() && pad > 0.0 {
        Axis::nice((lo - pad).max(floor), hi + pad, VALUE_TICKS)
    } else {
        Axis::nice(lo, hi, VALUE_TICKS)
    };
    // Ticks close together (a price index moving by 0.01) need more than two decimals.
    let y_decimals = y.label_decimals().max(2);
    // Room for the longest tick label (about 8 px a character) beside the axis description.
    let longest = y
        .ticks
        .iter()
        .map(|&t| match unit {
            Unit::Usd => axis_usd(t),
            Unit::Plain => label_with(t, y_decimals),
        })
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    let y_label_area = (24 + 8 * longest as u32).max(72);
    let x0 = xs.first().copied().unwrap_or(0);
    let x1 = xs.last().copied().unwrap_or(1).max(x0.saturating_add(1));
    // Integer rounds, each labelled while there are at most 30, the range a little wider than them.
    let x = Axis::nice_with_min_step(f64::from(x0), f64::from(x1), 30, 1.0)
        .within(f64::from(x0), f64::from(x1))
        .padded(0.2);
    render(width, 380 + header_h(series, width), |root| {
        let body = header(root, title, series, Mark::Line)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .margin_right(MARGIN_RIGHT)
            .x_label_area_size(50)
            .y_label_area_size(y_label_area)
            .build_cartesian_2d(x, y)?;
        house_style(
            chart
                .configure_mesh()
                .x_label_formatter(&|x| {
                    if (x - x.round()).abs() < 1e-6 {
                        format!("{}", x.round() as i64)
                    } else {
                        String::new()
                    }
                })
                .y_label_formatter(&|y| match unit {
                    Unit::Usd => axis_usd(*y),
                    Unit::Plain => label_with(*y, y_decimals),
                })
                .x_desc(x_desc)
                .y_desc(y_desc),
        )
        .draw()?;
        for s in series {
            let color = s.color;
            let pts: Vec<(f64, f64)> = xs
                .iter()
                .zip(&s.values)
                .filter(|(_, v)| v.is_finite())
                .map(|(x, v)| (f64::from(*x), *v))
                .collect();
            if s.dashed {
                chart.draw_series(DashedLineSeries::new(
                    pts.clone(),
                    8,
                    5,
                    color.stroke_width(2),
                ))?;
            } else {
                chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?;
            }
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests;
