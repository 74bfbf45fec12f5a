//! Media links signed at delivery. An event's media URLs expire (`[mms] url_ttl`); an
//! event that waited in the outbox (the core was down) would otherwise carry links that
//! died while it waited. Just before each delivery attempt, the `url` of every item of
//! an event's `data.media` is handed to a [`MediaLinkSigner`] for a fresh one, so a link
//! works for the whole TTL from the moment the core receives it.
//!
//! Only events that carry media are touched; the stored event keeps the link written
//! with it, and the event's `id` stays the same across retries.

use std::sync::Arc;

use serde_json::Value;

use super::{ChatEvent, EventData};

/// Signs media links afresh.
pub trait MediaLinkSigner: Send + Sync + 'static {
    /// A fresh link for the media at `url` served as `content_type`, or `None` to keep
    /// `url` as it is (not a link this signer makes).
    fn refresh(&self, url: &str, content_type: &str) -> Option<String>;
}

/// Whether `event` carries media links.
pub(super) fn carries_media(event: &ChatEvent) -> bool {
    may_carry_media(event)
        && matches!(event.data.value().get("media"), Some(Value::Array(media)) if !media.is_empty())
}

/// False for the events that have no `media` key (most of them), without parsing them.
fn may_carry_media(event: &ChatEvent) -> bool {
    event.data.json().contains("\"media\"")
}

/// Refreshes the media links of the events in `batch` that carry media.
pub(super) fn refresh(signer: &Arc<dyn MediaLinkSigner>, batch: &mut [ChatEvent]) {
    for event in batch.iter_mut().filter(|e| may_carry_media(e)) {
        let mut data = event.data.value();
        let Some(Value::Array(media)) = data.get_mut("media") else {
            continue;
        };
        if media.is_empty() {
            continue;
        }
        for item in media {
            let (Some(url), Some(content_type)) = (
                item.get("url").and_then(Value::as_str),
                item.get("content_type").and_then(Value::as_str),
            ) else {
                continue;
            };
            if let Some(fresh) = signer.refresh(url, content_type) {
                item["url"] = Value::String(fresh);
            }
        }
        event.data = EventData::of(&data);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::connector::EventType;

    struct Stamp;

    impl MediaLinkSigner for Stamp {
        fn refresh(&self, url: &str, content_type: &str) -> Option<String> {
            url.starts_with("ours:")
                .then(|| format!("{url}+fresh({content_type})"))
        }
    }

    fn event(data: Value) -> ChatEvent {
        ChatEvent {
            id: "e".into(),
            ty: EventType::MessageReceived,
            conversation_id: "c".into(),
            sequence: 1,
            time: String::new(),
            data: data.into(),
        }
    }

    #[test]
    fn only_media_links_the_signer_knows_are_replaced() {
        let signer: Arc<dyn MediaLinkSigner> = Arc::new(Stamp);
        let mut batch = [
            event(json!({"text": "hi", "media": [
                {"url": "ours:a", "content_type": "image/png", "size": 3},
                {"url": "https://elsewhere/b", "content_type": "image/png"},
                {"url": "ours:c"},
            ]})),
            event(json!({"text": "no media"})),
        ];
        let untouched = batch[1].clone();
        refresh(&signer, &mut batch);
        let data = batch[0].data.value();
        let media = &data["media"];
        assert_eq!(media[0]["url"], "ours:a+fresh(image/png)");
        assert_eq!(media[0]["size"], 3);
        assert_eq!(media[1]["url"], "https://elsewhere/b");
        assert_eq!(media[2]["url"], "ours:c", "no type, nothing to sign");
        assert_eq!(batch[1], untouched);
    }
}
