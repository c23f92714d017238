//! The run's configuration, validated before any claim is read: a mistake
//! here is a fatal error naming the file and the key or row.
//!
//! - [`definitions`]: episode types (TOML), and [`cmmi`], which generates
//!   the BPCI Advanced ones from the CMS tables;
//! - [`prices`], [`risk_factors`]: target prices and risk multipliers, each
//!   with its `*` fallback; [`table`] reads these small CSV files;
//! - [`settlement`]: participants and their tracks;
//! - [`toml_file`]: reading a TOML input, and its errors, alike for
//!   definitions and settlement;
//! - [`fingerprint`]: what a run was made with, recorded in its summary so
//!   later commands can tell runs apart.

pub mod cmmi;
pub mod definitions;
pub mod fingerprint;
pub mod prices;
pub mod risk_factors;
pub mod settlement;
pub mod table;
pub mod toml_file;
