//! The user's choices for reaching a store, beyond the environment.

/// How to reach a remote store, beyond what the environment says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct StoreOptions {
    /// An S3-compatible endpoint (MinIO, Ceph) or an Azure endpoint; over
    /// `AWS_ENDPOINT_URL` when both are set.
    pub endpoint: Option<String>,
    /// Send unsigned requests (public buckets), ignoring any credentials.
    pub anonymous: bool,
}
