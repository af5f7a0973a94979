//! The rules: stable ids, what each one protects, and the expand → migrate → contract
//! alternative it recommends.

use serde::Serialize;

/// A check over the migrations of a release. The ids (`as_str`) are a contract: waivers,
/// policies and scripts name them; never rename one, add new ones at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A column the previous release may still read or write is dropped.
    DropColumn,
    /// A table the previous release may still use is dropped.
    DropTable,
    /// A column is renamed: the previous release still uses the old name.
    RenameColumn,
    /// A table is renamed: the previous release still uses the old name.
    RenameTable,
    /// A column's type changes: the previous release reads and writes the old type, and the
    /// table is rewritten under an exclusive lock.
    AlterColumnType,
    /// A `NOT NULL` column without a default is added: the previous release's inserts omit it
    /// and fail.
    AddColumnNotNullWithoutDefault,
    /// `SET NOT NULL` on an existing column: the previous release may still write NULL, and
    /// the check scans the table under an exclusive lock.
    SetNotNull,
    /// A `CHECK` or `FOREIGN KEY` constraint is added without `NOT VALID`: the whole table is
    /// scanned under a lock that stops writes.
    AddConstraintWithoutNotValid,
    /// A `UNIQUE` or `PRIMARY KEY` constraint builds its index inline, blocking writes for the
    /// whole build.
    AddUniqueConstraintWithoutIndex,
    /// `CREATE INDEX` without `CONCURRENTLY` on an existing table blocks writes while it builds.
    CreateIndexNotConcurrently,
    /// `DROP INDEX` without `CONCURRENTLY` waits for, and then blocks, every query on its table.
    DropIndexNotConcurrently,
    /// `CREATE`/`DROP INDEX CONCURRENTLY` inside `BEGIN … COMMIT`: PostgreSQL refuses it.
    ConcurrentIndexInTransaction,
    /// The contract step (a drop) ships in the same release as its expand step, so the
    /// previous release — which still uses what is dropped — runs against the new schema.
    ContractInSameRelease,
    /// A statement the SQL parser cannot read: nothing in it was checked.
    ParseError,
    /// A `-- slipway:` marker that cannot be read or names no earlier release.
    InvalidContractMarker,
}

impl Rule {
    /// Every rule, in id order of introduction.
    pub const ALL: [Rule; 15] = [
        Rule::DropColumn,
        Rule::DropTable,
        Rule::RenameColumn,
        Rule::RenameTable,
        Rule::AlterColumnType,
        Rule::AddColumnNotNullWithoutDefault,
        Rule::SetNotNull,
        Rule::AddConstraintWithoutNotValid,
        Rule::AddUniqueConstraintWithoutIndex,
        Rule::CreateIndexNotConcurrently,
        Rule::DropIndexNotConcurrently,
        Rule::ConcurrentIndexInTransaction,
        Rule::ContractInSameRelease,
        Rule::ParseError,
        Rule::InvalidContractMarker,
    ];

    /// The stable, kebab-case id.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::DropColumn => "drop-column",
            Rule::DropTable => "drop-table",
            Rule::RenameColumn => "rename-column",
            Rule::RenameTable => "rename-table",
            Rule::AlterColumnType => "alter-column-type",
            Rule::AddColumnNotNullWithoutDefault => "add-column-not-null-without-default",
            Rule::SetNotNull => "set-not-null",
            Rule::AddConstraintWithoutNotValid => "add-constraint-without-not-valid",
            Rule::AddUniqueConstraintWithoutIndex => "add-unique-constraint-without-index",
            Rule::CreateIndexNotConcurrently => "create-index-not-concurrently",
            Rule::DropIndexNotConcurrently => "drop-index-not-concurrently",
            Rule::ConcurrentIndexInTransaction => "concurrent-index-in-transaction",
            Rule::ContractInSameRelease => "contract-in-same-release",
            Rule::ParseError => "parse-error",
            Rule::InvalidContractMarker => "invalid-contract-marker",
        }
    }

    /// The rule with this id.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.as_str() == id)
    }

    /// One line on why the rule exists, for rule catalogs (SARIF, docs).
    pub fn summary(self) -> &'static str {
        match self {
            Rule::DropColumn => "a column the previous release still uses is dropped",
            Rule::DropTable => "a table the previous release still uses is dropped",
            Rule::RenameColumn => "a column the previous release still uses is renamed",
            Rule::RenameTable => "a table the previous release still uses is renamed",
            Rule::AlterColumnType => "a column's type changes under the previous release",
            Rule::AddColumnNotNullWithoutDefault => {
                "a NOT NULL column without a default breaks the previous release's inserts"
            }
            Rule::SetNotNull => "SET NOT NULL on a column the previous release may leave NULL",
            Rule::AddConstraintWithoutNotValid => {
                "a CHECK or FOREIGN KEY constraint validated under a write-blocking lock"
            }
            Rule::AddUniqueConstraintWithoutIndex => {
                "a UNIQUE or PRIMARY KEY constraint builds its index while blocking writes"
            }
            Rule::CreateIndexNotConcurrently => "an index built while blocking writes",
            Rule::DropIndexNotConcurrently => "an index dropped under an exclusive lock",
            Rule::ConcurrentIndexInTransaction => {
                "CONCURRENTLY inside a transaction block, which PostgreSQL refuses"
            }
            Rule::ContractInSameRelease => {
                "expand and contract in one release: the previous release loses what it uses"
            }
            Rule::ParseError => "a statement the SQL parser cannot read was not checked",
            Rule::InvalidContractMarker => "a -- slipway: marker that cannot be used",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for rule in Rule::ALL {
            let id = rule.as_str();
            assert!(seen.insert(id), "{id} twice");
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{id}"
            );
            assert_eq!(Rule::from_id(id), Some(rule));
            assert_eq!(
                serde_json::to_value(rule).unwrap(),
                serde_json::Value::String(id.into())
            );
        }
    }
}
