//! Matrix expansion: the cartesian product of the axes, minus `exclude`, plus `include`.

use crate::model::{Matrix, MatrixValue};
use indexmap::IndexMap;

/// One combination: axis (or included key) → value, in declaration order.
pub type Combination = IndexMap<String, MatrixValue>;

/// The combinations of a matrix, in a stable order: the product in axis order, then
/// include-only combinations.
///
/// `include` follows the familiar rule: an entry whose axis values all agree with existing
/// combinations extends each of them with its extra keys; otherwise it adds a combination.
pub fn expand(matrix: &Matrix) -> Vec<Combination> {
    let mut combinations: Vec<Combination> = vec![IndexMap::new()];
    for (axis, values) in &matrix.axes {
        combinations = combinations
            .into_iter()
            .flat_map(|base| {
                values.iter().map(move |value| {
                    let mut next = base.clone();
                    next.insert(axis.name.clone(), value.value.clone());
                    next
                })
            })
            .collect();
    }
    if matrix.axes.is_empty() {
        combinations.clear();
    }
    combinations.retain(|combination| {
        !matrix.exclude.iter().flatten().any(|entry| {
            entry
                .iter()
                .all(|(key, value)| combination.get(key.name.as_str()) == Some(&value.value))
        })
    });
    let product_len = combinations.len();
    for entry in matrix.include.iter().flatten() {
        let is_axis = |key: &str| matrix.axes.contains_key(key);
        let mut matched = false;
        for combination in combinations.iter_mut().take(product_len) {
            let agrees = entry
                .iter()
                .filter(|(key, _)| is_axis(key))
                .all(|(key, value)| combination.get(key.name.as_str()) == Some(&value.value));
            if agrees {
                for (key, value) in entry.iter().filter(|(key, _)| !is_axis(key)) {
                    combination.insert(key.name.clone(), value.value.clone());
                }
                matched = true;
            }
        }
        if !matched {
            let combination: Combination = entry
                .iter()
                .map(|(k, v)| (k.name.clone(), v.value.clone()))
                .collect();
            if !combinations.contains(&combination) {
                combinations.push(combination);
            }
        }
    }
    combinations
}

/// The number of combinations without building them when the product is huge, so a
/// runaway matrix is reported instead of exhausting memory.
pub fn combination_count(matrix: &Matrix) -> usize {
    let product = matrix
        .axes
        .values()
        .try_fold(1usize, |acc, values| acc.checked_mul(values.len()))
        .unwrap_or(usize::MAX);
    if product > 10_000 {
        return product;
    }
    expand(matrix).len()
}

/// The display id of one matrix job: `unit (os=linux, rust=stable)`.
pub fn job_id(base: &str, combination: &Combination) -> String {
    if combination.is_empty() {
        return base.to_string();
    }
    let parts: Vec<String> = combination
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{base} ({})", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{FromNode, Reader};
    use crate::source::{SourceFile, SourceId};
    use crate::yaml;

    fn matrix(text: &str) -> Matrix {
        let file = SourceFile::new("m.yml", text);
        let (node, _) = yaml::parse(&file, SourceId(0));
        let mut reader = Reader::new(&file);
        let matrix = Matrix::from_node(&node.unwrap(), &mut reader).unwrap();
        assert!(reader.diagnostics.is_empty(), "{:?}", reader.diagnostics);
        matrix
    }

    fn ids(m: &Matrix) -> Vec<String> {
        expand(m).iter().map(|c| job_id("unit", c)).collect()
    }

    #[test]
    fn product_exclude_include() {
        let m = matrix(
            "os: [linux, mac]\nrust: [stable, beta]\nexclude: [{os: mac, rust: beta}]\ninclude: [{os: linux, rust: nightly}, {os: linux, experimental: true}]\n",
        );
        assert_eq!(
            ids(&m),
            [
                "unit (os=linux, rust=stable, experimental=true)",
                "unit (os=linux, rust=beta, experimental=true)",
                "unit (os=mac, rust=stable)",
                "unit (os=linux, rust=nightly)",
            ]
        );
    }

    #[test]
    fn counts_huge_products_without_expanding() {
        let axis: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let text = format!("a: [{0}]\nb: [{0}]\nc: [{0}]\n", axis.join(", "));
        assert_eq!(combination_count(&matrix(&text)), 1_000_000);
    }
}
