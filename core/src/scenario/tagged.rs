//! Reading internally tagged JSON objects (`{"action": "kill_broker", "broker": 1}`) by hand.
//!
//! serde derives this shape by first buffering the whole object in its own generic `Content`
//! tree, and every type inside gets a second copy of its decoding for that tree: 27 KB of the
//! page, gzipped. Here the object is read once as a `serde_json` map and each field is taken
//! from it; serialisation stays derived.

use serde::de::{DeserializeOwned, Deserializer, Error, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Reads a tagged object whose tag field is `kind` with `read`. The object is read inside
/// serde's visit of it, so an error points at the object (serde_json adds line and column).
pub(crate) fn deserialize<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    kind: &'static str,
    read: fn(Fields) -> Result<T, String>,
) -> Result<T, D::Error> {
    deserializer.deserialize_map(TaggedVisitor { kind, read })
}

struct TaggedVisitor<T> {
    kind: &'static str,
    read: fn(Fields) -> Result<T, String>,
}

impl<'de, T> Visitor<'de> for TaggedVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object with a `{}` field", self.kind)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<T, A::Error> {
        let mut map = Map::new();
        while let Some((name, value)) = access.next_entry::<String, Value>()? {
            map.insert(name, value);
        }
        Fields::new(map, self.kind)
            .and_then(self.read)
            .map_err(A::Error::custom)
    }
}

/// The fields of one tagged object, taken one by one. Mistakes are reported by `finish`, as
/// serde's derive reports them: an unknown field (likely a typo) before a missing one.
#[derive(Debug)]
pub(crate) struct Fields {
    tag: String,
    kind: &'static str,
    map: Map<String, Value>,
    /// The field names read so far: what an unknown field could have meant.
    known: Vec<&'static str>,
    missing: Option<&'static str>,
}

impl Fields {
    /// Takes the tag (`kind` names the tag field, e.g. "action") out of the object.
    pub fn new(mut map: Map<String, Value>, kind: &'static str) -> Result<Fields, String> {
        let tag = match map.remove(kind) {
            Some(Value::String(tag)) => tag,
            Some(other) => return Err(format!("`{kind}` must be a string, not {other}")),
            None => return Err(serde_json::Error::missing_field(kind).to_string()),
        };
        Ok(Fields {
            tag,
            kind,
            map,
            known: Vec::new(),
            missing: None,
        })
    }

    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// A field that must be present (if absent, `finish` fails).
    pub fn required<T: DeserializeOwned + Default>(
        &mut self,
        name: &'static str,
    ) -> Result<T, String> {
        if !self.map.contains_key(name) {
            self.missing.get_or_insert(name);
        }
        self.optional(name)
    }

    /// A field that takes its type's default when absent.
    pub fn optional<T: DeserializeOwned + Default>(
        &mut self,
        name: &'static str,
    ) -> Result<T, String> {
        self.known.push(name);
        match self.map.remove(name) {
            Some(value) => serde_json::from_value(value)
                .map_err(|e| format!("{} `{}`, field `{name}`: {e}", self.kind, self.tag)),
            None => Ok(T::default()),
        }
    }

    /// The error for a tag that names none of `known`.
    pub fn unknown(&self, known: &'static [&'static str]) -> String {
        serde_json::Error::unknown_variant(&self.tag, known).to_string()
    }

    /// Succeeds when every field present was read and every required one was present.
    pub fn finish(self) -> Result<(), String> {
        let what = format!("{} `{}`", self.kind, self.tag);
        if let Some(field) = self.map.keys().next() {
            let expected = match self.known.as_slice() {
                [] => "there are no fields".to_string(),
                [one] => format!("expected `{one}`"),
                [a, b] => format!("expected `{a}` or `{b}`"),
                names => format!("expected one of `{}`", names.join("`, `")),
            };
            return Err(format!("{what}: unknown field `{field}`, {expected}"));
        }
        match self.missing {
            Some(field) => Err(format!("{what}: missing field `{field}`")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Result<Fields, String> {
        Fields::new(serde_json::from_str(json).unwrap(), "action")
    }

    #[test]
    fn an_unknown_field_is_named_before_a_missing_one() {
        let mut f = fields(r#"{"action": "kill_broker", "broker": 2, "extra": true}"#).unwrap();
        assert_eq!(f.tag(), "kill_broker");
        assert_eq!(f.required::<u32>("broker"), Ok(2));
        assert_eq!(f.optional::<bool>("disk_lost"), Ok(false));
        assert_eq!(f.required::<u32>("server"), Ok(0));
        assert_eq!(
            f.finish().unwrap_err(),
            "action `kill_broker`: unknown field `extra`, expected one of `broker`, `disk_lost`, `server`"
        );
        let mut f = fields(r#"{"action": "kill_broker", "brokr": 2}"#).unwrap();
        assert_eq!(f.required::<u32>("broker"), Ok(0));
        assert_eq!(
            f.finish().unwrap_err(),
            "action `kill_broker`: unknown field `brokr`, expected `broker`"
        );
        let mut f = fields(r#"{"action": "kill_broker"}"#).unwrap();
        assert_eq!(f.required::<u32>("broker"), Ok(0));
        assert_eq!(
            f.finish().unwrap_err(),
            "action `kill_broker`: missing field `broker`"
        );
        let mut f = fields(r#"{"action": "kill_broker", "broker": 1}"#).unwrap();
        assert_eq!(f.required::<u32>("broker"), Ok(1));
        assert_eq!(f.finish(), Ok(()));
    }

    #[test]
    fn a_missing_or_wrong_tag_or_field_type_says_which() {
        assert!(fields(r#"{"broker": 2}"#)
            .unwrap_err()
            .contains("missing field `action`"));
        assert!(fields(r#"{"action": 3}"#)
            .unwrap_err()
            .contains("must be a string"));
        let mut f = fields(r#"{"action": "kill_broker", "broker": "two"}"#).unwrap();
        let e = f.required::<u32>("broker").unwrap_err();
        assert!(
            e.starts_with("action `kill_broker`, field `broker`: invalid type"),
            "{e}"
        );
        assert!(f
            .unknown(&["kill_broker"])
            .contains("expected `kill_broker`"));
    }
}
