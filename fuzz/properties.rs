//! The properties the fuzz targets assert, in one file that both the targets (`fuzz_targets/*.rs`)
//! and the corpus replay in the main suite (`tests/e2e/corpus.rs`) include, so the fuzzers and
//! `cargo test` check the same thing. Each function takes one input and panics when a property
//! fails; an input that is merely invalid returns quietly.

#![allow(dead_code)] // each target uses one property of this file

use std::ffi::OsString;
use std::time::{Duration, UNIX_EPOCH};

use sesame::agent::protocol::{
    AgentStatus, MAX_FRAME, OK, Request, read_frame, refused, split_response, write_frame,
};
use sesame::backup::{copy_file_name, is_copy_of, stamp};
use sesame::dotenv::{self, format_entry};
use sesame::inject::{REFERENCE_PREFIX, Selection, parse_binding};
use sesame::names::{EnvName, Label};
use sesame::recovery::RecoveryCode;
use sesame::units::{format_duration, format_size_kib, parse_duration, parse_size_kib};

/// True when `text` has a control character other than a line break: what a message shown on a
/// terminal must not carry from input (escape sequences could rewrite the screen).
fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n')
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    for (i, out) in b.iter_mut().enumerate() {
        *out = data.get(at + i).copied().unwrap_or(0);
    }
    u64::from_le_bytes(b)
}

/// Request and response frames, both directions: what the agent parses from a client, and what a
/// client parses from an agent that may be hostile.
pub fn agent_protocol(data: &[u8]) {
    // A request body the agent accepts is canonical: it re-encodes to the same bytes, and goes
    // through a frame unchanged.
    if let Some(request) = Request::decode(data) {
        let body = request.encode();
        assert_eq!(body, data, "a decoded request re-encodes to other bytes");
        let mut wire = Vec::new();
        assert!(
            write_frame(&mut wire, &body).is_ok(),
            "an accepted request fits a frame"
        );
        let mut reader = &wire[..];
        let back = read_frame(&mut reader).ok().flatten();
        assert_eq!(
            back.as_deref(),
            Some(data),
            "a frame does not carry its body"
        );
        assert_eq!(Request::decode(&body), Some(request));
    }

    // Any byte stream read as frames, the way the agent and the client read a socket: each frame
    // is what its length prefix says, within the limit, and nothing is read past the stream.
    let mut reader = data;
    let mut frames = 0;
    loop {
        let before = reader;
        match read_frame(&mut reader) {
            Ok(Some(body)) => {
                let len = u32::from_le_bytes([before[0], before[1], before[2], before[3]]) as usize;
                assert!(
                    (1..=MAX_FRAME).contains(&len),
                    "a frame of {len} bytes was read"
                );
                assert_eq!(
                    body,
                    &before[4..4 + len],
                    "a frame is not the bytes that followed"
                );
                assert_eq!(reader.len(), before.len() - 4 - len);
                frames += 1;
            }
            Ok(None) => {
                assert!(
                    before.len() < 4,
                    "a clean end of stream with a length still unread"
                );
                break;
            }
            Err(_) => break,
        }
        assert!(frames <= data.len() / 5, "more frames than the bytes allow");
    }

    // A hostile agent's answer: an OK answer hands the client exactly the rest; a refusal's
    // message is shown to the user, so it is bounded and carries no control characters.
    match split_response(data) {
        Ok(rest) => {
            assert_eq!(data.first(), Some(&OK));
            assert_eq!(rest, &data[1..]);
        }
        Err(message) => {
            assert!(
                !has_control(&message),
                "a refusal carries control characters"
            );
            assert!(message.len() <= 3 * 65_535 + 32);
        }
    }

    // A status answer is canonical: decoded, it re-encodes to the same bytes (when its path is
    // text, which is all an agent sends).
    if let Some(status) = AgentStatus::decode(data) {
        let path_len = u16::from_le_bytes([data[33], data[34]]) as usize;
        if std::str::from_utf8(&data[35..35 + path_len]).is_ok() && path_len <= 2048 {
            assert_eq!(
                status.encode(),
                data,
                "a decoded status re-encodes to other bytes"
            );
        }
    }

    // What our agent sends as a refusal reads back as the same message.
    if let Ok(message) = std::str::from_utf8(data)
        && message.len() <= 1024
        && !has_control(message)
        && !message.contains('\n')
    {
        assert_eq!(split_response(&refused(message)), Err(message.to_string()));
    }
}

/// What users type: recovery codes, durations, sizes, labels, env names, `NAME=LABEL` bindings and
/// `sesame://` references. Round-trips where there is a formatter; errors that can reach a terminal
/// carry no control characters from the input.
pub fn text_inputs(data: &[u8]) {
    // Recovery codes: an accepted code displays in the canonical form, which reads back as the
    // same key material.
    match RecoveryCode::parse(data) {
        Ok(code) => {
            let shown = code.display();
            assert_eq!(shown.len(), 34);
            let back = RecoveryCode::parse(shown.as_bytes());
            assert_eq!(
                back.as_ref().map(RecoveryCode::key_material).ok(),
                Some(code.key_material()),
                "a displayed recovery code does not read back"
            );
        }
        Err(e) => assert!(!has_control(&e.to_string())),
    }

    // Numbers formatted from the input's first bytes read back exactly.
    let secs = u64_at(data, 0);
    assert_eq!(
        parse_duration(&format_duration(secs))
            .map(|d| d.as_secs())
            .ok(),
        Some(secs),
        "format_duration({secs}) does not read back"
    );
    let kib = secs as u32;
    assert_eq!(
        parse_size_kib(&format_size_kib(kib)).ok(),
        Some(kib),
        "format_size_kib({kib}) does not read back"
    );

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_duration(text) {
        Ok(d) => assert_eq!(
            parse_duration(&format_duration(d.as_secs())).ok(),
            Some(d),
            "{text:?}"
        ),
        Err(e) => assert!(!has_control(&e.to_string())),
    }
    match parse_size_kib(text) {
        Ok(k) => assert_eq!(
            parse_size_kib(&format_size_kib(k)).ok(),
            Some(k),
            "{text:?}"
        ),
        Err(e) => assert!(!has_control(&e.to_string())),
    }

    // A label is kept exactly as typed; its default env name is always a valid env name.
    match Label::parse(text) {
        Ok(label) => {
            assert_eq!(label.as_str(), text);
            let env = label.default_env_name();
            assert!(EnvName::parse(env.as_str()).is_ok(), "{env} from {text:?}");
        }
        Err(e) => assert!(!has_control(&e.to_string())),
    }
    match EnvName::parse(text) {
        Ok(name) => {
            assert_eq!(name.as_str(), text);
            assert!(EnvName::inherited(text).is_some());
        }
        Err(e) => assert!(!has_control(&e.to_string())),
    }

    // `NAME=LABEL` reads back from its own display.
    match parse_binding(text, "--env") {
        Ok((name, label)) => {
            assert_eq!(format!("{name}={label}"), text);
            let again = parse_binding(&format!("{name}={label}"), "--env").ok();
            assert_eq!(again, Some((name, label)));
        }
        Err(e) => assert!(!has_control(&e.to_string())),
    }

    // An inherited variable is taken as a reference exactly when its whole value is
    // `sesame://` and a valid label (anything else is left alone); a reference written from a
    // label is always taken.
    let mut selection = Selection::default();
    let taken = selection.add_inherited([(OsString::from("SOME_VAR"), OsString::from(text))]);
    match text.strip_prefix(REFERENCE_PREFIX) {
        None => {
            assert!(taken.is_ok());
            assert!(selection.is_empty(), "{text:?} taken as a reference");
        }
        Some(rest) => {
            // Not a valid label: left alone (with a warning), never an error (issue 15).
            assert!(taken.is_ok(), "{text:?}");
            assert_eq!(
                selection.is_empty(),
                Label::parse(rest).is_err(),
                "{text:?}"
            );
            if let Ok(label) = Label::parse(rest) {
                assert!(!selection.is_empty());
                let mut again = Selection::default();
                let reference = format!("{REFERENCE_PREFIX}{label}");
                assert!(
                    again
                        .add_inherited([(OsString::from("V"), OsString::from(reference))])
                        .is_ok()
                );
            }
        }
    }
}

/// A dotenv file (`import --dotenv`): no panic, and what it accepts, written back entry by entry
/// with `format_entry` (what `export --dotenv` writes), reads back as the same names and values.
pub fn dotenv_import(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = match dotenv::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => {
            assert!(
                e.line >= 1 && e.line <= text.lines().count().max(1) + 1,
                "line {}",
                e.line
            );
            return;
        }
    };
    let mut written = String::new();
    for entry in &parsed.entries {
        assert!(
            dotenv::is_name(&entry.name),
            "{:?} accepted as a name",
            entry.name
        );
        written.push_str(&format_entry(&entry.name, &entry.value));
        written.push('\n');
    }
    let again = match dotenv::parse(&written) {
        Ok(again) => again,
        Err(e) => panic!(
            "the written file is refused at line {}: {}",
            e.line, e.reason
        ),
    };
    let pairs = |p: &dotenv::Parsed| -> Vec<(String, String)> {
        p.entries
            .iter()
            .map(|e| (e.name.clone(), e.value.to_string()))
            .collect()
    };
    assert_eq!(
        pairs(&again),
        pairs(&parsed),
        "written back, the entries change"
    );
    assert!(again.warnings.is_empty(), "written back, a name repeats");
}

/// Which files in a backups folder are copies of which vault (`backups`, and the pruning of
/// automatic generations, which deletes what this says is ours). A name sesame writes for one
/// vault is a copy of that vault and of no other; no file name is a copy of two vaults.
pub fn backup_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Input: `stem1 / stem2 / name / numbers` (a stem never holds `/`: it is a file name).
    let mut parts = text.splitn(4, '/');
    let (Some(stem1), Some(stem2)) = (parts.next(), parts.next()) else {
        return;
    };
    if stem1.is_empty() || stem2.is_empty() {
        return;
    }
    let name = parts.next().unwrap_or("");
    let numbers = parts.next().unwrap_or("").as_bytes();

    if is_copy_of(name, stem1) && is_copy_of(name, stem2) {
        assert_eq!(stem1, stem2, "{name:?} is a copy of two vaults");
    }

    // Times up to the year 9999 (the stamp's four-digit year), as the clock gives them.
    let secs = u64_at(numbers, 0) % 253_402_300_800;
    let time =
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(u64_at(numbers, 8) % 1000);
    let n = match numbers.get(16) {
        Some(&b) if b % 2 == 1 => Some(u32::from(b) + 1),
        _ => None,
    };
    for millis in [false, true] {
        let written = copy_file_name(stem1, &stamp(time, millis), n);
        assert!(
            is_copy_of(&written, stem1),
            "{written:?} is not a copy of {stem1:?}"
        );
        if stem1 != stem2 {
            assert!(
                !is_copy_of(&written, stem2),
                "{written:?} (of {stem1:?}) taken as a copy of {stem2:?}"
            );
        }
    }
}
