//! The one paragraph `reconcile` prints on stdout: what was read, what was
//! built, what settles, and whether every row and dollar is accounted for.

use std::path::Path;

use crate::engine::pricing::{Limit, Status};
use crate::engine::reconcile::Reconciliation;

/// The run's one-paragraph summary for stdout.
pub fn paragraph(recon: &Reconciliation, out: &Path) -> String {
    let a = &recon.accounting;
    let priced = recon.priced_episodes();
    let settled = recon.net_reconciliation();
    let limited = recon
        .providers
        .iter()
        .filter(|p| p.limit != Limit::None)
        .count();
    let count = |status| {
        recon
            .episodes
            .iter()
            .filter(|e| e.status() == status)
            .count()
    };
    let participants = match &recon.participants {
        Some(settled) => format!(
            " {} participant(s) settled for a net payment of {}; {} provider period(s) without a participants row.",
            settled.rows.len(),
            recon.totals.net_payment.unwrap_or_default(),
            settled.unsettled
        ),
        None => String::new(),
    };
    // Said again at the end, where it is read: the lines on stderr may
    // have scrolled away behind the progress of a long run.
    let warnings = match recon.warnings.len() {
        0 => String::new(),
        n => format!(" {n} warning(s) about the inputs: see stderr or summary.json."),
    };
    format!(
        "Read {} rows ({}) from {} claims file(s): {} final action, {} superseded, {} void, {} after cutoff, {} rejected. \
         Built {} episodes of {} type(s): {} priced, {} without a target price, {} without a risk factor, {} canceled. \
         {} provider row(s) settle a net {} ({} held by a stop-gain or stop-loss limit).{} \
         Every row and dollar {}.{} Outputs in {}.",
        a.read.rows,
        a.read.amount,
        recon.claim_files,
        a.final_action.rows,
        a.superseded.rows,
        a.void.rows,
        a.after_cutoff.rows,
        a.rejected.rows,
        recon.episodes.len(),
        recon.types.len(),
        priced,
        count(Status::NoTargetPrice),
        count(Status::NoRiskFactor),
        count(Status::Canceled),
        recon.providers.len(),
        settled,
        limited,
        participants,
        if crate::output::report::check(recon) {
            "is accounted for"
        } else {
            "is NOT accounted for: see summary.json"
        },
        warnings,
        out.display(),
    )
}
