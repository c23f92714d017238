//! Beneficiaries (contract 1.5) in the formats CMS delivers enrollment in,
//! chosen with `--beneficiaries-format`.
//!
//! Each reader here only *maps*: one source row becomes a
//! [`SourceRow`] holding the canonical months it stands for (beneficiary,
//! month, dates, the five flags), and [`Shape::check`] in
//! [`crate::input::beneficiaries`] runs the contract's row checks on it, as it
//! does on a canonical row. The per-beneficiary checks (`duplicate_month`,
//! `inconsistent_beneficiary`) and the accounting then see months from any
//! format alike, so a month given by two files of different formats is
//! still a repeated month. A source value the mapping cannot read (an
//! unknown code, an unreadable year or date) is [`Field::Unreadable`], so
//! the check of that field rejects the whole source row with the
//! contract's reason; nothing is guessed.
//!
//! - [`BeneficiariesFormat::Rif`]: the Master Beneficiary Summary File
//!   (MBSF) base segment as the CCW / BFD RIF files hold it, pipe-delimited,
//!   one row per beneficiary and reference year with monthly indicators.
//! - [`BeneficiariesFormat::Synpuf`]: the DE-SynPUF beneficiary summary,
//!   one row per beneficiary and year with yearly month *counts*: a flag
//!   is set only when its count says every month (12) or none (0).
//! - [`BeneficiariesFormat::Cclf`]: CCLF8 (beneficiary demographics) is
//!   recognized but refused: it holds each beneficiary's status as of the
//!   file's production, with no month, so its months cannot be placed.
//!
//! The field-by-field mappings, with their CMS sources, are in
//! `docs/INPUT-FORMATS.md` ("Beneficiaries").

use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::input::beneficiaries::Month;
use crate::input::beneficiaries::{
    Columns, Error, Field, KNOWN, MappedMonth, MonthFlags, RowMonths, Shape, SourceOutcome,
    SourceRow, flag_field,
};
use crate::input::compressed;
use crate::input::formats::PARQUET_MAGIC;
use crate::input::records::{self, Record, RecordReader};
use crate::model::outcome::RejectReason;
use crate::model::{self, Date};

use super::rif::{self, Splitter};
use crate::input::records::Lines;

/// Bytes per chunk when an MBSF file is read.
const CHUNK_BYTES: usize = 1 << 20;

/// The beneficiaries formats the engine reads, chosen with
/// `--beneficiaries-format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BeneficiariesFormat {
    /// The contract's CSV, one row per beneficiary and month.
    #[default]
    Canonical,
    /// MBSF base segment (RIF/CCW), pipe-delimited, one row per
    /// beneficiary and reference year.
    Rif,
    /// CCLF8 beneficiary demographics: recognized, and refused (no month).
    Cclf,
    /// DE-SynPUF beneficiary summary, one row per beneficiary and year.
    Synpuf,
    /// Parquet files with the canonical columns (read with the `parquet`
    /// feature).
    Parquet,
    /// Detect each file's format from its header (a Parquet file from its
    /// first bytes).
    Auto,
}

impl BeneficiariesFormat {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BeneficiariesFormat::Canonical => "canonical",
            BeneficiariesFormat::Rif => "rif",
            BeneficiariesFormat::Cclf => "cclf",
            BeneficiariesFormat::Synpuf => "synpuf",
            BeneficiariesFormat::Parquet => "parquet",
            BeneficiariesFormat::Auto => "auto",
        }
    }

    /// Reads a format name as given on the command line.
    pub fn parse(name: &str) -> Option<BeneficiariesFormat> {
        [
            BeneficiariesFormat::Canonical,
            BeneficiariesFormat::Rif,
            BeneficiariesFormat::Cclf,
            BeneficiariesFormat::Synpuf,
            BeneficiariesFormat::Parquet,
            BeneficiariesFormat::Auto,
        ]
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// The files that `paths` stand for, in order: a folder is its files
    /// of this format in name order (`*.csv`, plain or compressed; `*.parquet`
    /// for Parquet, both for `auto`), as for claims (so that the file
    /// order, and with it every "first", does not depend on the file
    /// system). A folder with no such file is an error rather than
    /// silently no enrollment.
    pub fn expand(self, paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
        let extensions: &[&str] = match self {
            BeneficiariesFormat::Parquet => &["parquet"],
            BeneficiariesFormat::Auto => &["csv", "parquet"],
            _ => &["csv"],
        };
        Ok(crate::input::folders::expand(paths, extensions)?)
    }

    /// The format of one file: this one, or for
    /// [`BeneficiariesFormat::Auto`] the one its first non-empty line names
    /// (canonical when none matches, so that its reader says what is
    /// missing), or Parquet by its first bytes. Only the start is read,
    /// from a file of its own: the reader opens the file again. A Parquet
    /// file given as the canonical CSV is an error with a hint.
    pub fn of_file(self, path: &Path) -> Result<BeneficiariesFormat, Error> {
        if !matches!(
            self,
            BeneficiariesFormat::Auto | BeneficiariesFormat::Canonical
        ) {
            return Ok(self);
        }
        let io_error = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let mut reader = BufReader::new(compressed::open(path).map_err(io_error)?);
        if reader
            .fill_buf()
            .map_err(io_error)?
            .starts_with(PARQUET_MAGIC)
        {
            return match self {
                BeneficiariesFormat::Auto => Ok(BeneficiariesFormat::Parquet),
                _ => Err(Error::Header {
                    path: path.to_owned(),
                    row: 1,
                    problem: "this is a Parquet file (it starts with PAR1); expected the canonical CSV: give --beneficiaries-format parquet (or auto)".into(),
                }),
            };
        }
        if self == BeneficiariesFormat::Canonical {
            return Ok(self);
        }
        let mut bytes = Vec::new();
        while bytes.trim_ascii().is_empty() {
            bytes.clear();
            if reader.read_until(b'\n', &mut bytes).map_err(io_error)? == 0 {
                break;
            }
        }
        Ok(detect(&bytes))
    }
}

impl fmt::Display for BeneficiariesFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The format a header line names: canonical for `beneficiary_id` and
/// `month`; MBSF for a pipe-delimited `BENE_ID` with a reference year
/// (`RFRNC_YR` or `BENE_ENROLLMT_REF_YR`); DE-SynPUF for `DESYNPUF_ID` and
/// `BENE_BIRTH_DT`; CCLF8 for `BENE_DOB` with `BENE_MBI_ID` or
/// `BENE_HIC_NUM`, or a fixed-width CCLF8 record
/// ([`looks_like_fixed_width_cclf8`]); else canonical.
fn detect(first_line: &[u8]) -> BeneficiariesFormat {
    let line = first_line
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(first_line);
    let line = line.trim_ascii_end();
    let text = String::from_utf8_lossy(line);
    let pipe = text.contains('|');
    let names: Vec<&str> = text
        .split(if pipe { '|' } else { ',' })
        .map(|n| n.trim().trim_matches('"').trim())
        .collect();
    let has = |name: &str| names.iter().any(|n| n.eq_ignore_ascii_case(name));
    if names.contains(&"beneficiary_id") && names.contains(&"month") {
        BeneficiariesFormat::Canonical
    } else if pipe && has("BENE_ID") && (has("RFRNC_YR") || has("BENE_ENROLLMT_REF_YR")) {
        BeneficiariesFormat::Rif
    } else if has("DESYNPUF_ID") && has("BENE_BIRTH_DT") {
        BeneficiariesFormat::Synpuf
    } else if ((has("BENE_MBI_ID") || has("BENE_HIC_NUM")) && has("BENE_DOB"))
        || looks_like_fixed_width_cclf8(first_line)
    {
        BeneficiariesFormat::Cclf
    } else {
        BeneficiariesFormat::Canonical
    }
}

/// The CCLF8 fixed-width record length (CCLF Information Packet v36:
/// `GEO_ZIP4_CD` ends at position 549).
const CCLF8_RECORD_LENGTH: usize = 549;

/// Whether a file's first line (its line end and a BOM ignored, its
/// trailing blanks kept) is a fixed-width CCLF8 record: 549 bytes, no `|`,
/// and `BENE_DOB` (positions 33-42) written `YYYY-MM-DD`. Blanks at its end
/// (an empty `GEO_ZIP4_CD`) and commas (in the names and mailing address
/// lines) are part of a real record, so neither rules it out.
pub(crate) fn looks_like_fixed_width_cclf8(first_line: &[u8]) -> bool {
    let line = first_line
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(first_line);
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let dob_shaped = |dob: &[u8]| {
        dob.iter().enumerate().all(|(i, &b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
    };
    line.len() == CCLF8_RECORD_LENGTH && !line.contains(&b'|') && dob_shaped(&line[32..42])
}

/// Reads one file of a non-canonical `format`, handing each data row's
/// outcome to `sink` in file order; returns the column names the file
/// offers (its own header names and the canonical names it maps onto), so
/// the run can check that the columns the definitions name exist.
pub(crate) fn read_file(
    format: BeneficiariesFormat,
    path: &Path,
    columns: &Columns,
    sink: &mut dyn FnMut(SourceOutcome),
) -> Result<Vec<String>, Error> {
    match format {
        BeneficiariesFormat::Rif => read_mbsf(path, columns, sink),
        BeneficiariesFormat::Synpuf => read_synpuf(path, columns, sink),
        BeneficiariesFormat::Cclf => Err(Error::Header {
            path: path.to_owned(),
            row: 1,
            problem: "a CCLF8 beneficiary demographics file holds each beneficiary's status as of \
                      the file's production and no month or reference year, so its enrollment \
                      cannot be placed in months without guessing; expected monthly enrollment: \
                      the canonical CSV, an MBSF base segment (--beneficiaries-format rif) or a \
                      DE-SynPUF beneficiary summary (synpuf)"
                .into(),
        }),
        // Read by the canonical and Parquet readers; not reached.
        BeneficiariesFormat::Canonical
        | BeneficiariesFormat::Parquet
        | BeneficiariesFormat::Auto => Ok(Vec::new()),
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

fn header_error(path: &Path, row: u64, problem: String) -> Error {
    Error::Header {
        path: path.to_owned(),
        row,
        problem,
    }
}

/// The position of the one header name among `aliases` (compared without
/// case), `None` when the header has none; a header naming it twice, or
/// two of its aliases, is an error naming them.
fn find_one(
    names: &[&str],
    aliases: &[String],
    path: &Path,
    row: u64,
) -> Result<Option<usize>, Error> {
    let mut hits = names
        .iter()
        .enumerate()
        .filter(|(_, n)| aliases.iter().any(|a| n.eq_ignore_ascii_case(a)));
    let first = hits.next();
    match (first, hits.next()) {
        (Some((_, a)), Some((_, b))) => Err(header_error(
            path,
            row,
            format!("columns `{a}` and `{b}` name the same field; expected it once"),
        )),
        (first, _) => Ok(first.map(|(i, _)| i)),
    }
}

/// Month abbreviations as the BFD RIF column names write them.
const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEPT", "OCT", "NOV", "DEC",
];

/// The monthly MBSF fields and their column names: the BFD RIF name first,
/// then the CCW/ResDAC one (month `m` is 1 to 12).
#[derive(Clone, Copy, Debug)]
enum Monthly {
    BuyIn,
    Hmo,
    Status,
    Dual,
}

impl Monthly {
    fn aliases(self, m: usize) -> Vec<String> {
        let mon = MONTH_NAMES[m - 1];
        match self {
            Monthly::BuyIn => vec![
                format!("MDCR_ENTLMT_BUYIN_{m}_IND"),
                format!("MDCR_ENTLMT_BUYIN_IND_{m:02}"),
            ],
            Monthly::Hmo => vec![format!("HMO_{m}_IND"), format!("HMO_IND_{m:02}")],
            Monthly::Status => vec![
                format!("MDCR_STUS_{mon}_CD"),
                format!("MDCR_STATUS_CODE_{m:02}"),
            ],
            Monthly::Dual => vec![
                format!("META_DUAL_ELGBL_STUS_{mon}_CD"),
                format!("DUAL_STUS_CD_{m:02}"),
            ],
        }
    }
}

/// Part A and Part B of a monthly entitlement / buy-in code: 0 not
/// entitled; 1 Part A only; 2 Part B only; 3 both; A, B, C the same with
/// state buy-in (ResDAC / CCW `MDCR_ENTLMT_BUYIN_IND_01`-`12`).
fn buy_in(code: &str) -> Option<(bool, bool)> {
    Some(match code {
        "0" => (false, false),
        "1" | "A" => (true, false),
        "2" | "B" => (false, true),
        "3" | "C" => (true, true),
        _ => return None,
    })
}

/// Managed care of a monthly HMO indicator: 0 not a member of an HMO, 4
/// a fee-for-service participant in a case or disease management
/// demonstration: `N`; 1, 2 (non-lock-in) and A, B, C (lock-in) members
/// of an HMO / MA plan: `Y` (ResDAC / CCW `HMO_IND_01`-`12`).
fn managed_care(code: &str) -> Field<bool> {
    match code {
        "" => Field::Absent,
        "0" | "4" => Field::Value(false),
        "1" | "2" | "A" | "B" | "C" => Field::Value(true),
        _ => Field::Unreadable,
    }
}

/// ESRD of a monthly Medicare status code: 11 aged with ESRD, 21 disabled
/// with ESRD, 31 ESRD only: `Y`; 10, 20 (without ESRD) and 40 (Part B
/// immunosuppressive drug benefit only): `N`; 00 (not enrolled in Medicare
/// A or B that month) says nothing of ESRD: absent (ResDAC monthly
/// Medicare Status Code; CCW `MS_CD`).
fn esrd(code: &str) -> Field<bool> {
    match code {
        "" | "00" => Field::Absent,
        "10" | "20" | "40" => Field::Value(false),
        "11" | "21" | "31" => Field::Value(true),
        _ => Field::Unreadable,
    }
}

/// Dual status of a monthly Medicare-Medicaid dual eligibility code: 01 to
/// 06 and 08 (QMB, SLMB, QDWI, QI and other full duals): `Y`; NA
/// (non-Medicaid), 00 (not enrolled in Medicare that month) and 09 (other
/// dual eligibles without Medicaid coverage): `N`; 99 (unknown): absent;
/// anything else (07 is not a code) unreadable. A single digit is read
/// zero-padded (`4` is `04`), as the BFD synthetic files write the codes
/// (ResDAC monthly dual eligibility code; "Medicare only months" counts
/// codes not in 01-06, 08).
fn dual(code: &str) -> Field<bool> {
    let padded;
    let code = if code.len() == 1 && code.as_bytes()[0].is_ascii_digit() {
        padded = format!("0{code}");
        padded.as_str()
    } else {
        code
    };
    match code {
        "" | "99" => Field::Absent,
        "NA" | "00" | "09" => Field::Value(false),
        "01" | "02" | "03" | "04" | "05" | "06" | "08" => Field::Value(true),
        _ => Field::Unreadable,
    }
}

/// A reference year: four digits.
fn year(text: &str) -> Field<i32> {
    match text {
        "" => Field::Absent,
        t if t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()) => {
            t.parse().map_or(Field::Unreadable, Field::Value)
        }
        _ => Field::Unreadable,
    }
}

/// A date field read with `parse`: absent when empty.
fn date(text: &str, parse: fn(&[u8]) -> Option<Date>) -> Field<Date> {
    match text {
        "" => Field::Absent,
        t => parse(t.as_bytes()).map_or(Field::Unreadable, Field::Value),
    }
}

/// The period field and months of a year `year`: `months` maps the
/// 1-based month to its flags, `None` for a month the row says nothing of.
fn year_months(
    year: Field<i32>,
    mut months: impl FnMut(usize) -> Option<MonthFlags>,
) -> (Field<()>, RowMonths) {
    match year {
        Field::Absent => (Field::Absent, RowMonths::new()),
        Field::Unreadable => (Field::Unreadable, RowMonths::new()),
        Field::Value(year) => {
            let mapped = (1..=12u32)
                .filter_map(|m| {
                    let flags = months(m as usize)?;
                    Some(MappedMonth {
                        month: Month { year, month: m },
                        flags,
                    })
                })
                .collect();
            (Field::Value(()), mapped)
        }
    }
}

/// Where an MBSF file's columns are, resolved from its header once.
#[derive(Debug)]
struct MbsfHeader {
    width: usize,
    bene_id: usize,
    year: usize,
    birth: Option<usize>,
    death: Option<usize>,
    buy_in: [usize; 12],
    hmo: [Option<usize>; 12],
    status: [Option<usize>; 12],
    dual: [Option<usize>; 12],
    has_hmo: bool,
    has_status: bool,
    has_dual: bool,
    extra_flag_columns: Vec<usize>,
    text_columns: Vec<usize>,
    shape: Shape,
}

impl MbsfHeader {
    fn resolve(
        row: &rif::Row,
        line: u64,
        path: &Path,
        columns: &Columns,
        seen: &mut Vec<String>,
    ) -> Result<MbsfHeader, Error> {
        if !row.is_utf8() {
            return Err(header_error(
                path,
                line,
                "the header row is not UTF-8".into(),
            ));
        }
        let width = row.width();
        let names: Vec<&str> = (0..width).map(|i| row.text(i)).collect();
        let one = |aliases: &[&str]| {
            let aliases: Vec<String> = aliases.iter().map(|a| (*a).to_owned()).collect();
            find_one(&names, &aliases, path, line)
        };
        let missing = |column: &str| {
            header_error(
                path,
                line,
                format!(
                    "missing required column `{column}` (an MBSF base segment must name BENE_ID, \
                     RFRNC_YR or BENE_ENROLLMT_REF_YR, and MDCR_ENTLMT_BUYIN_1_IND to _12_IND \
                     or MDCR_ENTLMT_BUYIN_IND_01 to _12)"
                ),
            )
        };
        let bene_id = one(&["BENE_ID"])?.ok_or_else(|| missing("BENE_ID"))?;
        let year =
            one(&["RFRNC_YR", "BENE_ENROLLMT_REF_YR"])?.ok_or_else(|| missing("RFRNC_YR"))?;
        let birth = one(&["BENE_BIRTH_DT"])?;
        let death = one(&["DEATH_DT", "BENE_DEATH_DT"])?;
        let monthly = |field: Monthly| -> Result<[Option<usize>; 12], Error> {
            let mut out = [None; 12];
            for (m, slot) in out.iter_mut().enumerate() {
                *slot = find_one(&names, &field.aliases(m + 1), path, line)?;
            }
            Ok(out)
        };
        let buy_in_found = monthly(Monthly::BuyIn)?;
        let mut buy_in = [0; 12];
        for (m, (slot, found)) in buy_in.iter_mut().zip(buy_in_found).enumerate() {
            *slot = found.ok_or_else(|| missing(&Monthly::BuyIn.aliases(m + 1)[0]))?;
        }
        let hmo = monthly(Monthly::Hmo)?;
        let status = monthly(Monthly::Status)?;
        let dual = monthly(Monthly::Dual)?;
        let (has_hmo, has_status, has_dual) = (
            hmo.iter().any(Option::is_some),
            status.iter().any(Option::is_some),
            dual.iter().any(Option::is_some),
        );
        let mut standard = vec!["part_a", "part_b"];
        for (has, name) in [
            (has_hmo, "managed_care"),
            (has_status, "esrd"),
            (has_dual, "dual"),
        ] {
            if has {
                standard.push(name);
            }
        }
        let plan = Shape::plan(&standard, &names, columns).map_err(|name| {
            header_error(
                path,
                line,
                format!("column `{name}` is named twice in the header; expected each column once"),
            )
        })?;
        seen.extend(names.iter().map(|n| (*n).to_owned()));
        seen.extend(["beneficiary_id", "month"].map(String::from));
        if birth.is_some() {
            seen.push(KNOWN[2].to_owned());
        }
        if death.is_some() {
            seen.push(KNOWN[3].to_owned());
        }
        seen.extend(standard.iter().map(|n| (*n).to_owned()));
        Ok(MbsfHeader {
            width,
            bene_id,
            year,
            birth,
            death,
            buy_in,
            hmo,
            status,
            dual,
            has_hmo,
            has_status,
            has_dual,
            extra_flag_columns: plan.extra_flag_columns,
            text_columns: plan.text_columns,
            shape: plan.shape,
        })
    }

    /// One data row: the record checks, then its months for the value
    /// checks. A month is one the row says something of: a month whose
    /// four monthly fields are all empty (months after the file was cut,
    /// as the BFD 2021 samples have) is not a month of enrollment.
    fn map<'r>(
        &self,
        row: &rif::Row<'r>,
    ) -> Result<crate::input::beneficiaries::Checked<'r>, RejectReason> {
        if !row.has_width(self.width) {
            return Err(RejectReason::BadFieldCount);
        }
        if !row.is_utf8() {
            return Err(RejectReason::BadEncoding);
        }
        let text = |i: Option<usize>| i.map_or("", |i| row.text(i));
        let extras: MonthFlags = self
            .extra_flag_columns
            .iter()
            .map(|&i| flag_field(row.text(i)))
            .collect();
        let (period, months) = year_months(year(row.text(self.year)), |m| {
            let (b, h, s, d) = (
                row.text(self.buy_in[m - 1]),
                text(self.hmo[m - 1]),
                text(self.status[m - 1]),
                text(self.dual[m - 1]),
            );
            if b.is_empty() && h.is_empty() && s.is_empty() && d.is_empty() {
                return None;
            }
            let (part_a, part_b) = match b {
                "" => (Field::Absent, Field::Absent),
                code => buy_in(code).map_or((Field::Unreadable, Field::Unreadable), |(a, b)| {
                    (Field::Value(a), Field::Value(b))
                }),
            };
            let mut flags: MonthFlags = smallvec::smallvec![part_a, part_b];
            if self.has_hmo {
                flags.push(managed_care(h));
            }
            if self.has_status {
                flags.push(esrd(s));
            }
            if self.has_dual {
                flags.push(dual(d));
            }
            flags.extend_from_slice(&extras);
            Some(flags)
        });
        let mut source = SourceRow {
            beneficiary_id: row.text(self.bene_id),
            period,
            birth_date: date(text(self.birth), rif::parse_date),
            death_date: date(text(self.death), rif::parse_date),
            months,
            texts: self.text_columns.iter().map(|&i| row.text(i)).collect(),
        };
        self.shape.check(&mut source)
    }
}

/// Reads an MBSF base segment file: pipe-delimited as the RIF claims files
/// (a BOM, `\r\n`, empty lines, `\|` escapes and one trailing `|` are
/// read as [`rif`] reads them).
fn read_mbsf(
    path: &Path,
    columns: &Columns,
    sink: &mut dyn FnMut(SourceOutcome),
) -> Result<Vec<String>, Error> {
    let input = compressed::open(path).map_err(io_error(path))?;
    let mut chunks = records::ChunkReader::unquoted(input, CHUNK_BYTES);
    let mut splitter = Splitter::default();
    let mut header: Option<MbsfHeader> = None;
    let mut seen = Vec::new();
    while let Some(chunk) = chunks.next_chunk().map_err(io_error(path))? {
        for (line, offset, raw) in Lines::of(&chunk) {
            let row = splitter.split(raw);
            if let Some(header) = &header {
                sink(SourceOutcome {
                    line,
                    offset,
                    raw,
                    checked: header.map(&row),
                });
            } else {
                header = Some(MbsfHeader::resolve(&row, line, path, columns, &mut seen)?);
            }
        }
    }
    if header.is_none() {
        return Err(header_error(
            path,
            1,
            "expected an MBSF header row naming BENE_ID and RFRNC_YR, found an empty file".into(),
        ));
    }
    Ok(seen)
}

/// A DE-SynPUF yearly month count as a flag for every month of the year:
/// 12 is `Y` and 0 is `N` in every month; 1 to 11 cannot be placed in
/// months, so absent; not a count of 0 to 12, unreadable.
fn count_flag(text: &str) -> Field<bool> {
    match text {
        "" => Field::Absent,
        t if t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit()) => match t.parse::<u32>() {
            Ok(12) => Field::Value(true),
            Ok(0) => Field::Value(false),
            Ok(1..=11) => Field::Absent,
            _ => Field::Unreadable,
        },
        _ => Field::Unreadable,
    }
}

/// The DE-SynPUF ESRD indicator: `0` no ESRD (in the year): `N` in every
/// month; `Y` says ESRD but not from which month: absent.
fn synpuf_esrd(text: &str) -> Field<bool> {
    match text {
        "" | "Y" => Field::Absent,
        "0" => Field::Value(false),
        _ => Field::Unreadable,
    }
}

/// The year of a DE-SynPUF beneficiary summary from its file name, as CMS
/// names them: `DE1_0_2008_Beneficiary_Summary_File_Sample_1.csv` is 2008
/// (the four digits before `_Beneficiary_Summary_File`, without case).
fn year_of_file_name(path: &Path) -> Option<i32> {
    let name = path.file_name()?.to_str()?.to_ascii_uppercase();
    let end = name.find("_BENEFICIARY_SUMMARY_FILE")?;
    let digits = name.get(end.checked_sub(4)?..end)?;
    let before = name.as_bytes().get(end.checked_sub(5)?).copied();
    (digits.bytes().all(|b| b.is_ascii_digit()) && matches!(before, None | Some(b'_')))
        .then(|| digits.parse().ok())
        .flatten()
}

/// How a DE-SynPUF column becomes a flag of every month.
type ReadFlag = fn(&str) -> Field<bool>;

/// Reads a DE-SynPUF beneficiary summary file: comma CSV read as the
/// canonical reader reads it (quoted header names, BOM, line ends).
fn read_synpuf(
    path: &Path,
    columns: &Columns,
    sink: &mut dyn FnMut(SourceOutcome),
) -> Result<Vec<String>, Error> {
    let input = compressed::open(path).map_err(io_error(path))?;
    let mut reader = RecordReader::new(BufReader::with_capacity(1 << 20, input));
    let mut record = Record::default();
    if !reader.read(&mut record).map_err(io_error(path))? {
        return Err(header_error(
            path,
            1,
            "expected a DE-SynPUF header row naming DESYNPUF_ID, found an empty file".into(),
        ));
    }
    let line = record.line();
    let names: Vec<&str> = record
        .iter()
        .map(std::str::from_utf8)
        .collect::<Result<_, _>>()
        .map_err(|_| header_error(path, line, "the header row is not UTF-8".into()))?;
    let one = |name: &str| find_one(&names, &[name.to_owned()], path, line);
    let id = one("DESYNPUF_ID")?.ok_or_else(|| {
        header_error(
            path,
            line,
            "missing required column `DESYNPUF_ID` (a DE-SynPUF beneficiary summary must name it)"
                .into(),
        )
    })?;
    let year_column = find_one(
        &names,
        &["BENE_ENROLLMT_REF_YR".into(), "BENE_YEAR".into()],
        path,
        line,
    )?;
    let file_year = year_of_file_name(path);
    if year_column.is_none() && file_year.is_none() {
        return Err(header_error(
            path,
            line,
            "cannot tell the year of this DE-SynPUF beneficiary summary: expected a \
             BENE_ENROLLMT_REF_YR column or a file name such as \
             DE1_0_2008_Beneficiary_Summary_File_Sample_1.csv"
                .into(),
        ));
    }
    let birth = one("BENE_BIRTH_DT")?;
    let death = one("BENE_DEATH_DT")?;
    // The standard flags in contract order, each with the column it is
    // read from and how.
    let sources: [(&'static str, Option<usize>, ReadFlag); 4] = [
        ("part_a", one("BENE_HI_CVRAGE_TOT_MONS")?, count_flag),
        ("part_b", one("BENE_SMI_CVRAGE_TOT_MONS")?, count_flag),
        ("managed_care", one("BENE_HMO_CVRAGE_TOT_MONS")?, count_flag),
        ("esrd", one("BENE_ESRD_IND")?, synpuf_esrd),
    ];
    let present: Vec<(&'static str, usize, ReadFlag)> = sources
        .iter()
        .filter_map(|&(name, column, read)| column.map(|c| (name, c, read)))
        .collect();
    let standard: Vec<&'static str> = present.iter().map(|(n, ..)| *n).collect();
    let plan = Shape::plan(&standard, &names, columns).map_err(|name| {
        header_error(
            path,
            line,
            format!("column `{name}` is named twice in the header; expected each column once"),
        )
    })?;
    let mut seen: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    seen.extend(["beneficiary_id", "month"].map(String::from));
    if birth.is_some() {
        seen.push(KNOWN[2].to_owned());
    }
    if death.is_some() {
        seen.push(KNOWN[3].to_owned());
    }
    seen.extend(standard.iter().map(|n| (*n).to_owned()));
    let width = record.len();
    while reader.read(&mut record).map_err(io_error(path))? {
        let checked = if !record.is_complete() {
            Err(RejectReason::BadCsv)
        } else if record.len() != width {
            Err(RejectReason::BadFieldCount)
        } else {
            Ok(())
        };
        let fields = match checked {
            Ok(()) => record.text().ok_or(RejectReason::BadEncoding),
            Err(reason) => Err(reason),
        };
        let checked = match fields {
            Err(reason) => Err(reason),
            Ok(fields) => {
                let text = |i: Option<usize>| i.and_then(|i| fields.get(i)).unwrap_or_default();
                let year = match year_column {
                    Some(column) => year(text(Some(column))),
                    None => file_year.map_or(Field::Absent, Field::Value),
                };
                let mut flags: MonthFlags = present
                    .iter()
                    .map(|&(_, column, read)| read(text(Some(column))))
                    .collect();
                flags.extend(
                    plan.extra_flag_columns
                        .iter()
                        .map(|&i| flag_field(text(Some(i)))),
                );
                let (period, months) = year_months(year, |_| Some(flags.clone()));
                let mut source = SourceRow {
                    beneficiary_id: text(Some(id)),
                    period,
                    birth_date: date(text(birth), model::parse_date),
                    death_date: date(text(death), model::parse_date),
                    months,
                    texts: plan.text_columns.iter().map(|&i| text(Some(i))).collect(),
                };
                plan.shape.check(&mut source)
            }
        };
        sink(SourceOutcome {
            line: record.line(),
            offset: record.offset(),
            raw: record.raw(),
            checked,
        });
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_as_the_codebooks_say() {
        assert_eq!(buy_in("0"), Some((false, false)));
        assert_eq!(buy_in("1"), Some((true, false)));
        assert_eq!(buy_in("B"), Some((false, true)));
        assert_eq!(buy_in("C"), Some((true, true)));
        assert_eq!(buy_in("4"), None);
        assert_eq!(buy_in("c"), None);
        assert_eq!(managed_care("4"), Field::Value(false));
        assert_eq!(managed_care("A"), Field::Value(true));
        assert_eq!(managed_care("5"), Field::Unreadable);
        assert_eq!(esrd("31"), Field::Value(true));
        assert_eq!(esrd("40"), Field::Value(false));
        assert_eq!(esrd("00"), Field::Absent);
        assert_eq!(esrd("1"), Field::Unreadable);
        assert_eq!(dual("4"), Field::Value(true));
        assert_eq!(dual("08"), Field::Value(true));
        assert_eq!(dual("NA"), Field::Value(false));
        assert_eq!(dual("09"), Field::Value(false));
        assert_eq!(dual("99"), Field::Absent);
        for bad in ["07", "AA", "**", "100", "na"] {
            assert_eq!(dual(bad), Field::Unreadable, "{bad}");
        }
        assert_eq!(count_flag("12"), Field::Value(true));
        assert_eq!(count_flag("0"), Field::Value(false));
        assert_eq!(count_flag("7"), Field::Absent);
        assert_eq!(count_flag("13"), Field::Unreadable);
        assert_eq!(count_flag("-1"), Field::Unreadable);
        assert_eq!(year("2019"), Field::Value(2019));
        assert_eq!(year("19"), Field::Unreadable);
        assert_eq!(year(""), Field::Absent);
    }

    #[test]
    fn the_year_is_read_from_a_synpuf_file_name() {
        let year = |name: &str| year_of_file_name(Path::new(name));
        assert_eq!(
            year("/x/DE1_0_2008_Beneficiary_Summary_File_Sample_0.csv"),
            Some(2008)
        );
        assert_eq!(
            year("de1_0_2010_beneficiary_summary_file_sample_20.csv"),
            Some(2010)
        );
        assert_eq!(year("Beneficiary_Summary_File.csv"), None);
        assert_eq!(year("DE1_0_X008_Beneficiary_Summary_File.csv"), None);
        assert_eq!(year("DE1_0_12008_Beneficiary_Summary_File.csv"), None);
    }

    #[test]
    fn headers_name_their_format() {
        use BeneficiariesFormat::*;
        assert_eq!(detect(b"beneficiary_id,month,part_a\n"), Canonical);
        assert_eq!(detect(b"\xEF\xBB\xBFDML_IND|BENE_ID|RFRNC_YR|X\r\n"), Rif);
        assert_eq!(detect(b"BENE_ID|BENE_ENROLLMT_REF_YR\n"), Rif);
        // The same names comma-separated are not the pipe-delimited MBSF.
        assert_eq!(detect(b"BENE_ID,RFRNC_YR\n"), Canonical);
        assert_eq!(
            detect(b"\"DESYNPUF_ID\",\"BENE_BIRTH_DT\",\"BENE_DEATH_DT\"\n"),
            Synpuf
        );
        assert_eq!(detect(b"BENE_MBI_ID|BENE_HIC_NUM|BENE_DOB\n"), Cclf);
        // A fixed-width CCLF8 record (IP v36 Table 21): BENE_DOB at 33-42,
        // a comma in BENE_LINE_1_ADR (189-233), GEO_ZIP4_CD (546-549) blank.
        let mut record = vec![b' '; CCLF8_RECORD_LENGTH];
        record[..11].copy_from_slice(b"1EG4TE5MK73");
        record[32..42].copy_from_slice(b"1950-06-15");
        record[188..206].copy_from_slice(b"100 MAIN ST, APT 4");
        record[540..545].copy_from_slice(b"60601");
        assert_eq!(detect(&record), Cclf);
        assert_eq!(detect(&[record.as_slice(), b"\r\n"].concat()), Cclf);
        assert_eq!(detect(&record[..CCLF8_RECORD_LENGTH - 1]), Canonical);
        assert_eq!(detect(&[b'1'; CCLF8_RECORD_LENGTH]), Canonical);
        assert_eq!(detect(b"claim_id,beneficiary_id\n"), Canonical);
    }
}
