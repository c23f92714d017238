//! Pricing and provider reconciliation (contract section 3): periods,
//! targets with the `*` fallback and discount, the high-cost cap, gain or
//! loss, and stop-gain / stop-loss per provider.
//!
//! These are the global steps. They see one figure per episode, never a
//! claim line, which keeps them small and lets a later run price the same
//! episodes again without reading claims.

use std::collections::BTreeMap;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::definitions::{EpisodeDefinition, Pricing};
use crate::model::Date;
use crate::money::Money;
use crate::prices::TargetPrices;

/// What the global steps need of an episode type: its id and pricing. They
/// never see triggers or windows, which is what lets `reprice` run from an
/// earlier run's outputs without the definitions' claim rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypePricing {
    /// Episode type.
    pub id: String,
    /// How its episodes are priced.
    pub pricing: Pricing,
}

impl TypePricing {
    /// The pricing view of each definition, in the same order.
    pub fn of(definitions: &[EpisodeDefinition]) -> Vec<TypePricing> {
        definitions
            .iter()
            .map(|d| TypePricing {
                id: d.id.clone(),
                pricing: d.pricing.clone(),
            })
            .collect()
    }
}

/// What pricing needs of an episode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpisodeFigures {
    /// `TYPE:beneficiary:anchor claim_id`.
    pub episode_id: String,
    /// Index of its episode type in the run's (id-sorted) types.
    pub episode_type: usize,
    /// The beneficiary.
    pub beneficiary_id: Arc<str>,
    /// The provider it is attributed to.
    pub provider_id: Arc<str>,
    /// The anchor claim.
    pub anchor_claim_id: Arc<str>,
    /// From the trigger code.
    pub price_group: String,
    /// First day.
    pub start: Date,
    /// Last day.
    pub end: Date,
    /// Ledger rows.
    pub claim_lines: u64,
    /// Actual spending.
    pub actual: Money,
}

/// An episode with its price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedEpisode {
    /// The episode.
    pub figures: EpisodeFigures,
    /// `2026` or `2026Q3`, from the end date.
    pub period: String,
    /// Actual spending after the high-cost cap.
    pub capped: Money,
    /// Effective target and gain or loss; `None` when no price applies
    /// (status `no_target_price`).
    pub priced: Option<Priced>,
}

/// The money of a priced episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priced {
    /// Target price after the discount, rounded to cents.
    pub target: Money,
    /// Target minus capped spending: positive is owed to the provider.
    pub gain_loss: Money,
}

/// Which stop-gain or stop-loss limit bound a provider's amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The net was within the limits.
    None,
    /// The net gain was cut to the stop-gain limit.
    StopGain,
    /// The net loss was cut to the stop-loss limit.
    StopLoss,
}

impl Limit {
    /// The contract's name.
    pub fn name(self) -> &'static str {
        match self {
            Limit::None => "none",
            Limit::StopGain => "stop_gain",
            Limit::StopLoss => "stop_loss",
        }
    }
}

/// One row of `providers.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderResult {
    /// The provider.
    pub provider_id: Arc<str>,
    /// Index of its episode type in the run's (id-sorted) types.
    pub episode_type: usize,
    /// The period.
    pub period: String,
    /// Priced episodes.
    pub episodes: u64,
    /// Sum of effective targets.
    pub target_total: Money,
    /// Sum of actual spending.
    pub actual_total: Money,
    /// Sum of capped spending.
    pub capped_total: Money,
    /// Sum of gains and losses.
    pub gain_loss_total: Money,
    /// The limit that applied.
    pub limit: Limit,
    /// What is settled.
    pub reconciliation_amount: Money,
}

/// Prices every episode. `episodes` may be in any order; the result is in
/// the same order.
pub fn price(
    episodes: Vec<EpisodeFigures>,
    types: &[TypePricing],
    prices: &TargetPrices,
) -> Vec<PricedEpisode> {
    let periods: Vec<String> = episodes
        .iter()
        .map(|e| types[e.episode_type].pricing.period.of(e.end))
        .collect();
    let caps = high_cost_caps(&episodes, &periods, types);
    episodes
        .into_iter()
        .zip(periods)
        .zip(caps)
        .map(|((figures, period), cap)| {
            let episode_type = &types[figures.episode_type];
            let capped = cap.map_or(figures.actual, |cap| figures.actual.min(cap));
            let priced = prices
                .lookup(
                    &episode_type.id,
                    &figures.provider_id,
                    &figures.price_group,
                    &period,
                )
                .map(|price| {
                    let target = Money::round_half_away(
                        price * (Decimal::ONE - episode_type.pricing.discount),
                    );
                    Priced {
                        target,
                        gain_loss: target - capped,
                    }
                });
            PricedEpisode {
                figures,
                period,
                capped,
                priced,
            }
        })
        .collect()
}

/// Rule 3.3: for each episode whose type has a percentile, the cap of
/// its `(type, price group, period)`: the actual at rank `ceil(p/100 · n)`
/// of the sorted actuals of the group's `n` episodes, priced or not.
fn high_cost_caps(
    episodes: &[EpisodeFigures],
    periods: &[String],
    types: &[TypePricing],
) -> Vec<Option<Money>> {
    let group_of = |i: usize| {
        (
            episodes[i].episode_type,
            episodes[i].price_group.as_str(),
            periods[i].as_str(),
        )
    };
    let mut groups: BTreeMap<(usize, &str, &str), Vec<Money>> = BTreeMap::new();
    for (i, episode) in episodes.iter().enumerate() {
        if types[episode.episode_type]
            .pricing
            .high_cost_percentile
            .is_some()
        {
            groups.entry(group_of(i)).or_default().push(episode.actual);
        }
    }
    let caps: BTreeMap<(usize, &str, &str), Money> = groups
        .into_iter()
        .filter_map(|(key, mut actuals)| {
            let percentile = types[key.0].pricing.high_cost_percentile?;
            actuals.sort_unstable();
            let rank = cap_rank(percentile, actuals.len());
            Some((key, actuals[rank - 1]))
        })
        .collect();
    (0..episodes.len())
        .map(|i| caps.get(&group_of(i)).copied())
        .collect()
}

/// `ceil(p/100 · n)`, exactly; at least 1 and at most `n` for `p` in
/// `(0, 100]` and `n >= 1`.
fn cap_rank(percentile: Decimal, n: usize) -> usize {
    let rank = (percentile * Decimal::from(n) / Decimal::ONE_HUNDRED).ceil();
    // The clamp only guards the proven range above.
    usize::try_from(rank.mantissa() / 10i128.pow(rank.scale()))
        .unwrap_or(n)
        .clamp(1, n)
}

/// Rule 3.5: one row per `(provider, type, period)` with priced episodes,
/// sorted by provider id, episode type id and period.
pub fn reconcile_providers(
    episodes: &[PricedEpisode],
    types: &[TypePricing],
) -> Vec<ProviderResult> {
    let mut rows: BTreeMap<(&str, &str, &str), ProviderResult> = BTreeMap::new();
    for episode in episodes {
        let Some(priced) = episode.priced else {
            continue;
        };
        let figures = &episode.figures;
        let key = (
            &*figures.provider_id,
            types[figures.episode_type].id.as_str(),
            episode.period.as_str(),
        );
        let row = rows.entry(key).or_insert_with(|| ProviderResult {
            provider_id: figures.provider_id.clone(),
            episode_type: figures.episode_type,
            period: episode.period.clone(),
            episodes: 0,
            target_total: Money::ZERO,
            actual_total: Money::ZERO,
            capped_total: Money::ZERO,
            gain_loss_total: Money::ZERO,
            limit: Limit::None,
            reconciliation_amount: Money::ZERO,
        });
        row.episodes += 1;
        row.target_total += priced.target;
        row.actual_total += figures.actual;
        row.capped_total += episode.capped;
        row.gain_loss_total += priced.gain_loss;
    }
    rows.into_values()
        .map(|mut row| {
            let pricing = &types[row.episode_type].pricing;
            // A limit too large for a decimal binds nothing.
            let limit_of = |share: Decimal| {
                let target = row.target_total.to_decimal()?;
                share.checked_mul(target).map(Money::round_half_away)
            };
            let gain_cap = pricing.stop_gain.and_then(limit_of);
            let loss_floor = pricing.stop_loss.and_then(limit_of).map(|limit| -limit);
            (row.limit, row.reconciliation_amount) = match (gain_cap, loss_floor) {
                (Some(cap), _) if row.gain_loss_total > cap => (Limit::StopGain, cap),
                (_, Some(floor)) if row.gain_loss_total < floor => (Limit::StopLoss, floor),
                _ => (Limit::None, row.gain_loss_total),
            };
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn cap_rank_is_exact() {
        let p = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(cap_rank(p("80"), 5), 4);
        assert_eq!(cap_rank(p("99"), 5), 5);
        assert_eq!(cap_rank(p("99"), 100), 99);
        assert_eq!(cap_rank(p("99"), 101), 100);
        assert_eq!(cap_rank(p("100"), 7), 7);
        assert_eq!(cap_rank(p("0.001"), 3), 1);
        assert_eq!(cap_rank(p("50"), 1), 1);
        assert_eq!(cap_rank(p("50"), 4), 2);
        assert_eq!(cap_rank(p("33.3"), 10), 4);
    }
}
