//! A progress bar on stderr for long runs (issue 5).
//!
//! A multi-gigabyte claims file takes minutes; without feedback a user
//! cannot tell a slow run from a hung one. [`Progress`] shows the phase,
//! rows read, bytes read of the total, rows per second and elapsed time —
//! but only for runs longer than a second (short runs print nothing), only
//! when stderr is a terminal, and never with `--quiet`, so logs, pipes and
//! CI output stay clean.
//!
//! The counters are plain atomics, so one `Progress` is shared by
//! reference across rayon workers and [`Progress::add_rows`] is cheap
//! enough to call per chunk. Drawing is done by indicatif's own ticker
//! thread (10 times a second), never by the workers.
//!
//! Phases are also where memory is measured (issue 13): a tracker made
//! with [`Progress::measuring_memory`] logs the peak resident memory of
//! each phase when the next one starts or the run finishes
//! ([`crate::runtime::memory::PhasePeaks`]), bar or no bar.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::runtime::memory::{PhasePeak, PhasePeaks};

/// How long a run must last before the bar appears: short runs print nothing.
pub const REVEAL_AFTER: Duration = Duration::from_secs(1);

/// How often the bar is redrawn once visible (about 10 times a second).
const TICK: Duration = Duration::from_millis(100);

/// Redraws per second allowed on the terminal, matching [`TICK`].
const DRAW_HZ: u8 = 10;

/// The bar shows a phase without a count (spinner only).
const MODE_SPINNER: u8 = 0;
/// The bar shows rows and bytes read (set by [`Progress::add_rows`]).
const MODE_READING: u8 = 1;
/// The bar shows a phase's work count (set by [`Progress::set_work`]).
const MODE_WORK: u8 = 2;

/// Progress of one run: counters always, and a bar on stderr when enabled.
///
/// `Send + Sync`, so the run shares one `&Progress` with every worker.
/// When disabled (not a terminal, or `--quiet`) it holds no indicatif
/// objects and every method is an atomic add or nothing, so callers never
/// need to branch on whether progress is shown.
#[derive(Debug)]
pub struct Progress {
    /// Rows and bytes read so far; shared with the bar's template keys.
    counters: Arc<Counters>,
    /// The bar and its reveal timer; `None` when disabled.
    bar: Option<Bar>,
    /// Each phase's peak memory, when measured
    /// ([`Progress::measuring_memory`]).
    memory: Option<Mutex<PhasePeaks>>,
}

/// Counters read by the template at draw time, so workers never lock.
#[derive(Debug, Default)]
struct Counters {
    rows: AtomicU64,
    bytes: AtomicU64,
}

/// The enabled half of a [`Progress`].
#[derive(Debug)]
struct Bar {
    bar: ProgressBar,
    /// Total input bytes, for the reading bar (0 = unknown).
    total_bytes: u64,
    /// One of `MODE_*`: which template is on the bar.
    mode: AtomicU8,
    /// The thread that makes the bar visible after [`REVEAL_AFTER`];
    /// taken (stopped and joined) by [`Progress::finish`].
    reveal: Mutex<Option<Reveal>>,
}

impl Bar {
    /// Puts `style` on the bar with its own `length` and `position`, and a
    /// rate measured from now: the one way a phase changes what the bar
    /// counts.
    ///
    /// indicatif draws on every change (and its ticker thread at any
    /// moment), so the order matters: a counting style put on first would
    /// be drawn with the previous phase's position and rate, as in
    /// `293,642,003 / 64 (172,072,306/s)` when the bytes read were carried
    /// into the count of partitions. The spinner, which shows no numbers,
    /// stands in while they change, and the new style comes last.
    fn show(&self, style: ProgressStyle, length: Option<u64>, position: u64) {
        self.bar.set_style(spinner_style());
        self.bar.set_position(position);
        match length {
            Some(length) => self.bar.set_length(length),
            None => self.bar.unset_length(),
        }
        // After the position and length: the rate then counts from here.
        self.bar.reset_eta();
        self.bar.set_style(style);
    }
}

/// A pending reveal: dropping or sending on `stop` cancels it.
#[derive(Debug)]
struct Reveal {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Progress {
    /// A progress tracker; with `enabled` false it draws nothing, ever.
    ///
    /// `total_bytes` is the size of the input being read (0 if unknown,
    /// e.g. stdin), so the bar can say how far along the read is. When
    /// enabled, the bar goes to stderr, but only after the run has lasted
    /// [`REVEAL_AFTER`].
    pub fn new(enabled: bool, total_bytes: u64) -> Progress {
        if enabled {
            Progress::with_target(
                total_bytes,
                ProgressDrawTarget::stderr_with_hz(DRAW_HZ),
                REVEAL_AFTER,
            )
        } else {
            Progress {
                counters: Arc::default(),
                bar: None,
                memory: None,
            }
        }
    }

    /// The tracker for the command line: enabled only when stderr is a
    /// terminal and the user did not ask for `--quiet`.
    ///
    /// A bar in a redirected stderr would fill log files with escape codes.
    pub fn for_stderr(quiet: bool, total_bytes: u64) -> Progress {
        Progress::new(!quiet && std::io::stderr().is_terminal(), total_bytes)
    }

    /// An enabled tracker drawing to `target` once `reveal_after` has passed.
    ///
    /// For tests (a hidden or in-memory target, a zero delay) and for
    /// callers that draw somewhere other than stderr.
    pub fn with_target(
        total_bytes: u64,
        target: ProgressDrawTarget,
        reveal_after: Duration,
    ) -> Progress {
        let counters = Arc::new(Counters::default());
        // Hidden until revealed: updates before then cost no terminal I/O.
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(spinner_style());
        bar.set_prefix("starting");

        let (stop, stopped) = mpsc::channel::<()>();
        let revealed = bar.clone();
        let thread = std::thread::Builder::new()
            .name("progress-reveal".into())
            .spawn(move || {
                // Anything but a timeout means finish() came first.
                if let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(reveal_after) {
                    revealed.set_draw_target(target);
                    revealed.enable_steady_tick(TICK);
                }
            });
        // If no thread can be spawned the bar simply never shows.
        let reveal = thread.ok().map(|thread| Reveal { stop, thread });

        Progress {
            counters,
            bar: Some(Bar {
                bar,
                total_bytes,
                mode: AtomicU8::new(MODE_SPINNER),
                reveal: Mutex::new(reveal),
            }),
            memory: None,
        }
    }

    /// The same tracker, also measuring the peak resident memory of each
    /// phase, where the system allows (Linux). Only for a process that is
    /// the run alone, such as the command line: measuring resets the
    /// process's own peak, which a program embedding the library may be
    /// watching (and the command line measures only at `-v`, where the
    /// figures are logged).
    pub fn measuring_memory(mut self) -> Progress {
        self.memory = PhasePeaks::start().map(Mutex::new);
        self
    }

    /// The phases measured and ended so far, in order; empty when memory
    /// is not measured.
    pub fn phase_peaks(&self) -> Vec<PhasePeak> {
        self.memory
            .as_ref()
            .map(|m| lock(m).peaks().to_vec())
            .unwrap_or_default()
    }

    /// Whether a bar may be drawn (false for a disabled tracker).
    pub fn is_enabled(&self) -> bool {
        self.bar.is_some()
    }

    /// Starts a phase, e.g. "reading claims", "building episodes",
    /// "pricing", "writing outputs", so a long pause says what it is
    /// waiting on.
    ///
    /// The bar becomes a spinner with the phase name; a later
    /// [`add_rows`](Self::add_rows) turns it into the rows/bytes bar and
    /// [`set_work`](Self::set_work) into a count of the phase's work.
    pub fn phase(&self, name: &'static str) {
        if let Some(memory) = &self.memory {
            lock(memory).phase(name);
        }
        let Some(b) = &self.bar else { return };
        b.mode.store(MODE_SPINNER, Ordering::Relaxed);
        b.show(spinner_style(), None, 0);
        b.bar.set_prefix(name);
    }

    /// Records `rows` rows and `bytes` bytes read; called per chunk.
    ///
    /// Two atomic adds (and a store of the bar's position); the drawing
    /// happens on indicatif's ticker thread, not here.
    pub fn add_rows(&self, rows: u64, bytes: u64) {
        self.counters.rows.fetch_add(rows, Ordering::Relaxed);
        let read = self.counters.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let Some(b) = &self.bar else { return };
        match b.mode.load(Ordering::Relaxed) {
            // The position mirrors the counter (a store, not an add), so
            // racing workers can only be briefly behind, never double count.
            MODE_READING => b.bar.set_position(read),
            MODE_SPINNER => {
                // First read in this phase: switch to the reading bar once.
                let switched = b
                    .mode
                    .compare_exchange(
                        MODE_SPINNER,
                        MODE_READING,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_ok();
                let read = self.counters.bytes.load(Ordering::Relaxed);
                if switched {
                    let style = reading_style(&self.counters, b.total_bytes);
                    b.show(style, Some(b.total_bytes), read);
                } else {
                    b.bar.set_position(read);
                }
            }
            // A phase counting its own work keeps its own bar.
            _ => {}
        }
    }

    /// Forgets the rows and bytes read so far: the claims are read again
    /// from their start.
    pub fn forget_rows(&self) {
        self.counters.rows.store(0, Ordering::Relaxed);
        self.counters.bytes.store(0, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.bar.set_position(0);
        }
    }

    /// Gives the current phase a known amount of work (e.g. episodes to
    /// price), so the bar shows `done / total` instead of a bare spinner.
    pub fn set_work(&self, total: u64) {
        let Some(b) = &self.bar else { return };
        b.mode.store(MODE_WORK, Ordering::Relaxed);
        b.show(work_style(), Some(total), 0);
    }

    /// Records `done` more units of the current phase's work.
    pub fn add_work(&self, done: u64) {
        let Some(b) = &self.bar else { return };
        if b.mode.load(Ordering::Relaxed) == MODE_WORK {
            b.bar.inc(done);
        }
    }

    /// Rows read so far (counted even when disabled).
    pub fn rows(&self) -> u64 {
        self.counters.rows.load(Ordering::Relaxed)
    }

    /// Bytes read so far (counted even when disabled).
    pub fn bytes(&self) -> u64 {
        self.counters.bytes.load(Ordering::Relaxed)
    }

    /// Stops the bar and clears it from the terminal, so the run's final
    /// paragraph on stdout is not interleaved with a stale bar.
    ///
    /// Idempotent; also done on drop, so an early return (an error) does
    /// not leave the bar behind.
    pub fn finish(&self) {
        if let Some(memory) = &self.memory {
            lock(memory).end();
        }
        let Some(b) = &self.bar else { return };
        let reveal = lock(&b.reveal).take();
        if let Some(Reveal { stop, thread }) = reveal {
            // Cancel a pending reveal, and wait for one under way, so the
            // clear below is the last thing drawn.
            let _ = stop.send(());
            let _ = thread.join();
        }
        if !b.bar.is_finished() {
            b.bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The value behind `mutex`, even if a thread panicked holding it: what
/// it guards (a pending reveal, peaks measured) stays usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A phase without a count: spinner, phase name, elapsed time.
fn spinner_style() -> ProgressStyle {
    style("{spinner} {prefix} [{elapsed}]")
}

/// A phase with a count: done / total, rate, elapsed time.
fn work_style() -> ProgressStyle {
    style("{spinner} {prefix}: {human_pos} / {human_len} ({per_sec}) [{elapsed}] {wide_bar}")
}

/// Reading: rows, bytes of the total (binary units), rows/s, elapsed time.
///
/// The bar's position is bytes; rows come from the shared counters.
fn reading_style(counters: &Arc<Counters>, total_bytes: u64) -> ProgressStyle {
    let template = if total_bytes > 0 {
        "{spinner} {prefix}: {rows} rows, {binary_bytes} / {binary_total_bytes}, \
         {rows_per_sec} [{elapsed}] {wide_bar}"
    } else {
        "{spinner} {prefix}: {rows} rows, {binary_bytes}, {rows_per_sec} [{elapsed}]"
    };
    let rows = Arc::clone(counters);
    let rate = Arc::clone(counters);
    style(template)
        .with_key(
            "rows",
            move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", HumanCount(rows.rows.load(Ordering::Relaxed)));
            },
        )
        .with_key(
            "rows_per_sec",
            move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let secs = state.elapsed().as_secs_f64();
                let rows = rate.rows.load(Ordering::Relaxed) as f64;
                let per_sec = if secs > 0.0 { rows / secs } else { 0.0 };
                let _ = write!(w, "{} rows/s", HumanCount(per_sec as u64));
            },
        )
}

/// A style from one of the constant templates above.
fn style(template: &str) -> ProgressStyle {
    // The templates are constants covered by the tests; the fallback only
    // guards against a future indicatif rejecting one.
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::TermLike;
    use std::io;
    use std::time::Instant;

    /// A terminal that records what is written to it.
    #[derive(Debug, Clone, Default)]
    struct Capture(Arc<Mutex<String>>);

    impl Capture {
        fn text(&self) -> String {
            self.0.lock().unwrap().clone()
        }
    }

    impl TermLike for Capture {
        fn width(&self) -> u16 {
            160
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            let mut t = self.0.lock().unwrap();
            t.push_str(s);
            t.push('\n');
            Ok(())
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    fn all_phases(p: &Progress) {
        p.phase("reading claims");
        p.add_rows(1_000, 340 << 20);
        p.add_rows(1_000, 1 << 20);
        p.phase("building episodes");
        p.add_work(5); // no work set: ignored
        p.phase("pricing");
        p.set_work(10);
        p.add_work(3);
        p.add_work(7);
        p.phase("writing outputs");
        p.finish();
        p.finish(); // idempotent
    }

    #[test]
    fn progress_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Progress>();
    }

    #[test]
    fn disabled_does_nothing_and_is_cheap() {
        let p = Progress::new(false, 1 << 30);
        assert!(!p.is_enabled());
        let start = Instant::now();
        for _ in 0..1_000_000 {
            p.add_rows(1, 100);
        }
        assert!(start.elapsed() < Duration::from_secs(2));
        assert_eq!(p.rows(), 1_000_000);
        assert_eq!(p.bytes(), 100_000_000);
        all_phases(&p);
    }

    /// Measured, every phase is logged and kept in order, bar or no bar;
    /// not measured, none is.
    #[test]
    fn measured_phases_are_kept_in_order() {
        let _alone = crate::runtime::memory::PEAK_TESTS
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let measured = Progress::new(false, 0).measuring_memory();
        all_phases(&measured);
        let peaks = measured.phase_peaks();
        if cfg!(target_os = "linux") {
            let phases: Vec<&str> = peaks.iter().map(|p| p.phase).collect();
            assert_eq!(
                phases,
                [
                    "reading claims",
                    "building episodes",
                    "pricing",
                    "writing outputs"
                ]
            );
            assert!(peaks.iter().all(|p| p.peak > 1 << 20), "{peaks:?}");
        }
        let shown = Progress::with_target(0, ProgressDrawTarget::hidden(), Duration::ZERO)
            .measuring_memory();
        all_phases(&shown);
        assert_eq!(shown.phase_peaks().len(), peaks.len());
        let unmeasured = Progress::new(false, 0);
        all_phases(&unmeasured);
        assert_eq!(unmeasured.phase_peaks(), []);
    }

    #[test]
    fn quiet_is_disabled() {
        assert!(!Progress::for_stderr(true, 10).is_enabled());
    }

    #[test]
    fn counters_add_up_across_threads() {
        let p = Progress::with_target(4_000_000, ProgressDrawTarget::hidden(), Duration::ZERO);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..10_000 {
                        p.add_rows(10, 100);
                    }
                });
            }
        });
        assert_eq!(p.rows(), 400_000);
        assert_eq!(p.bytes(), 4_000_000);
        p.finish();
    }

    #[test]
    fn enabled_hidden_target_survives_all_phases() {
        let p = Progress::with_target(1 << 30, ProgressDrawTarget::hidden(), Duration::ZERO);
        assert!(p.is_enabled());
        std::thread::sleep(Duration::from_millis(50));
        all_phases(&p);
        // Updates after finish are harmless.
        p.add_rows(1, 1);
        p.phase("late");
        assert_eq!(p.rows(), 2_001);
    }

    #[test]
    fn short_runs_draw_nothing() {
        let term = Capture::default();
        let target = ProgressDrawTarget::term_like_with_hz(Box::new(term.clone()), DRAW_HZ);
        let p = Progress::with_target(1 << 30, target, REVEAL_AFTER);
        all_phases(&p);
        drop(p);
        assert_eq!(term.text(), "");
    }

    /// The phase switch from reading to counting work: the reading bar's
    /// position (bytes) and rate must not be carried into the new phase,
    /// which once drew `293,642,003 / 64 (172,072,306/s)`.
    #[test]
    fn a_new_phase_starts_from_its_own_position_length_and_rate() {
        let term = Capture::default();
        // Drawing as often as indicatif allows, so every frame is seen.
        let target = ProgressDrawTarget::term_like_with_hz(Box::new(term.clone()), u8::MAX);
        let p = Progress::with_target(1 << 30, target, Duration::ZERO);
        std::thread::sleep(Duration::from_millis(50));
        p.phase("reading claims");
        for _ in 0..5 {
            p.add_rows(1_000, 100 << 20);
            std::thread::sleep(Duration::from_millis(20));
        }
        let b = p.bar.as_ref().unwrap();
        assert_eq!(b.bar.position(), 500 << 20);
        assert!(b.bar.per_sec() > 1_000_000.0, "{}", b.bar.per_sec());
        p.phase("building episodes");
        p.set_work(64);
        assert_eq!(b.bar.position(), 0);
        assert_eq!(b.bar.length(), Some(64));
        assert!(b.bar.per_sec() < 64.0, "{}", b.bar.per_sec());
        p.add_work(3);
        assert_eq!(b.bar.position(), 3);
        // What was drawn once the bar counts partitions: never bytes.
        std::thread::sleep(Duration::from_millis(250));
        let text = term.text();
        // Frames are not separated by line ends here: each one counting
        // partitions starts with the phase's name.
        let frames: Vec<&str> = text.split("building episodes: ").skip(1).collect();
        assert!(!frames.is_empty(), "{text}");
        for frame in frames {
            let (position, rest) = frame.split_once(" / 64 (").unwrap_or(("?", ""));
            let rate = rest.split_once("/s)").map_or("?", |(rate, _)| rate);
            assert!(position == "0" || position == "3", "{frame}");
            // 3 partitions in a few milliseconds at most; the bytes' rate
            // is in the billions.
            assert!(rate.parse::<f64>().is_ok_and(|r| r < 1e5), "{frame}");
        }
        drop(p);
    }

    #[test]
    fn long_runs_show_rows_bytes_and_phase() {
        let term = Capture::default();
        let target = ProgressDrawTarget::term_like_with_hz(Box::new(term.clone()), DRAW_HZ);
        let p = Progress::with_target(1 << 30, target, Duration::ZERO);
        p.phase("reading claims");
        p.add_rows(12_345, 340 << 20);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !term.text().contains("MiB /") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let text = term.text();
        assert!(text.contains("reading claims"), "{text}");
        assert!(text.contains("12,345 rows"), "{text}");
        assert!(text.contains("340.00 MiB / 1.00 GiB"), "{text}");
        assert!(text.contains("rows/s"), "{text}");
        drop(p);
    }
}
