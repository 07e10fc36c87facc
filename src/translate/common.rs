//! Small helpers every codec needs: ids, the clock, data URLs.

use rand::distr::{Alphanumeric, SampleString};

/// `prefix` + 24 random alphanumerics, the shape of provider ids (`msg_…`, `chatcmpl-…`, `resp_…`, `call_…`).
pub fn random_id(prefix: &str) -> String {
    let mut id = String::with_capacity(prefix.len() + 24);
    id.push_str(prefix);
    Alphanumeric.append_string(&mut rand::rng(), &mut id, 24);
    id
}

/// The upstream's id when it already has the prefix clients of this format expect, else a fresh one.
pub fn id_with_prefix(upstream: &str, prefix: &str) -> String {
    if upstream.starts_with(prefix) && upstream.len() > prefix.len() {
        upstream.to_owned()
    } else {
        random_id(prefix)
    }
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `data:<type>[;params];base64,<data>` → (type, data); anything else → `None`.
pub fn parse_data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let params = meta.strip_suffix(";base64")?;
    let media_type = params.split(';').next().unwrap_or(params);
    Some((media_type, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_good_upstream_ids_and_make_fresh_ones_otherwise() {
        let id = random_id("msg_");
        assert_eq!(id.len(), 28);
        assert_ne!(id, random_id("msg_"));
        assert_eq!(id_with_prefix("msg_abc", "msg_"), "msg_abc");
        assert!(id_with_prefix("resp_abc", "msg_").starts_with("msg_"));
        assert!(id_with_prefix("msg_", "msg_").len() > 4);
    }

    #[test]
    fn data_urls() {
        assert_eq!(
            parse_data_url("data:image/png;base64,AAAA"),
            Some(("image/png", "AAAA"))
        );
        assert_eq!(
            parse_data_url("data:application/pdf;name=x.pdf;base64,JVBE"),
            Some(("application/pdf", "JVBE"))
        );
        assert_eq!(parse_data_url("data:text/plain,hello"), None);
        assert_eq!(parse_data_url("https://x/y.png"), None);
    }
}
