//! What commands print on stdout, and how: one writer that ends quietly when the reader goes
//! away, JSON, and the tables of the human output (names from outside escaped in every cell).

use crate::error::{Error, Result};

/// Pretty JSON on stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| crate::Error::io("cannot render JSON", std::io::Error::other(e)))?;
    text.push('\n');
    write_stdout(text.as_bytes())
}

/// Every byte a command prints on stdout goes through here. A reader that went away (EPIPE:
/// `sesame list | head -1`, a pager quit early) ends the output quietly, as it ends `cat`'s:
/// what is left is not printed, nothing is said, and the command finishes with its own exit code
/// (`println!` panicked instead, exit 101). Any other write error is reported.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("cannot write to stdout", e))
        }
        _ => Ok(()),
    }
}

/// `println!` through [`write_stdout`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::output::write_stdout(format!("{}\n", format_args!($($arg)*)).as_bytes())
    };
}
pub(crate) use outln;

/// Colours for tables: only when stdout is a terminal and `NO_COLOR` is not set (no-color.org).
fn colour_on() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

/// Left-aligned columns separated by two spaces, trailing spaces trimmed. On a colour terminal
/// the header is bold and an `OVERDUE` cell red; widths are counted on the plain text.
pub(crate) fn render_table(header: &[&str], rows: &[Vec<String>]) -> String {
    render_table_styled(header, rows, colour_on())
}

fn render_table_styled(header: &[&str], rows: &[Vec<String>], colour: bool) -> String {
    // A cell can quote a name from outside (a path, a program): no control character reaches
    // the terminal, and none breaks the table into forged rows.
    let rows: Vec<Vec<std::borrow::Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|c| crate::printable::printable(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    // Written straight into one string (a `log` of 10,000 rows is rendered in a few ms).
    let mut out = String::with_capacity((rows.len() + 1) * (widths.iter().sum::<usize>() + 8));
    let mut line = |cells: &mut dyn Iterator<Item = &str>, is_header: bool| {
        let start = out.len();
        for (i, (cell, width)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let style = match () {
                _ if !colour || cell.is_empty() => None,
                _ if is_header => Some(BOLD),
                _ if cell.starts_with("OVERDUE") => Some(RED),
                _ => None,
            };
            match style {
                Some(style) => {
                    out.push_str(style);
                    out.push_str(cell);
                    out.push_str(RESET);
                }
                None => out.push_str(cell),
            }
            let pad = width.saturating_sub(cell.chars().count());
            out.extend(std::iter::repeat_n(' ', pad));
        }
        let kept = out[start..].trim_end().len();
        out.truncate(start + kept);
        out.push('\n');
    };
    line(&mut header.iter().copied(), true);
    for row in &rows {
        line(&mut row.iter().map(|c| c.as_ref()), false);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn tables_are_coloured_only_when_asked_and_keep_their_columns() {
        let rows = vec![
            vec!["a".to_string(), "OVERDUE 2026-01-01".to_string()],
            vec!["long-label".to_string(), "-".to_string()],
        ];
        let plain = super::render_table_styled(&["LABEL", "DUE"], &rows, false);
        assert!(!plain.contains('\x1b'));
        let coloured = super::render_table_styled(&["LABEL", "DUE"], &rows, true);
        assert!(coloured.contains("\x1b[1mLABEL\x1b[0m"));
        assert!(coloured.contains("\x1b[31mOVERDUE 2026-01-01\x1b[0m"));
        let stripped = coloured
            .replace(super::BOLD, "")
            .replace(super::RED, "")
            .replace(super::RESET, "");
        assert_eq!(stripped, plain);
    }
}
