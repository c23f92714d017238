//! Fingerprints of what a run was made with, recorded in its
//! `summary.json`, so that later commands can tell whether two runs are
//! comparable (`true-up`) or whether episodes may be priced again without
//! their claims (`reprice`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::definitions::{EpisodeDefinition, PeriodDate, PeriodKind, Pricing};
use crate::config::prices::TargetPrices;
use crate::config::risk_factors::RiskFactors;
use crate::config::settlement::{Participants, Settlement};

/// A short SHA-256 of a canonical text: 16 hex digits are plenty to tell
/// configurations apart, and short enough to read in a diff.
pub fn digest(text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The `run` section of `summary.json`: what the run was made with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Fingerprint of every definition, episode rules and pricing.
    pub definitions_fingerprint: String,
    /// Fingerprint of the target price rows.
    pub target_prices_fingerprint: String,
    /// Fingerprint of the risk factor rows, when the run had them.
    #[serde(default)]
    pub risk_factors_fingerprint: Option<String>,
    /// Fingerprint of the participants and settlement tracks, when the run
    /// settled participants.
    #[serde(default)]
    pub settlement_fingerprint: Option<String>,
    /// Per episode type, in id order.
    pub definitions: Vec<TypeRecord>,
}

/// One episode type as a run used it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeRecord {
    /// Episode type.
    pub id: String,
    /// Fingerprint of the rules that decide which lines its episodes take in.
    pub episode_rules: String,
    /// Its post-discharge days, from which an episode's anchor end follows
    /// from its end.
    pub post_days: u32,
    /// Its pricing settings, so a run can be priced again as it was.
    pub pricing: PricingRecord,
}

/// Pricing settings as text, exactly as read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingRecord {
    /// `year` or `quarter`.
    pub period: String,
    /// `episode_end` or `anchor_end` (absent in runs made before it
    /// existed, which all used the episode end).
    #[serde(default = "episode_end")]
    pub period_date: String,
    /// Share taken off the target.
    pub discount: String,
    /// High-cost cap percentile, if any.
    pub high_cost_percentile: Option<String>,
    /// Low-cost floor percentile, if any.
    #[serde(default)]
    pub low_cost_percentile: Option<String>,
    /// Stop-gain share, if any.
    pub stop_gain: Option<String>,
    /// Stop-loss share, if any.
    pub stop_loss: Option<String>,
}

/// The period date of runs made before `period_date` existed.
fn episode_end() -> String {
    PeriodDate::EpisodeEnd.name().to_owned()
}

impl PricingRecord {
    /// The pricing settings this record describes, or `None` if it does
    /// not read as one (a hand-edited summary).
    pub fn to_pricing(&self) -> Option<Pricing> {
        let decimal = |text: &str| crate::config::definitions::parse_plain_decimal(text);
        let optional = |text: &Option<String>| match text {
            Some(t) => decimal(t).map(Some),
            None => Some(None),
        };
        Some(Pricing {
            period: match self.period.as_str() {
                "year" => PeriodKind::Year,
                "quarter" => PeriodKind::Quarter,
                _ => return None,
            },
            period_date: PeriodDate::parse(&self.period_date)?,
            discount: decimal(&self.discount)?,
            high_cost_percentile: optional(&self.high_cost_percentile)?,
            low_cost_percentile: optional(&self.low_cost_percentile)?,
            stop_gain: optional(&self.stop_gain)?,
            stop_loss: optional(&self.stop_loss)?,
        })
    }

    /// The record of a definition's pricing.
    pub fn of(pricing: &Pricing) -> PricingRecord {
        let text = |d: Option<rust_decimal::Decimal>| d.map(|d| d.normalize().to_string());
        PricingRecord {
            period: match pricing.period {
                PeriodKind::Year => "year",
                PeriodKind::Quarter => "quarter",
            }
            .to_owned(),
            period_date: pricing.period_date.name().to_owned(),
            discount: pricing.discount.normalize().to_string(),
            high_cost_percentile: text(pricing.high_cost_percentile),
            low_cost_percentile: text(pricing.low_cost_percentile),
            stop_gain: text(pricing.stop_gain),
            stop_loss: text(pricing.stop_loss),
        }
    }
}

impl RunRecord {
    /// The record of a run made with these definitions and prices.
    pub fn of(definitions: &[EpisodeDefinition], prices: &TargetPrices) -> RunRecord {
        let types: Vec<TypeRecord> = definitions
            .iter()
            .map(|d| TypeRecord {
                id: d.id.clone(),
                episode_rules: digest(&d.episode_rules()),
                post_days: d.window.post_days,
                pricing: PricingRecord::of(&d.pricing),
            })
            .collect();
        RunRecord::new(types, prices)
    }

    /// The record of a run of these types, priced with `prices`.
    pub fn new(types: Vec<TypeRecord>, prices: &TargetPrices) -> RunRecord {
        RunRecord {
            definitions_fingerprint: definitions_fingerprint(&types),
            target_prices_fingerprint: digest(&prices.canonical_rows()),
            risk_factors_fingerprint: None,
            settlement_fingerprint: None,
            definitions: types,
        }
    }

    /// This record, with the risk factors and settlement a run priced with.
    pub fn with_pricing_inputs(
        mut self,
        risk_factors: Option<&RiskFactors>,
        settlement: Option<(&Participants, &Settlement)>,
    ) -> RunRecord {
        self.risk_factors_fingerprint = risk_factors.map(|r| digest(&r.canonical_rows()));
        self.settlement_fingerprint = settlement.map(|(participants, settlement)| {
            digest(&format!(
                "{}\n{}",
                participants.canonical_rows(),
                settlement.canonical_text()
            ))
        });
        self
    }

    /// Whether the record's overall fingerprint is the one of its episode
    /// types: false for a `summary.json` edited by hand (its pricing, say),
    /// which must not be priced again as if it were a run.
    pub fn is_consistent(&self) -> bool {
        self.definitions_fingerprint == definitions_fingerprint(&self.definitions)
    }
}

fn definitions_fingerprint(types: &[TypeRecord]) -> String {
    let all: String = types
        .iter()
        .map(|t| {
            format!(
                "{}:{}:{}:{:?}\n",
                t.id, t.episode_rules, t.post_days, t.pricing
            )
        })
        .collect();
    digest(&all)
}
