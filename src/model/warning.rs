//! Warnings: an input that reads without error but is most likely not what
//! the user meant. None of them changes a figure (the contract decides
//! every figure), so none stops a run; each is one line on stderr and an
//! entry of `summary.json`'s `warnings`, because an empty extract or a
//! mistyped episode type otherwise shows only as episodes that are
//! missing or unpriced, days later.

use std::fmt;
use std::path::Path;

/// What a warning is about; its name is the `kind` in `summary.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WarningKind {
    /// A claims file holds a header and no rows.
    EmptyClaimsFile,
    /// Under `--claims-format auto`, a file that holds no claims (a
    /// beneficiary summary, drug events) was skipped (RULES 47).
    NotClaims,
    /// Rows of a target prices or risk factors file name an episode type
    /// that no definition has: most likely a typo, which would otherwise
    /// leave every episode of the meant type `no_target_price`.
    UnknownEpisodeType,
}

impl WarningKind {
    /// Every kind, in the order of this enum.
    pub const ALL: [WarningKind; 3] = [
        WarningKind::EmptyClaimsFile,
        WarningKind::NotClaims,
        WarningKind::UnknownEpisodeType,
    ];

    /// The name `summary.json` writes.
    pub fn name(self) -> &'static str {
        match self {
            WarningKind::EmptyClaimsFile => "empty_claims_file",
            WarningKind::NotClaims => "not_claims",
            WarningKind::UnknownEpisodeType => "unknown_episode_type",
        }
    }

    /// Reads a name as `summary.json` writes it.
    pub fn parse(name: &str) -> Option<WarningKind> {
        WarningKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the warning is about a pricing file (target prices, risk
    /// factors), which `reprice` and `scenarios` take anew; the others are
    /// about the claims a run read, and stay with the run.
    pub fn is_about_pricing(self) -> bool {
        match self {
            WarningKind::UnknownEpisodeType => true,
            WarningKind::EmptyClaimsFile | WarningKind::NotClaims => false,
        }
    }
}

/// One warning: its kind, the file it is about (as given) and what was
/// found, as a phrase that follows the file name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// What it is about.
    pub kind: WarningKind,
    /// The file, as given on the command line (or as a folder expanded).
    pub file: String,
    /// What was found and what it means, one line.
    pub detail: String,
}

impl Warning {
    /// A claims file that holds a header and no rows.
    pub fn empty_claims_file(file: &Path) -> Warning {
        Warning {
            kind: WarningKind::EmptyClaimsFile,
            file: file.display().to_string(),
            detail: "a header and no rows: nothing was read from it \
                     (an extract that came out empty?)"
                .to_owned(),
        }
    }

    /// A file `auto` skipped, and what it is instead of claims.
    pub fn not_claims(file: &Path, what: &dyn fmt::Display) -> Warning {
        Warning {
            kind: WarningKind::NotClaims,
            file: file.display().to_string(),
            detail: format!("skipping it: this is {what}"),
        }
    }

    /// Logs the warning as one line on stderr (`FILE: DETAIL`), as every
    /// command shows warnings; the caller keeps it for `summary.json`.
    pub fn emit(&self) {
        tracing::warn!("{self}");
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_only_pricing_kinds_are_taken_anew() {
        for kind in WarningKind::ALL {
            assert_eq!(WarningKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(WarningKind::parse("unknown"), None);
        let anew: Vec<_> = WarningKind::ALL
            .into_iter()
            .filter(|k| k.is_about_pricing())
            .collect();
        assert_eq!(anew, [WarningKind::UnknownEpisodeType]);
        let w = Warning {
            kind: WarningKind::EmptyClaimsFile,
            file: "a.csv".into(),
            detail: "a header and no rows".into(),
        };
        assert_eq!(w.to_string(), "a.csv: a header and no rows");
    }
}
