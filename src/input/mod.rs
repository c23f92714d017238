//! Reading: every input row becomes exactly one outcome, a checked row or a
//! reject with the contract's reason, and nothing is dropped.
//!
//! - [`records`]: the lenient CSV tokenizer, with each record's first line
//!   and raw text, and chunks of whole records for parallel parsing;
//! - [`claims`]: the canonical claims CSV;
//! - `claim_rows`: the row checks of contract section 5, once for every
//!   claims format: a format maps its rows onto the canonical columns and
//!   the checks, the cutoff and the claim line are built there;
//! - `driver`: one reader for every format: header, chunks, parallel
//!   batches, file order;
//! - [`formats`]: RIF, DE-SynPUF and CCLF claims, and the enrollment formats,
//!   mapped onto the same rows;
//! - [`beneficiaries`]: monthly enrollment, checked per row and per
//!   beneficiary;
//! - [`compressed`]: gzip and zstd inputs, decoded on a thread of their
//!   own, and their rows found again by decompressing forward;
//! - [`folders`]: which files a folder given as input stands for;
//! - [`source`]: opening an input once (a file, a FIFO, standard input),
//!   peeking at its first line without consuming it, and finding its rows
//!   again after reading;
//! - [`text`]: shared text for the ids that repeat row after row;
//! - `arrow` (feature `parquet`): Arrow tables (Parquet files, or batches a
//!   caller holds) as rows of the canonical columns, checked as CSV rows.

#[cfg(feature = "parquet")]
pub mod arrow;
pub mod beneficiaries;
mod claim_rows;
pub mod claims;
pub mod compressed;
mod driver;
pub mod folders;
pub mod formats;
pub mod records;
pub mod source;
mod text;

// How a reader cuts its input, named by `ClaimsFormat::read_chunked`'s
// callers outside the crate: the fuzz targets read each input cut two ways
// and check the outcomes agree.
pub use driver::{Chunking, Reading};
