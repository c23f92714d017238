//! BPCI Advanced episode definitions generated from the CMS clinical logic
//! tables (`episode-recon definitions from-cmmi DIR --out DIR`).
//!
//! CMS publishes the BPCI Advanced triggers and exclusions as workbooks; the
//! four sheets this engine can express are kept as CSV in
//! `data/cmmi-clinical-logic/` (see `data/README.md`). Copying hundreds of
//! codes into some thirty definition files by hand would invite mistakes
//! nobody sees in review, so the files are generated here, deterministically
//! (same tables, same bytes), and the generated set is shipped in
//! `episode-definitions/bpci-advanced/` with a test that regenerating it
//! gives the same files.
//!
//! One definition is made per BPCI Advanced clinical episode category:
//!
//! - an Episode Group ID with rows in one anchor list only is one category
//!   (inpatient: MS-DRG triggers; outpatient: HCPCS triggers), with the group
//!   id as its episode type;
//! - a group with rows in both lists marked `Multisetting` = `Y` (major joint
//!   replacement of the lower and upper extremity) is one multi-setting
//!   category, again with the group id;
//! - a group with rows in both lists marked `Multisetting` = `N` (back and
//!   neck, cardiac defibrillator, PCI) is two categories in BPCI Advanced,
//!   inpatient and outpatient, priced and chosen separately; merging them
//!   would make an outpatient PCI inside an inpatient PCI episode part of it.
//!   They become `<id>_IP` and `<id>_OP`.
//!
//! The window and pricing follow BPCI Advanced and are written, with their
//! reasons, as comments in every file; see [`from_cmmi`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::input::records::{HeaderProblem, Record, RecordReader, find_columns};
use crate::model::normalize_drg;

/// The inpatient anchor list: one row per (episode group, MS-DRG).
pub const IP_ANCHORS: &str = "trigger_list__IP_Anchor_Episode_List.csv";
/// The outpatient anchor list: one row per (episode group, HCPCS).
pub const OP_ANCHORS: &str = "trigger_list__OP_Anchor_Episode_List.csv";
/// MS-DRGs whose readmissions are excluded from episode spending.
pub const EXCLUDED_READMISSIONS: &str = "medical_code_lists__Excluded_Readmissions.csv";
/// Part B drugs (HCPCS) excluded from episode spending.
pub const EXCLUDED_PART_B_DRUGS: &str = "medical_code_lists__Excluded_Part_B_Drugs.csv";

/// The SHA-256 of each table as shipped in `data/cmmi-clinical-logic/`. The
/// origin written in the files' headers is only claimed for these bytes:
/// tables from anywhere else are named by their digests alone, so a
/// definition never states a provenance its tables do not have.
const SHIPPED_DIGESTS: [(&str, &str); 4] = [
    (
        IP_ANCHORS,
        "7f0a043d43276247487e22c077f2b5e15ddfe7a823c3ccc80d1fb82b6db0a3b0",
    ),
    (
        OP_ANCHORS,
        "4c3908c8a61d28849e51d1406496fe5b96926e0f9f6303d44072b3f508831310",
    ),
    (
        EXCLUDED_READMISSIONS,
        "4676ab827a897b68a8dc04dd519c92c1fc66080f80e68159baf899b1877af1d5",
    ),
    (
        EXCLUDED_PART_B_DRUGS,
        "f7085dddc2bed5a4944b1b52791c012724cdef8114c69b06b4a4544ac02b51d0",
    ),
];

/// The column every sheet numbers its rows in; also what tells the
/// sub-header row (`,,,Code,,`) from data.
const SORT_ORDER: &str = "Initial Sort Order";

/// A CMS table that cannot be turned into definitions. Each names the file
/// and, where there is one, the row and column, and says what was expected,
/// so the table can be fixed or the export redone.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The table is missing or unreadable.
    #[error("{path}: expected the CMS table as CSV, cannot read it: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The header row does not name a column the generator needs.
    #[error("{path}: row 1: expected a header row naming the column `{column}`, found {found}")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: &'static str,
        /// The header as found.
        found: String,
    },
    /// The header row names a needed column twice, or is not UTF-8.
    #[error("{path}: row 1: expected a UTF-8 header row naming each column once, {problem}")]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A data row that cannot be read as the table's kind of row.
    #[error("{path}: row {row}: column `{column}`: expected {expected}, found {found:?}")]
    Row {
        /// The file.
        path: PathBuf,
        /// 1-based line on which the record starts.
        row: u64,
        /// The column.
        column: &'static str,
        /// What was expected.
        expected: String,
        /// What the row says.
        found: String,
    },
    /// A table with a header but no data rows: an empty anchor or exclusion
    /// list is far more likely a broken export than CMS's intent.
    #[error("{path}: expected at least one data row after the header, found none")]
    NoRows {
        /// The file.
        path: PathBuf,
    },
}

impl crate::error::Classify for Error {
    /// The CMS tables are input data the user gives.
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::Io { source, .. } => ErrorKind::reading(ErrorKind::InputData, source),
            _ => ErrorKind::InputData,
        }
    }
}

/// One data row: its line and the wanted fields, trimmed, in the order the
/// columns were asked for.
struct Row {
    line: u64,
    fields: Vec<String>,
}

/// One table as read: its path and file name, the SHA-256 of its bytes (for
/// the headers), and its data rows.
struct Table {
    path: PathBuf,
    file: &'static str,
    sha256: String,
    rows: Vec<Row>,
}

impl Table {
    fn error(
        &self,
        row: &Row,
        column: &'static str,
        expected: impl Into<String>,
        found: &str,
    ) -> Error {
        Error::Row {
            path: self.path.clone(),
            row: row.line,
            column,
            expected: expected.into(),
            found: found.to_owned(),
        }
    }
}

/// Reads `file` of `dir` and keeps `columns` (the first must be
/// [`SORT_ORDER`]). Skips rows with no text at all and the sub-header row
/// (an empty sort order directly under the header); every other row must
/// carry a positive sort order.
fn read_table(dir: &Path, file: &'static str, columns: &[&'static str]) -> Result<Table, Error> {
    let path = dir.join(file);
    let bytes = fs::read(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let sha256 = format!("{:x}", Sha256::digest(&bytes));
    let io_path = path.clone();
    let io_error = move |source| Error::Io {
        path: io_path.clone(),
        source,
    };
    let mut reader = RecordReader::new(bytes.as_slice());
    let mut record = Record::default();
    if !reader.read(&mut record).map_err(&io_error)? {
        return Err(Error::MissingColumn {
            path,
            column: columns[0],
            found: "an empty file".to_owned(),
        });
    }
    let index = find_columns(&record, columns).map_err(|problem| Error::BadHeader {
        path: path.clone(),
        problem: match problem {
            HeaderProblem::Encoding => "found a name that is not UTF-8".to_owned(),
            HeaderProblem::Duplicate(name) => format!("found `{name}` twice"),
        },
    })?;
    let mut positions = Vec::with_capacity(columns.len());
    for (column, position) in columns.iter().zip(index) {
        let Some(position) = position else {
            let names: Vec<String> = record
                .iter()
                .map(|n| format!("`{}`", String::from_utf8_lossy(n)))
                .collect();
            return Err(Error::MissingColumn {
                path,
                column,
                found: format!("only {}", names.join(", ")),
            });
        };
        positions.push(position);
    }
    let mut table = Table {
        path,
        file,
        sha256,
        rows: Vec::new(),
    };
    let mut first_data_row = true;
    while reader.read(&mut record).map_err(&io_error)? {
        let line = record.line();
        let row_error = |expected: &str, found: &str| Error::Row {
            path: table.path.clone(),
            row: line,
            column: columns[0],
            expected: expected.to_owned(),
            found: found.to_owned(),
        };
        if !record.is_complete() {
            return Err(row_error(
                "a closing quote before the end of the file",
                &String::from_utf8_lossy(record.raw()),
            ));
        }
        let Some(text) = record.text() else {
            return Err(row_error(
                "UTF-8 text",
                &String::from_utf8_lossy(record.raw()),
            ));
        };
        if record.iter().all(<[u8]>::is_empty) {
            continue;
        }
        let fields: Vec<String> = positions
            .iter()
            .map(|&p| text.get(p).unwrap_or_default().to_owned())
            .collect();
        let is_first = std::mem::replace(&mut first_data_row, false);
        if fields[0].is_empty() && is_first {
            continue; // the sub-header: `,,,Code,,` or `,HCPCS`
        }
        let sort_order_ok = !fields[0].is_empty()
            && fields[0].bytes().all(|b| b.is_ascii_digit())
            && fields[0].bytes().any(|b| b != b'0');
        if !sort_order_ok {
            return Err(row_error("a row number >= 1", &fields[0]));
        }
        table.rows.push(Row { line, fields });
    }
    if table.rows.is_empty() {
        return Err(Error::NoRows { path: table.path });
    }
    Ok(table)
}

/// A plain-text field of one line: what a name must be to go into a TOML
/// string and a comment line.
fn is_one_line_text(text: &str) -> bool {
    !text.is_empty() && !text.chars().any(char::is_control)
}

/// A 5-character HCPCS/CPT code (`27447`, `J9271`, `0001A`), upper case.
fn hcpcs_code(code: &str) -> Option<String> {
    (code.len() == 5 && code.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| code.to_ascii_uppercase())
}

/// An MS-DRG of digits, zero-padded to 3 (`66` is `066`).
fn drg_code(code: &str) -> Option<String> {
    let digits = !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit());
    let drg = normalize_drg(code);
    (digits && drg.len() == 3).then_some(drg)
}

/// One row of an anchor list.
struct Anchor {
    line: u64,
    group: String,
    name: String,
    code: String,
    multisetting: bool,
}

/// Reads an anchor list: group name and id, the trigger code of `code_column`
/// (read by `code`), and the multi-setting flag.
fn anchors(
    dir: &Path,
    file: &'static str,
    code_column: &'static str,
    code: fn(&str) -> Option<String>,
    code_expected: &str,
) -> Result<(Table, Vec<Anchor>), Error> {
    let columns = [
        SORT_ORDER,
        "Episode Group Name",
        "Episode Group ID",
        code_column,
        "Multisetting",
    ];
    let table = read_table(dir, file, &columns)?;
    let mut anchors = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let field = |i: usize| row.fields[i].as_str();
        let fail = |i: usize, expected: &str| table.error(row, columns[i], expected, field(i));
        let name = field(1);
        if !is_one_line_text(name) {
            return Err(fail(1, "an episode group name (text on one line)"));
        }
        let group = field(2);
        let group_ok = !group.is_empty()
            && group
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !group_ok {
            return Err(fail(
                2,
                "an episode group id of A-Z and 0-9, such as \"P0020\"",
            ));
        }
        let code = code(field(3)).ok_or_else(|| fail(3, code_expected))?;
        let multisetting = match field(4) {
            "Y" | "y" => true,
            "N" | "n" => false,
            _ => return Err(fail(4, "\"Y\" or \"N\"")),
        };
        anchors.push(Anchor {
            line: row.line,
            group: group.to_owned(),
            name: name.to_owned(),
            code,
            multisetting,
        });
    }
    Ok((table, anchors))
}

/// One exclusion list: its codes, de-duplicated and sorted, and the codes
/// listed more than once with their counts (for the header comments).
struct CodeList {
    table: Table,
    codes: BTreeSet<String>,
    repeated: BTreeMap<String, usize>,
}

/// Reads an exclusion list whose code is in `code_column`; `check`, when
/// given, is a `(column, required value)` every row must have.
fn code_list(
    dir: &Path,
    file: &'static str,
    code_column: &'static str,
    check: Option<(&'static str, &'static str)>,
    code: fn(&str) -> Option<String>,
    code_expected: &str,
) -> Result<CodeList, Error> {
    let mut columns = vec![SORT_ORDER, code_column];
    columns.extend(check.map(|(column, _)| column));
    let table = read_table(dir, file, &columns)?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for row in &table.rows {
        if let Some((column, value)) = check
            && row.fields[2] != value
        {
            return Err(table.error(row, column, format!("{value:?}"), &row.fields[2]));
        }
        let parsed = code(&row.fields[1])
            .ok_or_else(|| table.error(row, code_column, code_expected, &row.fields[1]))?;
        *counts.entry(parsed).or_default() += 1;
    }
    let codes = counts.keys().cloned().collect();
    counts.retain(|_, n| *n > 1);
    Ok(CodeList {
        table,
        codes,
        repeated: counts,
    })
}

/// The rows of one episode group in the two anchor lists.
#[derive(Default)]
struct Group<'a> {
    ip: Vec<&'a Anchor>,
    op: Vec<&'a Anchor>,
}

/// Groups the anchors by episode group id, checking that a group has one
/// name per list and one `Multisetting` value across both lists.
fn groups<'a>(
    ip: (&Table, &'a [Anchor]),
    op: (&Table, &'a [Anchor]),
) -> Result<BTreeMap<&'a str, Group<'a>>, Error> {
    let mut groups: BTreeMap<&str, Group> = BTreeMap::new();
    // The first row seen of each group, to compare the others with.
    let mut first: BTreeMap<&str, (&Table, &Anchor)> = BTreeMap::new();
    let mut first_in_list: BTreeMap<(&str, &str), &Anchor> = BTreeMap::new();
    for (table, anchors) in [ip, op] {
        for anchor in anchors {
            let row_error = |column: &'static str, expected: String, found: &str| Error::Row {
                path: table.path.clone(),
                row: anchor.line,
                column,
                expected,
                found: found.to_owned(),
            };
            let (first_table, first_row) = *first.entry(&anchor.group).or_insert((table, anchor));
            if anchor.multisetting != first_row.multisetting {
                let yn = |b: bool| if b { "Y" } else { "N" };
                return Err(row_error(
                    "Multisetting",
                    format!(
                        "{:?} as on row {} of {} for group {}",
                        yn(first_row.multisetting),
                        first_row.line,
                        first_table.file,
                        anchor.group
                    ),
                    yn(anchor.multisetting),
                ));
            }
            let list_first = *first_in_list
                .entry((table.file, &anchor.group))
                .or_insert(anchor);
            if anchor.name != list_first.name {
                return Err(row_error(
                    "Episode Group Name",
                    format!(
                        "{:?} as on row {} for group {}",
                        list_first.name, list_first.line, anchor.group
                    ),
                    &anchor.name,
                ));
            }
            let group = groups.entry(&anchor.group).or_default();
            if std::ptr::eq(table, ip.0) {
                group.ip.push(anchor);
            } else {
                group.op.push(anchor);
            }
        }
    }
    Ok(groups)
}

/// Reads the four CMS tables of `dir` and returns one BPCI Advanced
/// definition per clinical episode category, as `(file name, TOML text)`
/// sorted by file name (the lower-case episode type, `p0020.toml`).
///
/// Each definition: `id` = the Episode Group ID (`<id>_IP` / `<id>_OP` for a
/// group CMS lists in both anchor lists as two single-setting categories);
/// `name` = the Episode Group Name; `trigger.drg` / `trigger.hcpcs` = the
/// group's MS-DRGs / HCPCS, no `price_groups` (each trigger code is its own
/// price group, as BPCI Advanced prices per anchor MS-DRG and APC); window 0
/// days before, 90 days after discharge; all seven claim types, SNF, HHA and
/// hospice prorated; `exclude.drg` = every excluded readmission DRG except
/// the category's own trigger DRGs, `exclude.hcpcs` = every excluded Part B
/// drug, no principal diagnoses; pricing per quarter, 3% discount, 99th
/// percentile cap, 20% stop-gain and stop-loss. The same tables always give
/// the same bytes.
pub fn from_cmmi(dir: &Path) -> Result<Vec<(String, String)>, Error> {
    let (ip_table, ip) = anchors(
        dir,
        IP_ANCHORS,
        "MS-DRG",
        drg_code,
        "an MS-DRG of 1 to 3 digits, such as \"470\"",
    )?;
    let (op_table, op) = anchors(
        dir,
        OP_ANCHORS,
        "HCPCS",
        hcpcs_code,
        "a 5-character HCPCS code, such as \"27447\"",
    )?;
    let readmissions = code_list(
        dir,
        EXCLUDED_READMISSIONS,
        "DRG Code",
        Some(("Code Type", "MS-DRG")),
        drg_code,
        "an MS-DRG of 1 to 3 digits, such as \"001\"",
    )?;
    let part_b = code_list(
        dir,
        EXCLUDED_PART_B_DRUGS,
        "Part B Drug",
        None,
        hcpcs_code,
        "a 5-character HCPCS code, such as \"J9271\"",
    )?;
    let sources = Sources {
        ip: &ip_table,
        op: &op_table,
        readmissions: &readmissions,
        part_b: &part_b,
    };
    let mut definitions = Vec::new();
    for (id, group) in groups((&ip_table, &ip), (&op_table, &op))? {
        let multisetting = group.ip.iter().chain(&group.op).any(|a| a.multisetting);
        let categories = if !group.ip.is_empty() && !group.op.is_empty() && !multisetting {
            vec![
                Category::new(id, format!("{id}_IP"), group.ip, Vec::new(), true),
                Category::new(id, format!("{id}_OP"), Vec::new(), group.op, true),
            ]
        } else {
            vec![Category::new(id, id.to_owned(), group.ip, group.op, false)]
        };
        for category in categories {
            let file = format!("{}.toml", category.id.to_ascii_lowercase());
            definitions.push((file, category.render(&sources)));
        }
    }
    definitions.sort();
    Ok(definitions)
}

/// Writes each `(file name, text)` into `out`, creating the folder. Files of
/// `out` not named are left alone: the folder may hold a README or hand-made
/// definitions.
pub fn write(definitions: &[(String, String)], out: &Path) -> Result<(), WriteError> {
    let named = |path: &Path| {
        let path = path.to_owned();
        move |source| WriteError::Io { path, source }
    };
    fs::create_dir_all(out).map_err(named(out))?;
    for (name, text) in definitions {
        // A name is a file of `out`, never a path that leaves it.
        if Path::new(name).file_name() != Some(name.as_ref()) {
            return Err(WriteError::NotAFileName { name: name.clone() });
        }
        let path = out.join(name);
        fs::write(&path, text).map_err(named(&path))?;
    }
    Ok(())
}

/// Generated definitions that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The folder or a file could not be written.
    #[error("{path}: cannot write definitions: {source}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A definition's name would leave the folder: the generator named it.
    #[error("{name:?}: expected a plain file name for a generated definition")]
    NotAFileName {
        /// The name.
        name: String,
    },
}

impl crate::error::Classify for WriteError {
    /// Writing is the environment's; a bad name is the generator's bug.
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            WriteError::Io { .. } => ErrorKind::Environment,
            WriteError::NotAFileName { .. } => ErrorKind::Internal,
        }
    }
}

/// The four tables, for the header comments.
struct Sources<'a> {
    ip: &'a Table,
    op: &'a Table,
    readmissions: &'a CodeList,
    part_b: &'a CodeList,
}

/// One clinical episode category: an episode group, or one setting of it.
struct Category<'a> {
    group: &'a str,
    id: String,
    ip: Vec<&'a Anchor>,
    op: Vec<&'a Anchor>,
    /// One of two single-setting categories of a group in both lists.
    split: bool,
}

impl<'a> Category<'a> {
    fn new(
        group: &'a str,
        id: String,
        ip: Vec<&'a Anchor>,
        op: Vec<&'a Anchor>,
        split: bool,
    ) -> Self {
        Category {
            group,
            id,
            ip,
            op,
            split,
        }
    }

    /// The name: the group name of the inpatient list when there is one
    /// (the lists name a multi-setting group alike).
    fn name(&self) -> &str {
        self.ip.first().or(self.op.first()).map_or("", |a| &a.name)
    }

    fn render(&self, sources: &Sources) -> String {
        let drg: BTreeSet<&str> = self.ip.iter().map(|a| a.code.as_str()).collect();
        let hcpcs: BTreeSet<&str> = self.op.iter().map(|a| a.code.as_str()).collect();
        let (id, group) = (self.id.as_str(), self.group);
        let mut t = String::new();
        // Writing to a String cannot fail.
        let mut line = |text: &str| {
            t.push_str(text);
            t.push('\n');
        };

        line(&format!("# {id}: {}", self.name()));
        line(match (drg.is_empty(), hcpcs.is_empty()) {
            (false, false) => {
                "# BPCI Advanced clinical episode category, multi-setting: an inpatient\n\
                 # stay under one of its MS-DRGs or an outpatient claim line with one of\n\
                 # its HCPCS opens an episode."
            }
            (false, true) => {
                "# BPCI Advanced clinical episode category, inpatient: an inpatient stay\n\
                 # under one of its MS-DRGs opens an episode."
            }
            _ => {
                "# BPCI Advanced clinical episode category, outpatient: an outpatient\n\
                 # claim line with one of its HCPCS opens an episode."
            }
        });
        if self.split {
            line(&format!(
                "# CMS lists group {group} in both anchor lists with Multisetting = N: as in\n# BPCI Advanced, its inpatient and outpatient episodes are separate\n# categories, {group}_IP and {group}_OP."
            ));
        }
        line("# Generated by `episode-recon definitions from-cmmi` from the CMS tables");
        line("# below; do not edit by hand, regenerate (see README.md).");
        line("#");
        line("# Source tables (codes trimmed, DRGs zero-padded to 3 digits, HCPCS upper");
        line("# case; lists de-duplicated and sorted):");
        let mut source = |table: &Table, what: String| {
            line(&format!("#   {}", table.file));
            line(&format!("#     {what}"));
            line(&format!("#     sha256 {}", table.sha256));
        };
        if !drg.is_empty() {
            source(
                sources.ip,
                format!(
                    "{} rows of group {group}, {} MS-DRGs -> trigger.drg",
                    self.ip.len(),
                    drg.len()
                ),
            );
        }
        if !hcpcs.is_empty() {
            source(
                sources.op,
                format!(
                    "{} rows of group {group}, {} HCPCS -> trigger.hcpcs",
                    self.op.len(),
                    hcpcs.len()
                ),
            );
        }
        for (list, what) in [
            (sources.readmissions, "MS-DRGs -> exclude.drg"),
            (sources.part_b, "HCPCS -> exclude.hcpcs"),
        ] {
            let repeated: Vec<String> = list
                .repeated
                .iter()
                .map(|(code, n)| match n {
                    2 => format!("{code} is listed twice"),
                    n => format!("{code} is listed {n} times"),
                })
                .collect();
            let repeated = if repeated.is_empty() {
                String::new()
            } else {
                format!(" ({})", repeated.join(", "))
            };
            source(
                &list.table,
                format!(
                    "all {} rows, {} distinct {what}{repeated}",
                    list.table.rows.len(),
                    list.codes.len(),
                ),
            );
        }
        let shipped = [
            sources.ip,
            sources.op,
            &sources.readmissions.table,
            &sources.part_b.table,
        ]
        .iter()
        .all(|table| SHIPPED_DIGESTS.contains(&(table.file, table.sha256.as_str())));
        if shipped {
            line("# Origin: GitHub CMSgov/CMMI-shadow-bundles at commit 8ffc8c9c, workbooks");
            line("# dated 2025-01-21, one CSV per sheet (data/cmmi-clinical-logic/);");
            line("# licence CC0 1.0.");
        } else {
            line("# Origin: not the CMS tables shipped in data/cmmi-clinical-logic/ (their");
            line("# digests differ); the digests above name the tables used.");
        }
        line("");
        line(&format!("id = {}", toml_string(id)));
        line(&format!("name = {}", toml_string(self.name())));
        line("");

        line("[trigger]");
        if !drg.is_empty() {
            line(&format!("# Inpatient anchor: MS-DRGs of group {group}."));
            line(&code_array("drg", drg.iter().copied(), DRGS_PER_LINE));
        }
        if !hcpcs.is_empty() {
            line(&format!("# Outpatient anchor: HCPCS of group {group}."));
            line(&code_array("hcpcs", hcpcs.iter().copied(), HCPCS_PER_LINE));
        }
        line("# No price_groups: each trigger code is its own price group, as BPCI");
        if hcpcs.is_empty() {
            line("# Advanced sets target prices per anchor MS-DRG.");
        } else {
            if drg.is_empty() {
                line("# Advanced sets target prices per APC of the anchor procedure.");
            } else {
                line("# Advanced sets target prices per anchor MS-DRG and per outpatient APC.");
            }
            line("# The HCPCS-to-APC crosswalk is not among the tables used: give the HCPCS");
            line("# of one APC the same target price.");
        }
        line("");

        line("[window]");
        line("# BPCI Advanced: the anchor stay or procedure plus the 90 days after");
        line("# discharge (discharge day = day 1). Nothing before the anchor: the CMS");
        line("# 180-day lookback serves risk adjustment and exclusions, not spending.");
        line("lookback_days = 0");
        line("post_days = 90");
        line("");

        line("[include]");
        line("# All Part A and Part B claim types. SNF, home health and hospice claims");
        line("# that straddle the window are prorated by the days inside it.");
        line(r#"claim_types = ["IP", "SNF", "HHA", "HOS", "OP", "PB", "DME"]"#);
        line(r#"prorate = ["SNF", "HHA", "HOS"]"#);
        line("");

        line("[exclude]");
        let own: Vec<&str> = drg
            .iter()
            .copied()
            .filter(|d| sources.readmissions.codes.contains(*d))
            .collect();
        let excluded_drgs: Vec<&str> = sources
            .readmissions
            .codes
            .iter()
            .map(String::as_str)
            .filter(|d| !drg.contains(d))
            .collect();
        line(&format!(
            "# Excluded readmission MS-DRGs: {} codes ({EXCLUDED_READMISSIONS}).",
            excluded_drgs.len()
        ));
        if drg.is_empty() {
            line(&format!("# {id} has no trigger DRGs to leave out."));
        } else if own.is_empty() {
            line(&format!("# None of the {id} trigger DRGs is on the list."));
        } else {
            line(&format!(
                "# Left out: {}, trigger DRGs of {id}; a stay under them inside the",
                own.join(", ")
            ));
            line("# window is part of the episode, not an unrelated readmission.");
        }
        line(&code_array("drg", excluded_drgs.into_iter(), DRGS_PER_LINE));
        line(&format!(
            "# Excluded Part B drugs: {} HCPCS ({EXCLUDED_PART_B_DRUGS}).",
            sources.part_b.codes.len()
        ));
        line(&code_array(
            "hcpcs",
            sources.part_b.codes.iter().map(String::as_str),
            HCPCS_PER_LINE,
        ));
        line("# None: the CMS tables used here exclude by DRG and HCPCS only.");
        line("principal_dx = []");
        line("");

        line("[pricing]");
        line("# BPCI Advanced reconciles per half-year performance period (January-June,");
        line("# July-December) of the episode end date. The schema has no half-year, so");
        line("# the period is the quarter: each quarter lies in one performance period,");
        line("# so quarterly episode results add up to it, where a year would merge two.");
        line("# The high-cost cap and the stop limits then apply per quarter.");
        line(r#"period = "quarter""#);
        line("# CMS discount 3%; spending capped at the 99th percentile (CMS also");
        line("# winsorizes at the 1st, which the schema cannot say); stop-gain and");
        line("# stop-loss limits of 20% of the targets.");
        line(r#"discount = "0.03""#);
        line(r#"high_cost_percentile = "99""#);
        line(r#"stop_gain = "0.20""#);
        line(r#"stop_loss = "0.20""#);
        t
    }
}

/// Codes per line in a wrapped list: about 90 columns, as in the hand-made
/// definitions.
const DRGS_PER_LINE: usize = 12;
/// HCPCS codes per line in a wrapped list.
const HCPCS_PER_LINE: usize = 10;

/// `key = ["a", "b"]` on one line when the codes fit on one, else one
/// indented line per `per_line` codes, each ending in a comma.
fn code_array<'c>(key: &str, codes: impl Iterator<Item = &'c str>, per_line: usize) -> String {
    let quoted: Vec<String> = codes.map(toml_string).collect();
    if quoted.len() <= per_line {
        return format!("{key} = [{}]", quoted.join(", "));
    }
    let mut text = format!("{key} = [\n");
    for chunk in quoted.chunks(per_line) {
        let _ = writeln!(text, "    {},", chunk.join(", "));
    }
    text.push(']');
    text
}

/// A TOML basic string. Names and codes were checked to be one line of
/// text, so only the quote and the backslash need escaping.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::definitions;

    const IP: &str = "Initial Sort Order,Episode Group Name,Episode Group ID,MS-DRG,Multisetting,Medical/Surgical\r\n\
        ,,,Code,,\r\n\
        1,IP-Acute myocardial infarction,A0001,280,N,Medical\r\n\
        2,IP-Acute myocardial infarction,A0001,281 ,N,Medical\r\n\
        3,IP-Back & neck except spinal fusion,P0002,518,N,Surgical\r\n\
        4,\"MS-Joint, lower\",P0020,470,Y,Surgical\r\n\
        5,\"MS-Joint, lower\",P0020,469,Y,Surgical\r\n\
        6,IP-Sepsis,A0025,871,N,Medical\r\n";
    const OP: &str = "Initial Sort Order,Episode Group Name,Episode Group ID,Date of Transition to C-APC,Date of Transition to Comp. Adj. HCPCS,HCPCS,Multisetting,Medical/Surgical\r\n\
        ,,,,,Code,,\r\n\
        1,OP-Back & neck except spinal fusion,P0002,2017,,62287,N,Surgical\r\n\
        2,\"MS-Joint, lower\",P0020,,,27447,Y,Surgical\r\n";
    const READMISSIONS: &str = "Initial Sort Order,Code Type,DRG Code,DRG Code Description,MDC,MDC Code Description,Notes\r\n\
        1,MS-DRG,001,HEART TRANSPLANT,00,Pre-MDC,\r\n\
        2,MS-DRG,871,SEPTICEMIA,18,\"Infectious, Parasitic\",\r\n\
        3,MS-DRG,652,KIDNEY TRANSPLANT,11,Kidney,\r\n\
        4,MS-DRG,652,KIDNEY TRANSPLANT,11,Kidney,\r\n";
    const PART_B: &str = "Initial Sort Order,Part B Drug\r\n,HCPCS\r\n1,j9271 \r\n2,0001A\r\n";

    fn tables(replace: Option<(&str, &str)>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (file, text) in [
            (IP_ANCHORS, IP),
            (OP_ANCHORS, OP),
            (EXCLUDED_READMISSIONS, READMISSIONS),
            (EXCLUDED_PART_B_DRUGS, PART_B),
        ] {
            let text = match replace {
                Some((name, new)) if name == file => new,
                _ => text,
            };
            fs::write(dir.path().join(file), text).unwrap();
        }
        dir
    }

    fn generate(replace: Option<(&str, &str)>) -> Result<Vec<(String, String)>, Error> {
        from_cmmi(tables(replace).path())
    }

    fn error(file: &str, text: &str) -> String {
        generate(Some((file, text))).unwrap_err().to_string()
    }

    #[test]
    fn one_valid_definition_per_category() {
        let generated = generate(None).unwrap();
        let names: Vec<&str> = generated.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "a0001.toml",
                "a0025.toml",
                "p0002_ip.toml",
                "p0002_op.toml",
                "p0020.toml"
            ]
        );
        for (name, text) in &generated {
            let d = definitions::parse(text, Path::new(name)).unwrap();
            assert_eq!(format!("{}.toml", d.id.to_ascii_lowercase()), *name);
            // A group's own trigger DRGs are never excluded.
            assert!(d.trigger.drg.is_disjoint(&d.exclude.drg), "{name}");
            assert!(d.exclude.hcpcs.contains("J9271"), "{name}");
        }
        let p0020 = definitions::parse(&generated[4].1, Path::new("p0020.toml")).unwrap();
        assert_eq!(p0020.name, "MS-Joint, lower");
        assert!(p0020.trigger.drg.contains("469") && p0020.trigger.hcpcs.contains("27447"));
        let a0001 = &generated[0].1;
        assert!(a0001.contains(r#"drg = ["280", "281"]"#), "{a0001}");
        let trigger = &a0001[a0001.find("[trigger]").unwrap()..a0001.find("[window]").unwrap()];
        assert!(!trigger.contains("hcpcs"), "no OP trigger: {trigger}");
        assert!(a0001.contains("(652 is listed twice)"), "{a0001}");
        assert!(a0001.contains(r#"drg = ["001", "652", "871"]"#), "{a0001}");
        // The tables are not the shipped ones: no origin is claimed.
        assert!(
            a0001.contains("# Origin: not the CMS tables shipped"),
            "{a0001}"
        );
    }

    #[test]
    fn a_trigger_drg_on_the_readmission_list_stays_out_of_its_own_exclusions() {
        let generated = generate(None).unwrap();
        let sepsis = &generated[1].1;
        assert!(
            sepsis.contains("# Left out: 871, trigger DRGs of A0025"),
            "{sepsis}"
        );
        assert!(sepsis.contains(r#"drg = ["001", "652"]"#), "{sepsis}");
        let d = definitions::parse(sepsis, Path::new("a0025.toml")).unwrap();
        assert!(!d.exclude.drg.contains("871"));
        // Other categories keep it.
        let a0001 = definitions::parse(&generated[0].1, Path::new("a0001.toml")).unwrap();
        assert!(a0001.exclude.drg.contains("871"));
    }

    #[test]
    fn groups_in_both_lists_split_unless_multisetting() {
        let generated = generate(None).unwrap();
        let ip = definitions::parse(&generated[2].1, Path::new("p0002_ip.toml")).unwrap();
        let op = definitions::parse(&generated[3].1, Path::new("p0002_op.toml")).unwrap();
        assert_eq!((ip.id.as_str(), op.id.as_str()), ("P0002_IP", "P0002_OP"));
        assert!(ip.trigger.hcpcs.is_empty() && ip.trigger.drg.contains("518"));
        assert!(op.trigger.drg.is_empty() && op.trigger.hcpcs.contains("62287"));
        assert_eq!(op.name, "OP-Back & neck except spinal fusion");
    }

    #[test]
    fn the_same_tables_give_the_same_bytes() {
        assert_eq!(generate(None).unwrap(), generate(None).unwrap());
        let lf = generate(Some((IP_ANCHORS, &IP.replace("\r\n", "\n")))).unwrap();
        let crlf = generate(None).unwrap();
        // Only the digest line differs between the two line-end styles.
        let strip = |t: &str| {
            t.lines()
                .filter(|l| !l.starts_with("#     sha256"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        for ((_, a), (_, b)) in lf.iter().zip(&crlf) {
            assert_eq!(strip(a), strip(b));
        }
    }

    #[test]
    fn mistakes_name_the_file_row_and_what_was_expected() {
        let dir = tables(None);
        fs::remove_file(dir.path().join(OP_ANCHORS)).unwrap();
        let e = from_cmmi(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains(OP_ANCHORS) && e.contains("expected the CMS table as CSV"),
            "{e}"
        );

        let e = error(
            EXCLUDED_PART_B_DRUGS,
            "Initial Sort Order,Drug\r\n1,J9271\r\n",
        );
        assert!(
            e.contains("row 1: expected a header row naming the column `Part B Drug`, found only `Initial Sort Order`, `Drug`"),
            "{e}"
        );

        let e = error(IP_ANCHORS, &IP.replace("281 ,N", "28A,N"));
        assert!(
            e.ends_with("row 4: column `MS-DRG`: expected an MS-DRG of 1 to 3 digits, such as \"470\", found \"28A\""),
            "{e}"
        );
        let e = error(OP_ANCHORS, &OP.replace("27447", "2744"));
        assert!(e.contains("row 4: column `HCPCS`"), "{e}");
        let e = error(IP_ANCHORS, &IP.replace("A0001,280", "a0001,280"));
        assert!(e.contains("row 3: column `Episode Group ID`"), "{e}");
        let e = error(IP_ANCHORS, &IP.replace("281 ,N", "281 ,Yes"));
        assert!(
            e.contains("column `Multisetting`: expected \"Y\" or \"N\""),
            "{e}"
        );
        let e = error(OP_ANCHORS, &OP.replace("27447,Y", "27447,N"));
        assert!(
            e.contains(&format!(
                "{OP_ANCHORS}: row 4: column `Multisetting`: expected \"Y\" as on row 6 of {IP_ANCHORS} for group P0020, found \"N\""
            )),
            "{e}"
        );
        let e = error(IP_ANCHORS, &IP.replace("2,IP-Acute", "2,IP-Acute MI"));
        assert!(e.contains("row 4: column `Episode Group Name`"), "{e}");
        let e = error(
            EXCLUDED_READMISSIONS,
            &READMISSIONS.replace("2,MS-DRG", "2,APR-DRG"),
        );
        assert!(
            e.contains("row 3: column `Code Type`: expected \"MS-DRG\""),
            "{e}"
        );
        // A sub-header is only the first row under the header.
        let e = error(EXCLUDED_PART_B_DRUGS, &PART_B.replace("2,0001A", ",0001A"));
        assert!(
            e.contains("row 4: column `Initial Sort Order`: expected a row number"),
            "{e}"
        );
        let e = error(
            EXCLUDED_PART_B_DRUGS,
            "Initial Sort Order,Part B Drug\r\n,HCPCS\r\n",
        );
        assert!(e.contains("expected at least one data row"), "{e}");
        let e = error(EXCLUDED_PART_B_DRUGS, "");
        assert!(e.contains("found an empty file"), "{e}");
    }

    #[test]
    fn write_creates_the_folder_and_refuses_paths() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        write(&[("x.toml".to_owned(), "id = \"X\"\n".to_owned())], &out).unwrap();
        assert_eq!(
            fs::read_to_string(out.join("x.toml")).unwrap(),
            "id = \"X\"\n"
        );
        let e = write(&[("../y.toml".to_owned(), String::new())], &out).unwrap_err();
        assert!(matches!(e, WriteError::NotAFileName { .. }), "{e}");
    }
}
