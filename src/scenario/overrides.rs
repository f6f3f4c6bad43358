//! `--set path=value` overrides, applied to the parsed TOML tree before it is checked against the schema.

use super::raw::RawScenario;
use crate::error::{Error, Result};
use serde::Deserialize;

/// One `dotted.path=value` assignment. The value is read as a TOML value (`40`, `0.5`, `"fifo"`,
/// `{ dist = "exponential", mean_s = 2.0 }`); a bare word that is not valid TOML is taken as a string.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// Where it was written, for messages: `--set`, or a file with its variant or strategy.
    pub origin: String,
    /// The assignment as the user wrote it.
    pub assignment: String,
    /// The path split on dots.
    pub path: Vec<String>,
    /// The value to set.
    pub value: toml::Value,
}

impl Override {
    /// Parses `path=value` given with `--set`.
    pub fn parse(assignment: &str) -> Result<Override> {
        Override::parse_from("--set", assignment)
    }

    /// Parses `path=value` written at `origin` (a flag such as `--knob`, or a file and its section).
    pub fn parse_from(origin: &str, assignment: &str) -> Result<Override> {
        let err =
            |message: &str| Error::Override { origin: origin.to_owned(), assignment: assignment.to_owned(), message: message.to_owned() };
        let (path, value) = assignment.split_once('=').ok_or_else(|| err("expected path=value"))?;
        let path: Vec<String> = path.trim().split('.').map(|s| s.trim().to_owned()).collect();
        if path.iter().any(String::is_empty) {
            return Err(err("expected a dotted path such as platforms.desk.pool.servers"));
        }
        let value = value.trim();
        let value = match toml::from_str::<toml::Table>(&format!("v = {value}")) {
            Ok(mut t) => t.remove("v").expect("key v was just parsed"),
            Err(_) => toml::Value::String(value.to_owned()),
        };
        Ok(Override { origin: origin.to_owned(), assignment: assignment.to_owned(), path, value })
    }

    /// The assignment of `value` to the dotted `path`, written at `origin` (a variant, an experiment's
    /// `set`, grid or range).
    pub fn set(origin: &str, path: &str, value: &toml::Value) -> Override {
        let text = match value {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Override {
            origin: origin.to_owned(),
            assignment: format!("{path}={text}"),
            path: path.split('.').map(str::to_owned).collect(),
            value: value.clone(),
        }
    }

    /// The overrides of variant `name` of the scenario `text` (read from `origin`), in path order.
    pub fn variant(text: &str, origin: &std::path::Path, name: &str) -> Result<Vec<Override>> {
        let raw: RawScenario =
            toml::from_str(text).map_err(|e| Error::Parse { path: origin.to_owned(), message: e.to_string().trim_end().to_owned() })?;
        match raw.variants.get(name) {
            Some(set) => {
                let origin = format!("{}, [variants.{name}]", origin.display());
                Ok(set.iter().map(|(p, v)| Override::set(&origin, p, v)).collect())
            }
            None => {
                let known: Vec<&str> = raw.variants.keys().map(String::as_str).collect();
                Err(Error::Invalid {
                    path: origin.to_owned(),
                    field: "--variant".into(),
                    found: format!("{name:?}"),
                    expected: if known.is_empty() {
                        "no variant: this scenario defines no [variants] table".into()
                    } else {
                        format!("one of the variants defined: {known:?}")
                    },
                })
            }
        }
    }

    /// Sets the value in `table`, creating intermediate tables where the path is absent (an optional
    /// section); whether the final path is a real field is checked by the schema afterwards. A segment that
    /// is a whole number indexes an existing array (`platforms.ent.admission.0.max_sessions`: the first
    /// admission policy's quota).
    pub fn apply(&self, table: &mut toml::Table) -> Result<()> {
        let err = |depth: usize, message: String| Error::Override {
            origin: self.origin.clone(),
            assignment: self.assignment.clone(),
            message: format!("{}{message}", self.path[..=depth].join(".")),
        };
        let last = self.path.len() - 1;
        let mut current = table.entry(self.path[0].clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if last == 0 {
            *current = self.value.clone();
            return Ok(());
        }
        for depth in 1..=last {
            let key = &self.path[depth];
            let kind = current.type_str();
            current = match current {
                toml::Value::Table(t) if depth == last => {
                    t.insert(key.clone(), self.value.clone());
                    return Ok(());
                }
                toml::Value::Table(t) => t.entry(key.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new())),
                toml::Value::Array(a) => {
                    let len = a.len();
                    let slot = key.parse::<usize>().ok().and_then(|i| a.get_mut(i)).ok_or_else(|| {
                        err(
                            depth - 1,
                            format!(" is an array of {len}: expected an index from 0 to {} after it, found {key:?}", len.max(1) - 1),
                        )
                    })?;
                    if depth == last {
                        *slot = self.value.clone();
                        return Ok(());
                    }
                    slot
                }
                _ => return Err(err(depth - 1, format!(" is a {kind}, not a table: cannot set a field inside it"))),
            };
        }
        unreachable!("the loop returns at the path's last segment")
    }
}

/// Checks the overridden tree against the schema; a failure now is the overrides' fault, since the file
/// itself was checked before they were applied. The message names the first override after which the
/// tree no longer fits the schema (found by applying them one by one, on the error path only).
pub(super) fn deserialize_overridden(base: &toml::Table, table: toml::Table, overrides: &[Override]) -> Result<RawScenario> {
    let message = match RawScenario::deserialize(toml::Value::Table(table)) {
        Ok(raw) => return Ok(raw),
        Err(e) => e.to_string().trim_end().to_owned(),
    };
    let mut partial = base.clone();
    for o in overrides {
        o.apply(&mut partial)?;
        if let Err(e) = RawScenario::deserialize(toml::Value::Table(partial.clone())) {
            return Err(Error::Override {
                origin: o.origin.clone(),
                assignment: o.assignment.clone(),
                message: e.to_string().trim_end().to_owned(),
            });
        }
    }
    // Only together do they break the schema (rare): name them all.
    let origins: Vec<&str> = overrides.iter().map(|o| o.origin.as_str()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    Err(Error::Override {
        origin: origins.join(" and "),
        assignment: overrides.iter().map(|o| o.assignment.as_str()).collect::<Vec<_>>().join(" "),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> toml::Table {
        toml::from_str("[p.ent]\nadmission = [{ policy = \"session_quota\", max_sessions = 10 }, { policy = \"x\" }]\nn = 1\n").unwrap()
    }

    #[test]
    fn a_whole_number_segment_indexes_an_array() {
        let mut t = tree();
        Override::parse("p.ent.admission.0.max_sessions=25").unwrap().apply(&mut t).unwrap();
        assert_eq!(t["p"]["ent"]["admission"][0]["max_sessions"].as_integer(), Some(25));
        assert_eq!(t["p"]["ent"]["admission"][1]["policy"].as_str(), Some("x"), "the other element is untouched");
        // The element itself, replaced whole.
        Override::parse("p.ent.admission.1={ policy = \"y\" }").unwrap().apply(&mut t).unwrap();
        assert_eq!(t["p"]["ent"]["admission"][1]["policy"].as_str(), Some("y"));
    }

    #[test]
    fn an_index_outside_the_array_or_a_field_inside_a_number_is_refused_with_the_path() {
        let mut t = tree();
        let e = Override::parse("p.ent.admission.2.max_sessions=25").unwrap().apply(&mut t).unwrap_err().to_string();
        assert!(e.contains("p.ent.admission is an array of 2: expected an index from 0 to 1"), "{e}");
        let e = Override::parse("p.ent.admission.first.max_sessions=25").unwrap().apply(&mut t).unwrap_err().to_string();
        assert!(e.contains("found \"first\""), "{e}");
        let e = Override::parse("p.ent.n.x=1").unwrap().apply(&mut t).unwrap_err().to_string();
        assert!(e.contains("p.ent.n is a integer, not a table"), "{e}");
        // An absent section is created (an optional table), as before.
        Override::parse("p.cned.pool.servers=3").unwrap().apply(&mut t).unwrap();
        assert_eq!(t["p"]["cned"]["pool"]["servers"].as_integer(), Some(3));
    }
}
