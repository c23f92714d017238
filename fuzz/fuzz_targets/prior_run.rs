//! A prior run folder as `reprice` and `true-up` read it, from arbitrary
//! bytes: the input is cut at each `\n#%%\n` into `episodes.csv`,
//! `providers.csv`, `summary.json`, `ledger.csv`, `rejects.csv` and
//! `participants.csv` (a missing part is a missing file). Loading it, everything `reprice` asks of it, and a
//! true-up of the run against itself either work or fail with an error
//! naming a file of the run, never a panic.
#![no_main]

use episode_recon::runs::prior_run::PriorRun;
use episode_recon::runs::true_up;

/// Where the input is cut into the run's files.
const CUT: &[u8] = b"\n#%%\n";
const FILES: [&str; 6] = [
    "episodes.csv",
    "providers.csv",
    "summary.json",
    "ledger.csv",
    "rejects.csv",
    "participants.csv",
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut rest = data;
    for name in FILES {
        if rest.is_empty() {
            break;
        }
        let (part, next) = match rest.windows(CUT.len()).position(|w| w == CUT) {
            Some(at) => (&rest[..at], &rest[at + CUT.len()..]),
            None => (rest, &b""[..]),
        };
        std::fs::write(dir.path().join(name), part).expect("a part written");
        rest = next;
    }
    let named = |e: &dyn std::fmt::Display| {
        let message = e.to_string();
        assert!(
            FILES.iter().any(|f| message.contains(f)),
            "an error names no file of the run: {message}"
        );
    };
    let run = match PriorRun::load(dir.path()) {
        Ok(run) => run,
        Err(e) => return named(&e),
    };
    if let Ok(types) = run.types() {
        let _ = run.figures(&types);
        if let Err(e) = run.accounting(&types) {
            named(&e);
        }
    }
    if let Err(e) = run.beneficiaries() {
        named(&e);
    }
    if let Err(e) = run.claims_warnings() {
        named(&e);
    }
    let _ = run.reconciliation();
    let _ = true_up::compare(&run, &run);
});
