//! Direct calls into SQLite on the writing connection, through sqlx's
//! [`SqliteConnection::lock_handle`](sqlx::sqlite::SqliteConnection::lock_handle): the calling
//! thread borrows the connection from its sqlx worker thread once and runs a whole write
//! transaction itself. Each statement sent through sqlx is a round trip between threads (a
//! command to the connection's thread, results back), measured at ~250 µs under the load
//! benchmark on 2 cores; `record_scored` made two or three a batch.
//!
//! The writer's own connection stays borrowed between transactions ([`Held`]) until it is
//! next used through sqlx.
//!
//! Every `unsafe` block of the crate is in this module (and in `sqlite_page_cache`), but for
//! the one call of [`Held::lock`], whose contract `sqlite::WriteTx::lock_raw` keeps. The
//! invariants: statements are finalized before the handle is given back (a [`Stmt`] borrows
//! its [`Raw`]); bound text is copied by SQLite (`SQLITE_TRANSIENT`); column text is copied
//! out before the next step; a [`Held`] handle is dropped before its connection is used
//! through sqlx or closed.

use std::cell::RefCell;
use std::ffi::{CStr, c_int};
use std::marker::PhantomData;
use std::ptr::NonNull;

use libsqlite3_sys as ffi;
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::sqlite::LockedSqliteHandle;

/// The writing connection, borrowed from its worker thread.
pub(crate) struct Raw<'c> {
    db: NonNull<ffi::sqlite3>,
    /// The lock on the connection: taken for this use, or [`Held`] between uses.
    _lock: Lock<'c>,
    kept: Option<RefCell<&'c mut Prepared>>,
}

enum Lock<'c> {
    Taken(#[allow(dead_code)] LockedSqliteHandle<'c>),
    Held(PhantomData<&'c mut Held>),
}

/// A connection's handle kept locked out of its sqlx worker thread between direct uses.
///
/// Borrowing the handle is a round trip between threads (a command to the worker, which
/// then lets go of the connection and waits to take it back): ~0.4 ms a batch under the load
/// benchmark on 2 cores, on the request recorder's serial path. Kept between batches, it is
/// taken once, and given back only when the connection is next used through sqlx.
///
/// The owner must drop it before anything else uses the connection through sqlx (the worker
/// thread waits for it and would not answer), and before the connection itself.
pub(crate) struct Held(LockedSqliteHandle<'static>);

// SAFETY: the handle is only used by the one holder of the writer's turn, whichever thread
// that is; the lock it carries is an async mutex's guard, not tied to a thread.
unsafe impl Send for Held {}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Held")
    }
}

impl Held {
    /// Takes `conn`'s handle from its worker thread, to keep.
    ///
    /// # Safety
    /// The returned value must be dropped before `conn` is dropped or used through sqlx
    /// (see [`Held`]).
    pub(crate) async unsafe fn lock(conn: &mut sqlx::SqliteConnection) -> sqlx::Result<Held> {
        let handle = conn.lock_handle().await?;
        // SAFETY: the guard points into the connection worker's shared state (an `Arc` the
        // connection keeps), not into `conn` itself, so moving `conn` is fine; the caller
        // keeps it alive and unused through sqlx for as long as this lives.
        Ok(Held(unsafe {
            std::mem::transmute::<LockedSqliteHandle<'_>, LockedSqliteHandle<'static>>(handle)
        }))
    }
}

/// Statements prepared once on a connection and kept between its transactions (preparing
/// `record_scored`'s, with the triggers they fire, was ~12 % of a batch, measured).
/// Finalized when dropped, which must happen before the connection closes.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    statements: Vec<(&'static str, NonNull<ffi::sqlite3_stmt>)>,
}

// SAFETY: the statements are only used with their connection's handle locked by the one
// holder of the writer's turn (`Raw::kept`), whichever thread that is.
unsafe impl Send for Prepared {}

impl Drop for Prepared {
    fn drop(&mut self) {
        for (_, stmt) in self.statements.drain(..) {
            // SAFETY: each was prepared once on the connection that is still open (the
            // owner drops this before it) and is finalized once.
            unsafe {
                ffi::sqlite3_finalize(stmt.as_ptr());
            }
        }
    }
}

impl<'c> Raw<'c> {
    /// `handle`, with `kept` the statements kept for its connection (`None`: statements are
    /// finalized after use).
    pub(crate) fn new(
        mut handle: LockedSqliteHandle<'c>,
        kept: Option<&'c mut Prepared>,
    ) -> Raw<'c> {
        Raw {
            db: handle.as_raw_handle(),
            _lock: Lock::Taken(handle),
            kept: kept.map(RefCell::new),
        }
    }

    /// The connection `held` keeps locked, with the statements kept for it.
    pub(crate) fn held(held: &'c mut Held, kept: &'c mut Prepared) -> Raw<'c> {
        Raw {
            db: held.0.as_raw_handle(),
            _lock: Lock::Held(PhantomData),
            kept: Some(RefCell::new(kept)),
        }
    }

    /// `sql` prepared once and kept for the connection's life when it has [`Prepared`]
    /// statements; prepared for this use otherwise.
    pub(crate) fn kept(&self, sql: &'static str) -> sqlx::Result<Stmt<'_>> {
        let Some(kept) = &self.kept else {
            return self.prepare(sql);
        };
        let mut kept = kept.borrow_mut();
        let raw = match kept.statements.iter().find(|(text, _)| *text == sql) {
            Some(&(_, raw)) => raw,
            None => {
                let mut stmt = self.prepare(sql)?;
                stmt.owned = false;
                kept.statements.push((sql, stmt.raw));
                stmt.raw
            }
        };
        Ok(Stmt {
            raw,
            db: self.db,
            owned: false,
            _raw: PhantomData,
        })
    }

    /// Runs `sql` (statements without parameters or results, e.g. `BEGIN IMMEDIATE`).
    pub(crate) fn exec(&self, sql: &str) -> sqlx::Result<()> {
        let mut stmt = self.prepare(sql)?;
        while stmt.step()? {}
        Ok(())
    }

    /// Prepares one statement.
    pub(crate) fn prepare(&self, sql: &str) -> sqlx::Result<Stmt<'_>> {
        let mut raw = std::ptr::null_mut();
        let len = c_int::try_from(sql.len())
            .map_err(|_| sqlx::Error::Protocol("SQL text too long".into()))?;
        // SAFETY: `db` is the open connection this thread holds the lock of; the text is
        // read within the call (its length is given, no NUL needed).
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(
                self.db.as_ptr(),
                sql.as_ptr().cast(),
                len,
                &mut raw,
                std::ptr::null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(error(self.db, rc));
        }
        let raw = NonNull::new(raw)
            .ok_or_else(|| sqlx::Error::Protocol(format!("no statement in {sql:?}")))?;
        Ok(Stmt {
            raw,
            db: self.db,
            owned: true,
            _raw: PhantomData,
        })
    }
}

/// A prepared statement; when dropped, finalized, or reset if it is kept ([`Raw::kept`]), so
/// that it holds no lock.
pub(crate) struct Stmt<'r> {
    raw: NonNull<ffi::sqlite3_stmt>,
    db: NonNull<ffi::sqlite3>,
    owned: bool,
    _raw: PhantomData<&'r Raw<'r>>,
}

/// A value to bind.
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
}

impl<'a> From<i64> for Value<'a> {
    fn from(v: i64) -> Value<'a> {
        Value::Int(v)
    }
}

impl<'a> From<f64> for Value<'a> {
    fn from(v: f64) -> Value<'a> {
        Value::Real(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Value<'a> {
        Value::Text(v)
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Value<'a> {
        v.map_or(Value::Null, Into::into)
    }
}

impl Stmt<'_> {
    /// Resets the statement and binds `values` to its parameters 1, 2, ...
    pub(crate) fn bind(&mut self, values: &[Value<'_>]) -> sqlx::Result<&mut Self> {
        let stmt = self.raw.as_ptr();
        // SAFETY: `stmt` is a live statement of the locked connection; text is copied by
        // SQLite before the call returns (SQLITE_TRANSIENT).
        unsafe {
            ffi::sqlite3_reset(stmt);
            for (i, value) in values.iter().enumerate() {
                let at = c_int::try_from(i + 1).unwrap_or(c_int::MAX);
                let rc = match *value {
                    Value::Null => ffi::sqlite3_bind_null(stmt, at),
                    Value::Int(v) => ffi::sqlite3_bind_int64(stmt, at, v),
                    Value::Real(v) => ffi::sqlite3_bind_double(stmt, at, v),
                    Value::Text(v) => ffi::sqlite3_bind_text64(
                        stmt,
                        at,
                        v.as_ptr().cast(),
                        v.len() as u64,
                        ffi::SQLITE_TRANSIENT(),
                        ffi::SQLITE_UTF8 as u8,
                    ),
                };
                if rc != ffi::SQLITE_OK {
                    return Err(error(self.db, rc));
                }
            }
        }
        Ok(self)
    }

    /// One step: `true` with a row to read, `false` when done.
    pub(crate) fn step(&mut self) -> sqlx::Result<bool> {
        // SAFETY: a live statement of the locked connection.
        match unsafe { ffi::sqlite3_step(self.raw.as_ptr()) } {
            ffi::SQLITE_ROW => Ok(true),
            ffi::SQLITE_DONE => Ok(false),
            rc => Err(error(self.db, rc)),
        }
    }

    /// Runs the statement to its end (after [`Stmt::bind`]).
    pub(crate) fn run(&mut self) -> sqlx::Result<()> {
        while self.step()? {}
        Ok(())
    }

    /// Column `i` of the current row as an integer (NULL → `None`).
    pub(crate) fn int(&self, i: c_int) -> Option<i64> {
        // SAFETY: a live statement positioned on a row.
        unsafe {
            (ffi::sqlite3_column_type(self.raw.as_ptr(), i) != ffi::SQLITE_NULL)
                .then(|| ffi::sqlite3_column_int64(self.raw.as_ptr(), i))
        }
    }

    /// Column `i` of the current row as text (NULL → `None`), copied out.
    pub(crate) fn text(&self, i: c_int) -> Option<String> {
        let stmt = self.raw.as_ptr();
        // SAFETY: a live statement positioned on a row; the pointer and length are read
        // before any other call on the statement, and the bytes copied at once.
        unsafe {
            let ptr = ffi::sqlite3_column_text(stmt, i);
            if ptr.is_null() {
                return None;
            }
            let len = usize::try_from(ffi::sqlite3_column_bytes(stmt, i)).unwrap_or(0);
            let bytes = std::slice::from_raw_parts(ptr, len);
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
    }
}

impl Drop for Stmt<'_> {
    fn drop(&mut self) {
        // SAFETY: while the connection is still locked (the borrow of `Raw`); an owned
        // statement is finalized once, a kept one only reset.
        unsafe {
            if self.owned {
                ffi::sqlite3_finalize(self.raw.as_ptr());
            } else {
                ffi::sqlite3_reset(self.raw.as_ptr());
            }
        }
    }
}

/// SQLite's error for `rc` on `db`, as sqlx reports database errors.
fn error(db: NonNull<ffi::sqlite3>, rc: c_int) -> sqlx::Error {
    // SAFETY: `db` is the locked, open connection; the message is copied at once.
    let (code, message) = unsafe {
        let code = ffi::sqlite3_extended_errcode(db.as_ptr());
        let msg = ffi::sqlite3_errmsg(db.as_ptr());
        let message = if msg.is_null() {
            format!("SQLite error {rc}")
        } else {
            CStr::from_ptr(msg).to_string_lossy().into_owned()
        };
        (code, message)
    };
    sqlx::Error::Database(Box::new(RawError {
        code: code.to_string(),
        extended: code,
        message,
    }))
}

/// A database error met on the direct path.
#[derive(Debug)]
struct RawError {
    code: String,
    extended: c_int,
    message: String,
}

impl std::fmt::Display for RawError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RawError {}

impl DatabaseError for RawError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some(std::borrow::Cow::Borrowed(&self.code))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        match self.extended {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}
