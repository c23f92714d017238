//! Sharing the text of ids and codes between rows, so that a file of
//! millions of lines does not allocate its beneficiary, claim, provider and
//! code strings once per line. Every reader (canonical, RIF, DE-SynPUF,
//! CCLF) uses the same pieces.

use crate::model::Text;

use rustc_hash::FxHashMap;

/// The last value again when the raw text repeats it, else a new one: a
/// claim's lines are adjacent, so ids repeat row after row.
#[derive(Debug, Default)]
pub(crate) struct Repeat {
    raw: String,
    value: Option<Text>,
}

impl Repeat {
    /// The shared text `make` gives of `raw` (as it is, prefixed, ...).
    /// `make` builds the [`Text`] itself: a `String` on the way would be
    /// one more allocation and copy per claim (a `format!` here was 8% of
    /// a one-thread run's instructions, callgrind).
    pub(crate) fn get(&mut self, raw: &str, make: impl FnOnce(&str) -> Text) -> Text {
        if let Some(value) = &self.value
            && crate::model::same_bytes(self.raw.as_bytes(), raw.as_bytes())
        {
            return value.clone();
        }
        let value = make(raw);
        self.raw.clear();
        self.raw.push_str(raw);
        self.value = Some(value.clone());
        value
    }
}

/// Normalized text by its raw form, for columns whose values repeat across
/// the whole file (providers, codes); cleared when it grows past a bound, so
/// a column of unique values cannot hold memory for the whole file.
#[derive(Debug, Default)]
pub(crate) struct Interner(FxHashMap<Box<str>, Text>);

impl Interner {
    const MAX_ENTRIES: usize = crate::runtime::tunables::Tunables::DEFAULT.interner_cap;

    /// The shared, normalized text of `raw`.
    pub(crate) fn get(&mut self, raw: &str, normalize: fn(&str) -> String) -> Text {
        if let Some(shared) = self.0.get(raw) {
            return shared.clone();
        }
        if self.0.len() >= Self::MAX_ENTRIES {
            self.0.clear();
        }
        let shared: Text = normalize(raw).into();
        self.0.insert(raw.into(), shared.clone());
        shared
    }
}

/// The shared text of one reader's rows.
#[derive(Debug, Default)]
pub(crate) struct SharedText {
    /// Beneficiary ids.
    pub(crate) beneficiary: Repeat,
    /// Claim ids.
    pub(crate) claim: Repeat,
    /// Provider ids.
    pub(crate) provider: Interner,
    /// MS-DRGs.
    pub(crate) drg: Interner,
    /// Diagnoses.
    pub(crate) diagnosis: Interner,
    /// HCPCS codes.
    pub(crate) hcpcs: Interner,
}
