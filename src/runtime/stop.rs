//! Stopping a run from outside it: a host that cannot end the process on
//! Ctrl-C asks the runs in progress to stop ([`request`]), and each stops
//! at its next checkpoint ([`check`]) with [`Stopped`], its guards
//! removing what it wrote, as on any error.
//!
//! The Python package is that host: Ctrl-C in a notebook is a
//! `KeyboardInterrupt` the caller may catch, and the interpreter (and the
//! kernel) must live on. The CLI never asks: its handler ends the process
//! ([`crate::runtime::cleanup`]).
//!
//! The checkpoints are where a run spends its time: before each batch of
//! chunks (or row groups, or a table's batches) is read, and before each
//! partition's episodes are built; between two of them passes at most one
//! batch of chunks or one partition. The request is process-wide, like
//! Ctrl-C: every run in progress stops, until it is withdrawn ([`clear`])
//! once the run that asked has stopped.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether a stop is asked for.
struct Flag(AtomicBool);

impl Flag {
    fn set(&self, requested: bool) {
        self.0.store(requested, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), Stopped> {
        match self.0.load(Ordering::SeqCst) {
            true => Err(Stopped),
            false => Ok(()),
        }
    }
}

/// The process's request.
static REQUESTED: Flag = Flag(AtomicBool::new(false));

/// Asks every run in progress to stop at its next checkpoint.
pub fn request() {
    REQUESTED.set(true);
}

/// Withdraws the request, once the runs it was for have stopped, so that
/// the next run goes on.
pub fn clear() {
    REQUESTED.set(false);
}

/// A checkpoint: [`Stopped`] when a stop is asked for.
pub fn check() -> Result<(), Stopped> {
    REQUESTED.check()
}

/// A run stopped because it was asked to ([`request`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("interrupted: the run was asked to stop and did, writing nothing")]
pub struct Stopped;

impl crate::error::Classify for Stopped {
    /// Not a fault of the inputs or of the code: the environment's, as an
    /// interrupted read is ([`crate::error::ErrorKind::reading`]).
    fn kind(&self) -> crate::error::ErrorKind {
        crate::error::ErrorKind::Environment
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a flag of its own: the process's would stop the runs of the
    /// tests running beside this one.
    #[test]
    fn a_request_stops_checkpoints_until_it_is_withdrawn() {
        let flag = Flag(AtomicBool::new(false));
        assert_eq!(flag.check(), Ok(()));
        flag.set(true);
        assert_eq!(flag.check(), Err(Stopped));
        assert_eq!(flag.check(), Err(Stopped), "until withdrawn");
        flag.set(false);
        assert_eq!(flag.check(), Ok(()));
        assert_eq!(check(), Ok(()), "nothing asks in the tests");
    }
}
