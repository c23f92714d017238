//! Who is in an episode (contract 2.7): the enrollment months an episode
//! needs, and the first check that cancels it.
//!
//! A canceled episode still holds its window (so that rules 2.2 and 2.3
//! see it), but takes in no lines and is never priced: CMS cancels TEAM,
//! BPCI Advanced and CJR episodes of beneficiaries who were not in
//! fee-for-service Medicare throughout, rather than drop their triggers.

use std::fmt;

use crate::config::definitions::{DeathRule, Eligibility};
use crate::input::beneficiaries::{Enrollee, Month};
use crate::model::Date;

/// Why an episode was canceled: `cancel_reason` in `episodes.csv`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CancelReason {
    /// The beneficiary died within the span the definition's `death` names.
    Death,
    /// A month checked has no accepted enrollment row.
    NoEnrollment,
    /// A flag of `require` was not `Y`, or one of `exclude` was `Y`, in a
    /// month checked: the flag's name.
    Flag(String),
}

impl CancelReason {
    /// The contract's text of the reason.
    pub fn name(&self) -> &str {
        match self {
            CancelReason::Death => "death",
            CancelReason::NoEnrollment => "no_enrollment",
            CancelReason::Flag(flag) => flag,
        }
    }

    /// Reads a reason as `episodes.csv` writes it; `None` for an empty text.
    pub fn parse(text: &str) -> Option<CancelReason> {
        match text {
            "" => None,
            "death" => Some(CancelReason::Death),
            "no_enrollment" => Some(CancelReason::NoEnrollment),
            flag => Some(CancelReason::Flag(flag.to_owned())),
        }
    }
}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The dates of an episode that eligibility looks at.
#[derive(Clone, Copy, Debug)]
pub struct EpisodeSpan {
    /// First day of the anchor.
    pub anchor_start: Date,
    /// Last day of the anchor.
    pub anchor_end: Date,
    /// Last day of the episode.
    pub end: Date,
}

/// The first check of `rules` that `enrollee` fails for an episode over
/// `span`, or `None` when the episode stands. `enrollee` is `None` for a
/// beneficiary with no accepted row at all.
pub fn cancel_reason(
    rules: &Eligibility,
    enrollee: Option<&Enrollee>,
    span: EpisodeSpan,
) -> Option<CancelReason> {
    let death = enrollee.and_then(|e| e.death_date);
    let died_by = |last: Date| death.is_some_and(|d| d <= last);
    let dies = match rules.death {
        DeathRule::Anchor => died_by(span.anchor_end),
        DeathRule::Episode => died_by(span.end),
        DeathRule::Ignore => false,
    };
    if dies {
        return Some(CancelReason::Death);
    }
    let first = Month::of(span.anchor_start).minus(rules.months_before);
    // Up to the death's month when the beneficiary died before the end:
    // no enrollment can be asked of months after a death.
    let last_day = death.map_or(span.end, |d| d.min(span.end));
    let last = Month::of(last_day);
    let months = months_between(first, last);
    let rows: Vec<_> = months
        .iter()
        .map(|m| enrollee.and_then(|e| e.months.get(m)))
        .collect();
    if rows.iter().any(Option::is_none) {
        return Some(CancelReason::NoEnrollment);
    }
    let rows: Vec<_> = rows.into_iter().flatten().collect();
    if let Some(flag) = rules
        .require
        .iter()
        .find(|flag| rows.iter().any(|row| row.flag(flag) != Some(true)))
    {
        return Some(CancelReason::Flag(flag.clone()));
    }
    rules
        .exclude
        .iter()
        .find(|flag| rows.iter().any(|row| row.flag(flag) == Some(true)))
        .map(|flag| CancelReason::Flag(flag.clone()))
}

/// Every month from `first` to `last`, both included; none when `last` is
/// before `first` (a death before the first month checked).
fn months_between(first: Month, last: Month) -> Vec<Month> {
    let mut months = Vec::new();
    let mut month = first;
    while month <= last {
        months.push(month);
        month = month.next();
    }
    months
}
