//! Smart encoding: typographic look-alikes that word processors and phones insert (curly
//! quotes, dashes, ellipsis, odd spaces) replaced by plain GSM characters. One curly quote
//! would otherwise turn a whole message into UCS-2 and more than double its segments.

use serde::Serialize;

/// One kind of character smart encoding replaced, and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replacement {
    /// The character the agent typed.
    pub original: char,
    /// What was sent instead (possibly empty, for invisible characters).
    pub replacement: &'static str,
    /// How many times it occurred.
    pub count: usize,
}

/// The GSM replacement of a look-alike, `None` for every other character.
pub fn replacement(c: char) -> Option<&'static str> {
    Some(match c {
        // Single quotes, primes and accents used as apostrophes.
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{2035}'
        | '\u{00B4}' | '\u{02B9}' | '\u{02BC}' | '\u{02C8}' | '\u{FF07}' => "'",
        // Double quotes and guillemets.
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{2036}'
        | '\u{00AB}' | '\u{00BB}' | '\u{FF02}' => "\"",
        '\u{2039}' => "<",
        '\u{203A}' => ">",
        // Hyphens, dashes and the minus sign.
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
        | '\u{2212}' | '\u{FE58}' | '\u{FF0D}' => "-",
        '\u{2026}' => "...",
        '\u{2022}' | '\u{2043}' => "-",
        // Spaces of other widths, including the no-break ones.
        '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        // Invisible characters with nothing to show.
        '\u{00AD}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}' => "",
        '\u{02C6}' => "^",
        '\u{02DC}' => "~",
        '\u{2024}' => ".",
        '\u{FF0C}' => ",",
        '\u{FF1A}' => ":",
        '\u{FF1B}' => ";",
        '\u{FF01}' => "!",
        '\u{FF1F}' => "?",
        _ => return None,
    })
}

/// The text with every look-alike replaced, and what was replaced; `None` when the text
/// has none.
pub fn substitute(text: &str) -> Option<(String, Vec<Replacement>)> {
    if !text.chars().any(|c| replacement(c).is_some()) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut replaced: Vec<Replacement> = Vec::new();
    for c in text.chars() {
        match replacement(c) {
            Some(r) => {
                out.push_str(r);
                match replaced.iter_mut().find(|x| x.original == c) {
                    Some(x) => x.count += 1,
                    None => replaced.push(Replacement {
                        original: c,
                        replacement: r,
                        count: 1,
                    }),
                }
            }
            None => out.push(c),
        }
    }
    Some((out, replaced))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_quotes_dashes_and_ellipsis() {
        let (text, replaced) =
            substitute("It\u{2019}s \u{201C}done\u{201D} \u{2014} ok\u{2026}").unwrap();
        assert_eq!(text, "It's \"done\" - ok...");
        assert_eq!(replaced.len(), 5);
        assert_eq!(
            replaced[1],
            Replacement {
                original: '\u{201C}',
                replacement: "\"",
                count: 1
            }
        );
    }

    #[test]
    fn plain_text_is_left_alone() {
        assert_eq!(substitute("plain 'text' - ok"), None);
    }
}
