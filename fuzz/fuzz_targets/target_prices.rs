//! A target price file on arbitrary bytes: prices, or an error naming the
//! file; what it accepts has a canonical form (the run's fingerprint).
#![no_main]

use episode_recon::config::prices::TargetPrices;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (_dir, path) = episode_recon_fuzz::file_with(episode_recon_fuzz::NAME, data);
    match TargetPrices::load(&path) {
        Ok(prices) => drop(prices.canonical_rows()),
        Err(e) => episode_recon_fuzz::assert_names_input(&e, episode_recon_fuzz::NAME),
    }
});
