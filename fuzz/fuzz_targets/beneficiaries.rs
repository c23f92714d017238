//! Every beneficiaries reader on arbitrary bytes: the first byte picks the
//! format (canonical, MBSF, CCLF8, DE-SynPUF, auto), the rest is the file.
//! Every data row is accepted or rejected exactly once; a fatal error
//! names the file.
#![no_main]

use episode_recon::input::beneficiaries::{self, Columns};
use episode_recon::input::formats::enrollment::BeneficiariesFormat;

const FORMATS: [BeneficiariesFormat; 5] = [
    BeneficiariesFormat::Canonical,
    BeneficiariesFormat::Rif,
    BeneficiariesFormat::Cclf,
    BeneficiariesFormat::Synpuf,
    BeneficiariesFormat::Auto,
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(pick) % FORMATS.len()];
    let (_dir, path) = episode_recon_fuzz::file_with(episode_recon_fuzz::NAME, file);
    // A flag and an attribute the sample's definitions and risk factors use.
    let columns = Columns {
        extra_flags: vec!["esrd".to_owned()],
        attributes: vec!["age_band".to_owned()],
    };
    match beneficiaries::load(&[path.into()], 0, &columns, format) {
        Ok(read) => {
            assert_eq!(read.read, read.accepted + read.rejects.len() as u64);
            let lines = episode_recon_fuzz::line_count(file);
            assert!(read.read <= lines, "{} rows of {lines} lines", read.read);
            let rows: Vec<u64> = read.rejects.iter().map(|r| r.row).collect();
            assert!(
                rows.windows(2).all(|w| w[0] < w[1]),
                "a row rejected twice, or out of order: {rows:?}"
            );
            let by_reason: u64 = read.rejected_by_reason.values().sum();
            assert_eq!(by_reason, read.rejects.len() as u64);
        }
        Err(e) => episode_recon_fuzz::assert_names_input(&e, episode_recon_fuzz::NAME),
    }
});
