//! Synthetic claims of realistic shape, for benchmarks and scale tests.
//!
//! Real Medicare claims cannot be shipped, and the bundled sample is too
//! small to measure anything. This writes a claims file, the shipped
//! episode definitions and a target price file for any number of
//! beneficiaries: about 50 claim lines per beneficiary a year across every
//! claim type, replacements and voids, a rare bad row, and an episode for
//! about one beneficiary in ten with its post-acute care. Output depends
//! only on the beneficiary count and the seed.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use chrono::{Datelike, Days, NaiveDate};

use crate::input::compressed::Compression;
use crate::model::ClaimType;
use crate::model::money::Money;
use crate::tools::compress::Encoder;

/// The shipped definitions, written beside the generated claims so a
/// generated folder is a complete, realistic run.
const DEFINITIONS: [(&str, &str); 5] = [
    (
        "cabg.toml",
        include_str!("../../episode-definitions/cabg.toml"),
    ),
    (
        "lejr.toml",
        include_str!("../../episode-definitions/lejr.toml"),
    ),
    (
        "mbp.toml",
        include_str!("../../episode-definitions/mbp.toml"),
    ),
    ("sf.toml", include_str!("../../episode-definitions/sf.toml")),
    (
        "shfft.toml",
        include_str!("../../episode-definitions/shfft.toml"),
    ),
];

/// Anchor MS-DRGs of the shipped types, with their episode type.
const ANCHOR_DRGS: [&str; 24] = [
    "469", "470", "470", "470", "521", "522", "480", "481", "482", "231", "232", "233", "234",
    "235", "236", "329", "330", "331", "453", "454", "455", "459", "460", "472",
];

/// Price groups of the shipped types, with a regional target price each.
const PRICES: [(&str, &str, u32); 14] = [
    ("LEJR", "MCC", 42_000),
    ("LEJR", "NOMCC", 26_000),
    ("SHFFT", "MCC", 52_000),
    ("SHFFT", "CC", 40_000),
    ("SHFFT", "NOCC", 34_000),
    ("CABG", "MCC", 70_000),
    ("CABG", "NOMCC", 52_000),
    ("MBP", "MCC", 48_000),
    ("MBP", "CC", 36_000),
    ("MBP", "NOCC", 30_000),
    ("SF", "MCC", 60_000),
    ("SF", "CC", 44_000),
    ("SF", "NOCC", 38_000),
    ("SF", "NOMCC", 38_000),
];

/// Excluded codes that a realistic file now and then carries.
const EXCLUDED_READMISSION_DRG: &str = "871";
const BACKGROUND_HCPCS: [&str; 8] = [
    "99213", "99214", "99232", "97110", "93000", "71046", "80053", "J9035",
];

/// The claims CSV header the generator writes.
pub const HEADER: &str = "claim_id,line_number,beneficiary_id,claim_type,from_date,thru_date,allowed_amount,record_type,processed_date,admission_date,discharge_date,line_date,provider_id,npi,drg,principal_dx,hcpcs,revenue_code";

/// What was written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Generated {
    /// Claim lines (rows) written.
    pub rows: u64,
    /// Beneficiaries with an anchor claim.
    pub anchors: u64,
}

impl Generated {
    /// The line `generate` prints for `beneficiaries` written into `out`.
    pub fn paragraph(&self, beneficiaries: u64, out: &Path) -> String {
        format!(
            "Wrote {} claim lines and the monthly enrollment of {beneficiaries} beneficiaries ({} with an anchor) into {}.",
            self.rows,
            self.anchors,
            out.display()
        )
    }
}

/// The beneficiaries CSV header the generator writes: the contract's
/// columns and `hcc_count`, a risk factor of TEAM (42 CFR 512.545).
pub const BENEFICIARIES_HEADER: &str = "beneficiary_id,month,birth_date,death_date,part_a,part_b,managed_care,esrd,dual,hcc_count,social_risk";

/// The first month of enrollment written and how many: one performance
/// year, twelve months a beneficiary as an MBSF year holds them (and as
/// #11's benchmark asks). Every generated episode lies inside it: anchors
/// are admitted by [`LAST_ADMISSION`], so a stay and its 30-day window end
/// within the year; claims of other care may run past it, as real ones do.
const ENROLLMENT_MONTHS: (i32, u32, u32) = (2026, 1, 12);

/// The last day (from 2026-01-01) an anchor stay is admitted: a stay of up
/// to six days and the 30 days after its discharge end by late December.
const LAST_ADMISSION: u64 = 320;

/// The days (from 2026-01-01) other care falls on: the year.
const YEAR_DAYS: u64 = 364;

/// Risk factor multipliers for the generated data: illustrative values for
/// the factors of the shipped definitions (age band, HCC count, social
/// risk), not CMS's.
const RISK_FACTORS: &str = "episode_type,factor,level,multiplier
*,age,<65,0.95
*,age,65-74,1.00
*,age,75-84,1.08
*,age,85+,1.15
*,hcc_count,<1,0.92
*,hcc_count,1,1.00
*,hcc_count,2,1.06
*,hcc_count,3,1.12
*,hcc_count,4+,1.25
*,social_risk,N,1.00
*,social_risk,Y,1.10
";

/// Writes `out/claims/claims.csv`, `out/beneficiaries/beneficiaries.csv`,
/// `out/definitions/*.toml` (the shipped TEAM types),
/// `out/definitions-claims-only/*.toml` (the same without `[eligibility]`
/// and `[risk]`), `out/target_prices.csv` and `out/risk_factors.csv` for
/// `beneficiaries` beneficiaries.
pub fn generate(beneficiaries: u64, seed: u64, out: &Path) -> io::Result<Generated> {
    generate_compressed(beneficiaries, seed, None, out)
}

/// [`generate`], with the claims and beneficiaries files written
/// compressed with `compression` on every core (`claims.csv.zst`,
/// `beneficiaries.csv.gz`): the same text.
pub fn generate_compressed(
    beneficiaries: u64,
    seed: u64,
    compression: Option<Compression>,
    out: &Path,
) -> io::Result<Generated> {
    fs::create_dir_all(out.join("claims"))?;
    fs::create_dir_all(out.join("definitions"))?;
    fs::create_dir_all(out.join("definitions-claims-only"))?;
    for (name, text) in DEFINITIONS {
        fs::write(out.join("definitions").join(name), text)?;
        fs::write(
            out.join("definitions-claims-only").join(name),
            without_tables(text, &["eligibility", "risk"]),
        )?;
    }
    let mut prices = String::from("episode_type,provider_id,price_group,period,target_price\n");
    for year in [2026, 2027] {
        for (episode_type, group, price) in PRICES {
            prices.push_str(&format!("{episode_type},*,{group},{year},{price}.00\n"));
        }
        // A few hospitals with prices of their own.
        for hospital in 0..5 {
            prices.push_str(&format!(
                "LEJR,{},NOMCC,{year},{}.00\n",
                hospital_id(hospital),
                24_000 + 500 * hospital
            ));
        }
    }
    fs::write(out.join("target_prices.csv"), prices)?;

    let mut writer = ClaimWriter {
        out: create(&out.join("claims"), "claims.csv", compression)?,
        generated: Generated::default(),
    };
    writeln!(writer.out, "{HEADER}")?;
    for beneficiary in 0..beneficiaries {
        let mut rng = Rng::new(seed ^ beneficiary.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        Beneficiary {
            id: format!("B{beneficiary:09}"),
            claims: 0,
        }
        .write(&mut rng, &mut writer)?;
    }
    writer.out.finish()?.flush()?;
    fs::write(out.join("risk_factors.csv"), RISK_FACTORS)?;
    write_beneficiaries(beneficiaries, seed, compression, &out.join("beneficiaries"))?;
    Ok(writer.generated)
}

/// A text file `name` created in `folder`, written through an [`Encoder`]
/// (its name takes the compression's extension).
fn create(
    folder: &Path,
    name: &str,
    compression: Option<Compression>,
) -> io::Result<Encoder<BufWriter<fs::File>>> {
    let name = match compression {
        Some(compression) => format!("{name}.{}", compression.extension()),
        None => name.to_owned(),
    };
    let file = fs::File::create(folder.join(name))?;
    Ok(Encoder::new(
        BufWriter::with_capacity(1 << 20, file),
        compression,
    ))
}

/// A definition's text without the named tables: the generated
/// `definitions-claims-only/` folder builds and prices episodes from the
/// claims alone, for benchmarks that compare with and without enrollment
/// and with an analyst's SQL that knows no enrollment.
fn without_tables(text: &str, tables: &[&str]) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut skipping = false;
    for line in text.lines() {
        if let Some(header) = line
            .trim()
            .strip_prefix('[')
            .and_then(|l| l.strip_suffix(']'))
        {
            skipping = tables.contains(&header.trim());
        }
        if !skipping {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

/// Writes one enrollment row per beneficiary and month: almost everyone
/// is enrolled in Parts A and B throughout, as in fee-for-service
/// Medicare; a small share has a gap, Medicare Advantage months, ESRD or a
/// death, so that every eligibility check is exercised.
fn write_beneficiaries(
    beneficiaries: u64,
    seed: u64,
    compression: Option<Compression>,
    folder: &Path,
) -> io::Result<()> {
    fs::create_dir_all(folder)?;
    let mut out = create(folder, "beneficiaries.csv", compression)?;
    writeln!(out, "{BENEFICIARIES_HEADER}")?;
    let (first_year, first_month, months) = ENROLLMENT_MONTHS;
    for beneficiary in 0..beneficiaries {
        // A stream of its own, so the claims do not change with this file.
        let mut rng = Rng::new(!seed ^ beneficiary.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let birth = NaiveDate::from_ymd_opt(
            1930 + rng.range(0, 35) as i32,
            1 + rng.range(0, 11) as u32,
            1 + rng.range(0, 27) as u32,
        )
        .unwrap_or(NaiveDate::MIN);
        let dual = if rng.chance(150) { "Y" } else { "N" };
        let hcc = rng.range(0, 5);
        let esrd = rng.chance(5);
        let gap = rng.chance(10).then(|| rng.range(0, u64::from(months) - 1));
        let managed = rng
            .chance(20)
            .then(|| rng.range(0, u64::from(months) - 1))
            .map(|start| start..start + rng.range(1, 6));
        let death_month = rng.chance(10).then(|| rng.range(2, u64::from(months) - 1));
        let death = death_month.map(|m| {
            let (year, month) = month_at(first_year, first_month, m);
            NaiveDate::from_ymd_opt(year, month, 1 + rng.range(0, 27) as u32)
                .unwrap_or(NaiveDate::MIN)
        });
        let death_text = death.map(|d| d.to_string()).unwrap_or_default();
        for m in 0..u64::from(months) {
            if gap == Some(m) || death_month.is_some_and(|d| m > d) {
                continue;
            }
            let (year, month) = month_at(first_year, first_month, m);
            let managed_care = if managed.as_ref().is_some_and(|r| r.contains(&m)) {
                "Y"
            } else {
                "N"
            };
            writeln!(
                out,
                "B{beneficiary:09},{year:04}-{month:02},{birth},{death_text},Y,Y,{managed_care},{},{dual},{hcc},{dual}",
                if esrd { "Y" } else { "N" },
            )?;
        }
    }
    out.finish()?.flush()
}

/// The year and month `offset` months after `year`-`month`.
fn month_at(year: i32, month: u32, offset: u64) -> (i32, u32) {
    let index = i64::from(year) * 12 + i64::from(month) - 1 + offset as i64;
    // Small offsets of a year in range: neither conversion can fail.
    (
        i32::try_from(index.div_euclid(12)).unwrap_or(year),
        u32::try_from(index.rem_euclid(12) + 1).unwrap_or(month),
    )
}

/// A small, fast, seedable generator (SplitMix64): the benchmark data must
/// not depend on a crate's algorithm changing between versions.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    /// True with probability `per_mille / 1000`.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    /// An amount in whole dollars `low..=high` with random cents.
    fn money(&mut self, low: u64, high: u64) -> Money {
        Money::from_cents(i128::from(self.range(low * 100, high * 100)))
    }
}

fn hospital_id(n: u64) -> String {
    format!("33{:04}", n % 400)
}

fn day(offset: u64) -> NaiveDate {
    // Days of the performance year (see ENROLLMENT_MONTHS); follow-up
    // care may run into the next.
    NaiveDate::from_ymd_opt(2026, 1, 1).map_or(NaiveDate::MIN, |d| d + Days::new(offset))
}

/// One claim to write: its claim-level fields and lines.
struct ClaimSpec<'a> {
    claim_type: ClaimType,
    from: NaiveDate,
    thru: NaiveDate,
    provider: &'a str,
    drg: &'a str,
    lines: &'a [(Money, NaiveDate, &'a str)],
}

impl<'a> ClaimSpec<'a> {
    /// A claim without a DRG over `from..=thru`.
    fn new(
        claim_type: ClaimType,
        (from, thru): (NaiveDate, NaiveDate),
        provider: &'a str,
        lines: &'a [(Money, NaiveDate, &'a str)],
    ) -> Self {
        ClaimSpec {
            claim_type,
            from,
            thru,
            provider,
            drg: "",
            lines,
        }
    }

    /// The same claim grouped to an MS-DRG.
    fn with_drg(self, drg: &'a str) -> Self {
        ClaimSpec { drg, ..self }
    }
}

/// One version of a claim: its record type, when it was processed, its
/// amounts as a percentage of the original's, and whether its first row is
/// deliberately bad.
struct Version {
    record_type: &'static str,
    processed: NaiveDate,
    scale_percent: i64,
    bad_row: bool,
}

struct ClaimWriter<W: Write> {
    out: W,
    generated: Generated,
}

impl<W: Write> ClaimWriter<W> {
    /// Writes one version of a claim.
    fn version(
        &mut self,
        beneficiary: &str,
        claim_id: &str,
        claim: &ClaimSpec,
        version: Version,
    ) -> io::Result<()> {
        let Version {
            record_type,
            processed,
            scale_percent,
            bad_row,
        } = version;
        for (index, (amount, line_date, hcpcs)) in claim.lines.iter().enumerate() {
            let amount = amount.scaled(scale_percent, 100);
            let amount_text = if bad_row && index == 0 {
                "\"12,50\"".to_owned()
            } else {
                amount.to_string()
            };
            let (admission, discharge) = if claim.claim_type == ClaimType::Ip {
                (claim.from.to_string(), claim.thru.to_string())
            } else {
                (String::new(), String::new())
            };
            writeln!(
                self.out,
                "{claim_id},{},{beneficiary},{},{},{},{amount_text},{record_type},{processed},{admission},{discharge},{line_date},{},{},{},,{hcpcs},",
                index + 1,
                claim.claim_type,
                claim.from,
                claim.thru,
                claim.provider,
                1_000_000_000 + (processed.ordinal() as u64) * 1000 + index as u64,
                claim.drg,
            )?;
            self.generated.rows += 1;
        }
        Ok(())
    }
}

struct Beneficiary {
    id: String,
    claims: u32,
}

impl Beneficiary {
    fn write<W: Write>(&mut self, rng: &mut Rng, out: &mut ClaimWriter<W>) -> io::Result<()> {
        let home_hospital = hospital_id(rng.range(0, 399));
        let physician = format!("{}", rng.range(100_000_000, 999_999_999));
        if rng.chance(100) {
            out.generated.anchors += 1;
            self.episode(rng, out, &home_hospital, &physician)?;
        }
        // Background care: office visits, labs, outpatient visits, supplies.
        for _ in 0..rng.range(13, 23) {
            let date = day(rng.range(0, YEAR_DAYS));
            let count = rng.range(1, 4) as usize;
            let lines: Vec<(Money, NaiveDate, &str)> = (0..count)
                .map(|_| (rng.money(20, 400), date, *rng.pick(&BACKGROUND_HCPCS)))
                .collect();
            self.claim(
                rng,
                out,
                ClaimSpec::new(ClaimType::Pb, (date, date), &physician, &lines),
            )?;
        }
        for _ in 0..rng.range(0, 3) {
            let date = day(rng.range(0, YEAR_DAYS));
            let lines = [
                (rng.money(100, 3000), date, "71046"),
                (rng.money(50, 600), date, "80053"),
            ];
            self.claim(
                rng,
                out,
                ClaimSpec::new(ClaimType::Op, (date, date), &home_hospital, &lines),
            )?;
        }
        if rng.chance(300) {
            let date = day(rng.range(0, YEAR_DAYS));
            let lines = [(rng.money(40, 900), date, "E0143")];
            self.claim(
                rng,
                out,
                ClaimSpec::new(ClaimType::Dme, (date, date), "DME0042", &lines),
            )?;
        }
        Ok(())
    }

    /// An anchor stay or procedure and the care that follows it.
    fn episode<W: Write>(
        &mut self,
        rng: &mut Rng,
        out: &mut ClaimWriter<W>,
        hospital: &str,
        physician: &str,
    ) -> io::Result<()> {
        let admission = day(rng.range(0, LAST_ADMISSION));
        let discharge = admission + Days::new(rng.range(1, 6));
        if rng.chance(150) {
            // An outpatient knee or hip replacement.
            let code = if rng.chance(500) { "27447" } else { "27130" };
            let lines = [
                (rng.money(9_000, 16_000), admission, code),
                (rng.money(200, 900), admission, "36415"),
            ];
            self.claim(
                rng,
                out,
                ClaimSpec::new(ClaimType::Op, (admission, admission), hospital, &lines),
            )?;
        } else {
            let drg = *rng.pick(&ANCHOR_DRGS);
            let lines = [
                (rng.money(9_000, 38_000), admission, ""),
                (rng.money(300, 3_000), admission, ""),
            ];
            self.claim(
                rng,
                out,
                ClaimSpec::new(ClaimType::Ip, (admission, discharge), hospital, &lines)
                    .with_drg(drg),
            )?;
        }
        let surgeon = [(rng.money(1_200, 3_500), admission, "27447")];
        self.claim(
            rng,
            out,
            ClaimSpec::new(ClaimType::Pb, (admission, admission), physician, &surgeon),
        )?;
        let mut cursor = discharge;
        if rng.chance(450) {
            let days = rng.range(5, 35);
            let thru = cursor + Days::new(days);
            let lines = [(rng.money(250 * days, 550 * days), cursor, "")];
            let snf = format!("33{:04}", 5000 + rng.range(0, 300));
            self.claim(
                rng,
                out,
                ClaimSpec::new(ClaimType::Snf, (cursor, thru), &snf, &lines),
            )?;
            cursor = thru;
        }
        if rng.chance(400) {
            let thru = cursor + Days::new(29);
            let lines = [(rng.money(1_800, 3_800), cursor, "G0151")];
            let hha = format!("33{:04}", 7000 + rng.range(0, 300));
            self.claim(
                rng,
                out,
                ClaimSpec::new(ClaimType::Hha, (cursor, thru), &hha, &lines),
            )?;
        }
        if rng.chance(30) {
            let thru = cursor + Days::new(rng.range(10, 60));
            let lines = [(rng.money(3_000, 9_000), cursor, "")];
            self.claim(
                rng,
                out,
                ClaimSpec::new(ClaimType::Hos, (cursor, thru), "331501", &lines),
            )?;
        }
        for _ in 0..rng.range(2, 6) {
            let date = discharge + Days::new(rng.range(3, 100));
            let lines = [(rng.money(60, 300), date, "99213")];
            self.claim(
                rng,
                out,
                ClaimSpec::new(ClaimType::Pb, (date, date), physician, &lines),
            )?;
        }
        if rng.chance(400) {
            let date = discharge + Days::new(rng.range(1, 20));
            let lines = [(rng.money(80, 1_200), date, "E0143")];
            self.claim(
                rng,
                out,
                ClaimSpec::new(ClaimType::Dme, (date, date), "DME0042", &lines),
            )?;
        }
        if rng.chance(80) {
            let readmit = discharge + Days::new(rng.range(2, 40));
            let drg = if rng.chance(500) {
                EXCLUDED_READMISSION_DRG
            } else {
                "392"
            };
            let lines = [(rng.money(6_000, 20_000), readmit, "")];
            let thru = readmit + Days::new(rng.range(1, 5));
            self.claim(
                rng,
                out,
                ClaimSpec::new(ClaimType::Ip, (readmit, thru), hospital, &lines).with_drg(drg),
            )?;
        }
        Ok(())
    }

    /// Writes a claim's original and, now and then, a replacement or void.
    fn claim<W: Write>(
        &mut self,
        rng: &mut Rng,
        out: &mut ClaimWriter<W>,
        claim: ClaimSpec,
    ) -> io::Result<()> {
        self.claims += 1;
        let claim_id = format!("C{}{:04}", &self.id[1..], self.claims);
        let processed = claim.thru + Days::new(rng.range(3, 40));
        let bad_row = rng.chance(1) && rng.chance(100);
        let original = Version {
            record_type: "O",
            processed,
            scale_percent: 100,
            bad_row,
        };
        out.version(&self.id, &claim_id, &claim, original)?;
        if rng.chance(30) {
            let processed = processed + Days::new(rng.range(10, 90));
            let scale_percent = rng.range(85, 110) as i64;
            let replacement = Version {
                record_type: "R",
                processed,
                scale_percent,
                bad_row: false,
            };
            out.version(&self.id, &claim_id, &claim, replacement)?;
        } else if rng.chance(5) {
            let processed = processed + Days::new(rng.range(5, 60));
            let void = Version {
                record_type: "V",
                processed,
                scale_percent: 100,
                bad_row: false,
            };
            out.version(&self.id, &claim_id, &claim, void)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn claims_only_definitions_drop_exactly_the_enrollment_tables() {
        let text = "id = \"X\"\n[trigger]\ndrg = [\"1\"]\n[eligibility]\nrequire = []\n[risk]\nfactors = [\"age\"]\nbands = { age = [65] }\n[pricing]\nperiod = \"year\"\n";
        assert_eq!(
            super::without_tables(text, &["eligibility", "risk"]),
            "id = \"X\"\n[trigger]\ndrg = [\"1\"]\n[pricing]\nperiod = \"year\"\n"
        );
    }

    #[test]
    fn the_shipped_definitions_load_without_their_enrollment_tables() {
        for (name, text) in super::DEFINITIONS {
            let plain = super::without_tables(text, &["eligibility", "risk"]);
            let definition = crate::config::definitions::parse(&plain, std::path::Path::new(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(definition.eligibility.is_none() && definition.risk.is_none());
        }
    }
}
