//! The JSON Schemas of scenario and experiment files (`docs/schema/`) and the reference generated from them
//! (`docs/scenario-reference.md`) are current: `rentree schema` derives them from the types that read the
//! files. Rewritten on purpose with
//!
//! ```sh
//! RENTREE_BLESS=1 cargo test --release --test suite schema::
//! ```

use crate::common;

#[test]
fn the_schemas_and_the_reference_are_generated_from_the_file_types() {
    for (args, file) in [
        (&["schema", "scenario"][..], "docs/schema/scenario.schema.json"),
        (&["schema", "experiment"][..], "docs/schema/experiment.schema.json"),
        (&["schema", "--markdown"][..], "docs/scenario-reference.md"),
    ] {
        let (code, got, stderr) = common::rentree(args);
        assert_eq!(code, 0, "rentree {args:?}: {stderr}");
        let path = common::repo(file);
        if std::env::var_os("RENTREE_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            got == want,
            "{file} is not what `rentree {}` prints; rewrite it with RENTREE_BLESS=1 cargo test --release --test suite schema::",
            args.join(" ")
        );
    }
}

#[test]
fn the_scenario_schema_names_every_table_with_its_fields_and_refuses_unknown_ones() {
    let (code, text, stderr) = common::rentree(&["schema"]);
    assert_eq!(code, 0, "{stderr}");
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(schema["required"], serde_json::json!(["scenario", "cohorts", "platforms"]));
    let defs = schema["$defs"].as_object().unwrap();
    // Every table of the file format, each closed to fields it does not list (as the reader is).
    for name in ["RawRun", "RawCohort", "RawSession", "RawPlatform", "RawPool", "RawAttack", "RawMitigation", "RawClasses", "RawOverload"] {
        assert_eq!(defs[name]["additionalProperties"], false, "{name}");
        assert!(defs[name]["description"].as_str().is_some_and(|d| !d.is_empty()), "{name} has no description");
    }
    // A field's meaning, unit and default come from its declaration.
    let horizon = &defs["RawRun"]["properties"]["horizon_s"];
    assert!(horizon["description"].as_str().unwrap().contains("seconds"), "{horizon}");
    assert_eq!(defs["RawRun"]["properties"]["warmup_s"]["default"], 0.0);
    // And its allowed range: a share between 0 and 1, a span above 0.
    assert_eq!(defs["RawMitigation"]["properties"]["blocked_share"]["maximum"], 1.0);
    assert_eq!(horizon["exclusiveMinimum"], 0.0);
    // A tagged table lists each of its kinds by its tag.
    let kinds: Vec<&str> =
        defs["RawDist"]["oneOf"].as_array().unwrap().iter().filter_map(|v| v["properties"]["dist"]["const"].as_str()).collect();
    assert!(kinds.contains(&"exponential") && kinds.contains(&"lognormal"), "{kinds:?}");
    // The reference a planner reads says the same.
    let (_, md, _) = common::rentree(&["schema", "--markdown"]);
    assert!(
        md.contains("### Run\n") && md.contains("| `horizon_s` | number, > 0 | required |") && md.contains("`dist = \"lognormal\"`"),
        "{md}"
    );
}
