//! A participants file on arbitrary bytes, checked against the sample's
//! settlement tracks: participants, or an error naming the file.
#![no_main]

use std::path::Path;

use episode_recon::config::settlement::{Participants, Settlement};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/team/settlement.toml");
    let settlement = Settlement::load(&sample).expect("the sample settlement loads");
    let (_dir, path) = episode_recon_fuzz::file_with(episode_recon_fuzz::NAME, data);
    match Participants::load(&path, &settlement) {
        Ok(participants) => drop(participants.canonical_rows()),
        Err(e) => episode_recon_fuzz::assert_names_input(&e, episode_recon_fuzz::NAME),
    }
});
