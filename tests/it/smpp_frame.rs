//! Property tests of the strict frame decoder (the cargo-fuzz target in `fuzz/` runs the
//! same checks for longer): arbitrary bytes never panic it, a bad body never moves the
//! stream off the next frame, and whatever decodes re-encodes to the same frame.

use bytes::{BufMut, BytesMut};
use proptest::prelude::*;
use rusmpp::{CommandId, CommandStatus, Pdu};
use smsbridge::smpp::frame::{self, Decoded, Frame};

const MAX: u32 = 4096;

/// Command ids worth aiming random bodies at: every request and response with a body.
const IDS: [u32; 20] = [
    0x01,
    0x02,
    0x03,
    0x04,
    0x05,
    0x06,
    0x07,
    0x08,
    0x09,
    0x0B,
    0x15,
    0x21,
    0x102,
    0x103,
    0x8000_0001,
    0x8000_0004,
    0x8000_0005,
    0x8000_0103,
    0x8000_0021,
    0x99,
];

fn decode_all(buf: &mut BytesMut) -> Vec<Decoded> {
    let mut out = Vec::new();
    while let Ok(Some(decoded)) = frame::decode(buf, MAX) {
        out.push(decoded);
    }
    out
}

#[derive(Debug, Clone)]
enum Item {
    Ping(u32),
    Garbage { id: u32, body: Vec<u8> },
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        (1u32..1000).prop_map(Item::Ping),
        (
            prop::sample::select(IDS.to_vec()),
            prop::collection::vec(any::<u8>(), 0..80)
        )
            .prop_map(|(id, body)| Item::Garbage { id, body }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut buf = BytesMut::from(data.as_slice());
        let before = buf.len();
        let decoded = decode_all(&mut buf);
        prop_assert!(buf.len() <= before);
        prop_assert!(decoded.len() <= before / 16);
    }

    #[test]
    fn bad_bodies_never_desynchronise_the_stream(items in prop::collection::vec(item(), 1..20)) {
        let mut buf = BytesMut::new();
        for item in &items {
            match item {
                Item::Ping(seq) => {
                    frame::encode(&Frame::new(CommandStatus::EsmeRok, *seq, Pdu::EnquireLink), &mut buf, MAX).unwrap();
                }
                Item::Garbage { id, body } => {
                    buf.put_u32(16 + body.len() as u32);
                    buf.put_u32(*id);
                    buf.put_u32(0);
                    buf.put_u32(7);
                    buf.extend_from_slice(body);
                }
            }
        }
        let decoded = decode_all(&mut buf);
        prop_assert!(buf.is_empty());
        prop_assert_eq!(decoded.len(), items.len(), "one result per frame");
        for (item, result) in items.iter().zip(&decoded) {
            if let Item::Ping(seq) = item {
                let Decoded::Frame(frame) = result else {
                    return Err(TestCaseError::fail(format!("ping {seq} lost: {result:?}")));
                };
                prop_assert_eq!((frame.command_id, frame.sequence), (CommandId::EnquireLink, *seq));
            }
        }
    }

    #[test]
    fn what_decodes_reencodes_to_the_same_frame(
        id in prop::sample::select(IDS.to_vec()),
        body in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let mut buf = BytesMut::new();
        buf.put_u32(16 + body.len() as u32);
        buf.put_u32(id);
        buf.put_u32(0);
        buf.put_u32(3);
        buf.extend_from_slice(&body);
        if let Ok(Some(Decoded::Frame(frame))) = frame::decode(&mut buf, MAX) {
            let mut again = BytesMut::new();
            frame::encode(&frame, &mut again, u32::MAX).unwrap();
            prop_assert_eq!(frame::decode(&mut again, u32::MAX), Ok(Some(Decoded::Frame(frame))));
        }
    }
}
