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
//! [`install`] registers a VFS in front of the default one and makes it the default. It leaves
//! every file but a WAL alone (SQLite gets the default VFS's own file). A WAL file gets a
//! buffer: consecutive writes are gathered, and written out together (in writes of up to
//! [`WRITE_AT_MOST`] bytes, the most the default VFS takes in one)
//!
//! - as soon as the page of a *commit frame* has been given (the frame header's "database
//!   size after commit" field is not 0): before that write returns, so before SQLite publishes
//!   the commit in the WAL index, where readers (in this or any other process) look for frames;
//!   a failed write fails the commit, as before;
//! - before any other use of the file: a read, a sync, a truncation, its size, a file control,
//!   closing it; and before a write that does not follow on from the buffer;
//! - once the buffer holds [`LIMIT`] bytes (a big transaction spilling pages).
//!
//! So a frame is never read from the file before it is there, a commit is in the file (the
//! operating system's) when SQLite would have had it there, and what SQLite writes is written
//! byte for byte at the same offsets, in the same order. The file format is SQLite's own: any
//! other SQLite opens these databases.
//!
//! # Safety
//! - SQLite uses a file from one thread at a time; the buffer is the file's own.
//! - The VFS and its method table live for the process (leaked once, in [`install`]).
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

/// A WAL file: SQLite's view of it, the default VFS's file (right after this, in the same
/// memory), and the buffer.
#[repr(C)]
struct WalFile {
    file: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    buffer: *mut Buffer,
}

/// Bytes from the wrapper's start to the default VFS's file (8-byte aligned).
const WRAPPER_SIZE: usize = std::mem::size_of::<WalFile>().next_multiple_of(8);

#[derive(Default)]
struct Buffer {
    data: Vec<u8>,
    /// The file offset of `data[0]`.
    offset: i64,
    /// The last write was the header of a commit frame: its page comes next.
    commit_next: bool,
    /// SQLite writes gathered in `data`.
    writes: u32,
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let base = base();
    // SAFETY: `base` is the default VFS, whose xOpen exists; SQLite gave `file` `szOsFile`
    // bytes, ours: room for the wrapper and the default VFS's file after it.
    unsafe {
        let Some(base_open) = (*base).xOpen else {
            return ffi::SQLITE_ERROR;
        };
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
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
        file.cast::<WalFile>().write(WalFile {
            file: ffi::sqlite3_file { pMethods: &METHODS },
            real,
            buffer: Box::into_raw(Box::default()),
        });
        rc
    }
}

/// The wrapped file's parts.
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
        let wal = &*file.cast::<WalFile>();
        (wal.real, &*(*wal.real).pMethods, &mut *wal.buffer)
    }
}

/// Writes the buffer out (and empties it, written or not).
///
/// # Safety
/// `real` and `methods` are the wrapped file's.
unsafe fn flush(
    real: *mut ffi::sqlite3_file,
    methods: &ffi::sqlite3_io_methods,
    buffer: &mut Buffer,
) -> c_int {
    if buffer.data.is_empty() {
        return ffi::SQLITE_OK;
    }
    let Some(write) = methods.xWrite else {
        buffer.data.clear();
        return ffi::SQLITE_IOERR_WRITE;
    };
    if buffer.writes > 1 {
        GATHERED.fetch_add(1, Ordering::Relaxed);
    }
    let mut rc = ffi::SQLITE_OK;
    let mut offset = buffer.offset;
    for chunk in buffer.data.chunks(WRITE_AT_MOST) {
        // SAFETY: the real file's write, with the buffer's bytes (a chunk is under 128 KiB:
        // its length fits a c_int).
        rc = unsafe { write(real, chunk.as_ptr().cast(), chunk.len() as c_int, offset) };
        if rc != ffi::SQLITE_OK {
            break;
        }
        offset += chunk.len() as i64;
    }
    buffer.data.clear();
    buffer.writes = 0;
    buffer.commit_next = false;
    rc
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

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes a file once; the buffer is dropped here and never used again.
    unsafe {
        let (real, methods, buffer) = parts(file);
        let written = flush(real, methods, buffer);
        let closed = methods.xClose.map_or(ffi::SQLITE_OK, |close| close(real));
        drop(Box::from_raw((*file.cast::<WalFile>()).buffer));
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
        let Ok(len) = usize::try_from(amount) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let bytes = std::slice::from_raw_parts(data.cast::<u8>(), len);
        let follows = i64::try_from(buffer.data.len())
            .ok()
            .and_then(|n| buffer.offset.checked_add(n))
            == Some(offset);
        if !buffer.data.is_empty() && !follows {
            let rc = flush(real, methods, buffer);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        if buffer.data.is_empty() {
            buffer.offset = offset;
        }
        buffer.data.extend_from_slice(bytes);
        buffer.writes += 1;
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

/// Forwards a method that neither reads nor writes the file's bytes.
macro_rules! forward {
    ($name:ident, $method:ident, $missing:expr, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: forwarded as given to the real file.
            unsafe {
                let (real, m, _) = parts(file);
                m.$method.map_or($missing, |f| f(real $(, $arg)*))
            }
        }
    };
}

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
        let (real, m, _) = parts(file);
        if let Some(f) = m.xShmBarrier {
            f(real);
        }
    }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
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
