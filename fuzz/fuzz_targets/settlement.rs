//! A settlement file on arbitrary bytes: tracks, or an error naming the
//! file; what it accepts has a canonical form (the run's fingerprint).
#![no_main]

use episode_recon::config::settlement::Settlement;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (_dir, path) = episode_recon_fuzz::file_with("fuzzed-settlement.toml", data);
    match Settlement::load(&path) {
        Ok(settlement) => drop(settlement.canonical_text()),
        Err(e) => episode_recon_fuzz::assert_names_input(&e, "fuzzed-settlement.toml"),
    }
});
