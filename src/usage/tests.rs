//! The usage log's unit tests: framing, keys, appends, compaction and the documented bytes.

// As in `tests/tests.rs`: a test that cannot set up panics, which is its failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use zeroize::Zeroizing;

use super::*;
use crate::container::{KeyHolder, LocalKey};
use crate::secret::{DataKey, KEY_LEN};

/// The data key, counting the usage-log keys derived from it (each one an agent request
/// when the agent holds the key).
struct Counting(LocalKey, Arc<AtomicUsize>);

impl KeyHolder for Counting {
    fn subkey(&self, salt: &[u8], purpose: Purpose) -> Result<Zeroizing<[u8; KEY_LEN]>> {
        if matches!(purpose, Purpose::UsageLog) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
        self.0.subkey(salt, purpose)
    }
    fn data_key(&self) -> Option<&crate::secret::DataKey> {
        self.0.data_key()
    }
}

/// A vault (small Argon2) whose log-key derivations are counted, and a folder for its files.
fn vault() -> (UnlockedVault, Arc<AtomicUsize>, tempfile::TempDir, PathBuf) {
    let mut made = crate::container::test_vault().unwrap();
    let file = made.seal().unwrap();
    let raw = Zeroizing::new(*made.data_key().unwrap().expose());
    let derived = Arc::new(AtomicUsize::new(0));
    let key = Counting(LocalKey(DataKey::from_bytes(raw)), derived.clone());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.sesame");
    let opened = UnlockedVault::open_with(&file, Box::new(key), &path).unwrap();
    (opened, derived, dir, path)
}

fn event(action: &str, labels: &[&str], time: i64) -> Event {
    Event {
        time,
        action: action.into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        program: None,
        detail: None,
        origin: None,
    }
}

fn events_of(records: &[Record]) -> Vec<Event> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Event(e) => Some(e.clone()),
            Record::Summaries(_) => None,
        })
        .collect()
}

fn arb_event() -> impl Strategy<Value = Event> {
    let label = prop::sample::select(vec!["a", "b", "c", "d", "e"]);
    (
        prop::sample::select(vec!["get", "run", "edit", "rm", "add", "passwd"]),
        prop::collection::vec(label, 0..4),
        0i64..1_000_000,
    )
        .prop_map(|(action, labels, time)| {
            let labels = match action {
                "edit" => labels.into_iter().take(2).collect(),
                "rm" => labels.into_iter().take(1).collect(),
                "passwd" => Vec::new(),
                _ => labels,
            };
            event(action, &labels, time)
        })
}

fn arb_record() -> impl Strategy<Value = Record> {
    prop_oneof![
        arb_event().prop_map(Record::Event),
        (
            any::<i64>(),
            any::<u64>(),
            ".{0,12}",
            any::<u64>(),
            any::<i64>()
        )
            .prop_map(|(time, unlabelled_dropped, label, uses, last_used)| {
                Record::Summaries(Summaries {
                    time,
                    unlabelled_dropped,
                    labels: vec![Summary {
                        label,
                        uses,
                        last_used,
                        dropped: uses / 2,
                    }],
                })
            }),
    ]
}

#[test]
fn the_framing_and_the_parser_agree_on_what_a_record_is() {
    // The writer's frames, the front-to-back walk (reading, repair), the walk from the end
    // (append) and the plaintext decoder must agree record for record, and a log cut
    // anywhere must walk to the last whole record and say the rest is cut short.
    let (vault, _, _dir, _) = vault();
    proptest!(ProptestConfig::with_cases(64), |(records in prop::collection::vec(arb_record(), 0..8))| {
        let bytes = encode_log(&vault, &records).unwrap();
        let header = parse_header(&bytes).unwrap();
        prop_assert_eq!(header.len, LOG_HEADER_LEN);
        prop_assert_eq!(header.rewritten_len, bytes.len() as u64);
        let contents = parse(&bytes, &vault);
        prop_assert!(contents.problem.is_none());
        prop_assert_eq!(&contents.records, &records);
        let body = &bytes[LOG_HEADER_LEN..];
        let framed: Vec<Frame<'_>> = frames(body).map(|f| f.unwrap()).collect();
        prop_assert_eq!(framed.len(), records.len());
        let mut end = 0usize;
        for (i, frame) in framed.iter().enumerate() {
            prop_assert_eq!(frame.index, i as u64);
            end += frame.len as usize;
            // From the end of every whole prefix, the walk back finds the same record.
            prop_assert_eq!(last_frame(&body[..end]), Some(*frame));
        }
        prop_assert_eq!(end, body.len());
        // Cut anywhere inside a record: the whole records before it, then "cut short".
        for cut in 1..body.len() {
            let mut walk = frames(&body[..cut]);
            let results: Vec<_> = walk.by_ref().collect();
            let whole = framed.iter().scan(0u64, |at, f| { *at += f.len; Some(*at) })
                .take_while(|at| *at <= cut as u64).count();
            if framed.iter().scan(0u64, |at, f| { *at += f.len; Some(*at) }).any(|at| at == cut as u64) {
                prop_assert_eq!(results.len(), whole);
            } else {
                prop_assert_eq!(results.len(), whole + 1);
                prop_assert_eq!(results[whole], Err(ReadProblem::CutShort));
            }
            prop_assert!(results[..whole].iter().all(|r| r.is_ok()));
            prop_assert_eq!(walk.walked(), framed[..whole].iter().map(|f| f.len).sum::<u64>());
        }
    });
}

proptest! {
    #[test]
    fn the_framing_and_decoder_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_header(&bytes);
        let _: Vec<_> = frames(&bytes).collect();
        let _ = last_frame(&bytes);
        let _ = decode_record(&bytes);
    }

    #[test]
    fn compaction_keeps_every_use_count(
        events in prop::collection::vec(arb_event(), 0..80),
        cuts in prop::collection::vec(0usize..80, 0..4),
        keep in 0usize..4,
    ) {
        // Compacting at any points, with any number kept per label, leaves the counts `list`
        // shows as they were, keeps the newest `keep` events of each label, and accounts for
        // every event it removed.
        let all: Vec<Record> = events.iter().cloned().map(Record::Event).collect();
        let mut log: Vec<Record> = Vec::new();
        for (i, event) in events.iter().enumerate() {
            if cuts.contains(&i) {
                log = compact(&log, keep, 7);
            }
            log.push(Record::Event(event.clone()));
        }
        let compacted = compact(&log, keep, 7);
        prop_assert_eq!(uses_by_label(&log), uses_by_label(&all));
        prop_assert_eq!(uses_by_label(&compacted), uses_by_label(&all));
        let kept = events_of(&compacted);
        for label in ["a", "b", "c", "d", "e"] {
            let naming = |e: &Event| e.labels.iter().any(|l| l == label);
            let newest: Vec<&Event> = events.iter().rev().filter(|e| naming(e)).take(keep).collect();
            let kept_newest: Vec<&Event> = kept.iter().rev().filter(|e| naming(e)).take(keep).collect();
            prop_assert_eq!(newest, kept_newest);
            let Some(Record::Summaries(s)) = compacted.last() else { panic!("no summaries") };
            let dropped = s.labels.iter().find(|s| s.label == label).map_or(0, |s| s.dropped);
            let total = events.iter().filter(|e| naming(e)).count() as u64;
            let still = kept.iter().filter(|e| naming(e)).count() as u64;
            prop_assert_eq!(dropped + still, total);
        }
    }
}

#[test]
fn reading_a_log_derives_one_key_not_one_per_record() {
    // What broke: every record had its own key, so `list` and `log` made one agent request
    // per record (220–250 ms at 10,000 records).
    let (vault, derived, _dir, path) = vault();
    for i in 0..50 {
        append(&path, &vault, &event("get", &["a"], i)).unwrap();
    }
    derived.store(0, Ordering::SeqCst);
    let contents = read(&path, &vault).unwrap();
    assert!(contents.problem.is_none());
    assert_eq!(contents.events().count(), 50);
    assert_eq!(derived.load(Ordering::SeqCst), 1);
    append(&path, &vault, &event("get", &["a"], 50)).unwrap();
    assert_eq!(
        derived.load(Ordering::SeqCst),
        2,
        "an append derives one key"
    );
}

#[test]
fn a_log_key_derived_ahead_is_used_only_while_the_log_keeps_its_salt() {
    // A write derives the log key before taking the lock, so its append asks the agent for
    // nothing under the lock. If the log was replaced in between (compacted, set aside, deleted:
    // a new salt), the key derived ahead would seal a record no reader could open.
    let (vault, derived, _dir, path) = vault();
    assert!(key_ahead(&path, &vault).is_none(), "no log yet");
    append(&path, &vault, &event("init", &[], 0)).unwrap();
    let ahead = key_ahead(&path, &vault).unwrap();
    derived.store(0, Ordering::SeqCst);
    append_ahead(&path, &vault, &event("add", &["a"], 1), Some(ahead)).unwrap();
    assert_eq!(derived.load(Ordering::SeqCst), 0, "the key derived ahead");
    let stale = key_ahead(&path, &vault).unwrap();
    fs::remove_file(log_path(&path)).unwrap();
    append(&path, &vault, &event("add", &["b"], 2)).unwrap();
    append_ahead(&path, &vault, &event("add", &["c"], 3), Some(stale)).unwrap();
    let contents = read(&path, &vault).unwrap();
    assert!(contents.problem.is_none(), "{:?}", contents.problem);
    let labels: Vec<&str> = contents.events().map(|e| e.labels[0].as_str()).collect();
    assert_eq!(labels, ["b", "c"]);
}

#[test]
fn an_append_reads_the_header_and_the_last_record_not_the_whole_log() {
    // What broke: every `get` walked the whole log to find its end (15.8 ms at 584k
    // records). Damage in the middle of the log, which only a whole read sees, does not stop
    // an append; the reader reports it, and compaction (which reads it all) sets it aside.
    let (vault, _, _dir, path) = vault();
    for i in 0..3 {
        append(&path, &vault, &event("get", &["a"], i)).unwrap();
    }
    let log = log_path(&path);
    let mut bytes = fs::read(&log).unwrap();
    bytes[LOG_HEADER_LEN + 30] ^= 1; // inside the first record's ciphertext
    fs::write(&log, &bytes).unwrap();
    assert!(
        append(&path, &vault, &event("get", &["a"], 3))
            .unwrap()
            .is_none()
    );
    let contents = read(&path, &vault).unwrap();
    assert_eq!(contents.problem, Some(ReadProblem::Unauthentic.to_string()));
    assert_eq!(contents.events().count(), 0);
    // The record appended carries the next index: cutting the damaged one off the front is
    // not possible, but the last record opens where the walk from the end finds it.
    let bytes = fs::read(&log).unwrap();
    let last = last_frame(&bytes[LOG_HEADER_LEN..]).unwrap();
    assert_eq!(last.index, 3);
}

#[test]
fn a_torn_or_damaged_last_record_is_cut_off_or_set_aside() {
    let (vault, _, _dir, path) = vault();
    for i in 0..3 {
        append(&path, &vault, &event("get", &["a"], i)).unwrap();
    }
    let log = log_path(&path);
    let whole = fs::read(&log).unwrap();
    // A crash during an append leaves part of a record: it is cut off, the index reused.
    let mut torn = whole.clone();
    torn.extend_from_slice(&whole[LOG_HEADER_LEN..LOG_HEADER_LEN + 30]);
    fs::write(&log, &torn).unwrap();
    assert!(
        append(&path, &vault, &event("run", &["a"], 3))
            .unwrap()
            .is_none()
    );
    let contents = read(&path, &vault).unwrap();
    assert!(contents.problem.is_none(), "{:?}", contents.problem);
    assert_eq!(contents.events().count(), 4);
    // A last record that is whole but does not open is damage, not a crash.
    let mut damaged = whole.clone();
    let at = damaged.len() - 6;
    damaged[at] ^= 1;
    fs::write(&log, &damaged).unwrap();
    let aside = append(&path, &vault, &event("get", &["a"], 4))
        .unwrap()
        .unwrap();
    assert_eq!(aside.reason, "has a damaged record");
    assert_eq!(fs::read(&aside.kept_as).unwrap(), damaged);
    assert_eq!(read(&path, &vault).unwrap().events().count(), 1);
}

#[test]
fn the_log_is_compacted_past_its_size_and_keeps_its_counts() {
    // What broke: the log grew without bound (115 B a use). Past max(2 MiB, twice its size
    // when last written whole) it is compacted: the newest 20 events per label stay, and
    // per-label summaries carry the counts.
    let (vault, _, _dir, path) = vault();
    let labels: Vec<String> = (0..100).map(|i| format!("label/{i:04}")).collect();
    let names: Vec<&str> = labels.iter().map(String::as_str).collect();
    let log = log_path(&path);
    let mut largest = 0;
    let mut compactions = 0;
    let mut last_len = 0;
    for i in 0..150 {
        append(&path, &vault, &event("run", &names, i)).unwrap();
        append(&path, &vault, &event("get", &["solo"], i)).unwrap();
        let len = fs::metadata(&log).unwrap().len();
        if len < last_len {
            compactions += 1;
        }
        last_len = len;
        largest = largest.max(len);
    }
    assert!(compactions >= 2, "{compactions}");
    assert!(largest <= COMPACT_AT_LEAST, "{largest}");
    let contents = read(&path, &vault).unwrap();
    assert!(contents.problem.is_none());
    let uses = uses_by_label(&contents.records);
    assert_eq!(
        uses["label/0000"],
        Uses {
            count: 150,
            last: 149
        }
    );
    assert_eq!(
        uses["solo"],
        Uses {
            count: 150,
            last: 149
        }
    );
    let summaries = contents.summaries().unwrap();
    let solo = summaries.labels.iter().find(|s| s.label == "solo").unwrap();
    let kept = contents.events().filter(|e| e.labels == ["solo"]).count() as u64;
    assert!(kept >= KEEP_PER_LABEL as u64);
    assert_eq!(solo.dropped + kept, 150);
}

#[test]
fn one_record_holds_a_run_on_ten_thousand_labels() {
    // What broke: a record was limited to 64 KiB, so `run --all` past ~2,900 labels was not
    // logged at all.
    let (vault, _, _dir, path) = vault();
    let labels: Vec<String> = (0..10_000).map(|i| format!("service/key-{i:05}")).collect();
    let names: Vec<&str> = labels.iter().map(String::as_str).collect();
    assert!(
        append(&path, &vault, &event("run", &names, 1))
            .unwrap()
            .is_none()
    );
    let contents = read(&path, &vault).unwrap();
    assert!(contents.problem.is_none());
    assert_eq!(contents.events().next().unwrap().labels.len(), 10_000);
}

#[test]
fn records_encode_as_docs_format_md_says() {
    // The bytes `docs/FORMAT.md` ("Usage log", "Record plaintext") gives for these records.
    let hex = |r: &Record| {
        encode_record(r)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let mut get = event("get", &["a"], 1);
    get.detail = Some("v".into());
    assert_eq!(
        hex(&Record::Event(get.clone())),
        "00000000 0100000000000000 0300000000000000676574 0100000000000000 \
         0100000000000000 61 00 01 0100000000000000 76"
            .replace([' ', '\n'], "")
    );
    let summaries = Record::Summaries(Summaries {
        time: 2,
        unlabelled_dropped: 3,
        labels: vec![Summary {
            label: "a".into(),
            uses: 4,
            last_used: 5,
            dropped: 6,
        }],
    });
    assert_eq!(
        hex(&summaries),
        "01000000 0200000000000000 0300000000000000 0100000000000000 \
         0100000000000000 61 0400000000000000 0500000000000000 0600000000000000"
            .replace([' ', '\n'], "")
    );
    assert_eq!(
        decode_record(&encode_record(&summaries).unwrap()),
        Ok(summaries)
    );
}

/// The whole v3 record in `docs/FORMAT.md` ("A whole record"), made by a Python script from the
/// document alone: the log key derived as documented opens it at index 0 into the documented
/// event, and it frames as one record of 95 bytes.
#[test]
fn the_v3_record_vector_in_format_md_opens() {
    let unhex = |s: &str| -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let data_key: [u8; KEY_LEN] = core::array::from_fn(|i| 0x20 + i as u8);
    let salt: Vec<u8> = (0x40..0x60).collect();
    let log_key = crypto::hkdf_key(&data_key, &salt, crate::format::LOG_INFO);
    assert_eq!(
        log_key[..],
        unhex("20e7c239fa7d7d3c91b6a89979874d5e480765d249533bd15b087742c99405c0")[..]
    );
    let key = LogKey {
        cipher: crypto::Aead::new(&log_key),
        vault_id: core::array::from_fn(|i| i as u8),
        generation: 1,
    };
    assert_eq!(
        key.aad(0),
        unhex("736573616d65207631206c6f67000102030405060708090a0b0c0d0e0f010000000000000000000000")
    );
    let record = unhex(
        "5f000000 0000000000000000 606162636465666768696a6b
         82362c5b0f1ab6af6e3155e79f1e5a6a12a3f88d0f61ce013114826bbd80d7182c488c08b2a268f3a37be083
         8122526cac7b357a69aa0070b960ba862141be9ef80c14 5f000000",
    );
    assert_eq!(record.len(), 95);
    let mut walk = framing::frames(&record);
    let frame = walk.next().unwrap().unwrap();
    assert!(walk.next().is_none());
    let mut get = event("get", &["a"], 1);
    get.detail = Some("v".into());
    assert_eq!(key.open(&frame).ok(), Some(Record::Event(get)));
}

/// `docs/FORMAT.md`, "Record plaintext": an event with an origin is variant 2, the device id
/// and sequence before the event; it reads back with its origin.
#[test]
fn an_event_with_an_origin_encodes_as_a_traced_record() -> Result<()> {
    let mut e = event("get", &["a"], 1);
    e.origin = Some(Origin {
        device: [0x11; 16],
        sequence: 2,
    });
    let bytes = encode_record(&Record::Event(e.clone()))?;
    let mut expected = vec![2, 0, 0, 0];
    expected.extend_from_slice(&[0x11; 16]);
    expected.extend_from_slice(&2u64.to_le_bytes());
    expected.extend_from_slice(&encode_record(&Record::Event(event("get", &["a"], 1)))?[4..]);
    assert_eq!(bytes, expected);
    assert_eq!(decode_record(&bytes).ok(), Some(Record::Event(e)));
    Ok(())
}
