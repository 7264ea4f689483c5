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
use sesame::inject::{
    EnvFileValue, REFERENCE_PREFIX, Selection, format_env_file, loads_or_runs_code, parse_binding,
};
use sesame::names::{EnvName, Label};
use sesame::openbao::response::{
    MAX_REASON_CHARS, Malformed, cut_reason, id_token, kv_secret, kv_version, login_token,
    server_errors, transit_ciphertext, transit_plaintext,
};
use sesame::recovery::RecoveryCode;
use sesame::units::{format_duration, format_size_kib, parse_duration, parse_size_kib};
use sesame::usage::{
    ReadProblem, decode_record, encode_frame, encode_record, frames, last_frame, parse_header,
    read_records,
};

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

/// An env file as `run --env-file` reads it (the file may come from a cloned repository): no
/// panic; an error names the file and line and carries no control characters; what is accepted is
/// exactly what `dotenv::parse` reads, each value classed as a `sesame://` label, a `bao://`
/// reference or a plain value, no variable that loads code; and the bindings, written back with
/// `format_env_file`, read back as the same bindings.
pub fn env_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut first = Selection::default();
    if let Err(e) = first.add_env_text(text, "f.env") {
        let message = e.to_string();
        assert!(message.starts_with("f.env:"), "{message:?}");
        assert!(!has_control(&message), "{message:?}");
        return;
    }
    let Ok(parsed) = dotenv::parse(text) else {
        panic!("an env file dotenv::parse refuses was accepted");
    };
    let bindings = first.env_file_bindings();
    assert_eq!(bindings.len(), parsed.entries.len());
    for entry in &parsed.entries {
        assert!(!loads_or_runs_code(&entry.name), "{} was set", entry.name);
        let bound = bindings
            .iter()
            .find(|(name, _)| name.as_str() == entry.name)
            .map(|(_, value)| *value);
        let value: &str = &entry.value;
        match bound {
            Some(EnvFileValue::Secret(label)) => {
                assert_eq!(format!("{REFERENCE_PREFIX}{label}"), value)
            }
            Some(EnvFileValue::Bao(reference)) => assert_eq!(reference.to_string(), value),
            Some(EnvFileValue::Plain(plain)) => {
                assert!(plain == value, "a plain value changed");
                assert!(
                    !plain.starts_with(REFERENCE_PREFIX)
                        && !plain.starts_with(sesame::openbao::reference::PREFIX)
                );
            }
            None => panic!("{} is missing", entry.name),
        }
    }
    let written = format_env_file(bindings.iter().map(|(n, v)| (*n, *v)));
    let mut again = Selection::default();
    if let Err(e) = again.add_env_text(&written, "again.env") {
        panic!("the written env file is refused: {e}");
    }
    assert!(again.warnings().is_empty(), "written back, a name repeats");
    assert!(
        again.env_file_bindings() == bindings,
        "written back, the bindings change"
    );
    // A second file with the same bindings overrides the first without a complaint.
    if let Err(e) = first.add_env_text(&written, "again.env") {
        panic!("the same bindings in a second file are refused: {e}");
    }
    assert!(first.env_file_bindings() == again.env_file_bindings());
}

/// The usage log's header, framing and record decoding, without a key (a record's sealed bytes
/// taken as its plaintext): a header that parses re-encodes to its bytes; the walk from the front
/// yields records of consecutive indices that re-frame to exactly their bytes, stops at the first
/// problem, and says "cut short" only when the bytes run out; the walk from the end finds the same
/// record at every record boundary; the reading loop (`read_records`) keeps exactly the records
/// the walk and the decoder accept, and reports the problem where they stop; an accepted record
/// plaintext re-encodes to the same bytes; and records written back read back the same.
pub fn usage_log(data: &[u8]) {
    let records = match parse_header(data) {
        Ok(header) => {
            assert!(header.len <= data.len());
            assert_eq!(
                header.encode(),
                &data[..header.len],
                "a parsed header re-encodes to other bytes"
            );
            &data[header.len..]
        }
        Err(reason) => {
            assert!(!has_control(reason));
            data
        }
    };

    let mut walk = frames(records);
    let mut framed = Vec::new();
    let mut stopped = None;
    let mut at = 0usize;
    for frame in walk.by_ref() {
        match frame {
            Ok(frame) => {
                assert_eq!(frame.index, framed.len() as u64, "an index out of order");
                let len = frame.len as usize;
                let again = encode_frame(frame.index, &frame.nonce, frame.sealed).ok();
                assert_eq!(
                    again.as_deref(),
                    Some(&records[at..at + len]),
                    "a frame re-encodes to other bytes"
                );
                at += len;
                assert_eq!(
                    last_frame(&records[..at]),
                    Some(frame),
                    "the walk from the end finds another record"
                );
                framed.push(frame);
            }
            Err(problem) => {
                assert!(stopped.is_none(), "the walk went on after a problem");
                stopped = Some(problem);
            }
        }
    }
    assert_eq!(walk.walked(), at as u64);
    match stopped {
        None => {
            assert_eq!(
                at,
                records.len(),
                "the walk stopped early without a problem"
            );
            if let Some(last) = framed.last() {
                assert_eq!(last_frame(records), Some(*last));
            }
        }
        Some(ReadProblem::CutShort) => {
            let rest = &records[at..];
            let declared = rest
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
            assert!(
                declared.is_none_or(|len| len > rest.len()),
                "cut short, yet the record is all there"
            );
        }
        Some(ReadProblem::Malformed) => assert!(at < records.len()),
        Some(other) => panic!("the walk reported {other:?}"),
    }

    // The reading loop agrees with the walk and the decoder.
    let (read, problem) = read_records(records, |frame| decode_record(frame.sealed));
    let decoded: Vec<_> = framed.iter().map(|f| decode_record(f.sealed)).collect();
    let accepted = decoded.iter().take_while(|d| d.is_ok()).count();
    assert_eq!(read.len(), accepted, "read_records kept other records");
    for (record, frame) in read.iter().zip(&framed) {
        assert_eq!(Some(record), decode_record(frame.sealed).ok().as_ref());
    }
    let expected = match decoded.get(accepted) {
        Some(Err(p)) => Some(*p),
        _ => stopped,
    };
    assert_eq!(problem, expected, "read_records stopped elsewhere");

    // Decoding is canonical: what decodes re-encodes to the same bytes.
    for plaintext in framed.iter().map(|f| f.sealed).chain([records, data]) {
        if let Ok(record) = decode_record(plaintext) {
            let again = encode_record(&record).ok();
            assert_eq!(
                again.as_deref(),
                Some(plaintext),
                "a record re-encodes to other bytes"
            );
        }
    }

    // What was read, written back as a log, reads back the same.
    let mut log = Vec::new();
    for (index, record) in read.iter().enumerate() {
        let (Ok(plaintext), Some(frame)) = (encode_record(record), framed.get(index)) else {
            panic!("a record that was read cannot be written");
        };
        match encode_frame(index as u64, &frame.nonce, &plaintext) {
            Ok(bytes) => log.extend_from_slice(&bytes),
            Err(_) => panic!("a record that was read cannot be framed"),
        }
    }
    let (again, problem) = read_records(&log, |frame| decode_record(frame.sealed));
    assert_eq!(problem, None);
    assert_eq!(again, read, "written back, the records change");
}

/// Text values in an OpenBao answer that are long and odd enough not to be part of one of
/// sesame's own messages: what an error must not repeat.
fn secret_looking(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s)
            if s.len() >= 8
                && s.chars()
                    .any(|c| !(c.is_ascii_alphanumeric() || " .,:;/'`()-_\"".contains(c))) =>
        {
            out.push(s.clone());
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| secret_looking(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| secret_looking(v, out)),
        _ => {}
    }
}

/// Transit and KV answers from a hostile or broken OpenBao server: no panic; what is accepted is
/// what the JSON says (the ciphertext, the plaintext's base64, every KV field, the version) and
/// no more than the answer's size allows; an accepted answer, written again by a JSON formatter,
/// reads back the same; a refused answer's error repeats none of its values; and a server's
/// `errors` reach the terminal bounded and without control characters.
pub fn openbao_response(data: &[u8]) {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use serde_json::{Value, json};

    let doc: Option<Value> = serde_json::from_slice(data).ok();
    let at = |pointer: &str| doc.as_ref().and_then(|d| d.pointer(pointer));
    let mut secrets = Vec::new();
    if let Some(doc) = &doc {
        secret_looking(doc, &mut secrets);
    }
    let refused = |m: Malformed| {
        let message = m
            .into_error("https://bao.test", "the thing asked".into())
            .to_string();
        for s in &secrets {
            assert!(!message.contains(s.as_str()), "an error repeats a value");
        }
        assert!(!has_control(&message));
    };

    match transit_ciphertext(data) {
        Ok(ciphertext) => {
            assert!(ciphertext.len() <= data.len());
            if doc.is_some() {
                assert_eq!(
                    at("/data/ciphertext"),
                    Some(&Value::from(ciphertext.as_str()))
                );
            }
            let again = json!({ "data": { "ciphertext": ciphertext } }).to_string();
            assert_eq!(transit_ciphertext(again.as_bytes()).ok(), Some(ciphertext));
        }
        Err(m) => refused(m),
    }

    match transit_plaintext(data) {
        Ok(plaintext) => {
            assert!(plaintext.len() <= data.len());
            let encoded = BASE64.encode(&*plaintext);
            if doc.is_some() {
                // The decoder is strict: one base64 text per plaintext.
                assert!(
                    at("/data/plaintext") == Some(&Value::from(encoded.as_str())),
                    "the plaintext is not the base64 the answer held"
                );
            }
            let again = json!({ "data": { "plaintext": encoded } }).to_string();
            assert!(
                transit_plaintext(again.as_bytes()).ok() == Some(plaintext),
                "a written plaintext reads back otherwise"
            );
        }
        Err(m) => refused(m),
    }

    match kv_secret(data) {
        Ok(None) => {
            if doc.is_some() {
                assert!(matches!(at("/data/data"), None | Some(Value::Null)));
            }
        }
        Ok(Some(secret)) => {
            let total: usize = secret
                .fields
                .iter()
                .map(|(name, value)| name.len() + value.len())
                .sum();
            // A number may grow when written as text (`1e15` is 1000000000000000.0), by less than 4 times.
            assert!(total <= 4 * data.len() + 64, "{total} bytes of fields");
            if doc.is_some() {
                assert_eq!(
                    at("/data/metadata/version").and_then(Value::as_u64),
                    Some(secret.version)
                );
                let Some(Value::Object(fields)) = at("/data/data") else {
                    panic!("fields read from an answer without data.data");
                };
                assert_eq!(fields.len(), secret.fields.len());
                for (name, value) in fields {
                    let expected = match value {
                        Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    assert!(
                        secret.fields.get(name).map(|v| v.expose()) == Some(expected.as_bytes()),
                        "a field is not what the answer held"
                    );
                }
            }
            // Written again (every value as text), it reads back the same.
            let mut fields = serde_json::Map::new();
            for (name, value) in &secret.fields {
                let Ok(text) = std::str::from_utf8(value.expose()) else {
                    panic!("a field read from JSON is not text");
                };
                fields.insert(name.clone(), Value::from(text));
            }
            let again =
                json!({ "data": { "data": fields, "metadata": { "version": secret.version } } })
                    .to_string();
            let Ok(Some(back)) = kv_secret(again.as_bytes()) else {
                panic!("a written KV answer is refused");
            };
            assert_eq!(back.version, secret.version);
            assert!(
                back.fields.len() == secret.fields.len()
                    && back
                        .fields
                        .iter()
                        .zip(&secret.fields)
                        .all(|((n1, v1), (n2, v2))| n1 == n2 && v1.expose() == v2.expose()),
                "a written KV answer reads back otherwise"
            );
        }
        Err(m) => refused(m),
    }

    match kv_version(data) {
        Ok(version) => {
            if doc.is_some() {
                assert_eq!(at("/data/version").and_then(Value::as_u64), Some(version));
            }
            let again = json!({ "data": { "version": version } }).to_string();
            assert_eq!(kv_version(again.as_bytes()).ok(), Some(version));
        }
        Err(m) => refused(m),
    }

    // A login's token and GitHub's ID token: exactly the string the answer held, and one a
    // header or a JSON body carries as it is.
    for (read, pointer) in [
        (
            login_token as fn(&[u8]) -> Result<_, Malformed>,
            "/auth/client_token",
        ),
        (id_token, "/value"),
    ] {
        match read(data) {
            Ok(text) => {
                assert!(!text.is_empty() && text.len() <= data.len());
                assert!(text.bytes().all(|b| b.is_ascii_graphic()));
                if doc.is_some() {
                    assert_eq!(at(pointer), Some(&Value::from(text.as_str())));
                }
            }
            Err(m) => refused(m),
        }
    }

    // A failed request's reasons: one bounded line; each word is one the server sent.
    let reason = cut_reason(&server_errors(data));
    assert!(reason.chars().count() <= MAX_REASON_CHARS);
    assert!(!reason.is_empty() && !has_control(&reason) && !reason.contains('\n'));
    if let Some(Value::Array(errors)) = at("/errors")
        && let Some(texts) = errors.iter().map(Value::as_str).collect::<Option<Vec<_>>>()
        && doc.as_ref().is_some_and(Value::is_object)
    {
        let sent = texts.join("; ");
        // (A refused answer, e.g. one naming `errors` twice, gives "no reason given".)
        if reason != "no reason given" {
            for word in reason.split(' ') {
                assert!(sent.contains(word), "a word the server did not send");
            }
            let again = json!({ "errors": texts }).to_string();
            assert_eq!(cut_reason(&server_errors(again.as_bytes())), reason);
        }
    }
}
