//! Keymaps and themes: embedded presets (yazi-style) plus the user's files in
//! quarry's config directory (`$XDG_CONFIG_HOME/quarry/` on Linux):
//! `keymaps/NAME.toml` and `themes/NAME.toml`.

pub mod keymap;
pub mod theme;

use std::path::PathBuf;

pub use keymap::{Keymap, Mode};
pub use theme::Theme;

pub struct Config {
    pub keymap: Keymap,
    pub theme: Theme,
    /// Problems with the user's files, shown on screen at start.
    pub warnings: Vec<String>,
}

pub fn config_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("QUARRY_CONFIG_DIR") {
        return Some(PathBuf::from(d));
    }
    directories::ProjectDirs::from("", "", "quarry").map(|d| d.config_dir().to_path_buf())
}

fn user_file(kind: &str, name: &str) -> Option<String> {
    let path = config_dir()?.join(kind).join(format!("{name}.toml"));
    std::fs::read_to_string(path).ok()
}

impl Config {
    /// Load the named keymap and theme. Unknown preset names are errors only
    /// when no user file of that name exists either.
    pub fn load(keymap: &str, theme: &str) -> Result<Config, String> {
        let mut warnings = Vec::new();
        let user_km = user_file("keymaps", keymap);
        let preset = match (Keymap::preset(keymap), &user_km) {
            (Some(p), _) => p,
            (None, Some(_)) => Keymap::preset("default").unwrap_or_default(),
            (None, None) => {
                return Err(format!(
                    "unknown keymap `{keymap}` (built in: default, simple; or put {keymap}.toml in the keymaps config directory)"
                ))
            }
        };
        let (keymap, w) = Keymap::load(preset, user_km.as_deref());
        warnings.extend(w);
        let user_theme = user_file("themes", theme);
        if Theme::preset(theme).is_none() && user_theme.is_none() {
            return Err(format!(
                "unknown theme `{theme}` (built in: dark, light, mono; or put {theme}.toml in the themes config directory)"
            ));
        }
        let (theme, w) = Theme::load(theme, user_theme.as_deref());
        warnings.extend(w);
        Ok(Config {
            keymap,
            theme,
            warnings,
        })
    }
}
