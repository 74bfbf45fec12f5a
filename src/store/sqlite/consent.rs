//! The suppression list, durable: [`SuppressionList`] on [`SqliteStore`].
//!
//! One row per (contact, scope) in `consent_opt_out` (schema version 2), with the keyword,
//! the source and the time. Writes go through the group-commit writer, so an opt-out is
//! answered only once it is on disk, and the single writer makes "insert unless present"
//! atomic: of two deliveries of the same STOP, exactly one records anything.
//!
//! Rows are listed in the order of the in-memory list, (contact, scope) with scopes
//! ordered by kind (number, shortcode, alphanumeric, brand) and then by text; the
//! `scope_rank` column holds the kind so SQLite can page in that order from the key.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::types::{Type, Value};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::SqliteStore;
use crate::consent::{
    ConsentChange, ConsentError, ConsentRequest, ListQuery, MAX_LIST_PAGE, Scope, SuppressionList,
    SuppressionRecord,
};
use crate::number::SenderAddress;
use crate::store::StoreError;

/// The columns every query reads, in the order [`read_record`] expects.
const COLUMNS: &str = "contact, scope, keyword, source, at_unix_ns";

/// A record as its row holds it.
struct OptOutRow {
    contact: String,
    rank: i64,
    scope: String,
    keyword: Option<String>,
    source: String,
    at_unix_ns: i64,
}

impl OptOutRow {
    /// Checks the record (free-text fields, time range) and turns it into a row.
    fn of(record: &SuppressionRecord) -> Result<Self, ConsentError> {
        record.validate()?;
        Ok(OptOutRow {
            contact: record.contact.as_str().to_owned(),
            rank: scope_rank(&record.scope),
            scope: record.scope.to_string(),
            keyword: record.keyword.clone(),
            source: record.source.clone(),
            at_unix_ns: to_unix_ns(record.at)?,
        })
    }

    /// Inserts the row unless its (contact, scope) is present; true if inserted.
    fn insert_if_absent(&self, conn: &Connection) -> rusqlite::Result<bool> {
        let mut insert = conn.prepare_cached(
            "INSERT INTO consent_opt_out
                 (contact, scope_rank, scope, keyword, source, at_unix_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT DO NOTHING",
        )?;
        let inserted = insert.execute(params![
            self.contact,
            self.rank,
            self.scope,
            self.keyword,
            self.source,
            self.at_unix_ns
        ])?;
        Ok(inserted == 1)
    }
}

/// The position of a scope's kind in the order of [`Scope`]'s `Ord`.
fn scope_rank(scope: &Scope) -> i64 {
    match scope {
        Scope::Sender(SenderAddress::Number(_)) => 0,
        Scope::Sender(SenderAddress::ShortCode(_)) => 1,
        Scope::Sender(SenderAddress::Alphanumeric(_)) => 2,
        Scope::Brand(_) => 3,
    }
}

fn to_unix_ns(at: SystemTime) -> Result<i64, ConsentError> {
    let since = at
        .duration_since(UNIX_EPOCH)
        .map_err(|_| ConsentError::TimeOutOfRange)?;
    i64::try_from(since.as_nanos()).map_err(|_| ConsentError::TimeOutOfRange)
}

/// Reads one row selected with [`COLUMNS`]. A row that does not read back (edited by
/// hand into something invalid) is an error, not a silently skipped opt-out.
fn read_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<SuppressionRecord> {
    let bad = |index: usize, error: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(index, Type::Text, error)
    };
    let contact: String = row.get(0)?;
    let scope: String = row.get(1)?;
    let at_unix_ns: i64 = row.get(4)?;
    let nanos = u64::try_from(at_unix_ns)
        .map_err(|_| bad(4, format!("negative time {at_unix_ns}").into()))?;
    Ok(SuppressionRecord {
        contact: contact.parse().map_err(|e| bad(0, Box::new(e)))?,
        scope: scope.parse().map_err(|e| bad(1, Box::new(e)))?,
        keyword: row.get(2)?,
        source: row.get(3)?,
        at: UNIX_EPOCH + Duration::from_nanos(nanos),
    })
}

/// The opt-out of `contact` in the first of `scopes` that has one. One read of all the
/// contact's rows (nearly always none, and never many) instead of one per scope: this
/// runs for every MT accepted. Only a row of an asked scope is read whole.
fn first_opt_out(
    conn: &Connection,
    contact: &str,
    scopes: &[Scope],
) -> rusqlite::Result<Option<SuppressionRecord>> {
    let mut select = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM consent_opt_out WHERE contact = ?1"
    ))?;
    let mut rows = select.query([contact])?;
    let mut wanted: Option<Vec<String>> = None;
    let mut first: Option<(usize, SuppressionRecord)> = None;
    while let Some(row) = rows.next()? {
        let wanted = wanted.get_or_insert_with(|| scopes.iter().map(Scope::to_string).collect());
        let scope = row.get_ref(1)?.as_str()?;
        let Some(rank) = wanted.iter().position(|w| w == scope) else {
            continue;
        };
        if first.as_ref().is_none_or(|(best, _)| rank < *best) {
            first = Some((rank, read_record(row)?));
        }
    }
    Ok(first.map(|(_, record)| record))
}

fn delete_one(
    conn: &Connection,
    contact: &str,
    scope: &Scope,
) -> rusqlite::Result<Option<SuppressionRecord>> {
    let mut delete = conn.prepare_cached(&format!(
        "DELETE FROM consent_opt_out
         WHERE contact = ?1 AND scope_rank = ?2 AND scope = ?3
         RETURNING {COLUMNS}"
    ))?;
    delete
        .query_row(
            params![contact, scope_rank(scope), scope.to_string()],
            read_record,
        )
        .optional()
}

/// One page, with only the conditions the query asks for so SQLite can use the key
/// (contact, scope_rank, scope) or the scope index.
fn select_page(conn: &Connection, query: &ListQuery) -> rusqlite::Result<Vec<SuppressionRecord>> {
    let mut conditions: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(contact) = &query.contact {
        conditions.push("contact = ?");
        args.push(Value::Text(contact.as_str().to_owned()));
    }
    if let Some(scope) = &query.scope {
        conditions.push("scope_rank = ? AND scope = ?");
        args.push(Value::Integer(scope_rank(scope)));
        args.push(Value::Text(scope.to_string()));
    }
    if let Some((contact, scope)) = &query.after {
        conditions.push("(contact, scope_rank, scope) > (?, ?, ?)");
        args.push(Value::Text(contact.as_str().to_owned()));
        args.push(Value::Integer(scope_rank(scope)));
        args.push(Value::Text(scope.to_string()));
    }
    let filter = match conditions.is_empty() {
        true => String::new(),
        false => format!("WHERE {}", conditions.join(" AND ")),
    };
    let limit = query.limit.min(MAX_LIST_PAGE);
    args.push(Value::Integer(limit as i64));
    let mut select = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM consent_opt_out {filter}
         ORDER BY contact, scope_rank, scope LIMIT ?"
    ))?;
    let rows = select.query_map(params_from_iter(args), read_record)?;
    rows.collect()
}

/// Applies an MO keyword's change inside the caller's write (the MO's own, so the change
/// and the message commit together); what changed, `None` when nothing did.
pub(super) fn apply_request(
    conn: &Connection,
    request: &ConsentRequest,
) -> Result<Option<ConsentChange>, StoreError> {
    match request {
        ConsentRequest::OptOut(record) => {
            let row = OptOutRow::of(record).map_err(|e| StoreError::Invalid(e.to_string()))?;
            Ok(row
                .insert_if_absent(conn)?
                .then(|| ConsentChange::OptedOut(record.clone())))
        }
        ConsentRequest::OptIn { contact, scopes } => {
            let mut removed = Vec::new();
            for scope in scopes {
                removed.extend(delete_one(conn, contact.as_str(), scope)?);
            }
            Ok((!removed.is_empty()).then_some(ConsentChange::OptedIn(removed)))
        }
        ConsentRequest::Nothing => Ok(None),
    }
}

fn store_failed(error: StoreError) -> ConsentError {
    ConsentError::Store(error.to_string())
}

impl SuppressionList for SqliteStore {
    fn opt_out(
        &self,
        record: SuppressionRecord,
    ) -> impl Future<Output = Result<bool, ConsentError>> + Send {
        let store = self.clone();
        async move {
            let row = OptOutRow::of(&record)?;
            store
                .write(move |conn| Ok(row.insert_if_absent(conn)?))
                .await
                .map_err(store_failed)
        }
    }

    fn opt_in(
        &self,
        contact: &crate::number::E164,
        scopes: &[Scope],
    ) -> impl Future<Output = Result<Vec<SuppressionRecord>, ConsentError>> + Send {
        let store = self.clone();
        let contact = contact.as_str().to_owned();
        let scopes = scopes.to_vec();
        async move {
            store
                .write(move |conn| {
                    let mut removed = Vec::new();
                    for scope in &scopes {
                        removed.extend(delete_one(conn, &contact, scope)?);
                    }
                    Ok(removed)
                })
                .await
                .map_err(store_failed)
        }
    }

    fn is_opted_out(
        &self,
        contact: &crate::number::E164,
        scopes: &[Scope],
    ) -> impl Future<Output = Result<Option<SuppressionRecord>, ConsentError>> + Send {
        let store = self.clone();
        let contact = contact.as_str().to_owned();
        let scopes = scopes.to_vec();
        async move {
            store
                .read_point(move |conn| Ok(first_opt_out(conn, &contact, &scopes)?))
                .await
                .map_err(store_failed)
        }
    }

    fn list(
        &self,
        query: ListQuery,
    ) -> impl Future<Output = Result<Vec<SuppressionRecord>, ConsentError>> + Send {
        let store = self.clone();
        async move {
            store
                .read(move |conn| Ok(select_page(conn, &query)?))
                .await
                .map_err(store_failed)
        }
    }

    fn remove(
        &self,
        contact: &crate::number::E164,
        scope: &Scope,
    ) -> impl Future<Output = Result<bool, ConsentError>> + Send {
        let store = self.clone();
        let contact = contact.as_str().to_owned();
        let scope = scope.clone();
        async move {
            store
                .write(move |conn| Ok(delete_one(conn, &contact, &scope)?.is_some()))
                .await
                .map_err(store_failed)
        }
    }

    fn import(
        &self,
        records: Vec<SuppressionRecord>,
    ) -> impl Future<Output = Result<usize, ConsentError>> + Send {
        let store = self.clone();
        async move {
            let rows = records
                .iter()
                .map(OptOutRow::of)
                .collect::<Result<Vec<_>, _>>()?;
            // One request runs in one savepoint: an error undoes every row of it.
            store
                .write(move |conn| {
                    let mut added = 0;
                    for row in &rows {
                        added += usize::from(row.insert_if_absent(conn)?);
                    }
                    Ok(added)
                })
                .await
                .map_err(store_failed)
        }
    }
}

#[cfg(test)]
mod tests;
