//! The CCLF reader (`formats::cclf`, docs/INPUT-FORMATS.md "CCLF"): one
//! claim of each layout read (CCLF1 Part A header, CCLF2 Part A revenue
//! centre detail, CCLF5 Part B physician, CCLF6 DME) into hand-checked
//! claim lines, pipe and comma files, versions
//! from `CLM_ADJSMT_TYPE_CD` through final action, bad rows rejected with
//! the contract's reason and their row, and fatal header errors.
//!
//! The files are written here by hand in the guide's delimited layout (the
//! guide's field names as the header); no shared samples exist.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use episode_recon::engine::final_action;
use episode_recon::input::claims::Error;
use episode_recon::input::formats::{ClaimsFormat, cclf};
use episode_recon::model::money::Money;
use episode_recon::model::outcome::{RejectReason, RowOutcome};
use episode_recon::model::{ClaimLine, ClaimType, Date, LineRef, RecordType, Source, parse_date};

fn date(text: &str) -> Date {
    parse_date(text.as_bytes()).unwrap_or_else(|| panic!("not a date: {text}"))
}

fn money(text: &str) -> Money {
    Money::parse(text.as_bytes()).unwrap_or_else(|| panic!("not an amount: {text}"))
}

/// Writes `text` into a fresh temporary folder as `name`.
fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    (dir, path)
}

fn outcomes(path: &Path, as_of: Option<&str>) -> Vec<RowOutcome> {
    let mut out = Vec::new();
    ClaimsFormat::Cclf
        .read_file(path, 3, as_of.map(date), |o| out.push(o))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

fn lines(text: &str) -> Vec<ClaimLine> {
    let (_dir, path) = temp_file("cclf.txt", text);
    outcomes(&path, None)
        .into_iter()
        .map(|o| match o {
            RowOutcome::Line(line) => line,
            other => panic!("not a line: {other:?}"),
        })
        .collect()
}

pub(crate) const CCLF1_HEADER: &str = "CUR_CLM_UNIQ_ID|PRVDR_OSCAR_NUM|BENE_MBI_ID|BENE_HIC_NUM|CLM_TYPE_CD|\
CLM_FROM_DT|CLM_THRU_DT|CLM_BILL_FAC_TYPE_CD|CLM_BILL_CLSFCTN_CD|PRNCPL_DGNS_CD|ADMTG_DGNS_CD|\
CLM_MDCR_NPMT_RSN_CD|CLM_PMT_AMT|CLM_NCH_PRMRY_PYR_CD|PRVDR_FAC_FIPS_ST_CD|BENE_PTNT_STUS_CD|\
DGNS_DRG_CD|CLM_OP_SRVC_TYPE_CD|FAC_PRVDR_NPI_NUM|OPRTG_PRVDR_NPI_NUM|ATNDG_PRVDR_NPI_NUM|\
OTHR_PRVDR_NPI_NUM|CLM_ADJSMT_TYPE_CD|CLM_EFCTV_DT|CLM_IDR_LD_DT";

/// A CCLF1 row of the header above.
pub(crate) fn cclf1_row(id: &str, pmt: &str, adjsmt: &str, efctv: &str) -> String {
    format!(
        "{id}|140010|1EG4TE5MK73||60|2024-03-01|2024-03-05|1|1|M16.11||\
         |{pmt}||17|06|0470||1234567893||||{adjsmt}|{efctv}|2024-03-20"
    )
}

#[test]
fn a_part_a_header_claim_reads_into_one_line_with_its_payment() {
    let text = format!(
        "{CCLF1_HEADER}\n{}\n",
        cclf1_row("1001", "14500.25", "0", "2024-03-15")
    );
    let got = lines(&text);
    assert_eq!(got.len(), 1);
    let line = &got[0];
    assert_eq!((line.source.file, line.source.row), (3, 2));
    assert_eq!(line.source.offset, CCLF1_HEADER.len() as u64 + 1);
    assert_eq!(&*line.claim_id, "1001");
    assert_eq!(&*line.beneficiary_id, "1EG4TE5MK73");
    assert_eq!(line.line_number, 1);
    assert_eq!(line.claim_type, ClaimType::Ip);
    assert_eq!(line.record_type, RecordType::Original);
    assert_eq!(line.processed_date, date("2024-03-15"));
    assert_eq!(
        (line.from_date, line.thru_date),
        (date("2024-03-01"), date("2024-03-05"))
    );
    assert_eq!(
        (line.admission_date, line.discharge_date, line.line_date),
        (date("2024-03-01"), date("2024-03-05"), date("2024-03-01"))
    );
    assert_eq!(line.allowed, money("14500.25"));
    assert_eq!(line.provider_id.as_deref(), Some("140010"));
    assert_eq!(line.drg.as_deref(), Some("470"));
    assert_eq!(line.principal_dx.as_deref(), Some("M1611"));
    assert_eq!(line.hcpcs, None);
}

#[test]
fn a_part_b_physician_claim_reads_line_by_line() {
    // CCLF5, comma-delimited, dates as YYYYMMDD, HICN era (no MBI column),
    // processed date from the thru date (no CLM_EFCTV_DT value).
    let text = "CUR_CLM_UNIQ_ID,CLM_LINE_NUM,BENE_HIC_NUM,CLM_TYPE_CD,CLM_FROM_DT,CLM_THRU_DT,\
CLM_LINE_FROM_DT,CLM_LINE_THRU_DT,CLM_LINE_HCPCS_CD,CLM_LINE_CVRD_PD_AMT,CLM_RNDRG_PRVDR_TAX_NUM,\
RNDRG_PRVDR_NPI_NUM,CLM_ADJSMT_TYPE_CD,CLM_EFCTV_DT,CLM_LINE_ALOWD_CHRG_AMT,CLM_DGNS_1_CD\n\
2001,1,123456789A,71,20240301,20240302,20240301,20240301,27447,1400.00,123456789,1234567893,0,,1786.12,m16.11\n\
2001,2,123456789A,71,20240301,20240302,20240302,20240302,99232,60.00,123456789,1234567893,0,,76.50,m16.11\n";
    let got = lines(text);
    assert_eq!(got.len(), 2);
    let (a, b) = (&got[0], &got[1]);
    assert_eq!((a.source.row, b.source.row), (2, 3));
    assert_eq!((&*a.claim_id, &*a.beneficiary_id), ("2001", "123456789A"));
    assert_eq!((a.line_number, b.line_number), (1, 2));
    assert_eq!(a.claim_type, ClaimType::Pb);
    assert_eq!(a.record_type, RecordType::Original);
    assert_eq!(a.processed_date, date("2024-03-02"));
    assert_eq!(
        (a.line_date, b.line_date),
        (date("2024-03-01"), date("2024-03-02"))
    );
    assert_eq!((a.allowed, b.allowed), (money("1786.12"), money("76.50")));
    assert_eq!(a.hcpcs.as_deref(), Some("27447"));
    assert_eq!(a.provider_id.as_deref(), Some("123456789"));
    assert_eq!(a.principal_dx.as_deref(), Some("M1611"));
    assert_eq!(a.drg, None);
}

#[test]
fn a_dme_claim_reads_with_its_pay_to_supplier() {
    // CCLF6 without CLM_LINE_ALOWD_CHRG_AMT: the covered paid amount is taken.
    let text = "CUR_CLM_UNIQ_ID|CLM_LINE_NUM|BENE_MBI_ID|BENE_HIC_NUM|CLM_TYPE_CD|CLM_FROM_DT|\
CLM_THRU_DT|CLM_FED_TYPE_SRVC_CD|CLM_POS_CD|CLM_LINE_FROM_DT|CLM_LINE_THRU_DT|CLM_LINE_HCPCS_CD|\
CLM_LINE_CVRD_PD_AMT|CLM_PRMRY_PYR_CD|PAYTO_PRVDR_NPI_NUM|ORDRG_PRVDR_NPI_NUM|CLM_ADJSMT_TYPE_CD|\
CLM_EFCTV_DT\n\
3001|1|1EG4TE5MK73||82|2024-03-06|2024-03-06|R|12|2024-03-06|2024-03-06|e0143|85.40||1999999984|1234567893|0|2024-03-10\n";
    let got = lines(text);
    assert_eq!(got.len(), 1);
    let line = &got[0];
    assert_eq!(line.claim_type, ClaimType::Dme);
    assert_eq!(line.line_number, 1);
    assert_eq!(line.allowed, money("85.40"));
    assert_eq!(line.hcpcs.as_deref(), Some("E0143"));
    assert_eq!(line.provider_id.as_deref(), Some("1999999984"));
    assert_eq!(line.processed_date, date("2024-03-10"));
    assert_eq!(line.principal_dx, None);
}

/// The lines' views, which final action takes.
fn views(lines: &[ClaimLine]) -> Vec<LineRef<'_>> {
    lines.iter().map(ClaimLine::view).collect()
}

fn resolved<'a>(lines: &'a mut [LineRef<'_>]) -> final_action::Resolved<'a> {
    final_action::resolve(lines, &HashSet::new())
}

#[test]
fn adjustment_and_cancellation_decide_the_final_action() {
    // Original, then an adjustment: the adjustment is final.
    let text = format!(
        "{CCLF1_HEADER}\n{}\n{}\n",
        cclf1_row("1001", "14500.25", "0", "2024-03-15"),
        cclf1_row("1001", "15000.00", "2", "2024-04-15"),
    );
    let got = lines(&text);
    let mut got = views(&got);
    let r = resolved(&mut got);
    assert_eq!(r.claims().len(), 1);
    assert_eq!(r.claims()[0].head().record_type, RecordType::Replacement);
    assert_eq!(r.claims()[0].head().allowed, money("15000.00"));
    assert_eq!(
        (r.final_action.rows, r.superseded.rows, r.void.rows),
        (1, 1, 0)
    );

    // Then a cancellation (negative payment, as the guide's credits are):
    // the claim counts nowhere.
    let text = format!(
        "{CCLF1_HEADER}\n{}\n{}\n{}\n",
        cclf1_row("1001", "14500.25", "0", "2024-03-15"),
        cclf1_row("1001", "15000.00", "2", "2024-04-15"),
        cclf1_row("1001", "-15000.00", "1", "2024-05-15"),
    );
    let got = lines(&text);
    let mut got = views(&got);
    let r = resolved(&mut got);
    assert!(r.claims().is_empty());
    assert_eq!(
        (r.final_action.rows, r.superseded.rows, r.void.rows),
        (0, 2, 1)
    );

    // With a run-out cutoff before the cancellation, the adjustment stands.
    let (_dir, path) = temp_file("cclf1.txt", &text);
    let got = outcomes(&path, Some("2024-04-30"));
    assert!(matches!(
        got[2],
        RowOutcome::AfterCutoff { amount } if amount == money("-15000.00")
    ));
}

#[test]
fn bad_rows_are_rejected_with_reason_and_row() {
    let text = format!(
        "{CCLF1_HEADER}\n{}\n{}\n{}\n{}\n{}\n{}\n",
        cclf1_row("1001", "100.00", "0", "2024-02-30"), // bad date
        cclf1_row("", "100.00", "0", "2024-03-15"),     // missing key
        cclf1_row("1003", "100.00", "0", "2024-03-15").replacen("|60|", "|71|", 1), // Part B code in CCLF1
        cclf1_row("1004", "100.00", "5", "2024-03-15"), // unknown adjustment type
        cclf1_row("1005", "1,000.00", "0", "2024-03-15"), // bad amount
        "1006|140010|1EG4TE5MK73",                      // too few fields
    );
    let (_dir, path) = temp_file("cclf1.txt", &text);
    let got: Vec<_> = outcomes(&path, None)
        .into_iter()
        .map(|o| match o {
            RowOutcome::Rejected(r) => (r.reason, r.source.row, r.version.is_some(), r.raw),
            other => panic!("not rejected: {other:?}"),
        })
        .collect();
    let reasons: Vec<_> = got.iter().map(|g| (g.0, g.1, g.2)).collect();
    assert_eq!(
        reasons,
        [
            (RejectReason::BadDate, 2, false),
            (RejectReason::MissingField, 3, false),
            (RejectReason::BadClaimType, 4, true),
            (RejectReason::BadRecordType, 5, false),
            (RejectReason::BadAmount, 6, true),
            (RejectReason::BadFieldCount, 7, false),
        ]
    );
    assert_eq!(&*got[5].3, b"1006|140010|1EG4TE5MK73");
}

#[test]
fn headers_without_a_key_column_are_fatal() {
    let read = |text: &str| {
        let (_dir, path) = temp_file("cclf.txt", text);
        ClaimsFormat::Cclf.read_file(&path, 0, None, |_| {})
    };
    assert!(matches!(
        read("CUR_CLM_UNIQ_ID|CLM_TYPE_CD|CLM_FROM_DT|CLM_THRU_DT|CLM_PMT_AMT\n"),
        Err(Error::MissingColumn {
            column: "BENE_MBI_ID or BENE_HIC_NUM",
            ..
        })
    ));
    // A CCLF2 header without its amount column.
    assert!(matches!(
        read(
            "CUR_CLM_UNIQ_ID|CLM_LINE_NUM|BENE_MBI_ID|CLM_TYPE_CD|CLM_FROM_DT|CLM_THRU_DT|\
             CLM_LINE_PROD_REV_CTR_CD\n"
        ),
        Err(Error::MissingColumn {
            column: "CLM_LINE_CVRD_PD_AMT",
            ..
        })
    ));
    assert!(matches!(
        read("CUR_CLM_UNIQ_ID|BENE_MBI_ID|BENE_MBI_ID\n"),
        Err(Error::DuplicateColumn { .. })
    ));
    assert!(matches!(read(""), Err(Error::NoHeader { .. })));
    assert!(cclf::looks_like_cclf(CCLF1_HEADER));
}

#[test]
fn raw_rows_are_found_again() {
    let text = format!(
        "{CCLF1_HEADER}\r\n{}\r\n\r\n{}\r\n",
        cclf1_row("1001", "1.00", "0", "2024-03-15"),
        cclf1_row("1002", "2.00", "0", "2024-03-15"),
    );
    let (_dir, path) = temp_file("cclf1.txt", &text);
    let rows: Vec<_> = outcomes(&path, None)
        .into_iter()
        .map(|o| match o {
            RowOutcome::Line(l) => (l.source.row, l.source.offset),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(rows[0].0, 2);
    assert_eq!(rows[1].0, 4);
    let raw = cclf::raw_rows(&path, &rows).expect("raw rows");
    assert_eq!(
        &*raw[1],
        cclf1_row("1002", "2.00", "0", "2024-03-15").as_bytes()
    );
}

/// The guide's CCLF2 fields in its order, then `CLM_ADJSMT_TYPE_CD` and
/// `CLM_EFCTV_DT`, which the guide's CCLF2 lacks (added here as from the
/// claim's CCLF1 row, as the docs describe).
pub(crate) const CCLF2_GUIDE_HEADER: &str = "CUR_CLM_UNIQ_ID|CLM_LINE_NUM|BENE_MBI_ID|BENE_HIC_NUM|\
CLM_TYPE_CD|CLM_LINE_FROM_DT|CLM_LINE_THRU_DT|CLM_LINE_PROD_REV_CTR_CD|CLM_LINE_INSTNL_REV_CTR_DT|\
CLM_LINE_HCPCS_CD|BENE_EQTBL_BIC_HICN_NUM|PRVDR_OSCAR_NUM|CLM_FROM_DT|CLM_THRU_DT|\
CLM_LINE_SRVC_UNIT_QTY|CLM_LINE_CVRD_PD_AMT|HCPCS_1_MDFR_CD|HCPCS_2_MDFR_CD|HCPCS_3_MDFR_CD|\
HCPCS_4_MDFR_CD|HCPCS_5_MDFR_CD|CLM_REV_APC_HIPPS_CD|CLM_FAC_PRVDR_OSCAR_NUM";

fn cclf2_header() -> String {
    format!("{CCLF2_GUIDE_HEADER}|CLM_ADJSMT_TYPE_CD|CLM_EFCTV_DT")
}

/// A CCLF2 row of an outpatient claim (type 40, 2024-03-01 to 2024-03-02,
/// CCN 140010) without the two added columns.
fn cclf2_guide_row(
    id: &str,
    line: &str,
    rev_dt: &str,
    line_from: &str,
    hcpcs: &str,
    amt: &str,
) -> String {
    format!(
        "{id}|{line}|1EG4TE5MK73||40|{line_from}|{line_from}|0450|{rev_dt}|{hcpcs}||140010|\
         2024-03-01|2024-03-02|1|{amt}|25|||||5025|"
    )
}

/// [`cclf2_guide_row`] with `CLM_ADJSMT_TYPE_CD` and `CLM_EFCTV_DT`.
fn cclf2_row(id: &str, line: &str, rev_dt: &str, amt: &str, adjsmt: &str, efctv: &str) -> String {
    format!(
        "{}|{adjsmt}|{efctv}",
        cclf2_guide_row(id, line, rev_dt, "2024-03-02", "99284", amt)
    )
}

#[test]
fn a_revenue_centre_claim_reads_line_by_line_and_its_adjustment_is_final() {
    // Claim 4001: two revenue lines (line 2 without a revenue centre date,
    // so its line from date is its date), then an adjustment of both.
    let text = format!(
        "{}\n{}\n{}\n{}\n{}\n",
        cclf2_header(),
        cclf2_guide_row("4001", "1", "2024-03-01", "2024-03-01", "99284", "350.10")
            + "|0|2024-03-10",
        cclf2_guide_row("4001", "2", "", "2024-03-02", "71046", "40.25") + "|0|2024-03-10",
        cclf2_row("4001", "1", "2024-03-01", "360.10", "2", "2024-04-10"),
        cclf2_row("4001", "2", "2024-03-02", "40.25", "2", "2024-04-10"),
    );
    let got = lines(&text);
    assert_eq!(got.len(), 4);
    let (a, b) = (&got[0], &got[1]);
    assert_eq!((a.source.file, a.source.row, b.source.row), (3, 2, 3));
    assert_eq!((&*a.claim_id, &*a.beneficiary_id), ("4001", "1EG4TE5MK73"));
    assert_eq!((a.line_number, b.line_number), (1, 2));
    assert_eq!((a.claim_type, b.claim_type), (ClaimType::Op, ClaimType::Op));
    assert_eq!(a.record_type, RecordType::Original);
    assert_eq!(a.processed_date, date("2024-03-10"));
    assert_eq!(
        (a.from_date, a.thru_date, a.admission_date, a.discharge_date),
        (
            date("2024-03-01"),
            date("2024-03-02"),
            date("2024-03-01"),
            date("2024-03-02")
        )
    );
    assert_eq!(
        (a.line_date, b.line_date),
        (date("2024-03-01"), date("2024-03-02"))
    );
    assert_eq!((a.allowed, b.allowed), (money("350.10"), money("40.25")));
    assert_eq!(
        (a.hcpcs.as_deref(), b.hcpcs.as_deref()),
        (Some("99284"), Some("71046"))
    );
    assert_eq!(a.provider_id.as_deref(), Some("140010"));
    assert_eq!((a.drg.as_deref(), a.principal_dx.as_deref()), (None, None));
    assert_eq!(got[2].record_type, RecordType::Replacement);
    assert_eq!(got[2].processed_date, date("2024-04-10"));

    let mut got = views(&got);
    let r = final_action::resolve(&mut got, &HashSet::new());
    assert!(r.rejects.is_empty());
    assert_eq!(r.claims().len(), 1);
    let claim = &r.claims()[0];
    assert_eq!(claim.lines().len(), 2);
    assert!(
        claim
            .lines()
            .iter()
            .all(|l| l.record_type == RecordType::Replacement)
    );
    let total = claim.lines()[0].allowed.add_claim(claim.lines()[1].allowed);
    assert_eq!(total, money("400.35"));
    assert_eq!(
        (r.final_action.rows, r.superseded.rows, r.void.rows),
        (2, 2, 0)
    );
}

#[test]
fn a_guide_cclf2_without_version_columns_is_read_as_originals() {
    assert!(cclf::looks_like_cclf(CCLF2_GUIDE_HEADER));
    assert!(cclf::looks_like_cclf(&CCLF2_GUIDE_HEADER.replace('|', ",")));
    // Comma delimited, YYYYMMDD dates: processed on the thru date.
    let text = format!(
        "{}\n{}\n",
        CCLF2_GUIDE_HEADER.replace('|', ","),
        cclf2_guide_row("4002", "01", "20240301", "20240301", "", "12.00").replace('|', ","),
    );
    let got = lines(&text);
    assert_eq!(got.len(), 1);
    let line = &got[0];
    assert_eq!(line.line_number, 1);
    assert_eq!(line.record_type, RecordType::Original);
    assert_eq!(line.processed_date, date("2024-03-02"));
    assert_eq!(line.line_date, date("2024-03-01"));
    assert_eq!(line.allowed, money("12.00"));
    assert_eq!(line.hcpcs, None);
    assert_eq!(line.claim_type, ClaimType::Op);
}

#[test]
fn bad_revenue_centre_rows_are_rejected_with_reason_and_row() {
    let text = format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n",
        cclf2_header(),
        cclf2_row("4001", "1", "2024-02-30", "10.00", "0", "2024-03-10"), // bad date
        cclf2_row("4001", "", "2024-03-01", "10.00", "0", "2024-03-10"),  // no line number
        cclf2_row("", "3", "2024-03-01", "10.00", "0", "2024-03-10"),     // no claim id
        cclf2_row("4004", "1", "2024-03-01", "10.00", "0", "2024-03-10")
            .replacen("|40|", "|71|", 1), // Part B code
        cclf2_row("4005", "1", "2024-03-01", "", "0", "2024-03-10"),      // no amount
    );
    let (_dir, path) = temp_file("cclf2.txt", &text);
    let got: Vec<_> = outcomes(&path, None)
        .into_iter()
        .map(|o| match o {
            RowOutcome::Rejected(r) => (r.reason, r.source.row, r.version.is_some()),
            other => panic!("not rejected: {other:?}"),
        })
        .collect();
    assert_eq!(
        got,
        [
            (RejectReason::BadDate, 2, true),
            (RejectReason::MissingField, 3, true),
            (RejectReason::MissingField, 4, false),
            (RejectReason::BadClaimType, 5, true),
            (RejectReason::MissingField, 6, true),
        ]
    );
}

/// A fixed-width record of `length` characters: blanks, with each value
/// written at its 1-based start position (positions from the CCLF
/// Information Packet's tables, as docs/INPUT-FORMATS.md gives them).
fn fixed(length: usize, values: &[(usize, &str)]) -> String {
    let mut record = vec![b' '; length];
    for &(start, value) in values {
        record[start - 1..start - 1 + value.len()].copy_from_slice(value.as_bytes());
    }
    String::from_utf8(record).expect("ASCII")
}

/// A fixed-width CCLF1 record of the claim of [`cclf1_row`], with the
/// guide's zero-padded id and sign position, and fields the reader does not
/// use filled in (billing NPI, control number, contractor).
fn cclf1_fixed(id: &str, pmt: &str, adjsmt: &str, efctv: &str) -> String {
    fixed(
        437,
        &[
            (1, id),
            (14, "140010"),
            (20, "1EG4TE5MK73"),
            (42, "60"),
            (44, "2024-03-01"),
            (54, "2024-03-05"),
            (64, "1"),
            (65, "1"),
            (66, "M1611"),
            (82, pmt),
            (100, "17"),
            (102, "06"),
            (104, "0470"),
            (119, "1234567893"),
            (149, adjsmt),
            (151, efctv),
            (161, "2024-03-20"),
            (313, "1999999984"),
            (353, "CTRL-0001"),
            (433, "15201"),
        ],
    )
}

/// A line with its source cleared, to compare what two forms of one row say.
fn without_source(mut line: ClaimLine) -> ClaimLine {
    line.source = Source {
        file: 0,
        row: 0,
        offset: 0,
    };
    line
}

#[test]
fn a_fixed_width_part_a_header_reads_as_its_delimited_row_does() {
    let record = cclf1_fixed("0000000001001", " 0000000014500.25", "0", "2024-03-15");
    assert_eq!(record.len(), 437);
    let got = lines(&format!("{record}\n"));
    assert_eq!(got.len(), 1);
    let line = &got[0];
    // No header: the first record is line 1.
    assert_eq!((line.source.row, line.source.offset), (1, 0));
    assert_eq!(&*line.claim_id, "0000000001001");
    assert_eq!(line.allowed, money("14500.25"));
    assert_eq!(line.drg.as_deref(), Some("470"));
    assert_eq!(line.provider_id.as_deref(), Some("140010"));
    assert_eq!(line.processed_date, date("2024-03-15"));
    let delimited = lines(&format!(
        "{CCLF1_HEADER}\n{}\n",
        cclf1_row("0000000001001", "14500.25", "0", "2024-03-15")
    ));
    assert_eq!(
        without_source(line.clone()),
        without_source(delimited[0].clone())
    );
}

#[test]
fn a_fixed_width_revenue_centre_claim_reads_line_by_line() {
    // CCLF2: the inpatient-style sentinel 1000-01-01 as revenue centre date
    // on line 1 (so the line from date is its date), a real one on line 2.
    let line = |number: &str, line_from: &str, rev_dt: &str, hcpcs: &str, amt: &str| {
        fixed(
            199,
            &[
                (1, "0000000004001"),
                (14, number),
                (24, "1EG4TE5MK73"),
                (46, "40"),
                (48, line_from),
                (58, line_from),
                (68, "0450"),
                (72, rev_dt),
                (82, hcpcs),
                (98, "140010"),
                (104, "2024-03-01"),
                (114, "2024-03-02"),
                (124, " 000000000000000001.0000"),
                (148, amt),
                (165, "25"),
                (175, "5025 "),
                (180, "140010"),
            ],
        )
    };
    let text = format!(
        "{}\r\n{}\r\n",
        line(
            "0000000001",
            "2024-03-01",
            "1000-01-01",
            "99284",
            " 0000000000350.10"
        ),
        line(
            "0000000002",
            "2024-03-01",
            "2024-03-02",
            "~    ",
            "-0000000000040.25"
        ),
    );
    let got = lines(&text);
    assert_eq!(got.len(), 2);
    let (a, b) = (&got[0], &got[1]);
    assert_eq!((a.source.row, b.source.row), (1, 2));
    assert_eq!(b.source.offset, 201);
    assert_eq!((a.line_number, b.line_number), (1, 2));
    assert_eq!(
        (a.claim_type, a.record_type),
        (ClaimType::Op, RecordType::Original)
    );
    // No CLM_EFCTV_DT in CCLF2: processed on the claim thru date.
    assert_eq!(a.processed_date, date("2024-03-02"));
    assert_eq!(
        (a.line_date, b.line_date),
        (date("2024-03-01"), date("2024-03-02"))
    );
    assert_eq!((a.allowed, b.allowed), (money("350.10"), money("-40.25")));
    assert_eq!(
        (a.hcpcs.as_deref(), b.hcpcs.as_deref()),
        (Some("99284"), None)
    );
    assert_eq!(a.provider_id.as_deref(), Some("140010"));
}

#[test]
fn fixed_width_part_b_claims_take_the_allowed_amount() {
    // CCLF5: covered paid at 103, allowed at 223 (taken), an adjustment,
    // `~` for the diagnosis.
    let physician = fixed(
        388,
        &[
            (1, "0000000002001"),
            (14, "0000000001"),
            (24, "1EG4TE5MK73"),
            (46, "71"),
            (48, "2024-03-01"),
            (58, "2024-03-02"),
            (68, "001"),
            (76, "21"),
            (78, "2024-03-02"),
            (88, "2024-03-02"),
            (98, "99232"),
            (103, " 00000000060.00"),
            (119, "~"),
            (126, "123456789"),
            (136, "1234567893"),
            (150, "2"),
            (152, "2024-04-01"),
            (162, "2024-04-03"),
            (223, " 0000000000076.50"),
            (240, " 000000000000000001.0000"),
            (276, "~"),
            (384, "15202"),
        ],
    );
    let got = lines(&format!("{physician}\n"));
    let a = &got[0];
    assert_eq!(
        (a.claim_type, a.record_type),
        (ClaimType::Pb, RecordType::Replacement)
    );
    assert_eq!(a.allowed, money("76.50"));
    assert_eq!(a.processed_date, date("2024-04-01"));
    assert_eq!(a.line_date, date("2024-03-02"));
    assert_eq!(a.hcpcs.as_deref(), Some("99232"));
    assert_eq!(a.provider_id.as_deref(), Some("123456789"));
    assert_eq!(a.principal_dx, None);

    // CCLF6: the pay-to supplier, the allowed amount at 209.
    let dme = fixed(
        247,
        &[
            (1, "0000000003001"),
            (14, "0000000001"),
            (24, "1EG4TE5MK73"),
            (46, "82"),
            (48, "2024-03-06"),
            (58, "2024-03-06"),
            (68, "R"),
            (69, "12"),
            (71, "2024-03-06"),
            (81, "2024-03-06"),
            (91, "E0143"),
            (96, " 00000000068.32"),
            (112, "1999999984"),
            (122, "1234567893"),
            (136, "0"),
            (138, "2024-03-10"),
            (209, " 0000000000085.40"),
            (228, "1111111112"),
            (238, "1234567893"),
        ],
    );
    let got = lines(&format!("{dme}\n"));
    let d = &got[0];
    assert_eq!(
        (d.claim_type, d.record_type),
        (ClaimType::Dme, RecordType::Original)
    );
    assert_eq!(d.allowed, money("85.40"));
    assert_eq!(d.provider_id.as_deref(), Some("1999999984"));
    assert_eq!(d.hcpcs.as_deref(), Some("E0143"));
    assert_eq!(d.processed_date, date("2024-03-10"));
}

#[test]
fn bad_fixed_width_records_are_rejected_with_reason_and_row() {
    let good = cclf1_fixed("0000000001001", " 0000000000100.00", "0", "2024-03-15");
    let short = &good[..436];
    let bad_date = cclf1_fixed("0000000001003", " 0000000000100.00", "0", "2024-02-30");
    let sentinel_thru = good.replacen("2024-03-05", "9999-12-31", 1);
    let text = format!("{good}\n{short}\n{bad_date}\n{sentinel_thru}\n");
    let (_dir, path) = temp_file("P.A1234.ACO.ZC1Y24.D240401.T0100000", &text);
    let got: Vec<_> = outcomes(&path, None)
        .into_iter()
        .map(|o| match o {
            RowOutcome::Line(l) => (None, l.source.row),
            RowOutcome::Rejected(r) => (Some(r.reason), r.source.row),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        got,
        [
            (None, 1),
            (Some(RejectReason::BadFieldCount), 2),
            (Some(RejectReason::BadDate), 3),
            (Some(RejectReason::MissingField), 4),
        ]
    );
    // The raw text of a fixed-width row is found again by its offset.
    let raw = cclf::raw_rows(&path, &[(2, 438)]).expect("raw rows");
    assert_eq!(&*raw[0], short.as_bytes());
}

#[test]
fn fixed_width_files_are_detected_by_record_length() {
    use episode_recon::input::formats::ClaimsFormat;
    let record = cclf1_fixed("0000000001001", " 0000000000100.00", "0", "2024-03-15");
    assert!(cclf::looks_like_fixed_width_cclf(
        format!("{record}\r\n").as_bytes()
    ));
    assert!(cclf::looks_like_fixed_width_cclf(
        format!("\u{feff}{record}").as_bytes()
    ));
    assert!(!cclf::looks_like_fixed_width_cclf(
        &record.as_bytes()[..436]
    ));
    assert!(!cclf::looks_like_fixed_width_cclf(CCLF1_HEADER.as_bytes()));
    // A byte that is not UTF-8 in the filler: still a 437-byte record, found
    // by `auto` as by `cclf`, and that row is rejected as bad_encoding.
    let mut bytes = format!("{record}\n{record}\n").into_bytes();
    bytes[300] = 0xE9;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("cclf1.dat");
    std::fs::write(&path, &bytes).expect("write");
    assert_eq!(
        ClaimsFormat::Auto.of_file(&path).expect("readable"),
        ClaimsFormat::Cclf
    );
    let got = outcomes(&path, None);
    assert!(matches!(&got[0], RowOutcome::Rejected(r) if r.reason == RejectReason::BadEncoding));
    assert!(matches!(&got[1], RowOutcome::Line(_)));
    // With a BOM, the first record is read whole.
    let (_dir, path) = temp_file("cclf1-bom.dat", &format!("\u{feff}{record}\n"));
    assert!(matches!(&outcomes(&path, None)[..], [RowOutcome::Line(_)]));
}

#[test]
fn no_value_dates_read_as_empty_in_both_date_forms() {
    // CLM_EFCTV_DT as the guide's "no value" dates: the processed date falls
    // back to the thru date (2024-03-05) either way.
    for efctv in ["1000-01-01", "9999-12-31", "10000101", "99991231"] {
        let got = lines(&format!(
            "{CCLF1_HEADER}\n{}\n",
            cclf1_row("1001", "1.00", "0", efctv)
        ));
        assert_eq!(got[0].processed_date, date("2024-03-05"), "{efctv}");
    }
}
