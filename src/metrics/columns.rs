//! The column registry: each output column is declared once, with its name, type, unit, meaning and how
//! it merges, and everything else is derived from that declaration.
//!
//! A row type is declared with [`columns!`](crate::columns): the declaration makes the row struct, an
//! enum with one variant per column (named exactly as the column, so `SummaryColumn::served_share_by_0900`
//! is the column `served_share_by_0900`), the row's column list in output order ([`Field`] values for the
//! output layer), typed access by column, and the column's metadata. Code that names a column names a
//! variant, so a misspelt name does not compile; a name that comes from a flag or a file is parsed with
//! [`std::str::FromStr`], whose error ([`UnknownColumn`]) says what was found, what was expected, and the
//! nearest column. `docs/columns.md` is generated from the registry ([`reference_markdown`]) and the test
//! suite keeps it current.

use std::fmt;

/// A column value.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// A count.
    U64(u64),
    /// A measurement.
    F64(f64),
    /// A label.
    Str(String),
}

impl Field {
    /// The value as a number (`None` for a label).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Field::U64(x) => Some(x as f64),
            Field::F64(x) => Some(x),
            Field::Str(_) => None,
        }
    }
}

/// The type a column is stored as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// Unsigned 64-bit integer.
    U64,
    /// 64-bit float (NaN where the figure is undefined, e.g. a mean of nothing).
    F64,
    /// UTF-8 text.
    Str,
}

impl ColumnType {
    /// The name a reader sees in the reference.
    pub const fn name(self) -> &'static str {
        match self {
            ColumnType::U64 => "u64",
            ColumnType::F64 => "f64",
            ColumnType::Str => "text",
        }
    }
}

/// How a column combines when rows are put together: the rows of several pools, platforms or components
/// into one, or the minutes of a span into one figure. Over replications every numeric column is
/// averaged, with a confidence interval (a sweep's `_mean`, `_hw95`, `_lo`, `_hi` columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    /// Names the row (scenario, platform, minute): rows are grouped by it, never combined over it.
    Key,
    /// An amount (requests, users, server-hours): additive over pools, platforms, components and minutes.
    Count,
    /// A level at an instant, or the time average of one (sessions open, busy slots, backlog length):
    /// additive over pools, platforms and components, not over minutes.
    Level,
    /// A share, mean, quantile or maximum: never summed; a row over several parts recomputes it from the
    /// parts' counts.
    Statistic,
}

impl Merge {
    /// Whether values of several pools or platforms at the same minute may be added.
    pub const fn additive(self) -> bool {
        matches!(self, Merge::Count | Merge::Level)
    }

    /// The name a reader sees in the reference.
    pub const fn name(self) -> &'static str {
        match self {
            Merge::Key => "key",
            Merge::Count => "count",
            Merge::Level => "level",
            Merge::Statistic => "statistic",
        }
    }
}

/// A Rust type a column may have.
pub trait ColumnValue {
    /// The stored type.
    const TYPE: ColumnType;
    /// The value as a [`Field`].
    fn field(&self) -> Field;
}

impl ColumnValue for u64 {
    const TYPE: ColumnType = ColumnType::U64;
    #[inline]
    fn field(&self) -> Field {
        Field::U64(*self)
    }
}

impl ColumnValue for f64 {
    const TYPE: ColumnType = ColumnType::F64;
    #[inline]
    fn field(&self) -> Field {
        Field::F64(*self)
    }
}

impl ColumnValue for String {
    const TYPE: ColumnType = ColumnType::Str;
    #[inline]
    fn field(&self) -> Field {
        Field::Str(self.clone())
    }
}

/// A column of one of the result tables, with what the registry declares of it.
pub trait Column: Copy + fmt::Display + std::str::FromStr<Err = UnknownColumn> + 'static {
    /// The table whose columns these are (`summary`, `timeseries`, `access`).
    const TABLE: &'static str;
    /// Every column, in output order.
    fn all() -> &'static [Self];
    /// The column's name in the files.
    fn name(self) -> &'static str;
    /// Its stored type.
    fn column_type(self) -> ColumnType;
    /// Its unit (empty for a label).
    fn unit(self) -> &'static str;
    /// How it merges.
    fn merge(self) -> Merge;
    /// What it means, in one paragraph.
    fn doc(self) -> String;

    /// The numeric columns that are measurements (not keys), in output order.
    fn metrics() -> impl Iterator<Item = Self> {
        Self::all().iter().copied().filter(|c| c.column_type() != ColumnType::Str && c.merge() != Merge::Key)
    }
}

/// A column name, from a flag or a file, that is not a column of the table it must come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownColumn {
    /// The table searched.
    pub table: &'static str,
    /// The name found.
    pub found: String,
    /// The nearest column name, if one is close.
    pub nearest: Option<&'static str>,
}

impl UnknownColumn {
    /// What was expected, for an error message that also names where the name came from.
    pub fn expected(&self) -> String {
        match self.nearest {
            Some(n) => format!("a column of the {} table (did you mean {n:?}? `docs/columns.md` lists them all)", self.table),
            None => format!("a column of the {} table (`docs/columns.md` lists them all)", self.table),
        }
    }
}

impl fmt::Display for UnknownColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not {}", self.found, self.expected())
    }
}

impl std::error::Error for UnknownColumn {}

/// Parses `name` as a column of `C`; the error suggests the nearest name.
pub fn parse_column<C: Column>(name: &str) -> Result<C, UnknownColumn> {
    let name = name.trim();
    if let Some(c) = C::all().iter().find(|c| c.name() == name) {
        return Ok(*c);
    }
    // A name within a third of its length in edits is offered as the one meant.
    let nearest = C::all()
        .iter()
        .map(|c| (edit_distance(name, c.name()), c.name()))
        .min()
        .filter(|(d, n)| *d <= n.len().max(name.len()) / 3)
        .map(|(_, n)| n);
    Err(UnknownColumn { table: C::TABLE, found: name.to_owned(), nearest })
}

/// The numeric columns a metric may name: like [`parse_column`], refusing labels and keys.
pub fn parse_metric<C: Column>(name: &str) -> Result<C, UnknownColumn> {
    let c: C = parse_column(name)?;
    if c.column_type() == ColumnType::Str || c.merge() == Merge::Key {
        return Err(UnknownColumn { table: C::TABLE, found: name.trim().to_owned(), nearest: None });
    }
    Ok(c)
}

/// Levenshtein distance, by bytes (column names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A statistic over replications, as a sweep's tables name it: the column `<metric>_<suffix>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    /// Mean over replications.
    Mean,
    /// Sample standard deviation.
    Std,
    /// Half-width of the 95% confidence interval of the mean.
    Hw95,
    /// Lower end of that interval.
    Lo,
    /// Upper end of that interval.
    Hi,
}

impl Stat {
    /// The suffix of the column's name.
    pub const fn suffix(self) -> &'static str {
        match self {
            Stat::Mean => "mean",
            Stat::Std => "std",
            Stat::Hw95 => "hw95",
            Stat::Lo => "lo",
            Stat::Hi => "hi",
        }
    }

    /// The name of `metric`'s column of this statistic.
    pub fn of<C: Column>(self, metric: C) -> String {
        format!("{}_{}", metric.name(), self.suffix())
    }
}

/// The registry as a Markdown reference: one table per result table, a row per column.
pub fn reference_markdown() -> String {
    use super::row::{AccessColumn, MinuteColumn, SummaryColumn};
    let mut out = String::from(
        "# Result columns\n\n\
         Generated from the column registry (`src/metrics/row.rs`) by the test suite \
         (`RENTREE_BLESS=1 cargo test --release --test suite columns::` rewrites it); do not edit by hand.\n\n\
         *merge* says how a column combines over pools, platforms, components and minutes: a *key* names the \
         row; a *count* adds up everywhere; a *level* adds up over pools and platforms at one minute, not over \
         minutes; a *statistic* (share, mean, quantile, maximum) is never summed. Over replications a sweep \
         averages every numeric column, with its 95% interval: `configs` has `<column>_mean`, `_std` and \
         `_hw95` for each summary column, `timeseries` has `<column>_mean`, `_lo` and `_hi` for the minute \
         columns it aggregates.\n",
    );
    section::<SummaryColumn>(&mut out, "`summary.parquet`: a row for the whole system, then per platform and per cohort");
    section::<MinuteColumn>(&mut out, "`timeseries.parquet`: a row per simulated minute and pool");
    section::<AccessColumn>(&mut out, "`access.parquet`: the time-to-first-access curves");
    out
}

fn section<C: Column>(out: &mut String, title: &str) {
    out.push_str(&format!("\n## {title}\n\n| column | type | unit | merge | meaning |\n| --- | --- | --- | --- | --- |\n"));
    for c in C::all() {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            c.name(),
            c.column_type().name(),
            c.unit(),
            c.merge().name(),
            c.doc().replace('|', "\\|")
        ));
    }
}

/// Declares a row type of the results and its column registry; see the [module](self) documentation.
///
/// ```text
/// columns! {
///     /// Doc of the row.
///     pub struct Row / RowColumn in "table" {
///         /// Doc of the column.
///         name: u64 [Count, "requests"],
///     }
/// }
/// ```
#[macro_export]
macro_rules! columns {
    (
        $(#[doc = $rdoc:literal])*
        pub struct $row:ident / $col:ident in $table:literal {
            $( $(#[doc = $doc:literal])+ $field:ident : $ty:ty [$merge:ident, $unit:literal], )+
        }
    ) => {
        $(#[doc = $rdoc])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $row {
            $( $(#[doc = $doc])+ pub $field: $ty, )+
        }

        #[doc = concat!("The columns of [`", stringify!($row), "`], one variant each, named as in the files.")]
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $col {
            $( $(#[doc = $doc])+ $field, )+
        }

        impl $col {
            /// Every column, in output order.
            pub const ALL: &'static [$col] = &[$($col::$field),+];

            /// The column's name in the files.
            pub const fn name(self) -> &'static str {
                match self { $($col::$field => stringify!($field)),+ }
            }
        }

        impl $crate::metrics::columns::Column for $col {
            const TABLE: &'static str = $table;
            fn all() -> &'static [Self] {
                Self::ALL
            }
            fn name(self) -> &'static str {
                $col::name(self)
            }
            fn column_type(self) -> $crate::metrics::columns::ColumnType {
                match self { $($col::$field => <$ty as $crate::metrics::columns::ColumnValue>::TYPE),+ }
            }
            fn unit(self) -> &'static str {
                match self { $($col::$field => $unit),+ }
            }
            fn merge(self) -> $crate::metrics::columns::Merge {
                match self { $($col::$field => $crate::metrics::columns::Merge::$merge),+ }
            }
            fn doc(self) -> String {
                let text = match self { $($col::$field => concat!($($doc, "\n"),+)),+ };
                text.split_whitespace().collect::<Vec<_>>().join(" ")
            }
        }

        impl ::std::fmt::Display for $col {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.pad(self.name())
            }
        }

        impl ::std::str::FromStr for $col {
            type Err = $crate::metrics::columns::UnknownColumn;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::metrics::columns::parse_column(s)
            }
        }

        impl $row {
            /// The row's columns, in output order.
            pub fn fields(&self) -> Vec<(&'static str, $crate::metrics::columns::Field)> {
                vec![$((stringify!($field), $crate::metrics::columns::ColumnValue::field(&self.$field))),+]
            }

            /// The value of one column.
            pub fn get(&self, column: $col) -> $crate::metrics::columns::Field {
                match column { $($col::$field => $crate::metrics::columns::ColumnValue::field(&self.$field)),+ }
            }

            /// The value of a numeric column (`None` for a label).
            pub fn value(&self, column: $col) -> Option<f64> {
                self.get(column).as_f64()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::row::{MinuteColumn, Summary, SummaryColumn};

    #[test]
    fn a_column_is_parsed_by_its_name_and_a_near_miss_is_named() {
        assert_eq!("served_share_by_0900".parse::<SummaryColumn>(), Ok(SummaryColumn::served_share_by_0900));
        let e = "served_share_by_900".parse::<SummaryColumn>().unwrap_err();
        assert_eq!(e.nearest, Some("served_share_by_0900"));
        assert!(e.to_string().contains("summary"), "{e}");
        let far = "zzz".parse::<MinuteColumn>().unwrap_err();
        assert_eq!(far.nearest, None);
    }

    #[test]
    fn labels_and_keys_are_not_metrics() {
        assert!(parse_metric::<SummaryColumn>("platform").is_err());
        assert!(parse_metric::<MinuteColumn>("minute").is_err());
        assert_eq!(parse_metric::<SummaryColumn>("timeouts"), Ok(SummaryColumn::timeouts));
        assert!(SummaryColumn::metrics().all(|c| c.column_type() != ColumnType::Str));
    }

    #[test]
    fn the_field_list_and_typed_access_agree() {
        let s = Summary { arrivals: 7, mean_wait_s: 1.5, platform: "x".into(), ..Summary::default() };
        let fields = s.fields();
        assert_eq!(fields.len(), SummaryColumn::ALL.len());
        for (c, (name, value)) in SummaryColumn::ALL.iter().zip(&fields) {
            assert_eq!(c.name(), *name);
            assert_eq!(&s.get(*c), value);
            assert_eq!(
                c.column_type(),
                match value {
                    Field::U64(_) => ColumnType::U64,
                    Field::F64(_) => ColumnType::F64,
                    Field::Str(_) => ColumnType::Str,
                }
            );
        }
        assert_eq!(s.value(SummaryColumn::arrivals), Some(7.0));
        assert_eq!(s.value(SummaryColumn::platform), None);
    }

    #[test]
    fn every_column_has_a_meaning_and_numbers_have_a_unit() {
        fn check<C: Column>() {
            for c in C::all() {
                assert!(!c.doc().is_empty(), "{c}");
                if c.column_type() != ColumnType::Str {
                    assert!(!c.unit().is_empty(), "{} has no unit", c.name());
                }
            }
        }
        check::<SummaryColumn>();
        check::<MinuteColumn>();
    }

    #[test]
    fn a_stat_column_is_named_by_suffix() {
        assert_eq!(Stat::Hw95.of(SummaryColumn::served_share_by_0900), "served_share_by_0900_hw95");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
