//! Episode definitions: TOML files, parsed into raw structs that mirror the
//! file, then validated into the types the engine uses (contract 1.4).
//!
//! Validation is where every mistake of a definition is caught and named
//! with its file and key, so the episode builder never meets an unknown
//! claim type, a negative window or a price group of no trigger.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::config::toml_file::{self, TomlError};
use crate::model::{ClaimType, ClaimTypeSet, Date, normalize_drg, normalize_dx, normalize_hcpcs};

/// A definitions folder or file that cannot be used. The user fixes these.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The folder or a file could not be read.
    #[error("{path}: cannot read episode definitions: {source}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The folder holds no `*.toml` file.
    #[error("{dir}: expected at least one episode definition (*.toml), found none")]
    Empty {
        /// The folder.
        dir: PathBuf,
    },
    /// The file's TOML or one of its values.
    #[error(transparent)]
    Toml(#[from] TomlError),
    /// Two files define the same episode type.
    #[error(
        "{file}: key `id`: episode type \"{id}\" is already defined in {first}; expected each id once"
    )]
    DuplicateId {
        /// The second file.
        file: PathBuf,
        /// The id.
        id: String,
        /// The file that defined it first.
        first: PathBuf,
    },
}

impl crate::error::Classify for Error {
    /// The user's configuration, or the environment when reading it failed
    /// for a reason the user did not cause.
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::Io { source, .. } => ErrorKind::reading(ErrorKind::Configuration, source),
            _ => ErrorKind::Configuration,
        }
    }
}

/// A decimal as TOML allows it to be written: a string or a number. Also
/// read by [`crate::config::settlement`], whose decimals are written the same way.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawDecimal {
    Text(String),
    Integer(i64),
    /// A float, read from its literal text (see [`SpannedDecimal`]), or any
    /// other value, which that text then shows to be no decimal.
    Other(serde::de::IgnoredAny),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefinition {
    id: String,
    name: Option<String>,
    trigger: RawTrigger,
    window: RawWindow,
    include: RawInclude,
    #[serde(default)]
    exclude: RawExclude,
    eligibility: Option<RawEligibility>,
    risk: Option<RawRisk>,
    pricing: RawPricing,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEligibility {
    #[serde(default)]
    months_before: i64,
    #[serde(default)]
    require: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    death: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRisk {
    factors: Vec<String>,
    #[serde(default)]
    bands: BTreeMap<String, Vec<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrigger {
    #[serde(default)]
    drg: Vec<String>,
    #[serde(default)]
    hcpcs: Vec<String>,
    #[serde(default)]
    price_groups: BTreeMap<String, String>,
    overlap_group: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    #[serde(default)]
    lookback_days: i64,
    post_days: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInclude {
    claim_types: Vec<String>,
    #[serde(default)]
    prorate: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExclude {
    #[serde(default)]
    drg: Vec<String>,
    #[serde(default)]
    hcpcs: Vec<String>,
    #[serde(default)]
    principal_dx: Vec<String>,
}

/// A [`RawDecimal`] with where it is written in the file: a number is read
/// from its literal text, so that every digit written counts.
pub(crate) type SpannedDecimal = toml::Spanned<RawDecimal>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPricing {
    period: String,
    period_date: Option<String>,
    discount: Option<SpannedDecimal>,
    high_cost_percentile: Option<SpannedDecimal>,
    low_cost_percentile: Option<SpannedDecimal>,
    stop_gain: Option<SpannedDecimal>,
    stop_loss: Option<SpannedDecimal>,
}

/// A validated episode type: what opens an episode, how long it lasts, what
/// it takes in and how it is priced.
#[derive(Clone, Debug)]
pub struct EpisodeDefinition {
    /// Episode type, `[A-Z0-9_]+`, unique in the run.
    pub id: String,
    /// Human name.
    pub name: String,
    /// The file it came from.
    pub file: PathBuf,
    /// What opens an episode.
    pub trigger: Trigger,
    /// The types whose triggers are taken together with this one's.
    pub overlap_group: OverlapGroup,
    /// Days around the anchor.
    pub window: Window,
    /// Claim types taken in, and those prorated.
    pub include: Include,
    /// What is listed but contributes nothing.
    pub exclude: Exclude,
    /// Enrollment checks that cancel an episode; `None`, every episode
    /// stands.
    pub eligibility: Option<Eligibility>,
    /// Risk factors of the target; `None`, a multiplier of 1.
    pub risk: Option<Risk>,
    /// How episodes are priced.
    pub pricing: Pricing,
}

/// The episode types whose triggers are taken together (contract 2.2,
/// 2.3): so that a hip fracture inside an open joint replacement episode
/// opens no second episode of the same model.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OverlapGroup {
    /// `trigger.overlap_group`: shared with every type that names it.
    Named(String),
    /// No `overlap_group`: the type (by id) is a group of its own, which a
    /// named group can never equal.
    Own(String),
}

/// When a beneficiary's death cancels an episode (contract 2.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeathRule {
    /// A death on or before the anchor end.
    Anchor,
    /// A death on or before the episode end.
    Episode,
    /// Never.
    Ignore,
}

impl DeathRule {
    /// The definition's word for the rule.
    pub fn name(self) -> &'static str {
        match self {
            DeathRule::Anchor => "anchor",
            DeathRule::Episode => "episode",
            DeathRule::Ignore => "ignore",
        }
    }
}

/// `[eligibility]`: which enrollment months are checked and what they
/// must show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eligibility {
    /// Months before the anchor start's month that are checked too.
    pub months_before: u32,
    /// Flags that must be `Y` in every month checked, in the order tried.
    pub require: Vec<String>,
    /// Flags that must not be `Y` in any month checked, in the order tried.
    pub exclude: Vec<String>,
    /// When death cancels.
    pub death: DeathRule,
}

/// `[risk]`: the factors whose multipliers adjust the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Risk {
    /// In the definition's order, which is the order of `risk_levels`.
    pub factors: Vec<RiskFactor>,
}

/// One risk factor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskFactor {
    /// `age` (computed) or a beneficiaries column.
    pub name: String,
    /// Integer band edges, strictly ascending; `None`, the factor is
    /// categorical (its value is its level).
    pub bands: Option<Vec<i64>>,
}

/// The name of the computed factor: whole years at the anchor start.
pub const AGE_FACTOR: &str = "age";

/// Trigger codes, normalized, and their price groups.
#[derive(Clone, Debug, Default)]
pub struct Trigger {
    /// MS-DRGs that open an episode on an IP claim.
    pub drg: HashSet<String>,
    /// HCPCS codes that open an episode on an OP claim line.
    pub hcpcs: HashSet<String>,
    price_groups: HashMap<String, String>,
}

impl Trigger {
    /// The price group of a trigger code: its listed group, else the code.
    pub fn price_group<'a>(&'a self, code: &'a str) -> &'a str {
        self.price_groups.get(code).map_or(code, String::as_str)
    }

    /// The listed `code -> price group` pairs, sorted by code.
    pub fn price_groups(&self) -> Vec<(&str, &str)> {
        let mut pairs: Vec<(&str, &str)> = self
            .price_groups
            .iter()
            .map(|(c, g)| (c.as_str(), g.as_str()))
            .collect();
        pairs.sort();
        pairs
    }
}

/// The episode window around an anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Days before the anchor start that belong to the episode.
    pub lookback_days: u32,
    /// Post-discharge days, the discharge day being day 1.
    pub post_days: u32,
}

impl Window {
    /// The longest lookback or post-anchor period accepted: a hundred years,
    /// far past any episode, so a window stays within dates that print as
    /// `YYYY-MM-DD`.
    pub const MAX_DAYS: u32 = 36_500;

    /// The episode's first and last day for an anchor, before the rule that
    /// an episode never reaches back into the previous one.
    ///
    /// A window reaching past the dates the outputs can write, 0000-01-01
    /// to 9999-12-31 (the four-digit years the inputs are read in), stops
    /// at the first or last of them (RULES 19c): a discharge on 9999-12-31,
    /// a placeholder some extracts use for "still admitted", would else
    /// end its episode in year 10000, written `+10000-01-29`, which no
    /// command reads back.
    ///
    /// The discharge day is day 1 of the post-discharge period (contract
    /// 2.2), so 90 post-discharge days after a discharge on 5 March end on
    /// 2 June, and a 3-day lookback starts 3 days before the admission:
    ///
    /// ```
    /// use episode_recon::config::definitions::Window;
    /// use episode_recon::model::Date;
    ///
    /// let window = Window { lookback_days: 3, post_days: 90 };
    /// let day = |m, d| Date::from_ymd_opt(2026, m, d).unwrap();
    /// assert_eq!(window.around(day(3, 2), day(3, 5)), (day(2, 27), day(6, 2)));
    /// ```
    pub fn around(self, anchor_start: Date, anchor_end: Date) -> (Date, Date) {
        let lookback = chrono::Days::new(u64::from(self.lookback_days));
        let post = chrono::Days::new(u64::from(self.post_days.saturating_sub(1)));
        let start = anchor_start.checked_sub_days(lookback).unwrap_or(Date::MIN);
        let end = anchor_end.checked_add_days(post).unwrap_or(Date::MAX);
        (start.max(FIRST_WRITTEN_DAY), end.min(LAST_WRITTEN_DAY))
    }
}

/// The first day an output can write as `YYYY-MM-DD`.
// Both are evaluated when compiling: a `panic!` here fails the build, never a run.
pub const FIRST_WRITTEN_DAY: Date = match Date::from_ymd_opt(0, 1, 1) {
    Some(day) => day,
    None => panic!("0000-01-01 is a day"),
};

/// The last day an output can write as `YYYY-MM-DD`.
pub const LAST_WRITTEN_DAY: Date = match Date::from_ymd_opt(9999, 12, 31) {
    Some(day) => day,
    None => panic!("9999-12-31 is a day"),
};

/// Which claim types an episode takes in.
#[derive(Clone, Copy, Debug, Default)]
pub struct Include {
    /// Claim types considered at all.
    pub claim_types: ClaimTypeSet,
    /// Claim types prorated by overlapping days.
    pub prorate: ClaimTypeSet,
}

/// The exclusion lists, normalized.
#[derive(Clone, Debug, Default)]
pub struct Exclude {
    /// MS-DRGs of IP claims excluded.
    pub drg: HashSet<String>,
    /// HCPCS of lines excluded.
    pub hcpcs: HashSet<String>,
    /// Principal diagnoses excluded.
    pub principal_dx: DxPatterns,
}

/// Principal diagnosis patterns: exact codes and `*` prefixes.
#[derive(Clone, Debug, Default)]
pub struct DxPatterns {
    exact: HashSet<String>,
    prefixes: Vec<String>,
}

impl DxPatterns {
    /// Whether a normalized diagnosis matches any pattern.
    pub fn matches(&self, dx: &str) -> bool {
        self.exact.contains(dx) || self.prefixes.iter().any(|p| dx.starts_with(p.as_str()))
    }

    /// The patterns in normal form (`C50*` for a prefix), sorted.
    pub fn patterns(&self) -> Vec<String> {
        let prefixes = self.prefixes.iter().map(|p| format!("{p}*"));
        let mut all: Vec<String> = self.exact.iter().cloned().chain(prefixes).collect();
        all.sort();
        all
    }
}

/// Which date of an episode picks its period (contract 3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodDate {
    /// The episode's end date (the default).
    EpisodeEnd,
    /// The anchor's end date.
    AnchorEnd,
}

impl PeriodDate {
    /// The definition's word for it.
    pub fn name(self) -> &'static str {
        match self {
            PeriodDate::EpisodeEnd => "episode_end",
            PeriodDate::AnchorEnd => "anchor_end",
        }
    }

    /// Reads the definition's word.
    pub fn parse(text: &str) -> Option<PeriodDate> {
        match text {
            "episode_end" => Some(PeriodDate::EpisodeEnd),
            "anchor_end" => Some(PeriodDate::AnchorEnd),
            _ => None,
        }
    }
}

/// How an episode's period is named from its end date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodKind {
    /// `2026`.
    Year,
    /// `2026Q3`.
    Quarter,
}

impl PeriodKind {
    /// The period of an episode ending on `end`.
    pub fn of(self, end: Date) -> String {
        self.period(end).to_string()
    }

    /// The period of an episode ending on `end`, before it is named: its
    /// year, and its quarter when periods are quarters.
    pub fn period(self, end: Date) -> Period {
        use chrono::Datelike;
        Period {
            year: end.year(),
            quarter: match self {
                PeriodKind::Year => None,
                PeriodKind::Quarter => Some(end.month0() / 3 + 1),
            },
        }
    }
}

/// A period as [`PeriodKind::period`] finds it; its `Display` is its name
/// (`2026`, `2026Q3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Period {
    year: i32,
    quarter: Option<u32>,
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}", self.year)?;
        match self.quarter {
            Some(quarter) => write!(f, "Q{quarter}"),
            None => Ok(()),
        }
    }
}

/// Pricing settings, exact decimals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pricing {
    /// Year or quarter.
    pub period: PeriodKind,
    /// Which date picks the period.
    pub period_date: PeriodDate,
    /// Share taken off the target price, in `[0, 1]`.
    pub discount: Decimal,
    /// Cap on episode spending, in `(0, 100]`; `None`, no cap.
    pub high_cost_percentile: Option<Decimal>,
    /// Floor on episode spending, in `(0, 100)` and below the cap's
    /// percentile; `None`, no floor.
    pub low_cost_percentile: Option<Decimal>,
    /// Limit on a provider's net gain as a share of its targets.
    pub stop_gain: Option<Decimal>,
    /// Limit on a provider's net loss as a share of its targets.
    pub stop_loss: Option<Decimal>,
}

impl EpisodeDefinition {
    /// One line for `check-definitions`: id, trigger kind and code count,
    /// window, file.
    pub fn describe(&self) -> String {
        let (drg, hcpcs) = (self.trigger.drg.len(), self.trigger.hcpcs.len());
        let trigger = match (drg, hcpcs) {
            (0, n) => format!("outpatient trigger, {n} HCPCS"),
            (n, 0) => format!("inpatient trigger, {n} MS-DRG"),
            (n, m) => format!("multi-setting trigger, {n} MS-DRG + {m} HCPCS"),
        };
        format!(
            "{}\t{}\twindow {} day(s) before the anchor to {} day(s) after discharge (discharge = day 1)\t{}",
            self.id,
            trigger,
            self.window.lookback_days,
            self.window.post_days,
            self.file.display()
        )
    }

    /// Everything about this type that decides which lines an episode takes
    /// in: id, triggers and price groups, window, inclusion, exclusion. Two
    /// definitions with the same text here build the same episodes from the
    /// same claims, so a run can be priced again without its claims.
    pub fn episode_rules(&self) -> String {
        let sorted = |set: &HashSet<String>| {
            let mut codes: Vec<&str> = set.iter().map(String::as_str).collect();
            codes.sort_unstable();
            codes.join(",")
        };
        let types = |set: ClaimTypeSet| {
            set.iter()
                .map(ClaimType::code)
                .collect::<Vec<_>>()
                .join(",")
        };
        let groups: Vec<String> = self
            .trigger
            .price_groups()
            .iter()
            .map(|(c, g)| format!("{c}={g}"))
            .collect();
        let mut rules = format!(
            "id={}\ntrigger.drg={}\ntrigger.hcpcs={}\ntrigger.price_groups={}\nwindow={},{}\ninclude.claim_types={}\ninclude.prorate={}\nexclude.drg={}\nexclude.hcpcs={}\nexclude.principal_dx={}\n",
            self.id,
            sorted(&self.trigger.drg),
            sorted(&self.trigger.hcpcs),
            groups.join(","),
            self.window.lookback_days,
            self.window.post_days,
            types(self.include.claim_types),
            types(self.include.prorate),
            sorted(&self.exclude.drg),
            sorted(&self.exclude.hcpcs),
            self.exclude.principal_dx.patterns().join(","),
        );
        // Added only when set, so that a definition without them keeps the
        // fingerprint it had before these keys existed.
        if let OverlapGroup::Named(group) = &self.overlap_group {
            rules.push_str(&format!("trigger.overlap_group={group}\n"));
        }
        if let Some(e) = &self.eligibility {
            rules.push_str(&format!(
                "eligibility={},{},{},{}\n",
                e.months_before,
                e.require.join("|"),
                e.exclude.join("|"),
                e.death.name()
            ));
        }
        if let Some(risk) = &self.risk {
            let factors: Vec<String> = risk
                .factors
                .iter()
                .map(|f| match &f.bands {
                    Some(bands) => format!("{}{:?}", f.name, bands),
                    None => f.name.clone(),
                })
                .collect();
            rules.push_str(&format!("risk={}\n", factors.join("|")));
        }
        rules
    }
}

/// Reads every `*.toml` file of `dir` in name order (sub-folders are not
/// read) and validates each; ids must be unique.
pub fn load_dir(dir: &Path) -> Result<Vec<EpisodeDefinition>, Error> {
    let io_error = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    let files = crate::input::folders::files_in(dir, &["toml"]).map_err(io_error)?;
    if files.is_empty() {
        return Err(Error::Empty {
            dir: dir.to_owned(),
        });
    }
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut definitions = Vec::with_capacity(files.len());
    for file in files {
        let text = fs::read_to_string(&file).map_err(|source| Error::Io {
            path: file.clone(),
            source,
        })?;
        let definition = parse(&text, &file)?;
        if let Some(first) = seen.get(&definition.id) {
            return Err(Error::DuplicateId {
                file,
                id: definition.id,
                first: first.clone(),
            });
        }
        seen.insert(definition.id.clone(), file);
        definitions.push(definition);
    }
    definitions.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(definitions)
}

/// Parses and validates one definition; `file` is used in messages.
pub fn parse(text: &str, file: &Path) -> Result<EpisodeDefinition, Error> {
    let raw: RawDefinition = toml_file::parse(text, file)?;
    Validator { file, text }.definition(raw)
}

/// Turns raw values into validated ones, naming the file and key of the
/// first mistake.
struct Validator<'a> {
    file: &'a Path,
    /// The file's text, for the literal text of values.
    text: &'a str,
}

/// A value as written in the file, shown as is in messages.
struct Literal<'a>(&'a str);

impl fmt::Debug for Literal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Validator<'_> {
    fn invalid(&self, key: &str, expected: &str, found: impl fmt::Debug) -> Error {
        TomlError::invalid(self.file, key, expected, format!("{found:?}")).into()
    }

    fn definition(&self, raw: RawDefinition) -> Result<EpisodeDefinition, Error> {
        if !is_type_name(&raw.id) {
            return Err(self.invalid("id", "an episode type of A-Z, 0-9 and _", &raw.id));
        }
        let overlap_group = match &raw.trigger.overlap_group {
            Some(group) if is_type_name(group) => OverlapGroup::Named(group.clone()),
            Some(group) => {
                return Err(self.invalid(
                    "trigger.overlap_group",
                    "a group name of A-Z, 0-9 and _",
                    group,
                ));
            }
            None => OverlapGroup::Own(raw.id.clone()),
        };
        Ok(EpisodeDefinition {
            name: raw.name.unwrap_or_else(|| raw.id.clone()),
            id: raw.id,
            file: self.file.to_owned(),
            trigger: self.trigger(raw.trigger)?,
            overlap_group,
            window: self.window(raw.window)?,
            eligibility: raw.eligibility.map(|e| self.eligibility(e)).transpose()?,
            risk: raw.risk.map(|r| self.risk(r)).transpose()?,
            include: Include {
                claim_types: self.claim_types("include.claim_types", &raw.include.claim_types)?,
                prorate: self.claim_types("include.prorate", &raw.include.prorate)?,
            },
            exclude: Exclude {
                drg: self.codes("exclude.drg", &raw.exclude.drg, normalize_drg)?,
                hcpcs: self.codes("exclude.hcpcs", &raw.exclude.hcpcs, normalize_hcpcs)?,
                principal_dx: self.dx_patterns(&raw.exclude.principal_dx)?,
            },
            pricing: self.pricing(raw.pricing)?,
        })
    }

    fn eligibility(&self, raw: RawEligibility) -> Result<Eligibility, Error> {
        let months_before = u32::try_from(raw.months_before)
            .ok()
            .filter(|m| *m <= MAX_MONTHS_BEFORE)
            .ok_or_else(|| {
                self.invalid(
                    "eligibility.months_before",
                    &format!("a whole number of months from 0 to {MAX_MONTHS_BEFORE}"),
                    raw.months_before,
                )
            })?;
        let death = match raw.death.as_deref() {
            None | Some("ignore") => DeathRule::Ignore,
            Some("anchor") => DeathRule::Anchor,
            Some("episode") => DeathRule::Episode,
            Some(other) => {
                return Err(self.invalid(
                    "eligibility.death",
                    "\"anchor\", \"episode\" or \"ignore\"",
                    other,
                ));
            }
        };
        Ok(Eligibility {
            months_before,
            require: self.column_names("eligibility.require", raw.require)?,
            exclude: self.column_names("eligibility.exclude", raw.exclude)?,
            death,
        })
    }

    /// Beneficiaries column names, trimmed, non-empty, each once.
    fn column_names(&self, key: &str, names: Vec<String>) -> Result<Vec<String>, Error> {
        let mut seen = HashSet::new();
        names
            .into_iter()
            .map(|name| {
                let name = name.trim().to_owned();
                if name.is_empty() || !seen.insert(name.clone()) {
                    Err(self.invalid(key, "beneficiaries column names, each once", &name))
                } else {
                    Ok(name)
                }
            })
            .collect()
    }

    fn risk(&self, raw: RawRisk) -> Result<Risk, Error> {
        if raw.factors.is_empty() {
            return Err(self.invalid("risk.factors", "a non-empty list of factors", "[]"));
        }
        let names = self.column_names("risk.factors", raw.factors)?;
        if let Some(key) = raw.bands.keys().find(|k| !names.contains(k)) {
            return Err(self.invalid(
                &format!("risk.bands.{key}"),
                "bands of a factor listed in risk.factors",
                key,
            ));
        }
        let factors = names
            .into_iter()
            .map(|name| {
                let bands = match raw.bands.get(&name) {
                    None => None,
                    Some(edges) => {
                        if edges.is_empty() || edges.windows(2).any(|w| w[0] >= w[1]) {
                            return Err(self.invalid(
                                &format!("risk.bands.{name}"),
                                "a non-empty list of integer band edges, strictly ascending",
                                edges,
                            ));
                        }
                        Some(edges.clone())
                    }
                };
                Ok(RiskFactor { name, bands })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Risk { factors })
    }

    fn codes(
        &self,
        key: &str,
        codes: &[String],
        normalize: fn(&str) -> String,
    ) -> Result<HashSet<String>, Error> {
        codes
            .iter()
            .map(|code| {
                let code = code.trim();
                if code.is_empty() {
                    Err(self.invalid(key, "non-empty codes", code))
                } else {
                    Ok(normalize(code))
                }
            })
            .collect()
    }

    fn trigger(&self, raw: RawTrigger) -> Result<Trigger, Error> {
        let drg = self.codes("trigger.drg", &raw.drg, normalize_drg)?;
        let hcpcs = self.codes("trigger.hcpcs", &raw.hcpcs, normalize_hcpcs)?;
        if drg.is_empty() && hcpcs.is_empty() {
            return Err(self.invalid(
                "trigger",
                "a non-empty `drg` or `hcpcs` list (a trigger with no codes opens nothing)",
                "no trigger codes",
            ));
        }
        let mut price_groups = HashMap::new();
        for (code, group) in raw.price_groups {
            let key = format!("trigger.price_groups.\"{code}\"");
            let as_drg = normalize_drg(code.trim());
            let as_hcpcs = normalize_hcpcs(code.trim());
            let code = if drg.contains(&as_drg) {
                as_drg
            } else if hcpcs.contains(&as_hcpcs) {
                as_hcpcs
            } else {
                return Err(self.invalid(
                    &key,
                    "a trigger code listed in trigger.drg or trigger.hcpcs",
                    code,
                ));
            };
            if group.trim().is_empty() {
                return Err(self.invalid(&key, "a non-empty price group name", group));
            }
            price_groups.insert(code, group.trim().to_owned());
        }
        Ok(Trigger {
            drg,
            hcpcs,
            price_groups,
        })
    }

    fn window(&self, raw: RawWindow) -> Result<Window, Error> {
        let days = |key, value: i64, least: u32| {
            u32::try_from(value)
                .ok()
                .filter(|d| (least..=Window::MAX_DAYS).contains(d))
                .ok_or_else(|| {
                    let expected = format!(
                        "a whole number of days from {least} to {}",
                        Window::MAX_DAYS
                    );
                    self.invalid(key, &expected, value)
                })
        };
        let lookback_days = days("window.lookback_days", raw.lookback_days, 0)?;
        let post_days = days("window.post_days", raw.post_days, 1)?;
        Ok(Window {
            lookback_days,
            post_days,
        })
    }

    fn claim_types(&self, key: &str, codes: &[String]) -> Result<ClaimTypeSet, Error> {
        let mut set = ClaimTypeSet::default();
        for code in codes {
            let claim_type = ClaimType::parse(code.trim()).ok_or_else(|| {
                self.invalid(
                    key,
                    "claim types among IP, SNF, HHA, HOS, OP, PB, DME",
                    code,
                )
            })?;
            set.insert(claim_type);
        }
        Ok(set)
    }

    fn dx_patterns(&self, patterns: &[String]) -> Result<DxPatterns, Error> {
        let key = "exclude.principal_dx";
        let mut dx = DxPatterns::default();
        for pattern in patterns {
            let pattern = pattern.trim();
            let (code, is_prefix) = match pattern.strip_suffix('*') {
                Some(prefix) => (prefix, true),
                None => (pattern, false),
            };
            if code.is_empty() || code.contains('*') {
                return Err(self.invalid(
                    key,
                    "ICD-10 codes, or prefixes ending in a single `*`",
                    pattern,
                ));
            }
            let code = normalize_dx(code);
            if is_prefix {
                dx.prefixes.push(code);
            } else {
                dx.exact.insert(code);
            }
        }
        Ok(dx)
    }

    /// The text of `raw` as written in the file.
    fn literal(&self, raw: &SpannedDecimal) -> Literal<'_> {
        Literal(literal(self.text, raw))
    }

    fn decimal(&self, key: &str, raw: &SpannedDecimal) -> Result<Decimal, Error> {
        read_decimal(self.text, raw)
            .map_err(|expected| self.invalid(key, &expected, self.literal(raw)))
    }

    fn rate(
        &self,
        key: &str,
        raw: Option<&SpannedDecimal>,
        in_range: fn(Decimal) -> bool,
        expected: &str,
    ) -> Result<Option<Decimal>, Error> {
        let Some(raw) = raw else { return Ok(None) };
        let value = self.decimal(key, raw)?;
        if in_range(value) {
            Ok(Some(value))
        } else {
            Err(self.invalid(key, expected, self.literal(raw)))
        }
    }

    fn pricing(&self, raw: RawPricing) -> Result<Pricing, Error> {
        let period = match raw.period.as_str() {
            "year" => PeriodKind::Year,
            "quarter" => PeriodKind::Quarter,
            other => return Err(self.invalid("pricing.period", "\"year\" or \"quarter\"", other)),
        };
        let share = |d: Decimal| d >= Decimal::ZERO;
        let period_date = match raw.period_date.as_deref() {
            None => PeriodDate::EpisodeEnd,
            Some(text) => PeriodDate::parse(text).ok_or_else(|| {
                self.invalid(
                    "pricing.period_date",
                    "\"episode_end\" or \"anchor_end\"",
                    text,
                )
            })?,
        };
        let high_cost_percentile = self.rate(
            "pricing.high_cost_percentile",
            raw.high_cost_percentile.as_ref(),
            |d| d > Decimal::ZERO && d <= Decimal::ONE_HUNDRED,
            "a percentile in (0, 100]",
        )?;
        let low_cost_percentile = self.rate(
            "pricing.low_cost_percentile",
            raw.low_cost_percentile.as_ref(),
            |d| d > Decimal::ZERO && d < Decimal::ONE_HUNDRED,
            "a percentile in (0, 100)",
        )?;
        if let (Some(low), Some(high), Some(raw_low)) = (
            low_cost_percentile,
            high_cost_percentile,
            raw.low_cost_percentile.as_ref(),
        ) && low >= high
        {
            return Err(self.invalid(
                "pricing.low_cost_percentile",
                "a percentile below pricing.high_cost_percentile",
                self.literal(raw_low),
            ));
        }
        Ok(Pricing {
            period,
            period_date,
            low_cost_percentile,
            high_cost_percentile,
            discount: self
                .rate(
                    "pricing.discount",
                    raw.discount.as_ref(),
                    |d| d >= Decimal::ZERO && d <= Decimal::ONE,
                    "a decimal in [0, 1]",
                )?
                .unwrap_or(Decimal::ZERO),
            stop_gain: self.rate(
                "pricing.stop_gain",
                raw.stop_gain.as_ref(),
                share,
                "a share >= 0",
            )?,
            stop_loss: self.rate(
                "pricing.stop_loss",
                raw.stop_loss.as_ref(),
                share,
                "a share >= 0",
            )?,
        })
    }
}

/// Whether `text` is an episode type or overlap group name: `[A-Z0-9_]+`.
fn is_type_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The most months before the anchor month an eligibility check may reach:
/// ten years, far past any model's look-back.
pub const MAX_MONTHS_BEFORE: u32 = 120;

/// What a decimal of the inputs may be, for messages: [`Decimal`] holds 28
/// significant digits, which no price, multiplier or rate has ever needed.
/// The products of several are computed with every digit
/// ([`crate::model::money::Exact`]), so no input is capped for their sake.
pub const DECIMAL_DIGITS: &str = "at most 28 significant digits";

/// The text of `raw` as written in `text`, the file it was read from.
pub(crate) fn literal<'t>(text: &'t str, raw: &SpannedDecimal) -> &'t str {
    text.get(raw.span()).unwrap_or_default()
}

/// The exact value of a decimal read from `text`, the file: a string or an
/// integer as it is, a float from its literal text. Otherwise what was
/// expected, for a message
/// that names the key and shows [`literal`]. Shared with
/// [`crate::config::settlement`], whose shares are rates of the same kind.
pub(crate) fn read_decimal(text: &str, raw: &SpannedDecimal) -> Result<Decimal, String> {
    let parsed = match raw.get_ref() {
        RawDecimal::Text(string) => parse_plain_decimal(string.trim()),
        RawDecimal::Integer(n) => Some(Decimal::from(*n)),
        // Read from the literal, not the float TOML made of it, which
        // keeps only about 17 significant digits.
        RawDecimal::Other(_) => parse_toml_float(literal(text, raw)),
    };
    parsed.ok_or_else(|| format!("a decimal such as \"0.03\" ({DECIMAL_DIGITS})"))
}

/// The exact value of a TOML float literal (`0.03`, `1_000.5`, `5e-2`,
/// `+1.5E+3`); `None` for `inf` and `nan`, or a value beyond a decimal's
/// range.
fn parse_toml_float(literal: &str) -> Option<Decimal> {
    let text = literal.replace('_', "");
    match text.find(['e', 'E']) {
        None => parse_plain_decimal(&text),
        Some(e) => {
            let mantissa = parse_plain_decimal(&text[..e])?;
            let exponent: i32 = text[e + 1..].parse().ok()?;
            let ten = Decimal::TEN;
            let scale = (0..exponent.unsigned_abs())
                .try_fold(Decimal::ONE, |acc, _| acc.checked_mul(ten))?;
            if exponent >= 0 {
                mantissa.checked_mul(scale)
            } else {
                // A quotient past 28 places would be rounded: refused.
                let quotient = mantissa.checked_div(scale)?;
                (quotient.checked_mul(scale) == Some(mantissa)).then_some(quotient)
            }
        }
    }
}

/// A plain decimal, `[+-]digits[.digits]`: no exponent, no separators,
/// exactly as written (`30000.00` keeps its two places, which the outputs
/// show), or with its leading and trailing zeros dropped when only that
/// makes it fit a [`Decimal`]; `None` when it does not fit even so
/// ([`DECIMAL_DIGITS`]), never a rounded value.
pub fn parse_plain_decimal(text: &str) -> Option<Decimal> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int_part) || !digits(frac_part) {
        return None;
    }
    let sign = if negative { "-" } else { "" };
    Decimal::from_str_exact(text.strip_prefix('+').unwrap_or(text))
        .ok()
        .or_else(|| {
            let int_part = match int_part.trim_start_matches('0') {
                "" => "0",
                digits => digits,
            };
            let trimmed = match frac_part.trim_end_matches('0') {
                "" => format!("{sign}{int_part}"),
                frac_part => format!("{sign}{int_part}.{frac_part}"),
            };
            Decimal::from_str_exact(&trimmed).ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    const EXAMPLE: &str = r#"
id = "LEJR"
name = "Lower extremity joint replacement"
[trigger]
drg = ["469", "470"]
hcpcs = ["27447"]
price_groups = { "469" = "MCC", "470" = "NOMCC", "27447" = "OP" }
[window]
lookback_days = 0
post_days = 90
[include]
claim_types = ["IP", "SNF", "HHA", "HOS", "OP", "PB", "DME"]
prorate = ["SNF", "HHA", "HOS"]
[exclude]
drg = ["871"]
hcpcs = ["J9035"]
principal_dx = ["C50*", "z99.11"]
[pricing]
period = "year"
discount = 0.03
high_cost_percentile = 99
stop_gain = "0.20"
"#;

    fn parse_text(text: &str) -> Result<EpisodeDefinition, Error> {
        parse(text, Path::new("defs/lejr.toml"))
    }

    fn error(text: &str) -> String {
        parse_text(text).unwrap_err().to_string()
    }

    #[test]
    fn reads_the_contract_example_exactly() {
        let d = parse_text(EXAMPLE).unwrap();
        assert_eq!(d.id, "LEJR");
        assert_eq!(d.trigger.price_group("470"), "NOMCC");
        assert_eq!(d.trigger.price_group("27447"), "OP");
        assert_eq!(
            d.window,
            Window {
                lookback_days: 0,
                post_days: 90
            }
        );
        assert!(d.include.prorate.contains(ClaimType::Snf));
        assert!(!d.include.prorate.contains(ClaimType::Ip));
        assert!(d.exclude.principal_dx.matches("C50911"));
        assert!(d.exclude.principal_dx.matches("Z9911"));
        assert!(!d.exclude.principal_dx.matches("Z991"));
        assert_eq!(d.pricing.discount.to_string(), "0.03");
        assert_eq!(d.pricing.high_cost_percentile, Some(Decimal::from(99)));
        assert_eq!(
            d.pricing.stop_gain.map(|d| d.to_string()).as_deref(),
            Some("0.20")
        );
        assert_eq!(d.pricing.stop_loss, None);
    }

    #[test]
    fn a_code_not_in_price_groups_is_its_own_group() {
        let d = parse_text(&EXAMPLE.replace("\"470\" = \"NOMCC\", ", "")).unwrap();
        assert_eq!(d.trigger.price_group("470"), "470");
    }

    #[test]
    fn mistakes_name_the_file_and_key() {
        let e = error(&EXAMPLE.replace("post_days = 90", "post_days = 90\nfoo = 1"));
        assert!(
            e.starts_with("defs/lejr.toml: line 1") && e.contains("unknown field `foo`"),
            "{e}"
        );
        let e = error(&EXAMPLE.replace("\"PB\", \"DME\"]\nprorate", "\"PB\", \"XX\"]\nprorate"));
        assert!(
            e.contains("key `include.claim_types`") && e.contains("\"XX\""),
            "{e}"
        );
        let e = error(
            &EXAMPLE
                .replace("drg = [\"469\", \"470\"]\nhcpcs = [\"27447\"]", "drg = []")
                .replace(", \"470\" = \"NOMCC\", \"27447\" = \"OP\"", "")
                .replace("\"469\" = \"MCC\"", ""),
        );
        assert!(e.contains("key `trigger`") && e.contains("no codes"), "{e}");
        let e = error(&EXAMPLE.replace("\"27447\" = \"OP\"", "\"999\" = \"OP\""));
        assert!(e.contains("key `trigger.price_groups.\"999\"`"), "{e}");
        let e = error(&EXAMPLE.replace("discount = 0.03", "discount = \"1.5\""));
        assert!(
            e.contains("key `pricing.discount`: expected a decimal in [0, 1]"),
            "{e}"
        );
        let e = error(&EXAMPLE.replace("high_cost_percentile = 99", "high_cost_percentile = 0"));
        assert!(e.contains("pricing.high_cost_percentile"), "{e}");
        let e = error(&EXAMPLE.replace("post_days = 90", "post_days = 0"));
        assert!(e.contains("window.post_days"), "{e}");
        let e = error(&EXAMPLE.replace("post_days = 90", "post_days = 36501"));
        assert!(
            e.contains("window.post_days`: expected a whole number of days from 1 to 36500"),
            "{e}"
        );
        assert!(parse_text(&EXAMPLE.replace("lookback_days = 0", "lookback_days = 36500")).is_ok());
        let e = error(&EXAMPLE.replace("lookback_days = 0", "lookback_days = -1"));
        assert!(e.contains("window.lookback_days"), "{e}");
        let e = error(&EXAMPLE.replace("id = \"LEJR\"", "id = \"lejr\""));
        assert!(e.contains("key `id`"), "{e}");
        let e = error(&EXAMPLE.replace("period = \"year\"", "period = \"month\""));
        assert!(e.contains("pricing.period"), "{e}");
        let e = error(&EXAMPLE.replace("discount = 0.03", "discount = \"3%\""));
        assert!(e.contains("expected a decimal such as"), "{e}");
        let e = error(&EXAMPLE.replace("[window]\nlookback_days = 0\npost_days = 90\n", ""));
        assert!(e.contains("missing field `window`"), "{e}");
    }

    #[test]
    fn duplicate_ids_and_empty_folders_are_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("found none"), "{err}");
        fs::write(dir.path().join("a.toml"), EXAMPLE).unwrap();
        fs::write(dir.path().join("b.toml"), EXAMPLE).unwrap();
        let err = load_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("b.toml: key `id`: episode type \"LEJR\" is already defined in"),
            "{err}"
        );
    }

    #[test]
    fn windows_past_the_calendar_stop_at_its_ends() {
        let d = |s: &str| crate::model::parse_date(s.as_bytes()).unwrap();
        let w = Window {
            lookback_days: u32::MAX,
            post_days: u32::MAX,
        };
        assert_eq!(
            w.around(d("2026-01-10"), d("2026-01-10")),
            (d("0000-01-01"), d("9999-12-31"))
        );
        // Regression: a discharge on 9999-12-31 ended its episode in year
        // 10000, a date no output can write.
        let w = Window {
            lookback_days: 3,
            post_days: 90,
        };
        assert_eq!(
            w.around(d("0000-01-02"), d("9999-12-31")),
            (d("0000-01-01"), d("9999-12-31"))
        );
    }

    #[test]
    fn windows_and_periods() {
        let d = |s: &str| crate::model::parse_date(s.as_bytes()).unwrap();
        let w = Window {
            lookback_days: 3,
            post_days: 90,
        };
        assert_eq!(
            w.around(d("2026-01-10"), d("2026-01-10")),
            (d("2026-01-07"), d("2026-04-09"))
        );
        assert_eq!(PeriodKind::Quarter.of(d("2026-07-01")), "2026Q3");
        assert_eq!(PeriodKind::Quarter.of(d("2026-06-30")), "2026Q2");
        assert_eq!(PeriodKind::Year.of(d("2027-02-22")), "2027");
        // Four digits always, as the price file writes periods.
        assert_eq!(PeriodKind::Year.of(d("0001-03-04")), "0001");
        assert_eq!(PeriodKind::Quarter.of(d("0999-12-31")), "0999Q4");
    }

    /// Contract 1.4: decimals written as numbers are read exactly, as the
    /// same digits written as a string are.
    #[test]
    fn numbers_are_read_from_their_literal_text() {
        let with = |line: &str| parse_text(&EXAMPLE.replace("discount = 0.03", line)).unwrap();
        // 19 significant digits: more than a float keeps.
        let digits = "123456789.0123456789";
        let stop_gain = |line: &str| {
            let text = EXAMPLE.replace("stop_gain = \"0.20\"", line);
            parse_text(&text)
                .unwrap()
                .pricing
                .stop_gain
                .map(|d| d.to_string())
        };
        assert_eq!(
            stop_gain(&format!("stop_gain = {digits}")).as_deref(),
            Some(digits)
        );
        assert_eq!(
            stop_gain(&format!("stop_gain = \"{digits}\"")).as_deref(),
            Some(digits)
        );
        let percentile = |line: &str| {
            parse_text(&EXAMPLE.replace("high_cost_percentile = 99", line))
                .unwrap()
                .pricing
                .high_cost_percentile
                .map(|d| d.to_string())
        };
        assert_eq!(
            percentile("high_cost_percentile = 9.9e1").as_deref(),
            Some("99.0")
        );
        assert_eq!(with("discount = 3e-2").pricing.discount.to_string(), "0.03");
        for (literal, exact) in [
            ("1_000.5", "1000.5"),
            ("+1.5E+3", "1500.0"),
            ("-2.5e-1", "-0.25"),
            ("0.0", "0.0"),
        ] {
            // Equal values, whatever scale an exponent leaves.
            assert_eq!(
                parse_toml_float(literal),
                Decimal::from_str(exact).ok(),
                "{literal}"
            );
        }
        for bad in ["inf", "nan", "-inf", "1e400", "1.5e-28"] {
            assert!(parse_toml_float(bad).is_none(), "{bad}");
        }
        // Mistakes show the value as written.
        let e = error(&EXAMPLE.replace("discount = 0.03", "discount = nan"));
        assert!(
            e.contains(
                "expected a decimal such as \"0.03\" (at most 28 significant digits), found nan"
            ),
            "{e}"
        );
        let e = error(&EXAMPLE.replace("discount = 0.03", "discount = 1.01"));
        assert!(e.contains("found 1.01"), "{e}");
        // Any number of places a decimal holds, exactly (contract 1.4);
        // more than it holds is refused, not rounded (trailing zeros do not
        // count).
        let places = with("discount = \"0.0300000000000000000000000001\"");
        assert_eq!(
            places.pricing.discount.to_string(),
            "0.0300000000000000000000000001"
        );
        let e = error(&EXAMPLE.replace(
            "discount = 0.03",
            "discount = \"0.03000000000000000000000000001\"",
        ));
        assert!(e.contains("at most 28 significant digits"), "{e}");
        assert_eq!(
            with("discount = \"0.030000000000000\"")
                .pricing
                .discount
                .normalize()
                .to_string(),
            "0.03"
        );
    }

    #[test]
    fn plain_decimals_only() {
        assert_eq!(
            parse_plain_decimal("30000.00").unwrap().to_string(),
            "30000.00"
        );
        assert_eq!(parse_plain_decimal("+1.5").unwrap().to_string(), "1.5");
        assert_eq!(parse_plain_decimal("-0.25").unwrap().to_string(), "-0.25");
        // As many digits as a decimal holds, kept as written.
        let long = "1234567890123.456789012345678";
        assert_eq!(parse_plain_decimal(long).unwrap().to_string(), long);
        // Zeros that only take room are dropped when that makes it fit.
        let padded = format!("-000000000000000000000000001.5{}", "0".repeat(40));
        assert_eq!(parse_plain_decimal(&padded).unwrap().to_string(), "-1.5");
        // More significant digits than it holds: none, never rounded.
        assert!(parse_plain_decimal("1.00000000000000000000000000001").is_none());
        for bad in ["1e3", "1,000", ".5", "5.", "", "-", "abc", "+-1"] {
            assert!(parse_plain_decimal(bad).is_none(), "{bad}");
        }
    }
}
