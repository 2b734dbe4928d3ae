//! An item's size as DynamoDB counts it against its 400 KB limit (the developer guide's « Item
//! sizes and formats »): each attribute's name plus its value — a string its UTF-8 bytes, a
//! number one byte per two significant digits plus one, a binary its bytes, a boolean or a
//! null one byte, a list or a map 3 bytes plus one per element plus its elements (a map's
//! elements with their names). The memory store measures with it too, so both refuse the same
//! dossiers (`DossierStore::stored_bytes`).

use serde_dynamo::{AttributeValue, Item};

/// The item's size in bytes.
pub fn of_item(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + of_value(v)).sum()
}

/// A record's size once stored as an item (`serde_dynamo`'s form, the adapters' own).
pub fn of<T: serde::Serialize>(record: &T) -> Result<usize, String> {
    let item: Item = serde_dynamo::to_item(record).map_err(|e| e.to_string())?;
    Ok(of_item(&item))
}

fn of_value(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number(n),
        AttributeValue::B(b) => b.len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(Vec::len).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|e| 1 + of_value(e)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, e)| 1 + k.len() + of_value(e))
                .sum::<usize>()
        }
    }
}

/// One byte per two significant digits, plus one.
fn number(n: &str) -> usize {
    let digits = n
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .trim_start_matches('0')
        .trim_end_matches('0')
        .len()
        .max(1);
    digits.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_follow_dynamodb_rules() {
        let item: Item = serde_dynamo::to_item(json!({
            "id": "abc",
            "n": 12345,
            "ok": true,
            "l": ["a", "bc"],
            "m": {"k": "v"}
        }))
        .unwrap();
        // id 2+3, n 1+(3+1), ok 2+1, l 1+3+(1+1)+(1+2), m 1+3+(1+1+1)
        assert_eq!(of_item(&item), 5 + 5 + 3 + 9 + 7);
    }
}
