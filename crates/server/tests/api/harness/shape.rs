//! Checks on the shape of JSON answers.

/// The JSON type a schema field must have.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Str,
    /// A string or `null`.
    OptStr,
    Int,
    Bool,
    /// An array of strings.
    Strs,
    Object,
    Null,
}

/// Checks `value` against a schema: exactly these fields, each of its type.
#[track_caller]
pub fn assert_shape(value: &serde_json::Value, schema: &[(&str, Kind)]) {
    let object = value.as_object().unwrap_or_else(|| panic!("not an object: {value}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut expected: Vec<&str> = schema.iter().map(|(k, _)| *k).collect();
    keys.sort();
    expected.sort();
    assert_eq!(keys, expected, "fields of {value}");
    for (field, kind) in schema {
        let v = &object[*field];
        let ok = match kind {
            Kind::Str => v.is_string(),
            Kind::OptStr => v.is_string() || v.is_null(),
            Kind::Int => v.is_i64(),
            Kind::Bool => v.is_boolean(),
            Kind::Strs => v.as_array().is_some_and(|a| a.iter().all(|x| x.is_string())),
            Kind::Object => v.is_object(),
            Kind::Null => v.is_null(),
        };
        assert!(ok, "{field} should be {kind:?}, is {v}");
    }
}

/// Parses an ISO 8601 / RFC 3339 date-time.
#[track_caller]
pub fn date(v: &serde_json::Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339)
        .unwrap()
}
