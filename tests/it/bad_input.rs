//! Bad input (contract section 5, with 1.1, 1.3 and 1.4): every reject
//! reason with its exact `rejects.csv` row, the order of the row checks, the
//! accounting of rejected rows, `--strict`, fatal errors and usage errors of
//! the binary, and `check-definitions`.

use std::process::Output;

use crate::support::{CLAIMS_HEADER, Case, Outputs, lejr, stderr};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The value of each column of a good PB row, in `CLAIMS_HEADER` order.
const BASE: [(&str, &str); 18] = [
    ("claim_id", "C1"),
    ("line_number", "1"),
    ("beneficiary_id", "B1"),
    ("claim_type", "PB"),
    ("from_date", "2026-03-02"),
    ("thru_date", "2026-03-02"),
    ("allowed_amount", "100.00"),
    ("record_type", ""),
    ("processed_date", ""),
    ("admission_date", ""),
    ("discharge_date", ""),
    ("line_date", ""),
    ("provider_id", "P1"),
    ("npi", ""),
    ("drg", ""),
    ("principal_dx", ""),
    ("hcpcs", ""),
    ("revenue_code", ""),
];

/// A claims row: the good PB row of [`BASE`] with some columns replaced.
/// Values are written as given (include quotes to quote a field); a later
/// override of a column wins.
fn row(overrides: &[(&str, &str)]) -> String {
    for (column, _) in overrides {
        assert!(
            BASE.iter().any(|(c, _)| c == column),
            "unknown column {column}"
        );
    }
    BASE.iter()
        .map(|(column, value)| {
            overrides
                .iter()
                .rev()
                .find(|(c, _)| c == column)
                .map_or(*value, |(_, v)| *v)
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Rows joined with `\n` line ends, the last one ended too.
fn lines(rows: &[String]) -> String {
    rows.iter().map(|r| format!("{r}\n")).collect()
}

/// A case with one claims file of `rows` (header added), the LEJR definition
/// and no prices.
fn case_of(rows: &[String]) -> Case {
    Case::new(&lines(rows), &[("lejr.toml", &lejr(0, ""))], "")
}

/// A CSV field as the contract writes it: quoted only when needed.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The exact `rejects.csv` of rejected rows `(row, reason, raw record)` of
/// `claims.csv`, given in file order.
fn rejects_csv(rows: &[(u64, &str, &str)]) -> String {
    let mut text = String::from("file,row,reason,record\n");
    for (row, reason, raw) in rows {
        text.push_str(&format!("claims.csv,{row},{reason},{}\n", csv_field(raw)));
    }
    text
}

/// `rejects.csv` when `rows` are the file's first data rows (lines 2, 3,
/// ...) and each is rejected for `reason`.
fn leading_rejects(rows: &[String], reason: &str) -> String {
    let expected: Vec<(u64, &str, &str)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (i as u64 + 2, reason, r.as_str()))
        .collect();
    rejects_csv(&expected)
}

/// The keys of `rejected_by_reason` in the order `summary.json` writes them,
/// with their counts.
fn reasons_in_text_order(summary: &str) -> Vec<(String, u64)> {
    let start = summary
        .find("\"rejected_by_reason\"")
        .expect("rejected_by_reason in summary.json");
    let open = start + summary[start..].find('{').expect("an object");
    let close = open + summary[open..].find('}').expect("the object's end");
    summary[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (key, value) = entry.split_once(':').expect("key: value");
            (
                key.trim().trim_matches('"').to_owned(),
                value.trim().parse().expect("a count"),
            )
        })
        .collect()
}

/// `(rows, amount)` of one line of the summary's accounting.
fn tally(summary: &serde_json::Value, what: &str) -> (u64, String) {
    let rows = summary["rows"][what]
        .as_u64()
        .unwrap_or_else(|| panic!("rows.{what}"));
    let amount = summary["amounts"][what]
        .as_str()
        .unwrap_or_else(|| panic!("amounts.{what}"))
        .to_owned();
    (rows, amount)
}

fn assert_adds_up(summary: &serde_json::Value) {
    assert_eq!(summary["rows"]["adds_up"], true, "{summary:#}");
    assert_eq!(summary["amounts"]["adds_up"], true, "{summary:#}");
    assert_eq!(summary["check"], true, "{summary:#}");
}

/// The arguments of a reconcile run of the case's files into `out`.
fn reconcile_args<'a>(claims: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["reconcile", "--claims"];
    args.extend_from_slice(claims);
    args.extend_from_slice(&[
        "--definitions",
        "definitions",
        "--target-prices",
        "target_prices.csv",
        "--out",
        "out",
    ]);
    args.extend_from_slice(extra);
    args
}

/// No `.out.partial-*` folder is left in the case folder.
fn assert_no_partial_outputs(case: &Case) {
    let leftovers: Vec<String> = std::fs::read_dir(case.dir.path())
        .expect("read the case folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.contains("partial"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "partial outputs left behind: {leftovers:?}"
    );
}

/// A fatal input error: exit 1, one line on stderr starting `error: ` that
/// holds every needle, no `out` folder and no partial outputs.
fn assert_fatal(case: &Case, output: &Output, needles: &[&str]) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "exit status; stderr: {err}");
    assert!(
        err.starts_with("error: "),
        "stderr starts with `error: `: {err:?}"
    );
    assert_eq!(
        err.trim_end_matches('\n').lines().count(),
        1,
        "one line on stderr: {err:?}"
    );
    for needle in needles {
        assert!(err.contains(needle), "stderr names {needle:?}: {err:?}");
    }
    assert!(
        !case.path("out").exists(),
        "no --out folder after a fatal error"
    );
    assert_no_partial_outputs(case);
}

fn assert_usage_error(output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(2),
        "exit status; stderr: {}",
        stderr(output)
    );
    assert!(!stderr(output).is_empty(), "a usage error says why");
}

/// A good case for the binary: one final-action PB claim.
fn good_case() -> Case {
    case_of(&[row(&[])])
}

// ---------------------------------------------------------------------------
// Each reject reason, with its exact rejects.csv row
// ---------------------------------------------------------------------------

#[test]
fn a_file_ending_inside_a_quoted_field_is_bad_csv() {
    let good = row(&[]);
    let open = row(&[("claim_id", "C2"), ("npi", "\"open")]);
    let tail = row(&[("claim_id", "C3")]);
    let case = case_of(&[good, open.clone(), tail.clone()]);
    let out = case.run();
    // The record runs from row 3 to the end of the file, without the last
    // line end; the following row is swallowed into it.
    let raw = format!("{open}\n{tail}");
    assert_eq!(out.rejects, rejects_csv(&[(3, "bad_csv", &raw)]));
    let summary = out.summary_json();
    assert_eq!(tally(&summary, "final_action"), (1, "100.00".into()));
    assert_eq!(tally(&summary, "rejected"), (1, "0.00".into()));
    assert_adds_up(&summary);
}

#[test]
fn too_few_or_too_many_fields_is_bad_field_count() {
    let short = "C2,1,B1,PB,2026-03-02,2026-03-02,5.00".to_owned();
    let long = format!("{},extra", row(&[("claim_id", "C3")]));
    let trailing_comma = format!("{},", row(&[("claim_id", "C4")]));
    let case = case_of(&[
        row(&[]),
        short.clone(),
        long.clone(),
        trailing_comma.clone(),
    ]);
    let out = case.run();
    assert_eq!(
        out.rejects,
        rejects_csv(&[
            (3, "bad_field_count", &short),
            (4, "bad_field_count", &long),
            (5, "bad_field_count", &trailing_comma)
        ])
    );
    assert_eq!(
        tally(&out.summary_json(), "final_action"),
        (1, "100.00".into())
    );
}

#[test]
fn invalid_utf8_is_bad_encoding_and_the_raw_bytes_are_kept() {
    let case = good_case();
    let mut bytes = format!("{CLAIMS_HEADER}\n").into_bytes();
    bytes.extend_from_slice(row(&[]).as_bytes());
    bytes.push(b'\n');
    // Row 3: an invalid byte in the npi field of claim C2, line 1.
    let bad: Vec<u8> = row(&[("claim_id", "C2"), ("npi", "N#")])
        .bytes()
        .map(|b| if b == b'#' { 0xFF } else { b })
        .collect();
    bytes.extend_from_slice(&bad);
    bytes.push(b'\n');
    // Row 4: another line of C2, good in itself.
    let sibling = row(&[
        ("claim_id", "C2"),
        ("line_number", "2"),
        ("allowed_amount", "7.00"),
    ]);
    bytes.extend_from_slice(sibling.as_bytes());
    bytes.push(b'\n');
    case.write_bytes("claims.csv", &bytes);

    let output = case.cli(&reconcile_args(&["claims.csv"], &[]));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let rejects = std::fs::read(case.path("out/rejects.csv")).expect("rejects.csv");
    // Both records hold commas, so both are quoted.
    let mut expected = b"file,row,reason,record\nclaims.csv,3,bad_encoding,\"".to_vec();
    expected.extend_from_slice(&bad);
    expected.extend_from_slice(
        format!("\"\nclaims.csv,4,claim_has_rejected_row,\"{sibling}\"\n").as_bytes(),
    );
    assert_eq!(
        String::from_utf8_lossy(&rejects),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(
        rejects, expected,
        "the raw bytes of the bad row are written as read"
    );

    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(case.path("out/summary.json")).expect("summary"),
    )
    .expect("JSON");
    // The bad row's amount parses, so it counts.
    assert_eq!(tally(&summary, "rejected"), (2, "107.00".into()));
    assert_eq!(tally(&summary, "final_action"), (1, "100.00".into()));
    assert_adds_up(&summary);
}

#[test]
fn an_empty_required_field_is_missing_field() {
    let required = [
        "claim_id",
        "line_number",
        "beneficiary_id",
        "claim_type",
        "from_date",
        "thru_date",
        "allowed_amount",
    ];
    let mut rows = Vec::new();
    let mut expected = Vec::new();
    for (i, column) in required.iter().enumerate() {
        let claim = format!("M{i}");
        // Whitespace only is empty once trimmed.
        let value = if i % 2 == 0 { "" } else { "  " };
        let r = if *column == "claim_id" {
            row(&[(column, value)])
        } else {
            row(&[("claim_id", &claim), (column, value)])
        };
        rows.push(r);
    }
    for (i, r) in rows.iter().enumerate() {
        expected.push((i as u64 + 2, "missing_field", r.as_str()));
    }
    let case = case_of(&rows);
    let out = case.run();
    assert_eq!(out.rejects, rejects_csv(&expected));
}

#[test]
fn a_line_number_that_is_not_an_integer_of_at_least_one_is_bad_line_number() {
    let bad = ["0", "x", "-1", "1.5", "00"];
    let rows: Vec<String> = bad
        .iter()
        .enumerate()
        .map(|(i, n)| row(&[("claim_id", &format!("L{i}")), ("line_number", n)]))
        .collect();
    // `01` is line 1.
    let good = row(&[("claim_id", "OK"), ("line_number", "01")]);
    let mut all = rows.clone();
    all.push(good);
    let case = case_of(&all);
    let out = case.run();
    assert_eq!(out.rejects, leading_rejects(&rows, "bad_line_number"));
    assert_eq!(
        tally(&out.summary_json(), "final_action"),
        (1, "100.00".into())
    );
}

#[test]
fn an_unknown_claim_type_is_bad_claim_type() {
    let bad = ["XX", "Part B", "I P"];
    let rows: Vec<String> = bad
        .iter()
        .enumerate()
        .map(|(i, t)| row(&[("claim_id", &format!("T{i}")), ("claim_type", t)]))
        .collect();
    let mut all = rows.clone();
    // Codes are compared upper case.
    all.push(row(&[("claim_id", "OK"), ("claim_type", "pb")]));
    let out = case_of(&all).run();
    assert_eq!(out.rejects, leading_rejects(&rows, "bad_claim_type"));
    assert_eq!(
        tally(&out.summary_json(), "final_action"),
        (1, "100.00".into())
    );
}

#[test]
fn an_unknown_record_type_is_bad_record_type_and_rejected_alone() {
    let bad = row(&[("line_number", "3"), ("record_type", "X")]);
    let bad2 = row(&[("claim_id", "C2"), ("record_type", "RR")]);
    let rows = [
        row(&[]),
        row(&[("line_number", "2"), ("record_type", "o")]),
        bad.clone(),
        bad2.clone(),
    ];
    let out = case_of(&rows).run();
    // The row names no readable version, so the other rows of C1 stand.
    assert_eq!(
        out.rejects,
        rejects_csv(&[(4, "bad_record_type", &bad), (5, "bad_record_type", &bad2)])
    );
    let summary = out.summary_json();
    assert_eq!(tally(&summary, "final_action"), (2, "200.00".into()));
    assert_eq!(tally(&summary, "rejected"), (2, "200.00".into()));
    assert_adds_up(&summary);
}

#[test]
fn every_date_column_is_checked_for_a_real_date() {
    let columns = [
        "from_date",
        "thru_date",
        "processed_date",
        "admission_date",
        "discharge_date",
        "line_date",
    ];
    let values = ["2026-02-30", "2026/03/01", "2026-3-1", "20260230"];
    let mut rows = Vec::new();
    for column in columns {
        for value in values {
            let claim = format!("D{}", rows.len());
            rows.push(row(&[
                ("claim_id", &claim),
                ("claim_type", "IP"),
                (column, value),
            ]));
        }
    }
    let bad_count = rows.len();
    // Both forms of a real date, including a leap day, are fine.
    rows.push(row(&[
        ("claim_id", "OK1"),
        ("claim_type", "IP"),
        ("from_date", "20240229"),
        ("thru_date", "2024-03-01"),
        ("processed_date", "20240315"),
        ("admission_date", "2024-02-29"),
        ("discharge_date", "20240301"),
        ("line_date", "2024-03-01"),
    ]));
    let out = case_of(&rows).run();
    assert_eq!(out.rejects, leading_rejects(&rows[..bad_count], "bad_date"));
    assert_eq!(
        tally(&out.summary_json(), "final_action"),
        (1, "100.00".into())
    );
}

#[test]
fn dates_out_of_order_are_bad_date_range() {
    let from_after_thru = row(&[
        ("claim_id", "R1"),
        ("from_date", "2026-03-03"),
        ("thru_date", "2026-03-02"),
    ]);
    let ip_admission_after_discharge = row(&[
        ("claim_id", "R2"),
        ("claim_type", "IP"),
        ("from_date", "2026-03-01"),
        ("thru_date", "2026-03-10"),
        ("admission_date", "2026-03-05"),
        ("discharge_date", "2026-03-04"),
    ]);
    // On a PB row the admission order is not checked.
    let pb_admission_after_discharge = row(&[
        ("claim_id", "R3"),
        ("from_date", "2026-03-01"),
        ("thru_date", "2026-03-10"),
        ("admission_date", "2026-03-05"),
        ("discharge_date", "2026-03-04"),
    ]);
    // from = thru is fine.
    let same_day = row(&[("claim_id", "R4")]);
    let rows = [
        from_after_thru.clone(),
        ip_admission_after_discharge.clone(),
        pb_admission_after_discharge,
        same_day,
    ];
    let out = case_of(&rows).run();
    assert_eq!(
        out.rejects,
        rejects_csv(&[
            (2, "bad_date_range", &from_after_thru),
            (3, "bad_date_range", &ip_admission_after_discharge)
        ])
    );
    assert_eq!(
        tally(&out.summary_json(), "final_action"),
        (2, "200.00".into())
    );
}

#[test]
fn an_amount_that_is_not_whole_cents_is_bad_amount() {
    let bad = [
        "10.505",
        "\"1,050.00\"",
        "1e3",
        "$10.00",
        ".50",
        "10.",
        "1 000",
        "--3",
    ];
    let rows: Vec<String> = bad
        .iter()
        .enumerate()
        .map(|(i, a)| row(&[("claim_id", &format!("A{i}")), ("allowed_amount", a)]))
        .collect();
    let good = ["10.50", "10.500", "-3", "+4", "0", "007.1"];
    let mut all = rows.clone();
    for (i, a) in good.iter().enumerate() {
        all.push(row(&[
            ("claim_id", &format!("G{i}")),
            ("allowed_amount", a),
        ]));
    }
    let out = case_of(&all).run();
    assert_eq!(out.rejects, leading_rejects(&rows, "bad_amount"));
    // The quoted amount is written back with its quotes doubled.
    assert!(
        out.rejects
            .contains(",\"A1,1,B1,PB,2026-03-02,2026-03-02,\"\"1,050.00\"\","),
        "{}",
        out.rejects
    );
    let summary = out.summary_json();
    // 10.50 + 10.50 - 3 + 4 + 0 + 7.10
    assert_eq!(tally(&summary, "final_action"), (6, "29.10".into()));
    assert_eq!(tally(&summary, "rejected"), (8, "0.00".into()));
    assert_adds_up(&summary);
}

#[test]
fn a_line_number_twice_in_a_version_rejects_both_rows_as_duplicate_line() {
    let first = row(&[("allowed_amount", "10.00")]);
    let second = row(&[("line_number", "01"), ("allowed_amount", "11.00")]);
    let other = row(&[("line_number", "2"), ("allowed_amount", "12.00")]);
    // The same line number in another version of the claim is no duplicate.
    let replacement = row(&[
        ("record_type", "R"),
        ("processed_date", "2026-04-01"),
        ("allowed_amount", "13.00"),
    ]);
    let replacement_line_2 = row(&[
        ("line_number", "2"),
        ("record_type", "R"),
        ("processed_date", "2026-04-01"),
        ("allowed_amount", "14.00"),
    ]);
    let rows = [
        first.clone(),
        second.clone(),
        other.clone(),
        replacement,
        replacement_line_2,
    ];
    let out = case_of(&rows).run();
    assert_eq!(
        out.rejects,
        rejects_csv(&[
            (2, "duplicate_line", &first),
            (3, "duplicate_line", &second),
            (4, "claim_has_rejected_row", &other),
        ])
    );
    let summary = out.summary_json();
    assert_eq!(tally(&summary, "final_action"), (2, "27.00".into()));
    assert_eq!(tally(&summary, "superseded"), (0, "0.00".into()));
    assert_eq!(tally(&summary, "rejected"), (3, "33.00".into()));
    assert_adds_up(&summary);
}

/// A version with a row-level reject still has its version checks: among
/// its rows that passed, a repeated line number is `duplicate_line` and a
/// disagreement `inconsistent_claim`; only the rows left after those are
/// `claim_has_rejected_row` (contract 5; RULES 8). `--strict` then names the
/// first of them in reading order, the duplicate on row 2.
#[test]
fn a_version_with_a_bad_row_still_gets_its_version_checks() {
    let z = |line: &str, amount: &str| {
        row(&[
            ("claim_id", "Z1"),
            ("line_number", line),
            ("allowed_amount", amount),
        ])
    };
    let y = |line: &str, amount: &str, provider: &str| {
        row(&[
            ("claim_id", "Y6"),
            ("line_number", line),
            ("allowed_amount", amount),
            ("provider_id", provider),
        ])
    };
    let rows = [
        z("1", "11.00"),
        z("1", "12.00"),
        z("2", "x"),
        z("3", "13.00"),
        y("1", "11.00", "P1"),
        y("2", "12.00", "P2"),
        y("3", "x", "P1"),
    ];
    let case = case_of(&rows);
    let out = case.run();
    assert_eq!(
        out.rejects,
        rejects_csv(&[
            (2, "duplicate_line", &rows[0]),
            (3, "duplicate_line", &rows[1]),
            (4, "bad_amount", &rows[2]),
            (5, "claim_has_rejected_row", &rows[3]),
            (6, "inconsistent_claim", &rows[4]),
            (7, "inconsistent_claim", &rows[5]),
            (8, "bad_amount", &rows[6]),
        ])
    );
    let summary = out.summary_json();
    // 11 + 12 + 13 + 11 + 12; the bad amounts count zero.
    assert_eq!(tally(&summary, "rejected"), (7, "59.00".into()));
    assert_adds_up(&summary);
    let output = case.cli(&reconcile_args(&["claims.csv"], &["--strict"]));
    assert_fatal(&case, &output, &["claims.csv", "row 2", "duplicate_line"]);
}

#[test]
fn rows_disagreeing_on_a_claim_field_are_inconsistent_claim() {
    let ip = |claim: &str, line: &str, field: (&str, &str)| {
        row(&[
            ("claim_id", claim),
            ("line_number", line),
            ("claim_type", "IP"),
            ("from_date", "2026-03-02"),
            ("thru_date", "2026-03-05"),
            ("drg", "470"),
            ("principal_dx", "M17.11"),
            // Explicit, so a different thru_date does not make a different
            // version (processed_date defaults to thru_date).
            ("processed_date", "2026-03-10"),
            field,
        ])
    };
    let fields: [(&str, &str); 8] = [
        ("provider_id", "P2"),
        ("claim_type", "SNF"),
        ("from_date", "2026-03-01"),
        ("thru_date", "2026-03-06"),
        ("admission_date", "2026-03-03"),
        ("discharge_date", "2026-03-04"),
        ("drg", "469"),
        ("principal_dx", "M17.12"),
    ];
    let mut rows = Vec::new();
    let mut expected_rows = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let claim = format!("I{i}");
        let a = ip(&claim, "1", ("npi", ""));
        let b = ip(&claim, "2", *field);
        expected_rows.push((rows.len() as u64 + 2, a.clone()));
        expected_rows.push((rows.len() as u64 + 3, b.clone()));
        rows.push(a);
        rows.push(b);
    }
    // Codes compare in normal form: `470` and `0470`, `M17.11` and `m1711`,
    // `IP` and `ip` agree; an absent admission date equals the from date.
    rows.push(ip("OK", "1", ("npi", "")));
    rows.push(row(&[
        ("claim_id", "OK"),
        ("line_number", "2"),
        ("claim_type", "ip"),
        ("from_date", "20260302"),
        ("thru_date", "2026-03-05"),
        ("admission_date", "2026-03-02"),
        ("drg", "0470"),
        ("principal_dx", "m1711"),
        ("processed_date", "20260310"),
    ]));
    let out = case_of(&rows).run();
    let expected: Vec<(u64, &str, &str)> = expected_rows
        .iter()
        .map(|(n, r)| (*n, "inconsistent_claim", r.as_str()))
        .collect();
    assert_eq!(out.rejects, rejects_csv(&expected));
    let summary = out.summary_json();
    assert_eq!(tally(&summary, "final_action"), (2, "200.00".into()));
    assert_adds_up(&summary);
}

#[test]
fn the_other_rows_of_a_version_with_a_rejected_row_are_claim_has_rejected_row() {
    let original = row(&[("allowed_amount", "50.00")]);
    let r1 = row(&[
        ("record_type", "R"),
        ("processed_date", "2026-04-01"),
        ("allowed_amount", "60.00"),
    ]);
    let r2 = row(&[
        ("line_number", "2"),
        ("record_type", "R"),
        ("processed_date", "2026-04-01"),
        ("allowed_amount", "6.005"),
    ]);
    let r3 = row(&[
        ("line_number", "3"),
        ("record_type", "r"),
        ("processed_date", "20260401"),
        ("allowed_amount", "7.00"),
    ]);
    let rows = [r1.clone(), original, r2.clone(), r3.clone()];
    let out = case_of(&rows).run();
    assert_eq!(
        out.rejects,
        rejects_csv(&[
            (2, "claim_has_rejected_row", &r1),
            (4, "bad_amount", &r2),
            (5, "claim_has_rejected_row", &r3)
        ])
    );
    // The rejected replacement is as if never received: the original stands.
    let summary = out.summary_json();
    assert_eq!(tally(&summary, "final_action"), (1, "50.00".into()));
    assert_eq!(tally(&summary, "superseded"), (0, "0.00".into()));
    assert_eq!(tally(&summary, "rejected"), (3, "67.00".into()));
    assert_adds_up(&summary);
}

#[test]
fn the_first_row_check_that_fails_wins() {
    let cases: [(&[(&str, &str)], &str); 10] = [
        (
            &[("line_number", "0"), ("allowed_amount", "10.505")],
            "bad_line_number",
        ),
        (
            &[("line_number", "x"), ("claim_type", "XX")],
            "bad_line_number",
        ),
        (&[("claim_type", ""), ("line_number", "0")], "missing_field"),
        (
            &[("claim_type", "XX"), ("record_type", "X")],
            "bad_claim_type",
        ),
        (
            &[("record_type", "X"), ("from_date", "2026-02-30")],
            "bad_record_type",
        ),
        (
            &[("line_date", "2026/03/01"), ("from_date", "2026-03-05")],
            "bad_date",
        ),
        (
            &[("from_date", "2026-03-05"), ("allowed_amount", "1e3")],
            "bad_date_range",
        ),
        (
            &[("allowed_amount", ""), ("line_number", "0")],
            "missing_field",
        ),
        (
            &[("beneficiary_id", ""), ("allowed_amount", "x")],
            "missing_field",
        ),
        (
            &[("thru_date", "2026-13-01"), ("allowed_amount", "\"1,0\"")],
            "bad_date",
        ),
    ];
    let mut rows = Vec::new();
    let mut expected = Vec::new();
    for (i, (overrides, _)) in cases.iter().enumerate() {
        let claim = format!("F{i}");
        let mut all = vec![("claim_id", claim.as_str())];
        all.extend_from_slice(overrides);
        rows.push(row(&all));
    }
    // One field too many comes before everything else the row gets wrong.
    rows.push(format!(
        "{},x",
        row(&[("claim_id", "F10"), ("line_number", "0")])
    ));
    for (i, r) in rows.iter().enumerate() {
        let reason = cases.get(i).map_or("bad_field_count", |c| c.1);
        expected.push((i as u64 + 2, reason, r.as_str()));
    }
    let out = case_of(&rows).run();
    assert_eq!(out.rejects, rejects_csv(&expected));
}

#[test]
fn bad_field_count_comes_before_bad_encoding_and_bad_encoding_before_the_rest() {
    let case = good_case();
    let mut bytes = format!("{CLAIMS_HEADER}\n").into_bytes();
    // Row 2: one field short and not UTF-8.
    bytes.extend_from_slice(b"C1,1,B1,PB,2026-03-02,2026-03-02,1.00,\xFF\n");
    // Row 3: not UTF-8 and a bad line number.
    bytes.extend_from_slice(b"C2,0,B1,PB,2026-03-02,2026-03-02,1.00,,,,,,P1,\xC3\x28,,,,\n");
    case.write_bytes("claims.csv", &bytes);
    let recon = case
        .reconcile(&["claims.csv"], None, false, 1)
        .expect("the run succeeds");
    let reasons: Vec<(u64, &str)> = recon
        .rejects
        .iter()
        .map(|r| (r.row, r.reason.name()))
        .collect();
    assert_eq!(reasons, [(2, "bad_field_count"), (3, "bad_encoding")]);
    assert_eq!(
        &*recon.rejects[1].record,
        &b"C2,0,B1,PB,2026-03-02,2026-03-02,1.00,,,,,,P1,\xC3\x28,,,,"[..]
    );
}

#[test]
fn row_numbers_count_blank_lines_and_quoted_line_breaks() {
    let multi_line = row(&[
        ("claim_id", "Q1"),
        ("npi", "\"first\nsecond\nthird\""),
        ("allowed_amount", "1e3"),
    ]);
    let after = row(&[("claim_id", "Q2"), ("allowed_amount", "2e3")]);
    let text = format!(
        "{CLAIMS_HEADER}\n\n{}\n\r\n\n{multi_line}\n\n{after}\n",
        row(&[])
    );
    // Line 1 header, 2 blank, 3 good, 4-5 blank, 6-8 the quoted record,
    // 9 blank, 10 the last row.
    let case = good_case();
    case.write("claims.csv", &text);
    let out = case.run();
    assert_eq!(
        out.rejects,
        rejects_csv(&[(6, "bad_amount", &multi_line), (10, "bad_amount", &after)])
    );
    let summary = out.summary_json();
    assert_eq!(summary["rows"]["read"], 3);
    assert_eq!(tally(&summary, "final_action"), (1, "100.00".into()));
}

#[test]
fn a_crlf_file_with_a_bom_reads_the_same_as_an_lf_file_without_one() {
    let rows = [
        row(&[]),
        row(&[("line_number", "2"), ("allowed_amount", "5.5")]),
        row(&[("claim_id", "C2"), ("allowed_amount", "10.505")]),
        row(&[("claim_id", "C2"), ("line_number", "2")]),
        "C3,1,B1".to_owned(),
        row(&[
            ("claim_id", "IP1"),
            ("claim_type", "IP"),
            ("from_date", "2026-03-02"),
            ("thru_date", "2026-03-05"),
            ("drg", "470"),
            ("allowed_amount", "20000"),
        ]),
        row(&[
            ("claim_id", "X"),
            ("from_date", "2026-03-10"),
            ("allowed_amount", "\"1,5\""),
        ]),
    ];
    let lf = format!("{CLAIMS_HEADER}\n{}\n", rows.join("\n"));
    let crlf = format!("\u{feff}{CLAIMS_HEADER}\r\n{}\r\n\r\n", rows.join("\r\n"));
    let a = good_case();
    a.write("claims.csv", &lf);
    let b = good_case();
    b.write("claims.csv", &crlf);
    let (out_a, out_b) = (a.run(), b.run());
    assert_eq!(out_a, out_b);
    assert_eq!(out_a.reject_reasons().len(), 4, "{}", out_a.rejects);
    assert_eq!(out_a.episode_rows().len(), 1, "{}", out_a.episodes);
    // A BOM before the header does not hide the first column's name.
    assert!(!out_b.rejects.contains('\u{feff}'));
    assert!(
        !out_b.rejects.contains('\r'),
        "records are written without their line end"
    );
}

#[test]
fn rows_that_name_no_version_are_rejected_alone() {
    let no_claim = row(&[
        ("claim_id", ""),
        ("line_number", "3"),
        ("allowed_amount", "1.00"),
    ]);
    let no_beneficiary = row(&[
        ("beneficiary_id", " "),
        ("line_number", "4"),
        ("allowed_amount", "2.00"),
    ]);
    let bad_processed = row(&[
        ("line_number", "5"),
        ("processed_date", "2026-02-30"),
        ("allowed_amount", "3.00"),
    ]);
    let bad_thru = row(&[
        ("line_number", "6"),
        ("thru_date", "2026/03/02"),
        ("allowed_amount", "4.00"),
    ]);
    let rows = [
        row(&[]),
        row(&[("line_number", "2")]),
        no_claim.clone(),
        no_beneficiary.clone(),
        bad_processed.clone(),
        bad_thru.clone(),
    ];
    let out = case_of(&rows).run();
    assert_eq!(
        out.rejects,
        rejects_csv(&[
            (4, "missing_field", &no_claim),
            (5, "missing_field", &no_beneficiary),
            (6, "bad_date", &bad_processed),
            (7, "bad_date", &bad_thru),
        ])
    );
    let summary = out.summary_json();
    assert_eq!(tally(&summary, "final_action"), (2, "200.00".into()));
    assert_eq!(tally(&summary, "rejected"), (4, "10.00".into()));
    assert_adds_up(&summary);
}

#[test]
fn a_bad_row_that_names_its_version_takes_the_version_down() {
    // Contrast with the test above: a readable version is tainted.
    let bad_from = row(&[("line_number", "3"), ("from_date", "2026-02-30")]);
    let rows = [row(&[]), row(&[("line_number", "2")]), bad_from.clone()];
    let out = case_of(&rows).run();
    assert_eq!(
        out.rejects,
        rejects_csv(&[
            (2, "claim_has_rejected_row", &rows[0]),
            (3, "claim_has_rejected_row", &rows[1]),
            (4, "bad_date", &bad_from)
        ])
    );
}

#[test]
fn a_version_split_across_files_is_rejected_in_every_file() {
    let case = good_case();
    case.write(
        "a.csv",
        &format!("{CLAIMS_HEADER}\n{}\n", row(&[("allowed_amount", "1.001")])),
    );
    case.write(
        "b.csv",
        &format!("{CLAIMS_HEADER}\n{}\n", row(&[("line_number", "2")])),
    );
    let out = case.run_files(&["a.csv", "b.csv"], None, 1);
    let reasons: Vec<(String, u64, String)> = out
        .rejects
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.splitn(4, ',').collect();
            (f[0].to_owned(), f[1].parse().expect("row"), f[2].to_owned())
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("a.csv".into(), 2, "bad_amount".into()),
            ("b.csv".into(), 2, "claim_has_rejected_row".into())
        ]
    );
}

// ---------------------------------------------------------------------------
// Nothing is lost
// ---------------------------------------------------------------------------

#[test]
fn a_file_mixing_good_and_bad_rows_adds_up() {
    let rows = [
        row(&[]),                                                  // 2 final_action 100.00
        row(&[("line_number", "2"), ("allowed_amount", "50.00")]), // 3 final_action 50.00
        row(&[("claim_id", "C2"), ("allowed_amount", "10.505")]),  // 4 bad_amount 0
        row(&[
            ("claim_id", "C2"),
            ("line_number", "2"),
            ("allowed_amount", "20"),
        ]), // 5 claim_has_rejected_row 20
        row(&[
            ("claim_id", "C3"),
            ("line_number", "0"),
            ("allowed_amount", "30"),
        ]), // 6 bad_line_number 30
        row(&[("claim_id", "C4"), ("allowed_amount", "40")]),      // 7 duplicate_line 40
        row(&[("claim_id", "C4"), ("allowed_amount", "41")]),      // 8 duplicate_line 41
        row(&[("claim_id", "C5"), ("allowed_amount", "5")]),       // 9 inconsistent_claim 5
        row(&[
            ("claim_id", "C5"),
            ("line_number", "2"),
            ("provider_id", "P2"),
            ("allowed_amount", "6"),
        ]), // 10 inconsistent 6
        "C6,1,B1".to_owned(),                                      // 11 bad_field_count 0
        row(&[("claim_id", "C7"), ("allowed_amount", "7")]),       // 12 superseded 7
        row(&[
            ("claim_id", "C7"),
            ("record_type", "R"),
            ("processed_date", "2026-04-01"),
            ("allowed_amount", "8"),
        ]), // 13 final 8
        row(&[("claim_id", "C8"), ("allowed_amount", "9")]),       // 14 superseded 9
        row(&[
            ("claim_id", "C8"),
            ("record_type", "V"),
            ("processed_date", "2026-04-01"),
            ("allowed_amount", "9"),
        ]), // 15 void 9
        row(&[("claim_id", ""), ("allowed_amount", "12")]),        // 16 missing_field 12
    ];
    let out = case_of(&rows).run();
    let summary = out.summary_json();
    assert_eq!(tally(&summary, "read"), (15, "337.00".into()));
    assert_eq!(tally(&summary, "rejected"), (9, "154.00".into()));
    assert_eq!(tally(&summary, "after_cutoff"), (0, "0.00".into()));
    assert_eq!(tally(&summary, "void"), (1, "9.00".into()));
    assert_eq!(tally(&summary, "superseded"), (2, "16.00".into()));
    assert_eq!(tally(&summary, "final_action"), (3, "158.00".into()));
    assert_adds_up(&summary);
    assert_eq!(summary["episode_types"]["LEJR"]["adds_up"], true);
    assert_eq!(summary["episode_types"]["LEJR"]["outside_amount"], "158.00");
    let reasons = reasons_in_text_order(&out.summary);
    let expected: Vec<(String, u64)> = [
        ("bad_amount", 1),
        ("bad_field_count", 1),
        ("bad_line_number", 1),
        ("claim_has_rejected_row", 1),
        ("duplicate_line", 2),
        ("inconsistent_claim", 2),
        ("missing_field", 1),
    ]
    .iter()
    .map(|(k, n)| ((*k).to_owned(), *n))
    .collect();
    assert_eq!(reasons, expected);
    assert_eq!(
        out.reject_reasons(),
        [
            (4, "bad_amount".to_owned()),
            (5, "claim_has_rejected_row".to_owned()),
            (6, "bad_line_number".to_owned()),
            (7, "duplicate_line".to_owned()),
            (8, "duplicate_line".to_owned()),
            (9, "inconsistent_claim".to_owned()),
            (10, "inconsistent_claim".to_owned()),
            (11, "bad_field_count".to_owned()),
            (16, "missing_field".to_owned()),
        ]
    );
}

#[test]
fn a_clean_file_has_an_empty_rejected_by_reason() {
    let out = good_case().run();
    assert_eq!(out.rejects, "file,row,reason,record\n");
    assert!(
        reasons_in_text_order(&out.summary).is_empty(),
        "{}",
        out.summary
    );
    assert_adds_up(&out.summary_json());
}

// ---------------------------------------------------------------------------
// --strict
// ---------------------------------------------------------------------------

#[test]
fn strict_names_the_first_rejected_row_in_reading_order() {
    let case = good_case();
    // z.csv is given first: its rows come before a.csv's. Its row 2 is
    // claim_has_rejected_row (never named), row 3 the bad row.
    case.write(
        "z.csv",
        &format!(
            "{CLAIMS_HEADER}\n{}\n{}\n",
            row(&[("claim_id", "Z1")]),
            row(&[
                ("claim_id", "Z1"),
                ("line_number", "2"),
                ("allowed_amount", "1.234")
            ])
        ),
    );
    case.write(
        "a.csv",
        &format!(
            "{CLAIMS_HEADER}\n{}\n",
            row(&[("claim_id", "A1"), ("claim_type", "XX")])
        ),
    );
    let output = case.cli(&reconcile_args(&["z.csv", "a.csv"], &["--strict"]));
    assert_fatal(&case, &output, &["z.csv", "row 3", "bad_amount"]);
    assert!(
        !stderr(&output).contains("claim_has_rejected_row"),
        "{}",
        stderr(&output)
    );

    let output = case.cli(&reconcile_args(&["a.csv", "z.csv"], &["--strict"]));
    assert_fatal(&case, &output, &["a.csv", "row 2", "bad_claim_type"]);
}

#[test]
fn strict_names_a_version_level_reject_when_it_comes_first() {
    let case = case_of(&[
        row(&[]),
        row(&[]),
        row(&[("claim_id", "C2"), ("line_number", "-1")]),
    ]);
    let output = case.cli(&reconcile_args(&["claims.csv"], &["--strict"]));
    assert_fatal(&case, &output, &["claims.csv", "row 2", "duplicate_line"]);
}

/// Removes the terminal colour codes of a log line (`ESC [ ... m`).
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `--strict` stops at a rejected first row: no row before it can be
/// rejected, so it is the contract's first whatever comes after, and the
/// rest of its file and the files after it are never read (RULES 26). The
/// work done is judged from the `-v` log: the rows read, and which files
/// were opened.
#[test]
fn strict_stops_reading_at_a_rejected_first_row() {
    let dir = tempfile::tempdir().expect("temporary folder");
    episode_recon::tools::generate::generate(2000, 7, dir.path()).expect("generated data");
    let generated =
        std::fs::read_to_string(dir.path().join("claims/claims.csv")).expect("generated claims");
    let (header, rows) = generated.split_once('\n').expect("a header");
    let total = rows.lines().count();
    // With one thread a batch is two chunks of 4 MiB: the rest of the
    // file is never read.
    assert!(
        generated.len() > 2 * (4 << 20),
        "more than a batch of chunks"
    );
    std::fs::write(
        dir.path().join("bad-first.csv"),
        format!("{header}\nX1,1,B1\n{rows}"),
    )
    .expect("write the claims");
    let output = crate::support::cli_in(
        dir.path(),
        &[
            "-v",
            "reconcile",
            "--claims",
            "bad-first.csv",
            "claims/claims.csv",
            "--definitions",
            "definitions",
            "--target-prices",
            "target_prices.csv",
            "--beneficiaries",
            "beneficiaries",
            "--risk-factors",
            "risk_factors.csv",
            "--out",
            "out",
            "--strict",
            "--threads",
            "1",
        ],
    );
    let err = without_colours(&stderr(&output));
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: bad-first.csv: row 2: rejected (bad_field_count) and --strict is set"),
        "{err}"
    );
    assert!(
        !err.contains("file=claims/claims.csv"),
        "the second file is never read: {err}"
    );
    let read: usize = err
        .lines()
        .find(|l| l.contains("--strict: stopped reading at the first rejected row"))
        .and_then(|l| l.rsplit_once("rows="))
        .and_then(|(_, n)| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("a log line with the rows read: {err}"));
    assert!(read < total / 2, "{read} of {total} rows read: {err}");
    assert!(!dir.path().join("out").exists());
}

/// A row-level reject does not end the reading when rows passed before it:
/// a row read later (here in the next file) can still make an earlier row
/// a `duplicate_line`, which is then the first in reading order.
#[test]
fn strict_names_an_earlier_row_a_later_file_makes_a_duplicate() {
    let case = good_case();
    case.write(
        "a.csv",
        &format!(
            "{CLAIMS_HEADER}\n{}\n{}\n",
            row(&[("claim_id", "A1")]),
            row(&[("claim_id", "A2"), ("claim_type", "XX")])
        ),
    );
    case.write(
        "b.csv",
        &format!("{CLAIMS_HEADER}\n{}\n", row(&[("claim_id", "A1")])),
    );
    let output = case.cli(&reconcile_args(&["a.csv", "b.csv"], &["--strict"]));
    assert_fatal(&case, &output, &["a.csv", "row 2", "duplicate_line"]);
    let output = case.cli(&reconcile_args(&["a.csv"], &["--strict"]));
    assert_fatal(&case, &output, &["a.csv", "row 3", "bad_claim_type"]);
}

#[test]
fn strict_with_a_record_spanning_lines_still_prints_one_line() {
    let case = case_of(&[row(&[("npi", "\"a\nb\""), ("allowed_amount", "x")])]);
    let output = case.cli(&reconcile_args(&["claims.csv"], &["--strict"]));
    assert_fatal(&case, &output, &["claims.csv", "row 2", "bad_amount"]);
}

/// A rejected record can be megabytes (a quoted field that never closes
/// runs to the end of the file): the message shows its first 200
/// characters, says how much was left out, and names the field that failed.
#[test]
fn strict_shows_the_start_of_a_long_record_and_the_field() {
    let long = "x".repeat(5_000);
    let case = case_of(&[row(&[("npi", &long), ("allowed_amount", "9.999")])]);
    let output = case.cli(&reconcile_args(&["claims.csv"], &["--strict"]));
    assert_fatal(&case, &output, &["claims.csv", "row 2", "bad_amount"]);
    let err = stderr(&output);
    assert!(err.len() < 600, "{} bytes: {err}", err.len());
    assert!(err.contains("(the field allowed_amount)"), "{err}");
    let record = row(&[("npi", &long), ("allowed_amount", "9.999")]);
    let shown: String = record.chars().take(200).collect();
    let cut = record.len() - 200;
    assert!(
        err.contains(&format!("{shown:?}... ({cut} more characters not shown)")),
        "{err}"
    );
}

/// A short record is shown whole, with no note of a cut.
#[test]
fn strict_shows_a_short_record_whole() {
    let case = case_of(&[row(&[("claim_type", "ZZ")])]);
    let output = case.cli(&reconcile_args(&["claims.csv"], &["--strict"]));
    assert_fatal(&case, &output, &["(the field claim_type)"]);
    let record = row(&[("claim_type", "ZZ")]);
    let err = stderr(&output);
    assert!(err.trim_end().ends_with(&format!("{record:?}")), "{err}");
}

/// RULES 26: the message names the field that failed, also where the
/// reason covers several (a review found "(a date field)" for a bad
/// `line_date`, and "(a claim-level field)" when only `provider_id`
/// differed).
#[test]
fn strict_names_the_date_or_claim_field_that_failed() {
    for (overrides, field) in [
        (vec![("line_date", "2026-02-30")], "(the field line_date)"),
        (
            vec![("processed_date", "soon")],
            "(the field processed_date)",
        ),
        (
            vec![("thru_date", "2026-03-01")],
            "(the fields from_date and thru_date)",
        ),
    ] {
        let case = case_of(&[row(&overrides)]);
        let output = case.cli(&reconcile_args(&["claims.csv"], &["--strict"]));
        assert_fatal(&case, &output, &["row 2", field]);
    }
    let case = case_of(&[
        row(&[("line_number", "1")]),
        row(&[("line_number", "2"), ("provider_id", "P2")]),
    ]);
    let output = case.cli(&reconcile_args(&["claims.csv"], &["--strict"]));
    assert_fatal(
        &case,
        &output,
        &["row 2", "inconsistent_claim", "(the field provider_id)"],
    );
}

/// Log lines written to a file or a pipe carry no terminal colour codes.
#[test]
fn logs_to_a_pipe_have_no_colour_codes() {
    let case = good_case();
    let output = case.cli(&{
        let mut args = vec!["-v"];
        args.extend(reconcile_args(&["claims.csv"], &[]));
        args
    });
    let err = stderr(&output);
    assert!(err.contains("INFO"), "a log line: {err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn strict_without_rejects_succeeds() {
    let case = good_case();
    let output = case.cli(&reconcile_args(&["claims.csv"], &["--strict"]));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        Outputs::read(&case.path("out")).rejects,
        "file,row,reason,record\n"
    );
}

#[test]
fn strict_through_the_library_is_an_error() {
    let case = case_of(&[row(&[("claim_id", "C0")]), row(&[("claim_type", "ZZ")])]);
    let err = case
        .reconcile(&["claims.csv"], None, true, 2)
        .expect_err("strict fails")
        .to_string();
    assert!(
        err.contains("row 3") && err.contains("bad_claim_type") && err.contains("claims.csv"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// Fatal errors through the binary
// ---------------------------------------------------------------------------

#[test]
fn a_missing_claims_file_is_fatal() {
    let case = good_case();
    let output = case.cli(&reconcile_args(&["claims.csv", "nope.csv"], &[]));
    assert_fatal(&case, &output, &["nope.csv"]);
}

#[test]
fn a_claims_file_missing_a_required_column_is_fatal() {
    let case = good_case();
    let header = CLAIMS_HEADER.replace(",allowed_amount", "");
    let body = row(&[]).replacen(",100.00", "", 1);
    case.write("claims.csv", &format!("{header}\n{body}\n"));
    let output = case.cli(&reconcile_args(&["claims.csv"], &[]));
    assert_fatal(&case, &output, &["claims.csv", "row 1", "allowed_amount"]);
}

#[test]
fn a_known_column_named_twice_is_fatal() {
    let case = good_case();
    // Header names are trimmed before they are matched.
    case.write(
        "claims.csv",
        &format!("{CLAIMS_HEADER}, drg \n{},470\n", row(&[])),
    );
    let output = case.cli(&reconcile_args(&["claims.csv"], &[]));
    assert_fatal(&case, &output, &["claims.csv", "row 1", "drg"]);
}

#[test]
fn an_unknown_column_is_ignored_not_fatal() {
    let case = good_case();
    case.write(
        "claims.csv",
        &format!("{CLAIMS_HEADER},Drg,notes\n{},470,\"x, y\"\n", row(&[])),
    );
    let output = case.cli(&reconcile_args(&["claims.csv"], &[]));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

fn definitions_case(files: &[(&str, &str)]) -> Case {
    let case = Case::new(&lines(&[row(&[])]), files, "");
    std::fs::create_dir_all(case.path("definitions")).expect("a definitions folder");
    case
}

#[test]
fn a_definition_with_an_unknown_key_is_fatal() {
    let text = lejr(0, "").replace("post_days = 90", "post_days = 90\npost_day = 30");
    let case = definitions_case(&[("lejr.toml", &text)]);
    let output = case.cli(&reconcile_args(&["claims.csv"], &[]));
    assert_fatal(&case, &output, &["lejr.toml", "post_day"]);
}

#[test]
fn two_definitions_with_the_same_id_are_fatal() {
    let case = definitions_case(&[("a.toml", &lejr(0, "")), ("b.toml", &lejr(30, ""))]);
    let output = case.cli(&reconcile_args(&["claims.csv"], &[]));
    assert_fatal(&case, &output, &["b.toml", "id", "LEJR"]);
}

#[test]
fn a_trigger_with_no_codes_is_fatal() {
    let text = lejr(0, "")
        .replace(
            "drg = [\"469\", \"470\"]\nhcpcs = [\"27447\"]",
            "drg = []\nhcpcs = []",
        )
        .replace(
            "price_groups = { \"469\" = \"MCC\", \"470\" = \"NOMCC\", \"27447\" = \"OP\" }\n",
            "",
        );
    assert!(
        text.contains("drg = []\nhcpcs = []") && !text.contains("price_groups"),
        "{text}"
    );
    let case = definitions_case(&[("lejr.toml", &text)]);
    let output = case.cli(&reconcile_args(&["claims.csv"], &[]));
    assert_fatal(&case, &output, &["lejr.toml", "trigger"]);
}

#[test]
fn a_definition_with_an_unknown_claim_type_is_fatal() {
    let text = lejr(0, "").replace("\"PB\", \"DME\"]", "\"PB\", \"CARRIER\"]");
    assert!(text.contains("CARRIER"));
    let case = definitions_case(&[("lejr.toml", &text)]);
    let output = case.cli(&reconcile_args(&["claims.csv"], &[]));
    assert_fatal(
        &case,
        &output,
        &["lejr.toml", "include.claim_types", "CARRIER"],
    );
}

#[test]
fn a_definitions_folder_without_toml_files_is_fatal() {
    let case = definitions_case(&[("lejr.txt", &lejr(0, "")), ("notes.md", "# none")]);
    let output = case.cli(&reconcile_args(&["claims.csv"], &[]));
    assert_fatal(&case, &output, &["definitions"]);
}

fn prices_case(price_rows: &str) -> Case {
    Case::new(
        &lines(&[row(&[])]),
        &[("lejr.toml", &lejr(0, ""))],
        price_rows,
    )
}

#[test]
fn a_duplicate_target_price_row_is_fatal() {
    // Rows of types no definition declares are still checked.
    let case = prices_case("LEJR,*,NOMCC,2026,20000\nCABG,P1,X,2026Q1,1\nCABG,P1,X,2026Q1,2\n");
    let output = case.cli(&reconcile_args(&["claims.csv"], &[]));
    assert_fatal(&case, &output, &["target_prices.csv", "row 4", "duplicate"]);
}

#[test]
fn a_negative_target_price_is_fatal() {
    let case = prices_case("LEJR,*,NOMCC,2026,20000\nLEJR,P1,NOMCC,2026,-1.00\n");
    let output = case.cli(&reconcile_args(&["claims.csv"], &[]));
    assert_fatal(
        &case,
        &output,
        &["target_prices.csv", "row 3", "target_price"],
    );
}

#[test]
fn a_target_price_row_with_an_empty_field_is_fatal() {
    let case = prices_case("LEJR,*,NOMCC,2026,20000\nLEJR,P1,,2026,100\n");
    let output = case.cli(&reconcile_args(&["claims.csv"], &[]));
    assert_fatal(
        &case,
        &output,
        &["target_prices.csv", "row 3", "price_group"],
    );
}

#[test]
fn a_fatal_error_leaves_an_existing_empty_out_folder_without_outputs() {
    let case = good_case();
    std::fs::create_dir(case.path("out")).expect("mkdir out");
    let output = case.cli(&reconcile_args(&["missing.csv"], &[]));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let left: Vec<_> = std::fs::read_dir(case.path("out")).expect("out").collect();
    assert!(left.is_empty(), "{left:?}");
    assert_no_partial_outputs(&case);
}

// ---------------------------------------------------------------------------
// Usage errors
// ---------------------------------------------------------------------------

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let case = good_case();
    let output = case.cli(&reconcile_args(&["claims.csv"], &["--bogus"]));
    assert_usage_error(&output);
    assert!(!case.path("out").exists());
}

/// `--force` replaces an output folder, so it refuses one that holds the
/// current folder or an input: `--out . --force` would otherwise empty the
/// folder the user is in, inputs included.
#[test]
fn force_never_replaces_a_folder_holding_the_inputs() {
    let case = good_case();
    for out in [".", "definitions"] {
        let output = case.cli_reconcile(&["claims.csv"], out, &["--force"]);
        assert_usage_error(&output);
        assert!(
            stderr(&output).contains("--force would replace this folder"),
            "{out}"
        );
        assert!(case.path("claims.csv").exists() && case.path("definitions/lejr.toml").exists());
    }
    // A folder holding nothing of the run is still replaced.
    case.write("old/stale.txt", "x");
    let output = case.cli(
        &reconcile_args(&["claims.csv"], &["--force"])
            .iter()
            .map(|a| if *a == "out" { "old" } else { a })
            .collect::<Vec<_>>(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!case.path("old/stale.txt").exists() && case.path("old/summary.json").exists());
}

#[test]
fn a_missing_out_is_a_usage_error() {
    let case = good_case();
    let output = case.cli(&[
        "reconcile",
        "--claims",
        "claims.csv",
        "--definitions",
        "definitions",
        "--target-prices",
        "target_prices.csv",
    ]);
    assert_usage_error(&output);
}

#[test]
fn an_impossible_as_of_date_is_a_usage_error() {
    let case = good_case();
    let output = case.cli(&reconcile_args(&["claims.csv"], &["--as-of", "2026-13-01"]));
    assert_usage_error(&output);
    assert!(!case.path("out").exists());
}

#[test]
fn zero_threads_is_a_usage_error() {
    let case = good_case();
    let output = case.cli(&reconcile_args(&["claims.csv"], &["--threads", "0"]));
    assert_usage_error(&output);
    assert!(!case.path("out").exists());
}

#[test]
fn an_out_folder_that_is_not_empty_needs_force() {
    let case = good_case();
    case.write("out/keep.txt", "precious");
    let output = case.cli(&reconcile_args(&["claims.csv"], &[]));
    assert_usage_error(&output);
    assert!(stderr(&output).contains("out"), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(case.path("out/keep.txt")).expect("untouched"),
        "precious"
    );
    assert!(!case.path("out/summary.json").exists());

    let output = case.cli(&reconcile_args(&["claims.csv"], &["--force"]));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        !case.path("out/keep.txt").exists(),
        "--force replaces the folder"
    );
    let outputs = Outputs::read(&case.path("out"));
    assert_eq!(outputs, case.run());
    assert_no_partial_outputs(&case);
}

#[test]
fn an_empty_out_folder_is_used_as_is() {
    let case = good_case();
    std::fs::create_dir(case.path("out")).expect("mkdir out");
    let output = case.cli(&reconcile_args(&["claims.csv"], &[]));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(Outputs::read(&case.path("out")), case.run());
}

// ---------------------------------------------------------------------------
// check-definitions
// ---------------------------------------------------------------------------

const CABG: &str = r#"id = "CABG"
name = "Coronary artery bypass graft"

[trigger]
drg = ["231", "232", "233", "234", "235", "236"]

[window]
post_days = 90

[include]
claim_types = ["IP", "SNF", "PB"]

[pricing]
period = "quarter"
"#;

#[test]
fn check_definitions_lists_one_line_per_type() {
    let case = definitions_case(&[("a_cabg.toml", CABG), ("b_lejr.toml", &lejr(0, ""))]);
    let output = case.cli(&["check-definitions", "definitions"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let listed: Vec<&str> = stdout.lines().collect();
    assert_eq!(listed.len(), 2, "{stdout}");
    assert!(
        listed[0].starts_with("CABG") && !listed[0].starts_with("CABG_"),
        "{stdout}"
    );
    assert!(listed[1].starts_with("LEJR"), "{stdout}");
    assert!(
        listed[0].split(|c: char| c.is_whitespace()).next() == Some("CABG"),
        "id first: {stdout}"
    );
}

#[test]
fn check_definitions_on_a_bad_folder_fails_with_the_message() {
    let bad = lejr(0, "").replace("post_days = 90", "post_days = 0");
    let case = definitions_case(&[("a_cabg.toml", CABG), ("b_lejr.toml", &bad)]);
    let output = case.cli(&["check-definitions", "definitions"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: ")
            && err.contains("b_lejr.toml")
            && err.contains("window.post_days"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err:?}");
    assert!(
        output.stdout.is_empty(),
        "nothing listed when a definition is bad"
    );

    let empty = definitions_case(&[]);
    let output = empty.cli(&["check-definitions", "definitions"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("definitions"));
}
