//! Building a store client for a URL the way users already configure them:
//! the clouds' environment variables (what `object_store`'s `from_env`
//! reads), AWS profile files, and quarry's endpoint and anonymous options.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use super::credentials::aws_profile;
use super::errors::remote_error;
use super::options::StoreOptions;
use super::url::{RemoteUrl, Scheme};
use crate::engine::error::Result;

/// Transient failures (5xx, resets, timeouts) are retried this many times
/// with exponential backoff from `INITIAL_BACKOFF`, then reported.
const MAX_RETRIES: usize = 4;
const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
const RETRY_TIMEOUT: Duration = Duration::from_secs(60);

fn retry() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: INITIAL_BACKOFF,
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: MAX_RETRIES,
        retry_timeout: RETRY_TIMEOUT,
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true"))
}

fn client_options(allow_http: bool) -> ClientOptions {
    ClientOptions::new()
        .with_allow_http(allow_http)
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(60))
}

/// The endpoint in force for S3: the option, then the environment
/// (`AWS_ENDPOINT_URL`, read by `from_env`), then the profile.
fn s3_endpoint(options: &StoreOptions) -> Option<String> {
    options
        .endpoint
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .or_else(|| std::env::var("AWS_ENDPOINT").ok())
        .or_else(|| aws_profile().and_then(|p| p.endpoint_url))
}

/// A client for the store `url` lives in.
pub fn connect(url: &RemoteUrl, options: &StoreOptions) -> Result<Arc<dyn ObjectStore>> {
    let built: object_store::Result<Arc<dyn ObjectStore>> = match url.scheme {
        Scheme::S3 => {
            let mut b = AmazonS3Builder::from_env().with_url(&url.root);
            let profile = aws_profile();
            if !options.anonymous && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                if let Some(p) = &profile {
                    if let (Some(id), Some(secret)) = (&p.access_key_id, &p.secret_access_key) {
                        b = b.with_access_key_id(id).with_secret_access_key(secret);
                        if let Some(t) = &p.session_token {
                            b = b.with_token(t);
                        }
                    }
                }
            }
            if std::env::var_os("AWS_REGION").is_none()
                && std::env::var_os("AWS_DEFAULT_REGION").is_none()
            {
                if let Some(region) = profile.as_ref().and_then(|p| p.region.clone()) {
                    b = b.with_region(region);
                }
            }
            let endpoint = s3_endpoint(options);
            // An endpoint the user wrote as http:// asks for plain http.
            let plain = endpoint
                .as_deref()
                .is_some_and(|e| e.starts_with("http://"));
            if let Some(e) = endpoint {
                b = b.with_endpoint(e);
            }
            b.with_skip_signature(options.anonymous)
                .with_retry(retry())
                .with_client_options(client_options(plain || env_flag("AWS_ALLOW_HTTP")))
                .build()
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        }
        Scheme::Gcs => GoogleCloudStorageBuilder::from_env()
            .with_url(&url.root)
            .with_skip_signature(options.anonymous)
            .with_retry(retry())
            .with_client_options(client_options(false))
            .build()
            .map(|s| Arc::new(s) as Arc<dyn ObjectStore>),
        Scheme::Azure => {
            let mut b = MicrosoftAzureBuilder::from_env()
                .with_url(&url.root)
                .with_skip_signature(options.anonymous)
                .with_retry(retry());
            let mut plain = env_flag("AZURE_ALLOW_HTTP");
            if let Some(e) = &options.endpoint {
                plain |= e.starts_with("http://");
                b = b.with_endpoint(e.clone());
            }
            b.with_client_options(client_options(plain))
                .build()
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        }
        Scheme::Http => HttpBuilder::new()
            .with_url(&url.root)
            .with_retry(retry())
            .with_client_options(client_options(url.root.starts_with("http://")))
            .build()
            .map(|s| Arc::new(s) as Arc<dyn ObjectStore>),
    };
    built.map_err(|e| remote_error(&e, &url.full(), url.scheme))
}
