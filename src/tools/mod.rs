//! Tools around the run: what the engine reads, written out, and data of
//! realistic shape for benchmarks.
//!
//! - [`compress`]: writing a gzip or zstd file on every core;
//! - [`convert`]: claims or beneficiaries of any format as canonical CSV;
//! - [`generate`]: synthetic claims, enrollment, definitions and prices.

pub mod compress;
pub mod convert;
pub mod generate;
