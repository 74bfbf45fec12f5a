//! The simulator's receipts, over a real bind: they parse, and whatever id form the
//! simulator writes (`[receipts] id_form`, with hex or decimal submit ids), an indexed
//! lookup by the receipt's keys finds exactly the segment it reports on.

use std::collections::HashMap;
use std::time::Duration;

use smsbridge::carrier::SubmitRequest;
use smsbridge::receipts::{
    self, FormLearner, IdForm, MsgIdFormat, Reading, ReceiptState, index_keys, lookup_keys,
    read_tolerant,
};

use crate::carrier::{segment, setup};

const HANG: Duration = Duration::from_secs(30);

/// Enough segments that the ids reach two digits (hex `a`..`c`), where the forms differ.
const SEGMENTS: usize = 12;

/// The store's index in miniature: key → submit ids.
#[derive(Default)]
struct Index(HashMap<String, Vec<String>>);

impl Index {
    fn insert(&mut self, submit_id: &str) {
        for key in index_keys(submit_id, MsgIdFormat::Auto) {
            self.0.entry(key).or_default().push(submit_id.to_string());
        }
    }

    fn candidates(&self, receipt_id: &str, format: MsgIdFormat) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for key in lookup_keys(receipt_id, format) {
            for id in self.0.get(&key).into_iter().flatten() {
                if !out.contains(&id.as_str()) {
                    out.push(id);
                }
            }
        }
        out
    }
}

/// Submits [`SEGMENTS`] segments through a simulator configured with `sim_toml`,
/// matches every receipt, and returns the forms that matched.
async fn forms_matched(sim_toml: &str) -> Vec<IdForm> {
    let mut s = setup(sim_toml, |_| {}).await;
    s.wait_status(|st| st.binds_up() == 1).await;
    let texts: Vec<String> = (1..=SEGMENTS).map(|i| format!("segment {i}")).collect();
    let outcome = s
        .pool
        .submit(SubmitRequest {
            segments: texts.iter().map(|t| segment(t, 1)).collect(),
        })
        .await
        .unwrap();
    let mut index = Index::default();
    let mut submit_id_of_text = HashMap::new();
    for (text, seg) in texts.iter().zip(&outcome.segments) {
        index.insert(&seg.message_id);
        submit_id_of_text.insert(text.clone(), seg.message_id.clone());
    }
    let learner = FormLearner::new();
    let mut forms = Vec::new();
    for _ in 0..SEGMENTS {
        let message = tokio::time::timeout(HANG, s.inbound.recv())
            .await
            .expect("a receipt arrives")
            .expect("the bind is up");
        assert!(message.is_receipt());
        let receipt = receipts::read("sim", &message.pdu).expect("the simulator's receipt parses");
        assert_eq!(receipt.state, ReceiptState::Delivered);
        assert!(receipt.is_final() && receipt.submit_date.is_some());
        // Every submit's response is in: the receipt's own id can no longer appear.
        let candidates = index.candidates(&receipt.id, MsgIdFormat::Auto);
        let ids = [receipt.id.clone()];
        let reading = read_tolerant(&ids, &candidates, MsgIdFormat::Auto, learner.proven());
        let Reading::Match(found) = reading else {
            panic!("receipt {} read {reading:?}", receipt.id)
        };
        if found.evidence {
            learner.record(found.form);
        }
        let text = receipt.text.expect("the receipt quotes the text");
        assert_eq!(
            candidates[found.index], submit_id_of_text[&text],
            "receipt {} matched the wrong segment",
            receipt.id
        );
        forms.push(found.form);
    }
    s.shutdown().await;
    forms
}

#[tokio::test]
async fn receipts_with_the_same_id_match_exactly() {
    let forms = forms_matched("").await;
    assert!(forms.iter().all(|f| *f == IdForm::Exact), "{forms:?}");
}

#[tokio::test]
async fn decimal_receipts_for_hex_submit_ids_match() {
    let forms =
        forms_matched("message_id_format = \"hex\"\n[receipts]\nid_form = \"decimal\"").await;
    assert!(forms.contains(&IdForm::HexToDecimal), "{forms:?}");
}

#[tokio::test]
async fn hex_receipts_for_decimal_submit_ids_match() {
    let forms =
        forms_matched("message_id_format = \"decimal\"\n[receipts]\nid_form = \"hex_upper\"").await;
    assert!(forms.contains(&IdForm::DecimalToHex), "{forms:?}");
}

#[tokio::test]
async fn upper_case_and_zero_padded_receipts_match_folded() {
    let forms = forms_matched("[receipts]\nid_form = \"hex_upper\"").await;
    assert!(forms.contains(&IdForm::Folded), "{forms:?}");
    let forms = forms_matched("[receipts]\nid_form = \"zero_padded\"").await;
    assert!(forms.iter().all(|f| *f == IdForm::Folded), "{forms:?}");
}
