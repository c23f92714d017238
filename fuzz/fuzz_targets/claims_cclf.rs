//! The CCLF claims reader on arbitrary bytes, fixed width or delimited as
//! the first line shows: every row one outcome, the same however the input
//! is cut, accepted amounts exact, errors that name the input (see
//! `episode_recon_fuzz`).
#![no_main]

use episode_recon::input::formats::ClaimsFormat;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    episode_recon_fuzz::check_claims(ClaimsFormat::Cclf, data);
});
