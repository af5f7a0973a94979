//! `{{ NAME }}` placeholders in Prometheus queries and web URLs.
//!
//! `{{ args.NAME }}` is filled from the template's `args` when the template is read;
//! `{{ canary }}`, `{{ stable }}` and `{{ environment }}` are filled at each measurement from
//! the rollout being judged.

/// The placeholders a measurement fills in.
pub const RUNTIME_PLACEHOLDERS: &[&str] = &["canary", "stable", "environment"];

/// A placeholder that cannot be filled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlaceholderError {
    /// `{{` without a closing `}}`, at this byte offset.
    Unclosed { at: usize },
    /// A name nothing fills in.
    Unknown { name: String },
}

/// Replaces every `{{ NAME }}` in `text` with `fill(NAME)`; `None` means the name is unknown.
pub fn fill(text: &str, fill: &dyn Fn(&str) -> Option<String>) -> Result<String, PlaceholderError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after_open = &rest[open + 2..];
        let close = after_open.find("}}").ok_or(PlaceholderError::Unclosed {
            at: text.len() - rest.len() + open,
        })?;
        let name = after_open[..close].trim();
        let value = fill(name).ok_or_else(|| PlaceholderError::Unknown {
            name: name.to_string(),
        })?;
        out.push_str(&value);
        rest = &after_open[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The canonical spelling of a runtime placeholder, kept in the text until a measurement.
pub fn keep(name: &str) -> String {
    format!("{{{{ {name} }}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(name: &str) -> Option<String> {
        match name {
            "canary" => Some("v2".into()),
            "args.job" => Some("api".into()),
            _ => None,
        }
    }

    #[test]
    fn fills_names_with_or_without_spaces() {
        assert_eq!(
            fill(
                "rate(x{job=\"{{args.job}}\",v=\"{{ canary }}\"}[1m])",
                &known
            )
            .unwrap(),
            "rate(x{job=\"api\",v=\"v2\"}[1m])"
        );
        assert_eq!(fill("no placeholders", &known).unwrap(), "no placeholders");
    }

    #[test]
    fn names_unknown_and_unclosed_placeholders() {
        assert_eq!(
            fill("a {{ args.missing }}", &known),
            Err(PlaceholderError::Unknown {
                name: "args.missing".into()
            })
        );
        assert_eq!(
            fill("ab {{ canary", &known),
            Err(PlaceholderError::Unclosed { at: 3 })
        );
    }

    #[test]
    fn keeps_runtime_placeholders_in_canonical_form() {
        let kept = fill("{{canary}}", &|name| Some(keep(name))).unwrap();
        assert_eq!(kept, "{{ canary }}");
        assert_eq!(fill(&kept, &known).unwrap(), "v2");
    }
}
