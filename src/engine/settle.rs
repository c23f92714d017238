//! Participant settlement (contract 3.6): each participant settled once
//! across all its priced episodes, as TEAM and CJR settle a hospital: the
//! reconciliation amount, adjusted by the quality score, limited by the
//! track's stop-gain and stop-loss.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::config::settlement::{Participants, Settlement, Track};
use crate::engine::pricing::{Limit, PriceError, PricedEpisode, apply_limits};
use crate::model::Text;
use crate::model::money::{Exact, Money, TooLarge, exact, hundredth};

/// One row of `participants.csv`: a participant's settlement for a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantResult {
    /// The participant (a provider).
    pub provider_id: Text,
    /// The period.
    pub period: String,
    /// Its track that period.
    pub track: String,
    /// Its composite quality score, as read.
    pub quality_score: String,
    /// Priced episodes, all types.
    pub episodes: u64,
    /// Sum of effective targets.
    pub target_total: Money,
    /// Sum of capped spending.
    pub capped_total: Money,
    /// `target_total − capped_total`.
    pub reconciliation_amount: Money,
    /// The amount after the quality adjustment, rounded once.
    pub quality_adjusted_amount: Money,
    /// The track's limit that bound.
    pub limit: Limit,
    /// What is paid (positive) or repaid (negative).
    pub net_payment_reconciliation_amount: Money,
}

/// Participant settlement of a run: `participants.csv` and its summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settled {
    /// By provider and period.
    pub rows: Vec<ParticipantResult>,
    /// `(provider, period)` pairs with priced episodes but no participants
    /// row: not settled.
    pub unsettled: u64,
}

/// Rule 3.6: settles each `(provider, period)` that has a participants row
/// and a priced episode, across all episode types.
pub fn settle(
    episodes: &[PricedEpisode],
    participants: &Participants,
    settlement: &Settlement,
) -> Result<Settled, PriceError> {
    let mut totals: BTreeMap<(&str, &str), (u64, Money, Money)> = BTreeMap::new();
    for episode in episodes {
        let (Some(priced), Some(capped)) = (episode.priced, episode.capped) else {
            continue;
        };
        let key = (&*episode.figures.provider_id, episode.period.as_str());
        let total = totals.entry(key).or_insert((0, Money::ZERO, Money::ZERO));
        // Checked, as provider totals are: actuals read back by `reprice`
        // and targets from a price file are not bounded like claim amounts.
        let too_large = |column: &str| {
            TooLarge::new(format!("participant {}, period {}: {column}", key.0, key.1))
        };
        total.0 += 1;
        total.1 = (total.1.checked_add(priced.target)).ok_or_else(|| too_large("target_total"))?;
        total.2 = (total.2.checked_add(capped)).ok_or_else(|| too_large("capped_total"))?;
    }
    let mut settled = Settled::default();
    for ((provider_id, period), (count, target_total, capped_total)) in totals {
        let Some(participant) = participants.get(provider_id, period) else {
            settled.unsettled += 1;
            continue;
        };
        // A participants row names a track of the settlement file (checked
        // when both were read).
        let Some(track) = settlement.track(&participant.track) else {
            settled.unsettled += 1;
            continue;
        };
        let reconciliation_amount = target_total.checked_sub(capped_total).ok_or_else(|| {
            TooLarge::new(format!(
                "participant {provider_id}, period {period}: reconciliation_amount (target_total {target_total} − capped_total {capped_total})"
            ))
        })?;
        let quality_adjusted_amount =
            quality_adjusted(reconciliation_amount, participant.quality_score, track).ok_or_else(
                || {
                    TooLarge::new(format!(
                        "participant {provider_id}, period {period}: the quality-adjusted amount"
                    ))
                },
            )?;
        let (limit, net) = apply_limits(
            quality_adjusted_amount,
            target_total,
            track.stop_gain,
            track.stop_loss,
        );
        settled.rows.push(ParticipantResult {
            provider_id: provider_id.into(),
            period: period.to_owned(),
            track: participant.track.clone(),
            quality_score: participant.quality_score_text.clone(),
            episodes: count,
            target_total,
            capped_total,
            reconciliation_amount,
            quality_adjusted_amount,
            limit,
            net_payment_reconciliation_amount: net,
        });
    }
    Ok(settled)
}

/// The quality adjustment of rule 3.6: a gain reduced by `quality_gain ×
/// (100 − s)/100`, a loss by `quality_loss × s/100`, exactly, rounded to
/// cents once. `None` when the result does not fit an amount (only absurd
/// amounts get there).
fn quality_adjusted(amount: Money, score: Decimal, track: &Track) -> Option<Money> {
    let share = match amount.cmp(&Money::ZERO) {
        Ordering::Greater => {
            exact(track.quality_gain) * (Exact::from(100) - exact(score)) * hundredth()
        }
        Ordering::Less => exact(track.quality_loss) * exact(score) * hundredth(),
        Ordering::Equal => return Some(Money::ZERO),
    };
    Money::round_half_away(&(amount.to_exact() * (Exact::from(1) - share)))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    /// Rule 3.6 with every digit kept: 12499.92 × (1 − 0.1234567891 ×
    /// (100 − 12.3456789012)/100) = 11147.2428… → 11147.24, and a loss
    /// -12499.92 × (1 − 0.0987654321 × 12.3456789012/100) = -12347.5051…
    /// → -12347.51 (Python's decimal at 100 digits). The products need
    /// more than a 28-digit decimal holds.
    #[test]
    fn the_quality_adjustment_is_exact_and_rounded_once() {
        let track = Track {
            stop_gain: None,
            stop_loss: None,
            quality_gain: d("0.1234567891"),
            quality_loss: d("0.0987654321"),
        };
        let score = d("12.3456789012");
        let adjusted = |cents| quality_adjusted(Money::from_cents(cents), score, &track);
        assert_eq!(adjusted(1_249_992), Some(Money::from_cents(1_114_724)));
        assert_eq!(adjusted(-1_249_992), Some(Money::from_cents(-1_234_751)));
        assert_eq!(adjusted(0), Some(Money::ZERO));
    }
}
