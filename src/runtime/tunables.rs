//! The engine's tunables in one place: how files are cut for parallel
//! parsing, how many partitions rows are routed to, how much text is
//! shared, how much memory parsed claims may take before they spill, and
//! where spill files go. None of them changes a result, only time and
//! memory; the readers and the engine take their values from here.

use std::path::{Path, PathBuf};

use crate::runtime::memory::resident_bytes;

/// The engine's tunables, with [`Tunables::DEFAULT`] the values a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tunables {
    /// Bytes of a claims file each worker thread parses per batch, before
    /// the batch's results are merged. One batch is read while the one
    /// before is parsed, so the bytes in flight are twice this per thread.
    pub thread_batch_bytes: usize,
    /// Chunks each thread's share of a batch is cut into when there is
    /// more than one thread (whole records; a chunk grows to hold a longer
    /// one). One thread parses its share as one chunk.
    pub chunks_per_thread: usize,
    /// About how many bytes a canonical claim line takes in a file, to size
    /// a chunk's partitions ahead.
    pub line_bytes_in_csv: usize,
    /// About how many bytes a claim line takes held encoded
    /// ([`crate::engine::encoding`]; measured: 26 on generated claims), to
    /// size a chunk's partitions ahead.
    pub encoded_line_bytes: usize,
    /// The smallest block a partition holds its encoded rows in
    /// ([`crate::engine::partitions::Partitions`]): a partition's room not
    /// yet used is at most this, so 4,096 partitions waste at most 16 MiB.
    pub held_block_bytes: usize,
    /// Partitions rows are routed to (by beneficiary) per worker thread...
    /// Each worker builds one partition at a time, decoded, at about
    /// [`Tunables::built_bytes_per_csv_byte`] (6) times its share of the
    /// CSV, while the others wait encoded at a quarter of theirs: with 96
    /// per thread the partitions being built take 6/96, a sixteenth of the
    /// input, beside the fourth held, whatever the input's size. (With 16,
    /// a 40M-line run built two partitions of 1.2 GB of lines at once.)
    pub partitions_per_thread: usize,
    /// ...and at least this many, so a small machine still spills in
    /// small pieces.
    pub min_partitions: usize,
    /// Distinct values of one text column (providers, codes) a reader
    /// shares before it forgets them all, so a column of unique values
    /// cannot hold memory for the whole file.
    pub interner_cap: usize,
    /// The share of the machine's memory parsed claims may take before
    /// partitions spill to disk, when `--memory-limit` is not given, as
    /// `numerator / denominator`.
    pub default_memory_share: (u64, u64),
    /// The share of the memory limit the process's resident memory may
    /// reach before parsed claims spill, whatever their own estimate says:
    /// the rest is room for the batch being parsed.
    pub resident_share: (u64, u64),
    /// The share of the memory limit the enrollment's accepted rows may
    /// take, encoded, before they spill: they wait for the claims to be
    /// read, which take the rest.
    pub enrollment_share: (u64, u64),
    /// About how many bytes one byte of a claims CSV takes while its
    /// partition is built (its lines read back, their texts, final action
    /// and episodes), as `numerator / denominator`. Measured: at 40M
    /// generated lines under `--memory-limit 256MiB`, two partitions of
    /// 231k lines built at once took about 250 MiB beyond the rest, some
    /// 540 bytes a line, 4.6 times its 117 bytes of CSV; at a billion
    /// lines under 4 GiB, 2.5 (the first guess) let the build reach
    /// 4,974 MiB. 6 leaves room for the episodes' figures, which grow
    /// with the run.
    pub built_bytes_per_csv_byte: (u64, u64),
    /// How many bytes of CSV one byte of a compressed claims file is taken
    /// to hold when partitions are counted. Measured on generated claims:
    /// 15 times as `generate --compress zstd` writes them, 8.5 times with
    /// `gzip -6`. Too large a guess only makes more partitions than needed
    /// (a little slower); too small a one, partitions that do not fit.
    pub compressed_expansion: u64,
    /// The share of the memory limit the partitions being built at once
    /// (one per worker) may take, as `numerator / denominator`.
    pub build_share: (u64, u64),
    /// At most this many partitions, however large the input.
    pub max_partitions: usize,
    /// The zstd level spill files are compressed at (src/engine/spill.rs).
    /// 1, the fastest of zstd's standard levels: spilling is on the
    /// readers' path (they wait while a spill is written) and every spilled
    /// byte is read back once, so speed matters more than the last percent
    /// of size. Measured on spilled claims in 64 KiB blocks (`zstd -b`):
    /// level 1 compresses 8.9 times at 580 MB/s, level 3 8.6 times at
    /// 310 MB/s, level 5 8.9 times at 74 MB/s.
    pub spill_level: i32,
    /// How long the command's allocator (mimalloc, src/main.rs) keeps
    /// freed memory before it returns it to the system, in milliseconds.
    /// mimalloc 3's own default, 1,000, is half a run at 4M lines: memory
    /// freed by the reading phase was still held while episodes were
    /// built and outputs written. Measured at 4M lines on 2 threads
    /// (`MIMALLOC_PURGE_DELAY`, 5 paired runs): 1,000 peaked at 237 to
    /// 248 MB; 250 at 222 MB, in the same time; 10 and 100 at 209 to 219
    /// MB but up to 7% slower, each freed block soon faulted in again.
    pub allocator_purge_delay_ms: i64,
    /// Whether a beneficiary whose rows come together in a file is built
    /// as soon as its run of rows is read ([`crate::engine::grouped`]),
    /// rather than routed, held and built with its partition. Off only to
    /// compare the two ways (they give the same outputs).
    pub build_runs_early: bool,
    /// The share of the memory limit the episodes built early may hold
    /// (their ledger lines, until their partitions are built), as
    /// `numerator / denominator`: past it, every row is routed, and held
    /// or spilled as the limit allows.
    pub early_share: (u64, u64),
    /// About how many bytes the enrollment takes settled (every
    /// partition's at once, for the runs built early) per byte of it held
    /// encoded. Under a memory limit it is settled ahead only when that
    /// fits the early builds' share ([`Tunables::early_share`]); else every
    /// row is routed. Measured at 4M generated lines on 1 thread: 13.9 MB
    /// encoded, and a reading phase's peak of 72.3 MiB against 37.0
    /// without the enrollment (the encoded rows and the settled ones
    /// side by side while they are settled): 2.7 times.
    pub settled_enrollment_expansion: u64,
}

impl Tunables {
    /// The values every run uses.
    pub const DEFAULT: Tunables = Tunables {
        // With the next batch read while one is parsed, 2 MiB a thread
        // holds half the bytes the 4 MiB did, as fast (paired runs at 4M
        // lines, 1 and 2 threads). On two threads, cut into 256 KiB
        // chunks: the thread that reads and merges joins the parsing
        // late, and whole 2 MiB chunks left the other idle a fifth of the
        // reading (perf sched); small ones are shared out as they are
        // taken. 4M lines: 1.35 -> 1.28 s median of 8 alternated runs;
        // 40M with enrollment: 18.2 -> 16.4 s. The small chunks raised the
        // peak by about 10 MB, which the collection after building gives
        // back (`memory::release_freed`). One thread keeps one chunk, each
        // chunk costing a little (256 KiB chunks were 3% slower there).
        thread_batch_bytes: 2 << 20,
        chunks_per_thread: 8,
        line_bytes_in_csv: 110,
        encoded_line_bytes: 28,
        held_block_bytes: 4 << 10,
        partitions_per_thread: 96,
        min_partitions: 64,
        interner_cap: 1 << 16,
        default_memory_share: (1, 2),
        resident_share: (3, 4),
        enrollment_share: (1, 4),
        built_bytes_per_csv_byte: (6, 1),
        compressed_expansion: 16,
        build_share: (1, 2),
        max_partitions: 4096,
        spill_level: 1,
        allocator_purge_delay_ms: 250,
        build_runs_early: true,
        early_share: (1, 8),
        settled_enrollment_expansion: 4,
    };

    /// Partitions for `threads` worker threads.
    pub fn partitions(&self, threads: usize) -> usize {
        (threads * self.partitions_per_thread).max(self.min_partitions)
    }

    /// Partitions for `threads` worker threads reading about `csv_bytes`
    /// of claims (compressed files counted as the CSV they hold, see
    /// [`Tunables::compressed_expansion`]) under `limit`: at least
    /// [`Tunables::partitions`], and enough that the partitions built at
    /// once fit in [`Tunables::build_share`] of the limit, so a run's
    /// memory does not grow with its input.
    pub fn partitions_for(&self, threads: usize, csv_bytes: u64, limit: Option<u64>) -> usize {
        let floor = self.partitions(threads);
        let Some(limit) = limit else {
            return floor;
        };
        let room = u128::from(share(limit, self.build_share)).max(1);
        let needed = (u128::from(self.built_bytes(csv_bytes)) * threads as u128).div_ceil(room);
        usize::try_from(needed)
            .unwrap_or(usize::MAX)
            .clamp(floor, self.max_partitions.max(floor))
    }

    /// The chunks `threads` worker threads parse per batch: how many, and
    /// of how many bytes each.
    pub fn chunk_batch(&self, threads: usize) -> (usize, usize) {
        match threads {
            0 | 1 => (1, self.thread_batch_bytes),
            _ => {
                let chunks = self.chunks_per_thread.max(1);
                (chunks * threads, (self.thread_batch_bytes / chunks).max(1))
            }
        }
    }

    /// The memory limit of a run: `given` (`--memory-limit`), else
    /// [`Tunables::default_memory_limit`].
    pub fn memory_limit(&self, given: Option<u64>) -> Option<u64> {
        given.or_else(|| self.default_memory_limit())
    }

    /// Whether parsed claims of `held` estimated bytes must spill under
    /// `limit`: when they pass it, or when the whole process passes
    /// [`Tunables::resident_share`] of it (the enrollment, buffers and
    /// memory kept by the allocator count too).
    pub fn must_spill(&self, held: u64, limit: u64) -> bool {
        held > limit
            || (held > 0 && resident_bytes().is_some_and(|r| r > share(limit, self.resident_share)))
    }

    /// About how many bytes `csv_bytes` of claims take while their
    /// partitions are built ([`Tunables::built_bytes_per_csv_byte`]).
    fn built_bytes(&self, csv_bytes: u64) -> u64 {
        share(csv_bytes, self.built_bytes_per_csv_byte)
    }

    /// The encoded claims a run may still hold in memory when it starts
    /// building `partitions` partitions of `csv_bytes` of claims on
    /// `threads` threads under `limit`: what the partitions built at once
    /// (at most [`Tunables::build_share`] of it, as
    /// [`Tunables::partitions_for`] sizes them) and an enrollment, when
    /// there is one ([`Tunables::enrollment_share`]), leave of it. A
    /// partition's held rows stay in memory until it is built, beside the
    /// partitions being built, so rows held past this are spilled before
    /// building: a billion lines under 4 GiB, holding 2.4 GB of rows from
    /// the reading, peaked at 4.2 GiB while building.
    pub fn held_while_building(&self, limit: u64, claims: PartitionedClaims) -> u64 {
        let partitions = claims.partitions.max(1);
        let per_partition = self.built_bytes(claims.csv_bytes) / partitions as u64;
        // Each worker builds one partition at a time.
        let building = per_partition.saturating_mul(claims.threads.min(partitions) as u64);
        let enrollment = if claims.enrollment {
            self.enrollment_budget(limit)
        } else {
            0
        };
        limit.saturating_sub(building).saturating_sub(enrollment)
    }

    /// The enrollment's share of `limit` ([`Tunables::enrollment_share`]).
    pub fn enrollment_budget(&self, limit: u64) -> u64 {
        share(limit, self.enrollment_share)
    }

    /// The share of `limit` the episodes built early may hold
    /// ([`Tunables::early_share`]).
    pub fn early_budget(&self, limit: u64) -> u64 {
        share(limit, self.early_share)
    }

    /// The memory limit when none is given: the default share of the
    /// machine's memory, read from `/proc/meminfo`; `None` where that
    /// cannot be read (then nothing spills).
    pub fn default_memory_limit(&self) -> Option<u64> {
        let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(share(kib.saturating_mul(1024), self.default_memory_share))
    }
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables::DEFAULT
    }
}

/// The folder files staged for `out` (outputs before they are renamed into
/// place, spill files) go to: the one `out` is in, so they are on the same
/// disk (a rename is atomic; a memory-backed temporary folder would defeat
/// the memory limit), or the current folder for a bare name.
pub fn folder_beside(out: &Path) -> &Path {
    match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// [`folder_beside`], owned.
pub fn spill_dir_for(out: &Path) -> PathBuf {
    folder_beside(out).to_owned()
}

/// The worker threads a run asks for (`--threads`, or the Python API's
/// `threads=`): a pool of that many, or of one per core when not given.
/// Every caller builds its pool here, so a pool that cannot start is the
/// same environment error whoever asked for it.
pub fn thread_pool(threads: Option<u16>) -> Result<rayon::ThreadPool, crate::error::Error> {
    let threads = threads.map_or(0, usize::from);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| {
            crate::error::Error::new(
                crate::error::ErrorKind::Environment,
                format!("cannot start {threads} threads: {e}"),
            )
        })
}

/// A size such as `512MiB`, `4GiB`, `2G`, `100MB` or a number of bytes
/// (`--memory-limit`); the error says what was expected.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let expected = || format!("expected a size such as 512MiB or 4GiB, found {text:?}");
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(expected()),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|&n| n > 0)
        .ok_or_else(expected)
}

/// A run's claims as building sees them: their size, how they are
/// partitioned and built, and whether an enrollment is held beside them
/// ([`Tunables::held_while_building`]).
#[derive(Clone, Copy, Debug)]
pub struct PartitionedClaims {
    /// The claims' CSV bytes (compressed files as the CSV they hold).
    pub csv_bytes: u64,
    /// Partitions the claims are routed to.
    pub partitions: usize,
    /// Worker threads, each building one partition at a time.
    pub threads: usize,
    /// Whether an enrollment is read beside the claims.
    pub enrollment: bool,
}

/// `numerator / denominator` of `limit`, rounded down, at most `u64::MAX`
/// (a share over one, set by hand, may pass it).
fn share(limit: u64, (numerator, denominator): (u64, u64)) -> u64 {
    debug_assert!(denominator > 0, "a share of zero parts");
    let share = u128::from(limit) * u128::from(numerator) / u128::from(denominator.max(1));
    u64::try_from(share).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_spill_past_the_limit_or_when_the_process_is_near_it() {
        let tunables = Tunables::DEFAULT;
        let huge = 1 << 50;
        assert!(tunables.must_spill(huge + 1, huge));
        assert!(!tunables.must_spill(huge, huge));
        // Nothing held: nothing to spill, however full the process is.
        assert!(!tunables.must_spill(0, 1));
        // A test process holds more than 3/4 of a MiB: a few bytes of
        // claims spill although their own estimate is under the limit.
        if cfg!(target_os = "linux") {
            assert!(resident_bytes().is_some_and(|r| r > 1 << 20));
            assert!(tunables.must_spill(1, 1 << 20));
        }
    }

    #[test]
    fn building_leaves_the_held_rows_what_its_partitions_and_the_enrollment_do_not_take() {
        let t = Tunables::DEFAULT;
        let (mib, gib) = (1u64 << 20, 1u64 << 30);
        // A billion lines (116 GB of CSV) on 2 threads under 4 GiB: the
        // partitions built at once take their half, the enrollment its
        // quarter, the held rows the rest.
        let csv_bytes = 116_000_000_000;
        let billion = PartitionedClaims {
            csv_bytes,
            partitions: t.partitions_for(2, csv_bytes, Some(4 * gib)),
            threads: 2,
            enrollment: true,
        };
        let held = t.held_while_building(4 * gib, billion);
        assert!((gib..gib + 4 * mib).contains(&held), "{held}");
        assert_eq!(t.enrollment_budget(4 * gib), gib);
        // Without enrollment its quarter is the held rows' too.
        let claims_only = PartitionedClaims {
            enrollment: false,
            ..billion
        };
        assert_eq!(t.held_while_building(4 * gib, claims_only), held + gib);
        // 4M lines (450 MB) under 512 MiB: 192 partitions of 14 MB built,
        // two at a time, leave almost all of it.
        let small = PartitionedClaims {
            csv_bytes: 450_000_000,
            partitions: t.partitions_for(2, 450_000_000, Some(512 * mib)),
            threads: 2,
            enrollment: false,
        };
        assert_eq!(small.partitions, 192);
        assert_eq!(
            t.held_while_building(512 * mib, small),
            512 * mib - 28_125_000
        );
        // What building takes past the limit leaves nothing, never less.
        assert_eq!(t.held_while_building(mib, small), 0);
    }

    #[test]
    fn sizes_read_with_binary_units() {
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("4g"), Ok(4 << 30));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("0").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("4 parsecs").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn files_are_staged_beside_out() {
        assert_eq!(folder_beside(Path::new("out")), Path::new("."));
        assert_eq!(folder_beside(Path::new("a/b/out")), Path::new("a/b"));
        assert_eq!(spill_dir_for(Path::new("/x/out")), PathBuf::from("/x"));
    }

    #[test]
    fn one_thread_parses_its_share_whole_and_more_cut_it_up() {
        let t = Tunables::DEFAULT;
        let mib = 1 << 20;
        assert_eq!(t.chunk_batch(1), (1, 2 * mib));
        assert_eq!(t.chunk_batch(2), (16, 256 << 10));
        assert_eq!(t.chunk_batch(4), (32, 256 << 10));
        // The bytes in flight per thread are the same either way.
        for threads in 1..=8 {
            let (chunks, bytes) = t.chunk_batch(threads);
            assert_eq!(chunks * bytes, threads * t.thread_batch_bytes);
        }
    }

    #[test]
    fn partitions_grow_with_threads_from_a_floor() {
        let t = Tunables::DEFAULT;
        assert_eq!(t.partitions(1), 96);
        assert_eq!(t.partitions(8), 768);
        let small = Tunables {
            partitions_per_thread: 16,
            ..Tunables::DEFAULT
        };
        assert_eq!(small.partitions(1), 64);
        assert_eq!(small.partitions(8), 128);
    }

    #[test]
    fn partitions_grow_with_the_input_under_a_limit() {
        let t = Tunables::DEFAULT;
        let mib = 1 << 20;
        // Without a limit, or for an input that fits, the floor.
        assert_eq!(t.partitions_for(2, 1 << 40, None), 192);
        assert_eq!(t.partitions_for(2, 100 * mib, Some(256 * mib)), 192);
        // 4,700 MiB of CSV, 6 times that when built, two at once, in half
        // of 256 MiB: 4,700 * 6 * 2 / 128 = 440.6, so 441.
        assert_eq!(t.partitions_for(2, 4_700 * mib, Some(256 * mib)), 441);
        // Never more than the cap.
        assert_eq!(t.partitions_for(2, u64::MAX, Some(1)), 4096);
    }
}
