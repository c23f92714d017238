//! One test per bug fixed since the start, in commit order: the index a
//! maintainer reads to learn what has gone wrong before and what pins it.
//!
//! Each test is named after the subject of the commit that fixed the bug
//! (snake_case; a suffix when one commit fixed several bugs), and its doc
//! comment gives the subject, the short sha, what the code did before and,
//! where one exists, the broader test elsewhere that also pins it. Every
//! input is the smallest that showed the bug, and every expectation is
//! worked by hand. Tests go through the binary or the library's
//! `reconcile::run` (via [`Case`]), never through internal modules, so that
//! moving code inside `src/` does not move this file.
//!
//! Bug fixes with no test here, and why:
//! - 947c768 "Fix a broken doc link": documentation only (`cargo doc`
//!   catches it, not a test).
//! - 7f6f5df "Spill files carry 64-bit string lengths: no field of a user's
//!   file can panic the encoder": the bug needs a single field of 4 GiB or
//!   more, too large for a test.
//! - 7ae6eb5 "reprice, scenarios: refuse [risk] without --risk-factors": a
//!   run with risk levels needs generated enrollment to make, so its test
//!   is `risk_levels_without_risk_factors_are_refused` in `reprice.rs`.
//! - 500181e "Run folders: check provider rows against the episodes, row
//!   by row": pinned by `a_run_whose_files_disagree_is_refused` in
//!   `true_up.rs`, which edits the run it builds for its other refusals
//!   (two providers' reconciliation amounts swapped; an episode's gain, and
//!   its target and gain together, changed).
//! - 2e904b2 and 3c665e4, the effective target too large named without
//!   its price's file and row: pinned by
//!   `an_effective_target_too_large_names_the_price_file_and_row` in
//!   `overflow.rs`, beside the other totals too large.
//! - 523e134 "Money tests: keep the generated ties within an i128": a
//!   test's own overflow, not the program's.

use std::path::Path;
use std::process::Output;

use super::support::{
    CLAIMS_HEADER, Case, Outputs, assert_fails, assert_fails_in_one_line, cli_in, lejr, stderr,
};

// ---------------------------------------------------------------------------
// Helpers.

/// An inpatient anchor stay (DRG 470, NOMCC), 2026-03-02 to 2026-03-05.
fn anchor(claim: &str, beneficiary: &str, amount: &str, provider: &str) -> String {
    format!("{claim},1,{beneficiary},IP,2026-03-02,2026-03-05,{amount},,,,,,{provider},,470,,,")
}

/// A one-day professional line of provider P1.
fn pb(claim: &str, line: &str, beneficiary: &str, date: &str, amount: &str) -> String {
    format!("{claim},{line},{beneficiary},PB,{date},{date},{amount},,,,,,P1,,,,,")
}

/// A case of `rows` (header added), the LEJR definition and `prices` rows.
fn lejr_case(rows: &[String], prices: &str) -> Case {
    let claims: String = rows.iter().map(|r| format!("{r}\n")).collect();
    Case::new(&claims, &[("lejr.toml", &lejr(0, ""))], prices)
}

/// The usual price: provider 330001, NOMCC, 2026: 30000.00 -> 29100.00.
const PRICE: &str = "LEJR,330001,NOMCC,2026,30000.00\n";

/// `reconcile` of the case's `claims.csv` into `out`, with `extra` flags.
fn reconcile(case: &Case, out: &str, extra: &[&str]) -> Output {
    case.cli_reconcile(&["claims.csv"], out, extra)
}

/// Asserts that `output` succeeded, showing its stderr otherwise.
fn assert_success(output: &Output) {
    assert!(output.status.success(), "{}", stderr(output));
}

/// Column `column` of every data row of a CSV text without quoted fields.
fn column(text: &str, column: usize) -> Vec<String> {
    text.lines()
        .skip(1)
        .map(|line| line.split(',').nth(column).unwrap_or_default().to_owned())
        .collect()
}

/// `convert` of `claims` (in `dir`) with `extra` flags into `c.csv`; the
/// converted claims and rejects as text (bytes that are not UTF-8 shown
/// as U+FFFD).
fn convert(dir: &Path, claims: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["convert", "--claims", claims, "--out", "c.csv"];
    args.extend_from_slice(extra);
    let output = cli_in(dir, &args);
    assert_success(&output);
    // Rejected rows keep their raw bytes, which need not be UTF-8.
    let read = |name: &str| {
        String::from_utf8_lossy(&std::fs::read(dir.join(name)).expect(name)).into_owned()
    };
    (read("c.csv"), read("c.rejects.csv"))
}

/// Columns of the canonical CSV `convert` writes.
const RECORD_TYPE: usize = 7;
const PROCESSED_DATE: usize = 8;
const ADMISSION_DATE: usize = 9;
const DISCHARGE_DATE: usize = 10;

/// The header of a delimited CCLF1 (Part A claim header) file.
const CCLF1_HEADER: &str = "CUR_CLM_UNIQ_ID|PRVDR_OSCAR_NUM|BENE_MBI_ID|BENE_HIC_NUM|CLM_TYPE_CD|\
CLM_FROM_DT|CLM_THRU_DT|CLM_BILL_FAC_TYPE_CD|CLM_BILL_CLSFCTN_CD|PRNCPL_DGNS_CD|ADMTG_DGNS_CD|\
CLM_MDCR_NPMT_RSN_CD|CLM_PMT_AMT|CLM_NCH_PRMRY_PYR_CD|PRVDR_FAC_FIPS_ST_CD|BENE_PTNT_STUS_CD|\
DGNS_DRG_CD|CLM_OP_SRVC_TYPE_CD|FAC_PRVDR_NPI_NUM|OPRTG_PRVDR_NPI_NUM|ATNDG_PRVDR_NPI_NUM|\
OTHR_PRVDR_NPI_NUM|CLM_ADJSMT_TYPE_CD|CLM_EFCTV_DT|CLM_IDR_LD_DT";

/// A delimited CCLF1 row: an inpatient stay 2024-03-01 to 2024-03-05 with
/// adjustment type `adjsmt` and effective (processed) date `efctv`.
fn cclf1_row(id: &str, adjsmt: &str, efctv: &str) -> String {
    format!(
        "{id}|140010|1EG4TE5MK73||60|2024-03-01|2024-03-05|1|1|M16.11||\
         |100.00||17|06|0470||1234567893||||{adjsmt}|{efctv}|2024-03-20"
    )
}

/// A fixed-width CCLF1 record (437 bytes) of the claim of [`cclf1_row`],
/// positions from docs/INPUT-FORMATS.md.
fn cclf1_fixed(id: &str) -> Vec<u8> {
    let mut record = vec![b' '; 437];
    for (start, value) in [
        (1, id),
        (14, "140010"),
        (20, "1EG4TE5MK73"),
        (42, "60"),
        (44, "2024-03-01"),
        (54, "2024-03-05"),
        (64, "1"),
        (65, "1"),
        (66, "M1611"),
        (82, " 0000000000100.00"),
        (100, "17"),
        (102, "06"),
        (104, "0470"),
        (119, "1234567893"),
        (149, "0"),
        (151, "2024-03-15"),
        (161, "2024-03-20"),
        (313, "1999999984"),
        (353, "CTRL-0001"),
        (433, "15201"),
    ] {
        record[start - 1..start - 1 + value.len()].copy_from_slice(value.as_bytes());
    }
    record
}

// ---------------------------------------------------------------------------
// The bugs, in commit order.

/// f7816d7 "Property tests; records borrow unquoted fields; line numbers up
/// to u64": a `line_number` past 2^32 − 1 was `bad_line_number`; the
/// contract takes any positive integer, and now any that fits 64 bits.
#[test]
fn property_tests_records_borrow_unquoted_fields_line_numbers_up_to_u64() {
    let case = lejr_case(
        &[
            anchor("A1", "B1", "100.00", "330001"),
            pb("P1", "4294967296", "B1", "2026-03-10", "10.00"),
        ],
        PRICE,
    );
    let out = case.run();
    assert_eq!(out.reject_reasons(), []);
    // The anchor and the professional line, 4294967296 kept as written.
    assert_eq!(column(&out.ledger, 2), ["1", "4294967296"]);
    assert_eq!(column(&out.episodes, 12), ["110.00"]);
}

/// c740d5c "Scale tests; a header after chunks of blank lines is found;
/// lighter hot path": a claims file starting with more blank lines than one
/// chunk (4 MiB) lost its header: the run failed with "no header". Chunks
/// are now joined until the header is complete. Also pinned, with tiny
/// chunks, by `scale::tiny_chunks_skip_blank_lines_before_the_header`.
#[test]
fn scale_tests_a_header_after_chunks_of_blank_lines_is_found_lighter_hot_path() {
    let case = lejr_case(&[], PRICE);
    let blanks = "\n".repeat(5 << 20);
    case.write(
        "claims.csv",
        &format!(
            "{blanks}{CLAIMS_HEADER}\n{}\n",
            anchor("A1", "B1", "100.00", "330001")
        ),
    );
    let out = case.run();
    assert_eq!(out.reject_reasons(), []);
    // One priced episode: 29100.00 − 100.00.
    assert_eq!(column(&out.episodes, 9), ["priced"]);
    assert_eq!(out.summary_json()["money"]["gain_loss"], "29000.00");
}

/// b3c82d2 "Definition errors from the TOML reader quote the offending
/// line": `post_days = "90"` said only "expected i64", naming no key; the
/// message now shows the line.
#[test]
fn definition_errors_from_the_toml_reader_quote_the_offending_line() {
    let definition = lejr(0, "").replace("post_days = 90", "post_days = \"90\"");
    let case = Case::new("", &[("lejr.toml", &definition)], "");
    let output = case.cli(&["check-definitions", "definitions"]);
    assert_fails(
        &output,
        1,
        &["lejr.toml", "line 11", "`post_days = \"90\"`"],
    );
}

/// b089506 "No panic on absurd windows or totals: windows stop at the
/// calendar's ends, stop limits too large for a decimal bind nothing": a
/// lookback of billions of days made the date arithmetic panic. Since
/// e0947d4 such a window is refused when the definitions are read; either
/// way the run ends with an error naming the key, never a panic. (The
/// other half, a provider target total beyond 96 bits, cannot be reached
/// since e0947d4 bounds target prices.)
#[test]
fn no_panic_on_absurd_windows_or_totals_windows_stop_at_the_calendars_ends_stop_limits_too_large_for_a_decimal_bind_nothing()
 {
    let definition = lejr(0, "").replace("lookback_days = 0", "lookback_days = 4294967295");
    let case = Case::new(
        &format!("{}\n", anchor("A1", "B1", "100.00", "330001")),
        &[("lejr.toml", &definition)],
        PRICE,
    );
    let output = reconcile(&case, "out", &[]);
    assert_fails(&output, 1, &["lookback_days", "4294967295"]);
    assert!(!case.path("out").exists());
}

/// 481e062 "Fix what review found in the RIF and CCLF readers; convert
/// stages its outputs", CCLF part 1: the "no value" dates 10000101 and
/// 99991231 (the guide's 1000-01-01 and 9999-12-31 without dashes) were
/// read as real dates, so a claim's processed date became year 1000 or
/// 9999; like the dashed forms, they now read as empty and the processed
/// date falls back to the thru date. Also pinned by
/// `cclf::no_value_dates_read_as_empty_in_both_date_forms`.
#[test]
fn fix_what_review_found_in_the_rif_and_cclf_readers_convert_stages_its_outputs_no_value_dates() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let text = format!(
        "{CCLF1_HEADER}\n{}\n{}\n",
        cclf1_row("1001", "0", "10000101"),
        cclf1_row("1002", "0", "99991231")
    );
    std::fs::write(dir.path().join("cclf1.txt"), text).expect("write");
    let (converted, _) = convert(dir.path(), "cclf1.txt", &["--claims-format", "cclf"]);
    assert_eq!(
        column(&converted, PROCESSED_DATE),
        ["2024-03-05", "2024-03-05"]
    );
}

/// 481e062 "Fix what review found in the RIF and CCLF readers; convert
/// stages its outputs", CCLF part 2: `--claims-format auto` measured the
/// first line after lossy UTF-8 conversion, so a fixed-width CCLF1 file
/// with one byte that is not UTF-8 was taken for a canonical CSV (and
/// failed for want of its columns). It is now found to be CCLF, and only
/// that record is rejected, as `bad_encoding`. Also pinned by
/// `cclf::fixed_width_files_are_detected_by_record_length`.
#[test]
fn fix_what_review_found_in_the_rif_and_cclf_readers_convert_stages_its_outputs_detection() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut bad = cclf1_fixed("0000000001001");
    bad[300] = 0xE9; // Latin-1 'é' in the filler
    let mut bytes = bad;
    bytes.push(b'\n');
    bytes.extend_from_slice(&cclf1_fixed("0000000001002"));
    bytes.push(b'\n');
    std::fs::write(dir.path().join("cclf1.dat"), bytes).expect("write");
    let (converted, rejects) = convert(dir.path(), "cclf1.dat", &["--claims-format", "auto"]);
    assert_eq!(column(&converted, 0), ["0000000001002"]);
    assert_eq!(column(&rejects, 2), ["bad_encoding"]);
}

/// 481e062 "Fix what review found in the RIF and CCLF readers; convert
/// stages its outputs", convert part: `convert` wrote straight to its
/// outputs, so an input that failed after the first left a half-written
/// file (and an earlier one at that path replaced). Outputs are now staged
/// and renamed only when every input was read. Also pinned by
/// `formats::a_failed_conversion_leaves_no_half_written_file`.
#[test]
fn fix_what_review_found_in_the_rif_and_cclf_readers_convert_stages_its_outputs_staging() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let good = format!(
        "{CLAIMS_HEADER}\n{}\n",
        anchor("A1", "B1", "100.00", "330001")
    );
    std::fs::write(dir.path().join("good.csv"), good).expect("write");
    std::fs::write(dir.path().join("c.csv"), "earlier\n").expect("write");
    let output = cli_in(
        dir.path(),
        &[
            "convert",
            "--claims",
            "good.csv",
            "missing.csv",
            "--out",
            "c.csv",
            "--force",
        ],
    );
    assert_fails(&output, 1, &["missing.csv"]);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["c.csv", "good.csv"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("c.csv")).expect("read"),
        "earlier\n"
    );
}

/// 44d460a "Run duplicate_line and inconsistent_claim on versions that
/// also have a bad row": a version with a row-level reject had all its
/// other rows labelled `claim_has_rejected_row`, hiding a duplicate line
/// number (Z1) or a disagreement on the provider (Y6) among them (contract
/// 5 runs the version checks first). Also
/// pinned by `bad_input::a_version_with_a_bad_row_still_gets_its_version_checks`.
#[test]
fn run_duplicate_line_and_inconsistent_claim_on_versions_that_also_have_a_bad_row() {
    let case = lejr_case(
        &[
            pb("Z1", "1", "B1", "2026-03-10", "11.00"),
            pb("Z1", "1", "B1", "2026-03-10", "12.00"),
            pb("Z1", "2", "B1", "2026-03-10", "x"),
            pb("Z1", "3", "B1", "2026-03-10", "13.00"),
            pb("Y6", "1", "B1", "2026-03-10", "11.00"),
            pb("Y6", "2", "B1", "2026-03-10", "12.00").replace(",P1,", ",P2,"),
            pb("Y6", "3", "B1", "2026-03-10", "x"),
        ],
        "",
    );
    let reasons = case.run().reject_reasons();
    let expected = [
        (2, "duplicate_line"),
        (3, "duplicate_line"),
        (4, "bad_amount"),
        (5, "claim_has_rejected_row"),
        (6, "inconsistent_claim"),
        (7, "inconsistent_claim"),
        (8, "bad_amount"),
    ]
    .map(|(row, reason)| (row, reason.to_owned()));
    assert_eq!(reasons, expected);
}

/// 1ea12e2 "Read decimals written as TOML numbers from their literal
/// text": a TOML number went through a float first, so digits past about
/// 17 were lost (the commit's example, a percentile of
/// 57.000000000000000001, is refused since e0947d4 for its decimal places).
/// A stop-gain of 24 significant digits now reaches the run, and its
/// summary.json, as written; a float would give 12345678901234.568.
#[test]
fn read_decimals_written_as_toml_numbers_from_their_literal_text() {
    let definition = lejr(0, "").replace(
        "stop_gain = \"0.20\"",
        "stop_gain = 12345678901234.5678901234",
    );
    let case = Case::new(
        &format!("{}\n", anchor("A1", "B1", "100.00", "330001")),
        &[("lejr.toml", &definition)],
        PRICE,
    );
    let summary = case.run().summary_json();
    assert_eq!(
        summary["run"]["definitions"][0]["pricing"]["stop_gain"],
        "12345678901234.5678901234"
    );
}

/// e0947d4 "Refuse pricing inputs the engine could not price exactly,
/// instead of rounding them": a decimal keeps 28 significant digits, so a
/// target price of 1e27 came out a hundred times too small. The products
/// are now computed with every digit (contract 2.6, 3.2), so such a price
/// is priced exactly; only a value a decimal cannot hold at all (more
/// than 28 significant digits) stops the run, naming the file and row, and is
/// never rounded.
#[test]
fn refuse_pricing_inputs_the_engine_could_not_price_exactly_instead_of_rounding_them() {
    for (price, target) in [
        (
            "1000000000000000000000000000",
            "970000000000000000000000000.00",
        ),
        ("1.0000001", "0.97"),
        ("30000.005", "29100.00"),
        ("30000.0155", "29100.02"),
    ] {
        let case = lejr_case(
            &[anchor("A1", "B1", "100.00", "330001")],
            &format!("LEJR,330001,NOMCC,2026,{price}\n"),
        );
        assert_success(&reconcile(&case, "out", &[]));
        let episodes = std::fs::read_to_string(case.path("out/episodes.csv")).unwrap();
        assert_eq!(column(&episodes, 13), [target], "{price}");
    }
    let price = "1.00000000000000000000000000001";
    let case = lejr_case(
        &[anchor("A1", "B1", "100.00", "330001")],
        &format!("LEJR,330001,NOMCC,2026,{price}\n"),
    );
    let output = reconcile(&case, "out", &[]);
    assert_fails(
        &output,
        1,
        &["target_prices.csv", "row 2", "target_price", price],
    );
    assert!(!case.path("out").exists(), "{price}");
}

/// 06e9210 "Order episodes that share an id by beneficiary, so threads
/// cannot change it": ids holding ':' can collide (beneficiary `B:1` with
/// claim `X`, `B` with claim `1:X`: both `LEJR:B:1:X`); equal ids kept
/// their partition order, which depends on the thread count. They are now
/// in beneficiary order. Also pinned by
/// `rules::episodes_sharing_an_id_keep_one_order_whatever_the_threads`.
#[test]
fn order_episodes_that_share_an_id_by_beneficiary_so_threads_cannot_change_it() {
    let case = lejr_case(
        &[
            anchor("X", "B:1", "100.00", "330001"),
            anchor("1:X", "B", "200.00", "330002"),
        ],
        PRICE,
    );
    for threads in 1..=8 {
        let out = case.run_files(&["claims.csv"], None, threads);
        assert_eq!(column(&out.episodes, 0), ["LEJR:B:1:X", "LEJR:B:1:X"]);
        assert_eq!(column(&out.episodes, 2), ["B", "B:1"], "{threads} threads");
    }
}

/// 95225c9 "--force never replaces a folder that holds the current folder
/// or an input": `reconcile ... --out . --force` emptied the folder the
/// user was in, inputs included. It is now a usage error and nothing is
/// removed. Also pinned by
/// `bad_input::force_never_replaces_a_folder_holding_the_inputs`.
#[test]
fn force_never_replaces_a_folder_that_holds_the_current_folder_or_an_input() {
    let case = lejr_case(&[anchor("A1", "B1", "100.00", "330001")], PRICE);
    let output = reconcile(&case, ".", &["--force"]);
    assert_fails(&output, 2, &["--force would replace this folder"]);
    for input in ["claims.csv", "definitions/lejr.toml", "target_prices.csv"] {
        assert!(case.path(input).exists(), "{input} removed");
    }
}

/// fa830f4 "convert holds back the rest of a version that has a bad row":
/// `convert` wrote every row it could map, so a version with one bad row
/// kept its good rows, and reconciling the converted file counted part of
/// the claim. As in a run (contract 5), the good rows now go to the
/// rejects as `claim_has_rejected_row`, even when they come before the bad
/// one. Also pinned by `formats::converted_claims_never_count_half_a_claim`.
#[test]
fn convert_holds_back_the_rest_of_a_version_that_has_a_bad_row() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let claims = format!(
        "{CLAIMS_HEADER}\n{}\n{}\n{}\n",
        pb("C1", "1", "B1", "2026-03-10", "10.00"),
        pb("C1", "2", "B1", "2026-03-10", "x"),
        pb("C2", "1", "B1", "2026-03-10", "20.00"),
    );
    std::fs::write(dir.path().join("claims.csv"), claims).expect("write");
    let (converted, rejects) = convert(dir.path(), "claims.csv", &[]);
    assert_eq!(column(&converted, 0), ["C2"]);
    assert_eq!(column(&rejects, 1), ["2", "3"]);
    assert_eq!(
        column(&rejects, 2),
        ["claim_has_rejected_row", "bad_amount"]
    );
}

/// 71f4d29 "Refuse a run folder whose files disagree instead of repricing
/// or comparing it": `reprice` trusted a run folder as found, so a
/// discount edited in summary.json was priced as if the run had used it.
/// The recorded pricing is now checked against its fingerprint. Also pinned
/// by `true_up::a_run_whose_files_disagree_is_refused`.
#[test]
fn refuse_a_run_folder_whose_files_disagree_instead_of_repricing_or_comparing_it() {
    let case = lejr_case(&[anchor("A1", "B1", "100.00", "330001")], PRICE);
    assert_success(&reconcile(&case, "run", &[]));
    let summary = case.path("run/summary.json");
    let text = std::fs::read_to_string(&summary).expect("summary");
    let edited = text.replacen("\"discount\": \"0.03\"", "\"discount\": \"0.5\"", 1);
    assert_ne!(edited, text, "the summary records the discount");
    std::fs::write(&summary, edited).expect("write");
    let output = case.cli(&[
        "reprice",
        "--run",
        "run",
        "--target-prices",
        "target_prices.csv",
        "--out",
        "rep",
    ]);
    assert_fails(&output, 1, &["run", "fingerprint"]);
    assert!(!case.path("rep").exists());
}

/// 505e1a3 "convert refuses to write over one of its inputs": `convert
/// --claims good.csv --out good.csv` replaced the input with its own
/// conversion. Also pinned by
/// `formats::a_failed_conversion_leaves_no_half_written_file`.
#[test]
fn convert_refuses_to_write_over_one_of_its_inputs() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let claims = format!(
        "{CLAIMS_HEADER}\n{}\n",
        anchor("A1", "B1", "100.00", "330001")
    );
    std::fs::write(dir.path().join("claims.csv"), &claims).expect("write");
    let output = cli_in(
        dir.path(),
        &[
            "convert",
            "--claims",
            "claims.csv",
            "--out",
            "claims.csv",
            "--force",
        ],
    );
    // A usage error since errors were grouped by who fixes them (exit 2);
    // even with --force, since convert refuses an existing --out.
    assert_fails(&output, 2, &["claims.csv", "this is the input"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("claims.csv")).expect("read"),
        claims
    );
}

/// 68ab974 "true-up refuses runs in which two episodes share an id":
/// matching by episode id kept only one of two episodes whose ids collide
/// (ids holding ':'), silently dropping the other while the check passed.
/// Also pinned by `true_up::runs_with_a_shared_episode_id_are_refused`.
#[test]
fn true_up_refuses_runs_in_which_two_episodes_share_an_id() {
    let case = lejr_case(
        &[
            anchor("X", "B:1", "100.00", "330001"),
            anchor("1:X", "B", "200.00", "330001"),
        ],
        PRICE,
    );
    assert_success(&reconcile(&case, "run", &[]));
    let output = case.cli(&[
        "true-up",
        "--previous",
        "run",
        "--current",
        "run",
        "--out",
        "tu",
    ]);
    assert_fails(&output, 1, &["episode id \"LEJR:B:1:X\" is written twice"]);
    assert!(!case.path("tu").exists());
}

/// a88017c "convert writes rejected rows as rejects.csv does, raw bytes
/// kept": `convert` rebuilt each rejected row through lossy UTF-8, so a
/// `bad_encoding` row's byte 0xFF became U+FFFD. Also pinned by
/// `formats::convert_keeps_the_raw_bytes_of_a_rejected_row`.
#[test]
fn convert_writes_rejected_rows_as_rejects_csv_does_raw_bytes_kept() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut bytes = format!("{CLAIMS_HEADER}\n").into_bytes();
    bytes.extend_from_slice(b"C1,1,B\xff1,PB,2026-03-02,2026-03-02,10.00,,,,,,P1,,,,,\n");
    std::fs::write(dir.path().join("claims.csv"), &bytes).expect("write");
    let output = cli_in(
        dir.path(),
        &["convert", "--claims", "claims.csv", "--out", "c.csv"],
    );
    assert_success(&output);
    let rejects = std::fs::read(dir.path().join("c.rejects.csv")).expect("rejects");
    let expected: &[u8] = b"file,row,reason,record\n\
        claims.csv,2,bad_encoding,\"C1,1,B\xff1,PB,2026-03-02,2026-03-02,10.00,,,,,,P1,,,,,\"\n";
    assert_eq!(rejects, expected);
}

/// 1d117a2 "Keep ledger.csv sorted by its key when two episodes share an
/// id": ledger lines were written episode by episode, so for two episodes
/// sharing an id the claim ids ran 1:X, Z1, X, A1, breaking the contract's
/// order (episode_id, claim_id, line_number). They are now merged. Also
/// pinned by `rules::episodes_sharing_an_id_keep_one_order_whatever_the_threads`.
#[test]
fn keep_ledger_csv_sorted_by_its_key_when_two_episodes_share_an_id() {
    let case = lejr_case(
        &[
            anchor("X", "B:1", "100.00", "330001"),
            anchor("1:X", "B", "200.00", "330002"),
            pb("A1", "1", "B:1", "2026-03-10", "10.00"),
            pb("Z1", "1", "B", "2026-03-10", "20.00"),
        ],
        PRICE,
    );
    let out = case.run();
    assert_eq!(column(&out.ledger, 0), ["LEJR:B:1:X"; 4]);
    assert_eq!(column(&out.ledger, 1), ["1:X", "A1", "X", "Z1"]);
}

/// 4e2cee6 "RIF: in a joined layout each row reads only its own kind's
/// fields": in a file holding several kinds' columns, `CLM_FREQ_CD`
/// versioned carrier and DME rows (a DME row with 8 was read as a void)
/// and admission and discharge dates were read on every kind. Now only
/// institutional rows are versioned, and an outpatient row takes its
/// claim's from and thru dates. Also pinned by
/// `rif::a_joined_layout_gives_each_kind_only_its_own_fields`.
#[test]
fn rif_in_a_joined_layout_each_row_reads_only_its_own_kinds_fields() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let header = "DML_IND|BENE_ID|CLM_ID|FINAL_ACTION|NCH_CLM_TYPE_CD|CLM_FROM_DT|CLM_THRU_DT|\
                  CLM_FREQ_CD|CLM_ADMSN_DT|NCH_BENE_DSCHRG_DT|CLM_PMT_AMT|LINE_ALOWD_CHRG_AMT|\
                  LINE_NUM|CLM_LINE_NUM";
    let row = |claim: &str, kind: &str, frequency: &str| {
        format!(
            "INSERT|B1|{claim}|F|{kind}|01-JAN-2020|10-JAN-2020|{frequency}|02-JAN-2020|\
             03-JAN-2020|100.00|99.00|1|1\n"
        )
    };
    let text = format!(
        "{header}\n{}{}{}",
        row("DME8", "82", "8"),
        row("PB7", "71", "7"),
        row("OP", "40", ""),
    );
    std::fs::write(dir.path().join("joined.txt"), text).expect("write");
    let (converted, rejects) = convert(dir.path(), "joined.txt", &["--claims-format", "rif"]);
    assert_eq!(column(&rejects, 2), Vec::<String>::new());
    assert_eq!(column(&converted, 0), ["DME8", "PB7", "OP"]);
    assert_eq!(column(&converted, RECORD_TYPE), ["O", "O", "O"]);
    let op = converted.lines().nth(3).expect("the OP row");
    let field = |n: usize| op.split(',').nth(n).expect("a field");
    assert_eq!(
        (field(ADMISSION_DATE), field(DISCHARGE_DATE)),
        ("2020-01-01", "2020-01-10")
    );
}

/// RIF: in a joined layout an outpatient, home health or hospice row took
/// the inpatient-only Part A deductible and coinsurance into its amount,
/// and the DRG (found by a review of the readers against CMS's layouts).
/// Each term is now added only on the kinds whose layouts have it
/// (docs/INPUT-FORMATS.md): IP 100 + 1 + 2 + 3 + 4 (primary payer, Part A
/// deductible and coinsurance, blood) = 110.00; OP 100 + 1 + 4 + 5 + 6
/// (primary payer, blood, Part B deductible and coinsurance) = 116.00; HHA
/// and hospice 100 + 1 = 101.00; a DRG only on IP and SNF.
#[test]
fn rif_in_a_joined_layout_each_kind_sums_only_its_own_cost_sharing() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let header = "DML_IND|BENE_ID|CLM_ID|FINAL_ACTION|NCH_CLM_TYPE_CD|CLM_FROM_DT|CLM_THRU_DT|\
                  PRVDR_NUM|CLM_PMT_AMT|NCH_PRMRY_PYR_CLM_PD_AMT|NCH_BENE_IP_DDCTBL_AMT|\
                  NCH_BENE_PTA_COINSRNC_LBLTY_AM|NCH_BENE_BLOOD_DDCTBL_LBLTY_AM|\
                  NCH_BENE_PTB_DDCTBL_AMT|NCH_BENE_PTB_COINSRNC_AMT|CLM_DRG_CD|CLM_LINE_NUM";
    let row = |claim: &str, kind: &str| {
        format!(
            "INSERT|B1|{claim}|F|{kind}|01-JAN-2020|10-JAN-2020|330001|100.00|1.00|2.00|3.00|\
             4.00|5.00|6.00|470|1\n"
        )
    };
    let text = format!(
        "{header}\n{}{}{}{}{}",
        row("IP", "60"),
        row("SNF", "20"),
        row("OP", "40"),
        row("HHA", "10"),
        row("HOS", "50"),
    );
    std::fs::write(dir.path().join("joined.txt"), text).expect("write");
    let (converted, rejects) = convert(dir.path(), "joined.txt", &["--claims-format", "rif"]);
    assert_eq!(column(&rejects, 2), Vec::<String>::new());
    assert_eq!(column(&converted, 0), ["IP", "SNF", "OP", "HHA", "HOS"]);
    assert_eq!(
        column(&converted, 6),
        ["110.00", "110.00", "116.00", "101.00", "101.00"]
    );
    assert_eq!(column(&converted, 13), ["470", "470", "", "", ""]);
}

/// 1b5b5df "CCLF: read zero-padded adjustment type codes (00, 01, 02)":
/// `CLM_ADJSMT_TYPE_CD` is two characters wide, so a file may pad its
/// codes with a zero; `00`, `01` and `02` were `bad_record_type`. They are
/// now original, void and replacement, as 0, 1 and 2 are.
#[test]
fn cclf_read_zero_padded_adjustment_type_codes_00_01_02() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let text = format!(
        "{CCLF1_HEADER}\n{}\n{}\n{}\n",
        cclf1_row("1001", "00", "2024-03-15"),
        cclf1_row("1002", "01", "2024-03-15"),
        cclf1_row("1003", "02", "2024-03-15"),
    );
    std::fs::write(dir.path().join("cclf1.txt"), text).expect("write");
    let (converted, rejects) = convert(dir.path(), "cclf1.txt", &["--claims-format", "cclf"]);
    assert_eq!(column(&rejects, 2), Vec::<String>::new());
    assert_eq!(column(&converted, RECORD_TYPE), ["O", "V", "R"]);
}

/// f0feb65 "Every writing command removes its staged outputs on Ctrl-C and
/// SIGTERM": only `reconcile` installed the interrupt handler, so SIGTERM
/// left `convert`'s staged files behind. Here `convert` is held, its
/// outputs staged, waiting to open its second input (a FIFO nobody
/// writes), and terminated: its staged files are removed and it exits
/// with 130. Also pinned, for every command, by `interrupt.rs`.
#[cfg(unix)]
#[test]
fn every_writing_command_removes_its_staged_outputs_on_ctrl_c_and_sigterm() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().expect("temporary folder");
    let claims = format!(
        "{CLAIMS_HEADER}\n{}\n",
        anchor("A1", "B1", "100.00", "330001")
    );
    std::fs::write(dir.path().join("a.csv"), claims).expect("write");
    crate::support::mkfifo(&dir.path().join("b.csv"));
    let hidden = || -> Vec<String> {
        std::fs::read_dir(dir.path())
            .expect("folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with('.'))
            .collect()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_episode-recon"))
        .args(["convert", "--claims", "a.csv", "b.csv", "--out", "c.csv"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let started = Instant::now();
    while hidden().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "convert never staged its outputs"
        );
        assert!(child.try_wait().expect("wait").is_none(), "convert ended");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    // SAFETY: kill has no memory effects; the child is ours and not yet
    // waited for, so its pid cannot have been reused.
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    assert_eq!(hidden(), Vec::<String>::new());
    assert!(!dir.path().join("c.csv").exists());
}

/// 00d0c53 "Checked money arithmetic: a total too large is an input
/// error, never a wrap": money sums wrapped in release builds (and
/// panicked in debug), so `reprice` of a run folder whose episodes hold
/// two 36-digit amounts (each readable, their sum past an i128 of cents)
/// settled a wrapped figure. It is now refused, naming file, row and
/// column. Also pinned by `overflow.rs`.
#[test]
fn checked_money_arithmetic_a_total_too_large_is_an_input_error_never_a_wrap() {
    const HUGE: &str = "900000000000000000000000000000000000.00";
    let case = lejr_case(
        &[
            anchor("A1", "B1", "100.00", "330001"),
            anchor("A2", "B2", "200.00", "330001"),
        ],
        PRICE,
    );
    assert_success(&reconcile(&case, "run", &[]));
    let path = case.path("run/episodes.csv");
    let text = std::fs::read_to_string(&path).expect("episodes");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let actual = header
        .iter()
        .position(|c| *c == "actual_amount")
        .expect("an actual_amount column");
    let mut edited = format!("{}\n", header.join(","));
    for line in lines {
        let mut fields: Vec<&str> = line.split(',').collect();
        fields[actual] = HUGE;
        edited.push_str(&fields.join(","));
        edited.push('\n');
    }
    std::fs::write(&path, edited).expect("write");
    let output = case.cli(&[
        "reprice",
        "--run",
        "run",
        "--target-prices",
        "target_prices.csv",
        "--out",
        "rep",
    ]);
    assert_fails(
        &output,
        1,
        &["run/episodes.csv", "row 3", "`actual_amount`", "too large"],
    );
    assert!(!case.path("rep").exists());
}

/// "A quote right after a file's BOM opens a field for the chunker too"
/// (found by the `claims_synpuf` fuzz target, issue #17). The chunker,
/// finding where a chunk may end, took the BOM for the first field's text,
/// so a quote right after it did not open a quoted field, and a line end
/// inside that field ended the first chunk: the header, cut there, lacked
/// its columns under a small chunk size and not under a large one. Also
/// pinned by every claims fuzz target (the outcomes must not depend on
/// the chunking).
#[test]
fn a_quote_right_after_a_files_bom_opens_a_field_for_the_chunker_too() {
    use episode_recon::input::formats::ClaimsFormat;
    use episode_recon::input::source::Source;
    use episode_recon::input::{Chunking, Reading};

    // A first column whose quoted name holds a line end: an unknown
    // column, which the header may have.
    let file = format!(
        "\u{feff}\"x\ny\",{CLAIMS_HEADER}\n,{}\n",
        pb("C1", "1", "B1", "2026-03-10", "10.00")
    );
    let rows = |chunk_bytes: usize| {
        let source = Source::from_bytes(Path::new("claims.csv"), file.clone().into_bytes());
        let chunking = Chunking {
            chunk_bytes,
            batch: 1,
        };
        let reading = Reading {
            file: 0,
            as_of: None,
            chunking,
        };
        let mut rows = 0;
        ClaimsFormat::Canonical
            .read_chunked(
                source,
                reading,
                || 0,
                |n, _| *n += 1,
                |n, _| {
                    rows += n;
                    Ok::<(), episode_recon::input::claims::Error>(())
                },
            )
            .map(|()| rows)
            .map_err(|e| e.to_string())
    };
    assert_eq!(rows(1 << 20), Ok(1));
    // Before: Err("claims.csv: row 1: missing required column `claim_id` …").
    assert_eq!(rows(4), Ok(1));
}

/// "CCLF and RIF fields are trimmed by the one trim every format shares"
/// (found by the `claims_cclf` fuzz target, issue #17). CCLF and RIF cut
/// their fields with `trim_ascii`, which keeps a vertical tab, while the
/// canonical reader strips it: a CCLF diagnosis `M16.11<VT>` converted to
/// canonical CSV kept its tab and read back as another value. Also pinned
/// by the `claims_cclf` and `claims_rif` fuzz targets (a converted line
/// must read back unchanged).
#[test]
fn cclf_and_rif_fields_are_trimmed_by_the_one_trim_every_format_shares() {
    const PRINCIPAL_DX: usize = 14;
    let dir = tempfile::tempdir().expect("temporary folder");
    let row = cclf1_row("1001", "0", "2024-03-15").replace("|M16.11|", "|M16.11\x0b|");
    std::fs::write(
        dir.path().join("cclf1.txt"),
        format!("{CCLF1_HEADER}\n{row}\n"),
    )
    .expect("write");
    let (converted, rejects) = convert(dir.path(), "cclf1.txt", &["--claims-format", "cclf"]);
    assert_eq!(column(&rejects, 2), Vec::<String>::new());
    // Before: "\"M1611\u{b}\"" (the dot is dropped either way).
    assert_eq!(column(&converted, PRINCIPAL_DX), ["M1611"]);

    let header = "BENE_ID|CLM_ID|NCH_CLM_TYPE_CD|CLM_FROM_DT|CLM_THRU_DT|CLM_PMT_AMT|\
                  PRNCPAL_DGNS_CD";
    let text = format!("{header}\nB1|C1|60|01-JAN-2020|03-JAN-2020|100.00|\x0bM16.11\n");
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::write(dir.path().join("rif.txt"), text).expect("write");
    let (converted, rejects) = convert(dir.path(), "rif.txt", &["--claims-format", "rif"]);
    assert_eq!(column(&rejects, 2), Vec::<String>::new());
    assert_eq!(column(&converted, PRINCIPAL_DX), ["M1611"]);
}

/// "A record's offset points past the file's BOM, where its raw text
/// starts" (found by the `claims_cclf` fuzz target, issue #17). The first
/// record of a file with a BOM had offset 0 while its raw text left the
/// BOM out, so a reject found again by seeking to its offset (as the
/// version checks do) would have carried the BOM. A CCLF fixed-width file
/// has no header, so its first row is a claim row at the file's start.
#[test]
fn a_records_offset_points_past_the_files_bom_where_its_raw_text_starts() {
    use episode_recon::input::formats::ClaimsFormat;
    use episode_recon::input::source::Source;
    use episode_recon::input::{Chunking, Reading};
    use episode_recon::model::outcome::{RowOutcome, keep_owned};

    let mut record = cclf1_fixed("1001");
    // An amount that is not a number: the row is rejected.
    record[81..98].copy_from_slice(b" 00000000001X0.00");
    let mut file = b"\xEF\xBB\xBF".to_vec();
    file.extend_from_slice(&record);
    file.push(b'\n');
    let source = Source::from_bytes(Path::new("cclf1.txt"), file.clone());
    let reading = Reading {
        file: 0,
        as_of: None,
        chunking: Chunking::sequential(),
    };
    let mut rejects = Vec::new();
    ClaimsFormat::Cclf
        .read_chunked(source, reading, Vec::new, keep_owned, |rows, _| {
            rejects.extend(rows.into_iter().filter_map(|row| match row {
                RowOutcome::Rejected(reject) => Some((reject.source.offset, reject.raw)),
                _ => None,
            }));
            Ok::<(), episode_recon::input::claims::Error>(())
        })
        .expect("the file reads");
    // Before: offset 0, where the BOM is.
    assert_eq!(rejects, [(3, record.into_boxed_slice())]);
}

/// "Reader: carry a record's quote state from line to line" (56006e0).
/// After a stray quote the rest of the file is one record, `bad_csv`; the
/// reader scanned that record whole again for each line it added, so the
/// time grew with the square of the lines after the quote (80k lines: 174
/// s). The outcome was right and stays so: one row read, rejected whole.
/// The time is pinned where the work is, by the property test
/// `quote_state_line_by_line_is_the_whole_records` in `src/input/records.rs`.
#[test]
fn reader_carry_a_records_quote_state_from_line_to_line() {
    let mut rows = vec!["A3,1,B1,PB,2026-03-02,2026-03-02,1.00,,,,,,P1,,,,\"oops,".to_owned()];
    rows.extend((0..2000).map(|n| anchor(&format!("A{n}"), "B2", "100.00", "330001")));
    let case = lejr_case(&rows, PRICE);
    assert_success(&reconcile(&case, "out", &[]));
    let out = Outputs::read(&case.path("out"));
    let summary: serde_json::Value = serde_json::from_str(&out.summary).expect("JSON");
    assert_eq!(summary["rows"]["read"], 1);
    assert_eq!(summary["rejected_by_reason"]["bad_csv"], 1);
}

/// "auto: claims with a birth_date or PDE_ID column are claims" (4799ed2).
/// Under `--claims-format auto` a canonical claims file with an extra
/// `birth_date` column was skipped as a beneficiaries file: no row read,
/// exit 0. The detection is also pinned by
/// `auto_tells_claims_from_the_files_beside_them` in `src/input/formats`.
#[test]
fn auto_claims_with_a_birth_date_or_pde_id_column_are_claims() {
    let row = anchor("A1", "B1", "20000.00", "330001");
    let case = Case::empty();
    case.write(
        "claims.csv",
        &format!("{CLAIMS_HEADER},birth_date\n{row},1950-01-01\n"),
    );
    case.write("definitions/lejr.toml", &lejr(0, ""));
    case.write(
        "target_prices.csv",
        &format!("episode_type,provider_id,price_group,period,target_price\n{PRICE}"),
    );
    assert_success(&reconcile(&case, "out", &["--claims-format", "auto"]));
    let out = Outputs::read(&case.path("out"));
    // Before: no episode, and rows.read 0.
    assert_eq!(column(&out.episodes, 0), ["LEJR:B1:A1"]);
}

/// "Windows stop at the dates the outputs can write" (819fa95): a
/// discharge on 9999-12-31 ended its episode in year 10000, written
/// `+10000-01-29` with period `10000`, and every command reading the run
/// back failed on it. Also pinned by
/// `windows_past_the_calendar_stop_at_its_ends` in
/// `src/config/definitions.rs`.
#[test]
fn windows_stop_at_the_dates_the_outputs_can_write() {
    let row = "A1,1,B1,IP,2026-03-01,9999-12-31,15000.00,,2026-03-31,,9999-12-31,,330001,,470,,,";
    let case = lejr_case(&[row.to_owned()], "LEJR,330001,NOMCC,9999,30000.00\n");
    assert_success(&reconcile(&case, "out", &[]));
    let out = Outputs::read(&case.path("out"));
    assert_eq!(column(&out.episodes, 7), ["9999-12-31"]);
    assert_eq!(column(&out.episodes, 8), ["9999"]);
    // Read back: priced again as it was.
    let output = case.cli(&[
        "reprice",
        "--run",
        "out",
        "--target-prices",
        "target_prices.csv",
        "--out",
        "again",
    ]);
    assert_success(&output);
    assert_eq!(Outputs::read(&case.path("again")).episodes, out.episodes);
}

/// "Folders: read every entry but a folder" (76c3d6f): a link to nothing
/// named `b.csv` in a claims folder was skipped without a word, as was a
/// pipe, so a file the user meant to give went missing from the run with
/// exit 0. Now the link fails when opened, naming itself, and a pipe is
/// read as a stream.
#[cfg(unix)]
#[test]
fn folders_read_every_entry_but_a_folder() {
    let case = lejr_case(&[anchor("A1", "B1", "20000.00", "330001")], PRICE);
    std::fs::create_dir(case.path("claims")).expect("folder");
    std::fs::rename(case.path("claims.csv"), case.path("claims/a.csv")).expect("move");
    std::os::unix::fs::symlink(case.path("gone.csv"), case.path("claims/b.csv")).expect("link");
    let output = case.cli_reconcile(&["claims"], "out", &[]);
    assert_fails(&output, 1, &["b.csv"]);
    std::fs::remove_file(case.path("claims/b.csv")).expect("unlink");
    // A pipe in the folder: its rows are read.
    let pipe = case.path("claims/c.csv");
    let row = anchor("A2", "B2", "30000.00", "330001");
    let feeder =
        super::support::fifo_fed_with(&pipe, format!("{CLAIMS_HEADER}\n{row}\n").into_bytes());
    let output = case.cli_reconcile(&["claims"], "out", &[]);
    feeder.join().expect("the pipe was fed");
    assert_success(&output);
    let out = Outputs::read(&case.path("out"));
    assert_eq!(column(&out.episodes, 0), ["LEJR:B1:A1", "LEJR:B2:A2"]);
}

/// "Beneficiaries: refuse standard input and pipes, which are read twice"
/// (dc72465, narrowed by 438f2f5): `--beneficiaries -` failed with `-: cannot read
/// beneficiaries file: No such file or directory`, and a pipe
/// (`<(cat b.csv)`) was opened twice, the second time empty, and failed
/// with `missing required column beneficiary_id`. Both now fail before
/// anything is read, as usage errors naming the input and saying what to
/// do (RULES 46b), in `reconcile` and `convert` alike. `/dev/null`, a
/// device, stands for a pipe: refused by the same test, it cannot block
/// this test if the refusal regresses.
#[cfg(unix)]
#[test]
fn beneficiaries_refuse_standard_input_and_pipes() {
    let case = lejr_case(&[anchor("A1", "B1", "20000.00", "330001")], PRICE);
    for (given, what) in [("-", "standard input"), ("/dev/null", "a pipe or device")] {
        let expected = format!("{given}: cannot read beneficiaries from {what}");
        let output = case.cli_reconcile(&["claims.csv"], "out", &["--beneficiaries", given]);
        assert_fails_in_one_line(&output, 2, &[&expected, "write them to a file"]);
        let output = case.cli(&["convert", "--beneficiaries", given, "--out", "b.csv"]);
        assert_fails_in_one_line(&output, 2, &[&expected]);
    }
    assert!(!case.path("out").exists() && !case.path("b.csv").exists());
}

/// "convert: say a folder named as --out is a folder" (c4b70c0):
/// `convert --out DIR` said `output file exists ... use --force`, and with
/// `--force` failed with `Is a directory (os error 21)`, exit 3 as if the
/// machine were at fault. Both now say the name is a folder where a file's
/// name was expected, a usage error, and leave the folder as it was.
#[test]
fn convert_says_a_folder_named_as_out_is_a_folder() {
    let case = lejr_case(&[anchor("A1", "B1", "20000.00", "330001")], PRICE);
    std::fs::create_dir(case.path("converted")).expect("folder");
    for force in [&[][..], &["--force"][..]] {
        let mut args = vec!["convert", "--claims", "claims.csv", "--out", "converted"];
        args.extend(force);
        let output = case.cli(&args);
        assert_fails_in_one_line(
            &output,
            2,
            &["converted: is a folder; expected the name of the file"],
        );
    }
    let left = std::fs::read_dir(case.path("converted")).expect("still a folder");
    assert_eq!(left.count(), 0);
}

/// "scenarios: refuse a file given twice" (e04220e): `scenarios
/// --target-prices a.csv --target-prices a.csv` priced both and wrote
/// `scenarios.csv` with two columns named `a.csv`, which no reader tells
/// apart. A comparison whose two scenarios would have one label is now a
/// usage error naming the label, and nothing is written.
#[test]
fn scenarios_refuse_a_file_given_twice() {
    let case = lejr_case(&[anchor("A1", "B1", "20000.00", "330001")], PRICE);
    assert_success(&reconcile(&case, "run", &[]));
    let output = case.cli(&[
        "scenarios",
        "--run",
        "run",
        "--target-prices",
        "target_prices.csv",
        "--target-prices",
        "target_prices.csv",
        "--out",
        "compared",
    ]);
    assert_fails_in_one_line(
        &output,
        2,
        &[
            "scenario \"target_prices.csv\" is given twice",
            "expected each file once",
        ],
    );
    assert!(!case.path("compared").exists());
}

/// "Compressed inputs: name stray bytes at the end as a possible cause"
/// (ed58fbf): a gzip file followed by three stray bytes (`gzip -t`
/// says "trailing garbage ignored") was reported as `the gzip data is cut
/// short`, sending the user after a truncated download that did not
/// happen. The decoder cannot tell the two apart, so the message now names
/// both.
#[test]
fn compressed_inputs_name_stray_bytes_at_the_end() {
    use episode_recon::input::compressed::Compression;
    let case = lejr_case(&[anchor("A1", "B1", "20000.00", "330001")], PRICE);
    let text = std::fs::read(case.path("claims.csv")).expect("claims");
    let mut gz = Compression::Gzip.encode(&text).expect("compressed");
    gz.extend(b"xyz");
    std::fs::write(case.path("claims.csv.gz"), gz).expect("write");
    let output = case.cli_reconcile(&["claims.csv.gz"], "out", &[]);
    assert_fails_in_one_line(
        &output,
        1,
        &[
            "claims.csv.gz: cannot read claims file: the gzip data is cut short, or ends in stray bytes",
        ],
    );
}

/// "Beneficiaries: refuse pipes only in the formats opened twice, and
/// before the claims" (438f2f5): beneficiaries given as a pipe in a
/// format read once (RIF) are read as before dc72465, whose refusal is
/// for the formats opened twice only (RULES 46b). A review found the MBSF
/// pipe `convert` had read refused.
#[cfg(unix)]
#[test]
fn beneficiaries_in_a_format_read_once_may_come_from_a_pipe() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mbsf = std::fs::read(root.join("tests/fixtures/beneficiaries/mbsf/beneficiary_2019.csv"))
        .expect("fixture");
    let dir = tempfile::tempdir().expect("temporary folder");
    let pipe = dir.path().join("mbsf.csv");
    let feeder = super::support::fifo_fed_with(&pipe, mbsf);
    let output = cli_in(
        dir.path(),
        &[
            "convert",
            "--beneficiaries-format",
            "rif",
            "--beneficiaries",
            "mbsf.csv",
            "--out",
            "b.csv",
        ],
    );
    feeder.join().expect("the pipe was fed");
    assert_success(&output);
    let converted = std::fs::read_to_string(dir.path().join("b.csv")).expect("converted");
    assert!(converted.lines().count() > 1, "{converted}");
}
