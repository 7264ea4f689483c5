//! What the usage log adds up to: use counts per label (following renames, ending with `rm`),
//! and compaction, which keeps the newest events per label and folds the rest into summaries.

use std::collections::{BTreeMap, HashMap};

use super::{Event, Record, Summaries, Summary};

/// Uses (`run`, `get`) of one label: how many, and the newest (Unix seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uses {
    /// How many times the secret was used (`run`, `get`).
    pub count: u64,
    /// The newest use, in Unix seconds; 0 when there is none.
    pub last: i64,
}

/// Per label: its uses, following renames (`edit` from → to) and ending with `rm`. The last
/// summaries give the counts as of their place; the events after them add to those.
pub fn uses_by_label(records: &[Record]) -> HashMap<String, Uses> {
    let mut uses: HashMap<String, Uses> = HashMap::new();
    let start = match records
        .iter()
        .rposition(|r| matches!(r, Record::Summaries(_)))
    {
        Some(at) => {
            if let Record::Summaries(s) = &records[at] {
                for summary in s.labels.iter().filter(|s| s.uses > 0) {
                    uses.insert(
                        summary.label.clone(),
                        Uses {
                            count: summary.uses,
                            last: summary.last_used,
                        },
                    );
                }
            }
            at + 1
        }
        None => 0,
    };
    for record in &records[start..] {
        if let Record::Event(event) = record {
            count_use(&mut uses, event);
        }
    }
    uses
}

fn count_use(uses: &mut HashMap<String, Uses>, event: &Event) {
    match (event.action.as_str(), &event.labels[..]) {
        ("run" | "get" | "inject" | "git-get" | "docker-get", labels) => {
            for label in labels {
                let entry = uses.entry(label.clone()).or_insert(Uses {
                    count: 0,
                    last: event.time,
                });
                entry.count += 1;
                entry.last = entry.last.max(event.time);
            }
        }
        // Uses follow a rename, and end with the secret.
        ("edit", [from, to]) => {
            if let Some(entry) = uses.remove(from) {
                uses.insert(to.clone(), entry);
            }
        }
        ("rm", [label]) => {
            uses.remove(label);
        }
        _ => {}
    }
}

/// Per label: when its server last refused it (`git-reject`, git's `erase` after a refused
/// login), unless a later event gave it a value the server may accept or saw it accepted
/// (`add`, `rotate`, `rollback`, `git-store`, `docker-store`); renames followed, `rm` ends it.
/// Read from the events after the last summaries (compaction keeps each label's newest events,
/// and a refused token is refused, and recorded, again at each use).
pub fn rejected_by_label(records: &[Record]) -> HashMap<String, i64> {
    let mut rejected: HashMap<String, i64> = HashMap::new();
    for record in records {
        let Record::Event(event) = record else {
            continue;
        };
        match (event.action.as_str(), &event.labels[..]) {
            ("git-reject", labels) => {
                for label in labels {
                    rejected.insert(label.clone(), event.time);
                }
            }
            ("add" | "rotate" | "rollback" | "git-store" | "docker-store" | "rm", labels) => {
                for label in labels {
                    rejected.remove(label);
                }
            }
            ("edit", [from, to]) => {
                if let Some(time) = rejected.remove(from) {
                    rejected.insert(to.clone(), time);
                }
            }
            _ => {}
        }
    }
    rejected
}

// ---- compaction ----

/// Compacts `records` (a whole log, oldest first): keeps the newest `keep` events naming each label
/// (and the newest `keep` naming none), in their order, then one [`Summaries`] record holding the
/// use counts of everything before it and how many events were removed.
pub fn compact(records: &[Record], keep: usize, now: i64) -> Vec<Record> {
    let previous = records.iter().rev().find_map(|r| match r {
        Record::Summaries(s) => Some(s),
        Record::Event(_) => None,
    });
    let mut dropped: BTreeMap<&str, u64> = BTreeMap::new();
    let mut unlabelled_dropped = previous.map_or(0, |p| p.unlabelled_dropped);
    if let Some(p) = previous {
        for s in &p.labels {
            dropped.insert(&s.label, s.dropped);
        }
    }
    let events: Vec<&Event> = records
        .iter()
        .filter_map(|r| match r {
            Record::Event(e) => Some(e),
            Record::Summaries(_) => None,
        })
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut unlabelled_seen = 0usize;
    let mut kept = vec![false; events.len()];
    for (i, event) in events.iter().enumerate().rev() {
        let wanted = if event.labels.is_empty() {
            unlabelled_seen < keep
        } else {
            event
                .labels
                .iter()
                .any(|l| seen.get(l.as_str()).copied().unwrap_or(0) < keep)
        };
        // Counted once per event, however often it names a label.
        let mut labels: Vec<&str> = event.labels.iter().map(String::as_str).collect();
        labels.sort_unstable();
        labels.dedup();
        if wanted {
            kept[i] = true;
            if labels.is_empty() {
                unlabelled_seen += 1;
            }
            for l in labels {
                *seen.entry(l).or_insert(0) += 1;
            }
        } else if labels.is_empty() {
            unlabelled_dropped += 1;
        } else {
            for l in labels {
                *dropped.entry(l).or_insert(0) += 1;
            }
        }
    }
    let uses = uses_by_label(records);
    let mut lines: BTreeMap<&str, Summary> = BTreeMap::new();
    for (label, u) in &uses {
        lines.insert(
            label,
            Summary {
                label: label.clone(),
                uses: u.count,
                last_used: u.last,
                dropped: 0,
            },
        );
    }
    for (label, n) in dropped {
        lines
            .entry(label)
            .or_insert_with(|| Summary {
                label: label.to_string(),
                uses: 0,
                last_used: 0,
                dropped: 0,
            })
            .dropped = n;
    }
    let mut out: Vec<Record> = events
        .iter()
        .zip(&kept)
        .filter(|(_, k)| **k)
        .map(|(e, _)| Record::Event((*e).clone()))
        .collect();
    out.push(Record::Summaries(Summaries {
        time: now,
        unlabelled_dropped,
        labels: lines.into_values().collect(),
    }));
    out
}
