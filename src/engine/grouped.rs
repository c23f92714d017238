//! Beneficiaries built as soon as a file's run of their rows ends, for
//! files that hold each beneficiary's rows together (CMS's extracts come
//! sorted by beneficiary, and `generate` writes its claims so).
//!
//! A worker reads a chunk's rows as runs, a run being a beneficiary's rows
//! (lines, and the versions of rows a check rejected) one after the other.
//! A run with another beneficiary's rows before and after it in the chunk
//! is, in such a file, all there is of that beneficiary: it is built at
//! once ([`reconcile_beneficiary`], with the beneficiary's enrollment when
//! the run has one) on the worker that read it, while its rows are still
//! in the cache. Its lines are kept as values with their texts in one
//! string, never encoded for a partition, held or decoded. The first and
//! last runs of a chunk may go on in the chunks beside it, and are routed
//! to their partitions as before. At 4M generated lines on one thread this
//! took the reading phase's peak from 144 to 37 MiB and a run's
//! instructions down by a fifth (docs/PERFORMANCE.md).
//!
//! Whether a file holds its beneficiaries together is known only once it
//! has been read, so the runs of every chunk are checked in reading order
//! ([`Admission`]): a beneficiary built from one run that has rows in
//! another means the claims do not, and the run reads them again with
//! every row routed (RULES 46c). The outputs never depend on which
//! beneficiaries were built early: both ways give the same function the
//! same lines, in file order, with the same rejected versions.

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::engine::beneficiary::{BeneficiaryResult, EpisodeTypes, reconcile_beneficiary};
use crate::engine::episodes::{EpisodeDraft, LedgerLine};
use crate::engine::partitions::{ChunkRows, Routed, partition_of};
use crate::input::beneficiaries::SettledPart;
use crate::model::outcome::{RowView, VersionKey};
use crate::model::same_bytes;
use crate::model::{ClaimLineOf, LineRef};

/// What building runs early needs, shared by the run's workers.
#[derive(Debug)]
pub struct Grouping<'a> {
    types: &'a EpisodeTypes<'a>,
    partitions: usize,
    /// Whether the run has an enrollment, which runs are built with: they
    /// wait for it, routed until it is settled.
    enrolled: bool,
    /// The enrollment settled by partition, once it is ([`Grouping::enroll`]).
    enrollment: OnceLock<Vec<SettledPart>>,
    /// Cleared when the episodes built early have taken their share of
    /// memory: from then on every run is routed.
    open: AtomicBool,
    /// Set when the enrollment will never be given (it spilled, or would
    /// not fit settled): no run was built, nor will be, so chunks read
    /// from then on need not even be read as runs.
    abandoned: AtomicBool,
}

impl<'a> Grouping<'a> {
    /// Runs built with `types` (and, when `enrolled`, with the enrollment
    /// once it is given); their episodes go with their beneficiary's
    /// partition among `partitions`.
    pub fn new(types: &'a EpisodeTypes<'a>, partitions: usize, enrolled: bool) -> Grouping<'a> {
        Grouping {
            types,
            partitions,
            enrolled,
            enrollment: OnceLock::new(),
            open: AtomicBool::new(true),
            abandoned: AtomicBool::new(false),
        }
    }

    /// Gives the runs the enrollment, settled for each partition (one
    /// part for every partition): runs that end from now on are built.
    /// The enrollment loads beside the claims, so the runs read before it
    /// is settled are routed, as they would be without early builds.
    pub fn enroll(&self, parts: Vec<SettledPart>) {
        debug_assert_eq!(parts.len(), self.partitions, "a part for every partition");
        // Given once, by the one task that loads the enrollment.
        let _ = self.enrollment.set(parts);
    }

    /// Gives up early builds if the run has an enrollment that was not
    /// given ([`Grouping::enroll`]), which is then never given: call it
    /// once the enrollment is settled or found not to fit. No run was
    /// built (runs wait for the enrollment), so the chunks read after it
    /// are routed plainly and checked by no one: there is nothing to
    /// check them against. Only a run whose enrollment spilled gets here
    /// (a billion lines under 4 GiB), where reading every line as a run
    /// for nothing cost a copy of it and a table of every beneficiary.
    pub fn abandon_unless_enrolled(&self) {
        if self.enrolled && self.enrollment.get().is_none() {
            self.open.store(false, Ordering::Relaxed);
            self.abandoned.store(true, Ordering::Relaxed);
        }
    }

    /// Whether early builds were given up ([`Grouping::abandon_unless_enrolled`]).
    pub fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Relaxed)
    }

    /// The enrollment given, for the partitions to be built with.
    pub fn into_enrollment(self) -> Option<Vec<SettledPart>> {
        self.enrollment.into_inner()
    }

    /// Builds no more runs early: they are routed to their partitions, and
    /// held (or spilled) there. Runs a worker is building go on.
    pub fn close(&self) {
        self.open.store(false, Ordering::Relaxed);
    }

    /// Whether runs are still built early (or will be, once enrolled).
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    /// What a run that ends now is built with: `None` when it is not built
    /// (closed, or its enrollment not settled yet), else the enrollment by
    /// partition, if the run has one.
    fn builds_with(&self) -> Option<Option<&[SettledPart]>> {
        if !self.is_open() {
            return None;
        }
        match self.enrolled {
            false => Some(None),
            true => self.enrollment.get().map(|parts| Some(parts.as_slice())),
        }
    }
}

/// One chunk's rows as a worker reads them: accounted, then routed to
/// their partitions or, with a [`Grouping`], built run by run.
#[derive(Debug)]
pub struct ChunkWork<'g> {
    rows: ChunkRows,
    grouping: Option<&'g Grouping<'g>>,
    /// The beneficiary of the run being read.
    run_id: String,
    /// The rows of the chunk's runs built so far, then the run being read.
    runs: Runs,
    /// Where the run being read starts in `runs`.
    run: RunStart,
    /// The runs ended so far, in order.
    marks: RunMarks,
    built: Built,
    /// The runs built, in `runs`: routed after all should the run no
    /// longer take what is built early by the time the chunk is taken in
    /// ([`Admission`]).
    kept: Vec<RunStart>,
}

/// Rows of one chunk's runs as they were read: each line's values, its
/// texts as spans of one string (a copy of a few short texts, where a
/// line encoded for a partition and decoded again took several hundred
/// instructions; callgrind).
#[derive(Debug, Default)]
struct Runs {
    text: String,
    lines: Vec<ClaimLineOf<Span>>,
    keys: Vec<VersionKey>,
}

/// About how many bytes of text a line adds to [`Runs`] (its claim id
/// when it starts a claim, its codes, its provider when it changes): 16
/// on generated claims (counted with awk), with room.
const EXPECTED_TEXT_BYTES: usize = 24;

/// A text of [`Runs`]: its start and end in `text`.
type Span = (usize, usize);

/// Where a run starts in [`Runs`].
#[derive(Clone, Copy, Debug, Default)]
struct RunStart {
    text: usize,
    lines: usize,
    keys: usize,
}

impl Runs {
    /// Where the next run starts.
    fn end(&self) -> RunStart {
        RunStart {
            text: self.text.len(),
            lines: self.lines.len(),
            keys: self.keys.len(),
        }
    }

    /// Appends `line` to the run that starts at `run`. A text equal to the
    /// line before's is that line's span, as the decoder of a partition
    /// shares it: comparisons of equal texts then end at their address.
    fn push_line(&mut self, run: RunStart, line: &LineRef<'_>) {
        let before = self.lines[run.lines..].last().copied();
        let text = &mut self.text;
        let mut span = |value: &str, before: Option<Span>| -> Span {
            if let Some((start, end)) = before
                && same_bytes(&text.as_bytes()[start..end], value.as_bytes())
            {
                return (start, end);
            }
            let start = text.len();
            text.push_str(value);
            (start, text.len())
        };
        let beneficiary_id = span(line.beneficiary_id, before.map(|b| b.beneficiary_id));
        let claim_id = span(line.claim_id, before.map(|b| b.claim_id));
        let provider_id = line
            .provider_id
            .map(|p| span(p, before.and_then(|b| b.provider_id)));
        let drg = line.drg.map(|d| span(d, None));
        let principal_dx = line
            .principal_dx
            .map(|d| span(d, before.and_then(|b| b.principal_dx)));
        let hcpcs = line.hcpcs.map(|h| span(h, None));
        self.lines.push(ClaimLineOf {
            source: line.source,
            beneficiary_id,
            claim_id,
            line_number: line.line_number,
            claim_type: line.claim_type,
            record_type: line.record_type,
            processed_date: line.processed_date,
            from_date: line.from_date,
            thru_date: line.thru_date,
            admission_date: line.admission_date,
            discharge_date: line.discharge_date,
            line_date: line.line_date,
            allowed: line.allowed,
            provider_id,
            drg,
            principal_dx,
            hcpcs,
        });
    }

    /// The lines of the run that starts at `run` and ends at `end`, their
    /// texts borrowed.
    fn lines(&self, run: RunStart, end: RunStart) -> impl Iterator<Item = LineRef<'_>> {
        let text = self.text.as_str();
        self.lines[run.lines..end.lines]
            .iter()
            // Each span was cut from `text` at the ends of a whole `&str`.
            .map(move |line| line.map_texts(|&(start, end)| &text[start..end]))
    }

    /// Routes the run that starts at `run` and ends at `end` into `rows`.
    fn route(&self, run: RunStart, end: RunStart, rows: &mut ChunkRows) {
        for line in self.lines(run, end) {
            rows.route(Routed::Line(line));
        }
        for key in &self.keys[run.keys..end.keys] {
            rows.route_key(key);
        }
    }

    /// Forgets everything from `run` on.
    fn truncate(&mut self, run: RunStart) {
        self.text.truncate(run.text);
        self.lines.truncate(run.lines);
        self.keys.truncate(run.keys);
    }
}

/// A chunk's runs in order, for [`Admission`].
#[derive(Debug, Default)]
pub struct RunMarks {
    /// The beneficiary of the first run (which may go on from the chunk
    /// before).
    first_id: Option<String>,
    /// The beneficiary of the last run (which may go on in the next).
    last_id: Option<String>,
    /// Each run's beneficiary, as [`id_hash`], and whether it was built.
    runs: Vec<(u64, bool)>,
}

/// What the runs a chunk built early yield.
#[derive(Debug, Default)]
pub struct Built {
    /// Their figures and version rejects (their episodes are taken out).
    pub result: BeneficiaryResult,
    /// Their episodes: each with its beneficiary's partition, whose ledger
    /// it joins, and its definition's index.
    pub episodes: Vec<(u32, usize, EpisodeDraft)>,
    /// The ledger lines of those episodes.
    pub ledger_lines: usize,
}

impl Built {
    /// Builds the `lines` and rejected versions `keys` of beneficiary `id`.
    fn add(
        &mut self,
        grouping: &Grouping<'_>,
        enrollment: Option<&[SettledPart]>,
        id: &str,
        lines: &mut [LineRef<'_>],
        keys: &[VersionKey],
    ) {
        let partition = partition_of(id, grouping.partitions);
        // The enrollment has a part for every partition (`Grouping::enroll`),
        // and `partition_of` is below their number.
        let enrollees = enrollment.map(|parts| &parts[partition].enrollees);
        let mut result = reconcile_beneficiary(lines, keys, grouping.types, enrollees);
        // Partitions number at most `Tunables::max_partitions`.
        let partition = partition as u32;
        for (index, draft) in result.episodes.drain(..) {
            self.ledger_lines += draft.ledger.len();
            self.episodes.push((partition, index, draft));
        }
        self.result.absorb(result);
    }

    /// About the memory the episodes hold until their partitions are built.
    pub fn bytes(&self) -> u64 {
        let episodes = self.episodes.len() * std::mem::size_of::<(u32, usize, EpisodeDraft)>();
        let lines = self.ledger_lines * std::mem::size_of::<LedgerLine>();
        (episodes + lines) as u64
    }
}

impl<'g> ChunkWork<'g> {
    /// A chunk of about `lines` lines whose rows are routed into `rows`,
    /// and whose runs are built early with `grouping`.
    pub fn new(rows: ChunkRows, grouping: Option<&'g Grouping<'g>>, lines: usize) -> ChunkWork<'g> {
        // Sized ahead: grown by doubling, the lines of a chunk of 2 MiB
        // were copied again and again (a fifth of the instructions a run
        // spent on them, callgrind).
        let runs = match grouping {
            Some(_) => Runs {
                text: String::with_capacity(lines * EXPECTED_TEXT_BYTES),
                lines: Vec::with_capacity(lines),
                keys: Vec::new(),
            },
            None => Runs::default(),
        };
        ChunkWork {
            rows,
            grouping,
            run_id: String::new(),
            runs,
            run: RunStart::default(),
            marks: RunMarks::default(),
            built: Built::default(),
            kept: Vec::new(),
        }
    }

    /// Rows read into the chunk so far.
    pub fn rows_read(&self) -> u64 {
        self.rows.rows
    }

    /// Accounts for one row of file `file` and routes it, or adds it to
    /// its beneficiary's run.
    pub fn add(&mut self, file: u32, outcome: RowView<'_>) {
        let Some(grouping) = self.grouping else {
            return self.rows.add(file, outcome);
        };
        match self.rows.account(file, outcome) {
            Some(Routed::Line(line)) => {
                self.enter(grouping, line.beneficiary_id);
                self.runs.push_line(self.run, &line);
            }
            Some(Routed::Key(key)) => {
                self.enter(grouping, &key.beneficiary_id);
                self.runs.keys.push(key);
            }
            None => {}
        }
    }

    /// The chunk read: its routed rows, with its last run among them, and
    /// (with a grouping) its runs and what the runs built early yield.
    pub fn finish(mut self) -> (ChunkRows, Option<Grouped>) {
        let Some(grouping) = self.grouping else {
            return (self.rows, None);
        };
        if self.in_run() {
            self.end_run(grouping, true);
            self.marks.last_id = Some(self.run_id);
        }
        let grouped = Grouped {
            marks: self.marks,
            built: self.built,
            runs: self.runs,
            kept: self.kept,
        };
        (self.rows, Some(grouped))
    }

    /// Whether a run is being read (it has a row).
    fn in_run(&self) -> bool {
        let end = self.runs.end();
        end.lines > self.run.lines || end.keys > self.run.keys
    }

    /// Makes `id`'s the run being read, ending the one before when it is
    /// another beneficiary's.
    fn enter(&mut self, grouping: &Grouping<'_>, id: &str) {
        if self.in_run() {
            if same_bytes(self.run_id.as_bytes(), id.as_bytes()) {
                return;
            }
            self.end_run(grouping, false);
        }
        self.run_id.clear();
        self.run_id.push_str(id);
        self.run = self.runs.end();
    }

    /// Ends the run being read (`last`: with the chunk): builds it when
    /// other runs came before it and come after, else routes it.
    fn end_run(&mut self, grouping: &Grouping<'_>, last: bool) {
        let first = self.marks.runs.is_empty();
        let with = grouping.builds_with().filter(|_| !first && !last);
        let built = with.is_some();
        let (run, end) = (self.run, self.runs.end());
        if let Some(enrollment) = with {
            let mut lines: Vec<LineRef<'_>> = self.runs.lines(run, end).collect();
            // Versions rejected with no line left have nothing to
            // resolve, as when a partition is built.
            if !lines.is_empty() {
                let keys = &self.runs.keys[run.keys..end.keys];
                let built = &mut self.built;
                built.add(grouping, enrollment, &self.run_id, &mut lines, keys);
            }
            self.kept.push(run);
        } else {
            self.runs.route(run, end, &mut self.rows);
            self.runs.truncate(run);
        }
        if first {
            self.marks.first_id = Some(self.run_id.clone());
        }
        self.marks.runs.push((id_hash(&self.run_id), built));
    }
}

/// A beneficiary id's 64-bit hash (FxHash: no random keys). Two ids that
/// share one can only make [`Admission`] find a file not grouped that is:
/// the claims are then read again, to the same outputs.
fn id_hash(id: &str) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    id.hash(&mut hasher);
    hasher.finish()
}

/// A chunk's runs once read: for [`Admission::admit`].
#[derive(Debug)]
pub struct Grouped {
    marks: RunMarks,
    built: Built,
    runs: Runs,
    /// Where each run built starts in `runs` (each ends where the next
    /// starts, the last at the end).
    kept: Vec<RunStart>,
}

/// The claims files don't hold each beneficiary's rows together: a
/// beneficiary built from one run has rows in another.
#[derive(Debug, PartialEq, Eq)]
pub struct NotGrouped;

/// The chunks' runs, taken in reading order: which chunks' early builds
/// the run keeps, and whether every beneficiary built early had no rows
/// anywhere else.
///
/// What the workers built is kept while the episodes built early stay
/// within their `budget` of memory; from the first chunk past it, every
/// chunk's runs are routed, those it built included (their rows were
/// kept for this). That decision is taken here, chunk by chunk in reading
/// order, not by the workers: a worker may still build a run after
/// another has closed the grouping, and which beneficiaries are built must
/// not depend on timing, only on the order of the chunks.
#[derive(Debug)]
pub struct Admission {
    /// The beneficiary of the last run so far.
    last_id: Option<String>,
    /// Each beneficiary seen (by [`id_hash`]) while early builds are kept,
    /// and whether one of its runs was built. Once they no longer are,
    /// every run is held, and only a run of a beneficiary built before
    /// can break the grouping: no other is added.
    seen: rustc_hash::FxHashMap<u64, bool>,
    /// Whether chunks' early builds are still kept.
    keeping: bool,
    /// What the episodes built early may hold, and what they hold.
    budget: u64,
    bytes: u64,
}

impl Admission {
    /// Chunks taken in with `budget` bytes for the episodes built early
    /// (and the check's own table).
    pub fn new(budget: u64) -> Admission {
        Admission {
            last_id: None,
            seen: rustc_hash::FxHashMap::default(),
            keeping: true,
            budget,
            bytes: 0,
        }
    }

    /// Takes in the next chunk's runs, routing into `rows` those it built
    /// when early builds are no longer kept: what the chunk built, when
    /// kept. [`NotGrouped`] when a beneficiary built early has rows in
    /// another run.
    pub fn admit(
        &mut self,
        grouping: &Grouping<'_>,
        rows: &mut ChunkRows,
        grouped: Grouped,
    ) -> Result<Option<Built>, NotGrouped> {
        let Grouped {
            marks,
            built,
            runs,
            kept,
        } = grouped;
        self.check(&marks)?;
        if !self.keeping {
            // A beneficiary's lines may come in any order (final action
            // sorts them on a total key), so these follow the chunk's
            // other rows.
            let ends = kept.iter().skip(1).copied().chain([runs.end()]);
            for (&run, end) in kept.iter().zip(ends) {
                runs.route(run, end, rows);
            }
            return Ok(None);
        }
        self.bytes += built.bytes();
        let table = self.seen.capacity() as u64 * TABLE_ENTRY_BYTES;
        if self.bytes + table > self.budget {
            tracing::info!(
                bytes = self.bytes,
                "the episodes built as their rows were read took their share of the \
                 memory limit: routing every row from here"
            );
            self.keeping = false;
            grouping.close();
        }
        Ok(Some(built))
    }

    /// Checks a chunk's runs against those before them. A chunk's first
    /// run that goes on from the last one's is the same run. Once early
    /// builds are no longer kept, every run counts as held.
    fn check(&mut self, marks: &RunMarks) -> Result<(), NotGrouped> {
        let goes_on = matches!(
            (&self.last_id, &marks.first_id),
            (Some(last), Some(first)) if last == first
        );
        for &(hash, built) in marks.runs.iter().skip(usize::from(goes_on)) {
            let built = built && self.keeping;
            match self.seen.entry(hash) {
                std::collections::hash_map::Entry::Occupied(seen) => {
                    if *seen.get() || built {
                        return Err(NotGrouped);
                    }
                }
                std::collections::hash_map::Entry::Vacant(entry) => {
                    if self.keeping {
                        entry.insert(built);
                    }
                }
            }
        }
        if let Some(last) = &marks.last_id {
            self.last_id = Some(last.clone());
        }
        Ok(())
    }
}

/// About the memory an entry of [`Admission`]'s table takes: a hashbrown
/// entry of 9 bytes, padded to 16, and its control byte.
const TABLE_ENTRY_BYTES: u64 = 17;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::encoding::tests::line;
    use crate::engine::partitions::BeneficiaryRows;
    use crate::model::ClaimLine;
    use crate::model::outcome::RowOutcome;

    const PARTITIONS: usize = 4;

    /// A chunk of one line per entry of `ids`, each its own claim (so its
    /// own final action), read with `grouping`.
    fn chunk(grouping: &Grouping<'_>, ids: &[&str]) -> (ChunkRows, Grouped) {
        let mut work = ChunkWork::new(ChunkRows::new(PARTITIONS, 1000), Some(grouping), 8);
        for (n, id) in ids.iter().enumerate() {
            let line = ClaimLine {
                beneficiary_id: (*id).into(),
                ..line(n as u64)
            };
            work.add(0, RowOutcome::Line(line.view()));
        }
        let (rows, grouped) = work.finish();
        (rows, grouped.expect("a grouping was given"))
    }

    /// The beneficiaries of the lines routed to the chunk's partitions.
    fn routed(rows: &ChunkRows) -> Vec<String> {
        let mut ids = Vec::new();
        for segment in &rows.partitions {
            let mut decoded = BeneficiaryRows::default();
            decoded
                .decode(std::slice::from_ref(segment))
                .expect("routed rows decode");
            ids.extend(decoded.lines.iter().map(|l| l.beneficiary_id.to_owned()));
        }
        ids.sort();
        ids
    }

    #[test]
    fn runs_inside_a_chunk_are_built_and_its_first_and_last_routed() {
        let types = EpisodeTypes::new(&[]);
        let grouping = Grouping::new(&types, PARTITIONS, false);
        let (rows, grouped) = chunk(&grouping, &["A", "A", "B", "C", "C", "D"]);
        assert_eq!(routed(&rows), ["A", "A", "D"]);
        assert_eq!(grouped.built.result.final_action.rows, 3);
        let built: Vec<bool> = grouped.marks.runs.iter().map(|&(_, b)| b).collect();
        assert_eq!(built, [false, true, true, false]);
        assert_eq!(grouped.marks.first_id.as_deref(), Some("A"));
        assert_eq!(grouped.marks.last_id.as_deref(), Some("D"));
        // The built runs' rows are kept, to be routed should the run no
        // longer keep what is built early.
        let ends = grouped.kept.iter().skip(1).copied();
        let kept: Vec<Vec<String>> = grouped
            .kept
            .iter()
            .zip(ends.chain([grouped.runs.end()]))
            .map(|(&run, end)| {
                let lines = grouped.runs.lines(run, end);
                lines.map(|l| l.beneficiary_id.to_owned()).collect()
            })
            .collect();
        assert_eq!(kept, [vec!["B"], vec!["C", "C"]]);
    }

    #[test]
    fn a_chunk_of_one_or_two_runs_builds_nothing() {
        let types = EpisodeTypes::new(&[]);
        let grouping = Grouping::new(&types, PARTITIONS, false);
        for ids in [&["A", "A"][..], &["A", "B"]] {
            let (rows, grouped) = chunk(&grouping, ids);
            assert_eq!(routed(&rows).len(), ids.len());
            assert_eq!(grouped.built.result.final_action.rows, 0);
        }
    }

    #[test]
    fn a_closed_grouping_builds_no_run() {
        let types = EpisodeTypes::new(&[]);
        let grouping = Grouping::new(&types, PARTITIONS, false);
        grouping.close();
        let (rows, grouped) = chunk(&grouping, &["A", "B", "C"]);
        assert_eq!(routed(&rows), ["A", "B", "C"]);
        assert!(grouped.kept.is_empty());
    }

    #[test]
    fn with_an_enrollment_runs_wait_for_it() {
        let types = EpisodeTypes::new(&[]);
        let grouping = Grouping::new(&types, PARTITIONS, true);
        let (rows, grouped) = chunk(&grouping, &["A", "B", "C"]);
        assert_eq!(routed(&rows), ["A", "B", "C"], "routed until enrolled");
        assert!(grouped.kept.is_empty());
        let parts = (0..PARTITIONS).map(|_| SettledPart::default()).collect();
        grouping.enroll(parts);
        let (rows, grouped) = chunk(&grouping, &["A", "B", "C"]);
        assert_eq!(routed(&rows), ["A", "C"]);
        assert_eq!(grouped.built.result.final_action.rows, 1);
        grouping.abandon_unless_enrolled();
        assert!(!grouping.is_abandoned(), "enrolled: kept");
        assert_eq!(
            grouping.into_enrollment().map(|p| p.len()),
            Some(PARTITIONS)
        );
        // An enrollment never given: given up, and nothing is built.
        let grouping = Grouping::new(&types, PARTITIONS, true);
        grouping.abandon_unless_enrolled();
        assert!(grouping.is_abandoned() && !grouping.is_open());
        // Without an enrollment there is nothing to wait for.
        let grouping = Grouping::new(&types, PARTITIONS, false);
        grouping.abandon_unless_enrolled();
        assert!(!grouping.is_abandoned() && grouping.is_open());
    }

    #[test]
    fn runs_that_go_on_across_chunks_are_one_run() {
        let types = EpisodeTypes::new(&[]);
        let grouping = Grouping::new(&types, PARTITIONS, false);
        let mut admission = Admission::new(u64::MAX);
        for ids in [&["A", "B", "C"][..], &["C", "D", "E"], &["E"], &["E", "F"]] {
            let (mut rows, grouped) = chunk(&grouping, ids);
            let built = admission.admit(&grouping, &mut rows, grouped);
            assert!(matches!(built, Ok(Some(_))), "{ids:?}");
        }
    }

    #[test]
    fn a_beneficiary_built_early_with_rows_elsewhere_is_found() {
        let types = EpisodeTypes::new(&[]);
        // B is built in the first chunk, then has rows: as the edge of a
        // chunk, inside one, or as the first run of the next chunk.
        for later in [&["B", "X"][..], &["X", "B", "Y"], &["X", "Y", "B"]] {
            let grouping = Grouping::new(&types, PARTITIONS, false);
            let mut admission = Admission::new(u64::MAX);
            let (mut rows, grouped) = chunk(&grouping, &["A", "B", "C"]);
            assert!(admission.admit(&grouping, &mut rows, grouped).is_ok());
            let (mut rows, grouped) = chunk(&grouping, later);
            assert_eq!(
                admission.admit(&grouping, &mut rows, grouped).err(),
                Some(NotGrouped),
                "{later:?}"
            );
        }
        // Held first (the edge of a chunk), built later.
        let grouping = Grouping::new(&types, PARTITIONS, false);
        let mut admission = Admission::new(u64::MAX);
        let (mut rows, grouped) = chunk(&grouping, &["A", "B"]);
        assert!(admission.admit(&grouping, &mut rows, grouped).is_ok());
        let (mut rows, grouped) = chunk(&grouping, &["X", "A", "Y"]);
        assert_eq!(
            admission.admit(&grouping, &mut rows, grouped).err(),
            Some(NotGrouped)
        );
        // Within one chunk.
        let (mut rows, grouped) = chunk(
            &Grouping::new(&types, PARTITIONS, false),
            &["X", "Q", "Y", "Q", "Z"],
        );
        assert_eq!(
            Admission::new(u64::MAX)
                .admit(&grouping, &mut rows, grouped)
                .err(),
            Some(NotGrouped)
        );
    }

    #[test]
    fn a_beneficiary_held_in_two_runs_is_no_break() {
        let types = EpisodeTypes::new(&[]);
        let grouping = Grouping::new(&types, PARTITIONS, false);
        let mut admission = Admission::new(u64::MAX);
        for ids in [&["A", "B"][..], &["C", "D"], &["A", "X", "D"]] {
            let (mut rows, grouped) = chunk(&grouping, ids);
            assert!(
                admission.admit(&grouping, &mut rows, grouped).is_ok(),
                "{ids:?}"
            );
        }
    }

    #[test]
    fn past_the_budget_chunks_are_routed_whole_and_still_checked() {
        let types = EpisodeTypes::new(&[]);
        let grouping = Grouping::new(&types, PARTITIONS, false);
        // The first chunk's table passes a budget of one byte.
        let mut admission = Admission::new(1);
        let (mut rows, grouped) = chunk(&grouping, &["A", "B", "C"]);
        assert!(matches!(
            admission.admit(&grouping, &mut rows, grouped),
            Ok(Some(_))
        ));
        assert!(
            !grouping.is_open(),
            "the grouping is closed past the budget"
        );
        // A chunk a worker built before it saw the close: routed whole.
        let open = Grouping::new(&types, PARTITIONS, false);
        let (mut rows, grouped) = chunk(&open, &["D", "E", "F"]);
        assert!(matches!(
            admission.admit(&grouping, &mut rows, grouped),
            Ok(None)
        ));
        assert_eq!(routed(&rows), ["D", "E", "F"]);
        // E was routed, so its rows may come again; B was built, so not.
        let (mut rows, grouped) = chunk(&grouping, &["X", "E", "Y"]);
        assert!(admission.admit(&grouping, &mut rows, grouped).is_ok());
        let (mut rows, grouped) = chunk(&grouping, &["Z", "B"]);
        assert_eq!(
            admission.admit(&grouping, &mut rows, grouped).err(),
            Some(NotGrouped)
        );
    }
}
