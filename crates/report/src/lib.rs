//! Self-contained HTML reports with inline SVG charts: `stress --report FILE.html` and
//! `simulate --report FILE.html` (docs/commands.md#stress, docs/commands.md#simulate).
//!
//! Every page is one file: inline CSS, charts as inline SVG drawn with plotters' SVG backend, no
//! JavaScript and no external resource, so it renders offline and can be archived with the run. All
//! text taken from input (ids, names, trace lines, table cells) is escaped for HTML. Chart axes are
//! total: any figure, even `1.7e308` or NaN, gives a finite axis with a bounded number of ticks.
//!
//! - [`stress_html`]: the report of one stress run (summary, prices, bad debt, liquidations by
//!   round, contagion trace);
//! - [`stress_comparison_html`]: one page with a run with circuit breakers and the same run without,
//!   side by side;
//! - [`mechanisms_html`]: a liquidation-mechanism comparison (`compare --mechanisms --report`): a
//!   grouped bar chart of each mechanism's figures and their tables;
//! - [`simulation_report_html`]: the report of a Monte Carlo run (loss distribution with VaR / ES,
//!   figures per protocol, the worst path re-run in full by [`worst_path`]);
//! - [`loss_distribution_svg`]: a loss histogram with VaR / ES markers, for a Monte Carlo sample;
//! - [`simulation_html`] and [`Section`]: a generic page of sections (text, chart, table);
//! - for the live monitor's dashboard: [`stress_sections_html`] (a stress report's sections to
//!   embed), [`line_chart_svg`], [`bar_chart_svg`], [`sparkline_svg`], [`heatmap_svg`] and
//!   [`network_svg`].
#![forbid(unsafe_code)]

mod axis;
mod charts;
mod compare;
mod html;
mod live;
mod loss;
mod mechanisms;
mod simulate;
mod stress;

pub use compare::stress_comparison_html;
pub use html::{escape_html, simulation_html, Section};
pub use live::{
    bar_chart_svg, heatmap_svg, line_chart_svg, network_svg, sparkline_points, sparkline_svg,
    stress_sections_html, GraphEdge, GraphNode, ValueAxis,
};
pub use loss::loss_distribution_svg;
pub use mechanisms::mechanisms_html;
pub use simulate::{simulation_report_html, worst_path, WorstPath};
pub use stress::stress_html;
