//! The dotenv dialect sesame reads (`import --dotenv`) and writes (`export --dotenv`).
//!
//! It accepts what the common parsers (motdotla/dotenv, python-dotenv, docker compose) agree on:
//! a UTF-8 BOM, CRLF, `#` comments (whole-line, and after a blank in an unquoted value), `export `
//! or `export<TAB>`, single quotes (literal), double quotes (`\n \r \t \" \\` escapes) and quoted
//! values spanning lines (PEM keys). No variable expansion: `$X` stays `$X`. The text being parsed
//! holds secrets, so it and every value live in zeroizing buffers, and errors name a line, never
//! a value. `docs/CLI.md` ("dotenv files") states the same rules for users.

use zeroize::Zeroizing;

/// Longest dotenv file `import` reads: 16 MiB, some 400,000 lines of API keys (a `.env` is
/// small; this also bounds what a mistaken path costs before it is refused).
pub const MAX_DOTENV_LEN: u64 = 16 * 1024 * 1024;

/// One `NAME=value` line (or several, for a quoted multi-line value).
pub struct Entry {
    /// The variable name as written (not yet checked as an [`EnvName`](crate::names::EnvName)).
    pub name: String,
    /// The value with its quotes removed and its escapes (double quotes only) resolved.
    pub value: Zeroizing<String>,
    /// 1-based line where the entry starts.
    pub line: usize,
}

/// What a file held: its entries in order, and notes worth a warning (duplicates).
pub struct Parsed {
    /// The entries, in file order.
    pub entries: Vec<Entry>,
    /// Sentences for the user, e.g. a name given twice.
    pub warnings: Vec<String>,
}

/// Why a line cannot be read; the caller adds the file name.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The 1-based line that cannot be read.
    pub line: usize,
    /// What is wrong with it, e.g. an unterminated quote.
    pub reason: String,
}

/// True for `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses a dotenv text. A name given twice keeps its last value, with a warning.
pub fn parse(text: &str) -> Result<Parsed, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut entries: Vec<Entry> = Vec::new();
    // Name → index in `entries`, so a 10,000-line file is not compared line by line.
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut warnings = Vec::new();
    let mut rest = text;
    let mut line = 1usize;
    while !rest.is_empty() {
        let (raw, after) = split_line(rest);
        let start = line;
        line += 1;
        rest = after;
        let trimmed = raw.trim_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = strip_export(trimmed);
        let bad = |reason: &str| ParseError {
            line: start,
            reason: reason.to_string(),
        };
        let (name, value_start) = body
            .split_once('=')
            .ok_or_else(|| bad("no `=`; each line must be NAME=value"))?;
        let name = name.trim_end_matches([' ', '\t']);
        if !is_name(name) {
            return Err(bad(
                "the name must be letters, digits and _, not starting with a digit",
            ));
        }
        let value_start = value_start.trim_start_matches([' ', '\t']);
        let value = match value_start.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                // The quoted value may run over several lines: parse from here in the whole text.
                let (value, consumed_lines, tail) =
                    quoted(&value_start[1..], after, quote).map_err(|reason| bad(&reason))?;
                line += consumed_lines;
                rest = tail.1;
                let trailing = tail.0.trim_matches([' ', '\t']);
                if !(trailing.is_empty() || trailing.starts_with('#')) {
                    return Err(bad("unexpected text after the closing quote"));
                }
                value
            }
            _ => Zeroizing::new(unquoted(value_start).to_string()),
        };
        let entry = Entry {
            name: name.to_string(),
            value,
            line: start,
        };
        match index.get(name) {
            Some(&at) => {
                warnings.push(format!(
                    "line {start}: {name} was already set on line {}; the later value wins",
                    entries[at].line
                ));
                // Keep the first position so the file's order is kept; the later value wins.
                entries[at] = entry;
            }
            None => {
                index.insert(name.to_string(), entries.len());
                entries.push(entry);
            }
        }
    }
    Ok(Parsed { entries, warnings })
}

/// The first line of `text` (without `\n` or `\r\n`) and what follows it.
fn split_line(text: &str) -> (&str, &str) {
    let (line, rest) = match text.find('\n') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    };
    (line.strip_suffix('\r').unwrap_or(line), rest)
}

fn strip_export(line: &str) -> &str {
    match line.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start_matches([' ', '\t']),
        _ => line,
    }
}

/// An unquoted value: up to a `#` that follows a blank, trailing blanks trimmed.
fn unquoted(value: &str) -> &str {
    let bytes = value.as_bytes();
    let end = (0..bytes.len())
        .find(|&i| bytes[i] == b'#' && i > 0 && matches!(bytes[i - 1], b' ' | b'\t'))
        .unwrap_or(bytes.len());
    value[..end].trim_end_matches([' ', '\t'])
}

/// A quoted value starting just after its opening quote, in `first` (the rest of its line) and
/// maybe `more` (the following lines). Returns the value, how many extra lines it took, and
/// (the rest of the closing line after the quote, the text after that line).
#[allow(clippy::type_complexity)]
fn quoted<'a>(
    first: &'a str,
    more: &'a str,
    quote: char,
) -> Result<(Zeroizing<String>, usize, (&'a str, &'a str)), String> {
    let mut value = Zeroizing::new(String::new());
    let mut segment = first;
    let mut remaining = more;
    let mut extra_lines = 0;
    loop {
        let mut chars = segment.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                return Ok((value, extra_lines, (&segment[i + 1..], remaining)));
            }
            if c == '\\' && quote == '"' {
                match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, 'r')) => value.push('\r'),
                    Some((_, 't')) => value.push('\t'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, other)) => {
                        value.push('\\');
                        value.push(other);
                    }
                    None => value.push('\\'),
                }
                continue;
            }
            value.push(c);
        }
        if remaining.is_empty() {
            return Err(format!("the {quote}-quoted value is never closed"));
        }
        value.push('\n');
        let (next, after) = split_line(remaining);
        segment = next;
        remaining = after;
        extra_lines += 1;
    }
}

/// One `NAME=value` line that [`parse`] reads back as `value`: single quotes when the value has
/// no `'` and no line break (literal in every dotenv dialect), else double quotes with escapes.
pub fn format_entry(name: &str, value: &str) -> Zeroizing<String> {
    let mut line = Zeroizing::new(String::with_capacity(name.len() + value.len() + 4));
    line.push_str(name);
    line.push('=');
    if !value.contains(['\'', '\n', '\r']) {
        line.push('\'');
        line.push_str(value);
        line.push('\'');
    } else {
        line.push('"');
        for c in value.chars() {
            match c {
                '\n' => line.push_str("\\n"),
                '\r' => line.push_str("\\r"),
                '"' => line.push_str("\\\""),
                '\\' => line.push_str("\\\\"),
                other => line.push(other),
            }
        }
        line.push('"');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(String, String)> {
        match parse(text) {
            Ok(p) => p
                .entries
                .iter()
                .map(|e| (e.name.clone(), e.value.to_string()))
                .collect(),
            Err(e) => panic!("line {}: {}", e.line, e.reason),
        }
    }

    fn pair(n: &str, v: &str) -> (String, String) {
        (n.to_string(), v.to_string())
    }

    #[test]
    fn the_forms_people_write_are_read() {
        let text = "\u{feff}# comment\r\nA=plain\r\nexport B=two words # note\n\
                    export\tC='single # not a comment'\nD=\"line\\nbreak \\\"q\\\"\"\n\
                    E=\nF = spaced \nlower_case=x#y\n";
        assert_eq!(
            values(text),
            vec![
                pair("A", "plain"),
                pair("B", "two words"),
                pair("C", "single # not a comment"),
                pair("D", "line\nbreak \"q\""),
                pair("E", ""),
                pair("F", "spaced"),
                pair("lower_case", "x#y"),
            ]
        );
    }

    #[test]
    fn quoted_values_may_span_lines() {
        let text = "KEY=\"-----BEGIN KEY-----\nabc\n-----END KEY-----\"\nNEXT=1\n";
        assert_eq!(
            values(text),
            vec![
                pair("KEY", "-----BEGIN KEY-----\nabc\n-----END KEY-----"),
                pair("NEXT", "1")
            ]
        );
        let lines = parse(text).map(|p| p.entries[1].line).ok();
        assert_eq!(lines, Some(4));
    }

    #[test]
    fn a_repeated_name_keeps_the_last_value_with_a_warning() {
        let parsed = parse("A=1\nA=2\n").ok();
        let parsed = parsed.as_ref();
        assert_eq!(parsed.map(|p| p.entries.len()), Some(1));
        assert_eq!(parsed.map(|p| p.entries[0].value.as_str()), Some("2"));
        assert_eq!(parsed.map(|p| p.warnings.len()), Some(1));
    }

    #[test]
    fn errors_name_the_line_and_never_the_value() {
        for (text, line) in [
            ("A=1\nnot a line\n", 2),
            ("1A=x\n", 1),
            ("A=\"sk-open\n", 1),
            ("A='x' trailing\n", 1),
        ] {
            match parse(text) {
                Err(e) => {
                    assert_eq!(e.line, line, "{text:?}");
                    assert!(!e.reason.contains("sk-open"));
                }
                Ok(_) => panic!("{text:?} should be refused"),
            }
        }
    }

    #[test]
    fn formatted_entries_read_back_exactly() {
        for value in [
            "plain",
            "it's",
            "a\nb",
            "back\\slash \"q\"",
            "$HOME #x",
            " pad ",
            "",
        ] {
            let line = format_entry("K", value);
            assert_eq!(
                values(&line),
                vec![pair("K", value)],
                "{line:?}",
                line = &*line
            );
        }
    }
}
