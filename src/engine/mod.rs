//! The reconciliation itself: rows routed by beneficiary, final action,
//! episodes, eligibility and risk per beneficiary in parallel, then the
//! global steps (caps and floors, pricing, provider limits, settlement)
//! over one figure per episode.
//!
//! - [`partitions`], [`encoding`], [`spill`]: rows by beneficiary (claims
//!   and enrollment), encoded, in memory or on disk;
//! - [`final_action`]: claim versions -> the final-action claims;
//! - [`beneficiary`]: final action and every episode type for one
//!   beneficiary's rows; [`grouped`]: that step run as a file's run of one
//!   beneficiary's rows ends, for files that hold them together;
//! - [`episodes`]: one beneficiary's claims and one overlap group ->
//!   episode drafts and ledgers, with [`eligibility`] and [`risk`];
//! - [`pricing`]: periods, targets, caps and floors, gain or loss, provider
//!   limits; [`settle`]: participants settled across their episodes;
//! - [`ledger`]: each partition's ledger lines, compressed until written;
//! - [`reconcile`]: the run that ties these together.

pub mod beneficiary;
pub mod eligibility;
pub mod encoding;
pub mod episodes;
pub mod final_action;
pub mod grouped;
pub mod ledger;
pub mod partitions;
pub mod pricing;
pub mod reconcile;
pub mod risk;
pub mod settle;
pub mod spill;
