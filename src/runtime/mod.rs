//! The process around a run: progress on a terminal, and temporary files
//! removed whatever way the process ends.
//!
//! - [`progress`]: the progress bar on stderr;
//! - [`cleanup`]: temporary folders removed on failure, Ctrl-C and SIGTERM;
//! - [`codec`]: the pieces of the binary encodings rows are held in;
//! - [`memory`]: the process's resident memory, and its peak per phase;
//! - [`stop`]: a run stopped at its next checkpoint when a host that must
//!   live on (Python) is interrupted;
//! - [`tunables`]: the engine's chunk, partition, interner and memory
//!   settings, and where staged and spill files go.

pub mod cleanup;
pub mod codec;
pub mod memory;
pub mod progress;
pub mod stop;
pub mod tunables;

/// The `tracing` target of notices: one-line facts a user should see at the
/// default verbosity (which format each claims file was read as, a file
/// skipped), silenced by `--quiet`. The binary enables it at `info` while
/// the rest of the crate logs at `warn`.
pub const NOTICE: &str = "episode_recon::notice";
