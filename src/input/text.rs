//! Sharing the text of ids and codes between rows, so that a file of
//! millions of lines does not allocate its beneficiary, claim, provider and
//! code strings once per line. Every reader (canonical, RIF, DE-SynPUF,
//! CCLF) uses the same pieces.

use std::borrow::Cow;

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
pub(crate) struct Interner {
    /// Each raw form's index in `values`.
    index: FxHashMap<Box<str>, u32>,
    values: Vec<Text>,
}

impl Interner {
    const MAX_ENTRIES: usize = crate::runtime::tunables::Tunables::DEFAULT.interner_cap;

    /// The shared, normalized text of `raw`.
    pub(crate) fn get(&mut self, raw: &str, normalize: fn(&str) -> String) -> Text {
        let at = self.position(raw, || normalize(raw));
        self.values[at].clone()
    }

    /// The normalized text of `raw`, borrowed: what a line handed on as it
    /// is read holds, with no reference count taken. A code already in
    /// normal form (one `normalized` borrows) is `raw` itself, with no
    /// lookup; any other is found in, or added to, the table.
    ///
    /// Why not look every code up: the line's bytes are copied into its
    /// encoding at once, so sharing them saves nothing, and the lookups
    /// were up to 8% of a one-thread run over a file in processing order,
    /// whose rows seldom repeat the codes of the row before (perf).
    pub(crate) fn view<'a>(
        &'a mut self,
        raw: &'a str,
        normalized: fn(&str) -> Cow<'_, str>,
    ) -> &'a str {
        let value = match normalized(raw) {
            Cow::Borrowed(normal) => return normal,
            Cow::Owned(value) => value,
        };
        let at = self.position(raw, || value);
        &self.values[at]
    }

    /// Where the normalized text of `raw` is in `values`: found, or added
    /// as `value()` makes it (only then).
    fn position(&mut self, raw: &str, value: impl FnOnce() -> String) -> usize {
        match self.index.get(raw) {
            Some(&at) => at as usize,
            None => self.add(raw, value()),
        }
    }

    /// Adds `value`, the normalized text of `raw`, and says where it is;
    /// the table is emptied first when it is full.
    fn add(&mut self, raw: &str, value: String) -> usize {
        if self.values.len() >= Self::MAX_ENTRIES {
            self.index.clear();
            self.values.clear();
        }
        // Below `MAX_ENTRIES`, a `u32`.
        self.index.insert(raw.into(), self.values.len() as u32);
        self.values.push(value.into());
        self.values.len() - 1
    }
}

/// The shared text of one reader's rows.
#[derive(Debug, Default)]
pub(crate) struct SharedText {
    /// Beneficiary ids.
    pub(crate) beneficiary: Repeat,
    /// Claim ids.
    pub(crate) claim: Repeat,
    /// A claim id with its format's prefix, for the line being read.
    pub(crate) prefixed_claim: String,
    /// Provider ids.
    pub(crate) provider: Interner,
    /// MS-DRGs.
    pub(crate) drg: Interner,
    /// Diagnoses.
    pub(crate) diagnosis: Interner,
    /// HCPCS codes.
    pub(crate) hcpcs: Interner,
}
