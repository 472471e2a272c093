//! The page builder: one self-contained HTML file (inline CSS, inline SVG, no script, no external
//! resource), made of titled sections that hold text, a chart and a table.

use std::fmt::Write as _;

/// One section of a report page: a heading, then paragraphs of text, a chart and a table, each
/// optional.
///
/// `heading`, `text` and the cells of `table` are plain text and are escaped for HTML; `svg` is
/// markup, embedded as it is — pass only SVG made by this crate (e.g. [`crate::loss_distribution_svg`])
/// or by other trusted code, never text taken from input.
///
/// # Examples
/// ```
/// use cascade_report::{simulation_html, Section};
/// let s = Section {
///     heading: "System VaR".into(),
///     svg: None,
///     table: Some(vec![
///         vec!["level".into(), "VaR".into()],
///         vec!["99%".into(), "$1.20M".into()],
///     ]),
///     text: vec!["10,000 paths, horizon 10 days.".into()],
/// };
/// let html = simulation_html("Monte Carlo", &[s]);
/// assert!(html.contains("<th class=\"num\">VaR</th>"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    /// An SVG document or fragment (markup, not escaped).
    pub svg: Option<String>,
    /// Rows of cells; the first row is the header.
    pub table: Option<Vec<Vec<String>>>,
    /// Paragraphs, shown before the chart.
    pub text: Vec<String>,
}

impl Section {
    /// A section with only a heading.
    pub fn new(heading: impl Into<String>) -> Section {
        Section {
            heading: heading.into(),
            ..Section::default()
        }
    }

    /// Adds a paragraph.
    pub fn with_text(mut self, paragraph: impl Into<String>) -> Section {
        self.text.push(paragraph.into());
        self
    }

    /// Adds a paragraph if there is one.
    pub fn with_text_if(self, paragraph: Option<String>) -> Section {
        match paragraph {
            Some(p) => self.with_text(p),
            None => self,
        }
    }

    /// Sets the chart.
    pub fn with_svg(mut self, svg: impl Into<String>) -> Section {
        self.svg = Some(svg.into());
        self
    }

    /// Sets the table (first row: header).
    pub fn with_table(mut self, rows: Vec<Vec<String>>) -> Section {
        self.table = Some(rows);
        self
    }
}

/// A generic report page: `title`, then each section in order. Self-contained: it renders without
/// network and needs no JavaScript.
pub fn simulation_html(title: &str, sections: &[Section]) -> String {
    let body: Vec<String> = sections.iter().map(section_html).collect();
    page(title, &[], &body)
}

/// Escapes text for HTML element content and (double- or single-quoted) attribute values.
///
/// # Examples
/// ```
/// assert_eq!(cascade_report::escape_html(r#"<b>&"x"</b>"#), "&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;");
/// ```
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

const CSS: &str = "\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;\
color:#1d232b;background:#fff;max-width:1180px;margin:0 auto;padding:20px 28px 48px}\
h1{font-size:26px;margin:4px 0 6px}\
h2{font-size:19px;margin:30px 0 8px;padding-bottom:4px;border-bottom:1px solid #d8dde3}\
p{margin:6px 0}\
.meta{color:#4a5561;margin:0 0 2px}\
table{border-collapse:collapse;margin:10px 0;font-size:13.5px;font-variant-numeric:tabular-nums}\
th,td{padding:4px 9px;border-bottom:1px solid #e3e7eb;text-align:left;white-space:nowrap;vertical-align:top}\
th{background:#f2f4f6;font-weight:600;white-space:normal;vertical-align:bottom;min-width:4.5em}\
td .sub{display:block;font-size:11.5px;color:#5b6672}\
td.num,th.num{text-align:right}\
tr.total td{font-weight:600;border-top:2px solid #9aa5b1}\
.scroll{overflow-x:auto;max-width:100%}\
body.wide{max-width:1560px}\
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:10px 28px;align-items:start}\
.pair>h2{grid-column:1/-1}\
.pair h3{font-size:16px;margin:8px 0 4px;color:#4a5561}\
.pair table{font-size:12.5px}\
.pair th,.pair td{padding:3px 6px}\
@media (max-width:900px){.pair{grid-template-columns:minmax(0,1fr)}}\
h3{font-size:17px;margin:22px 0 6px}\
figure{margin:10px 0}\
svg{max-width:100%;height:auto;display:block}\
ol.trace{font:12.5px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;padding-left:3.2em;margin:8px 0}\
ol.trace li{margin:1px 0;overflow-wrap:anywhere}\
.note{color:#4a5561;font-size:13px}\
";

/// How wide a page may grow: one column of content, or two runs side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Narrow,
    Wide,
}

/// The whole page: `meta` lines under the title (already HTML), then `body` parts (already HTML).
pub(crate) fn page(title: &str, meta: &[String], body: &[String]) -> String {
    page_with_layout(title, meta, body, Layout::Narrow)
}

/// [`page`], `layout` wide.
pub(crate) fn page_with_layout(
    title: &str,
    meta: &[String],
    body: &[String],
    layout: Layout,
) -> String {
    let mut o = String::new();
    let t = escape_html(title);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(o, "<title>{t}</title>");
    let _ = writeln!(o, "<style>{CSS}</style>\n</head>");
    match layout {
        Layout::Narrow => o.push_str("<body>\n"),
        Layout::Wide => o.push_str("<body class=\"wide\">\n"),
    }
    let _ = writeln!(o, "<h1>{t}</h1>");
    for m in meta {
        let _ = writeln!(o, "<p class=\"meta\">{m}</p>");
    }
    for b in body {
        o.push_str(b);
    }
    o.push_str("</body>\n</html>\n");
    o
}

/// The heading level of a section: `h2` on its own page, `h3` inside another section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    H2,
    H3,
}

impl Level {
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Level::H2 => "h2",
            Level::H3 => "h3",
        }
    }
}

/// One section as HTML.
pub(crate) fn section_html(s: &Section) -> String {
    section_html_at(s, false, Level::H2)
}

/// One section as HTML with its heading at `level`; with `last_is_total` the last row of its table is
/// set apart as a total.
pub(crate) fn section_html_at(s: &Section, last_is_total: bool, level: Level) -> String {
    let mut o = String::new();
    let h = level.tag();
    let _ = writeln!(o, "<section>\n<{h}>{}</{h}>", escape_html(&s.heading));
    for p in &s.text {
        let _ = writeln!(o, "<p>{}</p>", escape_html(p));
    }
    if let Some(svg) = &s.svg {
        let _ = writeln!(o, "<figure>{}</figure>", inline_svg(svg));
    }
    if let Some(rows) = &s.table {
        o.push_str(&table_html(rows, last_is_total));
    }
    o.push_str("</section>\n");
    o
}

/// A table in a container that scrolls sideways when the table is wider than the page; the first row
/// is the header. With `last_is_total`, the last row is set apart as a total. A body cell's first line
/// is its value; any further lines (after `\n`) are shown under it in small print.
pub(crate) fn table_html(rows: &[Vec<String>], last_is_total: bool) -> String {
    let mut o = String::from("<div class=\"scroll\"><table>\n");
    let Some((head, rest)) = rows.split_first() else {
        return String::new();
    };
    // A column is numeric (right-aligned) when every body cell in it looks like a number.
    let numeric: Vec<bool> = (0..head.len())
        .map(|c| {
            !rest.is_empty()
                && rest
                    .iter()
                    .all(|r| r.get(c).into_iter().all(|x| looks_numeric(x)))
        })
        .collect();
    let class = |c: usize| {
        if numeric.get(c).copied().unwrap_or(false) {
            " class=\"num\""
        } else {
            ""
        }
    };
    o.push_str("<thead><tr>");
    for (c, h) in head.iter().enumerate() {
        let _ = write!(o, "<th{}>{}</th>", class(c), escape_html(h));
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    for (k, r) in rest.iter().enumerate() {
        if last_is_total && k + 1 == rest.len() {
            o.push_str("<tr class=\"total\">");
        } else {
            o.push_str("<tr>");
        }
        for (c, cell) in r.iter().enumerate() {
            let _ = write!(o, "<td{}>{}</td>", class(c), cell_html(cell));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table></div>\n");
    o
}

/// A cell's text: the first line as it is, the others in small print under it.
fn cell_html(cell: &str) -> String {
    let mut lines = cell.split('\n');
    let mut o = escape_html(lines.next().unwrap_or(""));
    for l in lines {
        let _ = write!(o, "<span class=\"sub\">{}</span>", escape_html(l));
    }
    o
}

/// `$1.2M`, `−4.5%`, `12,040`, `0.95`, `n/a`, empty.
fn looks_numeric(s: &str) -> bool {
    let s = s.trim();
    let s = s
        .strip_prefix('−')
        .or_else(|| s.strip_prefix('-'))
        .or_else(|| s.strip_prefix('+'))
        .unwrap_or(s);
    let s = s.strip_prefix('$').unwrap_or(s);
    s.is_empty() || s == "n/a" || s.starts_with(|c: char| c.is_ascii_digit())
}

/// The namespace attribute a standalone SVG needs; inline SVG in HTML does not, and leaving it out
/// keeps the page free of any `http` string.
const SVG_NS: &str = " xmlns=\"http://www.w3.org/2000/svg\"";

/// An SVG document ready to sit inside HTML: no XML declaration, no namespace attribute.
pub(crate) fn inline_svg(svg: &str) -> String {
    let s = svg.trim();
    let s = match s.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(s, |(_, r)| r.trim_start()),
        None => s,
    };
    s.replacen(SVG_NS, "", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            escape_html("<b>&\"x\"</b> 'y'"),
            "&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt; &#39;y&#39;"
        );
    }

    #[test]
    fn table_alignment_and_escaping() {
        let rows = vec![
            vec!["id".to_string(), "bad debt".to_string()],
            vec!["<a>".to_string(), "$1.20M".to_string()],
        ];
        let t = table_html(&rows, false);
        assert!(t.contains("<td>&lt;a&gt;</td>"));
        assert!(t.contains("<td class=\"num\">$1.20M</td>"));
        assert!(t.contains("<th class=\"num\">bad debt</th>"));
    }

    #[test]
    fn inline_svg_drops_namespace_and_declaration() {
        let s =
            "<?xml version=\"1.0\"?>\n<svg width=\"1\" xmlns=\"http://www.w3.org/2000/svg\"></svg>";
        assert_eq!(inline_svg(s), "<svg width=\"1\"></svg>");
    }

    #[test]
    fn empty_page_is_well_formed() {
        let h = simulation_html("a & b", &[]);
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.contains("<title>a &amp; b</title>"));
        assert!(h.ends_with("</html>\n"));
    }
}
