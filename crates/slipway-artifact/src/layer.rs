//! Deterministic layers: the same files give the same bytes on any machine, at any time, as any
//! user. Entries are sorted; every header has uid/gid 0, no user or group names, the given mtime
//! (the commit time) and a fixed mode (0755 for directories and executables, 0644 otherwise);
//! no xattrs, no device numbers, no access times. Compression has fixed settings and an empty
//! gzip header (no name, mtime 0).

use crate::error::{Error, Result};
use slipway_cas::{Digest, HashingReader, HashingWriter};
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::thread;

/// How a layer is compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// gzip level 6, the registry-wide default every client reads.
    #[default]
    Gzip,
    /// zstd level 3, in zstd's multithreaded mode (its output does not depend on the number of
    /// workers).
    Zstd,
}

impl Compression {
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::Gzip => crate::oci::MEDIA_TYPE_LAYER_GZIP,
            Compression::Zstd => crate::oci::MEDIA_TYPE_LAYER_ZSTD,
        }
    }

    /// The compression of a layer media type, if Slipway reads it.
    pub fn of_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            crate::oci::MEDIA_TYPE_LAYER_GZIP
            | "application/vnd.docker.image.rootfs.diff.tar.gzip" => Some(Compression::Gzip),
            crate::oci::MEDIA_TYPE_LAYER_ZSTD => Some(Compression::Zstd),
            _ => None,
        }
    }
}

/// One entry of a layer, in archive order.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Path inside the image, relative, `/`-separated; directories end with `/`.
    pub name: String,
    pub source: PathBuf,
    pub kind: EntryKind,
}

#[derive(Clone, Debug)]
pub enum EntryKind {
    Dir,
    File { size: u64, executable: bool },
    Symlink { target: String },
}

/// Lists what a layer made from `source` holds: a file becomes `<prefix>/<file name>`, a
/// directory's contents go under `<prefix>/`. Parents come before children; siblings are sorted
/// by name.
pub fn collect(source: &Path, prefix: &str) -> Result<Vec<Entry>> {
    let meta = fs::symlink_metadata(source).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::MissingSource {
            path: source.to_owned(),
        },
        _ => Error::io("read", source)(e),
    })?;
    let mut entries = vec![Entry {
        name: format!("{prefix}/"),
        source: source.to_owned(),
        kind: EntryKind::Dir,
    }];
    if meta.is_dir() {
        walk(source, prefix, &mut entries)?;
    } else {
        let file_name =
            source
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| Error::NonUtf8Path {
                    path: source.to_owned(),
                })?;
        entries.push(entry(source, format!("{prefix}/{file_name}"), &meta)?);
    }
    Ok(entries)
}

fn walk(dir: &Path, name: &str, out: &mut Vec<Entry>) -> Result<()> {
    let mut children: Vec<(String, PathBuf)> = Vec::new();
    for child in fs::read_dir(dir).map_err(Error::io("list", dir))? {
        let child = child.map_err(Error::io("list", dir))?;
        let path = child.path();
        let file_name = child
            .file_name()
            .into_string()
            .map_err(|_| Error::NonUtf8Path { path: path.clone() })?;
        children.push((file_name, path));
    }
    children.sort();
    for (file_name, path) in children {
        let meta = fs::symlink_metadata(&path).map_err(Error::io("read", &path))?;
        let child_name = format!("{name}/{file_name}");
        if meta.is_dir() {
            out.push(Entry {
                name: format!("{child_name}/"),
                source: path.clone(),
                kind: EntryKind::Dir,
            });
            walk(&path, &child_name, out)?;
        } else {
            out.push(entry(&path, child_name, &meta)?);
        }
    }
    Ok(())
}

fn entry(path: &Path, name: String, meta: &fs::Metadata) -> Result<Entry> {
    use std::os::unix::fs::PermissionsExt;
    let file_type = meta.file_type();
    let kind = if file_type.is_file() {
        EntryKind::File {
            size: meta.len(),
            executable: meta.permissions().mode() & 0o111 != 0,
        }
    } else if file_type.is_symlink() {
        let target = fs::read_link(path).map_err(Error::io("read the link", path))?;
        let target = target
            .into_os_string()
            .into_string()
            .map_err(|_| Error::NonUtf8Path {
                path: path.to_owned(),
            })?;
        EntryKind::Symlink { target }
    } else {
        return Err(Error::Unsupported {
            path: path.to_owned(),
            what: "a socket, FIFO or device",
        });
    };
    Ok(Entry {
        name,
        source: path.to_owned(),
        kind,
    })
}

/// A layer as written.
#[derive(Clone, Debug)]
pub struct Written {
    /// Digest of the compressed blob.
    pub digest: Digest,
    pub size: u64,
    /// Digest of the uncompressed tar (the image config's `diff_id`).
    pub diff_id: Digest,
    pub files: u64,
    /// Bytes of file content.
    pub content_bytes: u64,
}

/// The most compression workers a layer gets: past this a runner's other jobs matter more, and
/// zstd holds about 20 MiB per worker.
const MAX_COMPRESSION_WORKERS: usize = 8;

/// Writes the entries as a tar stream, compressed, into `out`. Compression runs on one worker
/// per core (at most [`MAX_COMPRESSION_WORKERS`]); the bytes written do not depend on the number
/// of workers.
pub fn write(
    entries: &[Entry],
    mtime: u64,
    compression: Compression,
    out: File,
) -> Result<Written> {
    let workers = thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(MAX_COMPRESSION_WORKERS);
    write_with_workers(entries, mtime, compression, out, workers)
}

fn write_with_workers(
    entries: &[Entry],
    mtime: u64,
    compression: Compression,
    out: File,
    workers: usize,
) -> Result<Written> {
    let outer = HashingWriter::new(BufWriter::with_capacity(1 << 20, out));
    let (diff_id, files, content_bytes, outer) = match compression {
        Compression::Gzip => {
            parallel_gzip::write(entries, mtime, outer, workers, parallel_gzip::BLOCK_BYTES)?
        }
        Compression::Zstd => {
            let mut encoder =
                zstd::Encoder::new(outer, 3).map_err(Error::io("compress", "the layer"))?;
            // zstd's multithreaded mode cuts the stream into jobs by position alone, so its
            // output is the same for any number of workers from one up (not the same as with
            // none, which is why there is always at least one).
            encoder
                .multithread(u32::try_from(workers.max(1)).unwrap_or(u32::MAX))
                .map_err(Error::io("compress", "the layer"))?;
            let (diff_id, files, bytes, encoder) = write_tar(entries, mtime, encoder)?;
            let outer = encoder
                .finish()
                .map_err(Error::io("compress", "the layer"))?;
            (diff_id, files, bytes, outer)
        }
    };
    let (digest, size, mut file) = outer.finish();
    file.flush().map_err(Error::io("write", "the layer"))?;
    Ok(Written {
        digest,
        size,
        diff_id,
        files,
        content_bytes,
    })
}

/// gzip on every core with output that does not depend on how many there are (as pigz does it).
/// The tar stream is cut into blocks of a fixed size; each block is deflated on its own, with
/// the 32 KiB before it as a preset dictionary so it finds the same matches across the cut as
/// one long stream would, and ends with a sync flush so the blocks concatenate into one valid
/// deflate stream; the last block finishes the stream. The gzip member's CRC-32 is combined
/// from the blocks' CRCs. Blocks go to workers round-robin and come back in the same order.
mod parallel_gzip {
    use super::{Entry, Error, Result, write_tar};
    use flate2::{Compress, Crc, FlushCompress, Status};
    use slipway_cas::Digest;
    use std::io::{self, Write};
    use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
    use std::thread;

    /// Bytes of tar stream per block: large enough that the per-block dictionary (32 KiB more to
    /// hash) and flush cost little (the layer grows by under 0.01 %), small enough that a
    /// 100 MB layer gives every worker dozens of blocks.
    pub(super) const BLOCK_BYTES: usize = 1 << 20;
    /// Deflate's window: the most a match can reach back.
    const WINDOW_BYTES: usize = 32 << 10;
    /// Blocks waiting per worker, on each side: bounds memory to about 5 MiB per worker.
    const QUEUE_DEPTH: usize = 2;
    /// gzip level 6, the level `gzip` uses by default.
    const LEVEL: u32 = 6;
    /// A gzip member header with no name, no comment, mtime 0, no extra flags and OS "unknown",
    /// so nothing about the machine or the time ends up in the blob.
    const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

    struct Block {
        /// The last [`WINDOW_BYTES`] of the stream before `data`.
        dictionary: Vec<u8>,
        data: Vec<u8>,
        last: bool,
    }

    struct Deflated {
        bytes: Vec<u8>,
        crc: Crc,
        last: bool,
    }

    /// Tars `entries` into a gzip stream written to `out` with `workers` compression threads,
    /// in blocks of `block_bytes` ([`BLOCK_BYTES`]; tests use smaller blocks to get many).
    /// Returns the tar stream's digest, the files and content bytes archived, and `out`.
    pub(super) fn write<W: Write + Send>(
        entries: &[Entry],
        mtime: u64,
        out: W,
        workers: usize,
        block_bytes: usize,
    ) -> Result<(Digest, u64, u64, W)> {
        let mut block_senders = Vec::new();
        let mut deflated_receivers = Vec::new();
        let mut worker_ends = Vec::new();
        for _ in 0..workers.max(1) {
            let (block_sender, block_receiver) = sync_channel(QUEUE_DEPTH);
            let (deflated_sender, deflated_receiver) = sync_channel(QUEUE_DEPTH);
            block_senders.push(block_sender);
            deflated_receivers.push(deflated_receiver);
            worker_ends.push((block_receiver, deflated_sender));
        }
        let blocks = BlockSplitter {
            workers: block_senders,
            next_worker: 0,
            window: Vec::new(),
            block: Vec::with_capacity(block_bytes),
            block_bytes: block_bytes.max(1),
        };
        thread::scope(|scope| {
            for (block_receiver, deflated_sender) in worker_ends {
                scope.spawn(move || deflate_blocks(&block_receiver, &deflated_sender));
            }
            let writer = scope.spawn(move || write_member(&deflated_receivers, out));
            let archived =
                write_tar(entries, mtime, blocks).and_then(|(diff_id, files, bytes, blocks)| {
                    blocks
                        .finish()
                        .map_err(Error::io("compress", "the layer"))?;
                    Ok((diff_id, files, bytes))
                });
            let written = writer
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the layer writer thread panicked")));
            match (archived, written) {
                (Ok((diff_id, files, bytes)), Ok(out)) => Ok((diff_id, files, bytes, out)),
                // The writer stops on a real failure (deflate, the disk); the archiver then only
                // sees its queue close, so the writer's error is the one that explains it.
                (_, Err(e)) if e.kind() != io::ErrorKind::UnexpectedEof => {
                    Err(Error::io("write", "the layer")(e))
                }
                // The archiver stops on a real failure (a file that cannot be read); the writer
                // then only sees the stream end early.
                (Err(e), _) => Err(e),
                (Ok(_), Err(e)) => Err(Error::io("write", "the layer")(e)),
            }
        })
    }

    /// The tar stream's sink: cuts it into blocks and hands them out round-robin.
    struct BlockSplitter {
        workers: Vec<SyncSender<Block>>,
        next_worker: usize,
        window: Vec<u8>,
        block: Vec<u8>,
        block_bytes: usize,
    }

    impl BlockSplitter {
        fn send(&mut self, last: bool) -> io::Result<()> {
            let data = std::mem::replace(&mut self.block, Vec::with_capacity(self.block_bytes));
            let window = data
                .get(data.len().saturating_sub(WINDOW_BYTES)..)
                .unwrap_or_default();
            let dictionary = std::mem::replace(&mut self.window, window.to_vec());
            let worker = self
                .workers
                .get(self.next_worker)
                .ok_or_else(|| io::Error::other("no compression worker"))?;
            worker
                .send(Block {
                    dictionary,
                    data,
                    last,
                })
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the compressor stopped"))?;
            self.next_worker = (self.next_worker + 1) % self.workers.len();
            Ok(())
        }

        /// Sends what is left as the last block (the stream's end) and closes the queues.
        fn finish(mut self) -> io::Result<()> {
            self.send(true)
        }
    }

    impl Write for BlockSplitter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            // A full block goes out only once more data arrives, so the last block, sent by
            // `finish`, is never empty unless the whole stream is.
            if self.block.len() == self.block_bytes && !buf.is_empty() {
                self.send(false)?;
            }
            let taken = buf.len().min(self.block_bytes - self.block.len());
            self.block
                .extend_from_slice(buf.get(..taken).unwrap_or_default());
            Ok(taken)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn deflate_blocks(blocks: &Receiver<Block>, deflated: &SyncSender<io::Result<Deflated>>) {
        for block in blocks {
            let result = deflate_block(&block);
            let failed = result.is_err();
            if deflated.send(result).is_err() || failed {
                return;
            }
        }
    }

    /// Deflates one block with a new compressor: a reset one keeps the bytes of the block it
    /// compressed before in its window, and matching near the block's end reads past the data
    /// into them, which would make the output depend on how blocks were spread over workers.
    /// A new one costs zeroing a few hundred KiB, little next to deflating a block.
    fn deflate_block(block: &Block) -> io::Result<Deflated> {
        // Raw deflate (no zlib header): the gzip framing is written by `write_member`.
        let mut compress = Compress::new(flate2::Compression::new(LEVEL), false);
        if !block.dictionary.is_empty() {
            compress
                .set_dictionary(&block.dictionary)
                .map_err(io::Error::other)?;
        }
        let flush = if block.last {
            FlushCompress::Finish
        } else {
            FlushCompress::Sync
        };
        let mut bytes = Vec::with_capacity(block.data.len() / 2 + 1024);
        loop {
            if bytes.len() == bytes.capacity() {
                bytes.reserve(bytes.capacity().max(64 << 10));
            }
            let consumed = usize::try_from(compress.total_in()).map_err(io::Error::other)?;
            let rest = block.data.get(consumed..).unwrap_or_default();
            let before = (compress.total_in(), compress.total_out());
            let status = compress
                .compress_vec(rest, &mut bytes, flush)
                .map_err(io::Error::other)?;
            let room_left = bytes.len() < bytes.capacity();
            let all_in = compress.total_in() == block.data.len() as u64;
            // A sync flush is complete once all input is in and deflate stopped short of
            // filling the buffer; a finish, once deflate says the stream ended.
            match status {
                Status::StreamEnd => break,
                _ if !block.last && all_in && room_left => break,
                _ if room_left && before == (compress.total_in(), compress.total_out()) => {
                    return Err(io::Error::other(
                        "deflate made no progress on a layer block",
                    ));
                }
                _ => {}
            }
        }
        let mut crc = Crc::new();
        crc.update(&block.data);
        Ok(Deflated {
            bytes,
            crc,
            last: block.last,
        })
    }

    /// Writes the gzip member: header, the blocks in order, CRC-32 and length.
    fn write_member<W: Write>(
        deflated: &[Receiver<io::Result<Deflated>>],
        mut out: W,
    ) -> io::Result<W> {
        out.write_all(&HEADER)?;
        let mut crc = Crc::new();
        for worker in deflated.iter().cycle() {
            let block = worker.recv().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the tar stream ended before its last block",
                )
            })??;
            out.write_all(&block.bytes)?;
            crc.combine(&block.crc);
            if block.last {
                break;
            }
        }
        out.write_all(&crc.sum().to_le_bytes())?;
        // ISIZE: the length modulo 2^32, as RFC 1952 defines it.
        out.write_all(&crc.amount().to_le_bytes())?;
        Ok(out)
    }
}

fn write_tar<W: Write>(entries: &[Entry], mtime: u64, out: W) -> Result<(Digest, u64, u64, W)> {
    let mut builder = tar::Builder::new(HashingWriter::new(out));
    builder.mode(tar::HeaderMode::Deterministic);
    let (mut files, mut content_bytes) = (0u64, 0u64);
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        let write_error = Error::io("archive", &entry.source);
        match &entry.kind {
            EntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder
                    .append_data(&mut header, &entry.name, io::empty())
                    .map_err(write_error)?;
            }
            EntryKind::File { size, executable } => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(if *executable { 0o755 } else { 0o644 });
                header.set_size(*size);
                let file = File::open(&entry.source).map_err(Error::io("open", &entry.source))?;
                let mut reader = BufReader::with_capacity(1 << 20, file).take(*size);
                builder
                    .append_data(&mut header, &entry.name, &mut reader)
                    .map_err(write_error)?;
                if reader.limit() != 0 {
                    return Err(Error::Io {
                        action: "archive",
                        path: entry.source.clone(),
                        source: io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the file shrank while it was packaged",
                        ),
                    });
                }
                files += 1;
                content_bytes += size;
            }
            EntryKind::Symlink { target } => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                builder
                    .append_link(&mut header, &entry.name, target)
                    .map_err(write_error)?;
            }
        }
    }
    let hashing = builder
        .into_inner()
        .map_err(Error::io("finish", "the layer archive"))?;
    let (diff_id, _, out) = hashing.finish();
    Ok((diff_id, files, content_bytes, out))
}

/// Reads a layer blob from `reader` and extracts it into `dest`, verifying the uncompressed
/// stream against `diff_id`. Names that would land outside `dest` (absolute, `..`, or through
/// a symlink) are refused by the tar reader. Returns the number of regular files written.
pub fn extract(
    reader: impl Read,
    compression: Compression,
    diff_id: Option<&str>,
    dest: &Path,
    layer: &str,
) -> Result<u64> {
    let bad = |reason: String| Error::BadLayer {
        digest: layer.to_owned(),
        reason,
    };
    let decoded: Box<dyn Read> = match compression {
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(reader)),
        Compression::Zstd => Box::new(
            zstd::Decoder::new(reader).map_err(|e| bad(format!("not a zstd stream: {e}")))?,
        ),
    };
    let mut hashing = HashingReader::new(decoded);
    let mut archive = tar::Archive::new(&mut hashing);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(false);
    let mut files = 0;
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        if entry.header().entry_type().is_file() {
            files += 1;
        }
        let unpacked = entry.unpack_in(dest).map_err(|e| bad(e.to_string()))?;
        if !unpacked {
            let name = entry
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            return Err(bad(format!(
                "the entry {name:?} would be written outside the layer"
            )));
        }
    }
    let (actual, _) = hashing
        .finish()
        .map_err(|e| bad(format!("cannot read to the end: {e}")))?;
    if let Some(expected) = diff_id
        && actual.to_string() != expected
    {
        return Err(bad(format!(
            "its uncompressed content has digest {actual}, but the image config records {expected}"
        )));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// Deterministic bytes: a xorshift stream, incompressible.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect()
    }

    /// Text that deflate compresses well, with matches reaching back across block cuts.
    fn text(len: usize) -> Vec<u8> {
        let words = [
            "layer", "digest", "block", "stream", "window", "gzip", "tar", "image",
        ];
        let mut out = Vec::with_capacity(len);
        let mut i = 0usize;
        while out.len() < len {
            out.extend_from_slice(words[i % words.len()].as_bytes());
            out.extend_from_slice(format!(" {} ", i * 7919 % 1000).as_bytes());
            i += 1;
        }
        out.truncate(len);
        out
    }

    /// A tree whose tar stream spans several gzip blocks, with a partial last block, an
    /// executable, an empty file, a nested directory and a symlink.
    fn make_tree(root: &Path) {
        let block = parallel_gzip::BLOCK_BYTES;
        fs::create_dir_all(root.join("lib/nested")).unwrap();
        fs::write(root.join("server"), noise(1, block / 4 + 1234)).unwrap();
        fs::set_permissions(root.join("server"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(root.join("lib/app.js"), text(2 * block + block / 2)).unwrap();
        fs::write(root.join("lib/nested/empty"), b"").unwrap();
        fs::write(root.join("lib/nested/small.css"), b"body { margin: 0 }\n").unwrap();
        std::os::unix::fs::symlink("server", root.join("app")).unwrap();
    }

    fn package(
        source: &Path,
        out: &Path,
        compression: Compression,
        workers: usize,
    ) -> (Written, Vec<u8>) {
        let entries = collect(source, "app").unwrap();
        let file = File::create(out).unwrap();
        let written =
            write_with_workers(&entries, 1_700_000_000, compression, file, workers).unwrap();
        (written, fs::read(out).unwrap())
    }

    /// A Debian program on PATH; otherwise fails under CI, or skips with a notice.
    fn require_tool(tool: &str) -> bool {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{tool} not installed (run scripts/deps/install.sh)"
            );
            eprintln!("skipped: {tool} not installed (run scripts/deps/install.sh)");
        }
        found
    }

    /// Runs `command` to completion within a minute; panics with its stderr when it fails.
    fn run(command: &mut Command) {
        let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("{command:?} did not finish within a minute");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(status.success(), "{command:?} failed: {stderr}");
    }

    #[test]
    fn gzip_layers_are_the_same_bytes_whatever_the_number_of_workers() {
        let temp = tempfile::tempdir().unwrap();
        let source = temp.path().join("src");
        make_tree(&source);
        let (one, one_bytes) = package(&source, &temp.path().join("1.gz"), Compression::Gzip, 1);
        for workers in [2, 8] {
            let out = temp.path().join(format!("{workers}.gz"));
            let (many, many_bytes) = package(&source, &out, Compression::Gzip, workers);
            assert!(
                one_bytes == many_bytes,
                "{workers} workers wrote other bytes"
            );
            assert_eq!((one.digest, one.diff_id), (many.digest, many.diff_id));
        }
        assert_eq!(one.digest, slipway_cas::Digest::of(&one_bytes));
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(one_bytes.as_slice())
            .read_to_end(&mut tar)
            .unwrap();
        assert!(
            tar.len() > 2 * parallel_gzip::BLOCK_BYTES,
            "the tar stream must span several blocks for this test to mean anything"
        );
    }

    /// Compressible binary like object code: records of a few random fields, a symbol out of
    /// a table, and a run of zeros.
    fn records(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let symbols: Vec<Vec<u8>> = (0..256)
            .map(|i| noise(seed + i, 8 + (next() % 33) as usize))
            .collect();
        let mut out = Vec::with_capacity(len + 128);
        while out.len() < len {
            out.extend_from_slice(&((next() % 4096) as u32).to_le_bytes());
            out.extend_from_slice(&((next() % 16) as u16).to_le_bytes());
            out.extend_from_slice(&0x90u16.to_le_bytes());
            out.extend_from_slice(&(next() % (1 << 20)).to_le_bytes());
            out.extend_from_slice(&symbols[(next() % 256) as usize]);
            out.resize(out.len() + (next() % 25) as usize, 0);
        }
        out.truncate(len);
        out
    }

    /// Each block must come out as it would from a new compressor: a compressor reused after
    /// a reset keeps the previous block's bytes in its window, and longest-match comparisons
    /// near a block's end read them, so the output would depend on which worker had which
    /// block before. On this kind of data that shows in a few blocks per hundred, so the test
    /// uses small blocks to get many in little time.
    #[test]
    fn gzip_blocks_do_not_depend_on_what_a_worker_compressed_before() {
        let temp = tempfile::tempdir().unwrap();
        let source = temp.path().join("src");
        fs::create_dir(&source).unwrap();
        fs::write(source.join("lib.so"), records(3, 3 << 20)).unwrap();
        let entries = collect(&source, "app").unwrap();
        let gzip = |workers| {
            let (_, _, _, bytes) =
                parallel_gzip::write(&entries, 0, Vec::new(), workers, 64 << 10).unwrap();
            bytes
        };
        let one = gzip(1);
        for workers in [2, 3] {
            assert!(
                one == gzip(workers),
                "{workers} workers wrote other bytes than 1"
            );
        }
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(one.as_slice())
            .read_to_end(&mut tar)
            .unwrap();
        assert_eq!(&tar[1024..1024 + (3 << 20)], records(3, 3 << 20).as_slice());
    }

    #[test]
    fn a_file_that_goes_away_mid_packaging_is_the_error_reported_for_either_compression() {
        let temp = tempfile::tempdir().unwrap();
        let source = temp.path().join("src");
        make_tree(&source);
        let entries = collect(&source, "app").unwrap();
        // Removed after the listing: the archiver fails on it after earlier blocks went out.
        fs::remove_file(source.join("lib/nested/small.css")).unwrap();
        for compression in [Compression::Gzip, Compression::Zstd] {
            let out = File::create(temp.path().join("layer")).unwrap();
            match write_with_workers(&entries, 0, compression, out, 2) {
                Err(Error::Io { action, path, .. }) => {
                    assert_eq!(action, "open");
                    assert!(path.ends_with("lib/nested/small.css"), "{path:?}");
                }
                other => panic!("{compression:?}: expected the missing file, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_full_disk_is_the_error_reported_for_either_compression() {
        let full = Path::new("/dev/full");
        if !full.exists() {
            eprintln!("skipped: /dev/full is not available here");
            return;
        }
        let temp = tempfile::tempdir().unwrap();
        let source = temp.path().join("src");
        make_tree(&source);
        // More compressed output than the writer buffers, so the write fails while the
        // archiver is still sending blocks.
        fs::write(source.join("assets.pak"), noise(5, 3 << 20)).unwrap();
        let entries = collect(&source, "app").unwrap();
        for compression in [Compression::Gzip, Compression::Zstd] {
            let out = fs::OpenOptions::new().write(true).open(full).unwrap();
            match write_with_workers(&entries, 0, compression, out, 2) {
                Err(Error::Io { source, .. }) => {
                    assert_eq!(source.raw_os_error(), Some(28), "{compression:?}: {source}");
                }
                other => panic!("{compression:?}: expected ENOSPC, got {other:?}"),
            }
        }
    }

    /// A sink that takes `room` bytes, then fails like a full disk.
    struct FillingSink {
        room: usize,
    }

    impl Write for FillingSink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from_raw_os_error(28));
            }
            let taken = buf.len().min(self.room);
            self.room -= taken;
            Ok(taken)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn when_the_writer_fails_its_error_is_reported_not_the_closed_queue() {
        let temp = tempfile::tempdir().unwrap();
        let source = temp.path().join("src");
        fs::create_dir(&source).unwrap();
        // 64 blocks of incompressible data: far more than the queues hold, so the archiver is
        // still sending when the sink fills up after 4 blocks' worth.
        fs::write(source.join("assets.pak"), noise(6, 1 << 20)).unwrap();
        let entries = collect(&source, "app").unwrap();
        let sink = FillingSink { room: 64 << 10 };
        match parallel_gzip::write(&entries, 0, sink, 2, 16 << 10) {
            Err(Error::Io { source, .. }) => {
                assert_eq!(source.raw_os_error(), Some(28), "{source}")
            }
            Err(other) => panic!("expected the sink's error, got {other:?}"),
            Ok(_) => panic!("expected the sink's error, got a layer"),
        }
    }

    #[test]
    fn zstd_layers_are_the_same_bytes_whatever_the_number_of_workers() {
        let temp = tempfile::tempdir().unwrap();
        let source = temp.path().join("src");
        make_tree(&source);
        // zstd cuts jobs of 8 MiB at level 3: the tar stream must span several.
        fs::write(source.join("lib/big.js"), text(1 << 20).repeat(9)).unwrap();
        fs::write(source.join("assets.pak"), noise(2, 9 << 20)).unwrap();
        let (_, one) = package(&source, &temp.path().join("1.zst"), Compression::Zstd, 1);
        let out = temp.path().join("3.zst");
        let (_, three) = package(&source, &out, Compression::Zstd, 3);
        assert!(one == three, "3 workers wrote other bytes than 1");
    }

    #[test]
    fn a_parallel_gzip_layer_is_one_gzip_member_holding_the_tar_of_its_diff_id() {
        let temp = tempfile::tempdir().unwrap();
        let source = temp.path().join("src");
        make_tree(&source);
        let (written, bytes) =
            package(&source, &temp.path().join("layer.gz"), Compression::Gzip, 3);
        // A single-member decoder stops after the first member: getting the whole tar back
        // proves the blocks form one member, and the trailer's CRC and length are checked.
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut tar)
            .unwrap();
        assert_eq!(slipway_cas::Digest::of(&tar), written.diff_id);
        let dest = temp.path().join("extracted");
        fs::create_dir(&dest).unwrap();
        let files = extract(
            bytes.as_slice(),
            Compression::Gzip,
            Some(&written.diff_id.to_string()),
            &dest,
            "test",
        )
        .unwrap();
        assert_eq!((files, written.files), (4, 4));
        assert_eq!(
            fs::read(dest.join("app/lib/app.js")).unwrap(),
            fs::read(source.join("lib/app.js")).unwrap()
        );
    }

    #[test]
    fn a_parallel_gzip_layer_extracts_with_tar_xzf_and_pythons_gzip() {
        let temp = tempfile::tempdir().unwrap();
        let source = temp.path().join("src");
        make_tree(&source);
        let layer = temp.path().join("layer.tar.gz");
        let (written, _) = package(&source, &layer, Compression::Gzip, 2);
        if require_tool("tar") {
            let dest = temp.path().join("by-tar");
            fs::create_dir(&dest).unwrap();
            run(Command::new("tar")
                .arg("-xzf")
                .arg(&layer)
                .arg("-C")
                .arg(&dest));
            for file in [
                "server",
                "lib/app.js",
                "lib/nested/empty",
                "lib/nested/small.css",
            ] {
                assert!(
                    fs::read(dest.join("app").join(file)).unwrap()
                        == fs::read(source.join(file)).unwrap(),
                    "{file} differs after tar -xzf"
                );
            }
            let mode = fs::metadata(dest.join("app/server"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o755);
            assert_eq!(
                fs::read_link(dest.join("app/app")).unwrap(),
                Path::new("server")
            );
        }
        if require_tool("python3") {
            let check = "import gzip, hashlib, sys\n\
                         digest = 'sha256:' + hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest()\n\
                         sys.exit(0 if digest == sys.argv[2] else f'python read {digest}')";
            run(Command::new("python3")
                .args(["-c", check])
                .arg(&layer)
                .arg(written.diff_id.to_string()));
        }
    }
}
