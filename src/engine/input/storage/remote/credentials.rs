//! AWS profile files (`~/.aws/credentials` and `~/.aws/config`), which
//! `object_store` does not read itself: the profile named by `AWS_PROFILE`
//! (else `default`) supplies keys, region and endpoint when the
//! environment does not.

use std::collections::HashMap;
use std::path::PathBuf;

/// What one profile sets.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AwsProfile {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

fn home() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf())
}

fn credentials_file() -> Option<PathBuf> {
    std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".aws/credentials")))
}

fn config_file() -> Option<PathBuf> {
    std::env::var_os("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".aws/config")))
}

/// The selected profile, from both files; `None` when neither names it.
pub fn aws_profile() -> Option<AwsProfile> {
    let name = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    let read = |p: Option<PathBuf>| p.and_then(|p| std::fs::read_to_string(p).ok());
    let credentials = read(credentials_file()).map(|t| parse_ini(&t));
    let config = read(config_file()).map(|t| parse_ini(&t));
    let from_credentials = credentials.as_ref().and_then(|c| c.get(&name));
    // The config file spells non-default profiles `[profile name]`.
    let from_config = config
        .as_ref()
        .and_then(|c| c.get(&format!("profile {name}")).or_else(|| c.get(&name)));
    if from_credentials.is_none() && from_config.is_none() {
        return None;
    }
    let get = |key: &str| {
        from_credentials
            .and_then(|s| s.get(key))
            .or_else(|| from_config.and_then(|s| s.get(key)))
            .cloned()
    };
    Some(AwsProfile {
        access_key_id: get("aws_access_key_id"),
        secret_access_key: get("aws_secret_access_key"),
        session_token: get("aws_session_token"),
        region: get("region"),
        endpoint_url: get("endpoint_url"),
    })
}

/// Secret values in the profile files, so error text can mask them.
pub fn profile_secrets() -> Vec<String> {
    aws_profile()
        .map(|p| {
            [p.secret_access_key, p.session_token, p.access_key_id]
                .into_iter()
                .flatten()
                .collect()
        })
        .unwrap_or_default()
}

type Sections = HashMap<String, HashMap<String, String>>;

/// The INI dialect of the AWS files: `[section]`, `key = value`, `#` and
/// `;` comments.
fn parse_ini(text: &str) -> Sections {
    let mut sections = Sections::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim().to_string();
            sections.entry(name.clone()).or_default();
            current = Some(name);
        } else if let (Some(section), Some((k, v))) = (&current, line.split_once('=')) {
            sections
                .get_mut(section)
                .expect("section exists")
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_and_keys() {
        let s = parse_ini(
            "# c\n[default]\naws_access_key_id = AKIA1\naws_secret_access_key=s3cr3t\n\n[profile dev]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:9000\n",
        );
        assert_eq!(s["default"]["aws_access_key_id"], "AKIA1");
        assert_eq!(s["default"]["aws_secret_access_key"], "s3cr3t");
        assert_eq!(s["profile dev"]["region"], "eu-west-1");
        assert_eq!(s["profile dev"]["endpoint_url"], "http://127.0.0.1:9000");
    }
}
