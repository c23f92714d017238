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

use episode_recon::claims::{Error, RejectReason, RowOutcome};
use episode_recon::final_action;
use episode_recon::formats::cclf;
use episode_recon::model::{ClaimLine, ClaimType, Date, RecordType, parse_date};
use episode_recon::money::Money;

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
    cclf::read_file(path, 3, as_of.map(date), |o| out.push(o))
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

fn resolved(text: &str) -> final_action::Resolved {
    final_action::resolve(lines(text), &HashSet::new())
}

#[test]
fn adjustment_and_cancellation_decide_the_final_action() {
    // Original, then an adjustment: the adjustment is final.
    let text = format!(
        "{CCLF1_HEADER}\n{}\n{}\n",
        cclf1_row("1001", "14500.25", "0", "2024-03-15"),
        cclf1_row("1001", "15000.00", "2", "2024-04-15"),
    );
    let r = resolved(&text);
    assert_eq!(r.claims.len(), 1);
    assert_eq!(r.claims[0].head().record_type, RecordType::Replacement);
    assert_eq!(r.claims[0].head().allowed, money("15000.00"));
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
    let r = resolved(&text);
    assert!(r.claims.is_empty());
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
        cclf::read_file(&path, 0, None, |_| {})
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

    let r = final_action::resolve(got, &HashSet::new());
    assert!(r.rejects.is_empty());
    assert_eq!(r.claims.len(), 1);
    let claim = &r.claims[0];
    assert_eq!(claim.lines().len(), 2);
    assert!(
        claim
            .lines()
            .iter()
            .all(|l| l.record_type == RecordType::Replacement)
    );
    let total = claim.lines()[0].allowed + claim.lines()[1].allowed;
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
