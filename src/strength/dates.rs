//! Years (1900-2099) and dates (1191, 11/11/91, 1991-11-11, 31.12.2024): a day, a month and a
//! two- or four-digit year, with no separator or the same one twice.

use super::parts::{Match, Pattern};

/// Adds every four-digit run 19xx or 20xx, left to right without overlap.
pub(super) fn years(text: &[char], reference_year: i32, found: &mut Vec<Match>) {
    let mut at = 0;
    while at + 4 <= text.len() {
        let digits = &text[at..at + 4];
        let century = matches!(digits[..2], ['1', '9'] | ['2', '0']);
        match (century, number(&digits[2..])) {
            (true, Some(year)) => {
                found.push(Match {
                    i: at,
                    j: at + 3,
                    pattern: Pattern::Year {
                        years_away: years_away(
                            if digits[0] == '1' { 1900 } else { 2000 } + i32::from(year),
                            reference_year,
                        ),
                    },
                });
                at += 4;
            }
            _ => at += 1,
        }
    }
}

fn years_away(year: i32, reference_year: i32) -> u32 {
    year.abs_diff(reference_year)
}

/// The value of a run of ASCII digits; `None` if `digits` is empty, holds anything else, or is
/// longer than four digits.
fn number(digits: &[char]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 4 {
        return None;
    }
    digits.iter().try_fold(0u16, |value, c| {
        // `to_digit` takes ASCII digits only, as the expressions' [0-9] does.
        let digit = u16::try_from(c.to_digit(10)?).ok()?;
        Some(value * 10 + digit)
    })
}

/// How an undivided run of 4 to 8 digits splits into three numbers: the ends of the first and
/// second numbers (1191 is 1 1 91 or 91 1 1; 11111991 is 11 11 1991 or 1991 11 11).
fn splits(len: usize) -> &'static [(usize, usize)] {
    match len {
        4 => &[(1, 2), (2, 3)],
        5 => &[(1, 3), (2, 3)],
        6 => &[(1, 2), (2, 4), (4, 5)],
        7 => &[(1, 3), (2, 3), (4, 5), (4, 6)],
        8 => &[(2, 4), (4, 6)],
        _ => &[],
    }
}

/// Adds every date in `text`, then drops those inside a longer one.
pub(super) fn dates(text: &[char], reference_year: i32, found: &mut Vec<Match>) {
    let mut dates: Vec<Match> = Vec::new();
    let n = text.len();
    // Without separators: 4 to 8 digits, read the way that puts the year nearest the reference.
    for i in 0..n.saturating_sub(3) {
        for j in i + 3..(i + 8).min(n) {
            let run = &text[i..=j];
            if !run.iter().all(char::is_ascii_digit) {
                continue;
            }
            let mut best: Option<(i32, i32)> = None;
            for &(first, second) in splits(run.len()) {
                let (Some(a), Some(b), Some(c)) = (
                    number(&run[..first]),
                    number(&run[first..second]),
                    number(&run[second..]),
                ) else {
                    continue;
                };
                if let Some(year) = year_of(a, b, c) {
                    let distance = (year - reference_year).abs();
                    if best.is_none_or(|(_, nearest)| distance < nearest) {
                        best = Some((year, distance));
                    }
                }
            }
            if let Some((year, _)) = best {
                dates.push(date(i, j, years_away(year, reference_year), false));
            }
        }
    }
    // With separators: 1-4 digits, a separator, 1-2 digits, the same separator, 1-4 digits.
    for i in 0..n.saturating_sub(5) {
        for j in i + 5..(i + 10).min(n) {
            if let Some(year) = separated_year(&text[i..=j]) {
                dates.push(date(i, j, years_away(year, reference_year), true));
            }
        }
    }
    for (index, candidate) in dates.iter().enumerate() {
        let inside_another = dates.iter().enumerate().any(|(other, outer)| {
            other != index
                && (outer.i, outer.j) != (candidate.i, candidate.j)
                && outer.i <= candidate.i
                && outer.j >= candidate.j
        });
        if !inside_another {
            found.push(*candidate);
        }
    }
}

fn date(i: usize, j: usize, years_away: u32, separated: bool) -> Match {
    Match {
        i,
        j,
        pattern: Pattern::Date {
            years_away,
            separated,
        },
    }
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '/' | '\\' | '_' | '.' | '-')
}

/// The year of `run` if it is a date written with two equal separators.
fn separated_year(run: &[char]) -> Option<i32> {
    let digits = |from: usize| {
        from + run[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let first_end = digits(0);
    let separator = *run.get(first_end)?;
    let second_end = digits(first_end + 1);
    let third_end = digits(second_end.checked_add(1).filter(|&k| k <= run.len())?);
    if !is_separator(separator)
        || run.get(second_end) != Some(&separator)
        || third_end != run.len()
        || second_end - (first_end + 1) > 2
    {
        return None;
    }
    year_of(
        number(&run[..first_end])?,
        number(&run[first_end + 1..second_end])?,
        number(&run[second_end + 1..])?,
    )
}

const MIN_YEAR: u16 = 1000;
const MAX_YEAR: u16 = 2050;

/// The year, if three numbers can be a day, a month and a year in some order (the year first
/// or last; a four-digit year wins; a two-digit year is 19xx above 50, else 20xx). Like
/// zxcvbn, this does not know month lengths: 31 February passes.
fn year_of(first: u16, second: u16, third: u16) -> Option<i32> {
    if second > 31 || second == 0 {
        return None;
    }
    let numbers = [first, second, third];
    if numbers
        .iter()
        .any(|&n| (n > 99 && n < MIN_YEAR) || n > MAX_YEAR)
    {
        return None;
    }
    let over_31 = numbers.iter().filter(|&&n| n > 31).count();
    let over_12 = numbers.iter().filter(|&&n| n > 12).count();
    let zeros = numbers.iter().filter(|&&n| n == 0).count();
    if over_31 >= 2 || over_12 == 3 || zeros >= 2 {
        return None;
    }
    let readings = [(third, first, second), (first, second, third)];
    for (year, a, b) in readings {
        if (MIN_YEAR..=MAX_YEAR).contains(&year) {
            // A four-digit year with no day and month beside it is not a date.
            return is_day_and_month(a, b).then_some(i32::from(year));
        }
    }
    readings
        .into_iter()
        .find(|&(_, a, b)| is_day_and_month(a, b))
        .map(|(year, _, _)| i32::from(two_digit_year(year)))
}

fn is_day_and_month(a: u16, b: u16) -> bool {
    let day_month = |day: u16, month: u16| (1..=31).contains(&day) && (1..=12).contains(&month);
    day_month(a, b) || day_month(b, a)
}

fn two_digit_year(year: u16) -> u16 {
    match year {
        100.. => year,
        51..=99 => year + 1900,
        _ => year + 2000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    fn dates_in(text: &str) -> Vec<(usize, usize, i32, bool)> {
        let mut found = Vec::new();
        dates(&chars(text), 2026, &mut found);
        found
            .into_iter()
            .filter_map(|m| match m.pattern {
                Pattern::Date {
                    years_away,
                    separated,
                } => Some((m.i, m.j, 2026 - years_away as i32, separated)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn dates_are_read_with_and_without_separators() {
        // 1 1 91 and 11 9 1 are both dates: the year nearer the reference wins.
        assert_eq!(dates_in("1191"), [(0, 3, 2001, false)]);
        assert_eq!(dates_in("111504"), [(0, 5, 2004, false)]);
        assert_eq!(dates_in("13/12/1990"), [(0, 9, 1990, true)]);
        assert_eq!(dates_in("1990-12-31"), [(0, 9, 1990, true)]);
        assert_eq!(dates_in("1 1 91"), [(0, 5, 1991, true)]);
        assert_eq!(dates_in("1/1-91"), []);
        assert_eq!(dates_in("0000"), []);
        assert_eq!(dates_in("9999"), [(0, 3, 1999, false)]);
        assert_eq!(dates_in("2/31/1111x"), [(0, 8, 1111, true)]);
    }

    #[test]
    fn years_are_nineteen_or_twenty_hundreds() {
        let mut found = Vec::new();
        years(&chars("x19992024201"), 2026, &mut found);
        let spans: Vec<(usize, usize)> = found.iter().map(|m| (m.i, m.j)).collect();
        assert_eq!(spans, [(1, 4), (5, 8)]);
        assert!(number(&chars("١٢")).is_none());
    }
}
