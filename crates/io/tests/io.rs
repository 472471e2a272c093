//! The io crate's one integration-test binary (STYLE: one per crate keeps build time down).

#[path = "io/derivatives.rs"]
mod derivatives;
#[path = "io/files.rs"]
mod files;
#[path = "io/mutation.rs"]
mod mutation;
#[path = "io/parquet.rs"]
mod parquet;
#[path = "io/text.rs"]
mod text;

/// The findings of a load other than the real-data summaries (dust, one asset on both sides, unused
/// reserves: docs/formats.md#real-data-warnings), which the shared fixtures show by design.
pub fn unexpected(d: &cascade_io::Diagnostics) -> Vec<String> {
    d.items
        .iter()
        .map(|x| x.to_string())
        .filter(|m| {
            !(m.contains("dust position")
                || m.contains("same asset as collateral and as debt")
                || m.contains("with no position"))
        })
        .collect()
}
