//! Commands that work from earlier runs' outputs, never their claims.
//!
//! - [`prior_run`]: a run folder read back and checked for consistency;
//! - [`pricing_files`]: risk factors, participants and settlement files
//!   read and checked together;
//! - [`reprice`]: a run priced again (and several price files, tracks or
//!   participants side by side: scenarios);
//! - [`true_up`]: two runs compared, and what is now due;
//! - [`report`]: a run as one HTML page for the people who act on it.

pub mod pricing_files;
pub mod prior_run;
pub mod report;
pub mod reprice;
pub mod true_up;
