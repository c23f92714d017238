//! The RIF/CCW claims reader (`formats::rif`, docs/INPUT-FORMATS.md): one
//! claim of each of the seven kinds of the CMS samples read into
//! hand-checked claim lines, bad rows of every kind rejected with the
//! contract's reason and their row, whole files accounted row by row through
//! final action ("nothing vanishes"), versions from `DML_IND`,
//! `FINAL_ACTION` and `CLM_FREQ_CD`, and a round trip canonical CSV -> RIF
//! -> the same claim lines.
//!
//! Fixtures are under `tests/fixtures/rif/` (see its README for provenance).

use episode_recon::model::Text;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use episode_recon::engine::final_action;
use episode_recon::input::claims::Error;
use episode_recon::input::formats::{ClaimsFormat, rif};
use episode_recon::model::money::Money;
use episode_recon::model::outcome::{RejectedRow, RowOutcome, Tally};
use episode_recon::model::{ClaimLine, ClaimType, Date, RecordType, Source, parse_date};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A fixture file.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rif")
        .join(name)
}

fn date(text: &str) -> Date {
    parse_date(text.as_bytes()).unwrap_or_else(|| panic!("not a date: {text}"))
}

fn money(text: &str) -> Money {
    Money::parse(text.as_bytes()).unwrap_or_else(|| panic!("not an amount: {text}"))
}

/// Every outcome of one file, read as file `index`.
fn outcomes_of(path: &Path, index: u32, as_of: Option<&str>) -> Vec<RowOutcome> {
    let mut out = Vec::new();
    ClaimsFormat::Rif
        .read_file(path, index, as_of.map(date), |o| out.push(o))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

/// The lines of a file every row of which must pass.
fn lines_of(path: &Path) -> Vec<ClaimLine> {
    outcomes_of(path, 0, None)
        .into_iter()
        .map(|o| match o {
            RowOutcome::Line(line) => line,
            other => panic!("{}: not a line: {other:?}", path.display()),
        })
        .collect()
}

/// Writes `text` into a fresh temporary folder as `name`.
fn temp_file(name: &str, text: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    (dir, path)
}

/// `(line, offset)` of every non-empty line after the first, as the reader
/// must report them.
fn data_rows(bytes: &[u8]) -> Vec<(u64, u64)> {
    let mut rows = Vec::new();
    let mut offset = 0u64;
    for (index, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if index > 0 && !content.is_empty() {
            rows.push((index as u64 + 1, offset));
        }
        offset += line.len() as u64;
    }
    rows
}

/// A claim line with the defaults a one-day claim has; tests override
/// fields with struct update syntax.
fn expected(claim_id: &str, claim_type: ClaimType, day: &str, allowed: &str) -> ClaimLine {
    ClaimLine {
        source: Source {
            file: 0,
            row: 2,
            offset: 0,
        },
        beneficiary_id: "567834".into(),
        claim_id: claim_id.into(),
        line_number: 1,
        claim_type,
        record_type: RecordType::Original,
        processed_date: date(day),
        from_date: date(day),
        thru_date: date(day),
        admission_date: date(day),
        discharge_date: date(day),
        line_date: date(day),
        allowed: money(allowed),
        provider_id: None,
        drg: None,
        principal_dx: None,
        hcpcs: None,
    }
}

fn some(text: &str) -> Option<Text> {
    Some(text.into())
}

// ---------------------------------------------------------------------------
// The seven claim kinds, field by field
// ---------------------------------------------------------------------------

/// One claim of each kind of the CMS static samples, every canonical field
/// checked by hand against the sample row (amount formulas in
/// docs/INPUT-FORMATS.md).
#[test]
fn each_claim_kind_of_the_cms_samples_maps_field_by_field() {
    let cases: Vec<(&str, ClaimLine)> = vec![
        (
            // NCH_CLM_TYPE_CD 71; allowed LINE_ALOWD_CHRG_AMT; provider TAX_NUM.
            "sample-a-bcarrier.txt",
            ClaimLine {
                line_number: 6,
                processed_date: date("1999-11-06"),
                provider_id: some("204299999"),
                principal_dx: some("A02"),
                hcpcs: some("92999"),
                ..expected("9991831999", ClaimType::Pb, "1999-10-27", "47.84")
            },
        ),
        (
            // 82; LINE_ALOWD_CHRG_AMT 129.45 (not LINE_PRMRY_ALOWD_CHRG_AMT
            // 20.29); TAX_NUM, not the supplier's PRVDR_NUM.
            "sample-a-dme.txt",
            ClaimLine {
                processed_date: date("2014-02-14"),
                provider_id: some("9994931888"),
                principal_dx: some("B04"),
                hcpcs: some("345"),
                ..expected("2188888888", ClaimType::Dme, "2014-02-03", "129.45")
            },
        ),
        (
            // 10; CLM_PMT_AMT 188.00 + NCH_PRMRY_PYR_CLM_PD_AMT 11.00.
            "sample-a-hha.txt",
            ClaimLine {
                processed_date: date("2015-11-06"),
                provider_id: some("45645"),
                principal_dx: some("53081"),
                hcpcs: some("2GGGG"),
                ..expected("2925555555", ClaimType::Hha, "2015-06-23", "199.00")
            },
        ),
        (
            // 50; 130.32 + 0; discharge NCH_BENE_DSCHRG_DT; line date
            // REV_CNTR_DT; no CLM_ADMSN_DT in the layout: admission = from.
            "sample-a-hospice.txt",
            ClaimLine {
                processed_date: date("2014-10-10"),
                thru_date: date("2014-01-30"),
                discharge_date: date("2015-06-29"),
                line_date: date("2014-09-01"),
                provider_id: some("12345"),
                principal_dx: some("72761"),
                hcpcs: some("A5C"),
                ..expected("9992223422", ClaimType::Hos, "2014-01-01", "130.32")
            },
        ),
        (
            // 60; 7699.48 + 10.00 x 12 days pass-through + 11.00 primary payer
            // + 112.00 deductible + 5.00 coinsurance + 6.00 blood deductible;
            // no REV_CNTR_DT in the layout: line date = from.
            "sample-a-inpatient.txt",
            ClaimLine {
                processed_date: date("2016-02-26"),
                thru_date: date("2016-01-27"),
                discharge_date: date("2016-01-27"),
                provider_id: some("777776"),
                drg: some("695"),
                principal_dx: some("A40"),
                hcpcs: some("M55"),
                ..expected("333333222222", ClaimType::Ip, "2016-01-15", "7953.48")
            },
        ),
        (
            // 40; 693.11 + 11.00 + 112.00 Part B deductible + 175.73 Part B
            // coinsurance + 6.00 blood deductible, on its only row (line 25).
            "sample-a-outpatient.txt",
            ClaimLine {
                line_number: 25,
                processed_date: date("2011-02-26"),
                line_date: date("1942-01-03"),
                provider_id: some("999999"),
                principal_dx: some("A40"),
                hcpcs: some("M99"),
                ..expected("1234567890", ClaimType::Op, "2011-01-24", "997.84")
            },
        ),
        (
            // 20; 3333.33 + 11.00 + 112.00 + 5.00 + 6.00 (no pass-through
            // outside IP); admission CLM_ADMSN_DT before the claim period.
            "sample-a-snf.txt",
            ClaimLine {
                processed_date: date("2014-02-14"),
                thru_date: date("2013-12-18"),
                admission_date: date("2013-11-05"),
                discharge_date: date("2013-12-18"),
                provider_id: some("299999"),
                drg: some("645"),
                principal_dx: some("3736"),
                hcpcs: some("MMM"),
                ..expected("777777777", ClaimType::Snf, "2013-12-01", "3467.33")
            },
        ),
    ];
    let mut kinds = HashSet::new();
    for (name, mut want) in cases {
        let path = fixture(name);
        let bytes = std::fs::read(&path).expect("fixture");
        want.source.offset = data_rows(&bytes)[0].1;
        let got = lines_of(&path);
        assert_eq!(got, vec![want], "{name}");
        kinds.insert(got[0].claim_type);
    }
    assert_eq!(kinds.len(), 7, "every claim kind");
}

#[test]
fn a_carrier_claim_with_several_lines_keeps_each_line() {
    let got = lines_of(&fixture("sample-a-bcarrier-multiple-lines.txt"));
    let summary: Vec<_> = got
        .iter()
        .map(|l| {
            (
                l.source.row,
                l.line_number,
                l.hcpcs.as_deref().unwrap().to_owned(),
                l.allowed,
            )
        })
        .collect();
    let want: Vec<_> = (1..=7u64)
        .map(|n| (n + 1, n, (92999 - (n - 1)).to_string(), money("47.84")))
        .collect();
    assert_eq!(summary, want);
    assert!(got.iter().all(|l| &*l.claim_id == "9991831999"
        && l.claim_type == ClaimType::Pb
        && l.provider_id.as_deref() == Some("204299999")));
}

#[test]
fn an_institutional_claim_amount_is_on_the_first_row_of_its_version_only() {
    let header = "BENE_ID|CLM_ID|NCH_CLM_TYPE_CD|CLM_FROM_DT|CLM_THRU_DT|NCH_WKLY_PROC_DT|CLM_FREQ_CD|CLM_PMT_AMT|NCH_BENE_PTB_COINSRNC_AMT|CLM_LINE_NUM";
    let rows = [
        // Lines listed out of order: the first row in the file carries it.
        "B1|C1|40|01-MAR-2026|01-MAR-2026|10-MAR-2026|1|100.00|20.00|2",
        "B1|C1|40|01-MAR-2026|01-MAR-2026|10-MAR-2026|1|100.00|20.00|1",
        // Another version of the same claim carries its own amount.
        "B1|C1|40|01-MAR-2026|01-MAR-2026|20-MAR-2026|7|90.00|20.00|1",
        // A row of the first version after another claim's: no second amount.
        "B1|C2|40|01-MAR-2026|01-MAR-2026|10-MAR-2026|1|5.00||1",
        "B1|C1|40|01-MAR-2026|01-MAR-2026|10-MAR-2026|1|100.00|20.00|3",
    ];
    let (_dir, path) = temp_file(
        "op.txt",
        format!("{header}\n{}\n", rows.join("\n")).as_bytes(),
    );
    let got: Vec<_> = lines_of(&path)
        .iter()
        .map(|l| format!("{}:{}:{}", l.claim_id, l.line_number, l.allowed))
        .collect();
    assert_eq!(
        got,
        [
            "C1:2:120.00",
            "C1:1:0.00",
            "C1:1:110.00",
            "C2:1:5.00",
            "C1:3:0.00"
        ]
    );
}

// ---------------------------------------------------------------------------
// Bad rows
// ---------------------------------------------------------------------------

/// A sample's header and data row as fields, with the trailing `|` kept.
fn sample_fields(name: &str) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(fixture(name)).expect("fixture");
    let mut lines = text.lines();
    let split = |l: &str| l.split('|').map(str::to_owned).collect::<Vec<_>>();
    let header = split(lines.next().expect("header"));
    let row = split(lines.next().expect("row"));
    (header, row)
}

/// Every row check, on every claim kind: each bad row is rejected with the
/// contract's reason, its own row number and its raw text, and keeps its
/// version when it names one.
#[test]
fn bad_rows_of_every_kind_are_rejected_with_reason_and_row() {
    let samples = [
        (
            "sample-a-bcarrier.txt",
            "LINE_ALOWD_CHRG_AMT",
            Some("LINE_NUM"),
        ),
        ("sample-a-dme.txt", "LINE_ALOWD_CHRG_AMT", Some("LINE_NUM")),
        ("sample-a-hha.txt", "CLM_PMT_AMT", Some("CLM_LINE_NUM")),
        ("sample-a-hospice.txt", "CLM_PMT_AMT", Some("CLM_LINE_NUM")),
        (
            "sample-a-inpatient.txt",
            "CLM_PMT_AMT",
            Some("CLM_LINE_NUM"),
        ),
        (
            "sample-a-outpatient.txt",
            "CLM_PMT_AMT",
            Some("CLM_LINE_NUM"),
        ),
        ("sample-a-snf.txt", "CLM_PMT_AMT", Some("CLM_LINE_NUM")),
    ];
    for (name, amount_column, line_column) in samples {
        let (header, good) = sample_fields(name);
        let set = |row: &mut Vec<String>, column: &str, value: &str| {
            let i = header
                .iter()
                .position(|h| h == column)
                .unwrap_or_else(|| panic!("{name}: no {column}"));
            row[i] = value.to_owned();
        };
        let mut cases: Vec<(Vec<u8>, &str, bool)> = Vec::new();
        let mut case = |edits: &[(&str, &str)], reason: &'static str, has_version: bool| {
            let mut row = good.clone();
            for (column, value) in edits {
                set(&mut row, column, value);
            }
            cases.push((row.join("|").into_bytes(), reason, has_version));
        };
        case(&[("CLM_ID", "")], "missing_field", false);
        case(&[("BENE_ID", " ")], "missing_field", false);
        case(&[("CLM_THRU_DT", "")], "missing_field", true);
        case(&[(amount_column, "")], "missing_field", true);
        case(&[(line_column.unwrap(), "")], "missing_field", true);
        case(&[(line_column.unwrap(), "0")], "bad_line_number", true);
        case(&[(line_column.unwrap(), "1a")], "bad_line_number", true);
        case(&[("NCH_CLM_TYPE_CD", "62")], "bad_claim_type", true);
        case(
            &[("NCH_CLM_TYPE_CD", "XX"), ("CLM_FROM_DT", "bad")],
            "bad_claim_type",
            true,
        );
        case(&[("DML_IND", "MERGE")], "bad_record_type", false);
        case(&[("FINAL_ACTION", "Y")], "bad_record_type", false);
        case(&[("CLM_FROM_DT", "30-FEB-2016")], "bad_date", true);
        case(&[("CLM_FROM_DT", "2016/01/01")], "bad_date", true);
        case(&[("NCH_WKLY_PROC_DT", "01-XXX-2016")], "bad_date", false);
        case(&[("CLM_FROM_DT", "01-JAN-2031")], "bad_date_range", true);
        case(&[(amount_column, "12.345")], "bad_amount", true);
        case(&[(amount_column, "1,000.00")], "bad_amount", true);
        // Two 24-digit fields whose sum has 25 digits: still an amount,
        // so still bounded by RULES 7 (the claims sums rely on it, 7a).
        let longest = format!("{}.00", "9".repeat(24));
        if amount_column == "CLM_PMT_AMT" && header.iter().any(|h| h == "NCH_PRMRY_PYR_CLM_PD_AMT")
        {
            case(
                &[
                    (amount_column, &longest),
                    ("NCH_PRMRY_PYR_CLM_PD_AMT", &longest),
                ],
                "bad_amount",
                true,
            );
        }
        // One field too many (the samples' trailing `|` already is one).
        let mut extra = good.join("|").into_bytes();
        extra.extend_from_slice(b"|x|y");
        cases.push((extra, "bad_field_count", false));
        let mut latin1 = good.join("|").into_bytes();
        let at = latin1.len() - good.last().unwrap().len() - 1;
        latin1.splice(at..at, b"\xe9".iter().copied());
        // The byte lands in the last field (or the empty trailing one).
        cases.push((latin1, "bad_encoding", true));

        let mut text = header.join("|").into_bytes();
        text.push(b'\n');
        text.extend_from_slice(good.join("|").as_bytes());
        text.push(b'\n');
        for (raw, _, _) in &cases {
            text.extend_from_slice(raw);
            text.extend_from_slice(b"\r\n");
        }
        let (_dir, path) = temp_file(name, &text);
        let outcomes = outcomes_of(&path, 3, None);
        assert_eq!(outcomes.len(), cases.len() + 1, "{name}");
        assert!(
            matches!(outcomes[0], RowOutcome::Line(_)),
            "{name}: good row"
        );
        for (i, ((raw, reason, has_version), outcome)) in
            cases.iter().zip(&outcomes[1..]).enumerate()
        {
            let RowOutcome::Rejected(RejectedRow {
                source,
                reason: got,
                version,
                raw: got_raw,
                ..
            }) = outcome
            else {
                panic!("{name}: case {i} ({reason}) passed")
            };
            assert_eq!(got.name(), *reason, "{name}: case {i}");
            assert_eq!(
                (source.file, source.row),
                (3, i as u64 + 3),
                "{name}: case {i}"
            );
            assert_eq!(&**got_raw, raw.as_slice(), "{name}: case {i}");
            assert_eq!(
                version.is_some(),
                *has_version,
                "{name}: case {i} ({reason})"
            );
        }
        // Their text is found again by offset, as for version-level rejects.
        let spots: Vec<_> = outcomes[1..]
            .iter()
            .map(|o| match o {
                RowOutcome::Rejected(r) => (r.source.row, r.source.offset),
                other => panic!("{other:?}"),
            })
            .collect();
        let raws: Vec<Box<[u8]>> = cases
            .iter()
            .map(|(raw, _, _)| raw.as_slice().into())
            .collect();
        assert_eq!(rif::raw_rows(&path, &spots).unwrap(), raws, "{name}");
    }
}

#[test]
fn a_file_without_a_key_column_is_a_fatal_error_naming_it() {
    let (header, row) = sample_fields("sample-a-inpatient.txt");
    for column in [
        "BENE_ID",
        "CLM_ID",
        "NCH_CLM_TYPE_CD",
        "CLM_FROM_DT",
        "CLM_THRU_DT",
    ] {
        let keep: Vec<usize> = (0..header.len()).filter(|&i| header[i] != column).collect();
        let pick = |fields: &[String]| {
            keep.iter()
                .filter_map(|&i| fields.get(i).cloned())
                .collect::<Vec<_>>()
                .join("|")
        };
        let (_dir, path) = temp_file(
            "ip.txt",
            format!("{}\n{}\n", pick(&header), pick(&row)).as_bytes(),
        );
        let err = ClaimsFormat::Rif
            .read_file(&path, 0, None, |_| {})
            .unwrap_err();
        assert!(
            matches!(err, Error::MissingColumn { .. }),
            "{column}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("`{column}`")) && message.contains("ip.txt"),
            "{message}"
        );
    }
    let (_dir, path) = temp_file(
        "x.txt",
        b"BENE_ID|CLM_ID|NCH_CLM_TYPE_CD|CLM_FROM_DT|CLM_THRU_DT\n",
    );
    let err = ClaimsFormat::Rif
        .read_file(&path, 0, None, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("LINE_ALOWD_CHRG_AMT or CLM_PMT_AMT"), "{err}");
    let (_dir, path) = temp_file(
        "x.txt",
        b"BENE_ID|CLM_ID|NCH_CLM_TYPE_CD|CLM_FROM_DT|CLM_THRU_DT|CLM_PMT_AMT|clm_id\n",
    );
    let err = ClaimsFormat::Rif
        .read_file(&path, 0, None, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("column `CLM_ID` is named twice"), "{err}");
    let (_dir, path) = temp_file("x.txt", b"\n\n");
    assert!(matches!(
        ClaimsFormat::Rif.read_file(&path, 0, None, |_| {}),
        Err(Error::NoHeader { .. })
    ));
}

// ---------------------------------------------------------------------------
// Accounting: every row is exactly one outcome, and the money adds up
// ---------------------------------------------------------------------------

/// The run's accounting of a set of files, as `episode-recon` does it: row
/// checks while reading, then per beneficiary the version checks and final
/// action.
#[derive(Debug, Default, PartialEq, Eq)]
struct Accounting {
    read: Tally,
    rejected: Tally,
    after_cutoff: Tally,
    void: Tally,
    superseded: Tally,
    final_action: Tally,
    rejected_by_reason: BTreeMap<&'static str, u64>,
    /// Final-action claims per beneficiary and claim type.
    claims: BTreeMap<(String, &'static str), u64>,
}

fn account(paths: &[PathBuf], as_of: Option<&str>) -> Accounting {
    let mut acc = Accounting::default();
    let mut by_beneficiary: BTreeMap<Text, Vec<ClaimLine>> = BTreeMap::new();
    let mut tainted = Vec::new();
    for (index, path) in paths.iter().enumerate() {
        let bytes = std::fs::read(path).expect("file");
        let outcomes = outcomes_of(path, index as u32, as_of);
        // Exactly one outcome per data row, in file order.
        assert_eq!(
            outcomes.len(),
            data_rows(&bytes).len(),
            "{}",
            path.display()
        );
        for outcome in outcomes {
            match outcome {
                RowOutcome::Line(line) => {
                    acc.read.add(line.allowed);
                    by_beneficiary
                        .entry(line.beneficiary_id.clone())
                        .or_default()
                        .push(line);
                }
                RowOutcome::Rejected(r) => {
                    acc.read.add(r.amount);
                    acc.rejected.add(r.amount);
                    *acc.rejected_by_reason.entry(r.reason.name()).or_default() += 1;
                    tainted.extend(r.version);
                }
                RowOutcome::AfterCutoff { amount } => {
                    acc.read.add(amount);
                    acc.after_cutoff.add(amount);
                }
            }
        }
    }
    for (beneficiary, lines) in by_beneficiary {
        let mut lines: Vec<_> = lines.iter().map(ClaimLine::view).collect();
        let keys: HashSet<_> = tainted
            .iter()
            .filter(|k| k.beneficiary_id == beneficiary)
            .map(final_action::tainted_key)
            .collect();
        let resolved = final_action::resolve(&mut lines, &keys);
        for r in &resolved.rejects {
            acc.rejected.add(r.amount);
            *acc.rejected_by_reason.entry(r.reason.name()).or_default() += 1;
        }
        acc.void.merge(resolved.void);
        acc.superseded.merge(resolved.superseded);
        acc.final_action.merge(resolved.final_action);
        for claim in &resolved.claims() {
            *acc.claims
                .entry((beneficiary.to_string(), claim.claim_type().code()))
                .or_default() += 1;
        }
    }
    let mut sum = Tally::default();
    for part in [
        acc.rejected,
        acc.after_cutoff,
        acc.void,
        acc.superseded,
        acc.final_action,
    ] {
        sum.merge(part);
    }
    assert_eq!(sum, acc.read, "rows and amounts add up: {acc:?}");
    acc
}

fn tally(rows: u64, amount: &str) -> Tally {
    Tally {
        rows,
        amount: money(amount),
    }
}

#[test]
fn the_cms_samples_all_reach_final_action() {
    let names = [
        "sample-a-bcarrier-multiple-lines.txt",
        "sample-a-dme.txt",
        "sample-a-hha.txt",
        "sample-a-hospice.txt",
        "sample-a-inpatient.txt",
        "sample-a-outpatient.txt",
        "sample-a-snf.txt",
    ];
    let paths: Vec<_> = names.iter().map(|n| fixture(n)).collect();
    let acc = account(&paths, None);
    // 7 x 47.84 + 129.45 + 199.00 + 130.32 + 7953.48 + 997.84 + 3467.33
    assert_eq!(acc.final_action, tally(13, "13212.30"));
    assert_eq!(acc.read, acc.final_action);
    let kinds: Vec<_> = acc.claims.keys().map(|(_, t)| *t).collect();
    assert_eq!(kinds, ["DME", "HHA", "HOS", "IP", "OP", "PB", "SNF"]);
}

/// The single-line carrier sample repeats line 6 of the seven-line claim
/// (same claim, same processed date): read together, the version has a
/// duplicate line and is rejected whole, and the rows still add up.
#[test]
fn the_two_carrier_samples_together_are_one_version_with_a_duplicate_line() {
    let paths = [
        fixture("sample-a-bcarrier-multiple-lines.txt"),
        fixture("sample-a-bcarrier.txt"),
    ];
    let acc = account(&paths, None);
    assert_eq!(acc.read, tally(8, "382.72"));
    assert_eq!(acc.rejected, acc.read);
    assert_eq!(
        acc.rejected_by_reason,
        BTreeMap::from([("claim_has_rejected_row", 6), ("duplicate_line", 2)])
    );
}

/// The synthetic Blue Button export: every row maps, every claim reaches
/// final action, and the claims per beneficiary and kind are the ones its
/// `export_summary.csv` lists.
#[test]
fn the_synthea_export_maps_every_claim_of_its_summary() {
    let kinds = [
        ("carrier", "PB", "CARRIER_CLAIMS"),
        ("dme", "DME", "DME_CLAIMS"),
        ("hha", "HHA", "HHA_CLAIMS"),
        ("hospice", "HOS", "HOSPICE_CLAIMS"),
        ("inpatient", "IP", "INPATIENT_CLAIMS"),
        ("outpatient", "OP", "OUTPATIENT_CLAIMS"),
        ("snf", "SNF", "SNF_CLAIMS"),
    ];
    let paths: Vec<_> = kinds
        .iter()
        .map(|(file, _, _)| fixture(&format!("synthea/{file}.csv")))
        .collect();
    let acc = account(&paths, None);
    assert_eq!(acc.rejected.rows, 0, "{:?}", acc.rejected_by_reason);
    assert_eq!(acc.read, acc.final_action);
    assert_eq!(acc.read.rows, 221 + 1 + 15 + 8 + 16 + 19 + 67);

    let summary = std::fs::read_to_string(fixture("synthea/export_summary.csv")).unwrap();
    let mut rows = summary.lines();
    let header: Vec<_> = rows.next().unwrap().split(',').collect();
    let mut want = BTreeMap::new();
    for row in rows {
        let fields: Vec<_> = row.split(',').collect();
        for (_, code, column) in kinds {
            let i = header.iter().position(|h| *h == column).unwrap();
            let count: u64 = fields[i].parse().unwrap();
            if count > 0 {
                want.insert((fields[0].to_owned(), code), count);
            }
        }
    }
    assert_eq!(acc.claims, want);
}

/// Versions in RIF terms, through final action with a run-out cutoff:
/// `CLM_FREQ_CD` 7 replaces, `FINAL_ACTION` `N` and `DML_IND` `DELETE` void,
/// `DML_IND` `UPDATE` replaces, a bad row takes its version down, a version
/// processed after `--as-of` is not yet received.
#[test]
fn versions_from_rif_indicators_settle_and_add_up() {
    let header = "DML_IND|BENE_ID|CLM_ID|FINAL_ACTION|NCH_CLM_TYPE_CD|CLM_FROM_DT|CLM_THRU_DT|NCH_WKLY_PROC_DT|CLM_FREQ_CD|CLM_PMT_AMT|NCH_PRMRY_PYR_CLM_PD_AMT|CLM_LINE_NUM|LINE_NUM|LINE_ALOWD_CHRG_AMT";
    let rows = [
        // IP original, two revenue lines: 1000.00 + 50.00 on the first.
        "INSERT|B1|C1|F|60|01-MAR-2026|05-MAR-2026|10-MAR-2026|1|1000.00|50.00|1||",
        "INSERT|B1|C1|F|60|01-MAR-2026|05-MAR-2026|10-MAR-2026|1|1000.00|50.00|2||",
        // Its replacement, processed later: final action.
        "INSERT|B1|C1|F|60|01-MAR-2026|05-MAR-2026|20-MAR-2026|7|1200.00|0|1||",
        // A claim CMS marks not final action: void, counted nowhere.
        "INSERT|B1|C2|N|40|02-MAR-2026|02-MAR-2026|10-MAR-2026|1|300.00||1||",
        // A carrier line and its deletion on the same day: the void wins.
        "INSERT|B1|C3|F|71|03-MAR-2026|03-MAR-2026|10-MAR-2026|||||1|40.00",
        "DELETE|B1|C3|F|71|03-MAR-2026|03-MAR-2026|10-MAR-2026|||||1|40.00",
        // A carrier line updated later: the update is final.
        "INSERT|B1|C4|F|71|04-MAR-2026|04-MAR-2026|10-MAR-2026|||||1|25.00",
        "UPDATE|B1|C4|F|71|04-MAR-2026|04-MAR-2026|17-MAR-2026|||||1|26.00",
        // A bad date on one line rejects its version's other line too.
        "INSERT|B2|C5|F|71|05-MAR-2026|05-MAR-2026|10-MAR-2026|||||1|10.00",
        "INSERT|B2|C5|F|71|05-MAR-2026|31-APR-2026|10-MAR-2026|||||2|11.00",
        // Processed after the cutoff: not yet received, and not checked
        // (an unknown claim type has no allowed amount: 0.00).
        "INSERT|B2|C6|F|10|06-MAR-2026|06-MAR-2026|01-MAY-2026|1|70.00||1||",
        "INSERT|B2|C7|F|99|06-MAR-2026|06-MAR-2026|01-MAY-2026|1|5.00||1||",
    ];
    let (_dir, path) = temp_file(
        "versions.txt",
        format!("{header}\n{}\n", rows.join("\n")).as_bytes(),
    );
    let acc = account(&[path], Some("2026-04-30"));
    assert_eq!(acc.read, tally(12, "2772.00"));
    assert_eq!(acc.final_action, tally(2, "1226.00"));
    assert_eq!(acc.superseded, tally(4, "1115.00"));
    assert_eq!(acc.void, tally(2, "340.00"));
    assert_eq!(acc.after_cutoff, tally(2, "70.00"));
    assert_eq!(acc.rejected, tally(2, "21.00"));
    assert_eq!(
        acc.rejected_by_reason,
        BTreeMap::from([("bad_date", 1), ("claim_has_rejected_row", 1)])
    );
}

// ---------------------------------------------------------------------------
// Round trip
// ---------------------------------------------------------------------------

/// Canonical rows -> claim lines -> RIF text -> `rif::read_file` -> the
/// same claim lines, but for where they came from.
#[test]
fn canonical_lines_round_trip_through_rif() {
    let canonical = "\
claim_id,line_number,beneficiary_id,claim_type,from_date,thru_date,allowed_amount,record_type,processed_date,admission_date,discharge_date,line_date,provider_id,npi,drg,principal_dx,hcpcs,revenue_code
I1,1,B1,IP,2026-03-02,2026-03-05,15000.00,O,2026-03-20,2026-03-02,2026-03-05,2026-03-02,100001,,470,M17.11,,0001
I1,2,B1,IP,2026-03-02,2026-03-05,0,O,2026-03-20,2026-03-02,2026-03-05,2026-03-03,100001,,470,M17.11,27447,0360
P1,1,B1,PB,2026-03-03,2026-03-04,1500.50,,2026-03-15,,,2026-03-03,123456789,,,M17.11,27447,
P1,2,B1,PB,2026-03-03,2026-03-04,42.00,,2026-03-15,,,2026-03-04,123456789,,,M17.11,99231,
P1,1,B1,PB,2026-03-03,2026-03-04,1600.00,R,2026-04-01,,,,123456789,,,,27447,
D1,1,B1,DME,2026-03-10,2026-03-10,-35.25,V,2026-04-02,,,,987654321,,,,E0143,
S1,1,B1,SNF,2026-03-06,2026-03-20,4200.00,R,2026-04-05,2026-03-06,,,205001,,,Z47.1,,0022
H1,1,B1,HHA,2026-03-21,2026-04-19,2100.00,,,,,,207001,,,Z96.651,G0299,0023
O1,1,B2,OP,2026-05-01,2026-05-01,9000.00,,2026-05-10,,,,330001,,,,27447,0360
O1,2,B2,OP,2026-05-01,2026-05-01,0.00,,2026-05-10,,,,330001,,,,J2704,0636
Q1,1,B2,HOS,2026-06-01,2026-06-30,5000.00,,,,,,151001,,,C34.90,,0651
";
    let (_dir, path) = temp_file("claims.csv", canonical.as_bytes());
    let mut canonical_lines = Vec::new();
    ClaimsFormat::Canonical
        .read_file(&path, 0, None, |o| match o {
            RowOutcome::Line(line) => canonical_lines.push(line),
            other => panic!("canonical row rejected: {other:?}"),
        })
        .unwrap();
    assert_eq!(canonical_lines.len(), 11);

    let text = rif::write(&canonical_lines);
    assert!(rif::looks_like_rif(text.lines().next().unwrap()));
    let (_dir2, rif_path) = temp_file("claims.txt", text.as_bytes());
    let without_source = |lines: Vec<ClaimLine>| {
        lines
            .into_iter()
            .map(|l| ClaimLine {
                source: NOWHERE,
                ..l
            })
            .collect::<Vec<_>>()
    };
    let back = lines_of(&rif_path);
    // Rows and offsets are the RIF file's own.
    let rows: Vec<_> = back
        .iter()
        .map(|l| (l.source.row, l.source.offset))
        .collect();
    assert_eq!(rows, data_rows(text.as_bytes()));
    assert_eq!(without_source(back), without_source(canonical_lines));
}

/// The source lines are compared with when where they came from does not
/// matter.
const NOWHERE: Source = Source {
    file: 0,
    row: 0,
    offset: 0,
};

/// In a layout joining several kinds' columns, each row takes only its own
/// kind's fields: `CLM_FREQ_CD` versions institutional rows only, and the
/// admission (IP, SNF, HHA) and discharge (IP, SNF, hospice) dates are read
/// only for the kinds whose CMS layouts have them; others take the claim's
/// from and thru dates.
#[test]
fn a_joined_layout_gives_each_kind_only_its_own_fields() {
    let header = "DML_IND|BENE_ID|CLM_ID|FINAL_ACTION|NCH_CLM_TYPE_CD|CLM_FROM_DT|CLM_THRU_DT|\
                  CLM_FREQ_CD|CLM_ADMSN_DT|NCH_BENE_DSCHRG_DT|CLM_PMT_AMT|LINE_ALOWD_CHRG_AMT|LINE_NUM|CLM_LINE_NUM";
    let row = |claim: &str, kind: &str, frequency: &str| {
        format!(
            "INSERT|B1|{claim}|F|{kind}|01-JAN-2020|10-JAN-2020|{frequency}|02-JAN-2020|03-JAN-2020|\
             100.00|99.00|1|1\n"
        )
    };
    let text = format!(
        "{header}\n{}{}{}{}{}{}",
        row("PB7", "71", "7"),
        row("DME8", "82", "8"),
        row("HHA", "10", ""),
        row("HOS", "50", ""),
        row("OP", "40", ""),
        row("SNF7", "20", "7"),
    );
    let (_dir, path) = temp_file("joined.txt", text.as_bytes());
    let got: Vec<_> = lines_of(&path)
        .iter()
        .map(|l| {
            (
                l.claim_id.to_string(),
                l.record_type,
                l.admission_date.to_string(),
                l.discharge_date.to_string(),
            )
        })
        .collect();
    let expected = |claim: &str, record_type, admission: &str, discharge: &str| {
        (
            claim.to_owned(),
            record_type,
            admission.to_owned(),
            discharge.to_owned(),
        )
    };
    use RecordType::*;
    assert_eq!(
        got,
        [
            expected("PB7", Original, "2020-01-01", "2020-01-10"),
            expected("DME8", Original, "2020-01-01", "2020-01-10"),
            expected("HHA", Original, "2020-01-02", "2020-01-10"),
            expected("HOS", Original, "2020-01-01", "2020-01-03"),
            expected("OP", Original, "2020-01-01", "2020-01-10"),
            expected("SNF7", Replacement, "2020-01-02", "2020-01-03"),
        ]
    );
}
