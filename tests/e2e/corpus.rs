//! The fuzz targets' corpus (`fuzz/corpus/`) run as ordinary tests, so stable-Rust CI covers
//! every input the fuzzers kept: none may panic, each must round-trip when it parses, and masking
//! must agree with masking the whole output.

use std::path::PathBuf;

use sesame::format::codec;
use sesame::format::read::parse_file;
use sesame::format::write::encode_header;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the {target} corpus is empty");
    files
}

#[test]
fn header_corpus_parses_or_fails_cleanly_and_round_trips() {
    for (path, bytes) in corpus("header") {
        if let Ok(parsed) = parse_file(&bytes) {
            assert_eq!(
                encode_header(&parsed.header),
                parsed.header_bytes,
                "{} does not round-trip",
                path.display()
            );
        }
    }
}

#[test]
fn payload_corpus_decodes_or_fails_cleanly_and_round_trips() {
    for (path, bytes) in corpus("payload") {
        if let Ok(vault) = codec::decode(&bytes) {
            let again = codec::encode(&vault).unwrap();
            assert_eq!(
                &again[..],
                &bytes[..],
                "{} does not round-trip",
                path.display()
            );
        }
    }
}

#[test]
fn mask_corpus_streams_the_same_as_masking_the_whole_output() {
    for (path, bytes) in corpus("mask") {
        // The property panics with the values and reads when it does not hold.
        eprintln!("{}", path.display());
        sesame::mask::property::check_fuzz_input(&bytes);
    }
}
