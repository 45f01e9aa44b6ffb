use serde::de::DeserializeOwned;

use crate::ValidationError;

/// Deserializes JSON into `T`, and on failure names the field that failed as a path
/// (`worker/external_id`, `entries/3`), so that a client sees where its input went wrong.
pub fn parse_json<T: DeserializeOwned>(json: &str) -> Result<T, ValidationError> {
    let de = &mut serde_json::Deserializer::from_str(json);
    let parsed: T = serde_path_to_error::deserialize(de).map_err(|err| {
        let mut path: Vec<String> = err
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let inner = err.into_inner();
        let message = clean_message(&inner.to_string());
        // serde reports a missing or repeated field at its parent; point at the field itself.
        if let Some(name) = ["missing field `", "duplicate field `"]
            .iter()
            .find_map(|prefix| message.strip_prefix(prefix))
            .and_then(|rest| rest.split('`').next())
        {
            path.push(name.to_owned());
        }
        ValidationError::new(path.join("/"), message)
    })?;
    Ok(parsed)
}

/// serde_json appends " at line L column C"; for a field error the pointer says where.
fn clean_message(raw: &str) -> String {
    match raw.rfind(" at line ") {
        Some(pos) => raw[..pos].to_owned(),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EntryInput;

    #[test]
    fn errors_name_the_nested_field() {
        let err = parse_json::<EntryInput>(
            r#"{"date":"2026-11-23","project":"P","minutes":30,"worker":{"external_id":"","kind":"employee"}}"#,
        )
        .err();
        assert_eq!(err.map(|e| e.field), Some("worker/external_id".to_owned()));
    }

    #[test]
    fn missing_fields_are_named() {
        let err = parse_json::<EntryInput>(r#"{"project":"P","minutes":30}"#).err();
        assert_eq!(err.map(|e| e.field), Some("date".to_owned()));
    }

    #[test]
    fn repeated_fields_are_named() {
        let err = parse_json::<EntryInput>(
            r#"{"date":"2026-11-23","project":"P","minutes":5,"minutes":6}"#,
        )
        .err();
        assert_eq!(err.map(|e| e.field), Some("minutes".to_owned()));
    }

    #[test]
    fn wrong_types_are_named() {
        let err =
            parse_json::<EntryInput>(r#"{"date":"2026-11-23","project":"P","minutes":"x"}"#).err();
        assert_eq!(err.map(|e| e.field), Some("minutes".to_owned()));
    }
}
