//! Pricing and provider reconciliation (contract section 3): periods,
//! targets with the `*` fallback and discount, the high-cost cap, gain or
//! loss, and stop-gain / stop-loss per provider.
//!
//! These are the global steps. They see one figure per episode, never a
//! claim line, which keeps them small and lets a later run price the same
//! episodes again without reading claims.

use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::config::definitions::{EpisodeDefinition, Period, PeriodDate, Pricing};
use crate::config::prices::TargetPrices;
use crate::config::risk_factors::RiskFactors;
use crate::engine::eligibility::CancelReason;
use crate::engine::risk::Levels;
use crate::model::Date;
use crate::model::Text;
use crate::model::money::{
    Exact, Money, SMALL_SCALE, TooLarge, exact, hundredth, plain, small_parts,
};
use crate::model::warning::Warning;

/// What the global steps need of an episode type: its id and pricing. They
/// never see triggers or windows, which is what lets `reprice` run from an
/// earlier run's outputs without the definitions' claim rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypePricing {
    /// Episode type.
    pub id: String,
    /// Post-discharge days of its window: an episode's anchor end is its
    /// end less `post_days − 1`, which `period_date = "anchor_end"` needs.
    pub post_days: u32,
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
                post_days: d.window.post_days,
                pricing: d.pricing.clone(),
            })
            .collect()
    }

    /// The anchor end of an episode of this type that ends on `end`.
    pub fn anchor_end(&self, end: Date) -> Date {
        end.checked_sub_days(chrono::Days::new(u64::from(
            self.post_days.saturating_sub(1),
        )))
        .unwrap_or(Date::MIN)
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
    pub beneficiary_id: Text,
    /// The provider it is attributed to.
    pub provider_id: Text,
    /// The anchor claim.
    pub anchor_claim_id: Text,
    /// From the trigger code.
    pub price_group: String,
    /// First day.
    pub start: Date,
    /// Last day.
    pub end: Date,
    /// Last day of the anchor.
    pub anchor_end: Date,
    /// Why eligibility canceled it; `None`, it stands.
    pub cancel: Option<CancelReason>,
    /// Risk factors and levels; `None` without `[risk]` or when canceled.
    pub risk_levels: Option<Levels>,
    /// Ledger rows.
    pub claim_lines: u64,
    /// Actual spending.
    pub actual: Money,
}

/// What became of an episode at pricing: `status` in `episodes.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Priced: a target and a gain or loss.
    Priced,
    /// No target price row for its type, provider, group and period.
    NoTargetPrice,
    /// A risk factor without a level or a multiplier row.
    NoRiskFactor,
    /// Canceled by eligibility.
    Canceled,
}

impl Status {
    /// Every status, in the order `summary.json` counts them.
    pub const ALL: [Status; 4] = [
        Status::Priced,
        Status::NoTargetPrice,
        Status::NoRiskFactor,
        Status::Canceled,
    ];

    /// The contract's name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Priced => "priced",
            Status::NoTargetPrice => "no_target_price",
            Status::NoRiskFactor => "no_risk_factor",
            Status::Canceled => "canceled",
        }
    }

    /// Reads a status as `episodes.csv` writes it.
    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.name() == text)
    }
}

/// An episode with its price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedEpisode {
    /// The episode.
    pub figures: EpisodeFigures,
    /// `2026` or `2026Q3`, from the date `period_date` names.
    pub period: String,
    /// Actual spending after the high-cost cap and low-cost floor; `None`
    /// when canceled.
    pub capped: Option<Money>,
    /// The target price row's value as read; `None` without a row or when
    /// canceled.
    pub target_price: Option<Decimal>,
    /// The exact product of the risk factors' multipliers (1 without
    /// `[risk]`), every digit kept; `None` when canceled or a factor has
    /// no level or row.
    pub risk_multiplier: Option<Exact>,
    /// Effective target and gain or loss; `Some` exactly when priced.
    pub priced: Option<Priced>,
}

impl PricedEpisode {
    /// What became of it, from what pricing found: derived rather than
    /// stored, so that it cannot disagree with the figures it describes.
    pub fn status(&self) -> Status {
        if self.figures.cancel.is_some() {
            Status::Canceled
        } else if self.priced.is_some() {
            Status::Priced
        } else if self.target_price.is_none() {
            Status::NoTargetPrice
        } else {
            Status::NoRiskFactor
        }
    }
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
    /// Every limit, in the order of this enum (the README's table is
    /// checked against it).
    pub const ALL: [Limit; 3] = [Limit::None, Limit::StopGain, Limit::StopLoss];

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
    pub provider_id: Text,
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

/// Why episodes could not be priced or summed.
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    /// A gain or loss or a provider's total does not fit: the amounts
    /// summed (actuals read back from a run folder, targets from a price
    /// file) are not bounded by the claims' 24 digits.
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
}

impl crate::error::Classify for PriceError {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            PriceError::TooLarge(e) => e.kind(),
        }
    }
}

/// The warnings of the pricing files a run prices with: rows of an
/// episode type that is none of `known` (the run's types, in id order),
/// target prices first, then risk factors. A type that is defined but has
/// no episode in this run is no warning: its rows are simply not needed.
pub fn unknown_types(
    known: &[&str],
    prices: &TargetPrices,
    risk: Option<&RiskFactors>,
) -> Vec<Warning> {
    let mut warnings = prices.unknown_types(known);
    if let Some(risk) = risk {
        warnings.extend(risk.unknown_types(known));
    }
    warnings
}

/// Prices every episode. `episodes` may be in any order; the result is in
/// the same order. `risk` is needed when a type has `[risk]`; without it
/// such episodes have no multiplier rows (`no_risk_factor`).
pub fn price(
    episodes: Vec<EpisodeFigures>,
    types: &[TypePricing],
    prices: &TargetPrices,
    risk: Option<&RiskFactors>,
) -> Result<Vec<PricedEpisode>, PriceError> {
    // A run's episodes fall in a few periods: each is named once, and its
    // name copied (naming it each time was a twentieth of a reprice).
    let mut names: FxHashMap<Period, String> = FxHashMap::default();
    let periods: Vec<String> = episodes
        .iter()
        .map(|e| {
            let pricing = &types[e.episode_type].pricing;
            let date = match pricing.period_date {
                PeriodDate::EpisodeEnd => e.end,
                PeriodDate::AnchorEnd => e.anchor_end,
            };
            let period = pricing.period.period(date);
            names
                .entry(period)
                .or_insert_with(|| period.to_string())
                .clone()
        })
        .collect();
    let bounds = spending_bounds(&episodes, &periods, types);
    // Filled by a loop, not collected into a `Result`: that collection
    // cannot know its length, and grew the vector by copying it whole
    // (half of a reprice's page faults).
    let mut priced_episodes = Vec::with_capacity(episodes.len());
    for ((figures, period), bounds) in episodes.into_iter().zip(periods).zip(bounds) {
        priced_episodes.push(price_one(figures, period, bounds, types, prices, risk)?);
    }
    Ok(priced_episodes)
}

/// Prices one episode (rules 3.1 to 3.3); see [`price`].
fn price_one(
    figures: EpisodeFigures,
    period: String,
    bounds: Bounds,
    types: &[TypePricing],
    prices: &TargetPrices,
    risk: Option<&RiskFactors>,
) -> Result<PricedEpisode, PriceError> {
    if figures.cancel.is_some() {
        return Ok(PricedEpisode {
            figures,
            period,
            capped: None,
            target_price: None,
            risk_multiplier: None,
            priced: None,
        });
    }
    let episode_type = &types[figures.episode_type];
    let capped = bounds.apply(figures.actual);
    let price_row = prices.lookup_row(
        &episode_type.id,
        &figures.provider_id,
        &figures.price_group,
        &period,
    );
    let target_price = price_row.map(|(price, _)| price);
    let risk_multiplier = multiplier(&episode_type.id, figures.risk_levels.as_deref(), risk);
    let priced = match (price_row, &risk_multiplier) {
        (Some((price, row)), Some(risk)) => {
            let discount = episode_type.pricing.discount;
            // Each factor with where it came from, as far as one place
            // holds it: the price's file and row (the multiplier is a
            // product of several rows, the discount the definition's).
            let target = effective_target(price, risk, discount).ok_or_else(|| {
                TooLarge::new(format!(
                    "episode {}: the effective target (target_price {price} of {}, row {row} × risk multiplier {} × (1 − discount {}))",
                    figures.episode_id,
                    prices.path().display(),
                    plain(risk),
                    discount
                ))
            })?;
            // Checked: `capped` may be a 36-digit actual read back
            // from a run folder.
            let gain_loss = target.checked_sub(capped).ok_or_else(|| {
                TooLarge::new(format!(
                    "episode {}: the gain or loss (target {target} − capped spending {capped})",
                    figures.episode_id
                ))
            })?;
            Some(Priced { target, gain_loss })
        }
        // No price row (whatever the risk), or no multiplier.
        _ => None,
    };
    Ok(PricedEpisode {
        figures,
        period,
        capped: Some(capped),
        target_price,
        risk_multiplier,
        priced,
    })
}

/// Rule 3.2: `price × risk × (1 − discount)`, exactly, rounded once to
/// cents half away from zero; `None` when the cents do not fit an amount.
///
/// In integers when the product's digits fit an `i128` (every realistic
/// price, multiplier and discount), else in bigdecimal's arbitrary
/// precision, with the same result (pinned by a property test below):
/// bigdecimal's products and conversions, once an episode, were a twentieth
/// of a reprice's instructions (callgrind).
fn effective_target(price: Decimal, risk: &Exact, discount: Decimal) -> Option<Money> {
    let small = || {
        let (risk, risk_scale) = small_parts(risk)?;
        // `1 − discount` as digits at the discount's scale (at most 28).
        let kept = 10i128
            .checked_pow(discount.scale())?
            .checked_sub(discount.mantissa())?;
        let digits = price.mantissa().checked_mul(risk)?.checked_mul(kept)?;
        let scale = i64::from(price.scale()) + risk_scale + i64::from(discount.scale());
        // Too large by the integer path is checked by the exact one.
        (scale.abs() <= SMALL_SCALE)
            .then(|| Money::round_small(digits, scale))
            .flatten()
    };
    small().or_else(|| {
        Money::round_half_away(&(exact(price) * risk * (Exact::from(1) - exact(discount))))
    })
}

/// Rule 3.2: the exact product of the factors' multipliers, `1` without
/// `[risk]`; `None` when a factor has no level or no row (or no risk
/// factors file was given).
fn multiplier(
    episode_type: &str,
    levels: Option<&[(String, Option<String>)]>,
    risk: Option<&RiskFactors>,
) -> Option<Exact> {
    let mut product = Exact::from(1);
    for (factor, level) in levels.unwrap_or_default() {
        let multiplier = level
            .as_deref()
            .and_then(|level| risk?.lookup(episode_type, factor, level))?;
        product *= exact(multiplier);
    }
    Some(product)
}

/// The high-cost cap and low-cost floor of an episode's `(type, price
/// group, period)`, where its type has them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bounds {
    /// The low-cost floor.
    pub floor: Option<Money>,
    /// The high-cost cap.
    pub cap: Option<Money>,
}

impl Bounds {
    /// Capped spending: `max(floor, min(actual, cap))`.
    fn apply(self, actual: Money) -> Money {
        let capped = self.cap.map_or(actual, |cap| actual.min(cap));
        self.floor.map_or(capped, |floor| capped.max(floor))
    }
}

/// A `(type index, price group, period)`: where rule 3.3 draws its bounds.
pub type BoundsGroup<'e> = (usize, &'e str, &'e str);

/// Rule 3.3 for each episode: the cap and floor of its `(type, price
/// group, period)`.
fn spending_bounds(
    episodes: &[EpisodeFigures],
    periods: &[String],
    types: &[TypePricing],
) -> Vec<Bounds> {
    let bounds = group_bounds(episodes, periods, types);
    episodes
        .iter()
        .zip(periods)
        .map(|(e, period)| {
            let group = (e.episode_type, e.price_group.as_str(), period.as_str());
            bounds.get(&group).copied().unwrap_or_default()
        })
        .collect()
}

/// Rule 3.3: the cap and floor of each `(type, price group, period)` whose
/// type has them: the actuals at ranks `ceil(p/100 · n)` and `ceil(q/100 ·
/// n)` of the sorted actuals of the group's `n` episodes that are not
/// canceled, priced or not. `periods[i]` is episode `i`'s period. Public
/// so that the report draws the bounds pricing applied, not a copy of
/// the rule.
pub fn group_bounds<'e>(
    episodes: &'e [EpisodeFigures],
    periods: &'e [String],
    types: &[TypePricing],
) -> BTreeMap<BoundsGroup<'e>, Bounds> {
    let bounded = |pricing: &Pricing| {
        pricing.high_cost_percentile.is_some() || pricing.low_cost_percentile.is_some()
    };
    let mut groups: BTreeMap<BoundsGroup<'e>, Vec<Money>> = BTreeMap::new();
    for (episode, period) in episodes.iter().zip(periods) {
        if episode.cancel.is_none() && bounded(&types[episode.episode_type].pricing) {
            let group = (
                episode.episode_type,
                episode.price_group.as_str(),
                period.as_str(),
            );
            groups.entry(group).or_default().push(episode.actual);
        }
    }
    groups
        .into_iter()
        .map(|(key, mut actuals)| {
            let pricing = &types[key.0].pricing;
            actuals.sort_unstable();
            let at = |percentile: Decimal| actuals[cap_rank(percentile, actuals.len()) - 1];
            let bounds = Bounds {
                floor: pricing.low_cost_percentile.map(at),
                cap: pricing.high_cost_percentile.map(at),
            };
            (key, bounds)
        })
        .collect()
}

/// `ceil(p/100 · n)`, exactly; at least 1 and at most `n` for `p` in
/// `(0, 100]` and `n >= 1`.
fn cap_rank(percentile: Decimal, n: usize) -> usize {
    let rank = (exact(percentile) * Exact::from(n as u64) * hundredth())
        .with_scale_round(0, bigdecimal::RoundingMode::Ceiling);
    // The clamp only guards the proven range above.
    usize::try_from(rank.into_bigint_and_exponent().0)
        .unwrap_or(n)
        .clamp(1, n)
}

/// Rule 3.5: one row per `(provider, type, period)` with priced episodes,
/// sorted by provider id, episode type id and period.
///
/// The totals are checked sums: actuals read back by `reprice` have up to
/// 36 digits and targets come from a price file, so neither is bounded the
/// way claim amounts are; a total that does not fit is [`TooLarge`],
/// naming the row.
pub fn reconcile_providers(
    episodes: &[PricedEpisode],
    types: &[TypePricing],
) -> Result<Vec<ProviderResult>, TooLarge> {
    // A tree, not a hash map sorted after: hashed, the rows took 3.4M
    // fewer instructions in a reprice at 4M lines but 500 more page
    // faults (the table grows by doubling, then is copied to be sorted),
    // which cost more than the comparisons.
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
        // Priced episodes always have capped spending.
        let capped = episode.capped.unwrap_or(figures.actual);
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
        let too_large = |column: &str| {
            TooLarge::new(format!(
                "provider {}, episode type {}, period {}: {column}",
                key.0, key.1, key.2
            ))
        };
        row.episodes += 1;
        row.target_total = (row.target_total.checked_add(priced.target))
            .ok_or_else(|| too_large("target_total"))?;
        row.actual_total = (row.actual_total.checked_add(figures.actual))
            .ok_or_else(|| too_large("actual_total"))?;
        row.capped_total =
            (row.capped_total.checked_add(capped)).ok_or_else(|| too_large("capped_total"))?;
        row.gain_loss_total = (row.gain_loss_total.checked_add(priced.gain_loss))
            .ok_or_else(|| too_large("gain_loss_total"))?;
    }
    Ok(rows
        .into_values()
        .map(|mut row| {
            let pricing = &types[row.episode_type].pricing;
            (row.limit, row.reconciliation_amount) = apply_limits(
                row.gain_loss_total,
                row.target_total,
                pricing.stop_gain,
                pricing.stop_loss,
            );
            row
        })
        .collect())
}

/// Stop-gain and stop-loss (rules 3.5 and 3.6): `amount` limited to at most
/// `stop_gain × target_total` and at least `−stop_loss × target_total`,
/// each limit rounded to cents and binding only when the amount is strictly
/// beyond it; with the limit that bound.
pub fn apply_limits(
    amount: Money,
    target_total: Money,
    stop_gain: Option<Decimal>,
    stop_loss: Option<Decimal>,
) -> (Limit, Money) {
    // A limit too large for an amount binds nothing: no amount is beyond it.
    let limit_of =
        |share: Decimal| Money::round_half_away(&(exact(share) * target_total.to_exact()));
    let gain_cap = stop_gain.and_then(limit_of);
    let loss_floor = stop_loss.and_then(limit_of).map(|limit| -limit);
    match (gain_cap, loss_floor) {
        (Some(cap), _) if amount > cap => (Limit::StopGain, cap),
        (_, Some(floor)) if amount < floor => (Limit::StopLoss, floor),
        _ => (Limit::None, amount),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    proptest::proptest! {
        /// The effective target in integers is bigdecimal's, to the cent,
        /// ties and negative discounts included, and where the digits do
        /// not fit an `i128` the exact path answers.
        #[test]
        fn effective_targets_in_integers_are_exact(
            price in (0i64..i64::MAX, 0u32..=28),
            risk in (proptest::prelude::any::<i64>(), 0i64..=30),
            discount in (-10_000i64..10_000, 0u32..=6),
        ) {
            let price = Decimal::new(price.0, price.1);
            let risk = Exact::new(risk.0.into(), risk.1);
            let discount = Decimal::new(discount.0, discount.1);
            let by_bigdecimal = Money::round_half_away(
                &(exact(price) * &risk * (Exact::from(1) - exact(discount))),
            );
            proptest::prop_assert_eq!(effective_target(price, &risk, discount), by_bigdecimal);
        }
    }

    /// One priced episode of type 0 for provider `P1` in 2026 with these
    /// figures, as `reprice` builds from a run folder's 36-digit actuals.
    fn priced(actual: i128, target: i128) -> PricedEpisode {
        let day = Date::from_ymd_opt(2026, 3, 2).expect("a date");
        let actual = Money::from_cents(actual);
        let target = Money::from_cents(target);
        PricedEpisode {
            figures: EpisodeFigures {
                episode_id: "LEJR:B1:A1".into(),
                episode_type: 0,
                beneficiary_id: Text::from("B1"),
                provider_id: Text::from("P1"),
                anchor_claim_id: Text::from("A1"),
                price_group: "NOMCC".into(),
                start: day,
                end: day,
                anchor_end: day,
                cancel: None,
                risk_levels: None,
                claim_lines: 1,
                actual,
            },
            period: "2026".into(),
            capped: Some(actual),
            target_price: None,
            risk_multiplier: Some(Exact::from(1)),
            priced: Some(Priced {
                target,
                gain_loss: target.checked_sub(actual).expect("fits"),
            }),
        }
    }

    #[test]
    fn provider_totals_that_do_not_fit_are_too_large() {
        let types = [TypePricing {
            id: "LEJR".into(),
            post_days: 90,
            pricing: Pricing {
                period: crate::config::definitions::PeriodKind::Year,
                period_date: PeriodDate::EpisodeEnd,
                discount: Decimal::ZERO,
                high_cost_percentile: None,
                low_cost_percentile: None,
                stop_gain: None,
                stop_loss: None,
            },
        }];
        // 9 × 10^37 cents each: one fits an i128, two do not.
        let huge = 9 * 10i128.pow(37);
        let error = reconcile_providers(&[priced(huge, 0), priced(huge, 0)], &types)
            .expect_err("the totals do not fit");
        let message = error.to_string();
        assert!(
            message.contains("provider P1, episode type LEJR, period 2026: actual_total")
                && message.contains("too large"),
            "{message}"
        );
        // Within range, the same rows sum.
        let rows = reconcile_providers(&[priced(huge, 0), priced(-huge, 0)], &types)
            .expect("the totals fit");
        assert_eq!(rows[0].actual_total, Money::ZERO);
    }

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
