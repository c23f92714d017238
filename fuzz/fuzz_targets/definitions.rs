//! An episode definition's TOML on arbitrary text: a definition, or an
//! error naming the file; a definition it accepts can be described.
#![no_main]

use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("fuzzed-definition.toml");
    match episode_recon::config::definitions::parse(text, file) {
        Ok(definition) => {
            let _ = definition.describe();
            let _ = definition.episode_rules();
        }
        Err(e) => episode_recon_fuzz::assert_names_input(&e, "fuzzed-definition.toml"),
    }
});
