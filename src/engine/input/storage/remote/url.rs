//! Telling remote locations from local paths, and splitting one into the
//! store it lives in (scheme and bucket, or scheme and host) and the key
//! inside that store.

use crate::engine::error::{QuarryError, Result};

/// The kinds of store quarry reads through `object_store`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    S3,
    Gcs,
    Azure,
    Http,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::S3 => "S3",
            Scheme::Gcs => "Google Cloud Storage",
            Scheme::Azure => "Azure Blob Storage",
            Scheme::Http => "HTTP",
        }
    }
}

/// A remote location: `root` names the store (`s3://bucket`,
/// `https://host:port`), `key` the object or prefix inside it (no leading
/// slash; empty for the whole bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUrl {
    pub scheme: Scheme,
    pub root: String,
    pub key: String,
}

/// The URL schemes that name a remote location.
const PREFIXES: [(&str, Scheme); 9] = [
    ("s3://", Scheme::S3),
    ("s3a://", Scheme::S3),
    ("gs://", Scheme::Gcs),
    ("gcs://", Scheme::Gcs),
    ("az://", Scheme::Azure),
    ("abfs://", Scheme::Azure),
    ("abfss://", Scheme::Azure),
    ("http://", Scheme::Http),
    ("https://", Scheme::Http),
];

/// Whether `location` names a remote object rather than a local path.
pub fn is_remote(location: &str) -> bool {
    scheme_of(location).is_some()
}

fn scheme_of(location: &str) -> Option<(usize, Scheme)> {
    let lower = location.get(..8.min(location.len()))?.to_ascii_lowercase();
    PREFIXES
        .iter()
        .find(|(p, _)| lower.starts_with(p))
        .map(|(p, s)| (p.len(), *s))
}

impl RemoteUrl {
    /// Parse a remote location; `None` for a local path.
    pub fn parse(location: &str) -> Option<Result<RemoteUrl>> {
        let (prefix_len, scheme) = scheme_of(location)?;
        let rest = &location[prefix_len..];
        let (authority, key) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        if authority.is_empty() {
            let what = match scheme {
                Scheme::Http => "host",
                Scheme::Azure => "container",
                _ => "bucket",
            };
            return Some(Err(QuarryError::Usage(format!(
                "{location}: the URL names no {what}. Write it as {}",
                match scheme {
                    Scheme::S3 => "s3://bucket/path/to/data.csv",
                    Scheme::Gcs => "gs://bucket/path/to/data.csv",
                    Scheme::Azure => "az://container/path/to/data.csv",
                    Scheme::Http => "https://host/path/to/data.csv",
                }
            ))));
        }
        let root = format!("{}{}", &location[..prefix_len], authority);
        // A query string (a pre-signed URL) belongs to the object, not to
        // the key's path segments; object_store takes keys only.
        Some(Ok(RemoteUrl {
            scheme,
            root,
            key: key.to_string(),
        }))
    }

    /// The full URL of `key` in this store.
    pub fn with_key(&self, key: &str) -> String {
        format!("{}/{}", self.root, key)
    }

    /// The full URL.
    pub fn full(&self) -> String {
        self.with_key(&self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_store_and_key() {
        let u = RemoteUrl::parse("s3://bucket/a/b.csv").unwrap().unwrap();
        assert_eq!(u.scheme, Scheme::S3);
        assert_eq!(u.root, "s3://bucket");
        assert_eq!(u.key, "a/b.csv");
        assert_eq!(u.full(), "s3://bucket/a/b.csv");
        let u = RemoteUrl::parse("http://127.0.0.1:9000/x/y.parquet")
            .unwrap()
            .unwrap();
        assert_eq!(u.scheme, Scheme::Http);
        assert_eq!(u.root, "http://127.0.0.1:9000");
        assert_eq!(u.key, "x/y.parquet");
        let u = RemoteUrl::parse("gs://b").unwrap().unwrap();
        assert_eq!(u.key, "");
        let u = RemoteUrl::parse("abfss://c@acct.dfs.core.windows.net/k")
            .unwrap()
            .unwrap();
        assert_eq!(u.scheme, Scheme::Azure);
        assert_eq!(u.root, "abfss://c@acct.dfs.core.windows.net");
    }

    #[test]
    fn local_paths_are_not_remote() {
        for p in ["data.csv", "/tmp/s3:/x", "./s3://x", "C:/x", "logs/*.json"] {
            assert!(!is_remote(p), "{p}");
        }
        assert!(is_remote("S3://Bucket/k"));
        assert!(RemoteUrl::parse("s3:///key").unwrap().is_err());
    }
}
