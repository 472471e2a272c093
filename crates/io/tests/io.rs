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
