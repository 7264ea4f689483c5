//! The fuzz targets' corpus (`fuzz/corpus/`) run as ordinary tests, so stable-Rust CI covers
//! every input the fuzzers kept: none may panic, and each must round-trip when it parses. (The
//! `mask` and `matcher` corpora are replayed by those modules' unit tests.)

use std::path::PathBuf;

use sesame::container::inspect;
use sesame::format::codec;
use sesame::format::write::encode_header;

/// The properties the fuzz targets assert, shared so the replay checks exactly the same thing.
#[path = "../../fuzz/properties.rs"]
mod properties;

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
        if let Ok(parsed) = inspect(&bytes, &path) {
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
fn the_header_check_on_a_files_first_64_kib_agrees_with_parsing_the_whole_file() {
    // `verify`, `restore`, `backups` and pruning judge a file by its first 64 KiB and its length
    // (`parse_head`, `check_length`) before reading the rest: on every input the fuzzer kept, the
    // verdict and the error are those of `parse_file` on the whole file.
    use sesame::format::MAX_HEADER_LEN;
    use sesame::format::read::{check_length, parse_file, parse_head};
    for (path, bytes) in corpus("header").into_iter().chain(corpus("backup_file")) {
        let head = &bytes[..bytes.len().min(MAX_HEADER_LEN as usize)];
        let by_head = parse_head(head).and_then(|(header, len)| {
            check_length(&header, len, bytes.len() as u64).map(|()| header)
        });
        match (parse_file(&bytes), by_head) {
            (Ok(whole), Ok(header)) => assert_eq!(whole.header, header, "{}", path.display()),
            (Err(a), Err(b)) => assert_eq!(a, b, "{}", path.display()),
            (whole, head) => panic!(
                "{}: whole file {:?}, first 64 KiB {:?}",
                path.display(),
                whole.err(),
                head.err()
            ),
        }
    }
}

#[test]
fn payload_corpus_decodes_or_fails_cleanly_and_round_trips() {
    for (path, bytes) in corpus("payload") {
        // A format 2 payload re-encodes byte for byte; a format 1 one is upgraded, and the
        // upgraded bytes do.
        if let Ok(vault) = codec::decode(&bytes, codec::PAYLOAD_V2) {
            let again = codec::encode(&vault).unwrap();
            assert_eq!(
                &again[..],
                &bytes[..],
                "{} does not round-trip",
                path.display()
            );
        }
        if let Ok(vault) = codec::decode(&bytes, codec::PAYLOAD_V1) {
            let upgraded = codec::encode(&vault).unwrap();
            let back = codec::decode(&upgraded, codec::PAYLOAD_V2).unwrap();
            assert_eq!(
                &codec::encode(&back).unwrap()[..],
                &upgraded[..],
                "{} does not round-trip once upgraded",
                path.display()
            );
        }
    }
}

// The mask and matcher corpora are replayed by the unit tests of `src/mask` and `src/matcher`:
// their properties are test oracles, compiled only for tests and fuzzing.

/// Replays a corpus through its target's property, naming the input that fails.
fn replay(target: &str, property: fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let caught = std::panic::catch_unwind(|| property(&bytes));
        assert!(
            caught.is_ok(),
            "{} fails the {target} property",
            path.display()
        );
    }
}

#[test]
fn agent_protocol_corpus_keeps_frames_canonical_and_refusals_printable() {
    replay("agent_protocol", properties::agent_protocol);
}

#[test]
fn text_inputs_corpus_round_trips_codes_units_names_and_references() {
    replay("text_inputs", properties::text_inputs);
}

#[test]
fn dotenv_import_corpus_reads_back_what_export_writes() {
    replay("dotenv_import", properties::dotenv_import);
}

#[test]
fn backup_file_corpus_never_takes_one_vaults_copy_for_anothers() {
    replay("backup_file", properties::backup_file);
}

#[test]
fn env_file_corpus_reads_back_what_format_env_file_writes() {
    replay("env_file", properties::env_file);
}

#[test]
fn usage_log_corpus_framing_reading_and_decoding_agree() {
    replay("usage_log", properties::usage_log);
}

#[test]
fn openbao_response_corpus_yields_what_the_json_says() {
    replay("openbao_response", properties::openbao_response);
}
