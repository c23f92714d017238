//! `--beneficiaries-format`: enrollment read from the MBSF base segment
//! (RIF) and the DE-SynPUF beneficiary summary, on copies of the public
//! samples in `tests/fixtures/beneficiaries/` (see its README), checked by
//! hand against the files.

use std::path::{Path, PathBuf};

use episode_recon::input::beneficiaries::{
    Beneficiaries, BeneficiariesFormat, Columns, Month, load,
};
use episode_recon::input::source::Input;
use episode_recon::model::parse_date;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/beneficiaries")
        .join(name)
}

fn month(year: i32, month: u32) -> Month {
    Month { year, month }
}

/// Loads `paths` as one input (file indexes from 0) and checks the
/// accounting: every source row is accepted or rejected, once.
fn load_checked(paths: &[PathBuf], format: BeneficiariesFormat) -> Beneficiaries {
    let inputs = Input::files(paths.to_vec());
    let loaded = load(&inputs, 0, &Columns::default(), format).expect("the files read");
    assert_eq!(loaded.read, loaded.accepted + loaded.rejects.len() as u64);
    let counted: u64 = loaded.rejected_by_reason.values().sum();
    assert_eq!(counted, loaded.rejects.len() as u64);
    loaded
}

fn reasons(loaded: &Beneficiaries) -> Vec<(u32, u64, &'static str)> {
    loaded
        .rejects
        .iter()
        .map(|r| (r.file, r.row, r.reason.name()))
        .collect()
}

/// The five flags of a month as `YNN-…` (`-` for absent).
fn flags(loaded: &Beneficiaries, id: &str, m: Month) -> String {
    let row = loaded.enrollees[id].months.get(&m).unwrap();
    ["part_a", "part_b", "managed_care", "esrd", "dual"]
        .iter()
        .map(|f| match row.flag(f) {
            Some(true) => 'Y',
            Some(false) => 'N',
            None => '-',
        })
        .collect()
}

#[test]
fn an_mbsf_row_is_twelve_canonical_months() {
    let loaded = load_checked(
        &[fixture("mbsf/beneficiary_2011.csv")],
        BeneficiariesFormat::Rif,
    );
    assert!(loaded.rejects.is_empty());
    assert_eq!((loaded.read, loaded.accepted), (3, 3));
    let b6 = &loaded.enrollees["-1000006"];
    assert_eq!(b6.birth_date, parse_date(b"1942-01-17"));
    assert_eq!(b6.death_date, None);
    assert_eq!(
        b6.months.keys().copied().collect::<Vec<_>>(),
        (1..=12).map(|m| month(2011, m)).collect::<Vec<_>>()
    );
    // Buy-in C: Parts A and B; no HMO value: managed care absent; status
    // 10: aged without ESRD; dual `4` (04, SLMB and full Medicaid): dual.
    for m in 1..=12 {
        assert_eq!(flags(&loaded, "-1000006", month(2011, m)), "YY-NY");
    }
    // Buy-in 3, status 10, dual NA (non-Medicaid).
    assert_eq!(flags(&loaded, "-1000014", month(2011, 7)), "YY-NN");
    assert_eq!(
        loaded.enrollees["-1000014"].birth_date,
        parse_date(b"1945-11-11")
    );
    // Dual 8 (08, other full dual).
    assert_eq!(flags(&loaded, "-1000018", month(2011, 12)), "YY-NY");
    for column in [
        "part_a",
        "part_b",
        "managed_care",
        "esrd",
        "dual",
        "RFRNC_YR",
    ] {
        assert!(loaded.columns_seen.contains(column), "{column}");
    }
}

#[test]
fn months_the_mbsf_says_nothing_of_are_missing() {
    let loaded = load_checked(
        &[fixture("mbsf/beneficiary_2021.csv")],
        BeneficiariesFormat::Rif,
    );
    assert_eq!((loaded.read, loaded.accepted), (3, 3));
    let months: Vec<Month> = loaded.enrollees["-1000006"]
        .months
        .keys()
        .copied()
        .collect();
    assert_eq!(months, (1..=5).map(|m| month(2021, m)).collect::<Vec<_>>());
    assert_eq!(flags(&loaded, "-1000018", month(2021, 5)), "YY-NY");
    assert_eq!(flags(&loaded, "-1000014", month(2021, 1)), "YY-NN");
}

#[test]
fn unknown_codes_reject_the_source_row_and_a_year_twice_is_a_duplicate() {
    // beneficiary_2018.csv holds reference year 2019, like
    // beneficiary_2019.csv: every month of -1000006 and -1000014 is given
    // twice. -1000018's dual code `AA` is no CCW code; the static sample's
    // Medicare status `AA` neither.
    let loaded = load_checked(
        &[
            fixture("mbsf/beneficiary_2018.csv"),
            fixture("mbsf/beneficiary_2019.csv"),
            fixture("mbsf/sample-a-beneficiaries.txt"),
        ],
        BeneficiariesFormat::Rif,
    );
    assert_eq!(
        reasons(&loaded),
        [
            (0, 2, "duplicate_month"),
            (0, 3, "duplicate_month"),
            (0, 4, "bad_flag"),
            (1, 2, "duplicate_month"),
            (1, 3, "duplicate_month"),
            (1, 4, "bad_flag"),
            (2, 2, "bad_flag"),
        ]
    );
    assert_eq!((loaded.read, loaded.accepted), (7, 0));
    assert!(loaded.enrollees.is_empty());
    // Rejects keep the row's text, read again by offset for the
    // per-beneficiary checks.
    assert!(loaded.rejects[0].record.starts_with(b"UPDATE|-1000006|22|"));
    assert!(loaded.rejects[4].record.starts_with(b"UPDATE|-1000014|22|"));
    assert!(loaded.rejects[6].record.starts_with(b"INSERT|567834|MO|"));
}

#[test]
fn the_checks_see_months_of_every_format_alike() {
    let dir = tempfile::tempdir().unwrap();
    let canonical = dir.path().join("extra.csv");
    // -1000014's March 2011 is also in the MBSF file: both rows go, the
    // MBSF row with all its twelve months. -1000006 gets a month of its
    // own with another birth date: all its rows disagree.
    std::fs::write(
        &canonical,
        "beneficiary_id,month,birth_date,part_a\n\
         -1000014,2011-03,1945-11-11,Y\n\
         -1000006,2012-01,1942-01-18,Y\n\
         -1000018,2012-01,1945-11-23,N\n",
    )
    .unwrap();
    let loaded = load_checked(
        &[fixture("mbsf/beneficiary_2011.csv"), canonical],
        BeneficiariesFormat::Auto,
    );
    assert_eq!(
        reasons(&loaded),
        [
            (0, 2, "inconsistent_beneficiary"),
            (0, 3, "duplicate_month"),
            (1, 2, "duplicate_month"),
            (1, 3, "inconsistent_beneficiary"),
        ]
    );
    assert_eq!((loaded.read, loaded.accepted), (6, 2));
    let b18 = &loaded.enrollees["-1000018"];
    assert_eq!(b18.months.len(), 13);
    assert_eq!(flags(&loaded, "-1000018", month(2012, 1)), "N----");
    assert_eq!(loaded.rejects.len(), 4);
    assert_eq!(&*loaded.rejects[2].record, b"-1000014,2011-03,1945-11-11,Y");
}

#[test]
fn a_synpuf_count_sets_a_flag_only_for_all_or_no_months() {
    let loaded = load_checked(
        &[fixture(
            "synpuf/DE1_0_2008_Beneficiary_Summary_File_Sample_0.csv",
        )],
        BeneficiariesFormat::Synpuf,
    );
    assert!(loaded.rejects.is_empty());
    assert_eq!((loaded.read, loaded.accepted), (2, 2));
    let first = &loaded.enrollees["0002056B40CEE448"];
    assert_eq!(first.birth_date, parse_date(b"1920-10-01"));
    assert_eq!(first.months.len(), 12);
    // Part A 12, Part B 12, HMO 0 months, ESRD 0; no dual in SynPUF.
    for m in 1..=12 {
        assert_eq!(flags(&loaded, "0002056B40CEE448", month(2008, m)), "YYNN-");
        assert_eq!(flags(&loaded, "0004D03F1BD5E607", month(2008, m)), "YYYN-");
    }
    assert!(!loaded.columns_seen.contains("dual"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir
        .path()
        .join("DE1_0_2009_Beneficiary_Summary_File_Sample_9.csv");
    std::fs::write(
        &file,
        "DESYNPUF_ID,BENE_BIRTH_DT,BENE_DEATH_DT,BENE_ESRD_IND,BENE_HI_CVRAGE_TOT_MONS,BENE_SMI_CVRAGE_TOT_MONS,BENE_HMO_CVRAGE_TOT_MONS\n\
         A,19300101,20090315,Y,3,3,0\n\
         B,19300101,,0,13,12,0\n\
         C,19300101,,X,12,12,0\n\
         D,1930-01-01x,,0,12,12,0\n",
    )
    .unwrap();
    let loaded = load_checked(&[file], BeneficiariesFormat::Auto);
    assert_eq!(
        reasons(&loaded),
        [(0, 3, "bad_flag"), (0, 4, "bad_flag"), (0, 5, "bad_date")]
    );
    // Three months of Part A in a year of death: which three cannot be
    // known, so the flags are absent; ESRD `Y` neither says from when.
    let a = &loaded.enrollees["A"];
    assert_eq!(a.death_date, parse_date(b"2009-03-15"));
    assert_eq!(flags(&loaded, "A", month(2009, 1)), "--N--");
}

#[test]
fn a_synpuf_file_without_a_year_and_cclf8_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let nameless = dir.path().join("beneficiaries.csv");
    std::fs::write(&nameless, "DESYNPUF_ID,BENE_BIRTH_DT\nA,19300101\n").unwrap();
    let error = load(
        &[nameless.into()],
        0,
        &Columns::default(),
        BeneficiariesFormat::Auto,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("cannot tell the year"), "{error}");

    let cclf8 = dir.path().join("cclf8.txt");
    std::fs::write(
        &cclf8,
        "BENE_MBI_ID|BENE_HIC_NUM|BENE_DOB|BENE_MDCR_STUS_CD\n",
    )
    .unwrap();
    let error = load(
        &[cclf8.into()],
        0,
        &Columns::default(),
        BeneficiariesFormat::Auto,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("CCLF8"), "{error}");
    assert!(error.contains("no month"), "{error}");
}

#[test]
fn the_cli_takes_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let output = crate::support::cli_in(
        dir.path(),
        &["reconcile", "--beneficiaries-format", "mbsf", "--help"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("expected canonical, rif, synpuf, cclf, parquet or auto"),
        "{stderr}"
    );
}

/// `convert --beneficiaries` writes what a run reads: the converted MBSF
/// and DE-SynPUF files, read back as canonical CSV, hold the same
/// beneficiaries, dates and months, flag for flag; and a rejected source
/// row is listed with its reason, not converted.
#[test]
fn converted_beneficiaries_read_back_as_the_originals() {
    let dir = tempfile::tempdir().expect("temporary folder");
    for (inputs, format) in [
        (
            vec![
                fixture("mbsf/beneficiary_2011.csv"),
                fixture("mbsf/beneficiary_2021.csv"),
            ],
            BeneficiariesFormat::Rif,
        ),
        (
            vec![fixture(
                "synpuf/DE1_0_2008_Beneficiary_Summary_File_Sample_0.csv",
            )],
            BeneficiariesFormat::Synpuf,
        ),
    ] {
        let out = dir.path().join("converted.csv");
        let converted = episode_recon::tools::convert::convert_beneficiaries(
            format,
            &inputs,
            &out,
            episode_recon::output::report::CsvView::Exact,
        )
        .expect("the conversion succeeds");
        let original = load_checked(&inputs, format);
        let read_back = load_checked(std::slice::from_ref(&out), BeneficiariesFormat::Canonical);
        assert_eq!(converted.rejected, original.rejects.len() as u64);
        assert_eq!(read_back.rejects.len(), 0);
        let mut ids: Vec<&String> = original.enrollees.keys().collect();
        ids.sort();
        let mut back_ids: Vec<&String> = read_back.enrollees.keys().collect();
        back_ids.sort();
        assert_eq!(ids, back_ids, "{inputs:?}");
        let mut months = 0;
        for id in ids {
            let (a, b) = (&original.enrollees[id], &read_back.enrollees[id]);
            assert_eq!(
                (a.birth_date, a.death_date),
                (b.birth_date, b.death_date),
                "{id}"
            );
            let keys: Vec<_> = a.months.keys().collect();
            assert_eq!(keys, b.months.keys().collect::<Vec<_>>(), "{id}");
            for m in a.months.keys() {
                assert_eq!(
                    flags(&original, id, *m),
                    flags(&read_back, id, *m),
                    "{id} {m}"
                );
                months += 1;
            }
        }
        assert_eq!(converted.lines, months);
        assert!(months > 0, "{inputs:?}");
        let rejects = std::fs::read_to_string(&converted.rejects_path).expect("rejects file");
        assert_eq!(rejects.lines().count() - 1, original.rejects.len());
    }
}
