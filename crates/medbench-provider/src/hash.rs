//! Canonical JSON and the request hash used as the response-cache key.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{ChatRequest, Part};

/// Bumped whenever the hashed form changes, so old cache keys never collide with new ones.
const HASH_VERSION: u32 = 1;

/// Serialises `v` with object keys sorted at every level and no whitespace, independent of
/// how the value was built (and of serde_json's `preserve_order` feature).
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// SHA-256 (lowercase hex) of the canonical JSON of provider name, model, messages (image
/// bytes by their own SHA-256), tools and sampling. Equal requests to the same provider give
/// equal hashes across runs and machines; any change to what the model sees changes it.
pub fn request_hash(provider_name: &str, req: &ChatRequest) -> String {
    let messages: Vec<Value> = req
        .messages
        .iter()
        .map(|m| {
            let parts: Vec<Value> = m.parts.iter().map(part_value).collect();
            json!({"role": m.role.as_str(), "parts": parts})
        })
        .collect();
    let doc = json!({
        "v": HASH_VERSION,
        "provider": provider_name,
        "model": req.model,
        "messages": messages,
        "tools": req.tools,
        "sampling": serde_json::to_value(req.sampling).unwrap_or(Value::Null),
    });
    hex::encode(Sha256::digest(canonical_json(&doc).as_bytes()))
}

fn part_value(p: &Part) -> Value {
    match p {
        Part::Text(t) => json!({"text": t}),
        Part::Image { media_type, data } => json!({"image": {
            "media_type": media_type,
            "sha256": hex::encode(Sha256::digest(data)),
        }}),
        Part::ToolCall {
            id,
            name,
            arguments,
        } => {
            json!({"tool_call": {"id": id, "name": name, "arguments": arguments}})
        }
        Part::ToolResult { call_id, content } => {
            json!({"tool_result": {"call_id": call_id, "content": content}})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChatMessage, Role, Sampling};

    fn req() -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: vec![
                ChatMessage::system("You are a doctor."),
                ChatMessage {
                    role: Role::User,
                    parts: vec![
                        Part::Text("What is shown?".into()),
                        Part::Image {
                            media_type: "image/png".into(),
                            data: vec![1, 2, 3],
                        },
                    ],
                },
            ],
            tools: vec![json!({"type": "function", "function": {"name": "f", "parameters": {}}})],
            sampling: Sampling {
                temperature: Some(0.0),
                max_tokens: Some(16),
                ..Default::default()
            },
        }
    }

    #[test]
    fn canonical_sorts_keys_deeply() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"y":2,"x":1}],"c":"é"}}"#).unwrap();
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":"é","d":[1,{"x":1,"y":2}]},"b":1}"#
        );
    }

    #[test]
    fn stable_across_runs() {
        // A fixed value, reproduced independently with Python's
        // `json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
        // If it changes, every cached response is orphaned: bump HASH_VERSION deliberately.
        assert_eq!(
            request_hash("openai", &req()),
            "ed44de681b6d195b6c47c01380296aa0e6f53e3e595b7331b4ef4e62f6793846"
        );
        assert_eq!(
            request_hash("openai", &req()),
            request_hash("openai", &req().clone())
        );
    }

    #[test]
    fn every_ingredient_matters() {
        let base = request_hash("openai", &req());
        assert_ne!(base, request_hash("other", &req()));
        let mut r = req();
        r.sampling.temperature = Some(0.7);
        assert_ne!(base, request_hash("openai", &r));
        let mut r = req();
        r.sampling.seed = Some(1);
        assert_ne!(base, request_hash("openai", &r));
        let mut r = req();
        r.model = "m2".into();
        assert_ne!(base, request_hash("openai", &r));
        let mut r = req();
        r.messages[1].parts[1] = Part::Image {
            media_type: "image/png".into(),
            data: vec![1, 2, 4],
        };
        assert_ne!(base, request_hash("openai", &r));
        let mut r = req();
        r.tools.clear();
        assert_ne!(base, request_hash("openai", &r));
        let mut r = req();
        r.messages[0].role = Role::User;
        assert_ne!(base, request_hash("openai", &r));
    }

    #[test]
    fn tool_key_order_does_not_matter() {
        let mut r = req();
        r.tools = vec![
            serde_json::from_str(r#"{"function":{"parameters":{},"name":"f"},"type":"function"}"#)
                .unwrap(),
        ];
        assert_eq!(request_hash("openai", &req()), request_hash("openai", &r));
    }
}
