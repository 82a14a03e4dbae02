//! SQLite's own page cache, with one cost taken out: the scan of the whole cache at the end of
//! a write transaction that balanced a b-tree.
//!
//! When SQLite balances a b-tree it gives the new sibling pages ascending numbers by swapping
//! pages' numbers, parking a page for a moment at the number of the "lock page" (the page that
//! holds byte 1 GiB of the file, which a database never uses: number 262,145 with 4 KiB pages).
//! SQLite's default cache (pcache1) remembers the largest number it ever held, and at the end
//! of every transaction it drops the pages past the end of the database: with that number far
//! past the end (any database under 1 GiB), it visits every page it holds instead of the few at
//! the end. Under the load benchmark that scan was the recording thread's largest single cost
//! (10 % of its time; docs/PERFORMANCE.md).
//!
//! [`install`] puts a thin layer in front of the default cache that parks such a page at the
//! number just past the largest one the cache was given instead, so the default cache never
//! sees the lock page's number. Everything else goes straight through: the pages, their memory
//! and every decision stay the default cache's. With the layer in place, [`crate::SqliteStore`]
//! gives its writing connection the readers' page cache (64 MiB) instead of a quarter of it.
//!
//! # Safety
//! - The layer is installed once, before SQLite is initialized (SQLite refuses it afterwards,
//!   and the layer then stays out).
//! - SQLite calls a cache's methods for one connection at a time; the layer's state is per
//!   cache and only read and written inside those calls.
//! - A parking number is always free: it is past every number the cache was given and not
//!   truncated away since, and SQLite fetches no page between parking one and moving it on
//!   (`balance_nonroot`'s three renumberings are consecutive).

use std::ffi::{c_int, c_uint, c_void};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use libsqlite3_sys as ffi;

/// SQLite's `PENDING_BYTE`: the lock page holds it.
const PENDING_BYTE: u32 = 0x4000_0000;

/// The default cache's methods, as SQLite had them before [`install`].
struct Inner(ffi::sqlite3_pcache_methods2);

// SAFETY: a table of C function pointers and SQLite's own argument for them, which SQLite
// itself shares between threads.
unsafe impl Send for Inner {}
unsafe impl Sync for Inner {}

/// Set before SQLite is given the layer, so that the layer always finds it.
static DEFAULT: OnceLock<Inner> = OnceLock::new();
/// [`install`]'s answer.
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Pages parked elsewhere than the lock page so far, in this process.
static PARKED: AtomicU64 = AtomicU64::new(0);

/// How many times the layer parked a page away from the lock page's number in this process
/// (each would have made the default cache scan itself whole at the end of its transaction).
pub fn parked() -> u64 {
    PARKED.load(Ordering::Relaxed)
}

/// Installs the layer in front of SQLite's default page cache for this process. Call it before
/// the process opens any SQLite database (`brim serve` and `brim worker` do, first thing);
/// returns whether it is in place (`false`: SQLite was already initialized, or has a page cache
/// of someone else's, and is left as it was). Calling it again returns the first answer.
pub fn install() -> bool {
    *INSTALLED.get_or_init(|| {
        let mut methods = std::mem::MaybeUninit::<ffi::sqlite3_pcache_methods2>::zeroed();
        // SAFETY: SQLITE_CONFIG_GETPCACHE2 writes the current methods to the pointer.
        let rc =
            unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_GETPCACHE2, methods.as_mut_ptr()) };
        if rc != ffi::SQLITE_OK {
            return false;
        }
        // SAFETY: written by SQLite above (or left zeroed: every method then None).
        let inner = unsafe { methods.assume_init() };
        if inner.iVersion < 1 || inner.xFetch.is_none() || DEFAULT.set(Inner(inner)).is_err() {
            return false;
        }
        let layer = ffi::sqlite3_pcache_methods2 {
            iVersion: 1,
            pArg: std::ptr::null_mut(),
            xInit: Some(init),
            xShutdown: Some(shutdown),
            xCreate: Some(create),
            xCachesize: Some(cachesize),
            xPagecount: Some(pagecount),
            xFetch: Some(fetch),
            xUnpin: Some(unpin),
            xRekey: Some(rekey),
            xTruncate: Some(truncate),
            xDestroy: Some(destroy),
            xShrink: Some(shrink),
        };
        // SAFETY: SQLite copies the table (and calls none of it before it initializes,
        // after this returns); it refuses it (SQLITE_MISUSE) once initialized.
        let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_PCACHE2, &layer as *const _) };
        rc == ffi::SQLITE_OK
    })
}

/// Whether the layer is in place in this process.
pub fn installed() -> bool {
    INSTALLED.get().copied().unwrap_or(false)
}

fn inner() -> &'static ffi::sqlite3_pcache_methods2 {
    // Only reachable through the methods SQLite got from `install`, which set DEFAULT before.
    match DEFAULT.get() {
        Some(inner) => &inner.0,
        None => unreachable!("the page cache layer runs only once installed"),
    }
}

/// One cache: the default cache's, and what the layer knows of its page numbers.
struct Cache {
    inner: *mut ffi::sqlite3_pcache,
    /// The lock page's number for this cache's page size.
    lock: c_uint,
    /// At least the largest number of any page the cache holds.
    max: c_uint,
    /// Where the page SQLite parked at `lock` is (0: none parked).
    parked: c_uint,
}

impl Cache {
    /// The number the default cache knows for `key`.
    fn key(&self, key: c_uint) -> c_uint {
        if key != self.lock {
            key
        } else if self.parked != 0 {
            self.parked
        } else {
            // Nothing parked: a number no page has (SQLite only asks whether one is there).
            self.max.saturating_add(1)
        }
    }
}

/// # Safety
/// `p` came from [`create`] and was not destroyed.
unsafe fn cache<'a>(p: *mut ffi::sqlite3_pcache) -> &'a mut Cache {
    // SAFETY: the caller's.
    unsafe { &mut *p.cast::<Cache>() }
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    let inner = inner();
    match inner.xInit {
        // SAFETY: the default cache's own method with its own argument.
        Some(f) => unsafe { f(inner.pArg) },
        None => ffi::SQLITE_OK,
    }
}

unsafe extern "C" fn shutdown(_: *mut c_void) {
    let inner = inner();
    if let Some(f) = inner.xShutdown {
        // SAFETY: as in `init`.
        unsafe { f(inner.pArg) }
    }
}

unsafe extern "C" fn create(
    size: c_int,
    extra: c_int,
    purgeable: c_int,
) -> *mut ffi::sqlite3_pcache {
    let Some(f) = inner().xCreate else {
        return std::ptr::null_mut();
    };
    // SAFETY: the default cache's method, with SQLite's arguments.
    let raw = unsafe { f(size, extra, purgeable) };
    if raw.is_null() {
        return raw;
    }
    let lock = PENDING_BYTE / u32::try_from(size.max(1)).unwrap_or(1) + 1;
    Box::into_raw(Box::new(Cache {
        inner: raw,
        lock,
        max: 0,
        parked: 0,
    }))
    .cast()
}

unsafe extern "C" fn cachesize(p: *mut ffi::sqlite3_pcache, n: c_int) {
    // SAFETY: `p` is SQLite's cache from `create`; the method is the default cache's.
    unsafe {
        if let Some(f) = inner().xCachesize {
            f(cache(p).inner, n)
        }
    }
}

unsafe extern "C" fn pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
    // SAFETY: as in `cachesize`.
    unsafe { inner().xPagecount.map_or(0, |f| f(cache(p).inner)) }
}

unsafe extern "C" fn fetch(
    p: *mut ffi::sqlite3_pcache,
    key: c_uint,
    create: c_int,
) -> *mut ffi::sqlite3_pcache_page {
    // SAFETY: as in `cachesize`.
    let c = unsafe { cache(p) };
    let key = c.key(key);
    let Some(f) = inner().xFetch else {
        return std::ptr::null_mut();
    };
    // SAFETY: as in `cachesize`.
    let page = unsafe { f(c.inner, key, create) };
    if !page.is_null() && key > c.max {
        c.max = key;
    }
    page
}

unsafe extern "C" fn unpin(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    discard: c_int,
) {
    // SAFETY: as in `cachesize`; the page is one the default cache gave.
    unsafe {
        if let Some(f) = inner().xUnpin {
            f(cache(p).inner, page, discard)
        }
    }
}

unsafe extern "C" fn rekey(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    old: c_uint,
    new: c_uint,
) {
    // SAFETY: as in `cachesize`.
    let c = unsafe { cache(p) };
    let from = c.key(old);
    let to = if new == c.lock {
        // Parked past every page the cache holds (see the module's safety notes).
        c.parked = c.max.saturating_add(1);
        PARKED.fetch_add(1, Ordering::Relaxed);
        c.parked
    } else {
        new
    };
    if old == c.lock {
        c.parked = 0;
    }
    if new != c.lock && new > c.max {
        c.max = new;
    }
    if let Some(f) = inner().xRekey {
        // SAFETY: as in `unpin`.
        unsafe { f(c.inner, page, from, to) }
    }
}

unsafe extern "C" fn truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
    // SAFETY: as in `cachesize`.
    let c = unsafe { cache(p) };
    if let Some(f) = inner().xTruncate {
        // SAFETY: as in `cachesize`.
        unsafe { f(c.inner, limit) }
    }
    // Every page numbered `limit` or more is gone.
    if limit > 0 && c.max >= limit {
        c.max = limit - 1;
    }
}

unsafe extern "C" fn destroy(p: *mut ffi::sqlite3_pcache) {
    // SAFETY: `p` came from `create`, and SQLite destroys each cache once.
    let c = unsafe { Box::from_raw(p.cast::<Cache>()) };
    if let Some(f) = inner().xDestroy {
        // SAFETY: the default cache's own cache, destroyed once.
        unsafe { f(c.inner) }
    }
}

unsafe extern "C" fn shrink(p: *mut ffi::sqlite3_pcache) {
    // SAFETY: as in `cachesize`.
    unsafe {
        if let Some(f) = inner().xShrink {
            f(cache(p).inner)
        }
    }
}
