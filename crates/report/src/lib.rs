//! Self-contained HTML reports with inline SVG charts (DESIGN §15: `stress --report FILE.html`, and
//! the Monte Carlo command of §11).
//!
//! Every page is one file: inline CSS, charts as inline SVG drawn with plotters' SVG backend, no
//! JavaScript and no external resource, so it renders offline and can be archived with the run. All
//! text taken from input (ids, names, trace lines, table cells) is escaped for HTML.
//!
//! - [`stress_html`]: the report of one stress run (summary, prices, bad debt, liquidations by
//!   round, contagion trace);
//! - [`loss_distribution_svg`]: a loss histogram with VaR / ES markers, for a Monte Carlo sample;
//! - [`simulation_html`] and [`Section`]: a generic page of sections (text, chart, table).
#![forbid(unsafe_code)]

mod charts;
mod html;
mod loss;
mod stress;

pub use html::{escape_html, simulation_html, Section};
pub use loss::loss_distribution_svg;
pub use stress::stress_html;
