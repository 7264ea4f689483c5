//! Deflates the word lists of the passphrase-strength estimate (`src/strength/data/*.txt`) into
//! `OUT_DIR`, so the binary carries 390 KB in place of their 793 KB of text;
//! `src/strength/words.rs` inflates them only when a passphrase is being set.

use std::path::Path;

/// The ranked lists, as named in `src/strength/data/` (the keyboard graphs are small and stay text).
const LISTS: [&str; 6] = [
    "passwords",
    "english_wikipedia",
    "female_names",
    "male_names",
    "surnames",
    "us_tv_and_film",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::var_os("OUT_DIR").ok_or("cargo did not set OUT_DIR")?;
    for name in LISTS {
        let source = format!("src/strength/data/{name}.txt");
        println!("cargo::rerun-if-changed={source}");
        let text = std::fs::read(&source)?;
        let packed = miniz_oxide::deflate::compress_to_vec(&text, 10);
        std::fs::write(Path::new(&out).join(format!("{name}.txt.deflate")), packed)?;
    }
    Ok(())
}
