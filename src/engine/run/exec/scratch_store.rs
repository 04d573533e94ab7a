//! Where a Dask job's description and task outputs live: a directory on a
//! filesystem every worker shares, or a prefix in an object store
//! (`--scratch s3://bucket/prefix`) that every worker can reach. Writes are
//! whole or absent either way: temp + rename on a filesystem, a single PUT
//! (atomic in every store) for an object.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::engine::error::{QuarryError, Result};
use crate::engine::input::storage::remote::connect::connect;
use crate::engine::input::storage::remote::errors::remote_error;
use crate::engine::input::storage::remote::options::StoreOptions;
use crate::engine::input::storage::remote::transfer::Transfer;
use crate::engine::input::storage::remote::url::RemoteUrl;
use crate::engine::run::atomic::write_bytes;

/// A job's scratch space.
pub enum ScratchStore {
    Local(PathBuf),
    Remote {
        prefix: RemoteUrl,
        store: Arc<dyn ObjectStore>,
        transfer: Arc<Transfer>,
    },
}

impl ScratchStore {
    /// The scratch space at `location`: a URL names a store prefix.
    pub fn open(location: &str, options: &StoreOptions) -> Result<ScratchStore> {
        match RemoteUrl::parse(location) {
            None => Ok(ScratchStore::Local(PathBuf::from(location))),
            Some(url) => {
                let mut url = url?;
                url.key = url.key.trim_end_matches('/').to_string();
                Ok(ScratchStore::Remote {
                    store: connect(&url, options)?,
                    transfer: Arc::new(Transfer::new()?),
                    prefix: url,
                })
            }
        }
    }

    /// Where it is, as the workers are told.
    pub fn location(&self) -> String {
        match self {
            ScratchStore::Local(dir) => dir.to_string_lossy().into_owned(),
            ScratchStore::Remote { prefix, .. } => prefix.full(),
        }
    }

    pub fn is_remote(&self) -> bool {
        matches!(self, ScratchStore::Remote { .. })
    }

    fn key(prefix: &RemoteUrl, name: &str) -> object_store::path::Path {
        let key = if prefix.key.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", prefix.key)
        };
        object_store::path::Path::from(key.as_str())
    }

    /// The whole content of `name`.
    pub fn read(&self, name: &str) -> Result<Vec<u8>> {
        match self {
            ScratchStore::Local(dir) => {
                let path = dir.join(name);
                std::fs::read(&path).map_err(|e| QuarryError::io(&path, e))
            }
            ScratchStore::Remote {
                prefix,
                store,
                transfer,
            } => {
                let key = Self::key(prefix, name);
                let url = prefix.with_key(key.as_ref());
                transfer
                    .block_on(async { store.get(&key).await?.bytes().await })
                    .map(|b| b.to_vec())
                    .map_err(|e| remote_error(&e, &url, prefix.scheme))
            }
        }
    }

    /// Write `name` whole: readers see all of it or nothing.
    pub fn write(&self, name: &str, bytes: Vec<u8>) -> Result<()> {
        match self {
            ScratchStore::Local(dir) => write_bytes(&dir.join(name), &bytes),
            ScratchStore::Remote {
                prefix,
                store,
                transfer,
            } => {
                let key = Self::key(prefix, name);
                let url = prefix.with_key(key.as_ref());
                transfer
                    .block_on(store.put(&key, PutPayload::from(bytes)))
                    .map(|_| ())
                    .map_err(|e| remote_error(&e, &url, prefix.scheme))
            }
        }
    }

    /// Whether `name` exists (best effort: an error reads as absent).
    pub fn exists(&self, name: &str) -> bool {
        match self {
            ScratchStore::Local(dir) => dir.join(name).exists(),
            ScratchStore::Remote {
                prefix,
                store,
                transfer,
            } => transfer
                .block_on(store.head(&Self::key(prefix, name)))
                .is_ok(),
        }
    }

    /// Remove `name` (best effort: scratch space is freed, not required).
    pub fn remove(&self, name: &str) {
        match self {
            ScratchStore::Local(dir) => {
                let _ = std::fs::remove_file(dir.join(name));
            }
            ScratchStore::Remote {
                prefix,
                store,
                transfer,
            } => {
                let _ = transfer.block_on(store.delete(&Self::key(prefix, name)));
            }
        }
    }

    /// Remove everything under a remote prefix; `false` when something is
    /// left. (A local directory is removed by its owner, `Scratch`.)
    pub fn remove_all_remote(&self) -> bool {
        let ScratchStore::Remote {
            prefix,
            store,
            transfer,
        } = self
        else {
            return true;
        };
        let under = object_store::path::Path::from(prefix.key.as_str());
        transfer.block_on(async {
            let keys: Vec<_> = match store.list(Some(&under)).try_collect::<Vec<_>>().await {
                Ok(metas) => metas.into_iter().map(|m| m.location).collect(),
                Err(_) => return false,
            };
            let mut ok = true;
            for k in keys {
                ok &= store.delete(&k).await.is_ok();
            }
            ok
        })
    }

    /// The local directory, when it is one.
    pub fn local_dir(&self) -> Option<&Path> {
        match self {
            ScratchStore::Local(dir) => Some(dir),
            ScratchStore::Remote { .. } => None,
        }
    }
}
