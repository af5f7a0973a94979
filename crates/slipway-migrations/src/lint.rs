//! The checks: a schema model built from the migrations in version order, and the rules
//! applied to the statements of the release.

use crate::discover::{MigrationFile, Skipped};
use crate::release::Release;
use crate::rule::Rule;
use crate::split::{Comment, Statement, split};
use crate::version::Version;
use serde::Serialize;
use sqlparser::ast::{
    AlterColumnOperation, AlterTable, AlterTableOperation, ColumnDef, ColumnOption, CreateIndex,
    CreateTable, DataType, ObjectName, ObjectType, RenameTableNameKind, Statement as Sql,
    TableConstraint, TableFactor, visit_relations,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

/// One migration to check: where it is and its SQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    /// Its version and path.
    pub file: MigrationFile,
    /// Its text.
    pub sql: String,
}

/// A problem in a migration of the release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule that found it (serialised as its id, `drop-column`).
    pub rule: Rule,
    /// Relative to the migrations directory, with `/`.
    pub file: String,
    /// 1-based line of the statement (or marker).
    pub line: u32,
    /// 1-based column of the statement (or marker).
    pub column: u32,
    /// What is wrong, naming the table and column.
    pub message: String,
    /// The expand → migrate → contract way to make the same change.
    pub help: String,
    /// The table (`users`) or column (`users.email`) concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
}

/// A statement no rule checked, and why: never dropped silently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unchecked {
    /// Relative to the migrations directory, with `/`.
    pub file: String,
    /// 1-based line of the statement.
    pub line: u32,
    /// 1-based column of the statement.
    pub column: u32,
    /// Why no rule checked it.
    pub reason: String,
}

/// The result of checking a directory's migrations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Findings in file order, then line and column.
    pub findings: Vec<Finding>,
    /// How the release was chosen (`the last migration`, `migrations added since v1.4.0`).
    pub release_rule: String,
    /// The migrations of the release, in version order.
    pub release: Vec<String>,
    /// How many migrations were read (the release and the ones before it).
    pub migrations: usize,
    /// Statements of the release that were checked.
    pub statements: usize,
    /// SQL files that are not part of the forward history (down migrations, unversioned).
    pub skipped: Vec<Skipped>,
    /// Statements the parser could not read but that no rule would inspect (`DO` blocks,
    /// procedures), and unreadable statements of earlier migrations, whose effect on the
    /// schema model is unknown.
    pub unchecked: Vec<Unchecked>,
}

impl Report {
    /// A one-line note about what could not be checked, for reports; `None` when everything was.
    pub fn note(&self) -> Option<String> {
        (!self.unchecked.is_empty()).then(|| {
            let listed: Vec<String> = self
                .unchecked
                .iter()
                .take(5)
                .map(|u| format!("{}:{}:{} ({})", u.file, u.line, u.column, u.reason))
                .collect();
            let more = self.unchecked.len().saturating_sub(listed.len());
            format!(
                "{} statement(s) not checked: {}{}",
                self.unchecked.len(),
                listed.join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                }
            )
        })
    }
}

/// Checks one file's SQL on its own, as the whole release over a schema nothing is known
/// about (every table it touches is taken to exist and be in use).
pub fn lint_sql(path: &str, sql: &str) -> Report {
    let version = Version::parse("1").map(|version| MigrationFile {
        version,
        name: String::new(),
        path: path.to_string(),
    });
    match version {
        Some(file) => lint(
            &[Migration {
                file,
                sql: sql.to_string(),
            }],
            &Release::Last,
        ),
        None => Report::default(),
    }
}

/// Checks `migrations` (in version order): the ones `release` selects, against the schema the
/// ones before them build.
pub fn lint(migrations: &[Migration], release: &Release) -> Report {
    let files: Vec<MigrationFile> = migrations.iter().map(|m| m.file.clone()).collect();
    let selected = release.select(&files);
    let mut checker = Checker {
        model: Model::default(),
        expanded: BTreeSet::new(),
        copied_from: BTreeSet::new(),
        release_versions: migrations
            .iter()
            .zip(&selected)
            .filter(|(_, in_release)| **in_release)
            .map(|(m, _)| m.file.version.clone())
            .collect(),
        all_versions: files.iter().map(|f| f.version.clone()).collect(),
        report: Report {
            release_rule: release.describe(),
            migrations: migrations.len(),
            ..Report::default()
        },
    };
    for (migration, in_release) in migrations.iter().zip(selected) {
        if in_release {
            checker.report.release.push(migration.file.path.clone());
        }
        checker.migration(migration, in_release);
    }
    checker.report
}

/// A table as the migrations so far left it.
#[derive(Clone, Debug, Default)]
struct Table {
    /// Created by a migration of the release: the previous release never used it.
    created_in_release: bool,
    columns: BTreeMap<String, Column>,
}

#[derive(Clone, Debug, Default)]
struct Column {
    added_in_release: bool,
}

#[derive(Clone, Debug)]
struct Index {
    /// The index or its table was created by the release.
    new_in_release: bool,
}

/// The schema model: what exists, and what the release created. A table or column the
/// migrations never created (it predates them, or an unreadable statement made it) is taken
/// to exist and be in use.
#[derive(Clone, Debug, Default)]
struct Model {
    tables: BTreeMap<String, Table>,
    indexes: BTreeMap<String, Index>,
}

impl Model {
    fn table_is_new(&self, table: &str) -> bool {
        self.tables.get(table).is_some_and(|t| t.created_in_release)
    }

    fn column_is_new(&self, table: &str, column: &str) -> bool {
        self.tables.get(table).is_some_and(|t| {
            t.created_in_release || t.columns.get(column).is_some_and(|c| c.added_in_release)
        })
    }
}

/// A `-- slipway: contract <object> unused since <version>` marker of one file.
#[derive(Clone, Debug)]
struct Marker {
    object: String,
    since: Version,
}

struct Checker {
    model: Model,
    /// Tables the release expanded (added columns to) or migrated (updated): dropping one of
    /// their columns in the same release is the contract step shipped too early.
    expanded: BTreeSet<String>,
    /// Tables the release copied data out of (`INSERT … SELECT`, `CREATE TABLE … AS`).
    copied_from: BTreeSet<String>,
    release_versions: BTreeSet<Version>,
    all_versions: BTreeSet<Version>,
    report: Report,
}

/// Commands the parser cannot read that no rule inspects: they cannot break the previous
/// release by themselves (a `DO` block hides its statements from every linter; see
/// docs/migrations.md).
const UNINSPECTED_COMMANDS: [&[&str]; 11] = [
    &["DO"],
    &["CALL"],
    &["COPY"],
    &["REFRESH"],
    &["ALTER", "SEQUENCE"],
    &["CREATE", "PROCEDURE"],
    &["CREATE", "OR", "REPLACE", "PROCEDURE"],
    &["ALTER", "DEFAULT", "PRIVILEGES"],
    &["SECURITY", "LABEL"],
    &["CREATE", "AGGREGATE"],
    &["ALTER", "EXTENSION"],
];

impl Checker {
    fn migration(&mut self, migration: &Migration, in_release: bool) {
        let file = migration.file.path.as_str();
        let split = split(&migration.sql);
        let first_finding = self.report.findings.len();
        let markers = if in_release {
            self.markers(file, &migration.file.version, &split.comments)
        } else {
            Vec::new()
        };
        let mut in_transaction = false;
        for statement in &split.statements {
            if in_release {
                self.report.statements += 1;
            }
            let (text, concurrently) = drop_index_concurrently(statement.text);
            let parsed = Parser::new(&PostgreSqlDialect {})
                .try_with_sql(&text)
                .and_then(|mut parser| parser.parse_statements());
            let parsed = match parsed {
                Ok(parsed) => parsed,
                Err(error) => {
                    self.unreadable(file, statement, &error, in_release);
                    continue;
                }
            };
            for sql in &parsed {
                let context = Context {
                    file,
                    statement,
                    in_release,
                    markers: &markers,
                    version: &migration.file.version,
                };
                match sql {
                    Sql::StartTransaction { .. } => in_transaction = true,
                    Sql::Commit { .. } | Sql::Rollback { .. } => in_transaction = false,
                    _ => {}
                }
                self.statement(&context, sql, in_transaction, concurrently);
            }
        }
        if let Some(findings) = self.report.findings.get_mut(first_finding..) {
            findings.sort_by_key(|f| (f.line, f.column));
        }
    }

    /// Reads the file's markers, reporting the ones that cannot be used.
    fn markers(&mut self, file: &str, version: &Version, comments: &[Comment]) -> Vec<Marker> {
        let mut markers = Vec::new();
        for comment in comments {
            let Some(body) = comment.text.trim().strip_prefix("slipway:") else {
                continue;
            };
            let mut fail = |message: String| {
                self.report.findings.push(Finding {
                    rule: Rule::InvalidContractMarker,
                    file: file.to_string(),
                    line: comment.line,
                    column: comment.column,
                    message,
                    help: "write `-- slipway: contract <table>[.<column>] unused since <version>`, where <version> is the migration of an earlier release whose code stopped using it".into(),
                    object: None,
                });
            };
            let words: Vec<&str> = body.split_whitespace().collect();
            let [kind, object, unused, since, marker_version] = words.as_slice() else {
                fail(format!(
                    "cannot read the marker `--{}`",
                    comment.text.trim_end()
                ));
                continue;
            };
            if !kind.eq_ignore_ascii_case("contract")
                || !unused.eq_ignore_ascii_case("unused")
                || !since.eq_ignore_ascii_case("since")
            {
                fail(format!(
                    "cannot read the marker `--{}`",
                    comment.text.trim_end()
                ));
                continue;
            }
            let Some(since) = Version::parse(marker_version) else {
                fail(format!(
                    "`{marker_version}` in the marker is not a migration version"
                ));
                continue;
            };
            if !self.all_versions.contains(&since) || since > *version {
                fail(format!(
                    "the marker names version {since}, which is not a migration before {version}"
                ));
                continue;
            }
            markers.push(Marker {
                object: normalise_marker_object(object),
                since,
            });
        }
        markers
    }

    fn unreadable(
        &mut self,
        file: &str,
        statement: &Statement,
        error: &ParserError,
        in_release: bool,
    ) {
        let (message, line, column) = locate_error(error, statement);
        let words = leading_words(statement.text, 4);
        let uninspected = UNINSPECTED_COMMANDS.iter().find(|command| {
            command.len() <= words.len()
                && command
                    .iter()
                    .zip(&words)
                    .all(|(want, have)| have.eq_ignore_ascii_case(want))
        });
        if let Some(command) = uninspected {
            self.report.unchecked.push(Unchecked {
                file: file.to_string(),
                line: statement.line,
                column: statement.column,
                reason: format!(
                    "`{}` is not read by the SQL parser, and no rule applies to it",
                    command.join(" ")
                ),
            });
        } else if in_release {
            self.report.findings.push(Finding {
                rule: Rule::ParseError,
                file: file.to_string(),
                line,
                column,
                message: format!("the SQL parser cannot read this statement: {message}"),
                help: "fix the statement if PostgreSQL rejects it too; if PostgreSQL accepts it, nothing in it was checked: review it by hand and waive this finding".into(),
                object: None,
            });
        } else {
            self.report.unchecked.push(Unchecked {
                file: file.to_string(),
                line,
                column,
                reason: format!(
                    "an earlier migration the parser cannot read ({message}): the schema model may miss what it did"
                ),
            });
        }
    }

    fn statement(
        &mut self,
        context: &Context,
        sql: &Sql,
        in_transaction: bool,
        drop_concurrently: bool,
    ) {
        match sql {
            Sql::AlterTable(alter) => self.alter_table(context, alter),
            Sql::CreateTable(create) => self.create_table(context, create),
            Sql::CreateIndex(create) => self.create_index(context, create, in_transaction),
            Sql::Drop {
                object_type: ObjectType::Table,
                names,
                ..
            } => {
                for name in names {
                    self.drop_table(context, &table_name(name));
                }
            }
            Sql::Drop {
                object_type: ObjectType::Index,
                names,
                ..
            } => {
                for name in names {
                    self.drop_index(
                        context,
                        &table_name(name),
                        drop_concurrently,
                        in_transaction,
                    );
                }
            }
            Sql::Insert(insert) if context.in_release => {
                if let Some(source) = &insert.source {
                    self.copied_from.extend(relations(source.as_ref()));
                }
            }
            Sql::Update(update) if context.in_release => {
                if let TableFactor::Table { name, .. } = &update.table.relation {
                    self.expanded.insert(table_name(name));
                }
            }
            _ => {}
        }
    }

    fn find(&mut self, context: &Context, rule: Rule, object: &str, message: String, help: String) {
        if !context.in_release {
            return;
        }
        self.report.findings.push(Finding {
            rule,
            file: context.file.to_string(),
            line: context.statement.line,
            column: context.statement.column,
            message,
            help,
            object: Some(object.to_string()),
        });
    }

    fn alter_table(&mut self, context: &Context, alter: &AlterTable) {
        let mut table = table_name(&alter.name);
        for operation in &alter.operations {
            match operation {
                AlterTableOperation::AddColumn { column_def, .. } => {
                    self.add_column(context, &table, column_def);
                }
                AlterTableOperation::DropColumn { column_names, .. } => {
                    for column in column_names {
                        self.drop_column(context, &table, &ident(column));
                    }
                }
                AlterTableOperation::RenameColumn {
                    old_column_name,
                    new_column_name,
                } => {
                    let (old, new) = (ident(old_column_name), ident(new_column_name));
                    let object = format!("{table}.{old}");
                    if !self.model.column_is_new(&table, &old) {
                        self.find(
                            context,
                            Rule::RenameColumn,
                            &object,
                            format!("renames column `{object}` to `{new}`: the previous release still reads and writes `{old}`"),
                            format!("expand → migrate → contract: add column `{new}` (this release), write both and backfill `{new}` from `{old}` (this release's code), switch reads to `{new}` (next release), then drop `{old}` in a later release"),
                        );
                    }
                    let entry = self.model.tables.entry(table.clone()).or_default();
                    let column = entry.columns.remove(&old).unwrap_or_default();
                    entry.columns.insert(new, column);
                }
                AlterTableOperation::RenameTable { table_name: kind } => {
                    let target = match kind {
                        RenameTableNameKind::As(name) | RenameTableNameKind::To(name) => name,
                    };
                    let new = renamed(&table, target);
                    if !self.model.table_is_new(&table) {
                        self.find(
                            context,
                            Rule::RenameTable,
                            &table,
                            format!("renames table `{table}` to `{new}`: the previous release still uses `{table}`"),
                            format!("expand → migrate → contract: create `{new}` (or a view named `{new}` over `{table}`), write to both and copy the rows (this release), switch the code to `{new}` (next release), then drop `{table}` in a later release"),
                        );
                    }
                    let moved = self.model.tables.remove(&table).unwrap_or_default();
                    self.model.tables.insert(new.clone(), moved);
                    table = new;
                }
                AlterTableOperation::AlterColumn { column_name, op } => {
                    self.alter_column(context, &table, &ident(column_name), op);
                }
                AlterTableOperation::AddConstraint {
                    constraint,
                    not_valid,
                } => self.add_constraint(context, &table, constraint, *not_valid),
                _ => {}
            }
        }
    }

    fn add_column(&mut self, context: &Context, table: &str, column: &ColumnDef) {
        let name = ident(&column.name);
        let object = format!("{table}.{name}");
        let not_null = column.options.iter().any(|o| {
            matches!(
                o.option,
                ColumnOption::NotNull | ColumnOption::PrimaryKey(_)
            )
        });
        let has_default = is_serial(&column.data_type)
            || column.options.iter().any(|o| {
                matches!(
                    o.option,
                    ColumnOption::Default(_)
                        | ColumnOption::Generated { .. }
                        | ColumnOption::Identity(_)
                )
            });
        if not_null && !has_default && !self.model.table_is_new(table) {
            self.find(
                context,
                Rule::AddColumnNotNullWithoutDefault,
                &object,
                format!("adds `{object}` as NOT NULL without a default: the previous release's inserts into `{table}` do not set it and fail"),
                format!("expand → migrate → contract: add `{object}` nullable or with a DEFAULT (this release), ship code that always writes it and backfill the old rows, then add `CHECK ({name} IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT` and `SET NOT NULL` in a later release"),
            );
        }
        if context.in_release {
            self.expanded.insert(table.to_string());
        }
        self.model
            .tables
            .entry(table.to_string())
            .or_default()
            .columns
            .insert(
                name,
                Column {
                    added_in_release: context.in_release,
                },
            );
    }

    fn drop_column(&mut self, context: &Context, table: &str, column: &str) {
        let object = format!("{table}.{column}");
        if !self.model.column_is_new(table, column) {
            let help = format!(
                "expand → migrate → contract: first ship a release whose code no longer reads or writes `{object}`; drop the column in a later release, marked `-- slipway: contract {object} unused since <the first migration of that earlier release>`"
            );
            match self.contract(context, &object) {
                Contract::Marked => {}
                Contract::MarkedInThisRelease(since) => self.find(
                    context,
                    Rule::ContractInSameRelease,
                    &object,
                    format!("drops column `{object}`, marked unused since {since}, which is part of this release: the previous release still uses it"),
                    help,
                ),
                Contract::Unmarked if self.expanded.contains(table) => self.find(
                    context,
                    Rule::ContractInSameRelease,
                    &object,
                    format!("drops column `{object}` in the release that also expands or backfills `{table}`: the previous release still uses `{column}` and does not know its replacement"),
                    help,
                ),
                Contract::Unmarked => self.find(
                    context,
                    Rule::DropColumn,
                    &object,
                    format!("drops column `{object}`, which the previous release may still read or write"),
                    help,
                ),
            }
        }
        if let Some(entry) = self.model.tables.get_mut(table) {
            entry.columns.remove(column);
        }
    }

    fn drop_table(&mut self, context: &Context, table: &str) {
        if !self.model.table_is_new(table) {
            let help = format!(
                "expand → migrate → contract: first ship a release whose code no longer uses `{table}`; drop it in a later release, marked `-- slipway: contract {table} unused since <the first migration of that earlier release>`"
            );
            match self.contract(context, table) {
                Contract::Marked => {}
                Contract::MarkedInThisRelease(since) => self.find(
                    context,
                    Rule::ContractInSameRelease,
                    table,
                    format!("drops table `{table}`, marked unused since {since}, which is part of this release: the previous release still uses it"),
                    help,
                ),
                Contract::Unmarked if self.copied_from.contains(table) => self.find(
                    context,
                    Rule::ContractInSameRelease,
                    table,
                    format!("drops table `{table}` in the release that copies its rows elsewhere: the previous release still uses `{table}`"),
                    help,
                ),
                Contract::Unmarked => self.find(
                    context,
                    Rule::DropTable,
                    table,
                    format!("drops table `{table}`, which the previous release may still use"),
                    help,
                ),
            }
        }
        self.model.tables.remove(table);
    }

    /// Whether a marker of this file covers dropping `object`.
    fn contract(&self, context: &Context, object: &str) -> Contract {
        let Some(marker) = context.markers.iter().find(|m| m.object == object) else {
            return Contract::Unmarked;
        };
        if self.release_versions.contains(&marker.since) || marker.since >= *context.version {
            Contract::MarkedInThisRelease(marker.since.clone())
        } else {
            Contract::Marked
        }
    }

    fn alter_column(
        &mut self,
        context: &Context,
        table: &str,
        column: &str,
        operation: &AlterColumnOperation,
    ) {
        let object = format!("{table}.{column}");
        if self.model.column_is_new(table, column) {
            return;
        }
        match operation {
            AlterColumnOperation::SetDataType { data_type, .. } => self.find(
                context,
                Rule::AlterColumnType,
                &object,
                format!("changes the type of `{object}` to {data_type}: the previous release reads and writes the old type, and the table is rewritten under an exclusive lock"),
                format!("expand → migrate → contract: add a new column of type {data_type} (this release), write both and backfill it, switch reads to it (next release), then drop `{object}` in a later release"),
            ),
            AlterColumnOperation::SetNotNull => self.find(
                context,
                Rule::SetNotNull,
                &object,
                format!("sets `{object}` NOT NULL: the previous release may still leave it NULL, and PostgreSQL scans `{table}` under an exclusive lock to check it"),
                format!("expand → migrate → contract: once every running release writes `{column}`, add `CHECK ({column} IS NOT NULL) NOT VALID`, then `VALIDATE CONSTRAINT` in a later migration; `SET NOT NULL` after that uses the constraint instead of a scan (PostgreSQL 12+)"),
            ),
            _ => {}
        }
    }

    fn add_constraint(
        &mut self,
        context: &Context,
        table: &str,
        constraint: &TableConstraint,
        not_valid: bool,
    ) {
        if self.model.table_is_new(table) {
            return;
        }
        let name = constraint_name(constraint);
        match constraint {
            TableConstraint::Check(_) | TableConstraint::ForeignKey(_) if !not_valid => {
                let kind = if matches!(constraint, TableConstraint::Check(_)) {
                    "CHECK"
                } else {
                    "FOREIGN KEY"
                };
                self.find(
                    context,
                    Rule::AddConstraintWithoutNotValid,
                    table,
                    format!("adds {kind} constraint{name} to `{table}` without NOT VALID: every row is checked while writes to `{table}` wait, and rows the previous release writes may violate it"),
                    format!("expand → migrate → contract: add it with NOT VALID (new rows are checked at once, old rows are not scanned), fix the old rows, then `ALTER TABLE {table} VALIDATE CONSTRAINT …` in a later migration (it does not block writes)"),
                );
            }
            TableConstraint::Unique(_) | TableConstraint::PrimaryKey(_) => {
                let kind = if matches!(constraint, TableConstraint::Unique(_)) {
                    "UNIQUE"
                } else {
                    "PRIMARY KEY"
                };
                self.find(
                    context,
                    Rule::AddUniqueConstraintWithoutIndex,
                    table,
                    format!("adds {kind} constraint{name} to `{table}`, which builds its index while writes to `{table}` wait"),
                    format!("build the index first with `CREATE UNIQUE INDEX CONCURRENTLY` (in a migration without a transaction), then `ALTER TABLE {table} ADD CONSTRAINT … {kind} USING INDEX <index>`"),
                );
            }
            _ => {}
        }
    }

    fn create_table(&mut self, context: &Context, create: &CreateTable) {
        let name = table_name(&create.name);
        // `IF NOT EXISTS` over a table that exists does nothing: the old table stays in use.
        if create.if_not_exists && self.model.tables.contains_key(&name) {
            return;
        }
        if context.in_release
            && let Some(query) = &create.query
        {
            self.copied_from.extend(relations(query.as_ref()));
        }
        let columns = create
            .columns
            .iter()
            .map(|c| {
                (
                    ident(&c.name),
                    Column {
                        added_in_release: context.in_release,
                    },
                )
            })
            .collect();
        self.model.tables.insert(
            name,
            Table {
                created_in_release: context.in_release,
                columns,
            },
        );
    }

    fn create_index(&mut self, context: &Context, create: &CreateIndex, in_transaction: bool) {
        let table = table_name(&create.table_name);
        let new_table = self.model.table_is_new(&table);
        if create.concurrently && in_transaction {
            self.find(
                context,
                Rule::ConcurrentIndexInTransaction,
                &table,
                format!("creates an index on `{table}` CONCURRENTLY inside BEGIN … COMMIT: PostgreSQL refuses CREATE INDEX CONCURRENTLY in a transaction block"),
                "put the CREATE INDEX CONCURRENTLY in a migration of its own, without BEGIN/COMMIT, and have the migration tool run it outside a transaction (sqlx: `-- no-transaction`; Flyway: `executeInTransaction=false`)".into(),
            );
        }
        if !create.concurrently && !new_table {
            let index = create
                .name
                .as_ref()
                .map(|n| format!(" `{}`", table_name(n)))
                .unwrap_or_default();
            self.find(
                context,
                Rule::CreateIndexNotConcurrently,
                &table,
                format!("creates index{index} on `{table}` without CONCURRENTLY: writes to `{table}` wait until the index is built"),
                format!("use `CREATE INDEX CONCURRENTLY` on `{table}`, in a migration without a transaction; if it fails, drop the invalid index and retry"),
            );
        }
        if let Some(name) = &create.name {
            self.model.indexes.insert(
                table_name(name),
                Index {
                    new_in_release: context.in_release,
                },
            );
        }
    }

    fn drop_index(
        &mut self,
        context: &Context,
        index: &str,
        concurrently: bool,
        in_transaction: bool,
    ) {
        if concurrently && in_transaction {
            self.find(
                context,
                Rule::ConcurrentIndexInTransaction,
                index,
                format!("drops index `{index}` CONCURRENTLY inside BEGIN … COMMIT: PostgreSQL refuses DROP INDEX CONCURRENTLY in a transaction block"),
                "put the DROP INDEX CONCURRENTLY in a migration of its own, without BEGIN/COMMIT, and have the migration tool run it outside a transaction".into(),
            );
        }
        let new = self
            .model
            .indexes
            .get(index)
            .is_some_and(|i| i.new_in_release);
        if !concurrently && !new {
            self.find(
                context,
                Rule::DropIndexNotConcurrently,
                index,
                format!("drops index `{index}` without CONCURRENTLY: queries on its table wait for an exclusive lock"),
                format!("use `DROP INDEX CONCURRENTLY {index}`, in a migration without a transaction"),
            );
        }
        self.model.indexes.remove(index);
    }
}

enum Contract {
    Unmarked,
    Marked,
    MarkedInThisRelease(Version),
}

struct Context<'a> {
    file: &'a str,
    statement: &'a Statement<'a>,
    in_release: bool,
    markers: &'a [Marker],
    version: &'a Version,
}

/// `DROP INDEX CONCURRENTLY …` is valid PostgreSQL the parser does not read: the keyword is
/// blanked (keeping every position) and reported back.
fn drop_index_concurrently(text: &str) -> (String, bool) {
    let words = leading_word_spans(text, 3);
    if let [(_, first), (_, second), (at, third)] = words.as_slice()
        && first.eq_ignore_ascii_case("drop")
        && second.eq_ignore_ascii_case("index")
        && third.eq_ignore_ascii_case("concurrently")
    {
        let mut blanked = text.to_string();
        blanked.replace_range(*at..*at + third.len(), &" ".repeat(third.len()));
        return (blanked, true);
    }
    (text.to_string(), false)
}

/// The first `count` whitespace-separated words and their byte offsets.
fn leading_word_spans(text: &str, count: usize) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start = None;
    for (at, c) in text.char_indices() {
        if c.is_whitespace() || c == '(' || c == ';' {
            if let Some(begin) = start.take() {
                words.push((begin, text.get(begin..at).unwrap_or_default()));
                if words.len() == count {
                    return words;
                }
            }
        } else if start.is_none() {
            start = Some(at);
        }
    }
    if let Some(begin) = start
        && words.len() < count
    {
        words.push((begin, text.get(begin..).unwrap_or_default()));
    }
    words
}

fn leading_words(text: &str, count: usize) -> Vec<&str> {
    leading_word_spans(text, count)
        .into_iter()
        .map(|(_, word)| word)
        .collect()
}

/// The parser's message without its position, and the position in the file.
fn locate_error(error: &ParserError, statement: &Statement) -> (String, u32, u32) {
    let text = match error {
        ParserError::TokenizerError(text) | ParserError::ParserError(text) => text.clone(),
        ParserError::RecursionLimitExceeded => "the statement nests too deeply".to_string(),
    };
    let Some((message, position)) = text.rsplit_once(" at Line: ") else {
        return (text, statement.line, statement.column);
    };
    let Some((line, column)) = position.split_once(", Column: ") else {
        return (text, statement.line, statement.column);
    };
    let (Ok(line), Ok(column)) = (line.trim().parse::<u32>(), column.trim().parse::<u32>()) else {
        return (text, statement.line, statement.column);
    };
    let file_line = statement.line.saturating_add(line.saturating_sub(1));
    let file_column = if line <= 1 {
        statement.column.saturating_add(column.saturating_sub(1))
    } else {
        column
    };
    (message.to_string(), file_line, file_column.max(1))
}

/// An identifier as PostgreSQL stores it: unquoted names fold to lower case.
fn ident(ident: &sqlparser::ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// A table (or index) name as the model keys it: folded, dotted, without `public.`.
fn table_name(name: &ObjectName) -> String {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|part| part.as_ident().map_or_else(|| part.to_string(), ident))
        .collect();
    let joined = parts.join(".");
    joined
        .strip_prefix("public.")
        .map(str::to_string)
        .unwrap_or(joined)
}

/// `ALTER TABLE s.a RENAME TO b` names `s.b`: the new name keeps the old schema.
fn renamed(old: &str, target: &ObjectName) -> String {
    let new = table_name(target);
    if new.contains('.') {
        return new;
    }
    match old.rsplit_once('.') {
        Some((schema, _)) => format!("{schema}.{new}"),
        None => new,
    }
}

fn normalise_marker_object(object: &str) -> String {
    let folded: String = object.replace('"', "").to_lowercase();
    folded
        .strip_prefix("public.")
        .map(str::to_string)
        .unwrap_or(folded)
}

fn relations(query: &sqlparser::ast::Query) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let _ = visit_relations(query, |relation| {
        found.insert(table_name(relation));
        ControlFlow::<()>::Continue(())
    });
    found
}

fn is_serial(data_type: &DataType) -> bool {
    let text = data_type.to_string().to_ascii_lowercase();
    matches!(
        text.as_str(),
        "serial" | "bigserial" | "smallserial" | "serial2" | "serial4" | "serial8"
    )
}

fn constraint_name(constraint: &TableConstraint) -> String {
    let name = match constraint {
        TableConstraint::Check(c) => c.name.as_ref(),
        TableConstraint::ForeignKey(c) => c.name.as_ref(),
        TableConstraint::Unique(c) => c.name.as_ref(),
        TableConstraint::PrimaryKey(c) => c.name.as_ref(),
        _ => None,
    };
    name.map(|n| format!(" `{}`", ident(n))).unwrap_or_default()
}
