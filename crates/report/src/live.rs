//! Charts and report parts for the live monitor's dashboard (docs/dashboard.md): the stress report's
//! sections for embedding in another page, line and bar charts in the house style, and three charts
//! of its own — a sparkline, a heat map and a network drawing — written as plain SVG.
//!
//! Every chart scales to its container (a `viewBox`, no fixed size in CSS pixels beyond its default),
//! every text from input is escaped, and any number (NaN, ±∞, 1e308) gives a finite drawing.

use std::fmt::Write as _;

use cascade_engine::StressResult;
use cascade_model::Snapshot;

use crate::charts::{color, lines_in, vbar_stacked_in, Series, Unit};
use crate::html::{escape_html, inline_svg};
use crate::stress::{parts, PartStyle};

/// The sections of a stress run's report (summary, bad debt, prices, liquidations, insurance,
/// trace) as HTML to embed in another page, `h2` headings, charts scaled to the page.
pub fn stress_sections_html(snapshot: &Snapshot, result: &StressResult) -> String {
    parts(snapshot, result, PartStyle::PAGE)
        .into_iter()
        .map(|(_, html)| html)
        .collect()
}

/// How a chart's value axis reads: USD (`$1.2M`) or plain numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueAxis {
    Usd,
    Plain,
}

impl ValueAxis {
    fn unit(self) -> Unit {
        match self {
            ValueAxis::Usd => Unit::Usd,
            ValueAxis::Plain => Unit::Plain,
        }
    }
}

/// `(name, values)` pairs as series in the palette's colours, in order.
fn palette_series(series: &[(String, Vec<f64>)]) -> Vec<Series> {
    series
        .iter()
        .enumerate()
        .map(|(k, (name, v))| Series::nth(k, name.clone(), v.clone()))
        .collect()
}

/// A line chart: one line per `(name, values)` over the integer x values `xs`, in the house style,
/// the value axis in `axis`; `width` pixels wide (it scales down with its container). Values that
/// are not finite are skipped.
pub fn line_chart_svg(
    title: &str,
    xs: &[u32],
    series: &[(String, Vec<f64>)],
    (x_desc, y_desc, axis): (&str, &str, ValueAxis),
    width: u32,
) -> String {
    let s = palette_series(series);
    inline_svg(&lines_in(
        title,
        xs,
        &s,
        (x_desc, y_desc, axis.unit()),
        width,
    ))
}

/// Vertical bars, one per label, stacked from `series` bottom to top, the value axis in `axis`, in
/// the house style; `width` pixels wide.
pub fn bar_chart_svg(
    title: &str,
    labels: &[String],
    series: &[(String, Vec<f64>)],
    (y_desc, axis): (&str, ValueAxis),
    width: u32,
) -> String {
    let s = palette_series(series);
    inline_svg(&vbar_stacked_in(
        title,
        labels,
        &s,
        (y_desc, axis.unit()),
        width,
    ))
}

fn finite_or(x: f64, d: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        d
    }
}

/// The polyline points of a sparkline of `points` (time, value) in a `w`×`h` box: time on x (the
/// first point at the left edge, the last at the right), value on y between the smallest and the
/// largest (a flat series in the middle). Points whose time or value is not finite are left out.
pub fn sparkline_points(points: &[(f64, f64)], w: f64, h: f64) -> String {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(t, v)| t.is_finite() && v.is_finite())
        .collect();
    let Some(&(t0, _)) = pts.first() else {
        return String::new();
    };
    let t1 = pts.last().map_or(t0, |p| p.0);
    let (lo, hi) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let pad = 2.0;
    let x = |t: f64| {
        if t1 > t0 {
            finite_or((t - t0) / (t1 - t0) * w, 0.0)
        } else {
            w
        }
    };
    let y = |v: f64| {
        let span = hi / 2.0 - lo / 2.0;
        if span > 0.0 && span.is_finite() {
            pad + (1.0 - finite_or((v / 2.0 - lo / 2.0) / span, 0.5)) * (h - 2.0 * pad)
        } else {
            h / 2.0
        }
    };
    let mut o = String::new();
    for (i, &(t, v)) in pts.iter().enumerate() {
        if i > 0 {
            o.push(' ');
        }
        let _ = write!(o, "{:.1},{:.1}", x(t), y(v));
    }
    o
}

/// A sparkline: the history `points` (time, value) as a line in a `w`×`h` box, no axes; `label`
/// is its accessible name. The polyline carries the class `spark` so that a page script can redraw
/// it as new points arrive.
pub fn sparkline_svg(points: &[(f64, f64)], w: u32, h: u32, label: &str) -> String {
    let (wf, hf) = (f64::from(w), f64::from(h));
    format!(
        "<svg class=\"sparkline\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\" preserveAspectRatio=\"none\"><polyline class=\"spark\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" vector-effect=\"non-scaling-stroke\" points=\"{}\"/></svg>",
        escape_html(label),
        sparkline_points(points, wf, hf)
    )
}

/// The colour of a heat map cell: `None` (never) light grey; a value in [0, 1] from dark red (0:
/// the smallest drop already hurts) through orange to pale yellow (1).
fn heat_color(v: Option<f64>) -> String {
    match v {
        None => "#eef0f3".to_string(),
        Some(x) => {
            let t = finite_or(x, 1.0).clamp(0.0, 1.0);
            // Linear from (165, 0, 38) to (255, 237, 160).
            let c = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
            format!(
                "#{:02x}{:02x}{:02x}",
                c(165.0, 255.0),
                c(0.0, 237.0),
                c(38.0, 160.0)
            )
        }
    }
}

/// A heat map: one row per `rows` label, one column per `cols` label, each cell coloured by its
/// value in [0, 1] (`None`: no value) and labelled with `text(value)`; `title` above. Rows and
/// columns keep the given order.
pub fn heatmap_svg(
    title: &str,
    rows: &[String],
    cols: &[String],
    values: &[Vec<Option<f64>>],
    text: impl Fn(Option<f64>) -> String,
) -> String {
    let left = 14
        + 8 * rows
            .iter()
            .map(|r| r.chars().count())
            .max()
            .unwrap_or(4)
            .min(28) as u32;
    let cell_w = 92u32;
    let cell_h = 30u32;
    let top = 40
        + 8 * cols
            .iter()
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(4)
            .min(24) as u32;
    // Wide enough for the title too (about 8.5 px a character at 15 px bold).
    let title_w = 16 + (title.chars().count() as f64 * 8.5) as u32;
    let w = (left + cell_w * cols.len() as u32 + 10).max(title_w);
    let h = top + cell_h * rows.len() as u32 + 10;
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg class=\"heatmap\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\" font-family=\"sans-serif\" font-size=\"13\">",
        escape_html(title)
    );
    let _ = write!(
        o,
        "<text x=\"4\" y=\"18\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        escape_html(title)
    );
    for (j, c) in cols.iter().enumerate() {
        let x = left + cell_w * j as u32 + cell_w / 2;
        let _ = write!(
            o,
            "<text transform=\"translate({x},{}) rotate(-40)\" text-anchor=\"start\">{}</text>",
            top - 6,
            escape_html(c)
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + cell_h * i as u32;
        let _ = write!(
            o,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            left - 6,
            y + cell_h / 2 + 5,
            escape_html(r)
        );
        for (j, col) in cols.iter().enumerate() {
            let v = values.get(i).and_then(|row| row.get(j)).copied().flatten();
            let x = left + cell_w * j as u32;
            let fill = heat_color(v);
            let ink = match v {
                Some(t) if finite_or(t, 1.0) < 0.45 => "#ffffff",
                _ => "#1b1f24",
            };
            let label = text(v);
            let _ = write!(
                o,
                "<g><title>{} · {}: {}</title><rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"#ffffff\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{ink}\">{}</text></g>",
                escape_html(r),
                escape_html(col),
                escape_html(&label),
                cell_w,
                cell_h,
                x + cell_w / 2,
                y + cell_h / 2 + 5,
                escape_html(&label)
            );
        }
    }
    o.push_str("</svg>");
    o
}

/// One node of a network drawing: its label and its size (USD; the circle's area grows with it).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    pub label: String,
    pub size_usd: f64,
}

/// One edge of a network drawing: from node `from` to node `to` (indices), its weight (USD; the
/// stroke's width grows with it), its kind (edges of the same kind share a colour and a legend
/// entry), whether it has a direction (an arrowhead at `to`) and a line for its tooltip.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphEdge {
    pub from: usize,
    pub to: usize,
    pub usd: f64,
    pub kind: String,
    pub directed: bool,
    pub tooltip: String,
}

/// A network: nodes on a circle (sized by √USD), edges as arrows from `from` to `to` (width by
/// √USD relative to the largest; edges of each kind in their own colour, listed in a legend),
/// curved so that two edges between the same nodes in opposite directions stay apart. Edges naming
/// a node that does not exist are left out.
pub fn network_svg(title: &str, nodes: &[GraphNode], edges: &[GraphEdge]) -> String {
    let (w, h) = (760.0f64, 560.0f64);
    let (cx, cy) = (w / 2.0, h / 2.0 + 20.0);
    let radius = if nodes.len() <= 1 { 0.0 } else { 190.0 };
    let n = nodes.len().max(1) as f64;
    let pos: Vec<(f64, f64)> = (0..nodes.len())
        .map(|i| {
            let a = -std::f64::consts::FRAC_PI_2 + 2.0 * std::f64::consts::PI * i as f64 / n;
            (cx + radius * a.cos(), cy + radius * a.sin())
        })
        .collect();
    let max_node = nodes
        .iter()
        .map(|x| finite_or(x.size_usd, 0.0).max(0.0))
        .fold(0.0, f64::max);
    let node_r: Vec<f64> = nodes
        .iter()
        .map(|x| {
            let s = finite_or(x.size_usd, 0.0).max(0.0);
            if max_node > 0.0 {
                10.0 + 26.0 * (s / max_node).sqrt()
            } else {
                12.0
            }
        })
        .collect();
    let max_edge = edges
        .iter()
        .map(|e| finite_or(e.usd, 0.0).max(0.0))
        .fold(0.0, f64::max);
    let mut kinds: Vec<&str> = Vec::new();
    for e in edges {
        if !kinds.contains(&e.kind.as_str()) {
            kinds.push(&e.kind);
        }
    }
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg class=\"network\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\" font-family=\"sans-serif\" font-size=\"13\"><defs>",
        escape_html(title)
    );
    for (k, _) in kinds.iter().enumerate() {
        let c = color(k);
        let _ = write!(
            o,
            "<marker id=\"arrow{k}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"12\" markerHeight=\"12\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"rgb({},{},{})\"/></marker>",
            c.0, c.1, c.2
        );
    }
    o.push_str("</defs>");
    let _ = write!(
        o,
        "<text x=\"8\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        escape_html(title)
    );
    for (k, kind) in kinds.iter().enumerate() {
        let c = color(k);
        let y = 40 + 18 * k;
        let dash = if edges.iter().any(|e| e.kind == *kind && !e.directed) {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let _ = write!(
            o,
            "<line x1=\"10\" y1=\"{y}\" x2=\"34\" y2=\"{y}\" stroke=\"rgb({},{},{})\" stroke-width=\"3\"{dash}/><text x=\"40\" y=\"{}\">{}</text>",
            c.0,
            c.1,
            c.2,
            y + 4,
            escape_html(kind)
        );
    }
    for e in edges {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (pos.get(e.from), pos.get(e.to)) else {
            continue;
        };
        if e.from == e.to {
            continue;
        }
        let k = kinds.iter().position(|x| *x == e.kind).unwrap_or(0);
        let c = color(k);
        let width = if max_edge > 0.0 {
            1.0 + 7.0 * (finite_or(e.usd, 0.0).max(0.0) / max_edge).sqrt()
        } else {
            1.0
        };
        // Shorten to the circles' rims and bend to the right of the direction of travel.
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        let (ux, uy) = (dx / len, dy / len);
        let (sx, sy) = (x1 + ux * node_r[e.from], y1 + uy * node_r[e.from]);
        let (tx, ty) = (
            x2 - ux * (node_r[e.to] + 2.0),
            y2 - uy * (node_r[e.to] + 2.0),
        );
        let bend = 0.12 * len;
        let (mx, my) = ((sx + tx) / 2.0 - uy * bend, (sy + ty) / 2.0 + ux * bend);
        let (arrow, dash) = if e.directed {
            (format!(" marker-end=\"url(#arrow{k})\""), "")
        } else {
            (String::new(), " stroke-dasharray=\"6 4\"")
        };
        let _ = write!(
            o,
            "<path d=\"M{sx:.1},{sy:.1} Q{mx:.1},{my:.1} {tx:.1},{ty:.1}\" fill=\"none\" stroke=\"rgb({},{},{})\" stroke-opacity=\"0.75\" stroke-width=\"{width:.1}\"{dash}{arrow}><title>{}</title></path>",
            c.0,
            c.1,
            c.2,
            escape_html(&e.tooltip)
        );
    }
    for (i, node) in nodes.iter().enumerate() {
        let (x, y) = pos[i];
        let r = node_r[i];
        let below = y >= cy;
        let ty = if below { y + r + 16.0 } else { y - r - 6.0 };
        let _ = write!(
            o,
            "<g><title>{}</title><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\" fill=\"#dde6f0\" stroke=\"#3b4a5a\" stroke-width=\"1.5\"/><text x=\"{x:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">{}</text></g>",
            escape_html(&node.label),
            escape_html(&node.label)
        );
    }
    o.push_str("</svg>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_spans_the_box() {
        // Times 0, 5, 10 → x 0, 50, 100; values 1, 3, 2 → y at the bottom, top and middle of
        // [2, 18] (2 px padding in a 20 px box): 18, 2, 10.
        let p = sparkline_points(&[(0.0, 1.0), (5.0, 3.0), (10.0, 2.0)], 100.0, 20.0);
        assert_eq!(p, "0.0,18.0 50.0,2.0 100.0,10.0");
    }

    #[test]
    fn sparkline_flat_single_and_bad_points() {
        assert_eq!(sparkline_points(&[], 100.0, 20.0), "");
        assert_eq!(sparkline_points(&[(3.0, 7.0)], 100.0, 20.0), "100.0,10.0");
        let p = sparkline_points(
            &[
                (0.0, 5.0),
                (f64::NAN, 1.0),
                (1.0, f64::INFINITY),
                (2.0, 5.0),
            ],
            100.0,
            20.0,
        );
        assert_eq!(p, "0.0,10.0 100.0,10.0");
        let s = sparkline_svg(&[(0.0, 1.0)], 120, 28, "a<b");
        assert!(s.contains("aria-label=\"a&lt;b\""));
    }

    #[test]
    fn heat_colours_run_from_red_to_yellow() {
        assert_eq!(heat_color(Some(0.0)), "#a50026");
        assert_eq!(heat_color(Some(1.0)), "#ffeda0");
        assert_eq!(heat_color(Some(7.0)), "#ffeda0");
        assert_eq!(heat_color(Some(f64::NAN)), "#ffeda0");
        assert_eq!(heat_color(None), "#eef0f3");
    }

    #[test]
    fn heatmap_has_a_cell_per_value_and_escapes() {
        let rows = vec!["ETH".to_string(), "<x>".to_string()];
        let cols = vec!["aave".to_string(), "maker".to_string(), "curve".to_string()];
        let values = vec![
            vec![Some(0.3), None, Some(0.9)],
            vec![Some(0.05), Some(1.0)],
        ];
        let s = heatmap_svg("t", &rows, &cols, &values, |v| match v {
            Some(x) => format!("{:.0}%", x * 100.0),
            None => "never".into(),
        });
        assert_eq!(s.matches("<rect").count(), 6);
        assert!(s.contains("&lt;x&gt;"));
        assert!(!s.contains("<x>"));
        assert!(s.contains(">30%<") && s.contains(">never<") && s.contains(">5%<"));
    }

    #[test]
    fn network_draws_each_valid_edge_once() {
        let nodes = vec![
            GraphNode {
                label: "aave".into(),
                size_usd: 100.0,
            },
            GraphNode {
                label: "maker".into(),
                size_usd: f64::NAN,
            },
        ];
        let e = |from, to, kind: &str| GraphEdge {
            from,
            to,
            usd: 10.0,
            kind: kind.into(),
            directed: kind != "shared_collateral",
            tooltip: format!("{from}→{to}"),
        };
        let edges = vec![
            e(0, 1, "claim"),
            e(1, 0, "shared_collateral"),
            e(0, 7, "claim"),
            e(1, 1, "claim"),
        ];
        let s = network_svg("g", &nodes, &edges);
        assert_eq!(
            s.matches("<path d=\"M").count() - 2,
            2,
            "two edges besides two markers"
        );
        assert_eq!(
            s.matches("marker-end=").count(),
            1,
            "the shared collateral has no arrow"
        );
        assert_eq!(s.matches("<circle").count(), 2);
        assert_eq!(s.matches("<marker").count(), 2);
        assert!(!s.contains("NaN"));
    }
}
