//! The DE-SynPUF reader on the public CMS samples of `tests/fixtures/synpuf/`:
//! each file kind read into hand-checked canonical lines (amounts by the
//! documented formulas, dates, types, codes), a bad row rejected once with
//! its row whatever number of lines it would have made, and every source row
//! accounted for.

use episode_recon::model::Text;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use episode_recon::input::claims::Error;
use episode_recon::input::formats::ClaimsFormat;
use episode_recon::input::formats::synpuf::looks_like_synpuf;
use episode_recon::model::money::Money;
use episode_recon::model::outcome::{RejectReason, RowOutcome, VersionKey};
use episode_recon::model::{ClaimLine, ClaimType, Date, RecordType, Source, parse_date};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const INPATIENT: &str = "DE1_0_2008_to_2010_Inpatient_Claims_Sample_0.csv";
const OUTPATIENT: &str = "DE1_0_2008_to_2010_Outpatient_Claims_Sample_0.csv";
const CARRIER_A: &str = "DE1_0_2008_to_2010_Carrier_Claims_Sample_0A.csv";
const CARRIER_B: &str = "DE1_0_2008_to_2010_Carrier_Claims_Sample_0B.csv";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/synpuf")
        .join(name)
}

fn read_with(path: &Path, as_of: Option<&str>) -> Vec<RowOutcome> {
    let as_of = as_of.map(date);
    let mut out = Vec::new();
    ClaimsFormat::Synpuf
        .read_file(path, 3, as_of, |o| out.push(o))
        .unwrap();
    out
}

fn read(path: &Path) -> Vec<RowOutcome> {
    read_with(path, None)
}

fn lines(outcomes: &[RowOutcome]) -> Vec<&ClaimLine> {
    outcomes
        .iter()
        .filter_map(|o| match o {
            RowOutcome::Line(line) => Some(line),
            _ => None,
        })
        .collect()
}

fn date(text: &str) -> Date {
    parse_date(text.as_bytes()).unwrap()
}

fn money(text: &str) -> Money {
    Money::parse(text.as_bytes()).unwrap()
}

/// The text of a file's lines, as `(line, offset, text)`, header included.
fn file_lines(path: &Path) -> Vec<(u64, u64, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut offset = 0;
    let mut out = Vec::new();
    for (i, line) in text.split_inclusive('\n').enumerate() {
        out.push((i as u64 + 1, offset, line.trim_end_matches('\n').to_owned()));
        offset += line.len() as u64;
    }
    out
}

/// The source of data row `row` (1-based line) of a fixture, read as file 3.
fn source(path: &Path, row: u64) -> Source {
    let (_, offset, _) = file_lines(path)[row as usize - 1];
    Source {
        file: 3,
        row,
        offset,
    }
}

/// The fields of line `row` of a file, with some columns replaced by name.
fn edited(path: &Path, row: usize, changes: &[(&str, &str)]) -> String {
    let lines = file_lines(path);
    let header: Vec<String> = lines[0].2.split(',').map(|n| n.replace('"', "")).collect();
    let mut fields: Vec<String> = lines[row - 1].2.split(',').map(str::to_owned).collect();
    for (column, value) in changes {
        let at = header.iter().position(|n| n == column).unwrap();
        fields[at] = (*value).to_owned();
    }
    fields.join(",")
}

/// A file in `dir` with the header of `like` and these rows.
fn write(dir: &Path, name: &str, like: &Path, rows: &[String]) -> PathBuf {
    let header = &file_lines(like)[0].2;
    let path = dir.join(name);
    std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    path
}

/// A claim line with the fields every test states; the rest are defaults
/// of the contract for a one-day claim.
struct Expect<'a> {
    source: Source,
    beneficiary: &'a str,
    claim: &'a str,
    claim_type: ClaimType,
    from: &'a str,
    thru: &'a str,
    provider: &'a str,
    drg: Option<&'a str>,
    dx: &'a str,
}

impl Expect<'_> {
    fn line(&self, line_number: u64, hcpcs: Option<&str>, allowed: &str) -> ClaimLine {
        let arc = |s: &str| Text::from(s);
        ClaimLine {
            source: self.source,
            beneficiary_id: arc(self.beneficiary),
            claim_id: arc(self.claim),
            line_number,
            claim_type: self.claim_type,
            record_type: RecordType::Original,
            processed_date: date(self.thru),
            from_date: date(self.from),
            thru_date: date(self.thru),
            admission_date: date(self.from),
            discharge_date: date(self.thru),
            line_date: date(self.from),
            allowed: money(allowed),
            provider_id: Some(arc(self.provider)),
            drg: self.drg.map(arc),
            principal_dx: Some(arc(self.dx)),
            hcpcs: hcpcs.map(arc),
        }
    }
}

fn rejected(outcome: &RowOutcome) -> &episode_recon::model::outcome::RejectedRow {
    match outcome {
        RowOutcome::Rejected(r) => r,
        other => panic!("expected a reject, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Each kind, hand-checked
// ---------------------------------------------------------------------------

#[test]
fn inpatient_claims_are_one_line_with_the_claim_amount() {
    let path = fixture(INPATIENT);
    let outcomes = read(&path);
    // 13000 CLM_PMT_AMT + 0 primary payer + 1068 IP deductible + 0 Part A
    // coinsurance + 0 blood deductible + 0 per diem × 2 days = 14068.
    let first = Expect {
        source: source(&path, 2),
        beneficiary: "0002056B40CEE448",
        claim: "IP-744651196200598",
        claim_type: ClaimType::Ip,
        from: "20090208",
        thru: "20090210",
        provider: "1513QQ",
        drg: Some("494"),
        dx: "71537",
    };
    // 3000 + 0 + 1100 + 0 + 0 + 0 × 3 = 4100.
    let second = Expect {
        source: source(&path, 3),
        beneficiary: "0004D03F1BD5E607",
        claim: "IP-744861196237234",
        from: "20100807",
        thru: "20100810",
        provider: "0506GC",
        drg: Some("922"),
        dx: "95919",
        ..first
    };
    assert_eq!(
        outcomes,
        [
            RowOutcome::Line(first.line(1, None, "14068.00")),
            RowOutcome::Line(second.line(1, None, "4100.00")),
        ]
    );
}

#[test]
fn outpatient_claims_make_a_line_per_hcpcs_with_the_amount_on_line_1() {
    let path = fixture(OUTPATIENT);
    let outcomes = read(&path);
    // 70 CLM_PMT_AMT + 0 primary payer + 0 blood + 0 Part B deductible + 0
    // Part B coinsurance = 70.
    let first = Expect {
        source: source(&path, 2),
        beneficiary: "0002056B40CEE448",
        claim: "OP-90322200093989",
        claim_type: ClaimType::Op,
        from: "20080404",
        thru: "20080404",
        provider: "1513WQ",
        drg: None,
        dx: "73603",
    };
    // 60 + 0 + 0 + 0 + 20 Part B coinsurance = 80.
    let second = Expect {
        source: source(&path, 3),
        beneficiary: "0004D03F1BD5E607",
        claim: "OP-90182200681875",
        from: "20080831",
        thru: "20080831",
        provider: "0502NA",
        dx: "70401",
        ..first
    };
    assert_eq!(
        outcomes,
        [
            RowOutcome::Line(first.line(1, Some("72114"), "70.00")),
            RowOutcome::Line(first.line(2, Some("99282"), "0.00")),
            RowOutcome::Line(second.line(1, Some("10061"), "80.00")),
            RowOutcome::Line(second.line(2, Some("99213"), "0.00")),
        ]
    );
}

#[test]
fn carrier_claims_make_a_line_per_used_slot_with_its_allowed_amount() {
    let path = fixture(CARRIER_B);
    let outcomes = read(&path);
    // Slots 1 to 3 are used; LINE_ALOWD_CHRG_AMT_1..3 = 70, 10, 20; the
    // provider is TAX_NUM_1 for every line.
    let claim = Expect {
        source: source(&path, 2),
        beneficiary: "0004D03F1BD5E607",
        claim: "PB-436463304724170",
        claim_type: ClaimType::Pb,
        from: "20080828",
        thru: "20080828",
        provider: "275404078",
        drg: None,
        dx: "V0751",
    };
    assert_eq!(
        outcomes,
        [
            RowOutcome::Line(claim.line(1, Some("99337"), "70.00")),
            RowOutcome::Line(claim.line(2, Some("90775"), "10.00")),
            RowOutcome::Line(claim.line(3, Some("17003"), "20.00")),
        ]
    );

    let path = fixture(CARRIER_A);
    let claim = Expect {
        source: source(&path, 2),
        beneficiary: "0002056B40CEE448",
        claim: "PB-436313306961904",
        from: "20080229",
        thru: "20080229",
        provider: "953768367",
        dx: "36632",
        ..claim
    };
    assert_eq!(
        read(&path),
        [RowOutcome::Line(claim.line(1, Some("66984"), "100.00"))]
    );
}

#[test]
fn later_segments_continue_the_line_numbers_without_the_claim_amount() {
    let dir = tempfile::tempdir().unwrap();
    let like = fixture(INPATIENT);
    let rows = [
        edited(&like, 2, &[]),
        edited(
            &like,
            2,
            &[
                ("SEGMENT", "2"),
                ("HCPCS_CD_1", "99223"),
                ("HCPCS_CD_3", "j1100"),
            ],
        ),
    ];
    let path = write(dir.path(), "ip.csv", &like, &rows);
    let got: Vec<(u64, u64, Option<String>, Money)> = lines(&read(&path))
        .iter()
        .map(|l| {
            (
                l.source.row,
                l.line_number,
                l.hcpcs.as_deref().map(str::to_owned),
                l.allowed,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (2, 1, None, money("14068")),
            (3, 46, Some("99223".to_owned()), Money::ZERO),
            (3, 48, Some("J1100".to_owned()), Money::ZERO),
        ]
    );
}

// ---------------------------------------------------------------------------
// Bad rows: one reject per source row
// ---------------------------------------------------------------------------

#[test]
fn a_bad_institutional_row_is_one_reject_with_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let like = fixture(INPATIENT);
    let rows = [
        edited(&like, 2, &[]),
        edited(&like, 2, &[("CLM_FROM_DT", "20090230")]),
        edited(&like, 3, &[("DESYNPUF_ID", "")]),
        edited(&like, 3, &[("CLM_PMT_AMT", "3000.505")]),
        edited(&like, 3, &[("SEGMENT", "x")]),
        edited(&like, 3, &[("CLM_ADMSN_DT", "20100811")]),
    ];
    let path = write(dir.path(), "ip.csv", &like, &rows);
    let outcomes = read(&path);
    assert_eq!(outcomes.len(), 6);
    assert!(matches!(outcomes[0], RowOutcome::Line(_)));
    let expected = [
        (3, RejectReason::BadDate),
        (4, RejectReason::MissingField),
        (5, RejectReason::BadAmount),
        (6, RejectReason::BadLineNumber),
        (7, RejectReason::BadDateRange),
    ];
    for ((row, reason), outcome) in expected.into_iter().zip(&outcomes[1..]) {
        let reject = rejected(outcome);
        assert_eq!((reject.source.row, reject.reason), (row, reason));
        assert_eq!(reject.source, source(&path, row));
        assert_eq!(*reject.raw, *rows[row as usize - 2].as_bytes());
    }
    // A row without a beneficiary names no version; one with a bad amount
    // names its version (so the claim's other rows go with it), and counts
    // zero; one with a bad date counts its claim amount.
    assert_eq!(rejected(&outcomes[2]).version, None);
    let bad_amount = rejected(&outcomes[3]);
    assert_eq!(
        bad_amount.version,
        Some(VersionKey {
            beneficiary_id: "0004D03F1BD5E607".into(),
            claim_id: "IP-744861196237234".into(),
            processed_date: date("20100810"),
            record_type: RecordType::Original,
        })
    );
    assert_eq!(bad_amount.amount, Money::ZERO);
    assert_eq!(rejected(&outcomes[1]).amount, money("14068"));
}

#[test]
fn a_bad_carrier_row_is_one_reject_not_one_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let like = fixture(CARRIER_B);
    let mut empty_slots: Vec<(String, &str)> = Vec::new();
    for n in 1..=3 {
        for (family, value) in [
            ("HCPCS_CD", ""),
            ("TAX_NUM", ""),
            ("PRF_PHYSN_NPI", ""),
            ("LINE_ALOWD_CHRG_AMT", "0"),
        ] {
            empty_slots.push((format!("{family}_{n}"), value));
        }
    }
    let empty_slots: Vec<(&str, &str)> =
        empty_slots.iter().map(|(c, v)| (c.as_str(), *v)).collect();
    let rows = [
        edited(&like, 2, &[("LINE_ALOWD_CHRG_AMT_2", "10.5x")]),
        edited(&like, 2, &[("LINE_ALOWD_CHRG_AMT_3", "")]),
        edited(&like, 2, &empty_slots),
        edited(&like, 2, &[("CLM_THRU_DT", "2008-08-32")]),
        edited(&like, 2, &[("CLM_FROM_DT", "20080829")]),
        edited(&like, 2, &[("CLM_ID", "")]),
        edited(&like, 2, &[]),
    ];
    let path = write(dir.path(), "carrier.csv", &like, &rows);
    let outcomes = read(&path);
    let reasons: Vec<(u64, Option<RejectReason>)> = outcomes
        .iter()
        .map(|o| match o {
            RowOutcome::Line(l) => (l.source.row, None),
            RowOutcome::Rejected(r) => (r.source.row, Some(r.reason)),
            RowOutcome::AfterCutoff { .. } => panic!("no cutoff"),
        })
        .collect();
    use RejectReason::*;
    assert_eq!(
        reasons,
        [
            (2, Some(BadAmount)),
            (3, Some(MissingField)),
            (4, Some(MissingField)),
            (5, Some(BadDate)),
            (6, Some(BadDateRange)),
            (7, Some(MissingField)),
            (8, None),
            (8, None),
            (8, None),
        ]
    );
    // The reject of row 2 counts the amounts that parse as zero: the row's
    // amount does not parse as a whole.
    assert_eq!(rejected(&outcomes[0]).amount, Money::ZERO);
    assert_eq!(rejected(&outcomes[3]).version, None);
    assert_eq!(rejected(&outcomes[4]).amount, money("100"));
}

#[test]
fn a_row_after_the_cutoff_is_one_outcome_with_the_row_amount() {
    let path = fixture(CARRIER_B);
    assert_eq!(
        read_with(&path, Some("20080827")),
        [RowOutcome::AfterCutoff {
            amount: money("100")
        }]
    );
    assert_eq!(lines(&read_with(&path, Some("20080828"))).len(), 3);
}

// ---------------------------------------------------------------------------
// Accounting: every source row is seen
// ---------------------------------------------------------------------------

#[test]
fn every_source_row_is_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "op.csv",
        &fixture(OUTPATIENT),
        &[
            edited(&fixture(OUTPATIENT), 2, &[("CLM_PMT_AMT", "1e3")]),
            edited(&fixture(OUTPATIENT), 3, &[]),
            // A blank line (skipped) and a short row.
            String::new(),
            "0004D03F1BD5E607,1,1".to_owned(),
        ],
    );
    // (path, lines per data row, rejected rows, total allowed of the lines)
    let cases = [
        (fixture(INPATIENT), vec![1, 1], 0, "18168.00"),
        (fixture(OUTPATIENT), vec![2, 2], 0, "150.00"),
        (fixture(CARRIER_A), vec![1], 0, "100.00"),
        (fixture(CARRIER_B), vec![3], 0, "100.00"),
        (bad, vec![0, 2, 0], 2, "80.00"),
    ];
    for (path, per_row, rejects, total) in cases {
        let outcomes = read(&path);
        let data_rows: Vec<u64> = file_lines(&path)[1..]
            .iter()
            .filter(|(_, _, text)| !text.is_empty())
            .map(|(line, _, _)| *line)
            .collect();
        let mut seen: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
        for outcome in &outcomes {
            match outcome {
                RowOutcome::Line(l) => seen.entry(l.source.row).or_default().0 += 1,
                RowOutcome::Rejected(r) => seen.entry(r.source.row).or_default().1 += 1,
                RowOutcome::AfterCutoff { .. } => panic!("no cutoff"),
            }
        }
        // Each data row is seen, either as lines or as exactly one reject.
        assert_eq!(
            seen.keys().copied().collect::<Vec<_>>(),
            data_rows,
            "{path:?}"
        );
        for (row, (made, rejected)) in &seen {
            assert!(
                (*made > 0 && *rejected == 0) || (*made == 0 && *rejected == 1),
                "{path:?} row {row}"
            );
        }
        let made: Vec<usize> = seen.values().map(|(m, _)| *m).collect();
        assert_eq!(made, per_row, "{path:?}");
        assert_eq!(seen.values().map(|(_, r)| r).sum::<usize>(), rejects);
        // The summary's rule: outcomes = lines made + rejected rows.
        assert_eq!(outcomes.len(), per_row.iter().sum::<usize>() + rejects);
        let allowed = Money::checked_sum(lines(&outcomes).iter().map(|l| l.allowed)).unwrap();
        assert_eq!(allowed, money(total), "{path:?}");
    }
}

// ---------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------

#[test]
fn synpuf_headers_are_recognized() {
    for name in [INPATIENT, OUTPATIENT, CARRIER_A, CARRIER_B] {
        let header = &file_lines(&fixture(name))[0].2;
        assert!(looks_like_synpuf(header), "{name}");
    }
    assert!(looks_like_synpuf(
        "\u{feff}desynpuf_id, clm_id ,LINE_ALOWD_CHRG_AMT_2\n1,2,3"
    ));
    for other in [
        // The beneficiary summary and drug event files of DE-SynPUF.
        "\"DESYNPUF_ID\",\"BENE_BIRTH_DT\",\"BENE_DEATH_DT\",\"MEDREIMB_IP\"",
        "\"DESYNPUF_ID\",\"PDE_ID\",\"SRVC_DT\",\"TOT_RX_CST_AMT\"",
        "\"DESYNPUF_ID\",\"CLM_ID\",\"CLM_FROM_DT\"",
        "BENE_ID|CLM_ID|NCH_CLM_TYPE_CD|CLM_PMT_AMT",
        "claim_id,line_number,beneficiary_id,claim_type",
    ] {
        assert!(!looks_like_synpuf(other), "{other}");
    }
}

#[test]
fn header_problems_are_fatal_and_name_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let error = |header: &str| {
        let path = dir.path().join("h.csv");
        std::fs::write(&path, format!("{header}\n")).unwrap();
        ClaimsFormat::Synpuf
            .read_file(&path, 0, None, |_| {})
            .unwrap_err()
    };
    let keys = "\"DESYNPUF_ID\",\"CLM_ID\",\"CLM_FROM_DT\",\"CLM_THRU_DT\"";
    let message = error(keys).to_string();
    assert!(
        message.contains("missing required column `CLM_PMT_AMT`"),
        "{message}"
    );
    assert!(matches!(
        error("\"DESYNPUF_ID\",\"BENE_BIRTH_DT\""),
        Error::MissingColumn {
            column: "CLM_ID",
            ..
        }
    ));
    assert!(matches!(
        error(&format!("{keys},\"CLM_PMT_AMT\",\"CLM_DRG_CD\"")),
        Error::MissingColumn {
            column: "CLM_ADMSN_DT",
            ..
        }
    ));
    assert!(matches!(
        error(&format!(
            "{keys},\"CLM_PMT_AMT\",\"HCPCS_CD_3\",\"HCPCS_CD_3\""
        )),
        Error::DuplicateColumn {
            column: "HCPCS_CD_<n>",
            ..
        }
    ));
    assert!(matches!(
        error(&format!("{keys},\"CLM_ID\",\"CLM_PMT_AMT\"")),
        Error::DuplicateColumn {
            column: "CLM_ID",
            ..
        }
    ));
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    assert!(matches!(
        ClaimsFormat::Synpuf.read_file(&empty, 0, None, |_| {}),
        Err(Error::NoHeader { .. })
    ));
}
