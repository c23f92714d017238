//! The process around a run: progress on a terminal, and temporary files
//! removed whatever way the process ends.
//!
//! - [`progress`]: the progress bar on stderr;
//! - [`cleanup`]: temporary folders removed on failure, Ctrl-C and SIGTERM.

pub mod cleanup;
pub mod progress;
