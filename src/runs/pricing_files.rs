//! The pricing files beyond target prices that `reconcile`, `reprice` and
//! `scenarios` take (risk factors, participants, settlement tracks), read
//! and checked against each other.

use std::path::{Path, PathBuf};

use crate::config::risk_factors::RiskFactors;
use crate::config::settlement::{self, Participants, Settlement};
use crate::config::table::TableError;
use crate::engine::reconcile::SettlementInputs;
use crate::runs::reprice::SettlementChoice;

/// A pricing file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The risk factors file.
    #[error(transparent)]
    RiskFactors(TableError),
    /// A settlement tracks file.
    #[error(transparent)]
    Settlement(#[from] settlement::Error),
    /// A participants file, checked against one settlement file.
    #[error("{source}{}", checked_against.as_ref().map(|p| format!(" (checked against {})", p.display())).unwrap_or_default())]
    Participants {
        /// What is wrong.
        source: TableError,
        /// The settlement file it was checked against, named when several
        /// are compared.
        checked_against: Option<PathBuf>,
    },
}

impl crate::error::Classify for Error {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            Error::RiskFactors(e) | Error::Participants { source: e, .. } => e.kind(),
            Error::Settlement(e) => e.kind(),
        }
    }
}

/// Reads the risk factors file, and the participants and settlement files
/// (given together) checked against each other.
pub fn load(
    risk_factors: Option<&Path>,
    participants: Option<&Path>,
    settlement: Option<&Path>,
) -> Result<(Option<RiskFactors>, Option<SettlementInputs>), Error> {
    let risk_factors = load_risk_factors(risk_factors)?;
    let settlement = match (participants, settlement) {
        (Some(participants), Some(settlement)) => {
            let settlement = Settlement::load(settlement)?;
            let participants = Participants::load(participants, &settlement).map_err(|source| {
                Error::Participants {
                    source,
                    checked_against: None,
                }
            })?;
            Some(SettlementInputs {
                participants,
                settlement,
            })
        }
        _ => None,
    };
    Ok((risk_factors, settlement))
}

/// Reads the files of `scenarios`: every participants file against every
/// settlement file (each must name only tracks of each), in the order the
/// scenarios take them, participants file by participants file.
pub fn load_scenarios(
    risk_factors: Option<&Path>,
    participants: &[PathBuf],
    settlement: &[PathBuf],
) -> Result<(Option<RiskFactors>, Vec<SettlementChoice>), Error> {
    let risk_factors = load_risk_factors(risk_factors)?;
    let settlements = settlement
        .iter()
        .map(|path| Settlement::load(path))
        .collect::<Result<Vec<_>, _>>()?;
    let mut choices = Vec::with_capacity(participants.len() * settlements.len());
    for participants_path in participants {
        for (settlement_path, settlement) in settlement.iter().zip(&settlements) {
            let participants =
                Participants::load(participants_path, settlement).map_err(|source| {
                    Error::Participants {
                        source,
                        // With several settlement files, say which one a track
                        // is missing from.
                        checked_against: (settlements.len() > 1).then(|| settlement_path.clone()),
                    }
                })?;
            choices.push(SettlementChoice {
                participants: participants_path.display().to_string(),
                settlement: settlement_path.display().to_string(),
                inputs: SettlementInputs {
                    participants,
                    settlement: settlement.clone(),
                },
            });
        }
    }
    Ok((risk_factors, choices))
}

fn load_risk_factors(path: Option<&Path>) -> Result<Option<RiskFactors>, Error> {
    path.map(RiskFactors::load)
        .transpose()
        .map_err(Error::RiskFactors)
}
