//! The column registry's reference, `docs/columns.md`, is current: it is generated from the declarations
//! in `src/metrics/row.rs`, and rewritten on purpose with
//!
//! ```sh
//! RENTREE_BLESS=1 cargo test --release --test suite columns::
//! ```

use crate::common;
use rentree::metrics::columns::reference_markdown;

#[test]
fn the_column_reference_is_generated_from_the_registry() {
    let path = common::repo("docs/columns.md");
    let got = reference_markdown();
    if std::env::var_os("RENTREE_BLESS").is_some() {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "{} is not the registry's reference; rewrite it with RENTREE_BLESS=1 cargo test --release --test suite columns::",
        path.display()
    );
}
