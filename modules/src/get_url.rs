//! The `get_url` module, after ansible-core 2.18's: it downloads into a temporary file,
//! verifies the checksum, then moves the file into place atomically, so a failed or
//! wrong download never leaves anything at `dest`. With a checksum that `dest` already
//! matches, nothing is downloaded.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::dispatch::ModuleOptions;
use crate::files::{set_attributes_if_different, FileAttributes};
use crate::http::{Client, Fetched, Request, REQUEST_OPTIONS, URL_OPTIONS};
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "get_url",
    &[
        URL_OPTIONS[0].required(),
        URL_OPTIONS[1],
        URL_OPTIONS[2],
        URL_OPTIONS[3],
        URL_OPTIONS[4],
        OptionSpec::new("url_username", Kind::Str).aliases(&["username"]),
        OptionSpec::new("url_password", Kind::Str)
            .aliases(&["password"])
            .no_log(),
        URL_OPTIONS[5],
        URL_OPTIONS[6],
        URL_OPTIONS[7],
        URL_OPTIONS[8],
        OptionSpec::new("dest", Kind::Path).required(),
        OptionSpec::new("backup", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("checksum", Kind::Str).default(Default::Str("")),
        OptionSpec::new("timeout", Kind::Int).default(Default::Int(10)),
        OptionSpec::new("headers", Kind::Dict),
        OptionSpec::new("tmp_dest", Kind::Path),
        REQUEST_OPTIONS[0],
        REQUEST_OPTIONS[1],
        REQUEST_OPTIONS[2],
        REQUEST_OPTIONS[3],
    ],
)
.file_common();

/// A finished run: the result, failed or not, to return as it is.
type Exit = Map;

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    match Download::new(params, options).and_then(|download| download.run()) {
        Ok(result) | Err(result) => result,
    }
}

/// One get_url task: the parameters it needs and the result it builds.
struct Download<'a> {
    params: &'a Params,
    options: &'a ModuleOptions,
    client: Client,
    url: String,
    dest: String,
    force: bool,
    timeout: Duration,
    headers: Vec<(String, String)>,
    tmp_dest: Option<String>,
    result: Map,
    /// The directory for temporary downloads when `tmp_dest` is not set, made on first
    /// use and removed with this value.
    work_dir: Option<TempDir>,
}

impl<'a> Download<'a> {
    fn new(params: &'a Params, options: &'a ModuleOptions) -> Result<Download<'a>, Exit> {
        let url = params.string("url").unwrap_or_default();
        let dest = params.string("dest").unwrap_or_default();
        let mut result = Map::new();
        result.insert(Value::from("changed"), Value::Bool(false));
        result.insert(Value::from("checksum_dest"), Value::Null);
        result.insert(Value::from("checksum_src"), Value::Null);
        result.insert(Value::from("dest"), Value::from(dest.as_str()));
        result.insert(Value::from("elapsed"), Value::Int(0));
        result.insert(Value::from("url"), Value::from(url.as_str()));
        let headers = params
            .get("headers")
            .and_then(Value::as_map)
            .map(|headers| {
                headers
                    .iter()
                    .map(|(name, value)| (crate::pyrepr::str(name), crate::pyrepr::str(value)))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Download {
            client: Client::from_params(params, &options.environment),
            params,
            options,
            url,
            dest,
            force: params.flag("force"),
            timeout: Duration::from_secs(params.int("timeout").unwrap_or(10).max(0) as u64),
            headers,
            tmp_dest: params.string("tmp_dest"),
            result,
            work_dir: None,
        })
    }

    /// Returns the result with `failed` and `msg` added, as `fail_json(msg=..., **result)`.
    fn fail(&self, msg: String) -> Exit {
        let mut failed = self.result.clone();
        failed.insert(Value::from("failed"), Value::Bool(true));
        failed.insert(Value::from("msg"), Value::from(msg));
        failed
    }

    fn run(mut self) -> Result<Map, Exit> {
        let dest_is_dir = Path::new(&self.dest).is_dir();
        let checksum = self.expected_checksum()?;
        let mut modified_since = None;
        if !dest_is_dir && Path::new(&self.dest).exists() {
            if let Some(exit) = self.unchanged_exit(checksum.as_ref())? {
                return Ok(exit);
            }
            modified_since = fs::metadata(&self.dest)
                .and_then(|meta| meta.modified())
                .ok();
        }

        let start = Instant::now();
        let method = if self.options.check_mode {
            "HEAD"
        } else {
            "GET"
        };
        let url = self.url.clone();
        let (tmpsrc, fetched) = self.url_get(&url, method, modified_since)?;
        let removal = TempFile(tmpsrc.clone());
        self.set("elapsed", Value::Int(crate::http::elapsed_seconds(start)));
        self.set("src", Value::from(tmpsrc.display().to_string()));

        if dest_is_dir {
            let name = attachment_name(fetched.header("content-disposition").as_deref())
                .unwrap_or_else(|| url_filename(&fetched.url()));
            self.dest = Path::new(&self.dest).join(name).display().to_string();
            self.set("dest", Value::from(self.dest.as_str()));
        }
        let checksum_src = digest_file(&tmpsrc, HashAlgorithm::Sha1)
            .map_err(|_| self.fail(format!("Source {} is not readable", tmpsrc.display())))?;
        self.set("checksum_src", Value::from(checksum_src.as_str()));
        self.check_destination()?;

        if self.options.check_mode {
            drop(removal);
            let changed = self.result.get("checksum_dest") != self.result.get("checksum_src");
            self.set("changed", Value::Bool(changed));
            self.set("msg", Value::from(fetched.msg()));
            return Ok(self.result);
        }
        if let Some((algorithm, expected)) = &checksum {
            let actual = self.digest(&tmpsrc, algorithm)?;
            if &actual != expected {
                drop(removal);
                return Err(self.fail(format!(
                    "The checksum for {} did not match {expected}; it was {actual}.",
                    tmpsrc.display()
                )));
            }
        }
        let changed = self.install(&tmpsrc, removal)?;
        self.finish(changed, &fetched)
    }

    fn set(&mut self, key: &str, value: Value) {
        self.result.insert(Value::from(key), value);
    }

    /// Parses `checksum` (`ALGORITHM:HEX` or `ALGORITHM:URL`) into the algorithm and the
    /// expected hex digest, fetching the checksum file for a URL.
    fn expected_checksum(&mut self) -> Result<Option<(String, String)>, Exit> {
        let text = self.params.string("checksum").unwrap_or_default();
        if text.is_empty() {
            return Ok(None);
        }
        let Some((algorithm, value)) = text.split_once(':') else {
            return Err(self.fail(
                "The checksum parameter has to be in format <algorithm>:<checksum>".to_string(),
            ));
        };
        let mut value = value.to_string();
        if is_url(&value) {
            value = self.checksum_from_url(&value)?;
        }
        let digest: String = value
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '_')
            .collect::<String>()
            .to_lowercase();
        if !is_python_hex(&digest) {
            return Err(self.fail("The checksum format is invalid".to_string()));
        }
        Ok(Some((algorithm.to_string(), digest)))
    }

    /// Downloads a checksum file and returns the checksum it lists for the URL's file.
    fn checksum_from_url(&mut self, checksum_url: &str) -> Result<String, Exit> {
        let (path, _) = self.url_get(checksum_url, "GET", None)?;
        let text = fs::read(&path).unwrap_or_default();
        let _ = fs::remove_file(&path);
        let text = String::from_utf8_lossy(&text).replace("\r\n", "\n");
        let filename = url_filename(&self.url);
        match find_checksum(&text, &filename) {
            Some(checksum) => Ok(checksum),
            None => Err(crate::dispatch::failed(format!(
                "Unable to find a checksum for file '{filename}' in '{checksum_url}'"
            ))),
        }
    }

    /// When `dest` exists, not forced, and matches the checksum: the result that ends
    /// the run without a download, after applying owner, group and mode.
    fn unchanged_exit(&mut self, checksum: Option<&(String, String)>) -> Result<Option<Map>, Exit> {
        let Some((algorithm, expected)) = checksum else {
            return Ok(None);
        };
        if self.force {
            return Ok(None);
        }
        let dest = PathBuf::from(&self.dest);
        if &self.digest(&dest, algorithm)? != expected {
            // A mismatch downloads again, whatever the server reports of the file's age.
            self.force = true;
            return Ok(None);
        }
        let attributes = FileAttributes::from_params(self.params);
        let changed =
            set_attributes_if_different(&dest, &attributes, self.options.check_mode, &mut None)
                .map_err(|failure| failure.into_result())?;
        self.set("changed", Value::Bool(changed));
        let msg = if changed {
            "file already exists but file attributes changed"
        } else {
            "file already exists"
        };
        self.set("msg", Value::from(msg));
        Ok(Some(self.result.clone()))
    }

    /// Computes the hex digest of a file with the checksum's algorithm, failing as
    /// `digest_from_file` does for an algorithm it does not know.
    fn digest(&self, path: &Path, algorithm: &str) -> Result<String, Exit> {
        let Some(digest) = HashAlgorithm::from_name(algorithm) else {
            let names: Vec<&str> = HASH_ALGORITHMS.iter().map(|(name, _)| *name).collect();
            return Err(crate::dispatch::failed(format!(
                "Could not hash file '{}' with algorithm '{algorithm}'. Available algorithms: {}",
                path.display(),
                names.join(", ")
            )));
        };
        if matches!(digest, HashAlgorithm::Shake128 | HashAlgorithm::Shake256) {
            return Err(shake_failure());
        }
        digest_file(path, digest).map_err(|err| {
            crate::dispatch::failed(format!(
                "{}: '{}'",
                crate::files::os_error(&err),
                path.display()
            ))
        })
    }

    /// Fetches `url` into a new temporary file, as get_url's `url_get`. A 304 response
    /// ends the run unchanged; other failures fail it.
    fn url_get(
        &mut self,
        url: &str,
        method: &str,
        modified_since: Option<std::time::SystemTime>,
    ) -> Result<(PathBuf, Fetched), Exit> {
        let start = Instant::now();
        let request = Request {
            method: method.to_string(),
            url: url.to_string(),
            headers: self.headers.clone(),
            body: None,
            timeout: self.timeout,
            force: self.force,
            modified_since,
        };
        let mut fetched = crate::http::fetch(&self.client, &request)?;
        let elapsed = Value::Int(crate::http::elapsed_seconds(start));
        self.check_status(url, &fetched, &elapsed)?;

        let fail_with_elapsed = |msg: String| {
            let mut failed = crate::dispatch::failed(msg);
            failed.insert(Value::from("elapsed"), elapsed.clone());
            failed
        };
        let directory = match self.tmp_dest.clone() {
            Some(tmp_dest) => {
                let path = PathBuf::from(&tmp_dest);
                if !path.is_dir() {
                    return Err(fail_with_elapsed(if path.exists() {
                        format!("{tmp_dest} is a file but should be a directory.")
                    } else {
                        format!("{tmp_dest} directory does not exist.")
                    }));
                }
                path
            }
            None => self.work_dir()?,
        };
        let (path, mut file) = create_temp_file(&directory).map_err(|err| {
            fail_with_elapsed(format!(
                "failed to create temporary content file: {}",
                crate::files::os_error(&err)
            ))
        })?;
        let copied = match fetched.body.as_mut() {
            Some(body) => std::io::copy(body, &mut file).and_then(|_| file.flush()),
            None => Ok(()),
        };
        if let Err(err) = copied {
            drop(file);
            let _ = fs::remove_file(&path);
            return Err(fail_with_elapsed(format!(
                "failed to create temporary content file: {}",
                crate::http::os_error_text(&err)
            )));
        }
        Ok((path, fetched))
    }

    /// Ends the run as `url_get` does for a status other than 200: unchanged for 304,
    /// failed otherwise. A file:// URL has no status (None), which get_url accepts.
    fn check_status(&self, url: &str, fetched: &Fetched, elapsed: &Value) -> Result<(), Exit> {
        let from_file = url.starts_with("file:/");
        let status = if from_file && fetched.info.get("status") == Some(&Value::Null) {
            200
        } else {
            fetched.status()
        };
        let mut exit = Map::new();
        exit.insert(Value::from("url"), Value::from(url));
        exit.insert(Value::from("dest"), Value::from(self.dest.as_str()));
        if status == 304 {
            exit.insert(Value::from("changed"), Value::Bool(false));
            exit.insert(Value::from("msg"), Value::from(fetched.msg()));
            exit.insert(Value::from("status_code"), Value::Int(304));
            exit.insert(Value::from("elapsed"), elapsed.clone());
            return Err(exit);
        }
        if status == -1 {
            let mut failed = crate::dispatch::failed(fetched.msg());
            failed.extend(exit);
            failed.insert(Value::from("elapsed"), elapsed.clone());
            return Err(failed);
        }
        if status != 200 {
            let mut failed = crate::dispatch::failed("Request failed".to_string());
            failed.insert(Value::from("status_code"), Value::Int(status));
            failed.insert(Value::from("response"), Value::from(fetched.msg()));
            failed.extend(exit);
            failed.insert(Value::from("elapsed"), elapsed.clone());
            return Err(failed);
        }
        Ok(())
    }

    /// Returns the module's temporary directory, as `AnsibleModule.tmpdir`: the action's
    /// `ansible-tmp-...` directory, or with pipelining `ansible-moduletmp-...`.
    fn work_dir(&mut self) -> Result<PathBuf, Exit> {
        if let Some(dir) = &self.work_dir {
            return Ok(dir.0.clone());
        }
        let dir = TempDir::create(self.options).map_err(|err| {
            crate::dispatch::failed(format!(
                "failed to create temporary content file: {}",
                crate::files::os_error(&err)
            ))
        })?;
        let path = dir.0.clone();
        self.work_dir = Some(dir);
        Ok(path)
    }

    /// Checks that `dest` can be written (or created) and records its checksum.
    fn check_destination(&mut self) -> Result<(), Exit> {
        let dest = PathBuf::from(&self.dest);
        if dest.exists() {
            if !accessible(&dest, libc::W_OK) {
                return Err(self.fail(format!("Destination {} is not writable", self.dest)));
            }
            if !accessible(&dest, libc::R_OK) {
                return Err(self.fail(format!("Destination {} is not readable", self.dest)));
            }
            let checksum = digest_file(&dest, HashAlgorithm::Sha1)
                .map_err(|_| self.fail(format!("Destination {} is not readable", self.dest)))?;
            self.set("checksum_dest", Value::from(checksum));
            return Ok(());
        }
        let parent = python_dirname(&self.dest);
        if !Path::new(&parent).exists() || parent.is_empty() {
            return Err(self.fail(format!("Destination {parent} does not exist")));
        }
        if !accessible(Path::new(&parent), libc::W_OK) {
            return Err(self.fail(format!("Destination {parent} is not writable")));
        }
        Ok(())
    }

    /// Moves the download over `dest` when its content differs, keeping a backup when
    /// asked. Returns whether `dest` changed.
    fn install(&mut self, tmpsrc: &Path, removal: TempFile) -> Result<bool, Exit> {
        if self.result.get("checksum_src") == self.result.get("checksum_dest") {
            drop(removal);
            return Ok(false);
        }
        let dest = PathBuf::from(&self.dest);
        if self.params.flag("backup") && dest.exists() {
            let backup = crate::files::backup_local(&dest).map_err(|failure| {
                self.fail(format!(
                    "failed to copy {} to {}: {}",
                    tmpsrc.display(),
                    self.dest,
                    failure.msg
                ))
            })?;
            self.set("backup_file", Value::from(backup));
        }
        move_into_place(tmpsrc, &dest).map_err(|err| {
            self.fail(format!(
                "failed to copy {} to {}: {}",
                tmpsrc.display(),
                self.dest,
                crate::files::os_error(&err)
            ))
        })?;
        std::mem::forget(removal);
        Ok(true)
    }

    /// Applies owner, group and mode and adds the keys of a completed download.
    fn finish(mut self, changed: bool, fetched: &Fetched) -> Result<Map, Exit> {
        let dest = PathBuf::from(&self.dest);
        let attributes = FileAttributes::from_params(self.params);
        let attributes_changed = set_attributes_if_different(&dest, &attributes, false, &mut None)
            .map_err(|failure| failure.into_result())?;
        self.set("changed", Value::Bool(changed || attributes_changed));
        let md5 = digest_file(&dest, HashAlgorithm::Md5).ok();
        self.set("md5sum", md5.map(Value::from).unwrap_or_default());
        if let Some(backup) = self.result.shift_remove("backup_file") {
            self.set("backup_file", backup);
        }
        self.set("msg", Value::from(fetched.msg()));
        let status = fetched.info.get("status").cloned().unwrap_or_default();
        self.set("status_code", status);
        Ok(self.result)
    }
}

/// A temporary file removed when dropped, unless forgotten once it has been moved.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// A module temporary directory, removed with its content when dropped.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    /// Creates the directory where ansible-core's module would have its `tmpdir`.
    pub(crate) fn create(options: &ModuleOptions) -> std::io::Result<TempDir> {
        use std::os::unix::fs::DirBuilderExt;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let base = if options.system_tmp {
            "/var/tmp".to_string()
        } else {
            expand_home(options.remote_tmp.as_deref().unwrap_or("~/.ansible/tmp"))
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&base)?;
        let name = if options.pipelining {
            format!(
                "ansible-moduletmp-{}.{:07}-{}",
                now.as_secs(),
                now.subsec_nanos() / 100,
                crate::files::random_name(8)
            )
        } else {
            format!(
                "ansible-tmp-{}.{:07}-{}-{}",
                now.as_secs(),
                now.subsec_nanos() / 100,
                std::process::id(),
                u64::from(now.subsec_nanos()) * 7919 % 281_474_976_710_656
            )
        };
        let path = Path::new(&base).join(name);
        fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn expand_home(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => {
            let home = std::env::var("HOME").unwrap_or_default();
            format!("{}/{rest}", home.trim_end_matches('/'))
        }
        None => path.to_string(),
    }
}

/// Creates `tmpXXXXXXXX` (mode 0600) in `directory`, as Python's `mkstemp`.
fn create_temp_file(directory: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    let mut last_error = None;
    for attempt in 0..100u32 {
        let mut name = crate::files::random_name(8);
        if attempt > 0 {
            name = format!("{}{}", &name[..6], attempt % 100);
        }
        let path = directory.join(format!("tmp{name}"));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(err),
            Err(err) => return Err(err),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no temporary name left")))
}

/// Writes `content` to a new `tmpXXXXXXXX` file in `directory`, as `mkstemp`, and
/// returns its path.
pub(crate) fn write_temp_file(directory: &Path, content: &[u8]) -> std::io::Result<PathBuf> {
    let (path, mut file) = create_temp_file(directory)?;
    if let Err(err) = file.write_all(content).and_then(|()| file.flush()) {
        drop(file);
        let _ = fs::remove_file(&path);
        return Err(err);
    }
    Ok(path)
}

/// Moves `source` over `dest` atomically. A source on another filesystem is first
/// copied next to `dest`, as ansible-core's `atomic_move` does, so the rename itself
/// stays atomic.
pub(crate) fn move_into_place(source: &Path, dest: &Path) -> std::io::Result<()> {
    let parent = dest
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let same_device = match (fs::metadata(source), fs::metadata(parent)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => false,
    };
    if same_device {
        return crate::files::atomic_move(source, dest);
    }
    let (staged, mut file) = create_temp_file(parent)?;
    let copied = fs::File::open(source)
        .and_then(|mut input| std::io::copy(&mut input, &mut file))
        .and_then(|_| file.sync_all());
    drop(file);
    if let Err(err) = copied {
        let _ = fs::remove_file(&staged);
        return Err(err);
    }
    crate::files::atomic_move(&staged, dest)?;
    let _ = fs::remove_file(source);
    Ok(())
}

fn accessible(path: &Path, mode: libc::c_int) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(name) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `name` is a valid NUL-terminated path for the duration of the call.
    unsafe { libc::access(name.as_ptr(), mode) == 0 }
}

/// Python's `os.path.dirname`: everything before the last `/`, without trailing slashes
/// unless it is the root.
fn python_dirname(path: &str) -> String {
    match path.rfind('/') {
        None => String::new(),
        Some(index) => {
            let head = &path[..=index];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                head.to_string()
            } else {
                trimmed.to_string()
            }
        }
    }
}

/// The hash algorithms ansible-core's `AVAILABLE_HASH_ALGORITHMS` holds on Debian 12's
/// Python 3.11 with OpenSSL 3.0: those of `hashlib.algorithms_available` that
/// `hashlib` has a constructor for.
///
/// NOTE: Python lists them in set order, which varies from run to run, so the list
/// in the error for an unknown algorithm is in this fixed order instead.
const HASH_ALGORITHMS: &[(&str, HashAlgorithm)] = &[
    ("md5", HashAlgorithm::Md5),
    ("sha1", HashAlgorithm::Sha1),
    ("sha224", HashAlgorithm::Sha224),
    ("sha256", HashAlgorithm::Sha256),
    ("sha384", HashAlgorithm::Sha384),
    ("sha512", HashAlgorithm::Sha512),
    ("blake2b", HashAlgorithm::Blake2b),
    ("blake2s", HashAlgorithm::Blake2s),
    ("sha3_224", HashAlgorithm::Sha3_224),
    ("sha3_256", HashAlgorithm::Sha3_256),
    ("sha3_384", HashAlgorithm::Sha3_384),
    ("sha3_512", HashAlgorithm::Sha3_512),
    ("shake_128", HashAlgorithm::Shake128),
    ("shake_256", HashAlgorithm::Shake256),
];

/// A `hashlib` algorithm, with the default digest size of its constructor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HashAlgorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Blake2b,
    Blake2s,
    Sha3_224,
    Sha3_256,
    Sha3_384,
    Sha3_512,
    /// The SHAKE functions need a length for `hexdigest()`, which ansible-core does
    /// not pass, so hashing with them raises.
    Shake128,
    Shake256,
}

impl HashAlgorithm {
    fn from_name(name: &str) -> Option<HashAlgorithm> {
        HASH_ALGORITHMS
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, algorithm)| *algorithm)
    }
}

/// The module failure of hashing with a SHAKE function: Python raises `TypeError`
/// from `hexdigest()`, and the module ends with a traceback.
fn shake_failure() -> Exit {
    let mut result =
        crate::dispatch::failed("MODULE FAILURE\nSee stdout/stderr for the exact error".into());
    result.insert(
        Value::from("module_stderr"),
        Value::from("TypeError: hexdigest() missing required argument 'length' (pos 1)\n"),
    );
    result.insert(Value::from("module_stdout"), Value::from(""));
    result.insert(Value::from("rc"), Value::Int(1));
    result
}

/// Computes the hex digest of a file's content, read in blocks because downloads
/// can be large.
fn digest_file(path: &Path, digest: HashAlgorithm) -> std::io::Result<String> {
    let file = fs::File::open(fs::canonicalize(path)?)?;
    match digest {
        HashAlgorithm::Md5 => hash_reader::<md5::Md5>(file),
        HashAlgorithm::Sha1 => hash_reader::<sha1::Sha1>(file),
        HashAlgorithm::Sha224 => hash_reader::<sha2::Sha224>(file),
        HashAlgorithm::Sha256 => hash_reader::<sha2::Sha256>(file),
        HashAlgorithm::Sha384 => hash_reader::<sha2::Sha384>(file),
        HashAlgorithm::Sha512 => hash_reader::<sha2::Sha512>(file),
        HashAlgorithm::Blake2b => hash_reader::<blake2::Blake2b512>(file),
        HashAlgorithm::Blake2s => hash_reader::<blake2::Blake2s256>(file),
        HashAlgorithm::Sha3_224 => hash_reader::<sha3::Sha3_224>(file),
        HashAlgorithm::Sha3_256 => hash_reader::<sha3::Sha3_256>(file),
        HashAlgorithm::Sha3_384 => hash_reader::<sha3::Sha3_384>(file),
        HashAlgorithm::Sha3_512 => hash_reader::<sha3::Sha3_512>(file),
        HashAlgorithm::Shake128 | HashAlgorithm::Shake256 => Err(std::io::Error::other(
            "hexdigest() missing required argument 'length' (pos 1)",
        )),
    }
}

fn hash_reader<D: sha2::Digest>(mut input: impl std::io::Read) -> std::io::Result<String> {
    let mut hasher = D::new();
    let mut block = vec![0u8; 64 * 1024];
    loop {
        let read = input.read(&mut block)?;
        if read == 0 {
            break;
        }
        hasher.update(&block[..read]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// Returns the file name at the end of a URL's path, or `index.html` when it has none,
/// as get_url's `url_filename`.
pub fn url_filename(url: &str) -> String {
    let name = crate::http::pyurl::path_basename(url);
    if name.is_empty() {
        "index.html".to_string()
    } else {
        name
    }
}

/// Returns the file name of `Content-Disposition: attachment; filename="NAME"`,
/// without any directory part.
fn attachment_name(header: Option<&str>) -> Option<String> {
    let rest = header?.strip_prefix("attachment;")?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let rest = rest.strip_prefix("filename=")?;
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let name: String = rest.chars().take_while(|c| *c != '"').collect();
    if name.is_empty() {
        return None;
    }
    Some(name.rsplit('/').next().unwrap_or_default().to_string())
}

/// Tells whether a checksum value is a URL of a scheme get_url fetches.
fn is_url(value: &str) -> bool {
    let Some((scheme, _)) = value.split_once(':') else {
        return false;
    };
    let valid = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid
        && matches!(
            scheme.to_ascii_lowercase().as_str(),
            "http" | "https" | "ftp" | "file"
        )
}

/// Tells whether Python's `int(text, 16)` accepts `text` (which has no sign or
/// spaces left).
fn is_python_hex(text: &str) -> bool {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_hexdigit() || c == '_')
}

/// Returns the checksum a checksum file lists for `filename`. A file of a single word
/// is that checksum. Otherwise each line is `CHECKSUM NAME` or `CHECKSUM *NAME`, and a
/// leading `./` of the name is ignored.
fn find_checksum(text: &str, filename: &str) -> Option<String> {
    let lines: Vec<&str> = text
        .split_inclusive('\n')
        .map(|line| line.trim_end_matches('\n'))
        .collect();
    if lines.len() == 1 && lines[0].split_whitespace().count() == 1 {
        return Some(lines[0].to_string());
    }
    lines.iter().find_map(|line| {
        let (checksum, name) = line.split_once(' ')?;
        let name = name
            .strip_prefix(' ')
            .or_else(|| name.strip_prefix('*'))
            .unwrap_or(name);
        (name.trim_start_matches(['.', '/']) == filename).then(|| checksum.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_file_formats() {
        let sums = "abc123  ./kubeadm\ndef456 *kubectl\n0f0f0f  other\n";
        assert_eq!(find_checksum(sums, "kubeadm").as_deref(), Some("abc123"));
        assert_eq!(find_checksum(sums, "kubectl").as_deref(), Some("def456"));
        assert_eq!(find_checksum(sums, "missing"), None);
        assert_eq!(find_checksum("cafe01\n", "x").as_deref(), Some("cafe01"));
    }

    #[test]
    fn url_file_names() {
        assert_eq!(url_filename("http://h/a/b.tar.gz?x=1"), "b.tar.gz");
        assert_eq!(url_filename("http://h/"), "index.html");
        assert_eq!(url_filename("http://h"), "index.html");
    }

    #[test]
    fn content_disposition_names() {
        assert_eq!(
            attachment_name(Some("attachment; filename=\"report.txt\"")).as_deref(),
            Some("report.txt")
        );
        assert_eq!(
            attachment_name(Some("attachment;filename=../../etc/x")).as_deref(),
            Some("x")
        );
        assert_eq!(attachment_name(Some("inline; filename=a")), None);
    }

    #[test]
    fn checksum_urls_and_hex() {
        assert!(is_url("https://example.com/SHA256SUMS"));
        assert!(!is_url("a948904f2f0f479b"));
        assert!(is_python_hex("a948904f"));
        assert!(!is_python_hex(""));
        assert!(!is_python_hex("xyz"));
    }

    #[test]
    fn dirname_like_python() {
        assert_eq!(python_dirname("/srv/dl/a.txt"), "/srv/dl");
        assert_eq!(python_dirname("/a"), "/");
        assert_eq!(python_dirname("a.txt"), "");
    }

    /// Serves each connection one canned response per path, from a thread, and
    /// returns the server's base URL. `/stall` never responds.
    fn serve(routes: &'static [(&'static str, &'static str)]) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                std::thread::spawn(move || {
                    use std::io::{BufRead, BufReader};
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut request_line = String::new();
                    let _ = reader.read_line(&mut request_line);
                    let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
                    if path == "/stall" {
                        std::thread::sleep(Duration::from_secs(10));
                        return;
                    }
                    let response = routes
                        .iter()
                        .find(|(route, _)| *route == path)
                        .map(|(_, response)| *response)
                        .unwrap_or("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                    let _ = stream.write_all(response.as_bytes());
                });
            }
        });
        base
    }

    const ROUTES: &[(&str, &str)] = &[(
        "/hello.txt",
        "HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n",
    )];

    const HELLO_SHA256: &str = "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447";

    fn get_url(args: &[(&str, Value)]) -> Map {
        let args: Map = args
            .iter()
            .map(|(key, value)| (Value::from(*key), value.clone()))
            .collect();
        let options = ModuleOptions {
            system_tmp: true,
            ..ModuleOptions::default()
        };
        run(&SPEC.validate(&args).unwrap(), &options)
    }

    #[test]
    fn download_then_checksum_skip() {
        let base = serve(ROUTES);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("hello.txt").display().to_string();
        let args = [
            ("url", Value::from(format!("{base}/hello.txt"))),
            ("dest", Value::from(dest.as_str())),
            ("checksum", Value::from(format!("sha256:{HELLO_SHA256}"))),
        ];
        let result = get_url(&args);
        assert_eq!(
            result.get("changed"),
            Some(&Value::Bool(true)),
            "{result:?}"
        );
        assert_eq!(result.get("msg"), Some(&Value::from("OK (12 bytes)")));
        assert_eq!(result.get("status_code"), Some(&Value::Int(200)));
        assert_eq!(fs::read_to_string(&dest).unwrap(), "hello world\n");
        let again = get_url(&args);
        assert_eq!(again.get("changed"), Some(&Value::Bool(false)));
        assert_eq!(again.get("msg"), Some(&Value::from("file already exists")));
    }

    #[test]
    fn hashlib_checksum_algorithms() {
        let base = serve(ROUTES);
        let dir = tempfile::tempdir().unwrap();
        // Digests of "hello world\n" from Python 3.11's hashlib.
        for (algorithm, digest) in [
            ("sha3_256", "a8009a7a528d87778c356da3a55d964719e818666a04e4f960c9e2439e35f138"),
            ("blake2s", "9e63cf8c57ba5a7c3019c344ae7192d12f683fb0b5fc03b21bc6d1a377977257"),
            ("blake2b", "fec91c70284c72d0d4e3684788a90de9338a5b2f47f01fedbe203cafd68708718ae5672d10eca804a8121904047d40d1d6cf11e7a76419357a9469af41f22d01"),
        ] {
            let dest = dir.path().join(algorithm).display().to_string();
            let result = get_url(&[
                ("url", Value::from(format!("{base}/hello.txt"))),
                ("dest", Value::from(dest.as_str())),
                ("checksum", Value::from(format!("{algorithm}:{digest}"))),
            ]);
            assert_eq!(result.get("changed"), Some(&Value::Bool(true)), "{algorithm}: {result:?}");
        }
        let unknown = get_url(&[
            ("url", Value::from(format!("{base}/hello.txt"))),
            (
                "dest",
                Value::from(dir.path().join("x").display().to_string()),
            ),
            ("checksum", Value::from("whirlpool:00")),
        ]);
        let msg = crate::pyrepr::str(unknown.get("msg").unwrap());
        assert!(
            msg.contains("with algorithm 'whirlpool'. Available algorithms: md5, sha1"),
            "{msg}"
        );
        assert!(msg.ends_with("shake_128, shake_256"), "{msg}");
    }

    #[test]
    fn failures_leave_no_dest() {
        let base = serve(ROUTES);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.txt").display().to_string();
        let wrong = get_url(&[
            ("url", Value::from(format!("{base}/hello.txt"))),
            ("dest", Value::from(dest.as_str())),
            ("checksum", Value::from(format!("md5:{}", "0".repeat(32)))),
        ]);
        let msg = crate::pyrepr::str(wrong.get("msg").unwrap());
        assert!(msg.contains("did not match 00000000"), "{msg}");
        assert!(
            msg.ends_with("it was 6f5902ac237024bdd0c176cb93063dc4."),
            "{msg}"
        );
        let missing = get_url(&[
            ("url", Value::from(format!("{base}/missing"))),
            ("dest", Value::from(dest.as_str())),
        ]);
        assert_eq!(missing.get("msg"), Some(&Value::from("Request failed")));
        assert_eq!(
            missing.get("response"),
            Some(&Value::from("HTTP Error 404: Not Found"))
        );
        let stalled = get_url(&[
            ("url", Value::from(format!("{base}/stall"))),
            ("dest", Value::from(dest.as_str())),
            ("timeout", Value::Int(1)),
        ]);
        assert_eq!(
            stalled.get("msg"),
            Some(&Value::from("Connection failure: timed out"))
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn wrong_checksum_format_fails_early() {
        let mut args = Map::new();
        args.insert(Value::from("url"), Value::from("http://127.0.0.1:9/x"));
        args.insert(Value::from("dest"), Value::from("/nonexistent/x"));
        args.insert(Value::from("checksum"), Value::from("abc"));
        let params = SPEC.validate(&args).unwrap();
        let result = run(&params, &ModuleOptions::default());
        assert_eq!(
            result.get("msg"),
            Some(&Value::from(
                "The checksum parameter has to be in format <algorithm>:<checksum>"
            ))
        );
        assert_eq!(result.get("checksum_src"), Some(&Value::Null));
    }
}
