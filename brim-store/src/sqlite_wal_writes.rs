//! SQLite's WAL writes, gathered: a commit's frames reach the file in one write instead of two
//! a frame.
//!
//! SQLite appends each page of a commit to the write-ahead log as a 24-byte frame header and
//! then the page, each with a `pwrite` of its own. Under the load benchmark those calls were
//! ~29 % of the request recorder's time, the server's one serial step (docs/PERFORMANCE.md):
//! a third of it per call (entering the kernel, time stamps, checks) and most of the rest per
//! 4 KiB page of the file touched — and a 4,120-byte frame that does not start on a page
//! boundary touches two of them, in two calls.
//!
//! [`install`] registers a VFS in front of the default one and makes it the default. A WAL
//! file gets a buffer for its *appends* (writes at or past the end this handle has written):
//! they are gathered and written out together (in writes of up to [`WRITE_AT_MOST`] bytes, the
//! most the default VFS takes in one)
//!
//! - as soon as the page of a *commit frame* has been given (the frame header's "database
//!   size after commit" field is not 0): before that write returns, so before SQLite publishes
//!   the commit in the WAL index, where readers (in this or any other process) look for frames;
//! - before any other use of the file: a read, a sync, a truncation, its size, a file control,
//!   closing it; and before a write that does not append (SQLite rewriting a frame of the
//!   transaction in place, or its checksums), which then goes straight to the file;
//! - once the buffer holds [`LIMIT`] bytes (a big transaction spilling pages).
//!
//! What is still buffered when the connection gives up SQLite's WAL write lock belongs to a
//! transaction that was rolled back (a commit leaves nothing behind): it is dropped then, on
//! the main database file's `xShmLock` (that file is wrapped too, only for this), before any
//! other connection can write there. A write that fails leaves the WAL file failing every use
//! (`SQLITE_IOERR`) until then, so the transaction fails whole. A WAL whose file does not
//! promise power-safe overwrites (SQLite then pads frames to the sector, with syncs in the
//! middle of frames) or whose database file is not this VFS's goes straight through.
//!
//! So a frame is never read from the file before it is there, a commit is in the file (the
//! operating system's) when SQLite would have had it there, and what SQLite writes is written
//! byte for byte at the same offsets, in the same order. The file format is SQLite's own: any
//! other SQLite opens these databases.
//!
//! # Safety
//! - SQLite uses a connection's files from one thread at a time; the buffer is the WAL file's
//!   own, and the link between a database file and its WAL is made and unmade by SQLite's
//!   calls on that connection (the WAL opens after its database file and closes before it).
//! - The VFS and its method tables live for the process (leaked or static).
//! - A wrapped file's memory is SQLite's (`szOsFile` bytes): the wrapper first, the default
//!   VFS's file after it; the buffer is a `Box` made at open and dropped at close.

use std::ffi::{c_char, c_int, c_void};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use libsqlite3_sys as ffi;

/// The most a WAL buffer holds before it is written out.
pub const LIMIT: usize = 4 << 20;

/// A WAL frame header's size.
const FRAME_HEADER: usize = 24;

/// The most one write of the default VFS takes: the unix VFS writes at most 128 KiB - 1
/// bytes a call (it masks the length with `0x1ffff`) and reports a longer one as a full disk.
/// 31 pages of 4 KiB.
pub const WRITE_AT_MOST: usize = 31 * 4096;

/// The default VFS, as it was before [`install`].
struct Base(*mut ffi::sqlite3_vfs);

// SAFETY: SQLite's VFS objects are process-wide and shared by every thread.
unsafe impl Send for Base {}
unsafe impl Sync for Base {}

static BASE: OnceLock<Base> = OnceLock::new();
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Writes that went out gathered (more than one SQLite write in one), in this process.
static GATHERED: AtomicU64 = AtomicU64::new(0);

/// How many gathered writes (each of several SQLite writes) went to WAL files in this process.
pub fn gathered() -> u64 {
    GATHERED.load(Ordering::Relaxed)
}

/// Registers the VFS as this process's default; returns whether it is in place. Call it
/// before opening databases (connections opened before keep the VFS they had), and after
/// [`crate::sqlite_page_cache::install`], which must come before SQLite initializes (this
/// initializes it). Calling it again returns the first answer.
pub fn install() -> bool {
    *INSTALLED.get_or_init(|| {
        // SAFETY: finding the default VFS (and initializing SQLite) has no preconditions.
        let base = unsafe { ffi::sqlite3_vfs_find(std::ptr::null()) };
        if base.is_null() || BASE.set(Base(base)).is_err() {
            return false;
        }
        // SAFETY: `base` is SQLite's registered default VFS, valid for the process.
        let mut vfs = unsafe { *base };
        let Ok(size) = c_int::try_from(WRAPPER_SIZE) else {
            return false;
        };
        vfs.szOsFile += size;
        vfs.zName = c"brim".as_ptr();
        vfs.pNext = std::ptr::null_mut();
        vfs.xOpen = Some(open);
        let vfs = Box::leak(Box::new(vfs));
        // SAFETY: the VFS lives for the process; SQLite links it into its list.
        unsafe { ffi::sqlite3_vfs_register(vfs, 1) == ffi::SQLITE_OK }
    })
}

/// Whether the VFS is in place in this process.
pub fn installed() -> bool {
    INSTALLED.get().copied().unwrap_or(false)
}

fn base() -> *mut ffi::sqlite3_vfs {
    match BASE.get() {
        Some(base) => base.0,
        None => unreachable!("the VFS is only reachable once installed"),
    }
}

/// What every wrapped file starts with: SQLite's view of it, and the default VFS's file (right
/// after the wrapper, in the same memory).
#[repr(C)]
struct Wrapped {
    file: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
}

/// A main database file, and its connection's WAL file while that is open.
#[repr(C)]
struct DbFile {
    head: Wrapped,
    wal: *mut WalFile,
}

/// A WAL file, its buffer, and its database file (null: not linked).
#[repr(C)]
struct WalFile {
    head: Wrapped,
    buffer: *mut Buffer,
    db: *mut DbFile,
}

/// Bytes from the wrapper's start to the default VFS's file (8-byte aligned).
const WRAPPER_SIZE: usize = {
    let db = std::mem::size_of::<DbFile>();
    let wal = std::mem::size_of::<WalFile>();
    (if db > wal { db } else { wal }).next_multiple_of(8)
};

#[derive(Default)]
struct Buffer {
    data: Vec<u8>,
    /// The file offset of `data[0]`.
    offset: i64,
    /// Where this handle's appends reached (the end of `data` when it holds any).
    end: i64,
    /// The last write was the header of a commit frame: its page comes next.
    commit_next: bool,
    /// SQLite writes gathered in `data`.
    writes: u32,
    /// A write failed: every use fails until the write lock is given up (or the file closes).
    failed: bool,
    /// Writes go straight through (see the module's docs).
    through: bool,
}

/// `SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE` on lock 0: SQLite gives up the WAL write lock.
const WRITE_LOCK_RELEASED: c_int = ffi::SQLITE_SHM_UNLOCK | ffi::SQLITE_SHM_EXCLUSIVE;

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let base = base();
    // SAFETY: `base` is the default VFS, whose xOpen exists; SQLite gave `file` `szOsFile`
    // bytes, ours: room for a wrapper and the default VFS's file after it. `name` of a WAL is
    // the pointer SQLite passes for it, as `sqlite3_database_file_object` requires.
    unsafe {
        let Some(base_open) = (*base).xOpen else {
            return ffi::SQLITE_ERROR;
        };
        let main = flags & ffi::SQLITE_OPEN_MAIN_DB != 0;
        let wal = flags & ffi::SQLITE_OPEN_WAL != 0;
        if !main && !wal {
            return base_open(base, name, file, flags, out_flags);
        }
        let real = file
            .cast::<u8>()
            .add(WRAPPER_SIZE)
            .cast::<ffi::sqlite3_file>();
        (*real).pMethods = std::ptr::null();
        let rc = base_open(base, name, real, flags, out_flags);
        if (*real).pMethods.is_null() {
            (*file).pMethods = std::ptr::null();
            return rc;
        }
        if main {
            file.cast::<DbFile>().write(DbFile {
                head: Wrapped {
                    file: ffi::sqlite3_file {
                        pMethods: &DB_METHODS,
                    },
                    real,
                },
                wal: std::ptr::null_mut(),
            });
            return rc;
        }
        let mut buffer = Box::<Buffer>::default();
        let db = ffi::sqlite3_database_file_object(name);
        let linked = !db.is_null() && std::ptr::eq((*db).pMethods, &DB_METHODS);
        let powersafe = (*(*real).pMethods)
            .xDeviceCharacteristics
            .is_some_and(|f| f(real) & ffi::SQLITE_IOCAP_POWERSAFE_OVERWRITE != 0);
        buffer.through = !linked || !powersafe;
        let wal_file = file.cast::<WalFile>();
        wal_file.write(WalFile {
            head: Wrapped {
                file: ffi::sqlite3_file {
                    pMethods: &WAL_METHODS,
                },
                real,
            },
            buffer: Box::into_raw(buffer),
            db: if linked {
                db.cast()
            } else {
                std::ptr::null_mut()
            },
        });
        if linked {
            (*db.cast::<DbFile>()).wal = wal_file;
        }
        rc
    }
}

/// A wrapped file's default VFS file and its methods.
///
/// # Safety
/// `file` is a [`DbFile`] or [`WalFile`] (both start with [`Wrapped`]) set up by [`open`] and
/// not closed.
unsafe fn real<'a>(
    file: *mut ffi::sqlite3_file,
) -> (*mut ffi::sqlite3_file, &'a ffi::sqlite3_io_methods) {
    // SAFETY: per the contract.
    unsafe {
        let head = &*file.cast::<Wrapped>();
        (head.real, &*(*head.real).pMethods)
    }
}

/// A WAL file's default VFS file, its methods and its buffer.
///
/// # Safety
/// `file` is a [`WalFile`] set up by [`open`] and not closed.
unsafe fn parts<'a>(
    file: *mut ffi::sqlite3_file,
) -> (
    *mut ffi::sqlite3_file,
    &'a ffi::sqlite3_io_methods,
    &'a mut Buffer,
) {
    // SAFETY: per the contract; SQLite uses the file from one thread at a time.
    unsafe {
        let (real, methods) = real(file);
        (real, methods, &mut *(*file.cast::<WalFile>()).buffer)
    }
}

/// Writes the buffer out and empties it; a failure leaves the file failing (see `Buffer::failed`).
///
/// # Safety
/// `real` and `methods` are the wrapped file's.
unsafe fn flush(
    real: *mut ffi::sqlite3_file,
    methods: &ffi::sqlite3_io_methods,
    buffer: &mut Buffer,
) -> c_int {
    if buffer.failed {
        return ffi::SQLITE_IOERR_WRITE;
    }
    if buffer.data.is_empty() {
        return ffi::SQLITE_OK;
    }
    if buffer.writes > 1 {
        GATHERED.fetch_add(1, Ordering::Relaxed);
    }
    let mut rc = ffi::SQLITE_OK;
    let mut offset = buffer.offset;
    for chunk in buffer.data.chunks(WRITE_AT_MOST) {
        // SAFETY: the real file's write, with the buffer's bytes (a chunk is under 128 KiB:
        // its length fits a c_int).
        rc = methods
            .xWrite
            .map_or(ffi::SQLITE_IOERR_WRITE, |write| unsafe {
                write(real, chunk.as_ptr().cast(), chunk.len() as c_int, offset)
            });
        if rc != ffi::SQLITE_OK {
            break;
        }
        offset += chunk.len() as i64;
    }
    buffer.data.clear();
    buffer.writes = 0;
    if rc != ffi::SQLITE_OK {
        buffer.failed = true;
        return ffi::SQLITE_IOERR_WRITE;
    }
    ffi::SQLITE_OK
}

/// Drops what is buffered and forgets a failure: the connection gave up the write lock, so
/// what is left belongs to a transaction rolled back.
fn discard(buffer: &mut Buffer) {
    if !buffer.data.is_empty() {
        buffer.end = buffer.offset;
    }
    buffer.data.clear();
    buffer.writes = 0;
    buffer.commit_next = false;
    buffer.failed = false;
}

/// Flushes, then runs `f` on the real file if the flush went well.
///
/// # Safety
/// `file` is a [`WalFile`] set up by [`open`] and not closed.
unsafe fn flushed(
    file: *mut ffi::sqlite3_file,
    f: impl FnOnce(*mut ffi::sqlite3_file, &ffi::sqlite3_io_methods) -> c_int,
) -> c_int {
    // SAFETY: per the contract.
    unsafe {
        let (real, methods, buffer) = parts(file);
        let rc = flush(real, methods, buffer);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        f(real, methods)
    }
}

unsafe extern "C" fn wal_close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes a file once; the buffer is dropped here and never used again.
    unsafe {
        let (real, methods, buffer) = parts(file);
        let written = flush(real, methods, buffer);
        let closed = methods.xClose.map_or(ffi::SQLITE_OK, |close| close(real));
        let wal = file.cast::<WalFile>();
        if !(*wal).db.is_null() {
            (*(*wal).db).wal = std::ptr::null_mut();
        }
        drop(Box::from_raw((*wal).buffer));
        (*file).pMethods = std::ptr::null();
        if written != ffi::SQLITE_OK {
            written
        } else {
            closed
        }
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    data: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite passes `amount` readable bytes at `data`.
    unsafe {
        let (real, methods, buffer) = parts(file);
        if buffer.failed {
            return ffi::SQLITE_IOERR_WRITE;
        }
        let Some(real_write) = methods.xWrite else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        if buffer.through {
            return real_write(real, data, amount, offset);
        }
        let Ok(len) = usize::try_from(amount) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let bytes = std::slice::from_raw_parts(data.cast::<u8>(), len);
        let reach = offset.saturating_add(len as i64);
        if offset == 0 {
            // The WAL header: the log starts over from the beginning.
            let rc = flush(real, methods, buffer);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            buffer.end = 0;
        }
        let appends = if buffer.data.is_empty() {
            offset >= buffer.end
        } else {
            offset == buffer.end
        };
        if !appends {
            // A frame of this transaction rewritten in place, or its checksums: what is
            // buffered goes first, then this, straight to the file.
            let rc = flush(real, methods, buffer);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            let rc = real_write(real, data, amount, offset);
            if rc != ffi::SQLITE_OK {
                buffer.failed = true;
                return ffi::SQLITE_IOERR_WRITE;
            }
            buffer.end = buffer.end.max(reach);
            buffer.commit_next = false;
            return ffi::SQLITE_OK;
        }
        if buffer.data.is_empty() {
            buffer.offset = offset;
        }
        buffer.data.extend_from_slice(bytes);
        buffer.writes += 1;
        buffer.end = reach;
        let commit_page = buffer.commit_next && len != FRAME_HEADER;
        buffer.commit_next = len == FRAME_HEADER && bytes[4..8] != [0, 0, 0, 0];
        if commit_page || buffer.data.len() >= LIMIT {
            return flush(real, methods, buffer);
        }
        ffi::SQLITE_OK
    }
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    data: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: forwarded as given, after the flush.
    unsafe {
        flushed(file, |real, m| {
            m.xRead
                .map_or(ffi::SQLITE_IOERR_READ, |f| f(real, data, amount, offset))
        })
    }
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    // SAFETY: forwarded as given, after the flush.
    unsafe {
        flushed(file, |real, m| {
            m.xTruncate
                .map_or(ffi::SQLITE_IOERR_TRUNCATE, |f| f(real, size))
        })
    }
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: forwarded as given, after the flush.
    unsafe {
        flushed(file, |real, m| {
            m.xSync.map_or(ffi::SQLITE_IOERR_FSYNC, |f| f(real, flags))
        })
    }
}

unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    // SAFETY: forwarded as given, after the flush.
    unsafe {
        flushed(file, |real, m| {
            m.xFileSize
                .map_or(ffi::SQLITE_IOERR_FSTAT, |f| f(real, size))
        })
    }
}

unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: forwarded as given, after the flush.
    unsafe {
        flushed(file, |real, m| {
            m.xFileControl
                .map_or(ffi::SQLITE_NOTFOUND, |f| f(real, op, arg))
        })
    }
}

unsafe extern "C" fn fetch(
    file: *mut ffi::sqlite3_file,
    offset: i64,
    amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: forwarded as given, after the flush; without the method, no mapping.
    unsafe {
        flushed(file, |real, m| match m.xFetch {
            Some(f) => f(real, offset, amount, out),
            None => {
                *out = std::ptr::null_mut();
                ffi::SQLITE_OK
            }
        })
    }
}

/// Forwards a method to the default VFS's file as it is (both kinds of wrapped file).
macro_rules! forward {
    ($name:ident, $method:ident, $missing:expr, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: forwarded as given to the real file.
            unsafe {
                let (real, m) = real(file);
                m.$method.map_or($missing, |f| f(real $(, $arg)*))
            }
        }
    };
}

// A database file's methods that a WAL file flushes its buffer before.
forward!(real_read, xRead, ffi::SQLITE_IOERR_READ, (data: *mut c_void, amount: c_int, offset: i64));
forward!(real_write, xWrite, ffi::SQLITE_IOERR_WRITE, (data: *const c_void, amount: c_int, offset: i64));
forward!(real_truncate, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, (size: i64));
forward!(real_sync, xSync, ffi::SQLITE_IOERR_FSYNC, (flags: c_int));
forward!(real_file_size, xFileSize, ffi::SQLITE_IOERR_FSTAT, (size: *mut i64));
forward!(real_file_control, xFileControl, ffi::SQLITE_NOTFOUND, (op: c_int, arg: *mut c_void));
forward!(real_fetch, xFetch, ffi::SQLITE_OK, (offset: i64, amount: c_int, out: *mut *mut c_void));
// Both kinds' (a database file's `xShmLock` also watches the write lock: `db_shm_lock`).

forward!(lock, xLock, ffi::SQLITE_IOERR_LOCK, (level: c_int));
forward!(unlock, xUnlock, ffi::SQLITE_IOERR_UNLOCK, (level: c_int));
forward!(check_reserved_lock, xCheckReservedLock, ffi::SQLITE_IOERR_CHECKRESERVEDLOCK, (out: *mut c_int));
forward!(sector_size, xSectorSize, 4096, ());
forward!(device_characteristics, xDeviceCharacteristics, 0, ());
forward!(shm_map, xShmMap, ffi::SQLITE_IOERR_SHMMAP, (page: c_int, size: c_int, extend: c_int, out: *mut *mut c_void));
forward!(shm_lock, xShmLock, ffi::SQLITE_IOERR_SHMLOCK, (offset: c_int, n: c_int, flags: c_int));
forward!(shm_unmap, xShmUnmap, ffi::SQLITE_OK, (delete: c_int));
forward!(unfetch, xUnfetch, ffi::SQLITE_OK, (offset: i64, p: *mut c_void));

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    // SAFETY: forwarded to the real file.
    unsafe {
        let (real, m) = real(file);
        if let Some(f) = m.xShmBarrier {
            f(real);
        }
    }
}

static WAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(wal_close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

unsafe extern "C" fn db_close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes a file once; its WAL (closed before it) is unlinked either way.
    unsafe {
        let db = file.cast::<DbFile>();
        if !(*db).wal.is_null() {
            (*(*db).wal).db = std::ptr::null_mut();
            (*(*(*db).wal).buffer).through = true;
        }
        let (real, m) = real(file);
        let rc = m.xClose.map_or(ffi::SQLITE_OK, |close| close(real));
        (*file).pMethods = std::ptr::null();
        rc
    }
}

unsafe extern "C" fn db_shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: the WAL linked to this file is open (it unlinks itself when it closes) and used
    // by this connection's thread, which is the one calling.
    unsafe {
        let db = &*file.cast::<DbFile>();
        if offset == 0 && flags == WRITE_LOCK_RELEASED && !db.wal.is_null() {
            discard(&mut *(*db.wal).buffer);
        }
        let (real, m) = real(file);
        m.xShmLock
            .map_or(ffi::SQLITE_IOERR_SHMLOCK, |f| f(real, offset, n, flags))
    }
}

static DB_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(db_close),
    xRead: Some(real_read),
    xWrite: Some(real_write),
    xTruncate: Some(real_truncate),
    xSync: Some(real_sync),
    xFileSize: Some(real_file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(real_file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(db_shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(real_fetch),
    xUnfetch: Some(unfetch),
};
