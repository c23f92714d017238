//! `reprice` and `scenarios` (issue 6): pricing the episodes of an earlier
//! run again, without its claims.
//!
//! 1. A property: on generated data, repricing a run with other target
//!    prices and other `[pricing]` settings writes exactly the five files a
//!    full `reconcile` with those prices and settings writes.
//! 2. Refusals: anything that changes which lines an episode takes in needs
//!    the claims, and a folder that is not a readable run is named.
//! 3. Repricing with the run's own prices and definitions is the run.
//! 4. `scenarios` on a hand-computed case.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Output;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::Value;

use super::support::{Case, cli_in, lejr, stderr};

/// The five outputs of a run.
const FILES: [&str; 5] = [
    "episodes.csv",
    "providers.csv",
    "ledger.csv",
    "rejects.csv",
    "summary.json",
];

const PRICES_HEADER: &str = "episode_type,provider_id,price_group,period,target_price";

/// Runs the binary in `dir` and insists that it succeeds.
fn run_ok(dir: &Path, args: &[&str]) -> Output {
    let output = cli_in(dir, args);
    assert!(
        output.status.success(),
        "{args:?} failed ({:?}): {}",
        output.status.code(),
        stderr(&output)
    );
    output
}

/// Whether the five outputs of two folders are the same bytes; the first
/// difference otherwise.
fn compare_outputs(a: &Path, b: &Path) -> Result<(), String> {
    for name in FILES {
        let read = |dir: &Path| {
            fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
        };
        let (left, right) = (read(a), read(b));
        if left != right {
            return Err(format!(
                "{name} differs\n--- {}:\n{}\n--- {}:\n{}",
                a.display(),
                String::from_utf8_lossy(&left),
                b.display(),
                String::from_utf8_lossy(&right)
            ));
        }
    }
    Ok(())
}

fn assert_same_outputs(a: &Path, b: &Path) {
    if let Err(difference) = compare_outputs(a, b) {
        panic!("{difference}");
    }
}

/// `reconcile` of the generated claims in `dir/g` into `out`.
fn reconcile(dir: &Path, definitions: &str, prices: &str, out: &str) {
    run_ok(
        dir,
        &[
            "reconcile",
            "--claims",
            "g/claims",
            "--definitions",
            definitions,
            "--target-prices",
            prices,
            "--out",
            out,
        ],
    );
}

/// A generated data set in `dir/g`, reconciled into `dir/runA`.
fn generated_run(dir: &Path, beneficiaries: u64, seed: u64) {
    episode_recon::tools::generate::generate(beneficiaries, seed, &dir.join("g"))
        .expect("generate");
    reconcile(
        dir,
        "g/definitions-claims-only",
        "g/target_prices.csv",
        "runA",
    );
}

// ---------------------------------------------------------------------------
// 1. Property: reprice = reconcile, byte for byte.

/// `[pricing]` settings of one episode type, in integers.
#[derive(Clone, Debug)]
struct Settings {
    quarter: bool,
    /// Ten-thousandths: 0..=1000 is 0 ..= 0.1.
    discount: u32,
    /// Tenths: 500..=1000 is 50 ..= 100.
    high_cost_percentile: Option<u32>,
    /// Thousandths: 0..=500 is 0 ..= 0.5.
    stop_gain: Option<u32>,
    stop_loss: Option<u32>,
    /// Decimals as TOML strings, else as TOML numbers.
    quoted: bool,
}

impl Settings {
    fn toml(&self) -> String {
        let value = |text: String| {
            if self.quoted {
                format!("\"{text}\"")
            } else {
                text
            }
        };
        let period = if self.quarter { "quarter" } else { "year" };
        let mut block = format!(
            "[pricing]\nperiod = \"{period}\"\ndiscount = {}\n",
            value(format!("0.{:04}", self.discount))
        );
        if let Some(p) = self.high_cost_percentile {
            block.push_str(&format!(
                "high_cost_percentile = {}\n",
                value(format!("{}.{}", p / 10, p % 10))
            ));
        }
        for (key, share) in [("stop_gain", self.stop_gain), ("stop_loss", self.stop_loss)] {
            if let Some(s) = share {
                block.push_str(&format!("{key} = {}\n", value(format!("0.{s:03}"))));
            }
        }
        block
    }
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        any::<bool>(),
        0u32..=1000,
        // Low percentiles cap more often in the small groups here.
        prop::option::of(prop_oneof![Just(500u32), 500u32..=700, 700u32..=1000]),
        prop::option::of(0u32..=500),
        prop::option::of(0u32..=500),
        any::<bool>(),
    )
        .prop_map(
            |(quarter, discount, high_cost_percentile, stop_gain, stop_loss, quoted)| Settings {
                quarter,
                discount,
                high_cost_percentile,
                stop_gain,
                stop_loss,
                quoted,
            },
        )
}

/// How the other price file differs from the generated one.
#[derive(Clone, Debug)]
struct PriceChange {
    /// Thousandths: every price is scaled by this...
    factor: u32,
    /// ...plus these cents.
    cents: u32,
    /// The episode whose `*` (type, price group) is dropped in every period.
    drop: Index,
    /// Providers of the run's episodes given prices of their own (cents).
    own: Vec<(Index, u32)>,
}

fn price_change() -> impl Strategy<Value = PriceChange> {
    (
        500u32..1500,
        0u32..100,
        any::<Index>(),
        prop::collection::vec((any::<Index>(), 1_000_000u32..8_000_000), 0..4),
    )
        .prop_map(|(factor, cents, drop, own)| PriceChange {
            factor,
            cents,
            drop,
            own,
        })
}

fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The periods a price row of `year` is written for: the year and its
/// four quarters, so that types priced by year or by quarter find rows.
fn periods(year: &str) -> Vec<String> {
    let mut all = vec![year.to_owned()];
    all.extend((1..=4).map(|q| format!("{year}Q{q}")));
    all
}

/// The other price file, from the generated one and the run's episodes.
fn other_prices(generated: &str, episodes: &str, change: &PriceChange) -> String {
    type Key = (String, String, String, String);
    let mut rows: BTreeMap<Key, u64> = BTreeMap::new();
    let mut star_keys: Vec<(String, String)> = Vec::new();
    for line in generated.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (dollars, rest) = f[4].split_once('.').expect("a price with cents");
        let cents: u64 = dollars.parse::<u64>().unwrap() * 100 + rest.parse::<u64>().unwrap();
        let scaled = cents * u64::from(change.factor) / 1000 + u64::from(change.cents);
        for (q, period) in periods(f[3]).into_iter().enumerate() {
            let key = (f[0].into(), f[1].into(), f[2].into(), period);
            rows.insert(key, scaled + 137 * q as u64);
        }
        if f[1] == "*" && !star_keys.contains(&(f[0].into(), f[2].into())) {
            star_keys.push((f[0].into(), f[2].into()));
        }
    }
    let episodes: Vec<Vec<&str>> = episodes
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // The regional price of one episode's type and group, so that episodes
    // without a target price are common.
    let (dropped_type, dropped_group) = if episodes.is_empty() {
        change.drop.get(&star_keys).clone()
    } else {
        let e = change.drop.get(&episodes);
        (e[1].to_owned(), e[5].to_owned())
    };
    rows.retain(|(t, p, g, _), _| !(p == "*" && *t == dropped_type && *g == dropped_group));
    if !episodes.is_empty() {
        for (index, cents) in &change.own {
            let e = index.get(&episodes);
            for year in ["2026", "2027"] {
                for period in periods(year) {
                    let key = (e[1].into(), e[3].into(), e[5].into(), period);
                    rows.insert(key, u64::from(*cents));
                }
            }
        }
    }
    let mut text = format!("{PRICES_HEADER}\n");
    for ((t, p, g, period), cents) in rows {
        text.push_str(&format!("{t},{p},{g},{period},{}\n", money(cents)));
    }
    text
}

/// Copies the definitions of `from` into `to` with each file's `[pricing]`
/// table (the last of every generated definition) replaced.
fn other_definitions(from: &Path, to: &Path, settings: &[Settings]) {
    fs::create_dir_all(to).unwrap();
    let mut names: Vec<_> = fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), settings.len(), "one setting per definition");
    for (name, s) in names.iter().zip(settings) {
        let text = fs::read_to_string(from.join(name)).unwrap();
        let at = text.find("\n[pricing]\n").expect("a [pricing] table");
        fs::write(to.join(name), format!("{}\n{}", &text[..at], s.toml())).unwrap();
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        max_shrink_iters: 64,
        ..ProptestConfig::with_cases(12)
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn reprice_equals_a_full_reconcile(
        beneficiaries in 60u64..150,
        seed in any::<u64>(),
        settings in prop::collection::vec(settings(), 5),
        change in price_change(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        generated_run(dir, beneficiaries, seed);
        let generated = fs::read_to_string(dir.join("g/target_prices.csv")).unwrap();
        let episodes = fs::read_to_string(dir.join("runA/episodes.csv")).unwrap();
        fs::write(dir.join("B.csv"), other_prices(&generated, &episodes, &change)).unwrap();
        other_definitions(&dir.join("g/definitions-claims-only"), &dir.join("defsB"), &settings);

        // Other prices and other pricing settings.
        run_ok(dir, &[
            "reprice", "--run", "runA", "--target-prices", "B.csv",
            "--definitions", "defsB", "--out", "rep",
        ]);
        reconcile(dir, "defsB", "B.csv", "runB");
        let same = compare_outputs(&dir.join("rep"), &dir.join("runB"));
        prop_assert!(same.is_ok(), "with --definitions: {}", same.unwrap_err());

        // Other prices only: the run's own pricing settings.
        run_ok(dir, &[
            "reprice", "--run", "runA", "--target-prices", "B.csv", "--out", "rep2",
        ]);
        reconcile(dir, "g/definitions-claims-only", "B.csv", "runC");
        let same = compare_outputs(&dir.join("rep2"), &dir.join("runC"));
        prop_assert!(same.is_ok(), "prices only: {}", same.unwrap_err());
    }
}

// ---------------------------------------------------------------------------
// 2. Refusals.

/// Two episode types, LEJR and KNEE (the same rules under another id), and
/// three anchors, reconciled into `run`.
fn two_type_case() -> Case {
    let claims = "\
A1,1,B1,IP,2026-03-02,2026-03-05,20000.00,,,,,,P1,,470,,,
A2,1,B2,IP,2026-04-01,2026-04-03,30000.00,,,,,,P2,,469,,,
C1,1,B1,PB,2026-03-20,2026-03-20,1000.00,,,,,,D1,,,,99213,
";
    let knee = lejr(0, "").replace("id = \"LEJR\"", "id = \"KNEE\"");
    let case = Case::new(
        claims,
        &[("knee.toml", &knee), ("lejr.toml", &lejr(0, ""))],
        "LEJR,*,NOMCC,2026,25000.00\nLEJR,*,MCC,2026,35000.00\nKNEE,*,NOMCC,2026,25000.00\n",
    );
    run_ok(
        case.dir.path(),
        &[
            "reconcile",
            "--claims",
            "claims.csv",
            "--definitions",
            "definitions",
            "--target-prices",
            "target_prices.csv",
            "--out",
            "run",
        ],
    );
    case
}

/// Runs `args`, which must fail with exit 1 and one line on stderr holding
/// each of `needles`, leaving no `out` folder (nor a staging one) behind.
fn assert_refused(case: &Case, args: &[&str], out: &str, needles: &[&str]) {
    let output = case.cli(args);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{args:?}: {message}");
    assert_eq!(
        message.trim_end().lines().count(),
        1,
        "one line: {message:?}"
    );
    for needle in needles {
        assert!(
            message.contains(needle),
            "{args:?}: {needle:?} not in {message:?}"
        );
    }
    assert!(!case.path(out).exists(), "{out} was left behind");
    let staging = format!(".{out}.");
    for entry in fs::read_dir(case.dir.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(&staging), "{name} was left behind");
    }
}

/// `reprice` of `run` with its own prices and the definitions `defs`.
fn reprice_with<'a>(defs: &'a str, out: &'a str) -> [&'a str; 9] {
    [
        "reprice",
        "--run",
        "run",
        "--target-prices",
        "target_prices.csv",
        "--definitions",
        defs,
        "--out",
        out,
    ]
}

/// A refused change: its name, the new definition files, and the episode
/// type the message must name.
type Refusal<'a> = (&'a str, Vec<(&'a str, String)>, &'a str);

#[test]
fn reprice_refuses_what_needs_the_claims() {
    let case = two_type_case();
    let base_lejr = lejr(0, "");
    let base_knee = base_lejr.replace("id = \"LEJR\"", "id = \"KNEE\"");
    // Control: a name and the [pricing] table may change.
    let pricing_only = base_lejr
        .replace("(test)", "(renamed)")
        .replace("discount = \"0.03\"", "discount = \"0.05\"")
        .replace("period = \"year\"", "period = \"quarter\"");
    case.write("defs_ok/lejr.toml", &pricing_only);
    case.write("defs_ok/knee.toml", &base_knee);
    run_ok(case.dir.path(), &reprice_with("defs_ok", "rep_ok"));

    let changed = |from: &str, to: &str| {
        let text = base_lejr.replace(from, to);
        assert_ne!(text, base_lejr, "{from:?} is in the definition");
        text
    };
    let cases: Vec<Refusal> = vec![
        (
            "post_days",
            vec![
                ("lejr.toml", changed("post_days = 90", "post_days = 60")),
                ("knee.toml", base_knee.clone()),
            ],
            "LEJR",
        ),
        (
            "trigger",
            vec![
                (
                    "lejr.toml",
                    changed(
                        "drg = [\"469\", \"470\"]",
                        "drg = [\"469\", \"470\", \"521\"]",
                    ),
                ),
                ("knee.toml", base_knee.clone()),
            ],
            "LEJR",
        ),
        (
            "exclude",
            vec![
                (
                    "lejr.toml",
                    changed("drg = [\"871\"]", "drg = [\"871\", \"872\"]"),
                ),
                ("knee.toml", base_knee.clone()),
            ],
            "LEJR",
        ),
        ("removed", vec![("lejr.toml", base_lejr.clone())], "KNEE"),
        (
            "added",
            vec![
                ("lejr.toml", base_lejr.clone()),
                ("knee.toml", base_knee.clone()),
                (
                    "hip.toml",
                    base_lejr.replace("id = \"LEJR\"", "id = \"HIP\""),
                ),
            ],
            "HIP",
        ),
    ];
    for (name, files, id) in cases {
        let defs = format!("defs_{name}");
        for (file, text) in &files {
            case.write(&format!("{defs}/{file}"), text);
        }
        let out = format!("rep_{name}");
        assert_refused(
            &case,
            &reprice_with(&defs, &out),
            &out,
            &[&defs, id, "needs the claims"],
        );
    }
}

#[test]
fn reprice_names_a_folder_that_is_not_a_run() {
    let case = two_type_case();
    // No episodes.csv.
    for name in ["providers.csv", "ledger.csv", "rejects.csv", "summary.json"] {
        let text = fs::read_to_string(case.path(&format!("run/{name}"))).unwrap();
        case.write(&format!("notrun/{name}"), &text);
    }
    assert_refused(
        &case,
        &[
            "reprice",
            "--run",
            "notrun",
            "--target-prices",
            "target_prices.csv",
            "--out",
            "rep",
        ],
        "rep",
        &["notrun/episodes.csv"],
    );

    // A summary without its `run` section, as older runs wrote it.
    for name in FILES {
        let text = fs::read_to_string(case.path(&format!("run/{name}"))).unwrap();
        case.write(&format!("old/{name}"), &text);
    }
    let mut summary: Value =
        serde_json::from_str(&fs::read_to_string(case.path("old/summary.json")).unwrap()).unwrap();
    assert!(summary.as_object_mut().unwrap().remove("run").is_some());
    case.write(
        "old/summary.json",
        &serde_json::to_string_pretty(&summary).unwrap(),
    );
    assert_refused(
        &case,
        &[
            "reprice",
            "--run",
            "old",
            "--target-prices",
            "target_prices.csv",
            "--out",
            "rep",
        ],
        "rep",
        &["old/summary.json", "`run`"],
    );
    assert_refused(
        &case,
        &[
            "scenarios",
            "--run",
            "old",
            "--target-prices",
            "target_prices.csv",
            "--out",
            "cmp",
        ],
        "cmp",
        &["old/summary.json", "`run`"],
    );
}

// ---------------------------------------------------------------------------
// 3. The run's own prices give the run.

#[test]
fn reprice_with_the_runs_own_prices_is_the_run() {
    for seed in [3, 11] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        generated_run(dir, 200, seed);
        let episodes = fs::read_to_string(dir.join("runA/episodes.csv")).unwrap();
        assert!(episodes.lines().count() > 5, "seed {seed}: a few episodes");
        run_ok(
            dir,
            &[
                "reprice",
                "--run",
                "runA",
                "--target-prices",
                "g/target_prices.csv",
                "--out",
                "same",
            ],
        );
        assert_same_outputs(&dir.join("runA"), &dir.join("same"));
        run_ok(
            dir,
            &[
                "reprice",
                "--run",
                "runA",
                "--target-prices",
                "g/target_prices.csv",
                "--definitions",
                "g/definitions-claims-only",
                "--out",
                "same2",
            ],
        );
        assert_same_outputs(&dir.join("runA"), &dir.join("same2"));
    }
    // The hand-built case too (no rejects, no high-cost cap).
    let case = two_type_case();
    run_ok(
        case.dir.path(),
        &[
            "reprice",
            "--run",
            "run",
            "--target-prices",
            "target_prices.csv",
            "--out",
            "same",
        ],
    );
    assert_same_outputs(&case.path("run"), &case.path("same"));
}

// ---------------------------------------------------------------------------
// 4. Scenarios, by hand.

#[test]
fn scenarios_side_by_side() {
    // LEJR (support::lejr): discount 3%, stop-gain 20%, stop-loss 10%, by
    // year, no high-cost cap; window = admission ..= discharge + 89 days.
    // Episodes, all ending in 2026:
    //   E1 B1 at P1, DRG 470 (NOMCC): 20000.00 + a PB line 1000.00 = 21000.00
    //   E2 B2 at P2, DRG 469 (MCC):   30000.00
    //   E3 B3 at P3, DRG 470 (NOMCC): 27000.00
    //   E4 B4 at P4, DRG 469 (MCC):   40000.00
    //   E5 B5 at P5, OP 27447 (OP):   15000.00
    let claims = "\
A1,1,B1,IP,2026-03-02,2026-03-05,20000.00,,,,,,P1,,470,,,
C1,1,B1,PB,2026-03-20,2026-03-20,1000.00,,,,,,D1,,,,99213,
A2,1,B2,IP,2026-04-01,2026-04-03,30000.00,,,,,,P2,,469,,,
A3,1,B3,IP,2026-05-04,2026-05-06,27000.00,,,,,,P3,,470,,,
A4,1,B4,IP,2026-06-01,2026-06-04,40000.00,,,,,,P4,,469,,,
A5,1,B5,OP,2026-04-10,2026-04-10,15000.00,,,,,,P5,,,,27447,
";
    // Prices A (the run's): NOMCC 25000 -> 24250.00, MCC 35000 -> 33950.00,
    // no OP price.
    //   P1: 24250 - 21000 =  3250.00; limits +4850.00 / -2425.00: none
    //   P2: 33950 - 30000 =  3950.00; limits +6790.00 / -3395.00: none
    //   P3: 24250 - 27000 = -2750.00; stop-loss -2425.00
    //   P4: 33950 - 40000 = -6050.00; stop-loss -3395.00
    //   P5: not priced, no row
    //   total 3250 + 3950 - 2425 - 3395 = 1380.00; 4 priced, 1 not
    // Prices B: NOMCC 20000 -> 19400.00, no `*` MCC, P2's own MCC
    // 50000 -> 48500.00, P5's own OP 16000 -> 15520.00.
    //   P1: 19400 - 21000 = -1600.00; limits +3880.00 / -1940.00: none
    //   P2: 48500 - 30000 = 18500.00; stop-gain +9700.00
    //   P3: 19400 - 27000 = -7600.00; stop-loss -1940.00
    //   P4: not priced, no row
    //   P5: 15520 - 15000 =   520.00; limits +3104.00 / -1552.00: none
    //   total -1600 + 9700 - 1940 + 520 = 6680.00; 4 priced, 1 not
    let case = Case::new(
        claims,
        &[("lejr.toml", &lejr(0, ""))],
        "LEJR,*,NOMCC,2026,25000.00\nLEJR,*,MCC,2026,35000.00\n",
    );
    case.write(
        "other/B.csv",
        &format!(
            "{PRICES_HEADER}\nLEJR,*,NOMCC,2026,20000.00\nLEJR,P2,MCC,2026,50000.00\nLEJR,P5,OP,2026,16000\n"
        ),
    );
    let dir = case.dir.path();
    run_ok(
        dir,
        &[
            "reconcile",
            "--claims",
            "claims.csv",
            "--definitions",
            "definitions",
            "--target-prices",
            "target_prices.csv",
            "--out",
            "run",
        ],
    );
    run_ok(
        dir,
        &[
            "scenarios",
            "--run",
            "run",
            "--target-prices",
            "target_prices.csv",
            "other/B.csv",
            "--out",
            "cmp",
        ],
    );
    assert_eq!(
        fs::read_to_string(case.path("cmp/scenarios.csv")).unwrap(),
        "provider_id,episode_type,period,target_prices.csv,other/B.csv\n\
         P1,LEJR,2026,3250.00,-1600.00\n\
         P2,LEJR,2026,3950.00,9700.00\n\
         P3,LEJR,2026,-2425.00,-1940.00\n\
         P4,LEJR,2026,-3395.00,\n\
         P5,LEJR,2026,,520.00\n"
    );

    // The fingerprints: A's is the run's; B's is what a repriced run records.
    run_ok(
        dir,
        &[
            "reprice",
            "--run",
            "run",
            "--target-prices",
            "other/B.csv",
            "--out",
            "runB",
        ],
    );
    let fingerprint = |folder: &str| {
        let summary: Value =
            serde_json::from_str(&fs::read_to_string(case.path(folder)).unwrap()).unwrap();
        summary["run"]["target_prices_fingerprint"].clone()
    };
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(case.path("cmp/summary.json")).unwrap()).unwrap();
    let expected = serde_json::json!({
        "run": "run",
        "scenarios": [
            {
                "target_prices": "target_prices.csv",
                "target_prices_fingerprint": fingerprint("run/summary.json"),
                "priced": 4,
                "no_target_price": 1,
                "providers": 4,
                "reconciliation": "1380.00",
                "participants": null,
                "settlement": null,
                "participants_settled": null,
                "net_payment_reconciliation": null,
            },
            {
                "target_prices": "other/B.csv",
                "target_prices_fingerprint": fingerprint("runB/summary.json"),
                "priced": 4,
                "no_target_price": 1,
                "providers": 4,
                "reconciliation": "6680.00",
                "participants": null,
                "settlement": null,
                "participants_settled": null,
                "net_payment_reconciliation": null,
            },
        ],
    });
    assert_eq!(summary, expected);
    assert_ne!(
        fingerprint("run/summary.json"),
        fingerprint("runB/summary.json")
    );

    // The repriced run agrees with the B column.
    assert_eq!(
        fs::read_to_string(case.path("runB/providers.csv")).unwrap(),
        "provider_id,episode_type,period,episodes,target_total,actual_total,capped_total,gain_loss_total,limit,reconciliation_amount\n\
         P1,LEJR,2026,1,19400.00,21000.00,21000.00,-1600.00,none,-1600.00\n\
         P2,LEJR,2026,1,48500.00,30000.00,30000.00,18500.00,stop_gain,9700.00\n\
         P3,LEJR,2026,1,19400.00,27000.00,27000.00,-7600.00,stop_loss,-1940.00\n\
         P5,LEJR,2026,1,15520.00,15000.00,15000.00,520.00,none,520.00\n"
    );
}

/// The sample's claims and enrollment split by beneficiary into `parts`
/// folders under `dir` (each with its claims and beneficiaries files), as
/// the Spark path splits them into buckets.
fn split_sample(dir: &Path, parts: usize) -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let part_of = |id: &str| id.bytes().map(usize::from).sum::<usize>() % parts;
    let folders: Vec<_> = (0..parts).map(|i| dir.join(format!("part-{i}"))).collect();
    let mut sources: Vec<(std::path::PathBuf, String, usize)> = vec![(
        root.join("sample-claims/beneficiaries.csv"),
        "beneficiaries.csv".into(),
        0,
    )];
    for entry in fs::read_dir(root.join("sample-claims/claims")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        sources.push((path, name, 2));
    }
    for folder in &folders {
        fs::create_dir_all(folder.join("claims")).unwrap();
    }
    for (source, name, id_column) in sources {
        let text = fs::read_to_string(&source).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let mut outs: Vec<String> = vec![format!("{header}\n"); parts];
        for line in lines {
            let id = line.split(',').nth(id_column).unwrap();
            outs[part_of(id)].push_str(&format!("{line}\n"));
        }
        for (folder, out) in folders.iter().zip(outs) {
            let path = match name.as_str() {
                "beneficiaries.csv" => folder.join(&name),
                _ => folder.join("claims").join(&name),
            };
            fs::write(path, out).unwrap();
        }
    }
    folders
}

#[test]
fn parts_of_the_sample_priced_together_are_the_whole_run() {
    use episode_recon::config::{definitions, prices::TargetPrices};
    use episode_recon::engine::reconcile::{self, Inputs};
    use episode_recon::input::formats::ClaimsFormat;
    use episode_recon::output::report::{self, CsvView};
    use episode_recon::runs::{pricing_files, prior_run::PriorRun, reprice};

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let golden = root.join("tests/golden/sample/expected");
    let dir = tempfile::tempdir().unwrap();
    let definitions = definitions::load_dir(&root.join("episode-definitions")).unwrap();
    let prices = TargetPrices::load(&root.join("sample-claims/target_prices.csv")).unwrap();
    let risk = root.join("sample-claims/risk_factors.csv");
    let mut parts = Vec::new();
    for folder in split_sample(dir.path(), 3) {
        let (risk_factors, _) = pricing_files::load(Some(&risk), None, None).unwrap();
        let claims = ClaimsFormat::Canonical
            .expand(&[folder.join("claims")])
            .unwrap();
        let inputs = Inputs {
            beneficiaries: vec![folder.join("beneficiaries.csv").into()],
            risk_factors,
            ..Inputs::new(claims, definitions.clone(), prices.clone())
        };
        let part = reconcile::run(inputs).unwrap();
        assert!(!part.episodes.is_empty(), "every part has episodes");
        report::write_outputs(&part, &folder.join("out"), false, CsvView::Exact).unwrap();
        parts.push(PriorRun::load(&folder.join("out")).unwrap());
    }
    let (risk_factors, settlement) = pricing_files::load(
        Some(&risk),
        Some(&root.join("sample-claims/participants.csv")),
        Some(&root.join("models/team/settlement.toml")),
    )
    .unwrap();
    let with = reprice::RepriceWith {
        risk_factors: risk_factors.as_ref(),
        settlement: settlement.as_ref(),
    };
    let whole = reprice::reprice_parts(&parts, &prices, &with).unwrap();
    for table in [&report::EPISODES, &report::PROVIDERS, &report::PARTICIPANTS] {
        let mut written = Vec::new();
        report::write_csv(&whole, table, CsvView::Exact, &mut written).unwrap();
        let expected = fs::read(golden.join(format!("{}.csv", table.name))).unwrap();
        assert!(
            written == expected,
            "{} differs from the whole run's",
            table.name
        );
    }
    // The accounting is the parts' sum: the whole run's, less its files.
    let mut summary = Vec::new();
    report::write_summary(&whole, CsvView::Exact, &mut summary).unwrap();
    let summary: Value = serde_json::from_slice(&summary).unwrap();
    let expected: Value =
        serde_json::from_slice(&fs::read(golden.join("summary.json")).unwrap()).unwrap();
    for key in [
        "rows",
        "amounts",
        "rejected_by_reason",
        "beneficiaries",
        "episodes",
        "episode_types",
        "money",
        "participants",
    ] {
        assert_eq!(summary[key], expected[key], "summary.json key {key}");
    }
}

#[test]
fn parts_made_with_other_definitions_are_not_priced_together() {
    use episode_recon::config::prices::TargetPrices;
    use episode_recon::error::{Classify, ErrorKind};
    use episode_recon::runs::{prior_run::PriorRun, reprice};

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let golden = PriorRun::load(&root.join("tests/golden/sample/expected")).unwrap();
    let mut other = golden.clone();
    other.record.definitions.pop();
    let prices = TargetPrices::load(&root.join("sample-claims/target_prices.csv")).unwrap();
    let with = reprice::RepriceWith::default();
    let error = reprice::reprice_parts(&[golden, other], &prices, &with).unwrap_err();
    assert!(error.to_string().contains("other definitions"), "{error}");
    assert_eq!(error.kind(), ErrorKind::Internal);
    let none = reprice::reprice_parts(&[], &prices, &with).unwrap_err();
    assert!(none.to_string().contains("no parts"), "{none}");
}

/// Regression: a run whose types have `[risk]`, repriced (or priced in
/// scenarios) without `--risk-factors`, priced every episode
/// `no_risk_factor` and settled nothing, with success. A reconcile refuses
/// `[risk]` without risk factors (RULES 42); so do these now, in one line
/// naming the type and the flag.
#[test]
fn risk_levels_without_risk_factors_are_refused() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let base = dir.path();
    run_ok(
        base,
        &[
            "generate",
            "--beneficiaries",
            "300",
            "--seed",
            "3",
            "--out",
            "gen",
        ],
    );
    let mut reconcile: Vec<&str> = super::support::RECONCILE_GENERATED.to_vec();
    reconcile.extend(["--out", "run"]);
    run_ok(base, &reconcile);
    let without = [
        vec![
            "reprice",
            "--run",
            "run",
            "--target-prices",
            "gen/target_prices.csv",
            "--out",
            "a",
        ],
        vec![
            "scenarios",
            "--run",
            "run",
            "--target-prices",
            "gen/target_prices.csv",
            "--out",
            "b",
        ],
    ];
    for args in without {
        let output = cli_in(base, &args);
        super::support::assert_fails_in_one_line(
            &output,
            1,
            &[
                "repricing run",
                "has [risk]",
                "expected --risk-factors FILE",
            ],
        );
        assert!(!base.join(args[6]).exists(), "{args:?} wrote outputs");
    }
    let mut with: Vec<&str> = super::support::REPRICE_GENERATED.to_vec();
    with[4] = "gen/target_prices.csv";
    with.extend(["--out", "c"]);
    run_ok(base, &with);
    // The run's own prices and risk factors: the run's episodes again.
    assert_eq!(
        fs::read_to_string(base.join("c/episodes.csv")).expect("episodes"),
        fs::read_to_string(base.join("run/episodes.csv")).expect("episodes")
    );
}
