//! The receipt text of SMPP 3.4 Appendix B and the dialects carriers actually send.
//!
//! ```text
//! id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:…
//! ```
//!
//! The appendix calls the format vendor-specific, and carriers take it at its word, so
//! the reader is a tokenizer rather than a pattern:
//!
//! - `text:` (any case) ends the fields; everything after it is the text, colons
//!   and all.
//! - Before it, a word holding a colon starts a field `key:value`; keys are compared
//!   without case, spaces, `_` and `-`, so `submit date`, `Submit_Date` and `submitdate`
//!   are one key. A two-word key is recognised when the word before the colon word
//!   completes it (`submit` + `date:…`).
//! - Words without a colon extend the previous field's value (a vendor field such as
//!   `network:T Mobile`); the known fields use the value's first word.
//! - Fields may come in any order, be missing, or repeat (the first one counts);
//!   unknown keys are kept as vendor extras.

/// The fields read from a receipt text, borrowed from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextFields<'a> {
    /// `id:`.
    pub id: Option<&'a str>,
    /// `sub:` (messages submitted; usually 001).
    pub sub: Option<&'a str>,
    /// `dlvrd:` (messages delivered).
    pub dlvrd: Option<&'a str>,
    /// `submit date:`.
    pub submit_date: Option<&'a str>,
    /// `done date:`.
    pub done_date: Option<&'a str>,
    /// `stat:`.
    pub stat: Option<&'a str>,
    /// `err:`.
    pub err: Option<&'a str>,
    /// Everything after `text:`, when present.
    pub text: Option<&'a str>,
    /// Fields with other keys, as written (at most [`MAX_EXTRAS`]).
    pub extras: Vec<(&'a str, &'a str)>,
}

/// Vendor fields kept at most; a receipt with more is still read.
pub const MAX_EXTRAS: usize = 8;

/// The keys of Appendix B, normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Id,
    Sub,
    Dlvrd,
    SubmitDate,
    DoneDate,
    Stat,
    Err,
    Other,
}

impl Key {
    /// The key a written key names: case, spaces, `_` and `-` ignored.
    fn of(written: &str) -> Key {
        let mut buf = [0u8; 16];
        let mut len = 0;
        for b in written.bytes() {
            if matches!(b, b' ' | b'\t' | b'_' | b'-') {
                continue;
            }
            if len == buf.len() {
                return Key::Other;
            }
            buf[len] = b.to_ascii_lowercase();
            len += 1;
        }
        match &buf[..len] {
            b"id" | b"msgid" | b"messageid" => Key::Id,
            b"sub" => Key::Sub,
            b"dlvrd" | b"dlvd" => Key::Dlvrd,
            b"submitdate" | b"submitdt" => Key::SubmitDate,
            b"donedate" | b"donedt" => Key::DoneDate,
            b"stat" | b"state" | b"status" => Key::Stat,
            b"err" | b"error" => Key::Err,
            _ => Key::Other,
        }
    }

    /// Whether `word` followed by `key` makes a two-word key (`submit` + `date`).
    fn joins(word: &str, key: &str) -> bool {
        (word.eq_ignore_ascii_case("submit") || word.eq_ignore_ascii_case("done"))
            && key.eq_ignore_ascii_case("date")
    }
}

/// Where the `text:` field starts (the offset of its `t`), if there is one: the first
/// `text:` at the start or after whitespace.
fn find_text_key(receipt: &str) -> Option<usize> {
    let bytes = receipt.as_bytes();
    let mut from = 0;
    while let Some(rel) = bytes[from..].iter().position(|&b| b == b':') {
        let colon = from + rel;
        if colon >= 4 && bytes[colon - 4..colon].eq_ignore_ascii_case(b"text") {
            let start = colon - 4;
            if start == 0 || bytes[start - 1].is_ascii_whitespace() {
                return Some(start);
            }
        }
        from = colon + 1;
    }
    None
}

/// One field being read: its key, and its value as a range of the text.
struct Field<'a> {
    key: Key,
    written_key: &'a str,
    value: (usize, usize),
}

/// Reads the fields of a receipt text. Never fails: what is not there is `None`.
pub fn read(receipt: &str) -> TextFields<'_> {
    let (head, text) = match find_text_key(receipt) {
        Some(at) => (&receipt[..at], Some(&receipt[at + 5..])),
        None => (receipt, None),
    };
    let mut out = TextFields {
        text,
        ..TextFields::default()
    };
    let mut current: Option<Field<'_>> = None;
    // The previous colon-free word, and where the current value ended before it was
    // added: a following `date:` may claim it as the first half of its key.
    let mut stray: Option<(&str, usize, usize)> = None;
    for (start, word) in words(head) {
        let end = start + word.len();
        let Some(colon) = word.find(':') else {
            if let Some(field) = current.as_mut() {
                stray = Some((word, start, field.value.1));
                field.value.1 = end;
            } else {
                stray = Some((word, start, start));
            }
            continue;
        };
        let mut key_start = start;
        let key = &word[..colon];
        if let Some((prefix, prefix_start, value_end)) = stray
            && Key::joins(prefix, key)
        {
            key_start = prefix_start;
            if let Some(field) = current.as_mut() {
                field.value.1 = value_end;
            }
        }
        if let Some(field) = current.take() {
            store(&mut out, field, head);
        }
        let written_key = &head[key_start..start + colon];
        current = Some(Field {
            key: Key::of(written_key),
            written_key,
            value: (start + colon + 1, end),
        });
        stray = None;
    }
    if let Some(field) = current.take() {
        store(&mut out, field, head);
    }
    out
}

/// The words of `s` with their offsets.
fn words(s: &str) -> impl Iterator<Item = (usize, &str)> {
    s.split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .map(move |w| (w.as_ptr() as usize - s.as_ptr() as usize, w))
}

fn store<'a>(out: &mut TextFields<'a>, field: Field<'a>, head: &'a str) {
    let whole = head[field.value.0..field.value.1].trim();
    let first = whole.split_ascii_whitespace().next().unwrap_or("");
    let slot = match field.key {
        Key::Id => &mut out.id,
        Key::Sub => &mut out.sub,
        Key::Dlvrd => &mut out.dlvrd,
        Key::SubmitDate => &mut out.submit_date,
        Key::DoneDate => &mut out.done_date,
        Key::Stat => &mut out.stat,
        Key::Err => &mut out.err,
        Key::Other => {
            if out.extras.len() < MAX_EXTRAS {
                out.extras.push((field.written_key, whole));
            }
            return;
        }
    };
    if slot.is_none() {
        *slot = Some(first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appendix_b_reads_every_field() {
        let f = read(
            "id:0123456789 sub:001 dlvrd:001 submit date:2603011345 done date:2603011346 \
             stat:DELIVRD err:000 text:Hello: how are you?",
        );
        assert_eq!(f.id, Some("0123456789"));
        assert_eq!(f.sub, Some("001"));
        assert_eq!(f.dlvrd, Some("001"));
        assert_eq!(f.submit_date, Some("2603011345"));
        assert_eq!(f.done_date, Some("2603011346"));
        assert_eq!(f.stat, Some("DELIVRD"));
        assert_eq!(f.err, Some("000"));
        assert_eq!(f.text, Some("Hello: how are you?"));
        assert!(f.extras.is_empty());
    }

    #[test]
    fn keys_ignore_case_and_order_and_vendors_add_fields() {
        let f =
            read("Stat:UNDELIV ID:ab12 Err:0B1 network:T Mobile US Submit_Date:2603011345 Text:x");
        assert_eq!(f.id, Some("ab12"));
        assert_eq!(f.stat, Some("UNDELIV"));
        assert_eq!(f.err, Some("0B1"));
        assert_eq!(f.submit_date, Some("2603011345"));
        assert_eq!(f.extras, vec![("network", "T Mobile US")]);
        assert_eq!(f.text, Some("x"));
    }

    #[test]
    fn a_word_before_date_joins_its_key_not_the_previous_value() {
        let f = read("id:1 dlvrd:001 done date:2603011346 submit date:2603011345");
        assert_eq!(f.dlvrd, Some("001"));
        assert_eq!(f.done_date, Some("2603011346"));
        assert_eq!(f.submit_date, Some("2603011345"));
    }

    #[test]
    fn truncated_text_keeps_what_arrived() {
        let f = read("id:77 sub:001 dlvrd:000 submit date:2603011345 done da");
        assert_eq!(f.id, Some("77"));
        assert_eq!(f.submit_date, Some("2603011345"));
        assert_eq!(f.done_date, None);
        assert_eq!(f.stat, None);
    }

    #[test]
    fn text_key_is_only_found_at_a_word_start() {
        let f = read("id:1 context:a stat:DELIVRD");
        assert_eq!(f.text, None);
        assert_eq!(f.extras, vec![("context", "a")]);
        assert_eq!(find_text_key("text:"), Some(0));
        assert_eq!(read("id:1 text:").text, Some(""));
    }

    #[test]
    fn empty_values_and_repeats() {
        let f = read("id: stat:DELIVRD stat:UNDELIV err:");
        assert_eq!(f.id, Some(""));
        assert_eq!(f.stat, Some("DELIVRD"));
        assert_eq!(f.err, Some(""));
    }
}
