//! episode-recon: bundled-payment episode reconciliation.
//!
//! Claims stream in, are grouped into episodes by declarative definitions,
//! priced against target prices, and settled per provider, with a ledger
//! that says why every claim line landed where it did. The modules follow
//! the data's path:
//!
//! - [`records`]: lenient CSV records with exact line numbers, and chunks
//!   of whole records for parallel parsing;
//! - [`claims`]: the claims CSV -> checked [`model::ClaimLine`]s or rejects;
//!   [`formats`]: RIF, DE-SynPUF and CCLF onto the same lines;
//! - [`partitions`], [`spill`]: rows routed by beneficiary, in memory or on
//!   disk;
//! - [`final_action`]: claim versions -> the final-action claims;
//! - [`beneficiaries`]: the monthly enrollment CSV -> each beneficiary's
//!   checked months, flags and attributes, or rejects;
//! - [`definitions`]: TOML -> validated [`definitions::EpisodeDefinition`]s
//!   ([`cmmi`] generates them from the CMS tables);
//! - [`episodes`]: one beneficiary's claims -> episode drafts and ledgers;
//! - [`prices`], [`pricing`]: target prices, caps, gain/loss, stop limits;
//!   [`risk_factors`]: the multipliers that adjust target prices;
//!   [`settlement`]: tracks, participants and their quality scores; the
//!   CSV tables among these read by [`table`], where a bad row is fatal;
//! - [`reconcile`]: the run that ties these together, in parallel;
//! - [`report`]: the five output files, with [`fingerprint`] recording what
//!   a run was made with;
//! - [`prior_run`], [`reprice`], [`true_up`]: working from earlier runs.
//!
//! The contract all of this implements is `docs/CONTRACT.md`.
#![deny(missing_docs)]

pub mod beneficiaries;
pub mod claims;
pub mod cleanup;
pub mod cmmi;
pub mod convert;
pub mod definitions;
pub mod eligibility;
pub mod episodes;
pub mod final_action;
pub mod fingerprint;
pub mod folders;
pub mod formats;
pub mod generate;
pub mod model;
pub mod money;
pub mod partitions;
pub mod prices;
pub mod pricing;
pub mod prior_run;
pub mod progress;
pub mod reconcile;
pub mod records;
pub mod report;
pub mod reprice;
pub mod risk;
pub mod risk_factors;
pub mod settlement;
pub mod spill;
pub mod table;
mod text;
pub mod true_up;
