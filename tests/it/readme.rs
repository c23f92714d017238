//! The README's tables of the words the outputs use (issue 16): every
//! status, cancel reason, limit, disposition, reject reason, true-up change
//! and warning the code can write has a row, and every row is one the code
//! writes. A value added to an enum without a row, or a row left for a
//! value that is gone, fails here.

use std::collections::BTreeSet;

use episode_recon::engine::eligibility::CancelReason;
use episode_recon::engine::episodes::{Disposition, ExclusionRule};
use episode_recon::engine::pricing::{Limit, Status};
use episode_recon::model::outcome::RejectReason;
use episode_recon::model::warning::WarningKind;
use episode_recon::runs::true_up::Change;

fn readme() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    std::fs::read_to_string(path).expect("README.md")
}

/// The names in the first column of the first table under the heading
/// `### {heading}`: each row's first cell that starts with a code span,
/// that span's text. A row whose first cell is prose (a flag's name) is
/// left out.
fn table_names(readme: &str, heading: &str) -> BTreeSet<String> {
    let title = format!("### {heading}");
    let mut lines = readme.lines().skip_while(|l| l.trim_end() != title);
    assert!(lines.next().is_some(), "no heading {title:?} in README.md");
    let rows: Vec<&str> = lines
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect();
    assert!(!rows.is_empty(), "no table under {title:?}");
    rows.iter()
        .filter_map(|row| {
            let first = row.trim_start_matches('|').split('|').next()?.trim();
            let name = first.strip_prefix('`')?.split('`').next()?;
            Some(name.to_owned())
        })
        .collect()
}

fn set<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    names.into_iter().map(str::to_owned).collect()
}

/// Fails to compile when a variant is added to one of these enums, so that
/// whoever adds it comes here, adds it to the enum's `ALL` (which the test
/// below checks against the README) and writes its row.
#[allow(dead_code)]
fn every_variant_is_in_all(
    status: Status,
    limit: Limit,
    disposition: Disposition,
    change: Change,
    warning: WarningKind,
    reason: RejectReason,
    cancel: CancelReason,
) {
    match status {
        Status::Priced | Status::NoTargetPrice | Status::NoRiskFactor | Status::Canceled => {}
    }
    match limit {
        Limit::None | Limit::StopGain | Limit::StopLoss => {}
    }
    match disposition {
        Disposition::Anchor
        | Disposition::Included
        | Disposition::Prorated
        | Disposition::Excluded(
            ExclusionRule::Drg | ExclusionRule::Hcpcs | ExclusionRule::PrincipalDx,
        ) => {}
    }
    match change {
        Change::New | Change::Dropped | Change::Changed | Change::Unchanged => {}
    }
    match warning {
        WarningKind::EmptyClaimsFile | WarningKind::NotClaims | WarningKind::UnknownEpisodeType => {
        }
    }
    match reason {
        RejectReason::BadCsv
        | RejectReason::BadFieldCount
        | RejectReason::BadEncoding
        | RejectReason::MissingField
        | RejectReason::BadLineNumber
        | RejectReason::BadClaimType
        | RejectReason::BadRecordType
        | RejectReason::BadDate
        | RejectReason::BadDateRange
        | RejectReason::BadAmount
        | RejectReason::DuplicateLine
        | RejectReason::InconsistentClaim
        | RejectReason::ClaimHasRejectedRow
        | RejectReason::BadMonth
        | RejectReason::BadFlag
        | RejectReason::DuplicateMonth
        | RejectReason::InconsistentBeneficiary => {}
    }
    // A flag's name is any column a definition names: one prose row.
    match cancel {
        CancelReason::Death | CancelReason::NoEnrollment | CancelReason::Flag(_) => {}
    }
}

#[test]
fn every_word_the_outputs_use_has_its_row_in_the_readme() {
    let readme = readme();
    let tables: [(&str, BTreeSet<String>); 7] = [
        ("Episode status", set(Status::ALL.map(Status::name))),
        (
            "Cancel reasons",
            set([
                CancelReason::Death.name(),
                CancelReason::NoEnrollment.name(),
            ]),
        ),
        ("Limits", set(Limit::ALL.map(Limit::name))),
        (
            "Ledger dispositions",
            set(Disposition::ALL.map(Disposition::name)),
        ),
        (
            "Reject reasons",
            set(RejectReason::ALL.map(RejectReason::name)),
        ),
        ("True-up changes", set(Change::ALL.map(Change::name))),
        ("Warnings", set(WarningKind::ALL.map(WarningKind::name))),
    ];
    for (heading, names) in tables {
        assert_eq!(
            table_names(&readme, heading),
            names,
            "the table {heading:?}"
        );
    }
    // The flag row of the cancel reasons, and the sign convention.
    assert!(readme.contains("| a flag's name, such as `part_a`"));
    assert!(readme.contains("### Signs: positive is paid to the provider"));
}

#[test]
fn the_table_reader_finds_rows_and_misses() {
    let text = "### T\n\nintro\n\n| a | b |\n|---|---|\n| `x` | one |\n| prose `y` | two |\n| `z:w` | three |\n\n| `q` | not this table |\n";
    assert_eq!(table_names(text, "T"), set(["x", "z:w"]));
    let missing = std::panic::catch_unwind(|| table_names(text, "U"));
    assert!(missing.is_err());
}
