//! The process's memory as the system reports it: the resident memory now
//! (what `--memory-limit` compares against, RULES 34) and the peak of each
//! phase of a run (issue 13: the limit has to hold in every phase, not only
//! while claims are read).
//!
//! Linux only; elsewhere every figure is `None` and nothing is reported.
//! The files and fields read, from proc(5) (`man 5 proc`, and the kernel's
//! Documentation/filesystems/proc.rst):
//! - `/proc/self/statm`, second field: resident pages;
//! - `/proc/self/status`, line `VmHWM:`: the peak resident set size ("high
//!   water mark"), in kB (kibibytes);
//! - `/proc/self/clear_refs`: writing `5` resets that peak to the current
//!   resident set size (Linux 4.0 and later).
//!
//! It also lets the program give its allocator a moment to return what a
//! phase freed ([`set_release_freed`]): the library knows when a phase
//! ends, the program which allocator it runs on.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// What the program does to return the memory a phase freed to the
/// system, set once by the program ([`set_release_freed`]).
static RELEASE_FREED: OnceLock<fn()> = OnceLock::new();

/// Sets what [`release_freed`] does: the program, which chose the
/// allocator, knows how to ask it (the command asks mimalloc to collect,
/// src/main.rs). Only the first call counts.
pub fn set_release_freed(release: fn()) {
    let _ = RELEASE_FREED.set(release);
}

/// Returns what the phase that just ended freed to the system, where the
/// program said how ([`set_release_freed`]); nothing otherwise. Called
/// once episodes are built: the partitions decoded to build them are
/// freed by then, and an allocator that keeps freed memory a while (as
/// mimalloc does, `Tunables::allocator_purge_delay_ms`) held it under
/// the outputs written next, which made that phase the run's peak.
pub fn release_freed() {
    if let Some(release) = RELEASE_FREED.get() {
        release();
    }
}

/// The resident memory of this process, where the system tells it (Linux's
/// `/proc/self/statm`); `None` elsewhere. The memory limit bounds what the
/// process holds, not only the claims it parsed: the enrollment, read
/// buffers and memory the allocator keeps after a spill all count.
#[cfg(unix)]
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf reads a constant of the system and touches no memory
    // of ours.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// [`resident_bytes`] where there is no `/proc`: unknown.
#[cfg(not(unix))]
pub fn resident_bytes() -> Option<u64> {
    None
}

/// The peak resident memory of this process since it started or since the
/// last [`reset_peak`]: `VmHWM` of `/proc/self/status`; `None` where that
/// cannot be read.
pub fn peak_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Resets the peak of [`peak_bytes`] to the resident memory now, so the
/// next reading is the peak of what came after; whether the system allowed
/// it. The peak is the whole process's: in a program that embeds the
/// library it is the host's too, which is why only the command line
/// measures phases ([`PhasePeaks::start`]), and only at `-v`: the reset
/// also lowers the peak getrusage reports (`ru_maxrss`, what
/// `/usr/bin/time` shows) to the last phase's.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// One phase of a run, measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhasePeak {
    /// The phase's name, as the progress bar shows it.
    pub phase: &'static str,
    /// The peak resident memory of the process during the phase.
    pub peak: u64,
    /// How long the phase lasted.
    pub took: Duration,
}

/// The peak resident memory of each phase of a run, in order: each phase
/// resets the system's peak when it starts and reads it when it ends.
/// Phases follow each other, so each peak is its phase's alone (what runs
/// beside a phase, such as the enrollment loading while claims are read,
/// counts in it).
#[derive(Debug, Default)]
pub struct PhasePeaks {
    /// The phase under way and when it started.
    current: Option<(&'static str, Instant)>,
    /// The phases ended, in order.
    done: Vec<PhasePeak>,
}

impl PhasePeaks {
    /// Peaks to measure, or `None` where the system cannot reset its peak
    /// (not Linux, or a kernel before 4.0): a peak since the process
    /// started would be reported as a phase's.
    pub fn start() -> Option<PhasePeaks> {
        (reset_peak() && peak_bytes().is_some()).then(PhasePeaks::default)
    }

    /// Ends the phase under way, if any, and starts `phase`.
    pub fn phase(&mut self, phase: &'static str) {
        self.end();
        reset_peak();
        self.current = Some((phase, Instant::now()));
    }

    /// Ends the phase under way, if any: its peak is logged (`tracing`,
    /// info) and kept.
    pub fn end(&mut self) {
        let Some((phase, started)) = self.current.take() else {
            return;
        };
        let Some(peak) = peak_bytes() else { return };
        let took = started.elapsed();
        tracing::info!(
            phase,
            peak_mib = format_args!("{:.1}", peak as f64 / f64::from(1 << 20)),
            seconds = format_args!("{:.2}", took.as_secs_f64()),
            "peak resident memory"
        );
        self.done.push(PhasePeak { phase, peak, took });
    }

    /// The phases ended so far, in order.
    pub fn peaks(&self) -> &[PhasePeak] {
        &self.done
    }
}

/// Held by the unit tests that reset the peak: it is the whole test
/// process's, so one test's reset would cut another's phase short.
#[cfg(test)]
pub(crate) static PEAK_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    static RELEASES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn count_release() {
        RELEASES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// What the program set runs at each phase end, and a second setting
    /// does not replace it.
    #[test]
    fn the_programs_release_runs_at_each_phase_end() {
        set_release_freed(count_release);
        set_release_freed(|| panic!("only the first setting counts"));
        let before = RELEASES.load(std::sync::atomic::Ordering::SeqCst);
        release_freed();
        release_freed();
        // At least: runs in the same process may end phases meanwhile.
        assert!(RELEASES.load(std::sync::atomic::Ordering::SeqCst) >= before + 2);
    }

    /// A phase that touches 64 MiB has a peak that much higher than the
    /// phase after it: the peak is reset between phases. (Other tests of
    /// the same process run beside this one, hence the 16 MiB of slack.)
    #[test]
    fn a_phase_that_touches_more_memory_has_a_higher_peak() {
        let _alone = PEAK_TESTS.lock().unwrap_or_else(|p| p.into_inner());
        let linux = cfg!(target_os = "linux");
        let Some(mut peaks) = PhasePeaks::start() else {
            assert!(!linux, "Linux resets the peak");
            return;
        };
        assert!(peak_bytes().unwrap() >= resident_bytes().unwrap() / 2);
        peaks.phase("large");
        // Filled with ones, so every page is written.
        let touched = vec![1u8; 64 << 20];
        std::hint::black_box(&touched);
        drop(touched);
        peaks.phase("after");
        peaks.end();
        peaks.end(); // nothing under way: nothing added
        let ended = peaks.peaks();
        assert_eq!(
            ended.iter().map(|p| p.phase).collect::<Vec<_>>(),
            ["large", "after"]
        );
        assert!(ended[0].peak >= 64 << 20, "{ended:?}");
        assert!(ended[0].peak >= ended[1].peak + (48 << 20), "{ended:?}");
    }
}
