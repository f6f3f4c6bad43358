//! Where a scenario comes from, and what is done to it before it runs: a file or a built-in model, a named
//! variant, overrides and a scale. `run`, `validate`, `size` and an experiment's base scenario all resolve
//! their scenario here, so a built-in name, a variant or an experiment file given by mistake mean the same
//! thing to every command.

use super::{Override, Scenario};
use crate::builtin::{self, BuiltinModel};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The built-in models a scenario may be named by, as `builtin:NAME`.
const BUILTINS: [(&str, &BuiltinModel); 2] = [("replay", &builtin::REPLAY), ("evening", &builtin::EVENING)];

/// A scenario's text and what is applied to it: its variant's and the caller's overrides, in order, then
/// a scale.
#[derive(Debug, Clone)]
pub struct Source {
    text: String,
    /// The file it came from (for a built-in model, its path in the repository), named in every message.
    origin: PathBuf,
    /// What a manifest says it ran: the path, or `builtin:PATH`, and the variant.
    label: String,
    overrides: Vec<Override>,
    scale: f64,
}

impl Source {
    /// The file `path`, or the built-in replay when `None`. An experiment file is refused: it is run by
    /// `rentree sweep`, not as a scenario.
    pub fn file(path: Option<&Path>) -> Result<Source> {
        let Some(p) = path else {
            return Ok(Source::builtin(&builtin::REPLAY));
        };
        let text = std::fs::read_to_string(p).map_err(|source| Error::Read { path: p.to_owned(), source })?;
        Source::from_text(text, p)
    }

    /// The scenario text `text`, named `origin` in messages and manifests: what a host program (the Python
    /// package) passes instead of a file. An experiment or calibration text is refused, as by [`Source::file`].
    pub fn from_text(text: String, origin: &Path) -> Result<Source> {
        let refuse = |kind: &str, table: &str, command: &str| Error::Parse {
            path: origin.to_owned(),
            message: format!("this is {kind} file (it has a [{table}] table), not a scenario: run it with `rentree {command} FILE`"),
        };
        if has_table(&text, "calibration") {
            return Err(refuse("a calibration", "calibration", "calibrate"));
        }
        if is_experiment_text(&text) {
            return Err(refuse("an experiment", "experiment", "sweep"));
        }
        Ok(Source { label: origin.display().to_string(), origin: origin.to_owned(), text, overrides: Vec::new(), scale: 1.0 })
    }

    /// The scenario that field `field` of file `named_in` names: `builtin:replay`, `builtin:evening`, or a
    /// file relative to the folder of `named_in`.
    pub fn named(spec: &str, named_in: &Path, field: &str) -> Result<Source> {
        match spec.strip_prefix("builtin:") {
            Some(name) => match BUILTINS.iter().find(|(n, _)| *n == name) {
                Some((_, m)) => Ok(Source::builtin(m)),
                None => Err(Error::Invalid {
                    path: named_in.to_owned(),
                    field: field.into(),
                    found: format!("{spec:?}"),
                    expected: format!(
                        "a scenario file, or one of {}",
                        BUILTINS.iter().map(|(n, _)| format!("\"builtin:{n}\"")).collect::<Vec<_>>().join(", ")
                    ),
                }),
            },
            None => Source::file(Some(&named_in.parent().unwrap_or(Path::new(".")).join(spec))),
        }
    }

    /// The built-in models, as `builtin:NAME` names them: (NAME, model).
    pub fn builtins() -> impl Iterator<Item = (&'static str, &'static BuiltinModel)> {
        BUILTINS.iter().copied()
    }

    fn builtin(m: &BuiltinModel) -> Source {
        Source {
            text: m.text.to_owned(),
            origin: PathBuf::from(m.path),
            label: format!("builtin:{}", m.path),
            overrides: Vec::new(),
            scale: 1.0,
        }
    }

    /// Starts from the named variant (`[variants.NAME]`) of the scenario, if `name` is given.
    pub fn variant(mut self, name: Option<&str>) -> Result<Source> {
        if let Some(v) = name {
            self.overrides.extend(Override::variant(&self.text, &self.origin, v)?);
            self.label = format!("{} (variant {v})", self.label);
        }
        Ok(self)
    }

    /// Then applies `--set` assignments (`path=value`), in order.
    pub fn set(mut self, assignments: &[String]) -> Result<Source> {
        for a in assignments {
            self.overrides.push(Override::parse(a)?);
        }
        Ok(self)
    }

    /// Then applies `overrides` (an experiment's `set`, written in a file), in order.
    pub fn with(mut self, overrides: Vec<Override>) -> Source {
        self.overrides.extend(overrides);
        self
    }

    /// At `scale` (population and capacity together; 1 is full scale).
    pub fn scaled(mut self, scale: f64) -> Source {
        self.scale = scale;
        self
    }

    /// The validated scenario.
    pub fn scenario(&self) -> Result<Scenario> {
        self.scenario_with(&[])
    }

    /// The validated scenario with `extra` overrides after the source's own (a sweep's configuration, a
    /// sizing knob's value).
    pub fn scenario_with(&self, extra: &[Override]) -> Result<Scenario> {
        let all: Vec<Override> = self.overrides.iter().chain(extra).cloned().collect();
        Scenario::from_toml_scaled(&self.text, &self.origin, &all, self.scale)
    }

    /// The scenario's text, as read.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The file it came from, as named in messages.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// What a manifest says was run: the path (or `builtin:PATH`) and the variant.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The scale.
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

/// Whether `text` is an experiment file (it has an `[experiment]` table), even one that does not parse.
pub fn is_experiment_text(text: &str) -> bool {
    match toml::from_str::<toml::Table>(text) {
        Ok(t) => t.contains_key("experiment"),
        Err(_) => has_table(text, "experiment"),
    }
}

/// Whether `text` has a `[name]` table header, read line by line (for a file that does not parse).
pub fn has_table(text: &str, name: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim();
        l.strip_prefix('[').and_then(|r| r.split(']').next()).is_some_and(|h| h.trim() == name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_replay_with_a_variant_a_set_and_a_scale() {
        let s =
            Source::file(None).unwrap().variant(Some("no-attack")).unwrap().set(&["scenario.horizon_s=600".into()]).unwrap().scaled(0.01);
        assert_eq!(s.label(), "builtin:models/france-2021-04-06.toml (variant no-attack)");
        let scenario = s.scenario().unwrap();
        assert_eq!(scenario.horizon.as_secs_f64(), 600.0);
        assert!(scenario.platforms.iter().all(|p| p.attacks.is_empty()));
    }

    #[test]
    fn a_builtin_name_and_an_unknown_one() {
        let here = Path::new("experiments/x/experiment.toml");
        assert_eq!(Source::named("builtin:evening", here, "experiment.scenario").unwrap().origin(), Path::new(builtin::EVENING.path));
        let e = Source::named("builtin:nope", here, "experiment.scenario").unwrap_err().to_string();
        assert!(e.contains("experiment.scenario") && e.contains("\"builtin:nope\"") && e.contains("\"builtin:replay\""), "{e}");
    }

    #[test]
    fn experiment_texts_are_recognised_even_when_broken() {
        assert!(is_experiment_text("[experiment]\nname = \"x\"\n"));
        assert!(is_experiment_text("[experiment]\nname = \n"));
        assert!(!is_experiment_text("[scenario]\nname = \"x\"\n"));
    }
}
