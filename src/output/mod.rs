//! Writing a run: the contract's files, byte for byte, staged beside the
//! output folder and renamed into place only when all are complete.
//!
//! - [`report`]: the writers of every output file, the tables they write
//!   (one description per table: columns, what each holds, rows), and
//!   the atomic folder;
//! - [`paragraph`]: the summary paragraph `reconcile` prints;
//! - `arrow` (feature `parquet`): the tables as Arrow record batches, typed
//!   from their descriptions; `parquet`: those batches as Parquet files.

#[cfg(feature = "parquet")]
pub mod arrow;
pub mod paragraph;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod report;
