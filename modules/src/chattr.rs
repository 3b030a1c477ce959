//! Linux file attribute flags (`chattr`, `lsattr`) read and changed with the
//! `FS_IOC_GETFLAGS` and `FS_IOC_SETFLAGS` ioctls. ansible-core runs e2fsprogs' `lsattr`
//! and `chattr` for them. This module gives the flag letters in the same order and the
//! same error output as e2fsprogs 1.47 (Debian 12), so that results and failure details
//! match.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::files::strerror;

/// `FS_IOC_GETFLAGS`: `_IOR('f', 1, long)`. The kernel reads and writes an `int`.
const FS_IOC_GETFLAGS: u32 = 0x8008_6601;
/// `FS_IOC_SETFLAGS`: `_IOW('f', 2, long)`.
const FS_IOC_SETFLAGS: u32 = 0x4008_6602;
/// `FS_IOC_GETVERSION`: `_IOR('v', 1, long)`.
const FS_IOC_GETVERSION: u32 = 0x8008_7601;

/// `FS_DIRSYNC_FL`, which chattr's `+` and `-` drop for anything but a directory.
const DIRSYNC: u32 = 0x0001_0000;

/// The flags `lsattr` prints, in its column order, with their letters.
const LSATTR_COLUMNS: &[(u32, char)] = &[
    (0x0000_0001, 's'),
    (0x0000_0002, 'u'),
    (0x0000_0008, 'S'),
    (DIRSYNC, 'D'),
    (0x0000_0010, 'i'),
    (0x0000_0020, 'a'),
    (0x0000_0040, 'd'),
    (0x0000_0080, 'A'),
    (0x0000_0004, 'c'),
    (0x0000_0800, 'E'),
    (0x0000_4000, 'j'),
    (0x0000_1000, 'I'),
    (0x0000_8000, 't'),
    (0x0002_0000, 'T'),
    (0x0008_0000, 'e'),
    (0x0080_0000, 'C'),
    (0x0200_0000, 'x'),
    (0x4000_0000, 'F'),
    (0x1000_0000, 'N'),
    (0x2000_0000, 'P'),
    (0x0010_0000, 'V'),
    (0x0000_0400, 'm'),
];

/// The letters `chattr` accepts after `+`, `-` or `=`.
const CHATTR_LETTERS: &str = "ASDacmdeijPsutTCxF";

/// ansible-core's `FILE_ATTRIBUTES`: the names results give for `lsattr`'s letters.
const ATTRIBUTE_NAMES: &[(char, &str)] = &[
    ('A', "noatime"),
    ('a', "append"),
    ('c', "compressed"),
    ('C', "nocow"),
    ('d', "nodump"),
    ('D', "dirsync"),
    ('e', "extents"),
    ('E', "encrypted"),
    ('h', "blocksize"),
    ('i', "immutable"),
    ('I', "indexed"),
    ('j', "journalled"),
    ('N', "inline"),
    ('s', "zero"),
    ('S', "synchronous"),
    ('t', "notail"),
    ('T', "blockroot"),
    ('u', "undelete"),
    ('X', "compressedraw"),
    ('Z', "compresseddirty"),
];

/// Reads the flags of `path` as e2fsprogs' `fgetflags` does: a link is not followed, and
/// anything but a regular file or directory fails with `EOPNOTSUPP`.
pub fn get_flags(path: &Path) -> io::Result<u32> {
    let mut flags: libc::c_int = 0;
    flags_ioctl(path, FS_IOC_GETFLAGS, &mut flags)?;
    Ok(flags as u32)
}

/// Replaces the flags of `path` as e2fsprogs' `fsetflags` does.
pub fn set_flags(path: &Path, flags: u32) -> io::Result<()> {
    let mut value = flags as libc::c_int;
    flags_ioctl(path, FS_IOC_SETFLAGS, &mut value)
}

fn flags_ioctl(path: &Path, request: u32, value: &mut libc::c_int) -> io::Result<()> {
    let not_supported = || io::Error::from_raw_os_error(libc::EOPNOTSUPP);
    let regular_or_dir = |meta: &std::fs::Metadata| meta.is_file() || meta.is_dir();
    if std::fs::metadata(path).is_ok_and(|meta| !regular_or_dir(&meta)) {
        return Err(not_supported());
    }
    let fd = open_read_only(path, libc::O_NOFOLLOW).map_err(|err| match err.raw_os_error() {
        Some(libc::ELOOP | libc::ENXIO) => not_supported(),
        _ => err,
    })?;
    if fd.metadata().is_ok_and(|meta| !regular_or_dir(&meta)) {
        return Err(not_supported());
    }
    ioctl(&fd, request, value).map_err(|err| match err.raw_os_error() {
        Some(libc::ENOTTY) => not_supported(),
        _ => err,
    })
}

/// Reads the inode's version (generation) number, as `lsattr -v` shows it.
pub fn get_version(path: &Path) -> io::Result<u32> {
    let fd = open_read_only(path, 0)?;
    let mut version: libc::c_int = 0;
    ioctl(&fd, FS_IOC_GETVERSION, &mut version)?;
    Ok(version as u32)
}

fn open_read_only(path: &Path, extra_flags: libc::c_int) -> io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | extra_flags;
    // SAFETY: `c_path` is a NUL-terminated string that outlives the call.
    let fd = unsafe { libc::open(c_path.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

fn ioctl(file: &std::fs::File, request: u32, value: &mut libc::c_int) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // The request's type differs between the C libraries (`c_ulong` in glibc, `c_int`
    // in musl), so it is converted to whichever this build uses.
    // SAFETY: the three requests read or write one `int`, and `value` points at one.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), request as _, value as *mut libc::c_int) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Returns the letters of the flags in `flags`, in `lsattr`'s order without its dashes,
/// as ansible-core's results give them in `attr_flags`.
pub fn flag_letters(flags: u32) -> String {
    LSATTR_COLUMNS
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, letter)| *letter)
        .collect()
}

/// Returns the names ansible-core's `format_attributes` gives the letters, in the
/// letters' order, skipping letters without a name.
pub fn attribute_names(letters: &str) -> Vec<&'static str> {
    letters
        .chars()
        .filter_map(|letter| {
            ATTRIBUTE_NAMES
                .iter()
                .find(|(known, _)| *known == letter)
                .map(|(_, name)| *name)
        })
        .collect()
}

/// Operator of a `chattr` argument: add, remove or set the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Add,
    Remove,
    Set,
}

impl Operator {
    pub fn symbol(self) -> char {
        match self {
            Operator::Add => '+',
            Operator::Remove => '-',
            Operator::Set => '=',
        }
    }
}

/// Runs the equivalent of `chattr OPERATOR+LETTERS PATH` and returns what e2fsprogs 1.47's
/// `chattr` would print on failure (with its trailing newline), naming itself `program`
/// as its `argv[0]`. That `chattr` prints a failed `=` change without a failing exit
/// status, and ansible-core fails the task on any output, so both cases fail here.
///
/// NOTE: with `-`, chattr reads `R`, `V`, `f`, `p` and `v` as options; here they are
/// letters it rejects, so such a request fails with the usage text instead.
pub fn change(path: &Path, operator: Operator, letters: &str, program: &str) -> Result<(), String> {
    let mut requested = 0;
    for letter in letters.chars() {
        let bit = CHATTR_LETTERS
            .contains(letter)
            .then(|| LSATTR_COLUMNS.iter().find(|(_, known)| *known == letter))
            .flatten();
        match bit {
            Some((bit, _)) => requested |= bit,
            None => {
                return Err(format!(
                    "Usage: {program} [-RVf] [-+=aAcCdDeijPsStTuFx] [-p project] [-v version] files...\n"
                ))
            }
        }
    }
    let shown = path.display();
    let meta = std::fs::symlink_metadata(path).map_err(|err| {
        format!(
            "{program}: {} while trying to stat {shown}\n",
            strerror(&err)
        )
    })?;
    let current = get_flags(path).map_err(|err| {
        format!(
            "{program}: {} while reading flags on {shown}\n",
            strerror(&err)
        )
    })?;
    let wanted = match operator {
        Operator::Set => {
            return set_flags(path, requested)
                .map_err(|err| format!("{shown}: {}\n", strerror(&err)));
        }
        Operator::Add => current | requested,
        Operator::Remove => current & !requested,
    };
    let wanted = if meta.is_dir() {
        wanted
    } else {
        wanted & !DIRSYNC
    };
    set_flags(path, wanted).map_err(|err| {
        format!(
            "{program}: {} while setting flags on {shown}\n",
            strerror(&err)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_in_lsattr_order() {
        assert_eq!(flag_letters(0x0008_0080), "Ae");
        assert_eq!(flag_letters(0x0000_0030 | 0x0080_0000), "iaC");
        assert_eq!(flag_letters(0), "");
    }

    #[test]
    fn names_of_known_letters() {
        assert_eq!(attribute_names("Ae"), ["noatime", "extents"]);
        assert_eq!(attribute_names("xA"), ["noatime"]);
    }

    #[test]
    fn unknown_letter_prints_usage() {
        let dir = tempfile::tempdir().unwrap();
        let error = change(dir.path(), Operator::Set, "Q", "/usr/bin/chattr").unwrap_err();
        assert_eq!(
            error,
            "Usage: /usr/bin/chattr [-RVf] [-+=aAcCdDeijPsStTuFx] [-p project] [-v version] files...\n"
        );
    }

    #[test]
    fn missing_path_fails_to_stat() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let error = change(&missing, Operator::Add, "A", "chattr").unwrap_err();
        assert_eq!(
            error,
            format!(
                "chattr: No such file or directory while trying to stat {}\n",
                missing.display()
            )
        );
    }

    #[test]
    fn symlink_flags_not_supported() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = get_flags(&link).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EOPNOTSUPP));
    }
}
