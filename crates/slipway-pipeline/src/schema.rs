//! The JSON Schema of the pipeline file, generated from the model types.

use crate::model::Pipeline;

/// Where the published schema lives; editors resolve `$id` to cache it.
pub const SCHEMA_ID: &str = "https://slipway.dev/schema/pipeline-v1.json";

/// JSON Schema 2020-12 for `slipway.yml`.
pub fn pipeline_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<Pipeline>();
    let mut value = schema.to_value();
    if let Some(object) = value.as_object_mut() {
        object.insert("$id".into(), SCHEMA_ID.into());
        object.insert(
            "description".into(),
            "Slipway pipeline file, version 1. Reference: docs/pipeline.md.".into(),
        );
    }
    value
}
