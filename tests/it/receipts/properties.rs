//! Properties over arbitrary input: no octets make the parser panic, well-formed
//! receipts read back what was written, and every id mismatch still meets on a key.

use proptest::prelude::*;
use smsbridge::receipts::{
    IdForm, MsgIdFormat, Reading, ReceiptCommand, ReceiptFields, ReceiptState, ReceiptTlvs,
    index_keys, lookup_keys, parse_body, parse_fields, read_text, read_tolerant,
};

fn any_state() -> impl Strategy<Value = ReceiptState> {
    prop::sample::select(ReceiptState::ALL.to_vec())
}

/// A ten- or twelve-digit date that is a real date.
fn any_date() -> impl Strategy<Value = String> {
    (
        0u8..100,
        1u8..13,
        1u8..29,
        0u8..24,
        0u8..60,
        prop::option::of(0u8..60),
    )
        .prop_map(|(y, mo, d, h, mi, s)| {
            let mut out = format!("{y:02}{mo:02}{d:02}{h:02}{mi:02}");
            if let Some(s) = s {
                out.push_str(&format!("{s:02}"));
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn no_body_makes_the_parser_panic(
        command in prop::sample::select(vec![0x0000_0005u32, 0x0000_0103, 0x0000_0004]),
        body in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        if let Err(unparsed) = parse_body(command, &body) {
            prop_assert_eq!(unparsed.raw, body);
        }
    }

    #[test]
    fn no_fields_make_the_parser_panic(
        esm_class in any::<u8>(),
        data_coding in any::<u8>(),
        text in prop::collection::vec(any::<u8>(), 0..300),
        tlvs in prop::collection::vec(
            (prop::sample::select(vec![0x001Eu16, 0x0427, 0x0423, 0x0425, 0x0424, 0x1400]),
             prop::collection::vec(any::<u8>(), 0..80)),
            0..6,
        ),
    ) {
        let mut receipt_tlvs = ReceiptTlvs::default();
        for (tag, value) in &tlvs {
            receipt_tlvs.take_raw(*tag, value);
        }
        let fields = ReceiptFields {
            command: ReceiptCommand::DeliverSm,
            esm_class,
            data_coding,
            short_message: &text,
            tlvs: receipt_tlvs,
        };
        let _ = parse_fields(&fields);
    }

    #[test]
    fn any_text_is_read_without_panicking(text in "\\PC{0,300}") {
        let _ = read_text(&text);
    }

    #[test]
    fn a_well_formed_receipt_reads_back(
        id in "[0-9A-Za-z]{1,64}",
        state in any_state(),
        submit in any_date(),
        done in any_date(),
        err in "[0-9A-F]{3}",
        snippet in "[ -~]{0,40}",
        capital_text_key in any::<bool>(),
    ) {
        let key = if capital_text_key { "Text" } else { "text" };
        let body = format!(
            "id:{id} sub:001 dlvrd:000 submit date:{submit} done date:{done} stat:{} err:{err} {key}:{snippet}",
            state.stat()
        );
        let fields = ReceiptFields {
            command: ReceiptCommand::DeliverSm,
            esm_class: 0x04,
            data_coding: 0,
            short_message: body.as_bytes(),
            tlvs: ReceiptTlvs::default(),
        };
        let r = parse_fields(&fields).unwrap();
        prop_assert_eq!(&r.id, &id);
        prop_assert_eq!(r.state, state);
        prop_assert!(r.submit_date.is_some() && r.done_date.is_some());
        prop_assert_eq!(r.err.map(|e| e.raw), Some(err));
        prop_assert_eq!(r.text.as_deref(), Some(snippet.as_str()));
    }

    #[test]
    fn hex_and_decimal_forms_of_any_number_match(
        n in any::<u128>(),
        zeros in 0usize..8,
        upper in any::<bool>(),
    ) {
        let hex = format!("{n:x}");
        let decimal = n.to_string();
        let mut receipt_hex = format!("{}{hex}", "0".repeat(zeros));
        if upper {
            receipt_hex = receipt_hex.to_ascii_uppercase();
        }
        for (submit, receipt) in [(&hex, &decimal), (&decimal, &receipt_hex), (&hex, &receipt_hex)] {
            let index = index_keys(submit, MsgIdFormat::Auto);
            let meets = lookup_keys(receipt, MsgIdFormat::Auto).iter().any(|k| index.contains(k));
            prop_assert!(meets, "{} / {}", submit, receipt);
            let m = read_tolerant(std::slice::from_ref(receipt), &[submit.as_str()], MsgIdFormat::Auto, None);
            prop_assert!(matches!(m, Reading::Match(_)), "{} / {}", submit, receipt);
        }
        let m = read_tolerant(std::slice::from_ref(&decimal), &[hex.as_str()], MsgIdFormat::Dec, None);
        let Reading::Match(m) = m else {
            return Err(TestCaseError::fail(format!("{decimal} / {hex}: {m:?}")));
        };
        prop_assert!(matches!(m.form, IdForm::Exact | IdForm::HexToDecimal));
    }

    /// Whatever a format lets match is found by the keys the store indexes for it.
    #[test]
    fn every_match_a_format_allows_is_found_by_its_keys(
        n in any::<u64>(),
        zeros in 0usize..4,
        upper in any::<bool>(),
        submit_hex in any::<bool>(),
        receipt_form in 0usize..3,
    ) {
        let submit = if submit_hex { format!("{n:x}") } else { n.to_string() };
        let mut receipt = match receipt_form {
            0 => submit.clone(),
            1 => format!("{n:x}"),
            _ => n.to_string(),
        };
        receipt = format!("{}{receipt}", "0".repeat(zeros));
        if upper {
            receipt = receipt.to_ascii_uppercase();
        }
        for format in [MsgIdFormat::Auto, MsgIdFormat::Hex, MsgIdFormat::Dec, MsgIdFormat::Exact] {
            let reading = read_tolerant(&[receipt.clone()], &[submit.as_str()], format, None);
            if !matches!(reading, Reading::Match(_)) {
                continue;
            }
            let index = index_keys(&submit, format);
            let meets = lookup_keys(&receipt, format).iter().any(|k| index.contains(k));
            prop_assert!(meets, "{} / {} in {}", submit, receipt, format);
        }
    }
}
