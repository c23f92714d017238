//! Claim versions: the checks that need all rows of a version, then final
//! action (contract 1.2 and the version rules of section 5).
//!
//! Works on one beneficiary at a time, as a pure function of its rows, so it
//! can run on any thread or partition.

use std::collections::HashSet;
use std::ops::Range;

use crate::model::money::Money;
use crate::model::outcome::{RejectReason, Tally, VersionKey};
use crate::model::{ClaimType, Date, LineRef, RecordType, Source, same_text, text_order};

/// A row rejected by a version-level check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionReject {
    /// Where the row came from.
    pub source: Source,
    /// Why.
    pub reason: RejectReason,
    /// The claim-level field its version disagrees on, for
    /// `inconsistent_claim`.
    pub field: Option<&'static str>,
    /// Its allowed amount.
    pub amount: Money,
}

/// One claim's final-action version: its lines, sorted by line number, all
/// agreeing on the claim-level fields. A view of [`Resolved::lines`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim<'a> {
    lines: &'a [LineRef<'a>],
}

impl<'a> Claim<'a> {
    /// The claim's lines, by line number; never empty.
    pub fn lines(&self) -> &'a [LineRef<'a>] {
        self.lines
    }

    /// The first line, which carries the claim-level fields every line
    /// shares (the version checks made sure they agree).
    pub fn head(&self) -> &'a LineRef<'a> {
        // A claim is a non-empty version (see `resolve`).
        &self.lines[0]
    }

    /// The claim's id.
    pub fn id(&self) -> &'a str {
        self.head().claim_id
    }

    /// The claim's type.
    pub fn claim_type(&self) -> ClaimType {
        self.head().claim_type
    }
}

/// What final action made of one beneficiary's rows.
#[derive(Debug, Default)]
pub struct Resolved<'a> {
    /// The beneficiary's rows, sorted by claim, version and line: the
    /// final-action claims are runs of it ([`Resolved::claims`]), so that
    /// resolving moves no line and allocates nothing per claim.
    lines: &'a [LineRef<'a>],
    /// Where each final-action claim is in `lines`, by claim id.
    final_claims: Vec<Range<usize>>,
    /// Rows rejected by version checks.
    pub rejects: Vec<VersionReject>,
    /// Rows of voided claims' final-action voids.
    pub void: Tally,
    /// Rows of versions that a later one replaced.
    pub superseded: Tally,
    /// Rows of final-action versions.
    pub final_action: Tally,
}

impl<'a> Resolved<'a> {
    /// The final-action claims, by claim id.
    pub fn claims(&self) -> Vec<Claim<'a>> {
        self.final_claims
            .iter()
            .map(|range| Claim {
                lines: self.lines.get(range.clone()).unwrap_or_default(),
            })
            .collect()
    }
}

/// Version checks and final action for one beneficiary: `lines` are its rows
/// that passed the row checks (any order; sorted in place), `tainted` the
/// versions that had a row rejected by a row check.
pub fn resolve<'a, 'l: 'a>(
    lines: &'a mut [LineRef<'l>],
    tainted: &HashSet<(&str, Date, RecordType)>,
) -> Resolved<'a> {
    // In place, without the scratch buffer a stable sort allocates per
    // beneficiary (at millions of lines that malloc, in a heap the reading
    // phase left fragmented, cost more than the sort). Unstable is exact
    // here: no two lines share a key, as two rows never share a source and
    // the lines one row makes have distinct line numbers.
    lines.sort_unstable_by(|a, b| {
        text_order(a.claim_id, b.claim_id).then_with(|| {
            (a.processed_date, a.record_type, a.line_number, a.source).cmp(&(
                b.processed_date,
                b.record_type,
                b.line_number,
                b.source,
            ))
        })
    });
    let lines: &'a [LineRef<'a>] = lines;
    let mut resolved = Resolved::default();
    // The claim at hand's last surviving version so far: a later one that
    // survives supersedes it.
    let mut standing: Option<Range<usize>> = None;
    let mut start = 0;
    // Walk claim by claim; within a claim, version by version in processing
    // order, so the last surviving version is the final action.
    while let Some(first) = lines.get(start) {
        let end = start
            + lines[start..]
                .iter()
                .position(|l| !same_version(l, first))
                .unwrap_or(lines.len() - start);
        let claim_ends = lines
            .get(end)
            .is_none_or(|next| !same_text(next.claim_id, first.claim_id));
        let key = (first.claim_id, first.processed_date, first.record_type);
        let version = &lines[start..end];
        if check_version(version, tainted.contains(&key), &mut resolved.rejects)
            && let Some(replaced) = standing.replace(start..end)
        {
            for line in &lines[replaced] {
                resolved.superseded.add(line.allowed);
            }
        }
        if claim_ends && let Some(last) = standing.take() {
            settle_claim(lines, last, &mut resolved);
        }
        start = end;
    }
    resolved.lines = lines;
    resolved
}

fn same_version(a: &LineRef<'_>, b: &LineRef<'_>) -> bool {
    same_text(a.claim_id, b.claim_id)
        && a.processed_date == b.processed_date
        && a.record_type == b.record_type
}

fn reject_all<'l, 's: 'l>(
    rejects: &mut Vec<VersionReject>,
    rows: impl IntoIterator<Item = &'l LineRef<'s>>,
    reason: RejectReason,
    field: Option<&'static str>,
) {
    rejects.extend(rows.into_iter().map(|l| VersionReject {
        source: l.source,
        reason,
        field,
        amount: l.allowed,
    }));
}

/// The version checks on the rows of a version that passed the row checks
/// (`tainted` when another of its rows did not): `duplicate_line`, then
/// `inconsistent_claim`, then `claim_has_rejected_row` for the rest of a
/// version that has any reject. True when all its rows pass. The rows are
/// sorted by line number.
fn check_version(version: &[LineRef<'_>], tainted: bool, rejects: &mut Vec<VersionReject>) -> bool {
    // Sorted by line number, a repeated number is a run of neighbours.
    let duplicated = |i: usize| {
        let n = version[i].line_number;
        (i > 0 && version[i - 1].line_number == n)
            || version.get(i + 1).is_some_and(|next| next.line_number == n)
    };
    let had_duplicates = (0..version.len()).any(duplicated);
    let rest = || {
        (0..version.len())
            .filter(move |&i| !duplicated(i))
            .map(|i| &version[i])
    };
    if had_duplicates {
        reject_all(
            rejects,
            (0..version.len())
                .filter(|&i| duplicated(i))
                .map(|i| &version[i]),
            RejectReason::DuplicateLine,
            None,
        );
    }
    let disagreement = rest()
        .zip(rest().skip(1))
        .find_map(|(a, b)| first_disagreement(a, b));
    if let Some(field) = disagreement {
        reject_all(
            rejects,
            rest(),
            RejectReason::InconsistentClaim,
            Some(field),
        );
        false
    } else if had_duplicates || tainted {
        reject_all(rejects, rest(), RejectReason::ClaimHasRejectedRow, None);
        false
    } else {
        true
    }
}

/// The first claim-level field of the contract on which `a` and `b`
/// disagree, compared after defaults and normalization (an absent
/// admission date equals an explicit one on the from date); `None` when
/// they agree.
fn first_disagreement(a: &LineRef<'_>, b: &LineRef<'_>) -> Option<&'static str> {
    let fields = [
        ("the field claim_type", a.claim_type == b.claim_type),
        ("the field from_date", a.from_date == b.from_date),
        ("the field thru_date", a.thru_date == b.thru_date),
        (
            "the field admission_date",
            a.admission_date == b.admission_date,
        ),
        (
            "the field discharge_date",
            a.discharge_date == b.discharge_date,
        ),
        ("the field provider_id", a.provider_id == b.provider_id),
        ("the field drg", a.drg == b.drg),
        ("the field principal_dx", a.principal_dx == b.principal_dx),
    ];
    fields
        .into_iter()
        .find_map(|(name, agree)| (!agree).then_some(name))
}

/// Final action for one claim: `last`, its last surviving version in
/// processing order (processed date, then O < R < V), is its final action:
/// a void counts as void, any other is a final-action claim.
fn settle_claim(lines: &[LineRef<'_>], last: Range<usize>, resolved: &mut Resolved<'_>) {
    let void = lines[last.start].record_type == RecordType::Void;
    let tally = if void {
        &mut resolved.void
    } else {
        &mut resolved.final_action
    };
    for line in &lines[last.clone()] {
        tally.add(line.allowed);
    }
    if !void {
        resolved.final_claims.push(last);
    }
}

/// The tainted-version key of a rejected row, in the form [`resolve`] takes.
pub fn tainted_key(key: &VersionKey) -> (&str, Date, RecordType) {
    (&key.claim_id, key.processed_date, key.record_type)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClaimLine, parse_date};

    fn date(s: &str) -> Date {
        parse_date(s.as_bytes()).unwrap()
    }

    fn line(
        claim: &'static str,
        n: u64,
        rt: RecordType,
        processed: &str,
        cents: i128,
        row: u64,
    ) -> LineRef<'static> {
        LineRef {
            source: Source {
                file: 0,
                row,
                offset: 0,
            },
            beneficiary_id: "B1",
            claim_id: claim,
            line_number: n,
            claim_type: ClaimType::Pb,
            record_type: rt,
            processed_date: date(processed),
            from_date: date("2026-04-01"),
            thru_date: date("2026-04-01"),
            admission_date: date("2026-04-01"),
            discharge_date: date("2026-04-01"),
            line_date: date("2026-04-01"),
            allowed: Money::from_cents(cents),
            provider_id: Some("P"),
            drg: None,
            principal_dx: None,
            hcpcs: None,
        }
    }

    use RecordType::{Original as O, Replacement as R, Void as V};

    #[test]
    fn latest_version_wins_and_void_beats_replacement_on_a_tie() {
        let mut lines = vec![
            line("P4", 1, O, "2026-04-10", 200, 2),
            line("P4", 1, R, "2026-05-01", 250, 3),
            line("P5", 1, O, "2026-04-09", 75, 4),
            line("P5", 1, R, "2026-05-01", 80, 5),
            line("P5", 1, V, "2026-05-01", 75, 6),
        ];
        let r = resolve(&mut lines, &HashSet::new());
        assert_eq!(r.claims().len(), 1);
        assert_eq!(r.claims()[0].lines()[0].allowed, Money::from_cents(250));
        assert_eq!(
            r.void,
            Tally {
                rows: 1,
                amount: Money::from_cents(75)
            }
        );
        assert_eq!(
            r.superseded,
            Tally {
                rows: 3,
                amount: Money::from_cents(355)
            }
        );
        assert_eq!(r.final_action.rows, 1);
    }

    /// The sort is unstable: what it yields must not depend on the order
    /// the lines come in (duplicates, versions and several claims, in
    /// every rotation and reversed).
    #[test]
    fn the_outcome_does_not_depend_on_the_lines_order() {
        let lines = vec![
            line("A", 1, O, "2026-04-10", 100, 2),
            line("A", 1, O, "2026-04-10", 100, 3),
            line("A", 2, O, "2026-04-10", 50, 4),
            line("B", 1, O, "2026-04-10", 7, 5),
            line("B", 1, R, "2026-05-01", 9, 6),
            line("B", 2, R, "2026-05-01", 11, 7),
            line("C", 1, O, "2026-04-12", 13, 8),
            line("C", 1, V, "2026-05-02", 13, 9),
        ];
        let summary = |r: Resolved| {
            let claims: Vec<Vec<ClaimLine>> = r
                .claims()
                .iter()
                .map(|c| c.lines().iter().map(LineRef::to_line).collect())
                .collect();
            (claims, r.rejects, r.void, r.superseded, r.final_action)
        };
        let expected = summary(resolve(&mut lines.clone(), &HashSet::new()));
        assert_eq!(expected.0.len(), 1, "B's replacement stands");
        assert_eq!(expected.1.len(), 3, "A's duplicates and the rest of A");
        for k in 0..lines.len() {
            let mut turned = lines.clone();
            turned.rotate_left(k);
            assert_eq!(
                summary(resolve(&mut turned.clone(), &HashSet::new())),
                expected
            );
            turned.reverse();
            assert_eq!(summary(resolve(&mut turned, &HashSet::new())), expected);
        }
    }

    #[test]
    fn a_later_original_beats_an_earlier_replacement() {
        let mut lines = vec![
            line("C", 1, R, "2026-04-10", 1, 2),
            line("C", 1, O, "2026-04-11", 2, 3),
        ];
        let r = resolve(&mut lines, &HashSet::new());
        assert_eq!(r.claims()[0].lines()[0].allowed, Money::from_cents(2));
    }

    #[test]
    fn a_rejected_replacement_leaves_the_original_standing() {
        let mut lines = vec![
            line("C", 1, O, "2026-04-10", 100, 2),
            line("C", 2, R, "2026-05-01", 5, 3),
        ];
        let tainted: HashSet<_> = [("C", date("2026-05-01"), R)].into_iter().collect();
        let r = resolve(&mut lines, &tainted);
        assert_eq!(r.claims()[0].lines()[0].allowed, Money::from_cents(100));
        assert_eq!(r.rejects.len(), 1);
        assert_eq!(r.rejects[0].reason, RejectReason::ClaimHasRejectedRow);
        assert_eq!(r.superseded.rows, 0);
    }

    #[test]
    fn duplicate_lines_then_inconsistency_then_the_rest() {
        let mut other_provider = line("C", 3, O, "2026-04-10", 3, 4);
        other_provider.provider_id = Some("Q");
        let mut lines = vec![
            line("C", 1, O, "2026-04-10", 1, 2),
            line("C", 1, O, "2026-04-10", 1, 3),
            line("C", 2, O, "2026-04-10", 2, 5),
            other_provider,
        ];
        let r = resolve(&mut lines, &HashSet::new());
        let reasons: Vec<_> = r.rejects.iter().map(|x| (x.source.row, x.reason)).collect();
        assert_eq!(
            reasons,
            [
                (2, RejectReason::DuplicateLine),
                (3, RejectReason::DuplicateLine),
                (5, RejectReason::InconsistentClaim),
                (4, RejectReason::InconsistentClaim),
            ]
        );
        assert!(r.claims().is_empty());

        let mut lines = vec![
            line("C", 1, O, "2026-04-10", 1, 2),
            line("C", 1, O, "2026-04-10", 1, 3),
            line("C", 2, O, "2026-04-10", 2, 5),
        ];
        let r = resolve(&mut lines, &HashSet::new());
        assert_eq!(r.rejects[2].reason, RejectReason::ClaimHasRejectedRow);
    }
}
