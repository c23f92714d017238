//! Building episodes (contract section 2): triggers, windows, overlap,
//! eligibility, inclusion, proration and exclusion, for one beneficiary and
//! one overlap group of episode types at a time.
//!
//! [`build`] is a pure function of a beneficiary's final-action claims and a
//! definition. It knows nothing of files, threads or prices, so it can run
//! anywhere, and the global steps only ever see the drafts it returns.

use crate::config::definitions::EpisodeDefinition;
use crate::engine::eligibility::{CancelReason, EpisodeSpan, cancel_reason};
use crate::engine::final_action::Claim;
use crate::engine::risk;
use crate::input::beneficiaries::Enrollee;
use crate::model::Text;
use crate::model::money::Money;
use crate::model::outcome::TypeTally;
use crate::model::{ClaimType, Date, LineRef};

/// Why a considered line contributes what it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// A line of the episode's anchor claim: wholly in.
    Anchor,
    /// Wholly in the window.
    Included,
    /// In by its share of overlapping days.
    Prorated,
    /// In the window but excluded by a rule: contributes zero.
    Excluded(ExclusionRule),
}

impl Disposition {
    /// Every disposition, exclusions in the order they are tried (the
    /// README's table is checked against it).
    pub const ALL: [Disposition; 6] = [
        Disposition::Anchor,
        Disposition::Included,
        Disposition::Prorated,
        Disposition::Excluded(ExclusionRule::Drg),
        Disposition::Excluded(ExclusionRule::Hcpcs),
        Disposition::Excluded(ExclusionRule::PrincipalDx),
    ];

    /// The contract's name (`anchor`, `excluded:drg`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Disposition::Anchor => "anchor",
            Disposition::Included => "included",
            Disposition::Prorated => "prorated",
            Disposition::Excluded(ExclusionRule::Drg) => "excluded:drg",
            Disposition::Excluded(ExclusionRule::Hcpcs) => "excluded:hcpcs",
            Disposition::Excluded(ExclusionRule::PrincipalDx) => "excluded:principal_dx",
        }
    }
}

/// The exclusion rules, in the order they are tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExclusionRule {
    /// An IP claim with an excluded MS-DRG.
    Drg,
    /// A line with an excluded HCPCS.
    Hcpcs,
    /// A claim with an excluded principal diagnosis.
    PrincipalDx,
}

/// One line an episode considered: a row of `ledger.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerLine {
    /// The claim.
    pub claim_id: Text,
    /// The line.
    pub line_number: u64,
    /// The claim's type.
    pub claim_type: ClaimType,
    /// The line's whole allowed amount.
    pub allowed: Money,
    /// What the episode takes of it.
    pub included: Money,
    /// Why.
    pub disposition: Disposition,
    /// The claim's billing provider, so the ledger names who was paid.
    pub provider_id: Option<Text>,
    /// The date the claim type joins a window by (admission for IP, from
    /// date for SNF, HHA and HOS, line date otherwise), whatever share the
    /// window took.
    pub service_date: Date,
}

/// An episode before pricing: who, when, and the lines it took in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpisodeDraft {
    /// The beneficiary.
    pub beneficiary_id: Text,
    /// The anchor claim's billing provider, to whom the episode is attributed.
    pub provider_id: Text,
    /// The claim that opened the episode.
    pub anchor_claim_id: Text,
    /// From the trigger code.
    pub price_group: String,
    /// First day, inclusive.
    pub start: Date,
    /// Last day, inclusive.
    pub end: Date,
    /// Last day of the anchor (for `period_date = "anchor_end"`).
    pub anchor_end: Date,
    /// Why eligibility canceled it; `None`, it stands.
    pub cancel: Option<CancelReason>,
    /// Each risk factor with its level, in the definition's order; `None`
    /// without `[risk]` or when canceled.
    pub risk_levels: Option<risk::Levels>,
    /// The lines considered, by claim id then line number (none when
    /// canceled).
    pub ledger: Vec<LedgerLine>,
    /// Sum of the included amounts: the episode's actual spending.
    pub actual: Money,
}

/// A claim that opens an episode.
struct TriggerHit<'c> {
    claim: &'c Claim<'c>,
    /// Position of the trigger's type among the group's members.
    member: usize,
    code: &'c str,
    anchor_start: Date,
    anchor_end: Date,
}

/// Rule 2.1: whether `claim` is a trigger of `definition`, with its code and
/// anchor dates.
fn trigger_of<'c>(
    claim: &'c Claim<'c>,
    member: usize,
    definition: &EpisodeDefinition,
) -> Option<TriggerHit<'c>> {
    let head = claim.head();
    match head.claim_type {
        ClaimType::Ip => {
            let drg = head
                .drg
                .filter(|drg| definition.trigger.drg.contains(*drg))?;
            Some(TriggerHit {
                claim,
                member,
                code: drg,
                anchor_start: head.admission_date,
                anchor_end: head.discharge_date,
            })
        }
        ClaimType::Op => {
            let line = claim
                .lines()
                .iter()
                .filter(|l| {
                    l.hcpcs
                        .is_some_and(|h| definition.trigger.hcpcs.contains(h))
                })
                .min_by_key(|l| (l.line_date, l.line_number))?;
            let code = line.hcpcs?;
            Some(TriggerHit {
                claim,
                member,
                code,
                anchor_start: line.line_date,
                anchor_end: line.line_date,
            })
        }
        _ => None,
    }
}

/// What episode building knows of a beneficiary besides its claims.
#[derive(Clone, Copy, Debug, Default)]
pub struct Beneficiary<'e> {
    /// Its accepted enrollment, if any row of it was accepted.
    pub enrollee: Option<&'e Enrollee>,
}

/// Builds the episodes of one type for one beneficiary from its final-action
/// `claims` (sorted by claim id, as [`crate::engine::final_action::resolve`] gives
/// them), as a group of its own and without enrollment.
pub fn build(
    claims: &[Claim<'_>],
    definition: &EpisodeDefinition,
) -> (Vec<EpisodeDraft>, TypeTally) {
    let (drafts, mut tallies) = build_group(claims, &[definition], Beneficiary::default());
    let drafts = drafts.into_iter().map(|(_, draft)| draft).collect();
    (drafts, tallies.pop().unwrap_or_default())
}

/// Builds the episodes of one overlap group for one beneficiary: the
/// triggers of every member type are taken together (rules 2.2, 2.3), each
/// opened episode is checked for eligibility (2.7), and the episodes that
/// stand take in lines by their own type's rules (2.4, 2.5).
///
/// `members` are the group's definitions in id order; each draft comes with
/// the position of its type in `members`, and the tallies are one per
/// member.
pub fn build_group(
    claims: &[Claim<'_>],
    members: &[&EpisodeDefinition],
    beneficiary: Beneficiary<'_>,
) -> (Vec<(usize, EpisodeDraft)>, Vec<TypeTally>) {
    let mut tallies = vec![TypeTally::default(); members.len()];
    let mut hits: Vec<TriggerHit> = Vec::new();
    for claim in claims {
        for (member, definition) in members.iter().enumerate() {
            let Some(hit) = trigger_of(claim, member, definition) else {
                continue;
            };
            if claim.head().provider_id.is_some() {
                hits.push(hit);
            } else {
                tallies[member].triggers_without_provider += 1;
            }
        }
    }
    // Anchor start, then claim id, then type id (members are in id order).
    hits.sort_by(|a, b| {
        (a.anchor_start, a.claim.id(), a.member).cmp(&(b.anchor_start, b.claim.id(), b.member))
    });

    // Rules 2.2 and 2.3: open episodes in anchor order; a trigger inside the
    // last episode of the group opens nothing, and no window reaches back
    // into it. Each episode starts after the previous one's end and ends on
    // or after its own anchor, so the last opened has the latest end.
    let mut episodes: Vec<(usize, EpisodeDraft)> = Vec::new();
    for hit in hits {
        let previous_end = episodes.last().map(|(_, e)| e.end);
        if previous_end.is_some_and(|end| hit.anchor_start <= end) {
            continue;
        }
        // A claim that anchors an episode of the group lies wholly in it
        // (rule 2.4), so a later trigger of another type on it (an OP
        // claim whose matching lines fall on days past that window) is an
        // ordinary claim of that episode and opens nothing (RULES 16b):
        // else an episode would open with its anchor in another episode.
        if episodes
            .iter()
            .any(|(_, e)| *e.anchor_claim_id == *hit.claim.id())
        {
            continue;
        }
        let definition = members[hit.member];
        let (mut start, end) = definition.window.around(hit.anchor_start, hit.anchor_end);
        if let Some(previous_end) = previous_end
            && start <= previous_end
        {
            // The anchor starts after `previous_end`, so a next day exists.
            start = previous_end.succ_opt().unwrap_or(previous_end);
        }
        let cancel = definition.eligibility.as_ref().and_then(|rules| {
            let span = EpisodeSpan {
                anchor_start: hit.anchor_start,
                anchor_end: hit.anchor_end,
                end,
            };
            cancel_reason(rules, beneficiary.enrollee, span)
        });
        let risk_levels = match (&definition.risk, &cancel) {
            (Some(risk), None) => Some(risk::levels(risk, beneficiary.enrollee, hit.anchor_start)),
            _ => None,
        };
        let head = hit.claim.head();
        episodes.push((
            hit.member,
            EpisodeDraft {
                beneficiary_id: head.beneficiary_id.into(),
                // Only hits with a provider were kept above.
                provider_id: head.provider_id.unwrap_or_default().into(),
                anchor_claim_id: head.claim_id.into(),
                price_group: definition.trigger.price_group(hit.code).to_owned(),
                start,
                end,
                anchor_end: hit.anchor_end,
                cancel,
                risk_levels,
                ledger: Vec::new(),
                actual: Money::ZERO,
            },
        ));
    }

    // No episode: every line is outside every member type, which is what
    // the walk below would find line by line (most beneficiaries of a
    // run have no anchor, and the walk was half of this function's
    // instructions for them, callgrind).
    if episodes.is_empty() {
        let untaken = claims
            .iter()
            .flat_map(|claim| claim.lines())
            .fold(Money::ZERO, |sum, line| sum.add_claim(line.allowed));
        for tally in &mut tallies {
            tally.outside = tally.outside.add_claim(untaken);
        }
        return (episodes, tallies);
    }

    // Rules 2.4 and 2.5, claim by claim so each ledger comes out sorted.
    let mut shares = Vec::with_capacity(episodes.len());
    // Per member type, what one line gave its episodes: reset per line,
    // allocated once.
    let mut taken = vec![Money::ZERO; members.len()];
    let mut ledgers = vec![0u32; members.len()];
    // The lines no episode of the group takes any of: outside every
    // member type whole, so added to each type's outside amount once at
    // the end rather than type by type per line (most lines are such, of
    // most beneficiaries: those with no anchor have no episode at all).
    let mut untaken = Money::ZERO;
    for claim in claims {
        // The anchor claim of any episode of the group, canceled or not, is
        // in that episode alone (RULES 11b).
        let anchor_of = episodes
            .iter()
            .position(|(_, e)| *e.anchor_claim_id == *claim.id());
        // The claim's id and provider as the ledger keeps them, made at its
        // first line an episode takes (the version checks made the
        // provider the same on every line).
        let mut claim_texts: Option<(Text, Option<Text>)> = None;
        for line in claim.lines() {
            shares.clear();
            for (episode_index, (member, episode)) in episodes.iter().enumerate() {
                if episode.cancel.is_some() {
                    continue;
                }
                let share = match anchor_of {
                    Some(anchor) if anchor == episode_index => {
                        Some((line.allowed, Disposition::Anchor))
                    }
                    Some(_) => None,
                    None => share_of(claim, line, episode, members[*member]),
                };
                if let Some(share) = share {
                    shares.push((episode_index, *member, share));
                }
            }
            if shares.is_empty() {
                untaken = untaken.add_claim(line.allowed);
                continue;
            }
            taken.fill(Money::ZERO);
            ledgers.fill(0);
            for &(episode_index, member, (included, disposition)) in &shares {
                let episode = &mut episodes[episode_index].1;
                // Shares of claim lines, one per ledger row: the sums are
                // bounded by RULES 7a, which keeps this loop unchecked.
                episode.actual = episode.actual.add_claim(included);
                taken[member] = taken[member].add_claim(included);
                ledgers[member] += 1;
                let (claim_id, provider_id) = claim_texts.get_or_insert_with(|| {
                    (line.claim_id.into(), line.provider_id.map(Text::from))
                });
                episode.ledger.push(LedgerLine {
                    claim_id: claim_id.clone(),
                    line_number: line.line_number,
                    claim_type: line.claim_type,
                    allowed: line.allowed,
                    included,
                    disposition,
                    provider_id: provider_id.clone(),
                    service_date: service_date(line),
                });
            }
            for (member, tally) in tallies.iter_mut().enumerate() {
                if ledgers[member] > 1 {
                    tally.lines_in_several_episodes += 1;
                }
                tally.outside = tally
                    .outside
                    .add_claim(line.allowed.sub_claim(taken[member]));
            }
        }
    }
    for tally in &mut tallies {
        tally.outside = tally.outside.add_claim(untaken);
    }
    (episodes, tallies)
}

/// The date by which a line's claim type joins a window (rule 2.4).
fn service_date(line: &LineRef<'_>) -> Date {
    match line.claim_type {
        ClaimType::Ip => line.admission_date,
        ClaimType::Snf | ClaimType::Hha | ClaimType::Hos => line.from_date,
        ClaimType::Op | ClaimType::Pb | ClaimType::Dme => line.line_date,
    }
}

/// Rules 2.4 and 2.5 for a line of a claim that is not this episode's
/// anchor: what the episode takes of it and why, or `None` when the episode
/// does not consider it.
fn share_of(
    claim: &Claim<'_>,
    line: &LineRef<'_>,
    episode: &EpisodeDraft,
    definition: &EpisodeDefinition,
) -> Option<(Money, Disposition)> {
    let claim_type = line.claim_type;
    if !definition.include.claim_types.contains(claim_type) {
        return None;
    }
    let inside = |date: Date| episode.start <= date && date <= episode.end;
    let (amount, disposition) = if definition.include.prorate.contains(claim_type) {
        // Days `a..=b` of the claim's `n` (day 1 is the from date) lie in
        // the window; its share is round(allowed × b / n) − round(allowed ×
        // (a − 1) / n), so consecutive episodes' shares add up to the line.
        let day = |date: Date| (date - line.from_date).num_days() + 1;
        let n = day(line.thru_date);
        let a = day(line.from_date.max(episode.start));
        let b = day(line.thru_date.min(episode.end));
        if b < a {
            return None;
        }
        if a == 1 && b == n {
            (line.allowed, Disposition::Included)
        } else {
            // Both parts are at most the line's amount in magnitude.
            let share = line
                .allowed
                .scaled(b, n)
                .sub_claim(line.allowed.scaled(a - 1, n));
            (share, Disposition::Prorated)
        }
    } else {
        if !inside(service_date(line)) {
            return None;
        }
        (line.allowed, Disposition::Included)
    };
    match exclusion(claim, line, definition) {
        Some(rule) => Some((Money::ZERO, Disposition::Excluded(rule))),
        None => Some((amount, disposition)),
    }
}

/// Rule 2.5: the first exclusion rule that applies to a line, if any.
fn exclusion(
    claim: &Claim<'_>,
    line: &LineRef<'_>,
    definition: &EpisodeDefinition,
) -> Option<ExclusionRule> {
    let exclude = &definition.exclude;
    let head = claim.head();
    if head.claim_type == ClaimType::Ip && head.drg.is_some_and(|d| exclude.drg.contains(d)) {
        Some(ExclusionRule::Drg)
    } else if line.hcpcs.is_some_and(|h| exclude.hcpcs.contains(h)) {
        Some(ExclusionRule::Hcpcs)
    } else if head
        .principal_dx
        .is_some_and(|dx| exclude.principal_dx.matches(dx))
    {
        Some(ExclusionRule::PrincipalDx)
    } else {
        None
    }
}
