"""A third-party ESME (PyPI smpplib) against smsbridge's simulator: binds as a
transceiver, submits one message asking for a receipt, answers the receipt and one MO,
sends enquire_link, unbinds. Prints every PDU as a JSON line, then "done"."""

import json
import sys

import smpplib.client
import smpplib.consts
import smpplib.smpp


def emit(record):
    print(json.dumps(record), flush=True)


def describe(direction, pdu):
    def text(value):
        if isinstance(value, bytes):
            return value.decode("latin-1")
        return value

    return {
        "event": "pdu",
        "dir": direction,
        "command": pdu.command,
        "status": pdu.status,
        "sequence": pdu.sequence,
        "message_id": text(getattr(pdu, "message_id", None)),
        "receipted_message_id": text(getattr(pdu, "receipted_message_id", None)),
        "message_state": getattr(pdu, "message_state", None),
        "esm_class": getattr(pdu, "esm_class", None),
        "short_message": text(getattr(pdu, "short_message", None)),
    }


def main():
    port = int(sys.argv[1])
    client = smpplib.client.Client("127.0.0.1", port, timeout=20)
    seen = {"receipt": False, "mo": False}

    def on_deliver(pdu):
        emit(describe("in", pdu))
        if pdu.esm_class & 0x04:
            seen["receipt"] = True
        else:
            seen["mo"] = True

    def on_sent(pdu):
        emit(describe("in", pdu))

    client.set_message_received_handler(on_deliver)
    client.set_message_sent_handler(on_sent)
    client.connect()
    bound = client.bind_transceiver(system_id="pyesme", password="secret")
    emit(describe("in", bound))
    client.send_message(
        source_addr_ton=smpplib.consts.SMPP_TON_INTL,
        source_addr="18005550100",
        dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
        destination_addr="14155550123",
        short_message=b"Hello from smpplib",
        registered_delivery=1,
    )
    while not (seen["receipt"] and seen["mo"]):
        client.read_once()
    link = client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=client))
    resp = client.read_pdu()
    emit(describe("in", resp))
    emit(describe("in", client.unbind()))
    client.disconnect()
    emit({"event": "done"})
    return 0 if link else 1


if __name__ == "__main__":
    sys.exit(main())
