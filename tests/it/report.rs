//! The HTML report (issue 15): every figure on the page is checked
//! against the run's files, recomputed here from the CSVs and the summary
//! independently of the report's code; hostile ids and rejected records
//! show as text; the sample's page is a committed golden file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::support::{SAMPLE_ARGS, SAMPLE_TEAM_FILES, cli_in};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary from the repository root and asserts it succeeded.
fn run_ok(args: &[&str]) -> String {
    let out = cli_in(root(), args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The README's sample run into `dir/name`, with `--as-of` when given.
fn sample_run(dir: &Path, name: &str, as_of: Option<&str>) -> PathBuf {
    let out = dir.join(name);
    let out_text = out.to_str().expect("UTF-8 path");
    let mut args = vec!["reconcile", "--out", out_text];
    args.extend(SAMPLE_ARGS);
    args.extend(SAMPLE_TEAM_FILES);
    if let Some(date) = as_of {
        args.extend(["--as-of", date]);
    }
    run_ok(&args);
    out
}

/// `report --run RUN [--previous PREV] --out FILE`, the page's text.
fn report(run: &Path, previous: Option<&Path>, out: &Path) -> String {
    let mut args = vec![
        "report".to_owned(),
        "--run".to_owned(),
        run.display().to_string(),
        "--out".to_owned(),
        out.display().to_string(),
    ];
    if let Some(previous) = previous {
        args.extend(["--previous".to_owned(), previous.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(&args);
    std::fs::read_to_string(out).expect("the page was written")
}

/// A CSV file of a run: its rows as column → text.
fn table(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).expect("the file reads");
    let header = reader.headers().expect("a header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("a row");
            header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// A run's files, read with the `csv` crate and serde_json.
struct Run {
    summary: serde_json::Value,
    tables: HashMap<&'static str, Vec<HashMap<String, String>>>,
}

impl Run {
    fn read(dir: &Path) -> Run {
        let summary =
            serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap())
                .unwrap();
        let mut tables = HashMap::new();
        for name in [
            "episodes.csv",
            "providers.csv",
            "participants.csv",
            "ledger.csv",
            "rejects.csv",
        ] {
            if dir.join(name).exists() {
                tables.insert(name, table(&dir.join(name)));
            }
        }
        Run { summary, tables }
    }

    fn cell(&self, file: &str, row: usize, column: &str) -> String {
        self.tables[file][row][column].clone()
    }
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or_else(|_| panic!("{text:?} is a decimal"))
}

/// An amount with two decimals, as the page prints it without separators.
fn cents(d: Decimal) -> String {
    format!("{:.2}", d)
}

/// The claim category of a ledger line, as the page names it: the anchor's
/// lines, then inpatient stays as readmissions, then by claim type.
fn category(line: &HashMap<String, String>) -> &'static str {
    if line["disposition"] == "anchor" {
        return "anchor";
    }
    match line["claim_type"].as_str() {
        "IP" => "readmissions",
        "SNF" => "SNF",
        "HHA" => "home health",
        "HOS" => "hospice",
        "OP" => "outpatient",
        "PB" => "Part B",
        "DME" => "DME",
        _ => "other",
    }
}

/// Undoes the HTML escaping of a text or attribute.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').expect("an entity ends") + at;
        let entity = &rest[at + 1..end];
        let c = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = match entity.strip_prefix("#x").or(entity.strip_prefix("#X")) {
                    Some(hex) => u32::from_str_radix(hex, 16),
                    None => entity.trim_start_matches('#').parse(),
                };
                char::from_u32(code.expect("a character reference")).expect("a character")
            }
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn attr(tag: &tl::HTMLTag<'_>, name: &str) -> Option<String> {
    tag.attributes()
        .get(name)
        .flatten()
        .map(|v| unescape(&v.as_utf8_str()))
}

/// One figure of the page: where it says it comes from, its text without
/// separators, and the `data-*` keys of its section or row.
#[derive(Debug)]
struct Figure {
    src: String,
    text: String,
    context: BTreeMap<String, String>,
}

/// Every `data-src` figure of the page, with the `data-provider`,
/// `data-type` and `data-period` of the element that holds it.
fn figures(html: &str) -> Vec<Figure> {
    let dom = tl::parse(html, tl::ParserOptions::default()).expect("the page parses");
    let parser = dom.parser();
    let mut found = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Innermost holders first, so a figure takes its nearest context.
    for selector in ["tr[data-provider]", "section[data-type]", "body"] {
        for holder in dom.query_selector(selector).expect("a selector") {
            let tag = holder.get(parser).unwrap().as_tag().unwrap();
            let context: BTreeMap<String, String> = ["provider", "type", "period"]
                .iter()
                .filter_map(|k| Some((k.to_string(), attr(tag, &format!("data-{k}"))?)))
                .collect();
            for fig in tag
                .query_selector(parser, "[data-src]")
                .expect("a selector")
            {
                if !seen.insert(fig.get_inner()) {
                    continue;
                }
                let fig_tag = fig.get(parser).unwrap().as_tag().unwrap();
                found.push(Figure {
                    src: attr(fig_tag, "data-src").unwrap(),
                    text: unescape(&fig_tag.inner_text(parser)).replace(',', ""),
                    context: context.clone(),
                });
            }
        }
    }
    found
}

/// What a figure must read, recomputed from the runs' files.
fn expected(figure: &Figure, now: &Run, before: Option<&Run>) -> String {
    let parts: Vec<&str> = figure.src.split(':').collect();
    let providers =
        |run: &Run, i: &str| run.tables["providers.csv"][i.parse::<usize>().unwrap()].clone();
    let participants =
        |i: &str| now.tables["participants.csv"][i.parse::<usize>().unwrap()].clone();
    let diff = |row: &HashMap<String, String>, a: &str, b: &str| cents(dec(&row[a]) - dec(&row[b]));
    match parts.as_slice() {
        ["summary", key] => {
            let value = key.split('.').fold(&now.summary, |v, k| &v[k]);
            match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            }
        }
        ["cap_effect", "providers.csv", i] => {
            diff(&providers(now, i), "actual_total", "capped_total")
        }
        ["limit_effect", "providers.csv", i] => diff(
            &providers(now, i),
            "reconciliation_amount",
            "gain_loss_total",
        ),
        ["quality_effect", "participants.csv", i] => diff(
            &participants(i),
            "quality_adjusted_amount",
            "reconciliation_amount",
        ),
        ["track_limit_effect", "participants.csv", i] => diff(
            &participants(i),
            "net_payment_reconciliation_amount",
            "quality_adjusted_amount",
        ),
        [file, row, column] => {
            let (run, file) = match file.strip_prefix("previous/") {
                Some(file) => (before.expect("a previous run"), file),
                None => (now, *file),
            };
            run.cell(file, row.parse().unwrap(), column)
        }
        ["spend", name] => {
            let (provider, kind) = (&figure.context["provider"], &figure.context["type"]);
            let ids: std::collections::HashSet<&String> = now.tables["episodes.csv"]
                .iter()
                .filter(|e| &e["provider_id"] == provider && &e["episode_type"] == kind)
                .filter(|e| e["status"] != "canceled")
                .map(|e| &e["episode_id"])
                .collect();
            let total: Decimal = now.tables["ledger.csv"]
                .iter()
                .filter(|l| ids.contains(&l["episode_id"]) && category(l) == *name)
                .map(|l| dec(&l["included_amount"]))
                .sum();
            cents(total)
        }
        ["spend", name, "episodes.csv", i] => {
            let id = now.cell("episodes.csv", i.parse().unwrap(), "episode_id");
            let total: Decimal = now.tables["ledger.csv"]
                .iter()
                .filter(|l| l["episode_id"] == id && category(l) == *name)
                .map(|l| dec(&l["included_amount"]))
                .sum();
            cents(total)
        }
        ["rejects", reason] => now.tables["rejects.csv"]
            .iter()
            .filter(|r| r["reason"] == *reason)
            .count()
            .to_string(),
        ["due"] | ["gain_loss_change"] | ["changes", _] => true_up_figure(
            &parts,
            &figure.context,
            now,
            before.expect("a previous run"),
        ),
        _ => panic!("unknown figure source {:?}", figure.src),
    }
}

/// The true-up figures of a provider row or participant, from both runs.
fn true_up_figure(
    parts: &[&str],
    context: &BTreeMap<String, String>,
    now: &Run,
    before: &Run,
) -> String {
    let provider = &context["provider"];
    let period = &context["period"];
    let Some(kind) = context.get("type") else {
        // A participant: net payment now less before.
        let net = |run: &Run| -> Decimal {
            run.tables["participants.csv"]
                .iter()
                .filter(|p| &p["provider_id"] == provider && &p["period"] == period)
                .map(|p| dec(&p["net_payment_reconciliation_amount"]))
                .sum()
        };
        return cents(net(now) - net(before));
    };
    let key = |e: &HashMap<String, String>| {
        &e["provider_id"] == provider && &e["episode_type"] == kind && &e["period"] == period
    };
    if parts == ["due"] {
        let amount = |run: &Run| -> Decimal {
            run.tables["providers.csv"]
                .iter()
                .filter(|p| key(p))
                .map(|p| dec(&p["reconciliation_amount"]))
                .sum()
        };
        return cents(amount(now) - amount(before));
    }
    let by_id = |run: &Run| -> HashMap<String, HashMap<String, String>> {
        run.tables["episodes.csv"]
            .iter()
            .map(|e| (e["episode_id"].clone(), e.clone()))
            .collect()
    };
    let (was, is) = (by_id(before), by_id(now));
    let mut ids: Vec<&String> = was.keys().chain(is.keys()).collect();
    ids.sort();
    ids.dedup();
    let (mut counts, mut gain_loss) = (BTreeMap::new(), Decimal::ZERO);
    let gl = |e: Option<&HashMap<String, String>>| {
        e.map_or(Decimal::ZERO, |e| {
            if e["gain_loss"].is_empty() {
                Decimal::ZERO
            } else {
                dec(&e["gain_loss"])
            }
        })
    };
    for id in ids {
        let (p, c) = (was.get(id), is.get(id));
        let change = match (p, c) {
            (None, Some(_)) => "new",
            (Some(_), None) => "dropped",
            (Some(p), Some(c)) if p != c => "changed",
            _ => continue,
        };
        if !key(c.or(p).unwrap()) {
            continue;
        }
        *counts.entry(change).or_insert(0u64) += 1;
        gain_loss += gl(c) - gl(p);
    }
    match parts {
        ["gain_loss_change"] => cents(gain_loss),
        ["changes", kind] => counts.get(kind).copied().unwrap_or(0).to_string(),
        _ => unreachable!(),
    }
}

#[test]
fn every_figure_on_the_page_is_the_runs() {
    let dir = tempfile::tempdir().unwrap();
    let initial = sample_run(dir.path(), "initial", Some("2026-03-31"));
    let later = sample_run(dir.path(), "later", None);
    let html = report(&later, Some(&initial), &dir.path().join("report.html"));
    let (now, before) = (Run::read(&later), Run::read(&initial));
    let figures = figures(&html);
    for figure in &figures {
        assert_eq!(
            figure.text,
            expected(figure, &now, Some(&before)),
            "figure {figure:?}"
        );
    }
    // Every number cell holds a checked figure, and the page shows each
    // provider row, participant and reject reason of the run.
    let dom = tl::parse(&html, tl::ParserOptions::default()).unwrap();
    let parser = dom.parser();
    let cells: Vec<_> = dom.query_selector("td.num").unwrap().collect();
    assert!(cells.len() > 300, "{} number cells", cells.len());
    for cell in cells {
        let tag = cell.get(parser).unwrap().as_tag().unwrap();
        let sources = tag
            .query_selector(parser, "span[data-src]")
            .unwrap()
            .count();
        assert_eq!(
            sources,
            1,
            "a number cell without a source: {}",
            tag.outer_html(parser)
        );
    }
    let has = |src: String| figures.iter().any(|f| f.src == src);
    for i in 0..now.tables["providers.csv"].len() {
        assert!(
            has(format!("providers.csv:{i}:reconciliation_amount")),
            "provider row {i}"
        );
        assert!(
            has(format!("limit_effect:providers.csv:{i}")),
            "provider row {i}"
        );
    }
    for i in 0..now.tables["participants.csv"].len() {
        assert!(has(format!(
            "participants.csv:{i}:net_payment_reconciliation_amount"
        )));
        assert!(has(format!("quality_effect:participants.csv:{i}")));
    }
    for reason in [
        "bad_amount",
        "bad_flag",
        "claim_has_rejected_row",
        "duplicate_month",
    ] {
        assert!(has(format!("rejects:{reason}")), "{reason}");
    }
    for key in [
        "rows.read",
        "amounts.final_action",
        "episodes.canceled",
        "money.reconciliation",
    ] {
        assert!(has(format!("summary:{key}")), "{key}");
    }
    assert!(figures.iter().any(|f| f.src == "due"), "the true-up rows");
    // The sample's readmissions and SNF days are on the page.
    assert!(
        figures
            .iter()
            .any(|f| f.src.starts_with("spend:readmissions") && f.text != "0.00")
    );
    assert!(
        figures
            .iter()
            .any(|f| f.src.starts_with("spend:SNF") && f.text != "0.00")
    );
}

/// Copies `from` into `to`, replacing `needle` with `with` in every file.
fn copy_replacing(from: &Path, to: &Path, needle: &str, with: &str) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            to.join(path.file_name().unwrap()),
            text.replace(needle, with),
        )
        .unwrap();
    }
}

#[test]
fn hostile_ids_and_rejected_records_show_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    // A provider id and a rejected record that are markup, without a
    // comma or quote so the CSV files stay as they were.
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>&amp;";
    copy_replacing(
        &root().join("tests/golden/sample/expected"),
        &run,
        "330024",
        hostile,
    );
    let mut rejects = std::fs::read_to_string(run.join("rejects.csv")).unwrap();
    rejects.push_str("<b>claims.csv</b>,7,bad_amount,<script>alert(3)</script>\n");
    std::fs::write(run.join("rejects.csv"), rejects).unwrap();
    let html = report(&run, None, &dir.path().join("report.html"));

    assert!(!html.contains("<script"), "raw markup reached the page");
    assert!(!html.contains("<img"), "raw markup reached the page");
    let dom = tl::parse(&html, tl::ParserOptions::default()).unwrap();
    let parser = dom.parser();
    assert_eq!(dom.query_selector("script").unwrap().count(), 0);
    assert_eq!(dom.query_selector("img").unwrap().count(), 0);
    let texts: Vec<String> = dom
        .query_selector("td, h3")
        .unwrap()
        .map(|n| unescape(&n.get(parser).unwrap().inner_text(parser)))
        .collect();
    assert!(texts.iter().any(|t| t == &format!("Provider {hostile}")));
    assert!(texts.iter().any(|t| t == "<script>alert(3)</script>"));
    assert!(texts.iter().any(|t| t == "<b>claims.csv</b>"));
    // The figures still check out against the edited files.
    let now = Run::read(&run);
    for figure in figures(&html) {
        assert_eq!(
            figure.text,
            expected(&figure, &now, None),
            "figure {figure:?}"
        );
    }
}

#[test]
fn the_sample_page_matches_its_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let page = report(Path::new("tests/golden/sample/expected"), None, &out);
    let golden = root().join("tests/golden/sample/report.html");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &page).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).expect("the golden page");
    assert!(
        page == expected,
        "the sample's page differs from {}",
        golden.display()
    );
}

#[test]
fn an_existing_page_is_replaced_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    std::fs::write(&out, "kept").unwrap();
    let run = root().join("tests/golden/sample/expected");
    let args = [
        "report",
        "--run",
        run.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let refused = cli_in(root(), &args);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "kept");
    let mut forced = args.to_vec();
    forced.push("--force");
    run_ok(&forced);
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("<!DOCTYPE html>")
    );
    // Nothing staged is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("report.html")]);
}
