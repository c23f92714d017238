//! A baseline of the compressed-input benchmark (benches/compressed.sh):
//! read a file through the engine's own decoder (`Source::open`, the
//! decoder thread and its channel) and count the text's bytes, parsing
//! nothing. A compressed run that overlaps decompression with parsing
//! takes less than the plain run plus this.
//!
//! Usage: `cargo run --release --example decompress_only -- FILE`

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use episode_recon::input::source::Source;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: decompress_only FILE");
        return ExitCode::from(2);
    };
    let mut source = match Source::open(&path, None) {
        Ok(source) => source,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let mut buffer = vec![0; 1 << 20];
    let mut bytes = 0u64;
    loop {
        match source.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => bytes += n as u64,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    println!("{bytes} bytes of text");
    ExitCode::SUCCESS
}
