//! Self-contained HTML reports with inline SVG charts. (in progress)
#![forbid(unsafe_code)]
