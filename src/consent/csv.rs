//! The suppression list as CSV, for import from and export to other systems.
//!
//! Columns, with this header line: `contact,sender,keyword,source,at`.
//! `contact` is E.164; `sender` a sender address in canonical form or `brand:NAME`;
//! `keyword` may be empty; `source` says on whose word (`sms`, `mms`, `admin:jane`, `import`);
//! `at` is RFC 3339 (`2026-03-01T12:00:00Z`, offsets such as `+02:00` accepted).
//! Import checks every row and reports bad rows by line number, at most
//! [`MAX_REPORTED_ROWS`] of them, and imports nothing if any row is bad.

use std::io::{Read, Write};
use std::time::{Duration, SystemTime};

use thiserror::Error;

use super::SuppressionRecord;

/// The header line, column by column.
pub const CSV_COLUMNS: [&str; 5] = ["contact", "sender", "keyword", "source", "at"];
/// At most this many bad rows are reported; the count of the rest is given.
pub const MAX_REPORTED_ROWS: usize = 20;

/// One bad row.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}, column `{column}`: {problem}")]
pub struct RowError {
    /// The line in the file, from 1 (the header is line 1).
    pub line: u64,
    /// The column at fault, or `row` when the row itself is malformed.
    pub column: &'static str,
    /// What is wrong.
    pub problem: String,
}

/// Why a CSV file could not be read or written.
#[derive(Debug, Error)]
pub enum CsvError {
    /// Reading or writing the underlying stream failed.
    #[error("cannot read or write the CSV stream: {0}")]
    Io(#[from] std::io::Error),
    /// The first line is not the expected header.
    #[error("the first line must be `{}`, found `{found}`", CSV_COLUMNS.join(","))]
    Header {
        /// The header line as found.
        found: String,
    },
    /// Rows that cannot be imported; nothing was imported.
    #[error("{}", rows_message(.errors, *.more))]
    Rows {
        /// The first bad rows.
        errors: Vec<RowError>,
        /// How many more bad rows there are.
        more: usize,
    },
    /// The file has more rows than the caller allows in one import.
    #[error("more than {max} rows; split the file")]
    TooManyRows {
        /// The most rows allowed.
        max: usize,
    },
    /// The CSV encoder failed for a reason other than I/O.
    #[error("cannot encode CSV: {0}")]
    Encode(String),
}

fn rows_message(errors: &[RowError], more: usize) -> String {
    let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let total = errors.len() + more;
    match more {
        0 => format!(
            "{total} bad row(s), nothing imported: {}",
            listed.join("; ")
        ),
        _ => format!(
            "{total} bad row(s), nothing imported; the first {}: {}",
            errors.len(),
            listed.join("; ")
        ),
    }
}

/// Writes `records` with the header line; returns how many rows were written.
pub fn write_csv<'a, W: Write>(
    out: W,
    records: impl IntoIterator<Item = &'a SuppressionRecord>,
) -> Result<usize, CsvError> {
    write_rows(out, true, records)
}

/// Writes `records` without the header line, to continue a file written in pages (the
/// first page with [`write_csv`]); returns how many rows were written.
pub fn write_csv_rows<'a, W: Write>(
    out: W,
    records: impl IntoIterator<Item = &'a SuppressionRecord>,
) -> Result<usize, CsvError> {
    write_rows(out, false, records)
}

fn write_rows<'a, W: Write>(
    out: W,
    header: bool,
    records: impl IntoIterator<Item = &'a SuppressionRecord>,
) -> Result<usize, CsvError> {
    let mut writer = csv::Writer::from_writer(out);
    if header {
        writer.write_record(CSV_COLUMNS).map_err(encode_error)?;
    }
    let mut count = 0;
    for record in records {
        let at = humantime::format_rfc3339(record.at).to_string();
        let row = [
            record.contact.as_str(),
            &record.scope.to_string(),
            record.keyword.as_deref().unwrap_or(""),
            &record.source,
            &at,
        ];
        writer.write_record(row).map_err(encode_error)?;
        count += 1;
    }
    writer.flush()?;
    Ok(count)
}

fn encode_error(error: csv::Error) -> CsvError {
    match error.into_kind() {
        csv::ErrorKind::Io(io) => CsvError::Io(io),
        other => CsvError::Encode(format!("{other:?}")),
    }
}

/// Reads records from CSV with the header line; refuses more than `max_rows` rows.
pub fn read_csv<R: Read>(input: R, max_rows: usize) -> Result<Vec<SuppressionRecord>, CsvError> {
    read_csv_checked(input, max_rows, |_| Ok(()))
}

/// [`read_csv`], with the caller's `check` run on every row that reads well (is the
/// sender one of ours?). It answers the column at fault and what is wrong; its
/// complaints are reported by line like the rest.
pub fn read_csv_checked<R: Read>(
    input: R,
    max_rows: usize,
    check: impl Fn(&SuppressionRecord) -> Result<(), (&'static str, String)>,
) -> Result<Vec<SuppressionRecord>, CsvError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let mut rows = reader.records();
    check_header(rows.next())?;
    let mut records = Vec::new();
    let mut errors = Vec::new();
    let mut more = 0;
    for row in rows {
        if records.len() + errors.len() + more >= max_rows {
            return Err(CsvError::TooManyRows { max: max_rows });
        }
        let parsed = match row {
            Ok(row) => parse_row(&row).and_then(|record| {
                let line = row.position().map(|p| p.line()).unwrap_or(0);
                check(&record)
                    .map(|()| record)
                    .map_err(|(column, problem)| RowError {
                        line,
                        column,
                        problem,
                    })
            }),
            Err(error) => Err(malformed(error)?),
        };
        match parsed {
            Ok(record) => records.push(record),
            Err(error) if errors.len() < MAX_REPORTED_ROWS => errors.push(error),
            Err(_) => more += 1,
        }
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(CsvError::Rows { errors, more })
    }
}

fn check_header(first: Option<csv::Result<csv::StringRecord>>) -> Result<(), CsvError> {
    let found = match first {
        None => String::new(),
        Some(Ok(header)) => {
            let names: Vec<String> = header
                .iter()
                .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
                .collect();
            if names == CSV_COLUMNS {
                return Ok(());
            }
            names.join(",")
        }
        Some(Err(error)) => {
            return Err(match malformed(error) {
                Ok(row) => CsvError::Rows {
                    errors: vec![row],
                    more: 0,
                },
                Err(io) => io,
            });
        }
    };
    Err(CsvError::Header { found })
}

/// A row the CSV reader itself refused (bad quoting, invalid UTF-8), or an I/O error.
fn malformed(error: csv::Error) -> Result<RowError, CsvError> {
    let line = error.position().map(|p| p.line()).unwrap_or(0);
    match error.into_kind() {
        csv::ErrorKind::Io(io) => Err(CsvError::Io(io)),
        other => Ok(RowError {
            line,
            column: "row",
            problem: format!("{other:?}"),
        }),
    }
}

fn parse_row(row: &csv::StringRecord) -> Result<SuppressionRecord, RowError> {
    let line = row.position().map(|p| p.line()).unwrap_or(0);
    let fail = |column: &'static str, problem: String| RowError {
        line,
        column,
        problem,
    };
    if row.len() != CSV_COLUMNS.len() {
        return Err(fail(
            "row",
            format!("{} fields, expected {}", row.len(), CSV_COLUMNS.len()),
        ));
    }
    let field = |index: usize| row.get(index).unwrap_or_default();
    let contact = field(0)
        .parse()
        .map_err(|e| fail("contact", format!("{e}")))?;
    let scope = field(1)
        .parse()
        .map_err(|e| fail("sender", format!("{e}")))?;
    let keyword = Some(field(2)).filter(|k| !k.is_empty()).map(str::to_owned);
    let at = parse_rfc3339(field(4)).map_err(|problem| fail("at", problem))?;
    let record = SuppressionRecord {
        contact,
        scope,
        keyword,
        source: field(3).to_owned(),
        at,
    };
    record.validate().map_err(|e| {
        let column = if matches!(e, super::ConsentError::BadSource(_)) {
            "source"
        } else {
            "keyword"
        };
        fail(column, e.to_string())
    })?;
    Ok(record)
}

/// Parses an RFC 3339 timestamp with `Z` or a numeric offset (`+02:00`, `-05:00`).
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, String> {
    let bad = || format!("{text:?} is not an RFC 3339 time such as 2026-03-01T12:00:00Z");
    let bytes = text.as_bytes();
    let offset_at = bytes.len().checked_sub(6).ok_or_else(bad)?;
    let has_offset = matches!(bytes[offset_at], b'+' | b'-') && bytes[offset_at + 3] == b':';
    if !has_offset {
        return humantime::parse_rfc3339(text).map_err(|_| bad());
    }
    let (local, offset) = text.split_at(offset_at);
    let hours: u64 = offset[1..3].parse().map_err(|_| bad())?;
    let minutes: u64 = offset[4..6].parse().map_err(|_| bad())?;
    if hours > 23 || minutes > 59 {
        return Err(bad());
    }
    let as_utc = humantime::parse_rfc3339(&format!("{local}Z")).map_err(|_| bad())?;
    let shift = Duration::from_secs(hours * 3600 + minutes * 60);
    // Local time = UTC + offset, so UTC = local time - offset.
    let utc = if offset.starts_with('+') {
        as_utc.checked_sub(shift)
    } else {
        as_utc.checked_add(shift)
    };
    utc.ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_converted_to_utc() {
        let utc = parse_rfc3339("2026-03-01T12:00:00Z").unwrap();
        assert_eq!(parse_rfc3339("2026-03-01T14:00:00+02:00").unwrap(), utc);
        assert_eq!(parse_rfc3339("2026-03-01T07:00:00-05:00").unwrap(), utc);
        assert_eq!(parse_rfc3339("2026-03-01T12:00:00+00:00").unwrap(), utc);
        let fraction = parse_rfc3339("2026-03-01T12:00:00.250Z").unwrap();
        assert_eq!(
            fraction.duration_since(utc).unwrap(),
            Duration::from_millis(250)
        );
        for bad in [
            "",
            "2026-03-01",
            "2026-03-01 12:00:00",
            "2026-03-01T12:00:00+25:00",
            "yesterday",
            "2026-03-01T12:00:00+0200",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?}");
        }
    }
}
