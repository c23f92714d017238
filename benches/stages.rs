//! Criterion benchmarks of the hot stages, on generated claims of realistic
//! shape: reading and checking claim lines, final action plus episode
//! building per beneficiary, and pricing. The end-to-end figures, as ratios
//! to merely parsing the CSV, come from `benches/e2e.sh`.
//!
//! Run: `cargo bench --bench stages`

use episode_recon::model::{ClaimLine, LineRef, Text};
use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use episode_recon::config::definitions;
use episode_recon::config::prices::TargetPrices;
use episode_recon::config::risk_factors::RiskFactors;
use episode_recon::engine::beneficiary::{EpisodeTypes, reconcile_beneficiary};
use episode_recon::engine::pricing::{self, TypePricing};
use episode_recon::engine::reconcile::split_draft;
use episode_recon::input::beneficiaries;
use episode_recon::input::formats::ClaimsFormat;
use episode_recon::input::formats::rif;
use episode_recon::input::source::Source;
use episode_recon::model::outcome::RowOutcome;
use episode_recon::tools::generate::generate;

const BENEFICIARIES: u64 = 2_000;

fn stages(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary folder");
    generate(BENEFICIARIES, 7, dir.path()).expect("generate claims");
    let bytes = std::fs::read(dir.path().join("claims/claims.csv")).expect("read claims");
    let definitions = definitions::load_dir(&dir.path().join("definitions")).expect("definitions");
    let prices = TargetPrices::load(&dir.path().join("target_prices.csv")).expect("prices");
    let risk_factors =
        RiskFactors::load(&dir.path().join("risk_factors.csv")).expect("risk factors");
    // The columns the shipped definitions' [eligibility] and [risk] name.
    let columns = beneficiaries::Columns {
        extra_flags: Vec::new(),
        attributes: vec!["hcc_count".into(), "social_risk".into()],
    };
    let enrollment = beneficiaries::load(
        &[dir.path().join("beneficiaries/beneficiaries.csv").into()],
        0,
        &columns,
        beneficiaries::BeneficiariesFormat::Canonical,
    )
    .expect("enrollment");
    let path = Path::new("claims.csv");

    let read_all = || {
        let mut lines = Vec::new();
        // The copy into the source is a memcpy, small beside the parsing.
        let source = Source::from_bytes(path, bytes.clone());
        ClaimsFormat::Canonical
            .read(source, 0, None, |outcome| {
                if let RowOutcome::Line(line) = outcome {
                    lines.push(line);
                }
            })
            .expect("readable claims");
        lines
    };
    let lines = read_all();
    let rows = lines.len() as u64;

    let mut group = c.benchmark_group("stages");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows));
    group.bench_function("read and check claim lines", |b| {
        b.iter(|| black_box(read_all()))
    });

    // The same claims as a RIF file: the RIF reader against the canonical
    // one, row for row (both sequential here).
    let rif_text = rif::write(&lines);
    group.bench_function("read and check the same lines as RIF", |b| {
        b.iter(|| {
            let mut count = 0u64;
            let source = Source::from_bytes(Path::new("claims.rif"), rif_text.clone().into());
            ClaimsFormat::Rif
                .read(source, 0, None, |_| count += 1)
                .expect("readable RIF");
            black_box(count)
        })
    });

    let mut by_beneficiary: HashMap<Text, Vec<_>> = HashMap::new();
    for line in lines {
        by_beneficiary
            .entry(line.beneficiary_id.clone())
            .or_default()
            .push(line);
    }
    let owned: Vec<Vec<ClaimLine>> = by_beneficiary.into_values().collect();
    // The engine builds on lines borrowed from the partition's bytes.
    let groups: Vec<Vec<LineRef>> = owned
        .iter()
        .map(|lines| lines.iter().map(ClaimLine::view).collect())
        .collect();
    let episode_types = EpisodeTypes::new(&definitions);
    group.bench_function("final action and episodes per beneficiary", |b| {
        b.iter(|| {
            for lines in &groups {
                let mut lines = lines.clone();
                black_box(reconcile_beneficiary(
                    &mut lines,
                    &[],
                    &episode_types,
                    Some(&enrollment.enrollees),
                ));
            }
        })
    });

    let figures: Vec<_> = groups
        .iter()
        .flat_map(|lines| {
            let mut lines = lines.clone();
            reconcile_beneficiary(&mut lines, &[], &episode_types, Some(&enrollment.enrollees))
                .episodes
        })
        .map(|(index, draft)| split_draft(index, draft, &definitions).0)
        .collect();
    let types = TypePricing::of(&definitions);
    group.throughput(Throughput::Elements(figures.len() as u64));
    group.bench_function("price episodes and reconcile providers", |b| {
        b.iter(|| {
            let priced = pricing::price(figures.clone(), &types, &prices, Some(&risk_factors))
                .expect("exact prices");
            black_box(pricing::reconcile_providers(&priced, &types))
        })
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
