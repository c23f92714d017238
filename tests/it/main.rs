//! The integration tests: one binary, one module per concern.

mod bad_input;
mod beneficiary_formats;
mod cclf;
mod cmmi;
mod compressed;
#[cfg(unix)]
mod crash;
#[cfg(target_os = "linux")]
mod disk_full;
mod eligibility;
mod excel_safe;
mod exit_status;
mod formats;
mod golden;
#[cfg(unix)]
mod interrupt;
mod overflow;
#[cfg(feature = "parquet")]
mod parquet;
#[cfg(feature = "parquet")]
mod parquet_runs;
mod properties;
mod readme;
mod regression;
mod report;
mod reprice;
mod rif;
mod rules;
mod scale;
mod settlement_runs;
mod streams;
mod support;
mod synpuf;
mod true_up;
mod warnings;
#[cfg(not(feature = "parquet"))]
mod without_parquet;
