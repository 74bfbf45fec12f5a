//! Configuration errors that point at the file, line, column and key.
//!
//! Every error carries a key path in the form operators read in the file
//! (`carriers[1].window`). Deserialisation errors come with a byte span from the TOML
//! parser; validation errors only know their key path, and [`Locator`] turns that path
//! back into a position by walking the spanned document.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

/// One thing wrong with a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the error is in.
    pub file: PathBuf,
    /// 1-based line, when the error can be placed.
    pub line: Option<usize>,
    /// 1-based column (in characters), when the error can be placed.
    pub column: Option<usize>,
    /// The key path, e.g. `carriers[1].window`; empty for the document itself.
    pub key: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.key, self.message)
        }
    }
}

/// Everything wrong with one configuration file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// A single error that cannot be placed in the file (e.g. the file cannot be read).
    pub fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        ConfigErrors(vec![ConfigError {
            file: file.to_path_buf(),
            line: None,
            column: None,
            key: String::new(),
            message: message.into(),
        }])
    }

    /// The errors, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A table key.
    Key(String),
    /// An index into an array (of tables).
    Index(usize),
}

/// A key path under construction, rendered as `carriers[1].timers.response_timeout`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<Segment>);

impl KeyPath {
    /// The document root.
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }

    /// This path with a key appended.
    pub fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_string()));
        p
    }

    /// This path with an array index appended.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(i));
        p
    }

    /// The steps of the path.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Turns byte offsets and key paths into line and column numbers for one file.
pub struct Locator<'a> {
    file: &'a Path,
    text: &'a str,
    root: Option<toml::Spanned<DeTable<'a>>>,
}

impl<'a> Locator<'a> {
    /// A locator for `text`, read from `file`.
    pub fn new(file: &'a Path, text: &'a str) -> Self {
        Locator {
            file,
            text,
            root: DeTable::parse(text).ok(),
        }
    }

    /// An error at a byte span (from the TOML parser).
    pub fn at_span(&self, span: Option<Range<usize>>, key: String, message: String) -> ConfigError {
        let (line, column) = match span {
            Some(s) => {
                let (l, c) = self.line_col(s.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        ConfigError {
            file: self.file.to_path_buf(),
            line,
            column,
            key,
            message,
        }
    }

    /// An error at a key path: placed at the key's value, or, when the key is absent,
    /// at the deepest table on the path that exists.
    pub fn at_path(&self, path: &KeyPath, message: String) -> ConfigError {
        let span = self.span_of(path);
        self.at_span(span, path.to_string(), message)
    }

    fn span_of(&self, path: &KeyPath) -> Option<Range<usize>> {
        let root = self.root.as_ref()?;
        let mut best: Option<Range<usize>> = None;
        let mut current: Option<&DeValue<'_>> = None;
        let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
        for seg in path.segments() {
            match seg {
                Segment::Key(k) => {
                    let t = table.take()?;
                    let (key, value) = t.iter().find(|(key, _)| key.get_ref().as_ref() == k)?;
                    // A value that spans nothing useful (tables made by dotted headers)
                    // is placed at its key instead.
                    let span = value.span();
                    best = Some(if span.is_empty() { key.span() } else { span });
                    current = Some(value.get_ref());
                }
                Segment::Index(i) => {
                    let Some(DeValue::Array(items)) = current else {
                        return best;
                    };
                    let Some(item) = items.get(*i) else {
                        return best;
                    };
                    if !item.span().is_empty() {
                        best = Some(item.span());
                    }
                    current = Some(item.get_ref());
                }
            }
            table = match current {
                Some(DeValue::Table(t)) => Some(t),
                _ => None,
            };
        }
        best
    }

    fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_path_renders_like_the_file() {
        let p = KeyPath::root().key("carriers").index(1).key("window");
        assert_eq!(p.to_string(), "carriers[1].window");
    }

    #[test]
    fn path_is_located_at_its_value() {
        let text = "[a]\nx = 1\n\n[[c]]\nw = 2\n\n[[c]]\nw = 3\n";
        let loc = Locator::new(Path::new("f.toml"), text);
        let e = loc.at_path(&KeyPath::root().key("c").index(1).key("w"), "bad".into());
        assert_eq!((e.line, e.column), (Some(8), Some(5)));
        let e = loc.at_path(&KeyPath::root().key("a").key("x"), "bad".into());
        assert_eq!((e.line, e.column), (Some(2), Some(5)));
    }
}
