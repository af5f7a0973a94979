//! Cron expressions of `on.schedule` and freeze windows.

/// Parses a 5-field cron expression (minute hour day-of-month month day-of-week, UTC) or a
/// nickname such as `@daily`.
pub fn parse_cron(text: &str) -> Result<croner::Cron, String> {
    let trimmed = text.trim();
    if !trimmed.starts_with('@') {
        let fields = trimmed.split_whitespace().count();
        if fields != 5 {
            return Err(format!("expected 5 fields, found {fields}"));
        }
    }
    croner::parser::CronParser::builder()
        .build()
        .parse(trimmed)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_five_fields_and_nicknames() {
        assert!(parse_cron("0 3 * * *").is_ok());
        assert!(parse_cron("*/15 9-17 * * MON-FRI").is_ok());
        assert!(parse_cron("@daily").is_ok());
        assert!(parse_cron("0 3 * *").is_err());
        assert!(parse_cron("0 0 3 * * *").is_err());
        assert!(parse_cron("61 * * * *").is_err());
        assert!(parse_cron("* 25 * * *").is_err());
    }
}
