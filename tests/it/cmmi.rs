//! The BPCI Advanced definitions generated from the CMS tables
//! (`episode_recon::config::cmmi`): the shipped set in
//! `episode-definitions/bpci-advanced/` is exactly what the tables give, it
//! passes `check-definitions`, its categories carry the codes and settings
//! CMS lists, and a run over the bundled sample opens episodes of the
//! categories its anchors belong to.
//!
//! `EPISODE_RECON_REGENERATE=1 cargo test --test it cmmi::regenerating`
//! rewrites the shipped set instead of only comparing it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use episode_recon::config::cmmi;
use episode_recon::config::definitions::{self, EpisodeDefinition, PeriodKind};
use episode_recon::config::prices::TargetPrices;
use episode_recon::config::risk_factors::RiskFactors;
use episode_recon::engine::reconcile::{self, Inputs, Reconciliation};
use episode_recon::input::formats::ClaimsFormat;
use episode_recon::model::ClaimType;

use crate::support::cli_in;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn tables() -> PathBuf {
    root().join("data/cmmi-clinical-logic")
}

fn shipped() -> PathBuf {
    root().join("episode-definitions/bpci-advanced")
}

fn shipped_definitions() -> Vec<EpisodeDefinition> {
    definitions::load_dir(&shipped()).expect("the shipped BPCI Advanced definitions are valid")
}

fn by_id(definitions: &[EpisodeDefinition], id: &str) -> EpisodeDefinition {
    definitions
        .iter()
        .find(|d| d.id == id)
        .unwrap_or_else(|| panic!("no definition {id}"))
        .clone()
}

fn sorted(codes: &std::collections::HashSet<String>) -> Vec<&str> {
    let mut codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    codes.sort_unstable();
    codes
}

/// The `*.toml` file names of the shipped folder.
fn shipped_files() -> BTreeSet<String> {
    fs::read_dir(shipped())
        .expect("the shipped folder")
        .map(|e| {
            e.expect("a folder entry")
                .file_name()
                .into_string()
                .expect("UTF-8")
        })
        .filter(|name| name.ends_with(".toml"))
        .collect()
}

#[test]
fn regenerating_gives_the_shipped_files() {
    let generated = cmmi::from_cmmi(&tables()).expect("the CMS tables are readable");
    let names: BTreeSet<String> = generated.iter().map(|(name, _)| name.clone()).collect();
    if std::env::var_os("EPISODE_RECON_REGENERATE").is_some_and(|v| v == "1") {
        cmmi::write(&generated, &shipped()).expect("write the shipped set");
        for stray in shipped_files().difference(&names) {
            fs::remove_file(shipped().join(stray)).expect("remove a stray definition");
        }
    }
    assert_eq!(
        shipped_files(),
        names,
        "the shipped files are not the generated set: regenerate (see episode-definitions/bpci-advanced/README.md)"
    );
    for (name, text) in &generated {
        let on_disk = fs::read_to_string(shipped().join(name)).expect("a shipped file");
        assert!(
            on_disk == *text,
            "{name} differs from what the CMS tables give: regenerate (see episode-definitions/bpci-advanced/README.md)"
        );
    }
}

#[test]
fn every_shipped_file_passes_check_definitions() {
    let definitions = shipped_definitions();
    assert_eq!(definitions.len(), 34);
    for d in &definitions {
        let file = d.file.file_name().and_then(|f| f.to_str()).expect("a name");
        assert_eq!(file, format!("{}.toml", d.id.to_ascii_lowercase()));
    }
    let dir = shipped();
    let check = cli_in(
        root(),
        &["check-definitions", dir.to_str().expect("UTF-8 path")],
    );
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn categories_are_the_bpci_advanced_set() {
    let definitions = shipped_definitions();
    let setting =
        |d: &EpisodeDefinition| match (d.trigger.drg.is_empty(), d.trigger.hcpcs.is_empty()) {
            (false, false) => "multi-setting",
            (false, true) => "inpatient",
            _ => "outpatient",
        };
    let mut counts: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for d in &definitions {
        counts.entry(setting(d)).or_default().push(&d.id);
    }
    assert_eq!(counts["inpatient"].len(), 29);
    assert_eq!(counts["outpatient"], ["P0002_OP", "P0004_OP", "P0023_OP"]);
    assert_eq!(counts["multi-setting"], ["P0020", "P0021"]);
    // Groups CMS marks Multisetting = N in both lists are two categories.
    let pci_ip = by_id(&definitions, "P0023_IP");
    assert_eq!(sorted(&pci_ip.trigger.drg), ["250", "251", "321", "322"]);
    assert_eq!(pci_ip.name, "IP-Percutaneous coronary intervention");
    let pci_op = by_id(&definitions, "P0023_OP");
    assert_eq!(pci_op.trigger.hcpcs.len(), 10);
    assert!(pci_op.trigger.hcpcs.contains("C9600"));
    // Codes are read trimmed and zero-padded.
    assert_eq!(
        sorted(&by_id(&definitions, "A0028").trigger.drg),
        ["061", "062", "063", "064", "065", "066"]
    );
    assert_eq!(
        by_id(&definitions, "A0032").name,
        "IP-Inflammatory Bowel Disease"
    );
}

#[test]
fn p0020_is_the_multi_setting_lower_extremity_joint_replacement() {
    let p0020 = by_id(&shipped_definitions(), "P0020");
    assert_eq!(
        p0020.name,
        "MS-Major joint replacement of the lower extremity"
    );
    assert_eq!(sorted(&p0020.trigger.drg), ["469", "470", "521", "522"]);
    assert_eq!(sorted(&p0020.trigger.hcpcs), ["27130", "27447"]);
    // No price groups: each trigger code prices on its own.
    assert!(p0020.trigger.price_groups().is_empty());
    assert_eq!(p0020.trigger.price_group("470"), "470");
    assert_eq!(p0020.trigger.price_group("27447"), "27447");
    let text = fs::read_to_string(shipped().join("p0020.toml")).expect("p0020.toml");
    for source in [
        "trigger_list__IP_Anchor_Episode_List.csv",
        "trigger_list__OP_Anchor_Episode_List.csv",
        "medical_code_lists__Excluded_Readmissions.csv",
        "medical_code_lists__Excluded_Part_B_Drugs.csv",
        "CMSgov/CMMI-shadow-bundles at commit 8ffc8c9c",
        "dated 2025-01-21",
        "CC0 1.0",
        "4 rows of group P0020, 4 MS-DRGs -> trigger.drg",
        "2 rows of group P0020, 2 HCPCS -> trigger.hcpcs",
        "all 140 rows, 139 distinct MS-DRGs -> exclude.drg (652 is listed twice)",
        "all 505 rows, 505 distinct HCPCS -> exclude.hcpcs",
    ] {
        assert!(text.contains(source), "p0020.toml does not say {source:?}");
    }
}

#[test]
fn every_category_has_the_bpci_advanced_window_exclusions_and_pricing() {
    let definitions = shipped_definitions();
    // The lists as the hand-made TEAM definition has them (same tables).
    let lejr = definitions::load_dir(&root().join("episode-definitions"))
        .expect("the TEAM definitions")
        .into_iter()
        .find(|d| d.id == "LEJR")
        .expect("LEJR");
    assert_eq!(lejr.exclude.drg.len(), 139);
    assert_eq!(lejr.exclude.hcpcs.len(), 505);
    for d in &definitions {
        let id = &d.id;
        assert_eq!(
            (d.window.lookback_days, d.window.post_days),
            (0, 90),
            "{id}"
        );
        assert_eq!(d.include.claim_types.iter().count(), 7, "{id}");
        let prorated: Vec<ClaimType> = d.include.prorate.iter().collect();
        assert_eq!(
            prorated,
            [ClaimType::Snf, ClaimType::Hha, ClaimType::Hos],
            "{id}"
        );
        // A category's own trigger DRGs are never excluded; every other
        // excluded readmission DRG is.
        assert!(d.trigger.drg.is_disjoint(&d.exclude.drg), "{id}");
        let expected: BTreeSet<&String> = lejr.exclude.drg.difference(&d.trigger.drg).collect();
        assert_eq!(
            d.exclude.drg.iter().collect::<BTreeSet<_>>(),
            expected,
            "{id}"
        );
        assert_eq!(d.exclude.hcpcs, lejr.exclude.hcpcs, "{id}");
        assert!(d.exclude.principal_dx.patterns().is_empty(), "{id}");
        let p = &d.pricing;
        assert_eq!(p.period, PeriodKind::Quarter, "{id}");
        let text = |v: Option<rust_decimal::Decimal>| v.map(|d| d.to_string());
        assert_eq!(p.discount.to_string(), "0.03", "{id}");
        assert_eq!(text(p.high_cost_percentile).as_deref(), Some("99"), "{id}");
        assert_eq!(text(p.stop_gain).as_deref(), Some("0.20"), "{id}");
        assert_eq!(text(p.stop_loss).as_deref(), Some("0.20"), "{id}");
    }
}

/// A run of `definitions` over the bundled sample's claims with `prices`
/// (rows without the header).
fn run_sample(definitions: Vec<EpisodeDefinition>, prices: &str) -> Reconciliation {
    let dir = tempfile::tempdir().expect("temporary folder");
    let price_file = dir.path().join("target_prices.csv");
    fs::write(
        &price_file,
        format!("episode_type,provider_id,price_group,period,target_price\n{prices}"),
    )
    .expect("write prices");
    let prices = TargetPrices::load(&price_file).expect("valid prices");
    let claims = ClaimsFormat::Canonical
        .expand(&[root().join("sample-claims/claims")])
        .expect("the sample's claims");
    // The TEAM types check enrollment and adjust for risk; the BPCI
    // Advanced ones do neither, and take the same inputs without harm.
    let inputs = Inputs {
        beneficiaries: vec![root().join("sample-claims/beneficiaries.csv").into()],
        risk_factors: Some(
            RiskFactors::load(&root().join("sample-claims/risk_factors.csv"))
                .expect("the sample's risk factors"),
        ),
        ..Inputs::new(claims, definitions, prices)
    };
    reconcile::run(inputs).expect("the run succeeds")
}

/// `type -> [(beneficiary, anchor claim)]` of a run, sorted.
fn anchors(recon: &Reconciliation) -> BTreeMap<String, Vec<(String, String)>> {
    let mut anchors: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for e in &recon.episodes {
        let f = &e.figures;
        anchors
            .entry(recon.types[f.episode_type].id.clone())
            .or_default()
            .push((f.beneficiary_id.to_string(), f.anchor_claim_id.to_string()));
    }
    for list in anchors.values_mut() {
        list.sort();
    }
    anchors
}

#[test]
fn a_run_over_the_sample_gives_episodes_of_the_expected_categories() {
    let definitions = shipped_definitions();
    // A `*` price for every trigger code of every category, every quarter
    // the sample's episodes end in.
    let mut prices = String::new();
    for d in &definitions {
        for code in sorted(&d.trigger.drg)
            .into_iter()
            .chain(sorted(&d.trigger.hcpcs))
        {
            for year in [2025, 2026] {
                for quarter in 1..=4 {
                    prices.push_str(&format!("{},*,{code},{year}Q{quarter},25000.00\n", d.id));
                }
            }
        }
    }
    let bpci = run_sample(definitions, &prices);
    assert_eq!(bpci.episodes.len(), 46);
    assert_eq!(bpci.priced_episodes(), 46, "every trigger code has a price");

    // The TEAM run over the same claims: its anchors open episodes of the
    // BPCI Advanced category their codes belong to, no more, no fewer.
    let team_definitions =
        definitions::load_dir(&root().join("episode-definitions")).expect("the TEAM definitions");
    let team_prices = fs::read_to_string(root().join("sample-claims/target_prices.csv"))
        .expect("the sample's prices");
    let team_prices = team_prices.split_once('\n').expect("a header").1;
    let team = anchors(&run_sample(team_definitions, team_prices));
    let bpci_anchors = anchors(&bpci);
    for (team_type, category, count) in [
        ("LEJR", "P0020", 17),
        ("SHFFT", "P0017", 5),
        ("SF", "P0007", 6),
        ("CABG", "P0011", 6),
        ("MBP", "P0019", 7),
    ] {
        assert_eq!(
            bpci_anchors[category], team[team_type],
            "{team_type} -> {category}"
        );
        assert_eq!(bpci_anchors[category].len(), count, "{category}");
    }
    // Stays the TEAM types do not cover anchor medical categories.
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(b, c)| (b.to_string(), c.to_string()))
            .collect()
    };
    assert_eq!(
        bpci_anchors["A0010"],
        pairs(&[("B0031", "IP260332"), ("B0043", "IP250448")]),
        "heart failure (DRG 291, 292)"
    );
    assert_eq!(
        bpci_anchors["A0016"],
        pairs(&[("B0037", "IP260396")]),
        "ileus readmission (DRG 389)"
    );
    assert_eq!(
        bpci_anchors["A0025"],
        pairs(&[("B0010", "IP250106"), ("B0046", "IP260463")]),
        "sepsis (DRG 871)"
    );
    assert_eq!(bpci_anchors.len(), 8, "{:?}", bpci_anchors.keys());

    for e in &bpci.episodes {
        let f = &e.figures;
        // Periods are quarters of the end date.
        assert_eq!(e.period, PeriodKind::Quarter.of(f.end), "{}", f.episode_id);
        // An outpatient anchor is one day: its window is that day plus 89.
        if f.anchor_claim_id.starts_with("OP") {
            assert_eq!((f.end - f.start).num_days(), 89, "{}", f.episode_id);
        }
    }
    let price_group = |id: &str| {
        bpci.episodes
            .iter()
            .find(|e| e.figures.episode_id == id)
            .map(|e| e.figures.price_group.as_str())
    };
    assert_eq!(price_group("P0020:B0003:OP260024"), Some("27447"));
    assert_eq!(price_group("P0020:B0004:OP260033"), Some("27130"));
    // B0014's replacement recodes DRG 470 to 469.
    assert_eq!(price_group("P0020:B0014:IP250142"), Some("469"));
}
