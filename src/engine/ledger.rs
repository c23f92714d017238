//! The episodes' ledgers, held compressed from the moment their partition
//! is built until `ledger.csv` is written.
//!
//! A ledger line is about one claim line in ten of a run (those of
//! beneficiaries with an episode), and it is needed only once, by the
//! ledger's writer, in the run's episode order. Held as structs until then
//! it took most of a large run's memory after the claims themselves (at
//! 40M lines, 4M ledger lines and some 400 MiB through pricing and
//! writing). So each partition writes its episodes' lines, in the run's
//! episode order, through zstd into a buffer of its own as it is built,
//! and the writer reads the partitions' buffers back as streams, merged
//! by the order the episodes were sorted in: every partition's episodes
//! are a subsequence of that order, so each stream is read front to back
//! once and never more than one episode's lines of it are decoded.

use std::io::{self, Read, Write};

use crate::engine::episodes::LedgerLine;
use crate::engine::spill::{Decoder, encode_ledger_line};

/// The zstd window of a partition's ledger, as a power of two: 128 KiB,
/// so that decoding every partition's stream at once (the writer does)
/// holds a few hundred KiB each rather than the megabytes of zstd's
/// default window, for little loss of compression.
const WINDOW_LOG: u32 = 17;

/// Every episode's ledger lines, compressed by partition, in the run's
/// episode order.
#[derive(Debug, Default)]
pub struct Ledgers {
    /// Each partition's ledger stream (see [`PartLedger`]).
    parts: Vec<Vec<u8>>,
    /// For each episode of the run, in its order, the partition whose
    /// stream holds its lines next.
    order: Vec<u32>,
}

impl Ledgers {
    /// The ledgers of a run whose `parts` were built by [`PartLedger`]s and
    /// whose episodes, in the run's order, came from the partitions in
    /// `order`.
    pub fn new(parts: Vec<Vec<u8>>, order: Vec<u32>) -> Ledgers {
        Ledgers { parts, order }
    }

    /// How many episodes have a ledger here.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no episode has a ledger here (a run priced again from
    /// another's outputs keeps that run's `ledger.csv`).
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Compressed bytes held.
    pub fn bytes(&self) -> usize {
        self.parts.iter().map(Vec::len).sum()
    }

    /// A reader of every episode's lines, in the run's episode order.
    pub fn reader(&self) -> LedgerReader<'_> {
        LedgerReader {
            parts: &self.parts,
            streams: (0..self.parts.len()).map(|_| None).collect(),
            order: self.order.iter(),
            record: Vec::new(),
        }
    }
}

/// One partition's ledger as it is built: each episode's lines, encoded
/// (`crate::engine::spill`'s encoding) after the length of their
/// encoding, compressed as they come.
pub struct PartLedger {
    encoder: zstd::stream::write::Encoder<'static, Vec<u8>>,
    record: Vec<u8>,
}

impl std::fmt::Debug for PartLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartLedger").finish_non_exhaustive()
    }
}

impl PartLedger {
    /// An empty ledger, compressed at zstd `level`.
    pub fn new(level: i32) -> io::Result<PartLedger> {
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), level)?;
        encoder.window_log(WINDOW_LOG)?;
        encoder.include_checksum(true)?;
        Ok(PartLedger {
            encoder,
            record: Vec::new(),
        })
    }

    /// Appends the lines of the partition's next episode.
    pub fn push(&mut self, lines: &[LedgerLine]) -> io::Result<()> {
        self.record.clear();
        for line in lines {
            encode_ledger_line(line, &mut self.record);
        }
        self.encoder
            .write_all(&(self.record.len() as u64).to_le_bytes())?;
        self.encoder.write_all(&self.record)
    }

    /// The compressed stream.
    pub fn finish(self) -> io::Result<Vec<u8>> {
        self.encoder.finish()
    }
}

/// Reads [`Ledgers`] back, episode by episode.
pub struct LedgerReader<'a> {
    parts: &'a [Vec<u8>],
    /// Each partition's stream, opened at its first episode.
    streams: Vec<Option<zstd::stream::read::Decoder<'static, &'a [u8]>>>,
    order: std::slice::Iter<'a, u32>,
    record: Vec<u8>,
}

impl std::fmt::Debug for LedgerReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerReader").finish_non_exhaustive()
    }
}

impl LedgerReader<'_> {
    /// Appends the next episode's lines to `lines` (so that episodes
    /// sharing an id, RULES 19b, gather in one); `false` after the last
    /// episode. The streams are this run's own, so what does not decode
    /// is `InvalidData`, a bug.
    pub fn next_episode(&mut self, lines: &mut Vec<LedgerLine>) -> io::Result<bool> {
        let Some(&part) = self.order.next() else {
            return Ok(false);
        };
        let index = part as usize;
        let bytes = self.parts.get(index).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("ledger partition {index} out of range"),
            )
        })?;
        let stream = match &mut self.streams[index] {
            Some(stream) => stream,
            slot => slot.insert(zstd::stream::read::Decoder::with_buffer(bytes.as_slice())?),
        };
        let mut length = [0; 8];
        stream.read_exact(&mut length)?;
        let length = u64::from_le_bytes(length);
        self.record.clear();
        let read = stream.by_ref().take(length).read_to_end(&mut self.record)?;
        if read as u64 != length {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("ledger partition {index}: an episode's lines are cut short"),
            ));
        }
        let mut decoder = Decoder::new(&self.record);
        while !decoder.is_empty() {
            lines.push(decoder.next_ledger_line()?);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::episodes::{Disposition, ExclusionRule};
    use crate::model::money::Money;
    use crate::model::{ClaimType, Text};

    fn line(claim: &str, number: u64, cents: i128, provider: Option<&str>) -> LedgerLine {
        LedgerLine {
            claim_id: Text::from(claim),
            line_number: number,
            claim_type: ClaimType::ALL[(number % 3) as usize],
            allowed: Money::from_cents(cents),
            included: Money::from_cents(cents / 3),
            disposition: Disposition::ALL[(number % 6) as usize],
            provider_id: provider.map(Text::from),
            service_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 1 + (number % 28) as u32)
                .expect("a date"),
        }
    }

    #[test]
    fn episodes_come_back_in_the_merged_order_with_every_field() {
        // Two partitions; the run's order interleaves them.
        let a = [
            vec![line("A1", 1, 12_345, Some("P1")), line("A1", 2, -7, None)],
            vec![],
        ];
        let b = [vec![line("B1", 5, i128::from(i64::MAX) * 3, Some("P2"))]];
        let mut parts = Vec::new();
        for episodes in [&a[..], &b[..]] {
            let mut ledger = PartLedger::new(1).expect("an encoder");
            for lines in episodes {
                ledger.push(lines).expect("pushed");
            }
            parts.push(ledger.finish().expect("finished"));
        }
        let ledgers = Ledgers::new(parts, vec![0, 1, 0]);
        let mut reader = ledgers.reader();
        let mut lines = Vec::new();
        let mut got = Vec::new();
        while reader.next_episode(&mut lines).expect("decoded") {
            got.push(std::mem::take(&mut lines));
        }
        assert_eq!(got, vec![a[0].clone(), b[0].clone(), a[1].clone()]);
        // A second reader reads it all again.
        let mut again = ledgers.reader();
        assert!(again.next_episode(&mut lines).expect("decoded"));
        assert_eq!(lines, a[0]);
        assert_eq!(
            Disposition::ALL[5],
            Disposition::Excluded(ExclusionRule::PrincipalDx)
        );
    }

    #[test]
    fn an_order_past_a_stream_is_an_error_not_a_panic() {
        let mut ledger = PartLedger::new(1).expect("an encoder");
        ledger.push(&[line("A", 1, 1, None)]).expect("pushed");
        let ledgers = Ledgers::new(vec![ledger.finish().expect("finished")], vec![0, 0, 3]);
        let mut reader = ledgers.reader();
        let mut lines = Vec::new();
        assert!(reader.next_episode(&mut lines).expect("the one episode"));
        let error = reader
            .next_episode(&mut lines)
            .expect_err("no second episode");
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        let error = reader.next_episode(&mut lines).expect_err("no partition 3");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }
}
