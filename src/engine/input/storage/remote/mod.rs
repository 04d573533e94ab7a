//! Objects in S3, Google Cloud Storage, Azure Blob Storage and on HTTP
//! servers, through the `object_store` crate: listing, globs and prefixes,
//! ranged reads, and the errors users can act on.
//!
//! `url` tells a remote location from a path; `connect` builds clients from
//! the environment; `object` reads one object at offsets; `errors` turns
//! failures into paragraphs; `credentials` reads AWS profile files;
//! `options` holds the endpoint and signing choices; `transfer` runs
//! requests and counts them.

pub mod connect;
pub mod credentials;
pub mod errors;
pub mod object;
pub mod options;
pub mod transfer;
pub mod url;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

pub use options::StoreOptions;
pub use transfer::Transfer;
pub use url::{is_remote, RemoteUrl, Scheme};

use super::{ByteSource, Entry, Storage};
use crate::engine::error::{QuarryError, Result};
use errors::{classify, remote_error, Failure};
use object::RemoteObject;

/// The remote stores one source reads: a client per store root, and what
/// listings already told about objects (so opening a listed object costs no
/// request).
pub struct RemoteStorage {
    options: StoreOptions,
    transfer: Arc<Transfer>,
    stores: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
    known: Mutex<HashMap<String, ObjectMeta>>,
}

impl std::fmt::Debug for RemoteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStorage")
            .field("options", &self.options)
            .finish()
    }
}

fn location_str(location: &Path) -> Result<&str> {
    location.to_str().ok_or_else(|| {
        QuarryError::Usage(format!(
            "{}: a remote URL must be UTF-8",
            location.display()
        ))
    })
}

fn parse(location: &str) -> Result<RemoteUrl> {
    RemoteUrl::parse(location).unwrap_or_else(|| {
        Err(QuarryError::Usage(format!(
            "{location} is not a remote URL (s3://, gs://, az://, http(s)://)"
        )))
    })
}

/// The store key of a user-written key: kept as written when it is a valid
/// store path, else encoded.
fn store_path(key: &str) -> StorePath {
    StorePath::parse(key).unwrap_or_else(|_| StorePath::from(key))
}

impl RemoteStorage {
    pub fn new(options: StoreOptions) -> Result<RemoteStorage> {
        Ok(RemoteStorage {
            options,
            transfer: Arc::new(Transfer::new()?),
            stores: Mutex::new(HashMap::new()),
            known: Mutex::new(HashMap::new()),
        })
    }

    /// Requests and bytes fetched through this storage so far.
    pub fn transfer(&self) -> Arc<Transfer> {
        self.transfer.clone()
    }

    fn store(&self, url: &RemoteUrl) -> Result<Arc<dyn ObjectStore>> {
        let mut stores = self.stores.lock().expect("stores lock");
        if let Some(s) = stores.get(&url.root) {
            return Ok(s.clone());
        }
        let s = connect::connect(url, &self.options)?;
        stores.insert(url.root.clone(), s.clone());
        Ok(s)
    }

    fn head(&self, url: &RemoteUrl) -> Result<ObjectMeta, object_store::Error> {
        let full = url.full();
        if let Some(meta) = self.known.lock().expect("known lock").get(&full) {
            return Ok(meta.clone());
        }
        let store = self.store(url).map_err(|e| object_store::Error::Generic {
            store: "quarry",
            source: e.to_string().into(),
        })?;
        let meta = self.transfer.block_on(store.head(&store_path(&url.key)))?;
        self.known
            .lock()
            .expect("known lock")
            .insert(full, meta.clone());
        Ok(meta)
    }

    /// Every object under `prefix` (a key ending in `/`, or empty).
    fn list_prefix(&self, url: &RemoteUrl, prefix: &str) -> Result<Vec<ObjectMeta>> {
        if url.scheme == Scheme::Http {
            return Err(QuarryError::Usage(format!(
                "{}: a plain HTTP server cannot be listed, so globs and prefixes work only on s3://, gs:// and az:// stores. Name each object's URL.",
                url.full()
            )));
        }
        self.list_raw(url, prefix)
            .map_err(|e| remote_error(&e, &url.with_key(prefix), url.scheme))
    }

    /// [`list_prefix`](Self::list_prefix) with the store's own error.
    fn list_raw(
        &self,
        url: &RemoteUrl,
        prefix: &str,
    ) -> Result<Vec<ObjectMeta>, object_store::Error> {
        let store = self.store(url).map_err(|e| object_store::Error::Generic {
            store: "quarry",
            source: e.to_string().into(),
        })?;
        let prefix_path = (!prefix.is_empty()).then(|| store_path(prefix.trim_end_matches('/')));
        let metas: Vec<ObjectMeta> = self
            .transfer
            .block_on(store.list(prefix_path.as_ref()).try_collect())?;
        let mut known = self.known.lock().expect("known lock");
        for m in &metas {
            known.insert(url.with_key(m.location.as_ref()), m.clone());
        }
        Ok(metas)
    }
}

impl Storage for RemoteStorage {
    fn entry(&self, location: &Path) -> Result<Entry> {
        let url = parse(location_str(location)?)?;
        if url.key.is_empty() || url.key.ends_with('/') {
            return Ok(Entry::Directory);
        }
        match self.head(&url) {
            Ok(meta) => Ok(Entry::File { size: meta.size }),
            Err(e) if classify(&e) == Failure::NotFound && url.scheme != Scheme::Http => {
                // No object by that name: a prefix written without its `/`?
                // The listing also tells a missing bucket (a HEAD's 404 has
                // no body to say so).
                let under = format!("{}/", url.key);
                match self.list_raw(&url, &under) {
                    Ok(objects) if !objects.is_empty() => Ok(Entry::Directory),
                    Err(listing) if classify(&listing) == Failure::NoSuchBucket => {
                        Err(remote_error(&listing, &url.full(), url.scheme))
                    }
                    _ => Err(remote_error(&e, &url.full(), url.scheme)),
                }
            }
            Err(e) => Err(remote_error(&e, &url.full(), url.scheme)),
        }
    }

    fn list(&self, location: &Path) -> Result<Vec<PathBuf>> {
        let url = parse(location_str(location)?)?;
        let prefix = if url.key.is_empty() || url.key.ends_with('/') {
            url.key.clone()
        } else {
            format!("{}/", url.key)
        };
        Ok(self
            .list_prefix(&url, &prefix)?
            .into_iter()
            .map(|m| PathBuf::from(url.with_key(m.location.as_ref())))
            .collect())
    }

    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>> {
        let url = parse(pattern)?;
        let wild = url.key.find(['*', '?', '[']).unwrap_or(url.key.len());
        // List from the last `/` before the first wildcard.
        let prefix = match url.key[..wild].rfind('/') {
            Some(i) => &url.key[..=i],
            None => "",
        };
        let matcher = glob::Pattern::new(&url.key).map_err(|e| QuarryError::BadGlob {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
        let options = glob::MatchOptions {
            require_literal_separator: true,
            ..Default::default()
        };
        Ok(self
            .list_prefix(&url, prefix)?
            .into_iter()
            .filter(|m| matcher.matches_with(m.location.as_ref(), options))
            .map(|m| PathBuf::from(url.with_key(m.location.as_ref())))
            .collect())
    }

    fn open(&self, location: &Path) -> Result<Arc<dyn ByteSource>> {
        let url = parse(location_str(location)?)?;
        let meta = self
            .head(&url)
            .map_err(|e| remote_error(&e, &url.full(), url.scheme))?;
        Ok(Arc::new(RemoteObject::new(
            self.store(&url)?,
            meta.location.clone(),
            url.full(),
            url.scheme,
            meta.size,
            Some(meta.last_modified.into()),
            self.transfer.clone(),
        )))
    }
}
