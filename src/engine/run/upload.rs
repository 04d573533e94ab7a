//! Remote outputs: a finished local file is sent to the store as a
//! multipart upload, and the object appears only when the upload
//! completes. A failure or a cancel aborts the upload, so the store keeps
//! neither a partial object nor orphaned parts.

use std::io::Read;
use std::path::Path;

use object_store::{ObjectStoreExt, PutPayload};

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::storage::remote::connect::connect;
use crate::engine::input::storage::remote::errors::remote_error;
use crate::engine::input::storage::remote::options::StoreOptions;
use crate::engine::input::storage::remote::transfer::Transfer;
use crate::engine::input::storage::remote::url::RemoteUrl;

/// Bytes per uploaded part (S3 wants at least 5 MiB for all but the last).
pub const PART_BYTES: usize = 8 << 20;

/// Send `local` to `url` as one multipart upload. `cancelled` is asked
/// between parts; when it says so, the upload is aborted.
pub fn upload_file(
    local: &Path,
    url: &str,
    options: &StoreOptions,
    cancelled: &dyn Fn() -> bool,
) -> Result<()> {
    let remote = RemoteUrl::parse(url)
        .unwrap_or_else(|| Err(QuarryError::Usage(format!("{url} is not a remote URL"))))?;
    if remote.key.is_empty() || remote.key.ends_with('/') {
        return Err(QuarryError::Usage(format!(
            "{url}: name the object to write (a key after the bucket)"
        )));
    }
    let store = connect(&remote, options)?;
    let transfer = Transfer::new()?;
    let key = object_store::path::Path::parse(&remote.key)
        .unwrap_or_else(|_| object_store::path::Path::from(remote.key.as_str()));
    let fail = |e: &object_store::Error| remote_error(e, url, remote.scheme);
    let mut upload = transfer
        .block_on(store.put_multipart(&key))
        .map_err(|e| fail(&e))?;
    let mut file = std::fs::File::open(local).map_err(|e| QuarryError::io(local, e))?;
    let sent = (|| -> Result<()> {
        loop {
            if cancelled() {
                return Err(QuarryError::Usage(format!(
                    "{url}: the upload was cancelled; nothing was written"
                )));
            }
            let mut part = Vec::with_capacity(PART_BYTES);
            (&mut file)
                .take(PART_BYTES as u64)
                .read_to_end(&mut part)
                .map_err(|e| QuarryError::io(local, e))?;
            if part.is_empty() {
                return Ok(());
            }
            let len = part.len() as u64;
            transfer
                .block_on(upload.put_part(PutPayload::from(part)))
                .map_err(|e| fail(&e))?;
            transfer.count(1, len);
        }
    })();
    let done = sent.and_then(|_| {
        transfer
            .block_on(upload.complete())
            .map(|_| ())
            .map_err(|e| fail(&e))
    });
    if let Err(e) = done {
        // The parts sent so far are discarded; if even that fails, say so:
        // the store may bill for orphaned parts until a lifecycle rule
        // removes them.
        if let Err(abort) = transfer.block_on(upload.abort()) {
            return Err(QuarryError::Remote(format!(
                "{e}\nAborting the upload failed too ({}); the store may keep its parts until a lifecycle rule removes them.",
                crate::engine::input::storage::remote::errors::redact(&abort.to_string())
            )));
        }
        return Err(e);
    }
    Ok(())
}

/// Send the files of directory `local` to prefix `url`, each as its own
/// upload, then a `_SUCCESS` marker: readers of the prefix (quarry skips
/// `_` names) can tell a finished output from one still being written.
pub fn upload_dir(
    local: &Path,
    url: &str,
    options: &StoreOptions,
    cancelled: &dyn Fn() -> bool,
) -> Result<()> {
    let mut names: Vec<_> = std::fs::read_dir(local)
        .map_err(|e| QuarryError::io(local, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let prefix = url.trim_end_matches('/');
    for p in &names {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("part");
        upload_file(p, &format!("{prefix}/{name}"), options, cancelled)?;
    }
    let marker = empty_marker()?;
    upload_file(
        marker.temp_path(),
        &format!("{prefix}/_SUCCESS"),
        options,
        cancelled,
    )
}

/// An empty local file for the marker (removed when dropped).
fn empty_marker() -> Result<crate::engine::run::atomic::Pending> {
    let dir = crate::engine::run::persist::cache_root().join("uploads");
    std::fs::create_dir_all(&dir).map_err(|e| QuarryError::io(&dir, e))?;
    let pending = crate::engine::run::atomic::Pending::file(&dir.join("_SUCCESS"));
    pending.create()?;
    Ok(pending)
}
