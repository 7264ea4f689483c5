//! Keyboard walks (qwerty, 1qaz2wsx, 7896321): runs of three or more keys, each next to the one
//! before on one of the four layouts, counted with their turns and shifted keys.

use super::parts::{Match, Pattern};
use super::words::Graph;

/// Characters typed with shift on the two keyboards, as zxcvbn's Rust port lists them (its
/// list also holds `[` and `]`, kept here so the two estimates agree).
const SHIFTED: &str = "[~!@#$%^&*()_+QWERTYUIOP{}|ASDFGHJKL:\"ZXCVBNM<>?]";

/// Adds each maximal walk of `text` on `graph`, left to right without overlap.
pub(super) fn walks(text: &[char], graph: &Graph, found: &mut Vec<Match>) {
    let n = text.len();
    if n <= 2 {
        return;
    }
    let mut start = 0;
    while start < n - 1 {
        let mut end = start + 1;
        let mut direction = None;
        let mut turns = 0;
        let mut shifted = usize::from(graph.layout.is_keyboard() && SHIFTED.contains(text[start]));
        loop {
            let step = text
                .get(end)
                .and_then(|next| step(graph, text[end - 1], *next));
            let Some((toward, with_shift)) = step else {
                break;
            };
            if with_shift {
                shifted += 1;
            }
            // Every walk starts with a turn: the first step sets a direction.
            if direction != Some(toward) {
                turns += 1;
                direction = Some(toward);
            }
            end += 1;
        }
        if end - start > 2 {
            found.push(Match {
                i: start,
                j: end - 1,
                pattern: Pattern::Walk {
                    layout: graph.layout,
                    turns,
                    shifted,
                },
            });
        }
        start = end;
    }
}

/// The direction from `from` to its neighbour `to`, and whether `to` is its key's shifted
/// character; `None` if they are not neighbours.
fn step(graph: &Graph, from: char, to: char) -> Option<(usize, bool)> {
    graph
        .neighbours(from)
        .iter()
        .enumerate()
        .find_map(|(direction, key)| {
            let position = (*key)?.chars().position(|c| c == to)?;
            Some((direction, position == 1))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strength::words::Layout;

    fn walks_in(text: &str, layout: Layout) -> Vec<(usize, usize, usize, usize)> {
        let chars: Vec<char> = text.chars().collect();
        let mut found = Vec::new();
        walks(&chars, &Graph::load(layout), &mut found);
        found
            .into_iter()
            .filter_map(|m| match m.pattern {
                Pattern::Walk { turns, shifted, .. } => Some((m.i, m.j, turns, shifted)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn walks_count_turns_and_shifted_keys() {
        assert_eq!(walks_in("qwerty", Layout::Qwerty), [(0, 5, 1, 0)]);
        assert_eq!(
            walks_in("1qaz2wsx", Layout::Qwerty),
            [(0, 3, 1, 0), (4, 7, 1, 0)]
        );
        assert_eq!(walks_in("QWErty", Layout::Qwerty), [(0, 5, 1, 3)]);
        assert_eq!(walks_in("xxqwe", Layout::Qwerty), [(2, 4, 1, 0)]);
        assert_eq!(walks_in("qw", Layout::Qwerty), []);
        assert_eq!(walks_in("aoeu", Layout::Dvorak), [(0, 3, 1, 0)]);
        assert_eq!(walks_in("7896321", Layout::Keypad), [(0, 6, 3, 0)]);
        assert_eq!(walks_in("qwerty", Layout::Keypad), []);
    }
}
