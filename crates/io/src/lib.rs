//! cascade's file layer: snapshots with their CSV/Parquet position files, writing them, and the
//! seeded synthetic-system generator.
#![forbid(unsafe_code)]

pub mod gen;
pub mod load;
pub mod write;
