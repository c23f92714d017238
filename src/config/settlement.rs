//! Participant settlement's inputs (contract 1.6): the settlement file's
//! tracks (stop limits and quality shares, TOML) and the participants file
//! that puts each provider and period on a track with a quality score
//! (CSV). [`crate::engine::settle`] settles with them.
//!
//! Both are checked whole before a run: a track that is misspelled, a share
//! out of range or a participant on an unknown track is a fatal error
//! naming the file and the key or row, never a participant silently
//! settled without its limits. The settlement file's decimals are read as
//! the definitions' `[pricing]` decimals are (numbers from their literal
//! text, exactly), and the participants file by [`crate::config::table`], as the
//! target prices are.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::config::definitions::{SpannedDecimal, literal, read_decimal};
use crate::config::prices::is_period;
use crate::config::table::{Table, TableError, rate_field, read_table, sorted_rows};
use crate::config::toml_file::{self, TomlError};

/// A settlement file that cannot be used. The messages are those of
/// [`crate::config::definitions::Error`], the other TOML input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("{path}: cannot read the settlement file: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file's TOML or one of its values.
    #[error(transparent)]
    Toml(#[from] TomlError),
}

impl crate::error::Classify for Error {
    /// The user's configuration, or the environment when reading it failed
    /// for a reason the user did not cause.
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::Io { source, .. } => ErrorKind::reading(ErrorKind::Configuration, source),
            _ => ErrorKind::Configuration,
        }
    }
}

/// The keys of a track, in the order the canonical text gives them.
const TRACK_KEYS: [&str; 4] = ["stop_gain", "stop_loss", "quality_gain", "quality_loss"];

/// The file as TOML reads it. A track's keys are a map rather than a struct
/// so that an unknown one is named with its full dotted key, as a value out
/// of range is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettlement {
    #[serde(default)]
    track: BTreeMap<String, BTreeMap<String, SpannedDecimal>>,
}

/// One settlement track: limits on a participant's amount and how its
/// quality score reduces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    /// Limit on the participant's gain as a share of its target total
    /// (>= 0); `None`, no limit.
    pub stop_gain: Option<Decimal>,
    /// Limit on the participant's loss as a share of its target total
    /// (>= 0); `None`, no limit.
    pub stop_loss: Option<Decimal>,
    /// A positive amount is reduced by `quality_gain * (100 - score) / 100`;
    /// in `[0, 1]`.
    pub quality_gain: Decimal,
    /// A negative amount is reduced by `quality_loss * score / 100`; in
    /// `[0, 1]`.
    pub quality_loss: Decimal,
}

/// The settlement file: its tracks by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    tracks: BTreeMap<String, Track>,
}

impl Settlement {
    /// Reads and checks a settlement file.
    pub fn load(path: &Path) -> Result<Settlement, Error> {
        let text = fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        parse(&text, path)
    }

    /// The track named `name`, if the file has it.
    pub fn track(&self, name: &str) -> Option<&Track> {
        self.tracks.get(name)
    }

    /// Every track in a canonical text form, by name: equal for two files
    /// that give the same tracks, whatever their order, number format or
    /// defaults written out (for fingerprints).
    pub fn canonical_text(&self) -> String {
        let value =
            |d: Option<Decimal>| d.map_or_else(|| "none".to_owned(), |d| d.normalize().to_string());
        let mut text = String::new();
        for (name, track) in &self.tracks {
            let values = [
                track.stop_gain,
                track.stop_loss,
                Some(track.quality_gain),
                Some(track.quality_loss),
            ];
            for (key, v) in TRACK_KEYS.iter().zip(values) {
                text.push_str(&format!("track.{name}.{key}={}\n", value(v)));
            }
        }
        text
    }

    /// The track names, for a message listing what a file may name.
    fn names(&self) -> String {
        self.tracks
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Parses and validates a settlement file's text; `file` is used in
/// messages. Tracks are checked in name order, so the first mistake
/// reported does not depend on how TOML orders tables.
fn parse(text: &str, file: &Path) -> Result<Settlement, Error> {
    let raw: RawSettlement = toml_file::parse(text, file)?;
    let invalid = |key: String, expected: &str, found: String| {
        Error::from(TomlError::invalid(file, key, expected, found))
    };
    if raw.track.is_empty() {
        return Err(invalid(
            "track".into(),
            "at least one track table such as [track.1]",
            "no tracks".into(),
        ));
    }
    let mut tracks = BTreeMap::new();
    for (name, keys) in raw.track {
        let name_ok =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !name_ok {
            return Err(invalid(
                format!("track.{}", toml_key(&name)),
                "a track name of A-Z, a-z, 0-9 and _",
                format!("{name:?}"),
            ));
        }
        if let Some(unknown) = keys.keys().find(|k| !TRACK_KEYS.contains(&k.as_str())) {
            return Err(invalid(
                format!("track.{name}.{}", toml_key(unknown)),
                &format!("a track key among {}", TRACK_KEYS.join(", ")),
                format!("{unknown:?}"),
            ));
        }
        let value = |key: &str, in_range: fn(Decimal) -> bool, expected: &str| {
            let Some(raw) = keys.get(key) else {
                return Ok(None);
            };
            let key = format!("track.{name}.{key}");
            let found = || literal(text, raw).to_owned();
            let value = read_decimal(text, raw).map_err(|e| invalid(key.clone(), &e, found()))?;
            if in_range(value) {
                Ok(Some(value))
            } else {
                Err(invalid(key, expected, found()))
            }
        };
        let share = |d: Decimal| d >= Decimal::ZERO;
        let unit = |d: Decimal| d >= Decimal::ZERO && d <= Decimal::ONE;
        let track = Track {
            stop_gain: value("stop_gain", share, "a share >= 0")?,
            stop_loss: value("stop_loss", share, "a share >= 0")?,
            quality_gain: value("quality_gain", unit, "a decimal in [0, 1]")?
                .unwrap_or(Decimal::ZERO),
            quality_loss: value("quality_loss", unit, "a decimal in [0, 1]")?
                .unwrap_or(Decimal::ZERO),
        };
        tracks.insert(name, track);
    }
    Ok(Settlement { tracks })
}

/// A key as TOML would write it in a dotted key: bare if it can be, else
/// quoted, so that `track."a.b"` is not read as two keys.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

/// The participants file's columns; a row's key is the first two.
const PARTICIPANTS: Table = Table {
    what: "participants",
    row_name: "participant",
    columns: &["provider_id", "period", "track", "quality_score"],
    key_columns: 2,
};

/// A provider's settlement in one period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    /// A track of the settlement file.
    pub track: String,
    /// In `[0, 100]`, exact.
    pub quality_score: Decimal,
    /// The score as the file writes it, which `participants.csv` repeats.
    pub quality_score_text: String,
}

/// The participants file: one participant per provider and period.
#[derive(Clone, Debug, Default)]
pub struct Participants {
    participants: HashMap<(String, String), Participant>,
}

impl Participants {
    /// Reads and checks a participants file; every track it names must be a
    /// track of `settlement`.
    pub fn load(path: &Path, settlement: &Settlement) -> Result<Participants, TableError> {
        let mut participants = HashMap::new();
        read_table(path, &PARTICIPANTS, |_, fields| {
            let &[provider_id, period, track, score] = fields else {
                unreachable!("read_table hands over one field per column");
            };
            if !is_period(period) {
                return Err(format!(
                    "field `period`: expected a year (2026) or a quarter (2026Q3), found {period:?}"
                ));
            }
            if settlement.track(track).is_none() {
                return Err(format!(
                    "field `track`: expected a track of the settlement file ({}), found {track:?}",
                    settlement.names()
                ));
            }
            let quality_score = rate_field(
                "quality_score",
                score,
                |s| s >= Decimal::ZERO && s <= Decimal::ONE_HUNDRED,
                "a decimal in [0, 100]",
            )?;
            let participant = Participant {
                track: track.to_owned(),
                quality_score,
                quality_score_text: score.to_owned(),
            };
            participants.insert((provider_id.to_owned(), period.to_owned()), participant);
            Ok(())
        })?;
        Ok(Participants { participants })
    }

    /// The participant of a provider in a period, if the file has it.
    pub fn get(&self, provider_id: &str, period: &str) -> Option<&Participant> {
        self.participants
            .get(&(provider_id.to_owned(), period.to_owned()))
    }

    /// Every row in a canonical text form, sorted: equal for two files that
    /// give the same participants, whatever their row order or number
    /// format (for fingerprints).
    pub fn canonical_rows(&self) -> String {
        sorted_rows(self.participants.iter().map(|((provider_id, period), p)| {
            format!(
                "{provider_id},{period},{},{}\n",
                p.track,
                p.quality_score.normalize()
            )
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `settlement.toml` of the contract's example 04-team-settlement.
    const EXAMPLE: &str = r#"[track.1]
stop_gain = "0.10"
stop_loss = "0.10"
quality_gain = "0.10"
quality_loss = "0.10"

[track.2]
stop_gain = "0.05"
stop_loss = "0.05"
quality_gain = "0.20"
quality_loss = "0.20"
"#;

    /// `participants.csv` of the same example.
    const PARTICIPANTS_EXAMPLE: &str = "provider_id,period,track,quality_score
330001,2026,1,80
330002,2026,2,60
";

    const HEADER: &str = "provider_id,period,track,quality_score\n";

    fn settlement(text: &str) -> Result<Settlement, String> {
        parse(text, Path::new("s.toml")).map_err(|e| e.to_string())
    }

    fn participants(text: &str) -> Result<Participants, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        fs::write(&path, text).unwrap();
        Participants::load(&path, &settlement(EXAMPLE).unwrap())
            .map_err(|e| e.to_string().replace(&path.display().to_string(), "p.csv"))
    }

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn the_example_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settlement.toml");
        fs::write(&path, EXAMPLE).unwrap();
        let s = Settlement::load(&path).unwrap();
        assert_eq!(
            s.track("1"),
            Some(&Track {
                stop_gain: Some(dec("0.10")),
                stop_loss: Some(dec("0.10")),
                quality_gain: dec("0.10"),
                quality_loss: dec("0.10"),
            })
        );
        let two = s.track("2").unwrap();
        assert_eq!(two.stop_gain.unwrap().to_string(), "0.05");
        assert_eq!(two.quality_loss.to_string(), "0.20");
        assert_eq!(s.track("3"), None);
        assert_eq!(
            s.canonical_text(),
            "track.1.stop_gain=0.1\ntrack.1.stop_loss=0.1\ntrack.1.quality_gain=0.1\n\
             track.1.quality_loss=0.1\ntrack.2.stop_gain=0.05\ntrack.2.stop_loss=0.05\n\
             track.2.quality_gain=0.2\ntrack.2.quality_loss=0.2\n"
        );

        let p = participants(PARTICIPANTS_EXAMPLE).unwrap();
        let first = p.get("330001", "2026").unwrap();
        assert_eq!(first.track, "1");
        assert_eq!(first.quality_score, Decimal::from(80));
        assert_eq!(first.quality_score_text, "80");
        assert_eq!(p.get("330002", "2026").unwrap().track, "2");
        assert_eq!(p.get("330001", "2027"), None);
        assert_eq!(p.get("330003", "2026"), None);
        assert_eq!(p.canonical_rows(), "330001,2026,1,80\n330002,2026,2,60\n");
    }

    #[test]
    fn absent_keys_mean_no_limit_and_no_quality_reduction() {
        let s = settlement("[track.A_1]\nstop_loss = 0.2\n").unwrap();
        assert_eq!(
            s.track("A_1"),
            Some(&Track {
                stop_gain: None,
                stop_loss: Some(dec("0.2")),
                quality_gain: Decimal::ZERO,
                quality_loss: Decimal::ZERO,
            })
        );
        assert_eq!(
            s.canonical_text(),
            "track.A_1.stop_gain=none\ntrack.A_1.stop_loss=0.2\n\
             track.A_1.quality_gain=0\ntrack.A_1.quality_loss=0\n"
        );
        // Defaults written out, other number formats: the same text.
        let same = settlement(
            "[track.A_1]\nquality_loss = \"0\"\nstop_loss = \"0.200\"\nquality_gain = 0.0\n",
        )
        .unwrap();
        assert_eq!(same.canonical_text(), s.canonical_text());
    }

    /// A TOML float is read from its literal text, as in `[pricing]`.
    #[test]
    fn numbers_are_read_exactly() {
        let s = settlement("[track.1]\nquality_gain = 0.1\nstop_gain = 0.1234567891\n").unwrap();
        let track = s.track("1").unwrap();
        assert_eq!(track.quality_gain, dec("0.1"));
        assert_eq!(track.quality_gain.to_string(), "0.1");
        assert_eq!(track.stop_gain.unwrap().to_string(), "0.1234567891");
        assert_eq!(
            settlement("[track.1]\nstop_gain = 1\n")
                .unwrap()
                .track("1")
                .unwrap()
                .stop_gain,
            Some(Decimal::ONE)
        );
    }

    #[test]
    fn settlement_mistakes_name_the_file_and_key() {
        let e = settlement("[track.3]\nstop_gain = \"0.1\"\nstop_gains = \"0.1\"\n").unwrap_err();
        assert_eq!(
            e,
            "s.toml: key `track.3.stop_gains`: expected a track key among stop_gain, \
             stop_loss, quality_gain, quality_loss, found \"stop_gains\""
        );
        let e = settlement("[track.3]\nquality_gain = 1.5\n").unwrap_err();
        assert_eq!(
            e,
            "s.toml: key `track.3.quality_gain`: expected a decimal in [0, 1], found 1.5"
        );
        let e = settlement("[track.3]\nquality_loss = \"-0.1\"\n").unwrap_err();
        assert_eq!(
            e,
            "s.toml: key `track.3.quality_loss`: expected a decimal in [0, 1], found \"-0.1\""
        );
        let e = settlement("[track.3]\nstop_loss = -0.2\n").unwrap_err();
        assert_eq!(
            e,
            "s.toml: key `track.3.stop_loss`: expected a share >= 0, found -0.2"
        );
        let e = settlement("[track.3]\nstop_gain = \"20%\"\n").unwrap_err();
        assert_eq!(
            e,
            "s.toml: key `track.3.stop_gain`: expected a decimal such as \"0.03\" (at most 28 \
             significant digits), found \"20%\""
        );
        // Any number of places, exactly (contract 1.6).
        let track = settlement("[track.3]\nstop_gain = 0.10000000001\n").unwrap();
        let gain = track.track("3").and_then(|t| t.stop_gain);
        assert_eq!(
            gain.map(|g| g.to_string()).as_deref(),
            Some("0.10000000001")
        );
        for empty in ["", "# no tracks\n", "[track]\n"] {
            let e = settlement(empty).unwrap_err();
            assert_eq!(
                e,
                "s.toml: key `track`: expected at least one track table such as [track.1], \
                 found no tracks"
            );
        }
        let e = settlement("[track.a-b]\nstop_gain = \"0.1\"\n").unwrap_err();
        assert_eq!(
            e,
            "s.toml: key `track.a-b`: expected a track name of A-Z, a-z, 0-9 and _, found \"a-b\""
        );
        let e = settlement("[track.\"a.b\"]\n").unwrap_err();
        assert_eq!(
            e,
            "s.toml: key `track.\"a.b\"`: expected a track name of A-Z, a-z, 0-9 and _, \
             found \"a.b\""
        );
        // Outside the tracks, TOML's own message, with the line.
        let e = settlement("[track.1]\n\n[tracks.2]\n").unwrap_err();
        assert!(
            e.starts_with("s.toml: line 3: `[tracks.2]`: unknown field `tracks`"),
            "{e}"
        );
        let e = settlement("[track.1]\nstop_gain = \n").unwrap_err();
        assert!(e.starts_with("s.toml: line 2: "), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = Settlement::load(&dir.path().join("none.toml")).unwrap_err();
        assert!(
            e.to_string()
                .contains(": cannot read the settlement file: "),
            "{e}"
        );
    }

    #[test]
    fn participant_mistakes_are_fatal_with_row_and_field() {
        let e = participants(&format!("{HEADER}330001,2026-Q1,1,80\n")).unwrap_err();
        assert_eq!(
            e,
            "p.csv: row 2: field `period`: expected a year (2026) or a quarter (2026Q3), \
             found \"2026-Q1\""
        );
        let e = participants(&format!("{HEADER}330001,2026Q5,1,80\n")).unwrap_err();
        assert!(e.contains("found \"2026Q5\""), "{e}");
        let e = participants(&format!("{HEADER}330001,2026,3,80\n")).unwrap_err();
        assert_eq!(
            e,
            "p.csv: row 2: field `track`: expected a track of the settlement file (1, 2), \
             found \"3\""
        );
        for bad in ["100.5", "-1", "1e2", "high"] {
            let e = participants(&format!("{HEADER}330001,2026,1,{bad}\n")).unwrap_err();
            assert_eq!(
                e,
                format!(
                    "p.csv: row 2: field `quality_score`: expected a decimal in [0, 100] (at most 28 \
                     significant digits), found {bad:?}"
                )
            );
        }
        let exact = participants(&format!("{HEADER}330001,2026,1,50.00000000001\n")).unwrap();
        let score = exact
            .get("330001", "2026")
            .map(|p| p.quality_score.to_string());
        assert_eq!(score.as_deref(), Some("50.00000000001"));
        let e = participants(&format!(
            "{HEADER}330001,2026,1,80\n330001,2026Q1,1,80\n330001,2026,2,60\n"
        ))
        .unwrap_err();
        assert_eq!(
            e,
            "p.csv: row 4: duplicate participant for (330001, 2026), first given on row 2; \
             expected one row per provider_id, period"
        );
        let e = participants(&format!("{HEADER}330001,2026,,80\n")).unwrap_err();
        assert_eq!(
            e,
            "p.csv: row 2: field `track` is empty; every field of a participant row is required"
        );
        // The bounds are in; the score's text is kept as written.
        let p = participants(&format!("{HEADER}A,2026,1,100.00\nB,2026,2,+0\n")).unwrap();
        assert_eq!(p.get("A", "2026").unwrap().quality_score_text, "100.00");
        assert_eq!(p.get("B", "2026").unwrap().quality_score, Decimal::ZERO);
        assert_eq!(p.canonical_rows(), "A,2026,1,100\nB,2026,2,0\n");
    }
}
