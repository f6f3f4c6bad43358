//! Scenario files shipped inside the binary, so `rentree verify` (and, later, `rentree run` with no argument)
//! work from any directory. The files themselves live in `models/` as data; this only embeds them.

/// A scenario file embedded at build time.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinModel {
    /// Path relative to the repository root, e.g. `models/textbook/mmc.toml`.
    pub path: &'static str,
    /// The file's text.
    pub text: &'static str,
}

macro_rules! model {
    ($path:literal) => {
        BuiltinModel { path: $path, text: include_str!(concat!("../", $path)) }
    };
}

/// The textbook queues, each checked against theory by `rentree verify`.
pub const TEXTBOOK: &[BuiltinModel] = &[
    model!("models/textbook/mm1.toml"),
    model!("models/textbook/mmc.toml"),
    model!("models/textbook/mmc-heavy.toml"),
    model!("models/textbook/mmc-large.toml"),
    model!("models/textbook/mmck.toml"),
    model!("models/textbook/erlang-a.toml"),
    model!("models/textbook/mgc-loss.toml"),
    model!("models/textbook/md1.toml"),
    model!("models/textbook/mg1-erlang.toml"),
    model!("models/textbook/mgc.toml"),
    model!("models/textbook/mmc-bench.toml"),
];

/// The 6 April 2021 replay, run by `rentree run` with no scenario argument.
pub const REPLAY: BuiltinModel = model!("models/france-2021-04-06.toml");

/// The Monday-evening profile with the same capacities.
pub const EVENING: BuiltinModel = model!("models/france-2021-04-05-evening.toml");

/// A calibration shipped with a built-in model: its folder, its manifest (embedded) and the model.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinCalibration {
    /// The calibration's results folder, relative to the repository root.
    pub folder: &'static str,
    /// Its `manifest.json`.
    pub manifest: &'static str,
    /// The model it calibrates, as it stands (no variant, no override).
    pub model: BuiltinModel,
}

/// The calibrations shipped with the built-in models (`models/calibration/`).
pub const CALIBRATED: &[BuiltinCalibration] = &[BuiltinCalibration {
    folder: "models/calibration/france-2021-04-06.posterior",
    manifest: include_str!("../models/calibration/france-2021-04-06.posterior/manifest.json"),
    model: REPLAY,
}];

/// The built-in model at `path`, if any.
pub fn find(path: &str) -> Option<&'static BuiltinModel> {
    TEXTBOOK.iter().chain([&REPLAY, &EVENING]).find(|m| m.path == path)
}
