//! The CMS DE-SynPUF claims files (the 2008–2010 Data Entrepreneurs'
//! Synthetic Public Use File) as claim lines.
//!
//! DE-SynPUF has three claims files this reader takes: inpatient, outpatient
//! and carrier. Each is comma-separated text with a header row of quoted
//! column names, and each row is a whole claim (or, for institutional
//! claims, one segment of one), its line-level fields spread over numbered
//! columns: `HCPCS_CD_1` to `HCPCS_CD_45` on institutional claims,
//! `HCPCS_CD_n`, `LINE_ALOWD_CHRG_AMT_n`, `TAX_NUM_n`, `PRF_PHYSN_NPI_n` for
//! `n` = 1 to 13 on carrier claims. The reader turns one such wide row into
//! several [`ClaimLine`]s, all with the row's [`crate::model::Source`].
//!
//! The file kind comes from the header: `CLM_ADMSN_DT` makes it inpatient,
//! else `CLM_PMT_AMT` outpatient, else a `LINE_ALOWD_CHRG_AMT_n` column
//! carrier. The row checks are those of the canonical reader
//! ([`crate::input::claims`]), in the same order, applied to the whole row: a row
//! that fails one is rejected *once*, as one [`RowOutcome::Rejected`] with
//! the row's raw text, however many lines it would have made. So every
//! source row is accounted for, and `rows` in the summary counts, for this
//! format, the claim lines of the accepted rows plus one per rejected row
//! and one per row after the run-out cutoff.
//!
//! The mapping, field by field with its CMS codebook source, is in
//! `docs/INPUT-FORMATS.md` (section "DE-SynPUF"); in short:
//!
//! - claim id `IP-`, `OP-` or `PB-` followed by `CLM_ID`, so that claims of
//!   two files never merge into one;
//! - institutional: line `n` per non-empty `HCPCS_CD_n` (line 1 always),
//!   offset by 45 per `SEGMENT` after the first; the claim's allowed amount
//!   (`CLM_PMT_AMT` plus the primary payer's payment and the beneficiary's
//!   deductibles and coinsurance, plus the pass-through per diem times the
//!   utilization days on inpatient claims) on line 1 of segment 1, every
//!   other line `0.00`;
//! - carrier: line `n` per used slot `n`, allowed `LINE_ALOWD_CHRG_AMT_n`;
//! - every claim an original, processed on its `CLM_THRU_DT`.
//!
//! Rows rejected by the version-level checks of [`crate::engine::final_action`] are
//! found again with [`crate::input::claims::raw_rows`]: the file is CSV, read by
//! the same [`crate::input::records::RecordReader`].

use std::io;
use std::path::Path;

use crate::input::claim_rows::{self, ClaimFields, RowChecks, columns};
use crate::input::claims::Error;
use crate::input::driver::{self, ChunkRows, CsvFormat, ParseChunk};
use crate::input::records::{Record, TextFields};
use crate::model::money::Money;
use crate::model::outcome::{RejectReason, RowOutcome, RowView};
use crate::model::{ClaimLine, ClaimType, RecordType, parse_date};

/// The three DE-SynPUF claims files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Inpatient,
    Outpatient,
    Carrier,
}

impl Kind {
    fn claim_type(self) -> ClaimType {
        match self {
            Kind::Inpatient => ClaimType::Ip,
            Kind::Outpatient => ClaimType::Op,
            Kind::Carrier => ClaimType::Pb,
        }
    }

    /// Put before `CLM_ID`: the codebook does not promise that claim ids of
    /// different files differ, and two claims of one beneficiary with the
    /// same id would be read as one claim (and rejected as inconsistent).
    fn claim_prefix(self) -> &'static str {
        match self {
            Kind::Inpatient => "IP-",
            Kind::Outpatient => "OP-",
            Kind::Carrier => "PB-",
        }
    }

    /// How many numbered line slots the layout has.
    fn slots(self) -> usize {
        match self {
            Kind::Inpatient | Kind::Outpatient => INSTITUTIONAL_SLOTS,
            Kind::Carrier => CARRIER_SLOTS,
        }
    }

    /// The claim-level amounts added to `CLM_PMT_AMT`; an empty field or a
    /// column the header lacks counts zero.
    fn cost_sharing(self) -> &'static [Column] {
        match self {
            Kind::Inpatient => &[
                Column::PrmryPyrClmPdAmt,
                Column::IpDdctblAmt,
                Column::PtaCoinsrncAmt,
                Column::BloodDdctblAmt,
            ],
            Kind::Outpatient => &[
                Column::PrmryPyrClmPdAmt,
                Column::BloodDdctblAmt,
                Column::PtbDdctblAmt,
                Column::PtbCoinsrncAmt,
            ],
            Kind::Carrier => &[],
        }
    }
}

/// `HCPCS_CD_1` to `HCPCS_CD_45` on inpatient and outpatient claims.
const INSTITUTIONAL_SLOTS: usize = 45;
/// Line slots 1 to 13 on carrier claims.
const CARRIER_SLOTS: usize = 13;

columns! {
    /// The single (not numbered) columns the reader uses; others are ignored.
    enum Column {
        DesynpufId => "DESYNPUF_ID",
        ClmId => "CLM_ID",
        FromDt => "CLM_FROM_DT",
        ThruDt => "CLM_THRU_DT",
        Segment => "SEGMENT",
        PrvdrNum => "PRVDR_NUM",
        ClmPmtAmt => "CLM_PMT_AMT",
        PrmryPyrClmPdAmt => "NCH_PRMRY_PYR_CLM_PD_AMT",
        AdmsnDt => "CLM_ADMSN_DT",
        DschrgDt => "NCH_BENE_DSCHRG_DT",
        DrgCd => "CLM_DRG_CD",
        Dgns1 => "ICD9_DGNS_CD_1",
        PassThruPerDiemAmt => "CLM_PASS_THRU_PER_DIEM_AMT",
        UtlztnDayCnt => "CLM_UTLZTN_DAY_CNT",
        IpDdctblAmt => "NCH_BENE_IP_DDCTBL_AMT",
        PtaCoinsrncAmt => "NCH_BENE_PTA_COINSRNC_LBLTY_AM",
        BloodDdctblAmt => "NCH_BENE_BLOOD_DDCTBL_LBLTY_AM",
        PtbDdctblAmt => "NCH_BENE_PTB_DDCTBL_AMT",
        PtbCoinsrncAmt => "NCH_BENE_PTB_COINSRNC_AMT",
    }
}

impl Column {
    /// The first four are the key columns of every kind.
    const KEY: usize = 4;
}

/// The numbered columns of one line slot `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    /// `HCPCS_CD_n`: the line's HCPCS/CPT code.
    Hcpcs,
    /// `LINE_ALOWD_CHRG_AMT_n` (carrier): the line's allowed amount.
    Allowed,
    /// `TAX_NUM_n` (carrier): the billing provider's tax number.
    TaxNum,
    /// `PRF_PHYSN_NPI_n` (carrier): the performing physician.
    Npi,
}

impl Family {
    const ALL: [Family; 4] = [Family::Hcpcs, Family::Allowed, Family::TaxNum, Family::Npi];

    fn prefix(self) -> &'static str {
        match self {
            Family::Hcpcs => "HCPCS_CD_",
            Family::Allowed => "LINE_ALOWD_CHRG_AMT_",
            Family::TaxNum => "TAX_NUM_",
            Family::Npi => "PRF_PHYSN_NPI_",
        }
    }

    /// The family's name in an error message.
    fn pattern(self) -> &'static str {
        match self {
            Family::Hcpcs => "HCPCS_CD_<n>",
            Family::Allowed => "LINE_ALOWD_CHRG_AMT_<n>",
            Family::TaxNum => "TAX_NUM_<n>",
            Family::Npi => "PRF_PHYSN_NPI_<n>",
        }
    }

    /// The family and slot number of a header name such as `HCPCS_CD_7`
    /// (case-insensitive; `n` from 1 to 45 without leading zeros).
    fn parse(name: &str) -> Option<(Family, usize)> {
        Family::ALL.into_iter().find_map(|family| {
            let prefix = family.prefix();
            let head = name.get(..prefix.len())?;
            if !head.eq_ignore_ascii_case(prefix) {
                return None;
            }
            let digits = &name[prefix.len()..];
            if digits.is_empty()
                || digits.len() > 2
                || digits.starts_with('0')
                || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let n: usize = digits.parse().ok()?;
            (n <= INSTITUTIONAL_SLOTS).then_some((family, n))
        })
    }
}

/// Where the columns of one line slot sit in the header.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    hcpcs: Option<usize>,
    allowed: Option<usize>,
    tax_num: Option<usize>,
    npi: Option<usize>,
}

impl Slot {
    fn position(&mut self, family: Family) -> &mut Option<usize> {
        match family {
            Family::Hcpcs => &mut self.hcpcs,
            Family::Allowed => &mut self.allowed,
            Family::TaxNum => &mut self.tax_num,
            Family::Npi => &mut self.npi,
        }
    }
}

/// Whether a header line is a DE-SynPUF claims header: comma-separated,
/// naming `DESYNPUF_ID`, `CLM_ID`, and a column of one of the three claims
/// files (`CLM_ADMSN_DT` inpatient, `CLM_PMT_AMT` inpatient or outpatient,
/// `LINE_ALOWD_CHRG_AMT_n` carrier); names may be quoted and are compared
/// without case. For `--claims-format auto`. The beneficiary summary and
/// drug event files of DE-SynPUF name no `CLM_ID`, so they are not taken.
pub fn looks_like_synpuf(header: &str) -> bool {
    let has = |wanted: &str| super::names_column(header, wanted);
    let has_line_amount =
        super::header_names(header).any(|n| matches!(Family::parse(n), Some((Family::Allowed, _))));
    has("DESYNPUF_ID")
        && has("CLM_ID")
        && (has("CLM_ADMSN_DT") || has("CLM_PMT_AMT") || has_line_amount)
}

/// Where each column the reader uses sits in one file's header, and the
/// file's kind.
#[derive(Debug)]
pub(crate) struct Header {
    kind: Kind,
    width: usize,
    index: [Option<usize>; Column::ALL.len()],
    /// Slot `n` at index `n - 1`, as many as the kind's layout has.
    slots: Vec<Slot>,
}

/// The required columns, for the message of a missing one.
const REQUIRED: &str = "DESYNPUF_ID, CLM_ID, CLM_FROM_DT, CLM_THRU_DT, and CLM_PMT_AMT (inpatient, \
    with CLM_ADMSN_DT; outpatient) or LINE_ALOWD_CHRG_AMT_1 to LINE_ALOWD_CHRG_AMT_13 (carrier)";

impl Header {
    fn resolve(record: &Record, path: &Path) -> Result<Header, Error> {
        let row = record.line();
        let mut index = [None; Column::ALL.len()];
        let mut slots = vec![Slot::default(); INSTITUTIONAL_SLOTS];
        let duplicate = |column| Error::DuplicateColumn {
            path: path.to_owned(),
            row,
            column,
        };
        for (position, name) in record.iter().enumerate() {
            let name = std::str::from_utf8(name).map_err(|_| Error::HeaderEncoding {
                path: path.to_owned(),
                row,
            })?;
            if let Some(column) = Column::ALL
                .iter()
                .position(|c| c.name().eq_ignore_ascii_case(name))
            {
                if index[column].replace(position).is_some() {
                    return Err(duplicate(Column::ALL[column].name()));
                }
            } else if let Some((family, n)) = Family::parse(name)
                && slots[n - 1].position(family).replace(position).is_some()
            {
                return Err(duplicate(family.pattern()));
            }
        }
        let missing = |column| Error::MissingColumn {
            path: path.to_owned(),
            row,
            column,
            required: REQUIRED.to_owned(),
        };
        let has = |column: Column| index[column as usize].is_some();
        if let Some(key) = Column::ALL[..Column::KEY].iter().find(|c| !has(**c)) {
            return Err(missing(key.name()));
        }
        let kind = if has(Column::AdmsnDt) {
            Kind::Inpatient
        } else if has(Column::ClmPmtAmt) {
            // An inpatient layout without its admission date must not pass
            // for an outpatient one.
            if [Column::DschrgDt, Column::DrgCd, Column::IpDdctblAmt]
                .into_iter()
                .any(has)
            {
                return Err(missing(Column::AdmsnDt.name()));
            }
            Kind::Outpatient
        } else if slots[..CARRIER_SLOTS].iter().any(|s| s.allowed.is_some()) {
            Kind::Carrier
        } else {
            return Err(missing(Column::ClmPmtAmt.name()));
        };
        if kind != Kind::Carrier && !has(Column::ClmPmtAmt) {
            return Err(missing(Column::ClmPmtAmt.name()));
        }
        slots.truncate(kind.slots());
        if kind != Kind::Carrier {
            // Only the HCPCS columns make institutional lines.
            for slot in &mut slots {
                *slot = Slot {
                    hcpcs: slot.hcpcs,
                    ..Slot::default()
                };
            }
        }
        Ok(Header {
            kind,
            width: record.len(),
            index,
            slots,
        })
    }

    /// The trimmed field of `column`, empty when the column is absent.
    fn field<'r>(&self, record: &'r Record, column: Column) -> &'r [u8] {
        field_at(record, self.index[column as usize])
    }
}

fn field_at(record: &Record, position: Option<usize>) -> &[u8] {
    position.and_then(|i| record.get(i)).unwrap_or_default()
}

fn text_at<'r>(fields: &TextFields<'r>, position: Option<usize>) -> &'r str {
    position.and_then(|i| fields.get(i)).unwrap_or_default()
}

/// Whether carrier line slot `slot` holds a line: a code, a provider, or an
/// allowed amount other than zero (DE-SynPUF writes `0` in the amount
/// columns of unused slots). An amount that does not parse counts as used,
/// so that the row is rejected for it rather than the amount dropped.
fn slot_used(record: &Record, slot: &Slot) -> bool {
    let filled = |position| !field_at(record, position).is_empty();
    filled(slot.hcpcs)
        || filled(slot.tax_num)
        || filled(slot.npi)
        || match field_at(record, slot.allowed) {
            b"" => false,
            given => Money::parse(given) != Some(Money::ZERO),
        }
}

/// `SEGMENT` of an institutional row: empty is 1; `None` when it is not an
/// integer >= 1.
fn segment(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return Some(1);
    }
    if text.len() > 9 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = text
        .iter()
        .fold(0u64, |acc, &b| acc * 10 + u64::from(b - b'0'));
    (value >= 1).then_some(value)
}

/// The allowed amount of an institutional claim:
/// `CLM_PMT_AMT + NCH_PRMRY_PYR_CLM_PD_AMT + NCH_BENE_IP_DDCTBL_AMT +
/// NCH_BENE_PTA_COINSRNC_LBLTY_AM + NCH_BENE_BLOOD_DDCTBL_LBLTY_AM +
/// CLM_PASS_THRU_PER_DIEM_AMT × CLM_UTLZTN_DAY_CNT` on inpatient claims,
/// `CLM_PMT_AMT + NCH_PRMRY_PYR_CLM_PD_AMT + NCH_BENE_BLOOD_DDCTBL_LBLTY_AM +
/// NCH_BENE_PTB_DDCTBL_AMT + NCH_BENE_PTB_COINSRNC_AMT` on outpatient ones;
/// every added term counts zero when empty. `None` when a term is not an
/// amount (or the day count not an integer). Exact in cents.
fn claim_amount(header: &Header, record: &Record) -> Option<Money> {
    let optional_money = |column| match header.field(record, column) {
        b"" => Some(Money::ZERO),
        given => Money::parse(given),
    };
    let mut total = Money::parse(header.field(record, Column::ClmPmtAmt))?;
    for &column in header.kind.cost_sharing() {
        total = total.checked_add(optional_money(column)?)?;
    }
    if header.kind == Kind::Inpatient {
        let per_diem = optional_money(Column::PassThruPerDiemAmt)?;
        let days = match header.field(record, Column::UtlztnDayCnt) {
            b"" => 0,
            given if given.len() <= 9 && given.iter().all(u8::is_ascii_digit) => given
                .iter()
                .fold(0i128, |acc, &b| acc * 10 + i128::from(b - b'0')),
            _ => return None,
        };
        total = total.checked_add(Money::from_cents(per_diem.cents().checked_mul(days)?))?;
    }
    // The sum of several fields is still an amount (RULES 7): a longer one
    // is `bad_amount`, which keeps every claims-path sum bounded (7a).
    Some(total).filter(|t| t.is_claim_amount())
}

/// The row's allowed amount over all its lines, `None` when an amount it
/// needs does not parse. Institutional: the claim amount on the first
/// segment, zero on later ones (the claim amount is still checked there, as
/// every segment repeats it). Carrier: the sum over the used slots `used`
/// (indices into the header's slots).
fn row_amount(header: &Header, record: &Record, used: &[usize]) -> Option<Money> {
    if header.kind == Kind::Carrier {
        return used
            .iter()
            .map(|&i| Money::parse(field_at(record, header.slots[i].allowed)))
            .try_fold(Money::ZERO, |total, amount| total.checked_add(amount?))
            // Still an amount (RULES 7), as for institutional claims.
            .filter(|t| t.is_claim_amount());
    }
    let claim = claim_amount(header, record)?;
    let later_segment = segment(header.field(record, Column::Segment)).is_some_and(|s| s > 1);
    Some(if later_segment { Money::ZERO } else { claim })
}

/// The row checks of one file, with what DE-SynPUF adds: one wide row
/// makes several claim lines, or one reject.
struct RowChecker<'h> {
    header: &'h Header,
    checks: RowChecks,
    /// The lines of the current row, reused from row to row.
    lines: Vec<ClaimLine>,
    /// The used line slots of the current carrier row (indices into the
    /// header's slots, so slot `i + 1`), reused from row to row.
    used: Vec<usize>,
}

impl RowChecker<'_> {
    /// Checks one source row and hands its outcomes to `sink`: its claim
    /// lines, or exactly one reject or one after-cutoff outcome. The row is
    /// checked whole, as one claim line standing for all of them (line 1,
    /// the row's amount), then made into its lines.
    fn check(&mut self, record: &Record, sink: &mut impl FnMut(RowView<'_>)) {
        let source = self.checks.source(record.line(), record.offset());
        if !record.is_complete() {
            return sink(RowChecks::shape_reject(
                source,
                record.raw(),
                RejectReason::BadCsv,
            ));
        }
        let header = self.header;
        if record.len() != header.width {
            return sink(RowChecks::shape_reject(
                source,
                record.raw(),
                RejectReason::BadFieldCount,
            ));
        }
        let kind = header.kind;
        self.used.clear();
        if kind == Kind::Carrier {
            let slots = &header.slots;
            self.used
                .extend((0..slots.len()).filter(|&i| slot_used(record, &slots[i])));
        }
        let used = &self.used;
        // The record is validated as UTF-8 once; a field of a record that
        // is not is read alone, for the version a reject names.
        let fields = record.text();
        let text_at = |position| match &fields {
            Some(fields) => text_at(fields, position),
            None => claim_rows::text(field_at(record, position)),
        };
        let text = |column: Column| text_at(header.index[column as usize]);
        let field = |column| header.field(record, column);
        // missing_field: the keys, the claim amount, and on a carrier row at
        // least one line, each with its allowed amount.
        let amount_missing = match kind {
            Kind::Carrier => {
                used.is_empty()
                    || used
                        .iter()
                        .any(|&i| text_at(header.slots[i].allowed).is_empty())
            }
            _ => text(Column::ClmPmtAmt).is_empty(),
        };
        let (admission_date, discharge_date, drg) = match kind {
            Kind::Inpatient => (
                field(Column::AdmsnDt),
                field(Column::DschrgDt),
                text(Column::DrgCd),
            ),
            _ => (&b""[..], &b""[..], ""),
        };
        // A carrier claim's provider: its first line's tax number, else
        // that line's performing physician.
        let provider_id = match kind {
            Kind::Carrier => used
                .first()
                .map_or("", |&i| match text_at(header.slots[i].tax_num) {
                    "" => text_at(header.slots[i].npi),
                    tax_num => tax_num,
                }),
            _ => text(Column::PrvdrNum),
        };
        let row = ClaimFields {
            source,
            raw: record.raw(),
            utf8: fields.is_some(),
            processed_date: parse_date(field(Column::ThruDt)),
            amount: row_amount(header, record, used),
            missing: amount_missing,
            // The segment sets the institutional line numbers.
            line_number: match kind {
                Kind::Carrier => Some(1),
                _ => segment(field(Column::Segment)),
            },
            claim_type: Some(kind.claim_type()),
            record_type: Some(RecordType::Original),
            beneficiary_id: text(Column::DesynpufId),
            claim_id: text(Column::ClmId),
            claim_prefix: kind.claim_prefix(),
            from_date: field(Column::FromDt),
            thru_date: field(Column::ThruDt),
            admission_date,
            discharge_date,
            line_date: b"",
            provider_id,
            drg,
            principal_dx: text(Column::Dgns1),
            hcpcs: "",
        };
        let claim = match self.checks.check(&row) {
            RowOutcome::Line(claim) => claim,
            other => return other.pass(sink),
        };
        let checks = &mut self.checks;
        let mut hcpcs = |slot: &Slot| {
            Some(text_at(slot.hcpcs))
                .filter(|s| !s.is_empty())
                .map(|s| checks.hcpcs(s))
        };
        let lines = &mut self.lines;
        lines.clear();
        match kind {
            Kind::Carrier => {
                for &i in used {
                    let slot = &header.slots[i];
                    // Every used slot's amount parsed into the row's, so
                    // this holds; a row is still never half read.
                    let Some(allowed) = Money::parse(text_at(slot.allowed).as_bytes()) else {
                        lines.clear();
                        return sink(self.checks.reject(&row, RejectReason::BadAmount));
                    };
                    lines.push(ClaimLine {
                        line_number: i as u64 + 1,
                        allowed,
                        hcpcs: hcpcs(slot),
                        ..claim.clone()
                    });
                }
            }
            _ => {
                let base = (claim.line_number - 1) * INSTITUTIONAL_SLOTS as u64;
                for (i, slot) in header.slots.iter().enumerate() {
                    let code = hcpcs(slot);
                    if i > 0 && code.is_none() {
                        continue;
                    }
                    lines.push(ClaimLine {
                        line_number: base + i as u64 + 1,
                        allowed: if i == 0 { claim.allowed } else { Money::ZERO },
                        hcpcs: code,
                        ..claim.clone()
                    });
                }
            }
        }
        for line in lines.drain(..) {
            sink(RowOutcome::Line(line.view()));
        }
    }
}

/// DE-SynPUF as the driver reads it: comma CSV records, one wide row each,
/// whose outcomes are the row's claim lines in line order, or one reject,
/// or one after-cutoff outcome (every line of a row has the row's
/// `Source`; `as_of` is compared with `CLM_THRU_DT`). A file without a
/// header, naming a column twice, or lacking a key column (`DESYNPUF_ID`,
/// `CLM_ID`, `CLM_FROM_DT`, `CLM_THRU_DT`, and `CLM_PMT_AMT` or
/// `LINE_ALOWD_CHRG_AMT_n`) is a fatal [`Error`] naming the file and column.
pub(crate) struct Synpuf;

impl CsvFormat for Synpuf {
    type Header = Header;

    fn resolve(record: &Record, path: &Path) -> Result<Header, Error> {
        Header::resolve(record, path)
    }
}

impl ParseChunk for Synpuf {
    fn parse<S: FnMut(RowView<'_>)>(
        &self,
        header: &Header,
        rows: ChunkRows<'_, S>,
    ) -> io::Result<()> {
        let mut checker = RowChecker {
            header,
            checks: rows.checks,
            lines: Vec::new(),
            used: Vec::new(),
        };
        let mut sink = rows.sink;
        driver::each_record(rows.chunk, |record| checker.check(record, &mut sink))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_columns_are_parsed_within_the_layout() {
        assert_eq!(Family::parse("HCPCS_CD_1"), Some((Family::Hcpcs, 1)));
        assert_eq!(Family::parse("hcpcs_cd_45"), Some((Family::Hcpcs, 45)));
        assert_eq!(
            Family::parse("LINE_ALOWD_CHRG_AMT_13"),
            Some((Family::Allowed, 13))
        );
        assert_eq!(Family::parse("TAX_NUM_2"), Some((Family::TaxNum, 2)));
        assert_eq!(Family::parse("PRF_PHYSN_NPI_3"), Some((Family::Npi, 3)));
        for other in [
            "HCPCS_CD_0",
            "HCPCS_CD_01",
            "HCPCS_CD_46",
            "HCPCS_CD_",
            "HCPCS_CD_1x",
            "LINE_NCH_PMT_AMT_1",
            "ICD9_DGNS_CD_1",
        ] {
            assert_eq!(Family::parse(other), None, "{other}");
        }
    }

    #[test]
    fn segments_are_integers_from_one() {
        assert_eq!(segment(b""), Some(1));
        assert_eq!(segment(b"1"), Some(1));
        assert_eq!(segment(b"02"), Some(2));
        assert_eq!(segment(b"0"), None);
        assert_eq!(segment(b"-1"), None);
        assert_eq!(segment(b"1.0"), None);
        assert_eq!(segment(b"1234567890"), None);
    }
}
