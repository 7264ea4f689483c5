//! Text from outside sesame made safe to print on a terminal: file and git paths, program names,
//! import file names. Such a name can hold a newline (which forges an extra output line) or an
//! escape sequence (which moves the cursor, rewrites the screen or the title); printed raw, a
//! file name alone could make `scan` or `log` show lines sesame never wrote. Every human output
//! that prints such a name goes through [`printable`] (JSON output is escaped by its encoder).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

/// True for the characters a terminal acts on instead of showing: C0 controls (newline, escape,
/// carriage return, backspace, tab…), DEL, C1 controls (U+0080–U+009F, among them CSI and OSC),
/// the Unicode line and paragraph separators, and the bidirectional controls that reorder how
/// a line reads (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
pub fn is_terminal_control(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{2028}' | '\u{2029}'
        | '\u{061c}' | '\u{200e}' | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// `text` with every [`is_terminal_control`] character written as an escape: `\n`, `\r`, `\t`,
/// `\x1b` for the others below U+0080, `\u{9b}` above. Borrowed when nothing needed escaping.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_terminal_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_terminal_control(c) && u32::from(c) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_terminal_control(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`printable`] `text`, cut to at most `max` characters with `…` marking the cut: for text from
/// input quoted in a message or the usage log, which must not grow with the input.
pub fn cut(text: &str, max: usize) -> String {
    let shown = printable(text);
    if shown.chars().nth(max).is_none() {
        return shown.into_owned();
    }
    let mut out: String = shown.chars().take(max).collect();
    out.push('…');
    out
}

/// A path as a human line shows it: [`Path::display`] (invalid UTF-8 as U+FFFD), then
/// [`printable`].
pub fn path(path: &Path) -> String {
    printable(&path.display().to_string()).into_owned()
}

/// `path` as one word a shell reads back unchanged (quoted when it needs to be).
pub(crate) fn shell_word(path: &Path) -> String {
    let text = self::path(path);
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_input_is_cut_to_its_bound() {
        assert_eq!(cut("short", 40), "short");
        assert_eq!(cut(&"a".repeat(41), 40), format!("{}…", "a".repeat(40)));
        assert_eq!(cut("a\nb", 3), "a\\n…");
    }

    #[test]
    fn control_characters_are_escaped_and_other_text_is_kept() {
        assert_eq!(printable("src/app.py"), "src/app.py");
        assert_eq!(printable("naïve/日本.txt"), "naïve/日本.txt");
        assert_eq!(
            printable("a\nb:1:1: x\r\t\x1b[2J\x07\x7f"),
            "a\\nb:1:1: x\\r\\t\\x1b[2J\\x07\\x7f"
        );
        assert_eq!(printable("\u{9b}31m\u{85}"), "\\u{9b}31m\\u{85}");
        assert_eq!(printable("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(printable("\u{2028}"), "\\u{2028}");
        // The escaped form holds no control character itself.
        let all: String = (0u32..0x30000).filter_map(char::from_u32).collect();
        assert!(!printable(&all).chars().any(is_terminal_control));
    }
}
