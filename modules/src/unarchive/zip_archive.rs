//! Zip archives, handled as ansible-core's `ZipArchive` handles them through Info-ZIP's
//! zipinfo and unzip: the member list, the itemized comparison with the disk (type,
//! modification time, size, CRC-32, mode, owner and group) and `unzip -o`.

use std::fs;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::{ArchiveHandler, CheckResult, ExtractResults, Request};
use crate::files::{gid_of, group_name, passwd_name, resolve_mode, uid_of, umask, Failure};
use crate::find::fnmatch;

const S_IFMT: u32 = 0o170_000;
const S_IFLNK: u32 = 0o120_000;

/// One member's central-directory data.
#[derive(Debug, Clone)]
struct ZipMember {
    name: String,
    /// `d`, `L` or `f`, as ansible-core's itemized output writes the type.
    file_type: char,
    /// The permission bits the extracted member gets.
    mode: u32,
    mtime: i64,
    size: u64,
    crc: u32,
    deflated: bool,
}

pub(crate) struct ZipHandler {
    members: Vec<ZipMember>,
    files: Vec<String>,
    unzip_path: String,
}

impl ZipHandler {
    pub fn open(request: &Request) -> Result<ZipHandler, Failure> {
        let unreadable = |err: String| {
            Failure::new(format!(
                "Failed to find handler for \"{}\". Make sure the required command to extract the file is installed.\nUnable to list files in the archive: {err}",
                request.src
            ))
        };
        let file = fs::File::open(request.src).map_err(|err| unreadable(err.to_string()))?;
        let mut archive = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|err| unreadable(err.to_string()))?;
        let umask = umask();
        let mut members = Vec::new();
        for index in 0..archive.len() {
            let entry = archive
                .by_index_raw(index)
                .map_err(|err| unreadable(err.to_string()))?;
            members.push(ZipMember::from_entry(&entry, umask));
        }
        let files = files_in_archive(&members, request);
        let unzip_path = crate::system::find_program("unzip").map_or_else(
            || "/usr/bin/unzip".to_string(),
            |path| path.display().to_string(),
        );
        Ok(ZipHandler {
            members,
            files,
            unzip_path,
        })
    }

    /// The members `unzip` extracts: those an `include` pattern matches, or those no
    /// `exclude` pattern matches.
    fn selected<'a>(
        &'a self,
        request: &'a Request,
    ) -> impl Iterator<Item = (usize, &'a ZipMember)> {
        self.members.iter().enumerate().filter(move |(_, member)| {
            if request.includes.is_empty() {
                !request
                    .excludes
                    .iter()
                    .any(|pattern| fnmatch(pattern, &member.name))
            } else {
                request
                    .includes
                    .iter()
                    .any(|pattern| fnmatch(pattern, &member.name))
            }
        })
    }
}

impl ZipMember {
    fn from_entry<R: Read>(entry: &zip::read::ZipFile<'_, R>, umask: u32) -> ZipMember {
        let name = entry.name().to_string();
        let unix_mode = entry.unix_mode();
        let file_type = if name.ends_with('/') {
            'd'
        } else if unix_mode.is_some_and(|mode| mode & S_IFMT == S_IFLNK) {
            'L'
        } else {
            'f'
        };
        // Without Unix attributes (a FAT archive), unzip uses 0777 for directories and
        // 0666 for files, less the umask.
        let mode = match unix_mode {
            Some(mode) => mode & 0o777,
            None if file_type == 'd' => 0o777 & !umask,
            None => 0o666 & !umask,
        };
        let extended = entry.extra_data_fields().find_map(|field| match field {
            zip::extra_fields::ExtraField::ExtendedTimestamp(stamp) => stamp.mod_time(),
            _ => None,
        });
        // NOTE: a DOS time is taken as UTC; unzip reads it in the target's time zone.
        let mtime = match extended {
            Some(seconds) => i64::from(seconds),
            None => entry.last_modified().map_or(315_532_800, |time| {
                days_from_civil(
                    i64::from(time.year()),
                    time.month().into(),
                    time.day().into(),
                ) * 86_400
                    + i64::from(time.hour()) * 3600
                    + i64::from(time.minute()) * 60
                    + i64::from(time.second())
            }),
        };
        ZipMember {
            name,
            file_type,
            mode,
            mtime,
            size: entry.size(),
            crc: entry.crc32(),
            deflated: entry.compression() != zip::CompressionMethod::Stored,
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `files_in_archive`: with `include`, each member once per pattern that matches it;
/// otherwise the members no `exclude` pattern matches.
fn files_in_archive(members: &[ZipMember], request: &Request) -> Vec<String> {
    let mut files = Vec::new();
    for member in members {
        if request.includes.is_empty() {
            if !request
                .excludes
                .iter()
                .any(|pattern| fnmatch(pattern, &member.name))
            {
                files.push(member.name.clone());
            }
            continue;
        }
        for pattern in &request.includes {
            if fnmatch(pattern, &member.name) {
                files.push(member.name.clone());
            }
        }
    }
    files
}

/// The owner and group files should end up with: the task's, else the running user's.
struct FutureOwnership {
    owner: String,
    uid: u32,
    group: String,
    gid: u32,
}

impl FutureOwnership {
    fn of(request: &Request) -> FutureOwnership {
        // SAFETY: getuid and getgid have no preconditions.
        let (run_uid, run_gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let uid = request
            .attributes
            .owner
            .as_deref()
            .and_then(uid_of)
            .unwrap_or(run_uid);
        let gid = request
            .attributes
            .group
            .as_deref()
            .and_then(gid_of)
            .unwrap_or(run_gid);
        FutureOwnership {
            owner: passwd_name(uid).unwrap_or_else(|| uid.to_string()),
            uid,
            group: group_name(gid),
            gid,
        }
    }
}

impl ArchiveHandler for ZipHandler {
    fn files(&self) -> &[String] {
        &self.files
    }

    fn check(&self, request: &Request) -> Result<CheckResult, Failure> {
        let future = FutureOwnership::of(request);
        let mut diff = String::new();
        let mut changed_any = false;
        for (_, member) in self.selected(request) {
            let path = &member.name;
            if request.excludes.contains(path) {
                continue;
            }
            let file_type = member.file_type;
            let dest = super::join_member(&request.dest, path);
            let Ok(meta) = fs::symlink_metadata(&dest) else {
                changed_any = true;
                diff.push_str(&format!(">{file_type}++++++.?? {path}\n"));
                continue;
            };
            let type_matches = match file_type {
                'd' => meta.is_dir(),
                'L' => meta.file_type().is_symlink(),
                _ => meta.file_type().is_file(),
            };
            if !type_matches {
                changed_any = true;
                diff.push_str(&format!("c{file_type}++++++.?? {path}\n"));
                continue;
            }
            let mut itemized: Vec<char> = format!(".{file_type}.......??").chars().collect();
            let mut change = false;
            if meta.file_type().is_file() {
                let disk_mtime = meta.mtime() as f64 + meta.mtime_nsec() as f64 / 1e9;
                let archived = member.mtime as f64;
                if request.keep_newer {
                    if archived > disk_mtime {
                        change = true;
                        itemized[4] = 't';
                    } else if archived < disk_mtime {
                        continue;
                    }
                } else if archived != disk_mtime {
                    change = true;
                    itemized[4] = 't';
                }
                if meta.size() != member.size {
                    change = true;
                    itemized[3] = 's';
                }
                let crc = file_crc32(&dest).map_err(|err| {
                    Failure::new(format!("failed to read {}: {err}", dest.display()))
                })?;
                if crc != member.crc {
                    change = true;
                    itemized[2] = 'c';
                }
            }
            if file_type != 'L' {
                let wanted = match &request.attributes.mode {
                    Some(mode) => resolve_mode(mode, meta.mode(), meta.is_dir())
                        .map_err(|failure| failure.with("path", path.as_str()))?,
                    None => member.mode,
                };
                if wanted != meta.mode() & 0o7777 {
                    change = true;
                    itemized[5] = 'p';
                }
            }
            if ownership_differs(
                meta.uid(),
                passwd_name(meta.uid()),
                &future.owner,
                future.uid,
            ) {
                change = true;
                itemized[6] = 'o';
            }
            let disk_group = crate::files::group_entry_name(meta.gid());
            if ownership_differs(meta.gid(), disk_group, &future.group, future.gid) {
                change = true;
                itemized[6] = 'g';
            }
            if change {
                changed_any = true;
                diff.push_str(&format!("{} {path}\n", itemized.iter().collect::<String>()));
            }
        }
        Ok(CheckResult {
            unarchived: !changed_any,
            diff,
        })
    }

    fn extract(&self, request: &Request) -> ExtractResults {
        let mut cmd = vec![self.unzip_path.clone(), "-o".to_string()];
        cmd.extend(request.extra_opts.iter().cloned());
        cmd.push(request.src.to_string());
        if !request.excludes.is_empty() {
            cmd.push("-x".to_string());
            cmd.extend(request.excludes.iter().cloned());
        }
        cmd.extend(request.includes.iter().cloned());
        cmd.push("-d".to_string());
        cmd.push(request.dest.display().to_string());
        match self.unzip(request) {
            Ok(out) => ExtractResults {
                cmd,
                rc: 0,
                out,
                err: String::new(),
            },
            Err(err) => ExtractResults {
                cmd,
                rc: 1,
                out: String::new(),
                err: format!("error: {err}\n"),
            },
        }
    }
}

/// Compares a disk owner with the expected one by name when the id has a name, else
/// by id.
fn ownership_differs(id: u32, name: Option<String>, expected_name: &str, expected_id: u32) -> bool {
    match name {
        Some(name) => name != expected_name,
        None => id != expected_id,
    }
}

impl ZipHandler {
    /// Extracts the selected members as `unzip -o` does and returns its output.
    fn unzip(&self, request: &Request) -> io::Result<String> {
        let file = fs::File::open(request.src)?;
        let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(io::Error::other)?;
        let dest = request.dest.display().to_string();
        let mut out = format!("Archive:  {}\n", request.src);
        let mut links = Vec::new();
        let mut directories = Vec::new();
        for (index, member) in self.selected(request) {
            let path = super::join_member(&request.dest, &member.name);
            let shown = format!("{}/{}", dest.trim_end_matches('/'), member.name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            let mut entry = archive.by_index(index).map_err(io::Error::other)?;
            match member.file_type {
                'd' => {
                    out.push_str(&format!("   creating: {shown}\n"));
                    if !path.is_dir() {
                        fs::create_dir_all(&path)?;
                    }
                    directories.push((path, member));
                }
                'L' => {
                    let mut target = String::new();
                    entry.read_to_string(&mut target)?;
                    out.push_str(&format!("    linking: {shown:<22}  -> {target} \n"));
                    super::gnu_tar::replace_with(&path, |temp| {
                        std::os::unix::fs::symlink(&target, temp)
                    })?;
                    links.push((shown, target));
                }
                _ => {
                    let verb = if member.deflated {
                        "  inflating"
                    } else {
                        " extracting"
                    };
                    out.push_str(&format!("{verb}: {shown:<22}  \n"));
                    super::gnu_tar::replace_with(&path, |temp| {
                        let mut file = fs::OpenOptions::new()
                            .write(true)
                            .create_new(true)
                            .mode(0o600)
                            .open(temp)?;
                        io::copy(&mut entry, &mut file)?;
                        file.sync_all()?;
                        fs::set_permissions(temp, fs::Permissions::from_mode(member.mode))?;
                        super::gnu_tar::set_times(temp, member.mtime)
                    })?;
                }
            }
        }
        for (path, member) in directories.iter().rev() {
            fs::set_permissions(path, fs::Permissions::from_mode(member.mode))?;
            super::gnu_tar::set_times(path, member.mtime)?;
        }
        if !links.is_empty() {
            out.push_str("finishing deferred symbolic links:\n");
            for (shown, target) in links {
                out.push_str(&format!("  {shown:<22} -> {target}\n"));
            }
        }
        Ok(out)
    }
}

fn file_crc32(path: &Path) -> io::Result<u32> {
    let mut file = BufReader::new(fs::File::open(path)?);
    let mut hasher = crc32fast::Hasher::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buffer)? {
            0 => return Ok(hasher.finalize()),
            count => hasher.update(&buffer[..count]),
        }
    }
}
