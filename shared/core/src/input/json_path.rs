//! Reads one value out of raw JSON by a dot path (`ipPermissions.items.0.fromPort`) without
//! building a `serde_json::Value`: the walk skips everything off the path.
//!
//! This keeps resource-id extraction on the hot path at the cost of one scan of the
//! sub-document, with no allocation when the string has no escapes.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The string (or number, rendered as text) at `path` inside `raw`, if there is one.
pub fn lookup_str<'a>(raw: &'a RawValue, path: &str) -> Option<Cow<'a, str>> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let segments: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('.').collect()
    };
    Walk { segments: &segments }.deserialize(&mut de).ok().flatten()
}

struct Walk<'p> {
    segments: &'p [&'p str],
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(self.segments.is_empty().then_some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.segments.is_empty().then(|| Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(self.segments.is_empty().then_some(Cow::Owned(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(self.segments.is_empty().then(|| Cow::Owned(v.to_string())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.segments.is_empty().then(|| Cow::Owned(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(self.segments.is_empty().then(|| Cow::Owned(v.to_string())))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(self.segments.is_empty().then(|| Cow::Owned(v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match self.segments.split_first() {
                Some((first, rest)) if found.is_none() && key == *first => {
                    found = map.next_value_seed(Walk { segments: rest })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let wanted = self
            .segments
            .split_first()
            .and_then(|(first, rest)| Some((first.parse::<usize>().ok()?, rest)));
        let mut found = None;
        let mut index = 0;
        loop {
            let element = match wanted {
                Some((i, rest)) if i == index => seq.next_element_seed(Walk { segments: rest })?.map(|v| found = v),
                _ => seq.next_element::<IgnoredAny>()?.map(|_| ()),
            };
            if element.is_none() {
                break;
            }
            index += 1;
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::lookup_str;
    use serde_json::value::RawValue;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).expect("valid JSON")
    }

    #[test]
    fn finds_nested_strings_numbers_and_array_elements() {
        let r =
            raw(r#"{"groupId":"sg-1","ipPermissions":{"items":[{"fromPort":22},{"fromPort":443,"x":[1,{"y":"z"}]}]}}"#);
        assert_eq!(lookup_str(&r, "groupId").as_deref(), Some("sg-1"));
        assert_eq!(lookup_str(&r, "ipPermissions.items.1.fromPort").as_deref(), Some("443"));
        assert_eq!(lookup_str(&r, "ipPermissions.items.0.fromPort").as_deref(), Some("22"));
        assert_eq!(lookup_str(&r, "ipPermissions.items.1.x.1.y").as_deref(), Some("z"));
    }

    #[test]
    fn misses_return_none() {
        let r = raw(r#"{"a":{"b":"c"},"n":null,"arr":[]}"#);
        assert_eq!(lookup_str(&r, "a.x"), None);
        assert_eq!(lookup_str(&r, "a"), None, "an object is not a string");
        assert_eq!(lookup_str(&r, "n"), None);
        assert_eq!(lookup_str(&r, "arr.0"), None);
        assert_eq!(lookup_str(&r, "a.b.c"), None);
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let r = raw(r#"{"k":"a\"b"}"#);
        assert_eq!(lookup_str(&r, "k").as_deref(), Some("a\"b"));
    }
}
