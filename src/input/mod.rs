//! Reading: every input row becomes exactly one outcome, a checked row or a
//! reject with the contract's reason, and nothing is dropped.
//!
//! - [`records`]: the lenient CSV tokenizer, with each record's first line
//!   and raw text, and chunks of whole records for parallel parsing;
//! - [`claims`]: the canonical claims CSV, and the row checks of contract
//!   section 5 that every claims format shares;
//! - [`formats`]: RIF, DE-SynPUF and CCLF claims, and the enrollment formats,
//!   mapped onto the same rows;
//! - [`beneficiaries`]: monthly enrollment, checked per row and per
//!   beneficiary;
//! - [`folders`]: which files a folder given as input stands for;
//! - [`text`]: shared text for the ids that repeat row after row.

pub mod beneficiaries;
pub mod claims;
pub mod folders;
pub mod formats;
pub mod records;
mod text;
