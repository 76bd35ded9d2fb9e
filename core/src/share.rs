//! Share URLs: a scenario in the fragment, `#s=v1.<base64url(deflate(compact JSON))>`.
//!
//! Encoding is canonical: fields equal to their defaults are left out and object keys are
//! sorted, so the same scenario always gives the same string (and short URLs). Decoding is an
//! attack surface: the input length and the inflated size are capped, and the scenario is
//! validated, so a bad string gets a typed error, never a panic or a memory blow-up.

use crate::scenario::{ConsumerSpec, ProducerSpec, Scenario, ScenarioError, TopicSpec};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

/// The version tag: v1 is deflate + base64url of the compact JSON.
pub const VERSION: &str = "v1.";
/// Longest share string accepted (URLs this long already break many tools).
pub const MAX_ENCODED_CHARS: usize = 32_768;
/// Largest inflated scenario accepted.
pub const MAX_JSON_BYTES: usize = 256 * 1024;
/// The deflate level: the best ratio; the output of a given build is fixed.
const LEVEL: u8 = 10;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShareError {
    #[error("the share string is {len} characters; at most {max} are accepted")]
    TooLong { len: usize, max: usize },
    #[error("no scenario found: expected `v1.` followed by the encoded scenario (got '{0}')")]
    NotAShareString(String),
    #[error("unsupported share format '{0}' (this version reads v1)")]
    UnknownVersion(String),
    #[error("the share string is not valid base64url: {0}")]
    Base64(String),
    #[error("the share string does not inflate: {0}")]
    Deflate(String),
    #[error("the scenario inflates to more than {max} bytes")]
    TooLarge { max: usize },
    #[error("the shared scenario is invalid: {0}")]
    Scenario(#[from] ScenarioError),
}

/// The scenario as compact JSON with default values left out and keys sorted.
pub fn compact_json(scenario: &Scenario) -> String {
    let mut value = serde_json::to_value(scenario).unwrap_or(Value::Null);
    let defaults = serde_json::to_value(Scenario::default()).unwrap_or(Value::Null);
    strip_defaults(&mut value, &defaults);
    for (list, element) in [
        ("topics", serde_json::to_value(TopicSpec::default())),
        ("producers", serde_json::to_value(ProducerSpec::default())),
        ("consumers", serde_json::to_value(ConsumerSpec::default())),
    ] {
        let (Some(Value::Array(items)), Ok(element)) = (value.get_mut(list), element) else {
            continue;
        };
        for item in items {
            strip_defaults(item, &element);
        }
    }
    // Producers and consumers added by actions (the terminal's console clients) too.
    if let Some(Value::Array(actions)) = value.get_mut("actions") {
        let producer = serde_json::to_value(ProducerSpec::default()).unwrap_or(Value::Null);
        let consumer = serde_json::to_value(ConsumerSpec::default()).unwrap_or(Value::Null);
        for action in actions {
            if let Some(p) = action.get_mut("producer") {
                strip_defaults(p, &producer);
            }
            if let Some(c) = action.get_mut("consumer") {
                strip_defaults(c, &consumer);
            }
        }
    }
    value.to_string()
}

/// Removes, recursively, every object field equal to the same field of `defaults`.
fn strip_defaults(value: &mut Value, defaults: &Value) {
    let (Value::Object(fields), Value::Object(default_fields)) = (value, defaults) else {
        return;
    };
    fields.retain(|k, v| default_fields.get(k) != Some(v));
    for (k, v) in fields.iter_mut() {
        if let Some(d) = default_fields.get(k) {
            strip_defaults(v, d);
        }
    }
}

/// `v1.` and the encoded scenario (put it after `#s=` in a URL).
pub fn encode(scenario: &Scenario) -> String {
    let json = compact_json(scenario);
    let deflated = miniz_oxide::deflate::compress_to_vec(json.as_bytes(), LEVEL);
    format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(deflated))
}

/// Finds the share string in a full URL, a fragment (`#s=…`, `s=…`) or the bare string.
pub fn share_string(input: &str) -> &str {
    let input = input.trim();
    let fragment = input.rsplit_once('#').map_or(input, |(_, f)| f);
    fragment
        .split('&')
        .find_map(|part| part.strip_prefix("s="))
        .unwrap_or(fragment)
}

/// Decodes a share string (or a URL holding one) into a validated scenario.
pub fn decode(input: &str) -> Result<Scenario, ShareError> {
    if input.len() > MAX_ENCODED_CHARS {
        return Err(ShareError::TooLong {
            len: input.len(),
            max: MAX_ENCODED_CHARS,
        });
    }
    let s = share_string(input);
    let Some((version, body)) = s.split_once('.') else {
        let shown: String = s.chars().take(40).collect();
        return Err(ShareError::NotAShareString(shown));
    };
    if version != "v1" {
        let shown: String = version.chars().take(20).collect();
        return Err(ShareError::UnknownVersion(shown));
    }
    let deflated = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|e| ShareError::Base64(e.to_string()))?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&deflated, MAX_JSON_BYTES)
        .map_err(|e| match e.status {
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => ShareError::TooLarge {
                max: MAX_JSON_BYTES,
            },
            status => ShareError::Deflate(format!("{status:?}")),
        })?;
    let json = String::from_utf8(json).map_err(|_| ShareError::Deflate("not UTF-8".into()))?;
    Ok(Scenario::from_json(&json)?)
}

#[cfg(test)]
mod tests;
