//! Charts drawn with plotters' SVG backend into a `String`: stacked horizontal bars, stacked vertical
//! bars and lines. Drawing into memory cannot fail in practice; if it does, the chart is replaced by a
//! small SVG that says so, never by a panic.

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::html::escape_html;

/// Tableau 10: distinct, print- and colour-blind-friendly enough for a handful of series.
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];

pub(crate) const FONT: &str = "sans-serif";
pub(crate) const WIDTH: u32 = 1000;

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

/// A compact USD axis label: `$0`, `$950`, `$12k`, `$1.5M`, `$2.25B`.
pub(crate) fn axis_usd(x: f64) -> String {
    // A hair up, so a tick at 10^6 computed as 999,999.9999 reads `$1M`, not `$1000k`.
    let a = x.abs() * (1.0 + 1e-9);
    let sign = if x < 0.0 { "−" } else { "" };
    let (v, unit) = if a >= 1e9 {
        (a / 1e9, "B")
    } else if a >= 1e6 {
        (a / 1e6, "M")
    } else if a >= 1e3 {
        (a / 1e3, "k")
    } else {
        (a, "")
    };
    format!("{sign}${}{unit}", trim_decimals(v))
}

/// `1.50` → `1.5`, `2.00` → `2`, at most two decimals.
pub(crate) fn trim_decimals(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Replaces a non-finite or negative figure by 0 (bars only show what happened).
fn bar_value(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 {
        v
    } else {
        0.0
    }
}

/// One series of a stacked chart: its name and one value per category.
pub(crate) struct Series {
    pub name: String,
    pub values: Vec<f64>,
    pub color: RGBColor,
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

/// Approximate width of a legend entry, pixels (swatch, gap, text at ~7.5 px per character).
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
            Some(row) if used + w <= width - 40 => {
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

/// Height of the title and legend strip above a chart.
pub(crate) fn header_h(series: &[Series]) -> u32 {
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    TITLE_H + LEGEND_ROW_H * legend_rows(&names, WIDTH).len() as u32 + 6
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
    let (head, body) = root.split_vertically(header_h(series));
    head.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 10),
        (FONT, 22)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let text = (FONT, 16)
        .into_font()
        .color(&RGBColor(40, 46, 54))
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in legend_rows(&names, w).iter().enumerate() {
        let row_w: u32 = row.iter().map(|k| legend_item_w(names[*k])).sum();
        let mut x = (w.saturating_sub(row_w) / 2) as i32;
        let y = (TITLE_H + LEGEND_ROW_H * r as u32 + LEGEND_ROW_H / 2) as i32;
        for k in row {
            let c = series[*k].color;
            match mark {
                Mark::Box => {
                    head.draw(&Rectangle::new([(x, y - 6), (x + 12, y + 6)], c.filled()))?
                }
                Mark::Line => head.draw(&PathElement::new(
                    vec![(x - 2, y), (x + 16, y)],
                    c.stroke_width(3),
                ))?,
            }
            head.draw(&Text::new(names[*k].to_string(), (x + 22, y), text.clone()))?;
            x += legend_item_w(names[*k]) as i32;
        }
    }
    Ok(body)
}

/// Horizontal bars, one per category, each stacked from `series` left to right, with the total written
/// at the end of the bar by `fmt_total`.
pub(crate) fn hbar_stacked(
    title: &str,
    categories: &[String],
    series: &[Series],
    fmt_total: fn(f64) -> String,
) -> String {
    let n = categories.len().max(1);
    let totals: Vec<f64> = (0..categories.len())
        .map(|i| series.iter().map(|s| bar_value(s.values[i])).sum())
        .collect();
    let max = totals.iter().copied().fold(0.0, f64::max);
    // Room on the right of the longest bar for its label.
    let x_max = if max > 0.0 { max * 1.18 } else { 1.0 };
    let label_w = categories
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(4) as u32
        * 8
        + 16;
    let h = 70 + header_h(series) + 36 * n as u32;
    render(WIDTH, h, |root| {
        let body = header(root, title, series, Mark::Box)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(38)
            .y_label_area_size(label_w.min(260))
            .build_cartesian_2d(0.0..x_max, (0..n - 1).into_segmented())?;
        // The first category at the top.
        let row = |i: usize| n - 1 - i;
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
            .x_label_formatter(&|x| axis_usd(*x))
            .x_labels(8)
            .label_style((FONT, 16))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 229, 234))
            .draw()?;
        let mut left = vec![0.0; categories.len()];
        for s in series {
            let color = s.color;
            let bars: Vec<Rectangle<(f64, SegmentValue<usize>)>> = s
                .values
                .iter()
                .enumerate()
                .filter(|(_, v)| bar_value(**v) > 0.0)
                .map(|(i, v)| {
                    let x0 = left[i];
                    let x1 = x0 + bar_value(*v);
                    left[i] = x1;
                    let mut r = Rectangle::new(
                        [
                            (x0, SegmentValue::Exact(row(i))),
                            (x1, SegmentValue::Exact(row(i) + 1)),
                        ],
                        color.filled(),
                    );
                    r.set_margin(6, 6, 0, 0);
                    r
                })
                .collect();
            chart.draw_series(bars)?;
        }
        chart.draw_series(totals.iter().enumerate().map(|(i, t)| {
            Text::new(
                format!("  {}", fmt_total(*t)),
                (*t, SegmentValue::CenterOf(row(i))),
                (FONT, 16)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )
        }))?;
        Ok(())
    })
}

/// Vertical bars, one per x category, stacked from `series` bottom to top, with a legend.
pub(crate) fn vbar_stacked(
    title: &str,
    x_labels: &[String],
    series: &[Series],
    y_desc: &str,
) -> String {
    let n = x_labels.len().max(1);
    let totals: Vec<f64> = (0..x_labels.len())
        .map(|i| series.iter().map(|s| bar_value(s.values[i])).sum())
        .collect();
    let max = totals.iter().copied().fold(0.0, f64::max);
    let y_max = if max > 0.0 { max * 1.12 } else { 1.0 };
    render(WIDTH, 360 + header_h(series), |root| {
        let body = header(root, title, series, Mark::Box)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(86)
            .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..y_max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(40))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => x_labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_formatter(&|y| axis_usd(*y))
            .y_desc(y_desc)
            .label_style((FONT, 16))
            .axis_desc_style((FONT, 16))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 229, 234))
            .draw()?;
        let mut bottom = vec![0.0; x_labels.len()];
        for s in series {
            let color = s.color;
            let bars: Vec<Rectangle<(SegmentValue<usize>, f64)>> = s
                .values
                .iter()
                .enumerate()
                .filter(|(_, v)| bar_value(**v) > 0.0)
                .map(|(i, v)| {
                    let y0 = bottom[i];
                    let y1 = y0 + bar_value(*v);
                    bottom[i] = y1;
                    let mut r = Rectangle::new(
                        [
                            (SegmentValue::Exact(i), y0),
                            (SegmentValue::Exact(i + 1), y1),
                        ],
                        color.filled(),
                    );
                    r.set_margin(0, 0, 8, 8);
                    r
                })
                .collect();
            chart.draw_series(bars)?;
        }
        Ok(())
    })
}

/// Lines over integer x values (`xs`), one per series, with dots at the points and a legend.
pub(crate) fn lines(
    title: &str,
    xs: &[u32],
    series: &[Series],
    x_desc: &str,
    y_desc: &str,
) -> String {
    let finite = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (lo, hi) = if lo.is_finite() && hi.is_finite() && hi - lo > 1e-9 {
        let pad = (hi - lo) * 0.08;
        (lo - pad, hi + pad)
    } else if lo.is_finite() {
        (lo - 5.0, lo + 5.0)
    } else {
        (95.0, 105.0)
    };
    let x0 = xs.first().copied().unwrap_or(0);
    let x1 = xs.last().copied().unwrap_or(1).max(x0 + 1);
    render(WIDTH, 380 + header_h(series), |root| {
        let body = header(root, title, series, Mark::Line)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(72)
            .build_cartesian_2d(x0 as f64 - 0.2..x1 as f64 + 0.2, lo..hi)?;
        chart
            .configure_mesh()
            .x_labels((x1 - x0 + 1).min(30) as usize)
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-6 {
                    format!("{}", x.round() as i64)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| trim_decimals(*y))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style((FONT, 16))
            .axis_desc_style((FONT, 16))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 229, 234))
            .draw()?;
        for s in series {
            let color = s.color;
            let pts: Vec<(f64, f64)> = xs
                .iter()
                .zip(&s.values)
                .filter(|(_, v)| v.is_finite())
                .map(|(x, v)| (*x as f64, *v))
                .collect();
            chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?;
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_labels() {
        assert_eq!(axis_usd(0.0), "$0");
        assert_eq!(axis_usd(950.0), "$950");
        assert_eq!(axis_usd(12_000.0), "$12k");
        assert_eq!(axis_usd(1_500_000.0), "$1.5M");
        assert_eq!(axis_usd(-2.25e9), "−$2.25B");
        assert_eq!(axis_usd(999_999.999_9), "$1M");
    }

    #[test]
    fn charts_are_svg() {
        let s = vec![Series {
            name: "a".into(),
            values: vec![1.0, f64::NAN, 0.0],
            color: color(0),
        }];
        let one = vec![Series {
            name: "a".into(),
            values: vec![1.0],
            color: color(1),
        }];
        let cats: Vec<String> = vec!["x".into(), "y".into(), "z".into()];
        let cat: Vec<String> = vec!["x".into()];
        for svg in [
            hbar_stacked("t", &cats, &s, axis_usd),
            vbar_stacked("t", &cats, &s, "USD"),
            lines("t", &[0, 1, 2], &s, "round", "index"),
            hbar_stacked("t", &cat, &one, axis_usd),
            vbar_stacked("t", &cat, &one, "USD"),
            lines("t", &[0], &one, "round", "index"),
        ] {
            assert!(svg.starts_with("<svg"), "{svg}");
            assert!(!svg.contains("could not be drawn"), "{svg}");
        }
    }
}
