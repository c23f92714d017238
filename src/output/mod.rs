//! Writing a run: the contract's files, byte for byte, staged beside the
//! output folder and renamed into place only when all are complete.
//!
//! - [`report`]: the writers of every output file, and the atomic folder;
//! - [`paragraph`]: the summary paragraph `reconcile` prints.

pub mod paragraph;
pub mod report;
