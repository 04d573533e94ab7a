//! Store failures as one paragraph each: the URL, what the server said and
//! the fix (which credential, flag or variable). No secret survives into
//! the text: values of credential variables and URL signatures are masked.

use super::url::Scheme;
use crate::engine::error::QuarryError;

/// The kinds of failure a user fixes differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    NotFound,
    NoSuchBucket,
    Forbidden,
    Unauthenticated,
    ServerError(u16),
    OtherStatus(u16),
    Dns,
    Tls,
    Refused,
    Timeout,
    NotSupported,
    Config,
    Other,
}

/// Sort a store error into what the user must do about it.
pub fn classify(err: &object_store::Error) -> Failure {
    let text = chain_text(err).to_ascii_lowercase();
    match err {
        object_store::Error::NotFound { .. } if text.contains("nosuchbucket") => {
            return Failure::NoSuchBucket
        }
        object_store::Error::NotFound { .. } => return Failure::NotFound,
        object_store::Error::PermissionDenied { .. } => return Failure::Forbidden,
        object_store::Error::Unauthenticated { .. } => return Failure::Unauthenticated,
        object_store::Error::NotSupported { .. } | object_store::Error::NotImplemented { .. } => {
            return Failure::NotSupported
        }
        object_store::Error::UnknownConfigurationKey { .. } => return Failure::Config,
        _ => {}
    }
    if text.contains("nosuchbucket") {
        return Failure::NoSuchBucket;
    }
    if let Some(code) = status_code(&text) {
        return match code {
            404 => Failure::NotFound,
            403 => Failure::Forbidden,
            401 => Failure::Unauthenticated,
            500..=599 => Failure::ServerError(code),
            _ => Failure::OtherStatus(code),
        };
    }
    if text.contains("dns error") || text.contains("failed to lookup address") {
        Failure::Dns
    } else if text.contains("certificate") || text.contains("tls") || text.contains("ssl") {
        Failure::Tls
    } else if text.contains("connection refused")
        || text.contains("error trying to connect")
        || text.contains("connection reset")
        || text.contains("connection closed")
        || text.contains("client error (connect)")
    {
        Failure::Refused
    } else if text.contains("timed out") || text.contains("timeout") {
        Failure::Timeout
    } else if text.contains("missing") || text.contains("configuration") {
        Failure::Config
    } else {
        Failure::Other
    }
}

/// Failures worth another try: the server or the network had a bad moment.
pub fn is_transient(f: Failure) -> bool {
    matches!(
        f,
        Failure::ServerError(_) | Failure::Refused | Failure::Timeout
    )
}

/// The user-facing error for `err` while reading `url`.
pub fn remote_error(err: &object_store::Error, url: &str, scheme: Scheme) -> QuarryError {
    let failure = classify(err);
    let detail = redact(&chain_text(err));
    let detail: String = detail.chars().take(400).collect();
    let (what, fix) = explain(failure, scheme);
    QuarryError::Remote(format!("{url}: {what}.\n{fix}\nDetail: {detail}"))
}

fn explain(failure: Failure, scheme: Scheme) -> (String, String) {
    let credentials = match scheme {
        Scheme::S3 => "Give credentials for an identity that may read it: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN for temporary ones), or AWS_PROFILE naming a profile in ~/.aws/credentials; on EC2, ECS or EKS the instance or task role is used. A public bucket needs --anonymous (`anonymous = true` in the recipe's [source]).",
        Scheme::Gcs => "Point GOOGLE_APPLICATION_CREDENTIALS at a service-account key file that may read it. A public bucket needs --anonymous (`anonymous = true` in the recipe's [source]).",
        Scheme::Azure => "Set AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN (or a service principal: AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID). A public container needs --anonymous.",
        Scheme::Http => "The server refused the request; check that the URL is public, or use a pre-signed URL.",
    };
    let endpoint = "Check the endpoint: --endpoint (`endpoint = \"...\"` in the recipe's [source]) or AWS_ENDPOINT_URL for an S3-compatible store such as MinIO or Ceph";
    match failure {
        Failure::NotFound => (
            "no such object (HTTP 404)".into(),
            "Check the bucket and the key, and their case. A prefix (a \"folder\") needs a trailing /, and a glob must be quoted so the shell leaves it alone.".into(),
        ),
        Failure::NoSuchBucket => (
            "the bucket does not exist (HTTP 404, NoSuchBucket)".into(),
            format!("Check the bucket's name and the region (AWS_REGION). {endpoint}."),
        ),
        Failure::Forbidden => ("access denied (HTTP 403)".into(), credentials.into()),
        Failure::Unauthenticated => (
            "the store did not accept the credentials (HTTP 401)".into(),
            credentials.into(),
        ),
        Failure::ServerError(code) => (
            format!("the server failed (HTTP {code}), also on every retry"),
            "The store is having trouble or is overloaded. Try again later; nothing was written.".into(),
        ),
        Failure::OtherStatus(code) => (
            format!("the server answered HTTP {code}"),
            format!("{endpoint}, and that the URL names an object."),
        ),
        Failure::Dns => (
            "cannot resolve the host name".into(),
            format!("{endpoint}, and the network (DNS) from this machine."),
        ),
        Failure::Tls => (
            "the TLS connection failed (certificate or protocol)".into(),
            format!("{endpoint}. For a plain-http endpoint write http:// and set AWS_ALLOW_HTTP=true; a private CA's certificate must be in the system's trust store."),
        ),
        Failure::Refused => (
            "cannot connect to the server, also on every retry".into(),
            format!("Is the server up? {endpoint}."),
        ),
        Failure::Timeout => (
            "the request timed out, also on every retry".into(),
            "The store or the network is slow or unreachable from here; try again, or from a machine nearer the data.".into(),
        ),
        Failure::NotSupported => (
            "the store cannot do this".into(),
            "A plain HTTP server cannot list objects: name each object's URL (globs and prefixes need S3, GCS or Azure).".into(),
        ),
        Failure::Config => (
            "the store is not configured".into(),
            format!("{credentials} {endpoint}."),
        ),
        Failure::Other => ("the request failed".into(), format!("{endpoint}.")),
    }
}

/// An error and its sources, as one line.
fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        next = e.source();
    }
    out
}

/// The first HTTP status code a message reports.
fn status_code(text: &str) -> Option<u16> {
    for marker in ["status code: ", "status: ", "status code "] {
        if let Some(i) = text.find(marker) {
            let digits: String = text[i + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if let Ok(code) = digits.parse::<u16>() {
                if (100..600).contains(&code) {
                    return Some(code);
                }
            }
        }
    }
    None
}

/// Environment variables whose values are secrets.
const SECRET_VARIABLES: [&str; 9] = [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/// Query parameters that carry signatures or tokens.
const SECRET_PARAMETERS: [&str; 5] = [
    "x-amz-signature=",
    "x-amz-security-token=",
    "x-amz-credential=",
    "sig=",
    "x-goog-signature=",
];

/// Mask credential values and URL signatures in `text`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    for var in SECRET_VARIABLES {
        if let Ok(value) = std::env::var(var) {
            if value.len() >= 4 {
                out = out.replace(&value, "[redacted]");
            }
        }
    }
    for secret in super::credentials::profile_secrets() {
        if secret.len() >= 4 {
            out = out.replace(&secret, "[redacted]");
        }
    }
    for param in SECRET_PARAMETERS {
        loop {
            let lower = out.to_ascii_lowercase();
            let Some(i) = lower.find(param) else { break };
            let from = i + param.len();
            let end = out[from..]
                .find(['&', ' ', '"', '\''])
                .map_or(out.len(), |j| from + j);
            if out[from..end] == *"[redacted]" {
                break;
            }
            out.replace_range(from..end, "[redacted]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_status_codes() {
        assert_eq!(
            status_code("server returned non-2xx status code: 503 service unavailable"),
            Some(503)
        );
        assert_eq!(status_code("no code here"), None);
    }

    #[test]
    fn masks_signatures() {
        let s = redact("GET https://b.s3/k?X-Amz-Signature=abcdef0123&X-Amz-Date=1 failed");
        assert!(!s.contains("abcdef0123"), "{s}");
        assert!(s.contains("X-Amz-Date=1"));
    }

    #[test]
    fn every_failure_names_a_fix() {
        for f in [
            Failure::NotFound,
            Failure::NoSuchBucket,
            Failure::Forbidden,
            Failure::Unauthenticated,
            Failure::ServerError(503),
            Failure::OtherStatus(416),
            Failure::Dns,
            Failure::Tls,
            Failure::Refused,
            Failure::Timeout,
            Failure::NotSupported,
            Failure::Config,
            Failure::Other,
        ] {
            for scheme in [Scheme::S3, Scheme::Gcs, Scheme::Azure, Scheme::Http] {
                let (what, fix) = explain(f, scheme);
                assert!(!what.is_empty() && fix.len() > 20, "{f:?} {scheme:?}");
            }
        }
    }
}
