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
    let a = x.abs();
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
    let h = 110 + 36 * n as u32;
    render(WIDTH, h, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(12)
            .x_label_area_size(34)
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
            .label_style((FONT, 14))
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
            chart
                .draw_series(bars)?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 12, y + 6)], color.filled())
                });
        }
        chart.draw_series(totals.iter().enumerate().map(|(i, t)| {
            Text::new(
                format!("  {}", fmt_total(*t)),
                (*t, SegmentValue::CenterOf(row(i))),
                (FONT, 14)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )
        }))?;
        if series.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.9))
                .border_style(RGBColor(200, 205, 210))
                .label_font((FONT, 14))
                .draw()?;
        }
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
    render(WIDTH, 420, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(78)
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
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 14))
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
            chart
                .draw_series(bars)?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 12, y + 6)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(200, 205, 210))
            .label_font((FONT, 14))
            .draw()?;
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
    let legend_h = 22 * series.len() as u32;
    render(WIDTH, (440).max(legend_h + 140), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
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
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 14))
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
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
        }
        // The legend goes in the left corner the lines start away from.
        let starts: Vec<f64> = series
            .iter()
            .filter_map(|s| s.values.first().copied())
            .filter(|v| v.is_finite())
            .collect();
        let start_mean = starts.iter().sum::<f64>() / starts.len().max(1) as f64;
        let position = if start_mean >= (lo + hi) / 2.0 {
            SeriesLabelPosition::LowerLeft
        } else {
            SeriesLabelPosition::UpperLeft
        };
        chart
            .configure_series_labels()
            .position(position)
            .margin(14)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(200, 205, 210))
            .label_font((FONT, 14))
            .draw()?;
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
