//! The step of a run that sees one beneficiary at a time: final action
//! over its claim versions, then every episode type over its final-action
//! claims. A pure function of the beneficiary's rows, its enrollment and
//! the definitions, so it may run wherever the rows come together: on a
//! built partition ([`crate::engine::reconcile`]) or as soon as a file's
//! run of the beneficiary's rows ends ([`crate::engine::grouped`]).

use std::collections::{BTreeMap, HashSet};

use crate::config::definitions::{EpisodeDefinition, OverlapGroup};
use crate::engine::episodes::{self, EpisodeDraft};
use crate::engine::final_action::{self, VersionReject};
use crate::input::beneficiaries::Enrollees;
use crate::model::LineRef;
use crate::model::outcome::{Tally, TypeTally, VersionKey};

/// What one beneficiary contributes to the run.
#[derive(Debug, Default)]
pub struct BeneficiaryResult {
    /// Episodes per definition index.
    pub episodes: Vec<(usize, EpisodeDraft)>,
    /// Per-type figures, one per definition.
    pub types: Vec<TypeTally>,
    /// Rows rejected by version checks.
    pub rejects: Vec<VersionReject>,
    /// Void rows.
    pub void: Tally,
    /// Superseded rows.
    pub superseded: Tally,
    /// Final-action rows.
    pub final_action: Tally,
}

impl BeneficiaryResult {
    /// Adds `other`'s episodes, rejects and figures to these: a
    /// partition's beneficiaries are summed as they are built, since one
    /// result per beneficiary (its per-type figures allocated each) would
    /// hold memory for every beneficiary of the run until pricing.
    pub fn absorb(&mut self, other: BeneficiaryResult) {
        self.episodes.extend(other.episodes);
        if self.types.len() < other.types.len() {
            self.types.resize(other.types.len(), TypeTally::default());
        }
        for (total, tally) in self.types.iter_mut().zip(other.types) {
            total.merge(tally);
        }
        self.rejects.extend(other.rejects);
        self.void.merge(other.void);
        self.superseded.merge(other.superseded);
        self.final_action.merge(other.final_action);
    }
}

/// The run's episode types, with their overlap groups worked out once.
#[derive(Debug)]
pub struct EpisodeTypes<'d> {
    definitions: &'d [EpisodeDefinition],
    /// Each overlap group's definition indices, in id order, with the
    /// definitions themselves (as `episodes::build_group` takes them).
    groups: Vec<(Vec<usize>, Vec<&'d EpisodeDefinition>)>,
}

impl<'d> EpisodeTypes<'d> {
    /// Groups `definitions` (sorted by id) by their overlap group.
    pub fn new(definitions: &'d [EpisodeDefinition]) -> Self {
        let mut groups: BTreeMap<&OverlapGroup, Vec<usize>> = BTreeMap::new();
        for (index, definition) in definitions.iter().enumerate() {
            groups
                .entry(&definition.overlap_group)
                .or_default()
                .push(index);
        }
        let groups = groups
            .into_values()
            .map(|indices| {
                let members = indices.iter().map(|&i| &definitions[i]).collect();
                (indices, members)
            })
            .collect();
        EpisodeTypes {
            definitions,
            groups,
        }
    }
}

/// Final action and every episode type for one beneficiary: a pure function
/// of its rows, its enrollment and the definitions.
pub fn reconcile_beneficiary(
    lines: &mut [LineRef<'_>],
    tainted: &[VersionKey],
    types: &EpisodeTypes<'_>,
    enrollees: Option<&Enrollees>,
) -> BeneficiaryResult {
    let tainted: HashSet<_> = tainted.iter().map(final_action::tainted_key).collect();
    let mut resolved = final_action::resolve(lines, &tainted);
    let mut result = BeneficiaryResult {
        rejects: std::mem::take(&mut resolved.rejects),
        void: resolved.void,
        superseded: resolved.superseded,
        final_action: resolved.final_action,
        types: vec![TypeTally::default(); types.definitions.len()],
        ..BeneficiaryResult::default()
    };
    let claims = resolved.claims();
    let Some(first) = claims.first() else {
        return result;
    };
    let beneficiary = episodes::Beneficiary {
        enrollee: enrollees.and_then(|e| e.get(first.head().beneficiary_id)),
    };
    for (group, members) in &types.groups {
        let (drafts, tallies) = episodes::build_group(&claims, members, beneficiary);
        result
            .episodes
            .extend(drafts.into_iter().map(|(member, d)| (group[member], d)));
        for (&index, tally) in group.iter().zip(tallies) {
            result.types[index] = tally;
        }
    }
    result
}
