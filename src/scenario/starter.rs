//! The starting scenario `rentree init` writes: one platform, two cohorts (pupils and staff) arriving
//! around a bell at 8:00, one pool with a backlog and an overload slowdown, a session quota and two
//! variants, every field commented with its unit and meaning. It runs as written, in a few seconds.

use crate::error::Error;

/// The template, with `PLATFORM` where the platform's name goes.
const TEMPLATE: &str = include_str!("starter.toml");

/// The longest platform name `init` accepts: it names a table, files and chart panels.
const MAX_NAME_CHARS: usize = 64;

/// The starting scenario for a platform named `platform` (a TOML bare key: ASCII letters, digits, `_` and
/// `-`, not starting with `-`, at most 64 characters), or what is wrong with the name.
pub fn starter(platform: &str) -> Result<String, Error> {
    let bare = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if platform.is_empty() || platform.len() > MAX_NAME_CHARS || !platform.chars().all(bare) || platform.starts_with('-') {
        return Err(Error::Argument {
            flag: "PLATFORM_NAME".into(),
            found: format!("{platform:?}"),
            expected: format!(
                "a name of 1 to {MAX_NAME_CHARS} ASCII letters, digits, '_' or '-' (not starting with '-'), e.g. \"pronote\""
            ),
        });
    }
    Ok(TEMPLATE.replace("PLATFORM", platform))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Override, Scenario};
    use std::path::Path;

    #[test]
    fn the_starter_validates_with_its_variants_and_names_its_platform() {
        for name in ["desk", "ent-idf", "Pronote_2"] {
            let text = starter(name).unwrap();
            let s = Scenario::from_toml(&text, Path::new("starter.toml"), &[]).unwrap();
            assert_eq!(s.platforms.len(), 1);
            assert_eq!(s.platforms[0].name, name);
            assert!(!text.contains("PLATFORM"));
            for variant in ["twice-the-servers", "no-quota"] {
                let overrides = Override::variant(&text, Path::new("starter.toml"), variant).unwrap();
                let v = Scenario::from_toml(&text, Path::new("starter.toml"), &overrides);
                assert!(v.is_ok(), "{name}, {variant}: {v:?}");
            }
        }
    }

    #[test]
    fn a_name_that_is_not_a_bare_key_is_refused_with_what_is_expected() {
        for bad in ["", "two words", "a.b", "-x", "é", &"x".repeat(65)] {
            let e = starter(bad).unwrap_err().to_string();
            assert!(e.contains("PLATFORM_NAME") && e.contains("ASCII letters"), "{bad:?}: {e}");
        }
    }
}
