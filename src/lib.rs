//! episode-recon: bundled-payment episode reconciliation.
//!
//! Claims stream in, are grouped into episodes by declarative definitions,
//! checked against the beneficiaries' enrollment, priced against
//! risk-adjusted target prices, and settled per provider and participant,
//! with a ledger that says why every claim line landed where it did.
//!
//! The folders follow the data's path, and each imports only from the ones
//! before it (with [`model`], the vocabulary, [`runtime`], the process,
//! and [`error`], who fixes what went wrong, usable by all):
//!
//! ```text
//! input ──► engine ──► output
//!   │          ▲          │
//! config ──────┘        runs ◄── (a finished run's outputs)
//! ```
//!
//! - [`model`]: the domain's small types, money, and what became of each
//!   input row;
//! - [`input`]: reading claims and beneficiaries in every format into
//!   checked rows or rejects;
//! - [`config`]: definitions, target prices, risk factors, participants
//!   and tracks, validated; what a run was made with;
//! - [`engine`]: partitions and spill, final action, episodes, eligibility,
//!   risk, pricing, settlement, and the run that ties them together;
//! - [`output`]: the output files, written whole or not at all;
//! - [`runs`]: working from earlier runs (true-up, reprice, scenarios);
//! - [`tools`]: converting inputs to the canonical CSV, generating data;
//! - [`runtime`]: the progress bar and cleanup on interrupt;
//! - [`error`]: every error's group (configuration, input data, usage,
//!   environment, internal) and its exit status.
//!
//! The contract all of this implements is `docs/CONTRACT.md`.
#![deny(missing_docs)]

pub mod config;
pub mod engine;
pub mod error;
pub mod input;
pub mod model;
pub mod output;
pub mod runs;
pub mod runtime;
pub mod tools;
