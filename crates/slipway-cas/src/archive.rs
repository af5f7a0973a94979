//! Deterministic tar+zstd archives of paths under a workspace and a home directory, stored as
//! blobs, and their safe extraction.
//!
//! Format: a GNU tar stream compressed with zstd. Entries are named `workspace/<path>` or
//! `home/<path>` so that one archive can carry paths from both roots and restore each to its own. The same tree always gives the same bytes: entries are sorted by name,
//! mtimes are 0, owners are 0/0 without names, only the permission bits of the mode are kept,
//! and no extended attributes are written. zstd's multithreaded output does not depend on the
//! number of workers (as long as there is at least one), so neither does the digest.

use crate::blob::{BlobReader, BlobStore};
use crate::digest::{COPY_BUF, HashingReader, HashingWriter};
use crate::error::{Result, blocking};
use crate::{Digest, Error};
use std::collections::{BTreeMap, HashSet};
use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, DirBuilder, File, Metadata, OpenOptions};
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The root a [`PathSpec`] is relative to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Root {
    /// The job's workspace.
    Workspace,
    /// The home directory of the user running the job (`~/...` in a pipeline).
    Home,
}

impl Root {
    /// The first component of this root's entries in an archive.
    fn prefix(self) -> &'static str {
        match self {
            Root::Workspace => "workspace",
            Root::Home => "home",
        }
    }
}

/// A path relative to a [`Root`], normalised: no `.`, `..`, or empty components. An empty path
/// stands for the root itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PathSpec {
    root: Root,
    path: PathBuf,
}

impl PathSpec {
    /// Parses a path as written in a pipeline: `~` or `~/...` is under the home directory,
    /// anything else relative to the workspace (`.` is the workspace itself). Absolute paths,
    /// `..` and `~user` are refused.
    pub fn parse(spec: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidPath {
            path: spec.to_owned(),
            reason,
        };
        let (root, rest) = match spec.strip_prefix('~') {
            Some("") => (Root::Home, ""),
            Some(rest) => match rest.strip_prefix('/') {
                Some(rest) => (Root::Home, rest),
                None => return Err(invalid("only `~/` is supported, not `~user/`")),
            },
            None => (Root::Workspace, spec),
        };
        if spec.is_empty() {
            return Err(invalid("the path is empty"));
        }
        if root == Root::Workspace && spec.starts_with('/') {
            return Err(invalid(
                "it must be relative to the workspace, or start with `~/`",
            ));
        }
        let mut path = PathBuf::new();
        for part in rest.split('/').filter(|p| !p.is_empty() && *p != ".") {
            if part == ".." {
                return Err(invalid("it must not contain `..`"));
            }
            path.push(part);
        }
        Ok(Self { root, path })
    }

    pub fn root(&self) -> Root {
        self.root
    }

    /// The path relative to the root; empty for the root itself.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for PathSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match (self.root, self.path.as_os_str().is_empty()) {
            (Root::Workspace, true) => f.write_str("."),
            (Root::Workspace, false) => write!(f, "{path}"),
            (Root::Home, true) => f.write_str("~"),
            (Root::Home, false) => write!(f, "~/{path}"),
        }
    }
}

/// The directories that [`PathSpec`]s are resolved against.
#[derive(Clone, Debug)]
pub struct Roots {
    pub workspace: PathBuf,
    pub home: Option<PathBuf>,
}

impl Roots {
    /// A workspace with no home directory (enough for job outputs).
    pub fn workspace(workspace: impl Into<PathBuf>) -> Self {
        Self {
            workspace: workspace.into(),
            home: None,
        }
    }

    pub fn with_home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }

    fn dir(&self, root: Root, what: impl FnOnce() -> String) -> Result<&Path> {
        match root {
            Root::Workspace => Ok(&self.workspace),
            Root::Home => self
                .home
                .as_deref()
                .ok_or_else(|| Error::NoHomeRoot(what())),
        }
    }
}

/// What [`pack`] does with a path that does not exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Missing {
    /// Leave it out and list it in [`PackResult::missing`] (caches).
    #[default]
    Skip,
    /// Fail with "declared output `...` does not exist" (job outputs).
    Error,
}

/// A content check run on every file while packing: returning `true` aborts the pack with an error
/// naming the file. The runner passes its secret detector here.
///
/// It sees each file in windows of at most 1 MiB plus 4 KiB; consecutive windows overlap by
/// 4 KiB, so any string up to 4 KiB long is seen whole in at least one window.
pub type Deny = Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// How much of the previous window a [`Deny`] check sees again.
const DENY_OVERLAP: usize = 4096;

/// Options for [`pack`].
#[derive(Clone)]
pub struct PackOptions {
    pub missing: Missing,
    pub deny: Option<Deny>,
    /// zstd level.
    pub level: i32,
    /// zstd worker threads; 0 is treated as 1 (the output differs between 0 and ≥1 workers,
    /// not between different counts ≥1).
    pub threads: u32,
}

impl Default for PackOptions {
    fn default() -> Self {
        Self {
            missing: Missing::Skip,
            deny: None,
            level: 3,
            threads: std::thread::available_parallelism()
                .map_or(1, |n| u32::try_from(n.get()).unwrap_or(1)),
        }
    }
}

impl fmt::Debug for PackOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackOptions")
            .field("missing", &self.missing)
            .field("deny", &self.deny.as_ref().map(|_| "<fn>"))
            .field("level", &self.level)
            .field("threads", &self.threads)
            .finish()
    }
}

/// What [`pack`] stored.
#[derive(Clone, Debug)]
pub struct PackResult {
    pub digest: Digest,
    /// Bytes of file content archived.
    pub bytes_in: u64,
    /// Size of the compressed archive (the blob).
    pub bytes_out: u64,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// Requested paths that did not exist (with [`Missing::Skip`]).
    pub missing: Vec<PathSpec>,
    /// Sockets, FIFOs and devices found under the requested paths; they are not archived.
    pub skipped: Vec<String>,
    pub elapsed: Duration,
}

/// What [`unpack`] restored.
#[derive(Clone, Debug)]
pub struct UnpackResult {
    pub digest: Digest,
    /// Size of the compressed archive read.
    pub bytes_in: u64,
    /// Bytes of file content written.
    pub bytes_out: u64,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub elapsed: Duration,
}

/// Archives `entries` into one blob and returns its digest and sizes. The archive is streamed
/// into a staging file, hashed as it is written, and published under its digest.
pub async fn pack(
    store: &BlobStore,
    roots: &Roots,
    entries: &[PathSpec],
    options: &PackOptions,
) -> Result<PackResult> {
    let start = Instant::now();
    let staged = store.stage()?;
    let (roots, entries, options) = (roots.clone(), entries.to_vec(), options.clone());
    let (plan, written, staged) = blocking(move || {
        let plan = Plan::collect(&roots, &entries, options.missing)?;
        let (file, staged) = staged.into_parts();
        let written = write_archive(&plan, file, &staged, &options)?;
        Ok((plan, written, staged))
    })
    .await?;
    store.publish(staged, &written.digest).await?;
    Ok(PackResult {
        digest: written.digest,
        bytes_in: written.content_bytes,
        bytes_out: written.archive_bytes,
        files: plan.files,
        dirs: plan.dirs,
        symlinks: plan.symlinks,
        missing: plan.missing,
        skipped: plan.skipped,
        elapsed: start.elapsed(),
    })
}

/// Extracts an archive made by [`pack`] into `roots`, replacing files and symlinks that are in the
/// way and keeping existing directories. Restored files get the current time as mtime, so build
/// tools see them as newer than the sources checked out before the restore.
///
/// Refused (tar-slip protection): absolute names, `..`, names outside `workspace/` and `home/`,
/// anything that would be written through a symlink (whether the symlink came from the archive or
/// was already there), and entry types other than files, directories and symlinks.
///
/// The blob's digest is verified while it streams; a corrupted blob fails with
/// [`Error::Corrupt`], possibly after some files were written.
pub async fn unpack(store: &BlobStore, digest: &Digest, roots: &Roots) -> Result<UnpackResult> {
    let start = Instant::now();
    let reader = store.open_blob(digest).await?;
    let (digest, roots) = (*digest, roots.clone());
    let mut result = blocking(move || extract(reader, digest, &roots)).await?;
    result.elapsed = start.elapsed();
    Ok(result)
}

// --- packing -----------------------------------------------------------------------------------

enum Item {
    Dir { mode: u32 },
    File { path: PathBuf, size: u64, mode: u32 },
    Symlink { target: PathBuf },
}

/// Everything to archive, keyed and so sorted by archive name. Overlapping specs collapse.
#[derive(Default)]
struct Plan {
    items: BTreeMap<Vec<u8>, Item>,
    missing: Vec<PathSpec>,
    skipped: Vec<String>,
    files: u64,
    dirs: u64,
    symlinks: u64,
}

impl Plan {
    fn collect(roots: &Roots, specs: &[PathSpec], missing: Missing) -> Result<Self> {
        let mut plan = Plan::default();
        for spec in specs {
            let root = roots.dir(spec.root, || format!("`{spec}`"))?;
            let full = root.join(&spec.path);
            let is_root = spec.path.as_os_str().is_empty();
            // The root itself is configuration, so a symlink there is followed; below it,
            // symlinks are archived as symlinks.
            let meta = match if is_root {
                fs::metadata(&full)
            } else {
                fs::symlink_metadata(&full)
            } {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => match missing {
                    Missing::Skip => {
                        plan.missing.push(spec.clone());
                        continue;
                    }
                    Missing::Error => return Err(Error::MissingOutput(spec.to_string())),
                },
                Err(e) => return Err(Error::io("read", full)(e)),
            };
            let mut name = spec.root.prefix().as_bytes().to_vec();
            for part in spec.path.iter() {
                name.push(b'/');
                name.extend_from_slice(part.as_bytes());
            }
            plan.walk(name, full, meta, is_root)?;
        }
        for item in plan.items.values() {
            match item {
                Item::Dir { .. } => plan.dirs += 1,
                Item::File { .. } => plan.files += 1,
                Item::Symlink { .. } => plan.symlinks += 1,
            }
        }
        Ok(plan)
    }

    /// Adds a path and everything under it. Symlinks are recorded, never followed. The root
    /// directory itself gets no entry: it exists wherever the archive is restored.
    fn walk(&mut self, name: Vec<u8>, full: PathBuf, meta: Metadata, is_root: bool) -> Result<()> {
        let mut stack = vec![(name, full, meta, is_root)];
        while let Some((name, full, meta, is_root)) = stack.pop() {
            let kind = meta.file_type();
            let mode = meta.permissions().mode() & 0o777;
            if kind.is_dir() {
                if !is_root {
                    self.items.insert(name.clone(), Item::Dir { mode });
                }
                for child in fs::read_dir(&full).map_err(Error::io("list", &full))? {
                    let child = child.map_err(Error::io("list", &full))?;
                    let child_path = child.path();
                    let child_meta = match child.metadata() {
                        Ok(m) => m,
                        // Deleted since it was listed: nothing left to archive.
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(Error::io("read", child_path)(e)),
                    };
                    let mut child_name = name.clone();
                    child_name.push(b'/');
                    child_name.extend_from_slice(child.file_name().as_bytes());
                    stack.push((child_name, child_path, child_meta, false));
                }
            } else if kind.is_file() {
                self.items.insert(
                    name,
                    Item::File {
                        path: full,
                        size: meta.len(),
                        mode,
                    },
                );
            } else if kind.is_symlink() {
                let target = fs::read_link(&full).map_err(Error::io("read the symlink", &full))?;
                self.items.insert(name, Item::Symlink { target });
            } else {
                self.skipped
                    .push(String::from_utf8_lossy(&name).into_owned());
            }
        }
        Ok(())
    }
}

struct Written {
    digest: Digest,
    content_bytes: u64,
    archive_bytes: u64,
}

/// Writes the tar stream through zstd into `out`, hashing the compressed bytes on the way.
fn write_archive(
    plan: &Plan,
    out: File,
    out_path: &Path,
    options: &PackOptions,
) -> Result<Written> {
    let write_err = || Error::io("write the archive", out_path);
    let sink = HashingWriter::new(BufWriter::with_capacity(COPY_BUF, out));
    let mut encoder = zstd::stream::write::Encoder::new(sink, options.level).map_err(write_err())?;
    encoder
        .multithread(options.threads.max(1))
        .map_err(write_err())?;
    // No xxhash frame checksums: the sha256 digest, verified on every read, already covers the
    // archive, and skipping them saves a pass over the data on both sides.
    encoder.include_checksum(false).map_err(write_err())?;
    // A buffer in front of zstd so the many small header writes reach it as large blocks.
    let mut tar = tar::Builder::new(BufWriter::with_capacity(COPY_BUF, encoder));
    let mut buf = vec![0u8; DENY_OVERLAP + COPY_BUF + 1];
    let mut content_bytes = 0;
    for (name, item) in &plan.items {
        let name = Path::new(OsStr::from_bytes(name));
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(0);
        match item {
            Item::Dir { mode } => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(*mode);
                tar.append_data(&mut header, name, io::empty())
                    .map_err(write_err())?;
            }
            Item::Symlink { target } => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                tar.append_link(&mut header, name, target)
                    .map_err(write_err())?;
            }
            Item::File { path, size, mode } => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                header.set_size(*size);
                // The builder writes the header (and a long-name entry if needed); the content is
                // copied below with our own buffer, size check and deny hook.
                tar.append_data(&mut header, name, io::empty())
                    .map_err(write_err())?;
                copy_content(
                    path,
                    *size,
                    tar.get_mut(),
                    options.deny.as_ref(),
                    &mut buf,
                    out_path,
                )?;
                let padding = (512 - (*size % 512) as usize) % 512;
                tar.get_mut()
                    .write_all(&[0; 512][..padding])
                    .map_err(write_err())?;
                content_bytes += size;
            }
        }
    }
    let encoder = tar
        .into_inner()
        .and_then(|buffered| {
            buffered
                .into_inner()
                .map_err(io::IntoInnerError::into_error)
        })
        .map_err(write_err())?;
    let (digest, archive_bytes, file) = encoder.finish().map_err(write_err())?.finish();
    file.into_inner().map_err(|e| write_err()(e.into_error()))?;
    Ok(Written {
        digest,
        content_bytes,
        archive_bytes,
    })
}

/// Copies exactly `size` bytes of `path` (its size when it was listed) into the archive, running
/// `deny` over overlapping windows. A file that shrank or grew meanwhile is an error: the tar
/// header already promised `size` bytes.
fn copy_content(
    path: &Path,
    size: u64,
    out: &mut impl Write,
    deny: Option<&Deny>,
    buf: &mut [u8],
    out_path: &Path,
) -> Result<()> {
    let mut file = File::open(path).map_err(Error::io("read", path))?;
    let mut remaining = size;
    let mut carry = 0;
    loop {
        // The last read asks for one byte more than expected, so growth shows up without an extra
        // read at end of file.
        let want = if remaining < COPY_BUF as u64 {
            remaining as usize + 1
        } else {
            COPY_BUF
        };
        let n = match file.read(&mut buf[carry..carry + want]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("read", path)(e)),
        };
        if n as u64 > remaining || (n == 0 && remaining > 0) {
            return Err(Error::Changed(path.to_owned()));
        }
        if n == 0 {
            return Ok(());
        }
        let window = &buf[..carry + n];
        if deny.is_some_and(|deny| deny(window)) {
            return Err(Error::Denied(path.to_owned()));
        }
        out.write_all(&buf[carry..carry + n])
            .map_err(Error::io("write the archive", out_path))?;
        remaining -= n as u64;
        if deny.is_some() {
            let keep = (carry + n).min(DENY_OVERLAP);
            buf.copy_within(carry + n - keep..carry + n, 0);
            carry = keep;
        }
        if remaining == 0 && want > n {
            // The read asked for more than was left and got exactly the rest: end of file.
            return Ok(());
        }
    }
}

// --- unpacking ---------------------------------------------------------------------------------

/// Decompressed bytes travel from the decompression thread to the extraction thread in chunks of
/// this size, so the two work in parallel like `zstd -d | tar -x`.
const CHUNK: usize = 1 << 20;
const CHUNKS_IN_FLIGHT: usize = 4;
/// Files up to this size are read into memory and handed to writer threads, so that creating and
/// writing files (most of the cost of extraction, in the kernel) runs in parallel with parsing
/// and decompression. Larger files are written by the extracting thread as they stream.
const POOLED_FILE_MAX: u64 = 16 << 20;
/// At most this much file content waits for the writers (one larger file may go alone).
const POOLED_BYTES: u64 = 64 << 20;
const JOBS_IN_FLIGHT: usize = 256;
const MAX_WRITERS: usize = 4;

fn extract(reader: BlobReader, digest: Digest, roots: &Roots) -> Result<UnpackResult> {
    // Declared first so it outlives the queued jobs, which borrow it.
    let pool = WriterPool::default();
    // blob reader -> decompressor -> extractor (this thread) -> writers
    let (blob_tx, blob_rx) = sync_channel(CHUNKS_IN_FLIGHT);
    let (blob_recycle_tx, blob_recycle_rx) = channel();
    let (chunks_tx, chunks_rx) = sync_channel(CHUNKS_IN_FLIGHT);
    let (recycle_tx, recycle_rx) = channel();
    let (jobs_tx, jobs_rx) = sync_channel(JOBS_IN_FLIGHT);
    let jobs_rx = Mutex::new(jobs_rx);
    let writer_count = std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_WRITERS));
    std::thread::scope(|scope| {
        let spawn_err = |e| Error::Task(format!("cannot start an extraction thread: {e}"));
        let mut writers = Vec::with_capacity(writer_count);
        for i in 0..writer_count {
            let (jobs, pool) = (&jobs_rx, &pool);
            let writer = std::thread::Builder::new()
                .name(format!("cas-unpack-write-{i}"))
                .spawn_scoped(scope, move || write_files(jobs, pool, digest))
                .map_err(spawn_err)?;
            writers.push(writer);
        }
        let blob_reader = std::thread::Builder::new()
            .name("cas-unpack-read".into())
            .spawn_scoped(scope, move || {
                read_blob(reader, digest, blob_tx, blob_recycle_rx)
            })
            .map_err(spawn_err)?;
        let input = ChunkReader::new(blob_rx, blob_recycle_tx);
        let decompressor = std::thread::Builder::new()
            .name("cas-unpack-zstd".into())
            .spawn_scoped(scope, move || {
                decompress(input, digest, chunks_tx, recycle_rx)
            })
            .map_err(spawn_err)?;
        let extracted = Extractor::new(digest, roots, jobs_tx, &pool)
            .and_then(|x| x.run(ChunkReader::new(chunks_rx, recycle_tx)));
        // `run` has dropped the chunk receiver and the job sender, so the decompressor (and so
        // the blob reader) cannot block on a send and the writers run out of jobs.
        let panicked = |_| Error::Task("an extraction thread panicked".into());
        for writer in writers {
            writer.join().map_err(panicked)?;
        }
        let decompressed = decompressor.join().map_err(panicked)?;
        let compressed_bytes = blob_reader.join().map_err(panicked)?;
        // A corrupted blob explains whatever else went wrong, so it takes precedence; then an
        // archive that does not decompress.
        let compressed_bytes = compressed_bytes?;
        decompressed?;
        if let Some(e) = pool.take_error() {
            return Err(e);
        }
        let (mut result, deferred_modes) = extracted?;
        // Last, once every file is written: these directories may not be writable.
        for (dir, mode) in deferred_modes.iter().rev() {
            fs::set_permissions(dir, fs::Permissions::from_mode(*mode))
                .map_err(Error::io("set the mode of", dir))?;
        }
        result.bytes_in = compressed_bytes;
        Ok(result)
    })
}

/// A file small enough to be read into memory and written by the writer threads.
struct WriteJob<'a> {
    path: PathBuf,
    mode: u32,
    data: Vec<u8>,
    /// The entry's name, for error messages.
    entry: Vec<u8>,
    /// Frees the job's share of [`POOLED_BYTES`] when the job is done with, however that ends.
    _reservation: Reservation<'a>,
}

/// What the extracting thread and the writer threads share: the first error of any writer (the
/// others stop writing once it is set), and the amount of file content waiting to be written.
#[derive(Default)]
struct WriterPool {
    failed: AtomicBool,
    error: Mutex<Option<Error>>,
    in_flight: Mutex<u64>,
    written: Condvar,
}

impl WriterPool {
    fn fail(&self, e: Error) {
        let mut slot = self.error.lock().unwrap_or_else(PoisonError::into_inner);
        slot.get_or_insert(e);
        self.failed.store(true, Ordering::Relaxed);
    }

    fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    fn take_error(&self) -> Option<Error> {
        self.error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Waits until `size` more bytes fit within [`POOLED_BYTES`].
    fn reserve(&self, size: u64) -> Reservation<'_> {
        let mut used = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *used > 0 && *used + size > POOLED_BYTES {
            used = self
                .written
                .wait(used)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *used += size;
        Reservation(self, size)
    }

    fn release(&self, size: u64) {
        *self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner) -= size;
        self.written.notify_one();
    }
}

/// Bytes reserved in a [`WriterPool`], given back when dropped.
struct Reservation<'a>(&'a WriterPool, u64);

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.0.release(self.1);
    }
}

/// A writer thread: creates and fills pooled files until the job channel closes.
fn write_files(jobs: &Mutex<Receiver<WriteJob<'_>>>, pool: &WriterPool, digest: Digest) {
    loop {
        let job = match jobs.lock().unwrap_or_else(PoisonError::into_inner).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        if pool.failed() {
            continue;
        }
        let written = create(&job.path, |p| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(job.mode)
                .open(p)
        })
        .and_then(|mut file| {
            file.write_all(&job.data)
                .map_err(|e| Fail::Error(Error::io("write", &job.path)(e)))
        });
        if let Err(fail) = written {
            pool.fail(fail.into_error(digest, &job.entry));
        }
    }
}

/// Reads the blob in chunks for the decompressor, hashing it on the way (on its own thread, to
/// keep hashing off the decompressor's critical path). If the decompressor stops early, the rest
/// is still hashed, so corruption is reported whatever else went wrong. Returns the blob's size.
fn read_blob(
    reader: BlobReader,
    digest: Digest,
    chunks: SyncSender<(Vec<u8>, usize)>,
    recycled: Receiver<Vec<u8>>,
) -> Result<u64> {
    let blob_err = |source| Error::BlobRead { digest, source };
    let mut hashing = HashingReader::new(reader);
    loop {
        let mut chunk = recycled.try_recv().unwrap_or_else(|_| vec![0; CHUNK]);
        let filled = fill(&mut hashing, &mut chunk).map_err(blob_err)?;
        if filled == 0 || chunks.send((chunk, filled)).is_err() {
            break;
        }
    }
    drop(chunks);
    let (actual, len) = hashing.finish().map_err(blob_err)?;
    if actual != digest {
        return Err(Error::Corrupt { digest, actual });
    }
    Ok(len)
}

/// Decompresses chunks of the blob into chunks of tar stream until the end, or until the
/// extractor hangs up.
fn decompress(
    input: ChunkReader,
    digest: Digest,
    chunks: SyncSender<(Vec<u8>, usize)>,
    recycled: Receiver<Vec<u8>>,
) -> Result<()> {
    // The blob reader reports corruption; a decoding failure of an intact blob means it never
    // was a zstd archive.
    let bad = |e: io::Error| Error::BadArchive {
        digest,
        message: e.to_string(),
    };
    let mut decoder = zstd::stream::read::Decoder::with_buffer(input).map_err(bad)?;
    loop {
        let mut chunk = recycled.try_recv().unwrap_or_else(|_| vec![0; CHUNK]);
        let filled = fill(&mut decoder, &mut chunk).map_err(bad)?;
        if filled == 0 || chunks.send((chunk, filled)).is_err() {
            return Ok(());
        }
    }
}

/// Reads until `buf` is full or the reader ends; returns how much was read.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The receiving end of a chunk channel, as a reader. Spent buffers go back for reuse.
struct ChunkReader {
    chunks: Receiver<(Vec<u8>, usize)>,
    recycle: Sender<Vec<u8>>,
    chunk: Vec<u8>,
    len: usize,
    pos: usize,
}

impl ChunkReader {
    fn new(chunks: Receiver<(Vec<u8>, usize)>, recycle: Sender<Vec<u8>>) -> Self {
        Self {
            chunks,
            recycle,
            chunk: Vec::new(),
            len: 0,
            pos: 0,
        }
    }
}

impl BufRead for ChunkReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.len {
            let Ok((chunk, len)) = self.chunks.recv() else {
                return Ok(&[]);
            };
            let spent = std::mem::replace(&mut self.chunk, chunk);
            if !spent.is_empty() {
                // The sender may be gone; then the buffer is simply freed.
                let _ = self.recycle.send(spent);
            }
            (self.len, self.pos) = (len, 0);
        }
        Ok(&self.chunk[self.pos..self.len])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.len);
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = buf.len().min(available.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

struct Extractor<'a> {
    digest: Digest,
    roots: &'a Roots,
    /// Directories known to be real directories (not symlinks) under a root, so each is checked
    /// with one `lstat` however many entries it holds.
    verified: HashSet<PathBuf>,
    /// Directories whose mode lacks owner write or search permission: created writable and given
    /// their real mode at the end, or their own entries could not be written.
    deferred_modes: Vec<(PathBuf, u32)>,
    jobs: SyncSender<WriteJob<'a>>,
    pool: &'a WriterPool,
    buf: Vec<u8>,
    result: UnpackResult,
}

impl<'a> Extractor<'a> {
    fn new(
        digest: Digest,
        roots: &'a Roots,
        jobs: SyncSender<WriteJob<'a>>,
        pool: &'a WriterPool,
    ) -> Result<Self> {
        for root in std::iter::once(&roots.workspace).chain(&roots.home) {
            fs::create_dir_all(root).map_err(Error::io("create", root))?;
        }
        Ok(Self {
            digest,
            roots,
            verified: HashSet::new(),
            deferred_modes: Vec::new(),
            jobs,
            pool,
            buf: vec![0; COPY_BUF],
            result: UnpackResult {
                digest,
                bytes_in: 0,
                bytes_out: 0,
                files: 0,
                dirs: 0,
                symlinks: 0,
                elapsed: Duration::ZERO,
            },
        })
    }

    /// Restores every entry; returns what was restored and the directory modes still to set.
    fn run(mut self, reader: ChunkReader) -> Result<(UnpackResult, Vec<(PathBuf, u32)>)> {
        let bad = |digest, e: io::Error| Error::BadArchive {
            digest,
            message: e.to_string(),
        };
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(|e| bad(self.digest, e))? {
            if self.pool.failed() {
                // A writer failed; its error is reported by `extract`.
                return Ok((self.result, self.deferred_modes));
            }
            let mut entry = entry.map_err(|e| bad(self.digest, e))?;
            self.entry(&mut entry)?;
        }
        // Read to the end so the decompressor finishes and the whole blob gets hashed.
        io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(|e| bad(self.digest, e))?;
        Ok((self.result, self.deferred_modes))
    }

    fn entry(&mut self, entry: &mut tar::Entry<'_, ChunkReader>) -> Result<()> {
        let raw = entry.path_bytes().into_owned();
        self.restore(entry, &raw)
            .map_err(|fail| fail.into_error(self.digest, &raw))
    }

    fn restore(&mut self, entry: &mut tar::Entry<'_, ChunkReader>, raw: &[u8]) -> Result<(), Fail> {
        let (root, rel) = self.resolve(raw)?;
        let kind = entry.header().entry_type();
        let mode = entry.header().mode().map_err(|e| self.bad(e))? & 0o777;
        if rel.as_os_str().is_empty() {
            // The root itself: it exists, and only a directory entry makes sense for it.
            return match kind {
                tar::EntryType::Directory => Ok(()),
                _ => Err(Fail::Unsafe("it names a root directory, not a file".into())),
            };
        }
        let path = root.join(&rel);
        self.ensure_parents(root, &rel)?;
        match kind {
            tar::EntryType::Directory => {
                self.dir(&path, mode)?;
                self.result.dirs += 1;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous
                if entry.size() <= POOLED_FILE_MAX =>
            {
                let size = entry.size();
                let reservation = self.pool.reserve(size);
                let mut data = Vec::with_capacity(size as usize);
                entry
                    .read_to_end(&mut data)
                    .map_err(|e| Fail::Error(self.bad(e)))?;
                self.result.files += 1;
                self.result.bytes_out += data.len() as u64;
                let job = WriteJob {
                    path,
                    mode,
                    data,
                    entry: raw.to_vec(),
                    _reservation: reservation,
                };
                // Fails only if every writer is gone, which means they panicked: `extract` says so.
                if self.jobs.send(job).is_err() {
                    return Err(Fail::Error(Error::Task(
                        "the extraction threads stopped".into(),
                    )));
                }
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut file = create(&path, |p| {
                    OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(mode)
                        .open(p)
                })?;
                let written = copy_entry(entry, &mut file, &mut self.buf).map_err(|e| match e {
                    CopyError::Read(e) => Fail::Error(self.bad(e)),
                    CopyError::Write(e) => Fail::Error(Error::io("write", &path)(e)),
                })?;
                self.result.files += 1;
                self.result.bytes_out += written;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| Fail::Unsafe("the symlink has no target".into()))?
                    .into_owned();
                create(&path, |p| {
                    std::os::unix::fs::symlink(OsStr::from_bytes(&target), p)
                })?;
                self.result.symlinks += 1;
            }
            // Archive-wide pax metadata: nothing to restore.
            tar::EntryType::XGlobalHeader => {}
            tar::EntryType::Link => return Err(Fail::Unsafe("hard links are not restored".into())),
            other => {
                return Err(Fail::Unsafe(format!(
                    "unsupported entry type {other:?}: only files, directories and symlinks are restored"
                )));
            }
        }
        Ok(())
    }

    fn bad(&self, e: io::Error) -> Error {
        Error::BadArchive {
            digest: self.digest,
            message: e.to_string(),
        }
    }

    /// Maps an entry name to its root and relative path.
    fn resolve(&self, raw: &[u8]) -> Result<(&'a Path, PathBuf), Fail> {
        if raw.starts_with(b"/") {
            return Err(Fail::Unsafe("absolute paths are not allowed".into()));
        }
        let mut parts = raw
            .split(|b| *b == b'/')
            .filter(|p| !p.is_empty() && *p != b".");
        if parts.clone().any(|p| p == b"..") {
            return Err(Fail::Unsafe("`..` is not allowed in paths".into()));
        }
        let root = match parts.next() {
            Some(b"workspace") => &self.roots.workspace,
            Some(b"home") => self.roots.home.as_ref().ok_or_else(|| {
                Fail::Unsafe(
                    "it belongs in the home directory, but no home directory was given".into(),
                )
            })?,
            _ => {
                return Err(Fail::Unsafe(
                    "it is outside `workspace/` and `home/`".into(),
                ));
            }
        };
        Ok((root, parts.map(OsStr::from_bytes).collect()))
    }

    /// Makes sure every directory between `root` and the entry is a real directory (not a
    /// symlink), creating missing ones.
    fn ensure_parents(&mut self, root: &Path, rel: &Path) -> Result<(), Fail> {
        let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) else {
            return Ok(());
        };
        if self.verified.contains(&root.join(parent)) {
            return Ok(());
        }
        let mut dir = root.to_path_buf();
        for part in parent.iter() {
            dir.push(part);
            if self.verified.contains(&dir) {
                continue;
            }
            match fs::symlink_metadata(&dir) {
                Ok(meta) => existing_dir(&dir, &meta)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&dir).map_err(Error::io("create", &dir))?;
                }
                Err(e) => return Err(Error::io("read", dir)(e).into()),
            }
            self.verified.insert(dir.clone());
        }
        Ok(())
    }

    /// Creates or keeps a directory. Anything else in the way is refused: replacing a symlink
    /// could mean following it later.
    fn dir(&mut self, path: &Path, mode: u32) -> Result<(), Fail> {
        let writable = mode | 0o700;
        match DirBuilder::new().mode(writable).create(path) {
            Ok(()) if writable != mode => self.deferred_modes.push((path.to_owned(), mode)),
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                match fs::symlink_metadata(path) {
                    Ok(meta) => existing_dir(path, &meta)?,
                    Err(e) => return Err(Error::io("read", path)(e).into()),
                }
            }
            Err(e) => return Err(Error::io("create", path)(e).into()),
        }
        self.verified.insert(path.to_owned());
        Ok(())
    }
}

/// Why an entry was not restored.
enum Fail {
    /// The archive asks for something unsafe; the reason is shown with the entry's name.
    Unsafe(String),
    Error(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Error(e)
    }
}

impl Fail {
    fn into_error(self, digest: Digest, entry: &[u8]) -> Error {
        match self {
            Fail::Unsafe(reason) => Error::UnsafeEntry {
                digest,
                entry: String::from_utf8_lossy(entry).into_owned(),
                reason,
            },
            Fail::Error(e) => e,
        }
    }
}

/// Creates a file or symlink with `make`, which must fail if the path exists (`create_new`,
/// `symlink`), so a symlink in the way is never followed. A file or symlink in the way is
/// removed first; a directory is refused.
fn create<T>(path: &Path, make: impl Fn(&Path) -> io::Result<T>) -> Result<T, Fail> {
    match make(path) {
        Ok(made) => return Ok(made),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io("create", path)(e).into()),
    }
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(Fail::Unsafe(format!(
                "`{}` is a directory in the way",
                path.display()
            )));
        }
        Ok(_) => fs::remove_file(path).map_err(Error::io("replace", path))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("read", path)(e).into()),
    }
    Ok(make(path).map_err(Error::io("create", path))?)
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// Copies an entry's content to its file through one large buffer, telling read (archive)
/// failures from write (destination) failures.
fn copy_entry(entry: &mut impl Read, file: &mut File, buf: &mut [u8]) -> Result<u64, CopyError> {
    let mut written = 0;
    loop {
        let n = match entry.read(buf) {
            Ok(0) => return Ok(written),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        file.write_all(&buf[..n]).map_err(CopyError::Write)?;
        written += n as u64;
    }
}

/// Accepts an existing directory; refuses a symlink (writing through it could escape the
/// destination) or a file in its place.
fn existing_dir(path: &Path, meta: &fs::Metadata) -> Result<(), Fail> {
    if meta.is_dir() {
        Ok(())
    } else if meta.file_type().is_symlink() {
        Err(Fail::Unsafe(format!(
            "`{}` is a symlink where a directory should be",
            path.display()
        )))
    } else {
        Err(Fail::Unsafe(format!(
            "`{}` is a file where a directory should be",
            path.display()
        )))
    }
}
