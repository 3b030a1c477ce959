//! Tar archives (plain, gzip, bzip2 and xz), handled as ansible-core's `TgzArchive`
//! family handles them through GNU tar: the listing of `tar --list`, the differences
//! of `tar --diff` that ansible-core counts, and `tar --extract` as root or as another
//! user.

use std::ffi::CString;
use std::fs;
use std::io::{self, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::members::{self, TarOptions};
use super::{ArchiveHandler, CheckResult, ExtractResults, Handler, Request};
use crate::files::{gid_of, os_error, uid_of, umask, Failure};

/// What a member is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MemberKind {
    Directory,
    File,
    Symlink(String),
    /// A hard link to another member, by its name after `--strip-components`.
    HardLink(String),
    /// Devices, FIFOs and the like, which rplay does not create.
    Other,
}

/// One archive member with its header data.
#[derive(Debug, Clone)]
struct Member {
    /// The name after `--strip-components`; `None` when it was stripped away.
    name: Option<String>,
    /// The name as stored in the archive, which member arguments and `--exclude` match.
    stored: String,
    kind: MemberKind,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
    size: u64,
    /// Whether the run uses the member (member arguments and `--exclude`).
    selected: bool,
}

pub(crate) struct TarHandler {
    handler: Handler,
    options: TarOptions,
    tar_path: String,
    members: Vec<Member>,
    files: Vec<String>,
}

/// True when `head` starts with a tar header whose checksum is right.
pub(crate) fn is_tar_header(head: &[u8]) -> bool {
    if head.len() < 512 {
        return false;
    }
    let stored = std::str::from_utf8(&head[148..156])
        .ok()
        .map(|text| text.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|text| u32::from_str_radix(text, 8).ok());
    let sum: u32 = head[..512]
        .iter()
        .enumerate()
        .map(|(at, byte)| {
            if (148..156).contains(&at) {
                32
            } else {
                u32::from(*byte)
            }
        })
        .sum();
    stored == Some(sum)
}

/// Opens the archive's tar stream, decompressing as GNU tar's `-z`, `-j` or `-J` would.
fn open_stream(src: &str, handler: Handler) -> io::Result<Box<dyn Read>> {
    let file = BufReader::new(fs::File::open(src)?);
    Ok(match handler {
        Handler::Tgz => Box::new(flate2::read::MultiGzDecoder::new(file)),
        Handler::TarBzip => Box::new(bzip2::read::MultiBzDecoder::new(file)),
        Handler::TarXz => {
            // lzma-rs decodes whole streams only, so the tar data is held in memory.
            let mut input = file;
            let mut data = Vec::new();
            lzma_rs::xz_decompress(&mut input, &mut data)
                .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, format!("{err:?}")))?;
            Box::new(io::Cursor::new(data))
        }
        _ => Box::new(file),
    })
}

/// Calls `visit` with each member and a reader of its data, in archive order.
fn for_each_entry(
    src: &str,
    handler: Handler,
    mut visit: impl FnMut(usize, &mut dyn Read) -> io::Result<()>,
) -> io::Result<()> {
    let mut archive = tar::Archive::new(open_stream(src, handler)?);
    for (index, entry) in archive.entries()?.enumerate() {
        let mut entry = entry?;
        visit(index, &mut entry)?;
    }
    Ok(())
}

/// Reads the members' headers.
fn read_members(src: &str, handler: Handler, strip: usize) -> io::Result<Vec<Member>> {
    let mut archive = tar::Archive::new(open_stream(src, handler)?);
    let mut members = Vec::new();
    for entry in archive.entries()? {
        let entry = entry?;
        let header = entry.header();
        let stored = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let link = entry
            .link_name_bytes()
            .map(|link| String::from_utf8_lossy(&link).into_owned())
            .unwrap_or_default();
        let kind = match header.entry_type() {
            tar::EntryType::Directory => MemberKind::Directory,
            tar::EntryType::Regular | tar::EntryType::Continuous => MemberKind::File,
            tar::EntryType::Symlink => MemberKind::Symlink(link),
            tar::EntryType::Link => {
                match members::strip_components(&members::normalise(&link), strip) {
                    Some(target) => MemberKind::HardLink(target),
                    None => MemberKind::Other,
                }
            }
            _ => MemberKind::Other,
        };
        let uid = header.uid().unwrap_or(0) as u32;
        let gid = header.gid().unwrap_or(0) as u32;
        // GNU tar prefers the names in the header when they exist on this system.
        let uid = header
            .username()
            .ok()
            .flatten()
            .filter(|name| !name.is_empty())
            .and_then(uid_of)
            .unwrap_or(uid);
        let gid = header
            .groupname()
            .ok()
            .flatten()
            .filter(|name| !name.is_empty())
            .and_then(gid_of)
            .unwrap_or(gid);
        members.push(Member {
            name: members::strip_components(&members::normalise(&stored), strip),
            stored,
            kind,
            mode: header.mode().unwrap_or(0o644) & 0o7777,
            uid,
            gid,
            mtime: header.mtime().unwrap_or(0) as i64,
            size: header.size().unwrap_or(0),
            selected: true,
        });
    }
    Ok(members)
}

impl TarHandler {
    pub fn open(request: &Request, handler: Handler) -> Result<TarHandler, Failure> {
        let options = TarOptions::parse(&request.extra_opts)?;
        let tar_path = crate::system::find_program("gtar")
            .or_else(|| crate::system::find_program("tar"))
            .map_or_else(
                || "/usr/bin/tar".to_string(),
                |path| path.display().to_string(),
            );
        let unreadable = |reason: String| {
            Failure::new(format!(
                "Failed to find handler for \"{}\". Make sure the required command to extract the file is installed.\nCommand \"{tar_path}\" could not handle archive: Unable to list files in the archive: {reason}",
                request.src
            ))
        };
        let mut members = read_members(request.src, handler, options.strip_components)
            .map_err(|err| unreadable(err.to_string()))?;
        let excludes: Vec<String> = request
            .excludes
            .iter()
            .map(|pattern| pattern.trim_end_matches('/').to_string())
            .collect();
        // Member arguments come from `include` and from the words of `extra_opts` that
        // are not options; tar treats both alike.
        let includes: Vec<String> = request
            .includes
            .iter()
            .chain(options.members.iter())
            .cloned()
            .collect();
        let mut used = vec![false; includes.len()];
        for member in &mut members {
            let name = members::normalise(&member.stored);
            let included = if includes.is_empty() {
                true
            } else {
                match members::matching_include(&name, &includes, options.wildcards) {
                    Some(index) => {
                        used[index] = true;
                        true
                    }
                    None => false,
                }
            };
            member.selected = included && !members::is_excluded(&name, &excludes);
        }
        if let Some(index) = used.iter().position(|used| !used) {
            return Err(unreadable(format!(
                "{tar_path}: {}: Not found in archive\n{tar_path}: Exiting with failure status due to previous errors\n",
                includes[index].trim_end_matches('/')
            )));
        }
        let files = listed_files(&members, &excludes);
        if members.iter().all(|member| !member.selected) {
            return Err(Failure::new(format!(
                "Failed to find handler for \"{}\". Make sure the required command to extract the file is installed.\nCommand \"{tar_path}\" found no files in archive. Empty archive files are not supported.",
                request.src
            )));
        }
        Ok(TarHandler {
            handler,
            options,
            tar_path,
            members,
            files,
        })
    }

    /// The command line ansible-core runs for `action` (`--extract`).
    fn command(&self, request: &Request, action: &str) -> Vec<String> {
        let mut cmd = vec![
            self.tar_path.clone(),
            action.to_string(),
            "-C".to_string(),
            request.dest.display().to_string(),
        ];
        if let Some(flag) = self.handler.tar_flag() {
            cmd.push(flag.to_string());
        }
        if !request.extra_opts.is_empty() {
            cmd.push("--show-transformed-names".to_string());
            cmd.extend(request.extra_opts.iter().cloned());
        }
        if let Some(owner) = &request.attributes.owner {
            cmd.push(format!("--owner={}", crate::command::shell_quote(owner)));
        }
        if let Some(group) = &request.attributes.group {
            cmd.push(format!("--group={}", crate::command::shell_quote(group)));
        }
        if request.keep_newer {
            cmd.push("--keep-newer-files".to_string());
        }
        for exclude in &request.excludes {
            cmd.push(format!("--exclude={}", exclude.trim_end_matches('/')));
        }
        cmd.push("-f".to_string());
        cmd.push(request.src.to_string());
        cmd.extend(request.includes.iter().cloned());
        cmd
    }
}

/// The names `tar --list` prints for the selected members (directories with a `/`),
/// without a leading `/`, less those an `exclude` pattern matches, as the module
/// builds `files_in_archive`.
fn listed_files(members: &[Member], excludes: &[String]) -> Vec<String> {
    members
        .iter()
        .filter(|member| member.selected)
        .map(|member| {
            let mut name = member.name.clone().unwrap_or_default();
            if member.kind == MemberKind::Directory {
                name.push('/');
            }
            name.trim_start_matches('/').to_string()
        })
        .filter(|name| {
            !excludes
                .iter()
                .any(|pattern| crate::find::fnmatch(pattern, name))
        })
        .collect()
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

impl ArchiveHandler for TarHandler {
    fn files(&self) -> &[String] {
        &self.files
    }

    /// Compares the members with the disk as `tar --diff` does, counting only the
    /// differences ansible-core counts: a missing file (not a missing symlink, whose
    /// message differs), mode (without `mode`), owner and group (as root, without
    /// `owner`/`group`), modification time, size, contents and symlink targets. A
    /// member of another file type than the disk's is not counted.
    fn check(&self, request: &Request) -> Result<CheckResult, Failure> {
        let root = running_as_root();
        let attributes = &request.attributes;
        let mut differs = false;
        let result = for_each_entry(request.src, self.handler, |index, data| {
            let member = &self.members[index];
            let Some(name) = member.name.as_deref().filter(|name| !name.is_empty()) else {
                return Ok(());
            };
            if !member.selected || differs {
                return Ok(());
            }
            let path = request.dest.join(name);
            let Ok(meta) = fs::symlink_metadata(&path) else {
                differs |= !matches!(member.kind, MemberKind::Symlink(_));
                return Ok(());
            };
            let mode_differs = meta.mode() & 0o7777 != member.mode;
            match &member.kind {
                MemberKind::Directory if meta.is_dir() => {
                    differs |= attributes.mode.is_none() && mode_differs;
                }
                MemberKind::File if meta.file_type().is_file() => {
                    differs |= attributes.mode.is_none() && mode_differs;
                    differs |= root && attributes.owner.is_none() && meta.uid() != member.uid;
                    differs |= root && attributes.group.is_none() && meta.gid() != member.gid;
                    differs |= meta.mtime() != member.mtime || meta.mtime_nsec() != 0;
                    if meta.size() != member.size {
                        differs = true;
                    } else if !differs {
                        differs |= !same_contents(&path, data)?;
                    }
                }
                MemberKind::Symlink(target) => {
                    if let Ok(current) = fs::read_link(&path) {
                        differs |= current.as_os_str().as_bytes() != target.as_bytes();
                    }
                }
                _ => {}
            }
            Ok(())
        });
        result.map_err(|err| Failure::new(format!("failed to read {}: {err}", request.src)))?;
        Ok(CheckResult {
            unarchived: !differs,
            diff: String::new(),
        })
    }

    fn extract(&self, request: &Request) -> ExtractResults {
        let cmd = self.command(request, "--extract");
        let mut extractor = Extractor::new(request, &self.options);
        let result = for_each_entry(request.src, self.handler, |index, data| {
            extractor.extract(&self.members[index], data)
        });
        let finished = result.and_then(|()| extractor.finish());
        match finished {
            Ok(()) if extractor.errors.is_empty() => ExtractResults {
                cmd,
                rc: 0,
                out: String::new(),
                err: String::new(),
            },
            outcome => {
                let mut err = extractor.errors.join("");
                if let Err(error) = outcome {
                    err.push_str(&format!("{}: {error}\n", self.tar_path));
                }
                err.push_str(&format!(
                    "{}: Exiting with failure status due to previous errors\n",
                    self.tar_path
                ));
                ExtractResults {
                    cmd,
                    rc: 2,
                    out: String::new(),
                    err,
                }
            }
        }
    }
}

fn same_contents(path: &Path, data: &mut dyn Read) -> io::Result<bool> {
    let mut file = BufReader::new(fs::File::open(path)?);
    let mut archived = [0u8; 64 * 1024];
    let mut disk = vec![0u8; 64 * 1024];
    loop {
        let count = read_full(data, &mut archived)?;
        let disk_count = read_full(&mut file, &mut disk[..count.max(1)])?;
        if count == 0 {
            return Ok(disk_count == 0);
        }
        if disk_count != count || archived[..count] != disk[..count] {
            return Ok(false);
        }
    }
}

fn read_full(reader: &mut dyn Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..])? {
            0 => break,
            count => filled += count,
        }
    }
    Ok(filled)
}

/// `tar --extract`: members are written to a temporary name in their directory and
/// renamed into place; directories get their mode, owner and time after their
/// contents, as GNU tar delays them.
struct Extractor<'a> {
    request: &'a Request<'a>,
    options: &'a TarOptions,
    root: bool,
    umask: u32,
    /// Directories whose metadata is applied at the end.
    directories: Vec<(PathBuf, Member)>,
    errors: Vec<String>,
}

impl<'a> Extractor<'a> {
    fn new(request: &'a Request<'a>, options: &'a TarOptions) -> Extractor<'a> {
        Extractor {
            request,
            options,
            root: running_as_root(),
            umask: umask(),
            directories: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn extract(&mut self, member: &Member, data: &mut dyn Read) -> io::Result<()> {
        let Some(name) = member.name.as_deref().filter(|name| !name.is_empty()) else {
            return Ok(());
        };
        if !member.selected {
            return Ok(());
        }
        let path = self.request.dest.join(name);
        if let Some(parent) = path.parent() {
            self.make_parents(parent)?;
        }
        let existing = fs::symlink_metadata(&path).ok();
        let keep_newer = self.request.keep_newer || self.options.keep_newer;
        if keep_newer && member.kind != MemberKind::Directory {
            if let Some(meta) = &existing {
                if !meta.is_dir() && meta.mtime() >= member.mtime {
                    return Ok(());
                }
            }
        }
        let outcome = match &member.kind {
            MemberKind::Directory => self.extract_directory(&path, member, existing.as_ref()),
            MemberKind::File => self.extract_file(&path, member, data),
            MemberKind::Symlink(target) => self.extract_symlink(&path, member, target),
            MemberKind::HardLink(target) => {
                let target = self.request.dest.join(target);
                replace_with(&path, |temp| fs::hard_link(&target, temp))
            }
            // NOTE: GNU tar creates devices and FIFOs; rplay skips them.
            MemberKind::Other => Ok(()),
        };
        if let Err(err) = outcome {
            self.errors
                .push(format!("tar: {name}: Cannot open: {}\n", os_error(&err)));
        }
        Ok(())
    }

    /// Creates missing parent directories as GNU tar does: `0777` less the umask.
    fn make_parents(&self, dir: &Path) -> io::Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o777)
            .create(dir)
    }

    fn extract_directory(
        &mut self,
        path: &Path,
        member: &Member,
        existing: Option<&fs::Metadata>,
    ) -> io::Result<()> {
        match existing {
            Some(meta) if meta.is_dir() => {}
            // NOTE: GNU tar replaces a symlink to a directory with a directory
            // (without --keep-directory-symlink); rplay keeps the symlink.
            Some(meta) if meta.file_type().is_symlink() && path.is_dir() => return Ok(()),
            Some(_) => {
                fs::remove_file(path)?;
                fs::create_dir(path)?;
            }
            None => fs::create_dir(path)?,
        }
        self.directories.push((path.to_path_buf(), member.clone()));
        Ok(())
    }

    fn extract_file(&self, path: &Path, member: &Member, data: &mut dyn Read) -> io::Result<()> {
        if fs::symlink_metadata(path).is_ok_and(|meta| meta.is_dir()) {
            return Err(io::Error::from_raw_os_error(libc::EISDIR));
        }
        replace_with(path, |temp| {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(temp)?;
            io::copy(data, &mut file)?;
            file.sync_all()?;
            drop(file);
            self.chown(temp, member)?;
            fs::set_permissions(temp, fs::Permissions::from_mode(self.mode_of(member)))?;
            self.apply_time(temp, member.mtime)
        })
    }

    fn extract_symlink(&self, path: &Path, member: &Member, target: &str) -> io::Result<()> {
        replace_with(path, |temp| {
            std::os::unix::fs::symlink(target, temp)?;
            self.chown(temp, member)?;
            self.apply_time(temp, member.mtime)
        })
    }

    /// The mode a member gets: as stored for root (`--same-permissions`), else less
    /// the umask and the set-id bits.
    fn mode_of(&self, member: &Member) -> u32 {
        if self.root && !self.options.no_same_permissions {
            member.mode
        } else {
            member.mode & 0o777 & !self.umask
        }
    }

    /// As root, gives `path` the `owner`/`group` the task asks for (GNU tar's
    /// `--owner`/`--group`), else the member's; other users keep their own.
    fn chown(&self, path: &Path, member: &Member) -> io::Result<()> {
        if !self.root || self.options.no_same_owner {
            return Ok(());
        }
        let uid = self
            .request
            .attributes
            .owner
            .as_deref()
            .and_then(uid_of)
            .unwrap_or(member.uid);
        let gid = self
            .request
            .attributes
            .group
            .as_deref()
            .and_then(gid_of)
            .unwrap_or(member.gid);
        std::os::unix::fs::lchown(path, Some(uid), Some(gid))
    }

    fn apply_time(&self, path: &Path, mtime: i64) -> io::Result<()> {
        if self.options.touch {
            return Ok(());
        }
        set_times(path, mtime)
    }

    /// Applies the directories' modes, owners and times, deepest first.
    fn finish(&mut self) -> io::Result<()> {
        let directories = std::mem::take(&mut self.directories);
        for (path, member) in directories.iter().rev() {
            self.chown(path, member)?;
            fs::set_permissions(path, fs::Permissions::from_mode(self.mode_of(member)))?;
            self.apply_time(path, member.mtime)?;
        }
        Ok(())
    }
}

/// Creates the new entry under a temporary name beside `path` with `create`, then
/// renames it over `path`, so that readers see the old or the new file, never a part.
pub(super) fn replace_with(
    path: &Path,
    create: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let temp = temporary_path(path);
    let created = create(&temp).and_then(|()| fs::rename(&temp, path));
    if created.is_err() {
        let _ = fs::remove_file(&temp);
    }
    created
}

fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.rplay-tmp", std::process::id()))
}

/// Sets the modification time (the access time becomes the current time), on the
/// link itself for a symlink.
pub(super) fn set_times(path: &Path, mtime: i64) -> io::Result<()> {
    let path = CString::new(path.as_os_str().as_bytes())
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
    let times = [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_NOW,
        },
        libc::timespec {
            tv_sec: mtime,
            tv_nsec: 0,
        },
    ];
    // SAFETY: `path` is a valid C string and `times` holds two timespecs.
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            path.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
