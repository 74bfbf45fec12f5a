// A third-party SMSC (npm "smpp" server role) that writes message ids the way real
// carriers do, for smsbridge's receipt matching. Configured by environment:
//   SMSC_SUBMIT_IDS          submit_sm_resp ids: "dec" (1234) or "hex8" (%08x: 000004d2)
//   SMSC_RECEIPT_IDS         receipt ids: "same", "dec" or "hex8" (of the same number)
//   SMSC_FIRST_ID            the first id's number (default 1)
//   SMSC_SILENT              the first N submits get no receipt; after the Nth response
//                            the session is closed, so the ESME binds afresh (default 0)
//   SMSC_NEXT_ID             after that close, ids go on from this number (another SMSC
//                            node of the carrier) instead of continuing
//   SMSC_RECEIPT_FIRST_EVERY every Kth receipted submit has its receipt sent before its
//                            submit_sm_resp (default 0: never)
//   SMSC_DROP_FIRST_SUBMIT   "1": the first submit_sm is taken (counted, printed) but never
//                            answered, and its connection is dropped
//   SMSC_EMPTY_IDS           "1": submit_sm_resp says ESME_ROK with an empty message_id
//   SMSC_MO_NO_SOURCE        "1": right after the bind, an MO with an empty source_addr;
//                            the status of its deliver_sm_resp is printed
// Accepts bind_transceiver with the expected credentials. Prints its port, then one
// line per bind and per submit (its id, whether it got a receipt).
'use strict';
const smpp = require('smpp');
const { emit } = require('./smpp_common');

const SYSTEM_ID = process.env.SMSC_SYSTEM_ID || 'smsbridge';
const PASSWORD = process.env.SMSC_PASSWORD || 'secret';
const SUBMIT_IDS = process.env.SMSC_SUBMIT_IDS || 'dec';
const RECEIPT_IDS = process.env.SMSC_RECEIPT_IDS || 'same';
const SILENT = Number(process.env.SMSC_SILENT || 0);
const NEXT_ID = process.env.SMSC_NEXT_ID ? Number(process.env.SMSC_NEXT_ID) : null;
const FIRST_EVERY = Number(process.env.SMSC_RECEIPT_FIRST_EVERY || 0);
const DROP_FIRST = process.env.SMSC_DROP_FIRST_SUBMIT === '1';
const EMPTY_IDS = process.env.SMSC_EMPTY_IDS === '1';
const MO_NO_SOURCE = process.env.SMSC_MO_NO_SOURCE === '1';

let next = Number(process.env.SMSC_FIRST_ID || 1);
let submits = 0;
let receipted = 0;
let binds = 0;

function write(n, form) {
  switch (form) {
    case 'dec':
      return String(n);
    case 'hex8':
      return n.toString(16).padStart(8, '0');
    default:
      throw new Error(`unknown id form ${form}`);
  }
}

function receipt(pdu, id) {
  return {
    source_addr: pdu.destination_addr,
    destination_addr: pdu.source_addr,
    esm_class: 4,
    short_message: `id:${id} sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD err:000 text:`,
    receipted_message_id: id,
    message_state: 2,
  };
}

const server = smpp.createServer((session) => {
  session.on('error', (err) => emit({ event: 'session_error', message: String(err) }));
  session.on('bind_transceiver', (pdu) => {
    if (pdu.system_id !== SYSTEM_ID || pdu.password !== PASSWORD) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVPASWD }));
      return;
    }
    binds += 1;
    session.send(pdu.response({ system_id: 'node-smsc' }));
    emit({ event: 'bound', binds });
    if (MO_NO_SOURCE && binds === 1) {
      session.deliver_sm(
        { source_addr: '', destination_addr: '18005550100', short_message: 'hello' },
        (resp) => emit({ event: 'mo_answered', status: resp.command_status }),
      );
    }
  });
  session.on('submit_sm', (pdu) => {
    submits += 1;
    if (DROP_FIRST && submits === 1) {
      emit({ event: 'submit', id: null, dropped: true });
      session.socket.destroy();
      return;
    }
    const n = next++;
    const id = EMPTY_IDS ? '' : write(n, SUBMIT_IDS);
    const response = pdu.response({ message_id: id });
    if (submits <= SILENT) {
      emit({ event: 'submit', id, receipt: false });
      session.send(response, () => {
        if (submits === SILENT) {
          if (NEXT_ID !== null) next = NEXT_ID;
          session.close();
        }
      });
      return;
    }
    const rid = RECEIPT_IDS === 'same' ? id : write(n, RECEIPT_IDS);
    receipted += 1;
    const first = FIRST_EVERY > 0 && receipted % FIRST_EVERY === 0;
    emit({ event: 'submit', id, receipt: rid, receipt_first: first });
    if (first) {
      session.deliver_sm(receipt(pdu, rid));
      session.send(response);
    } else {
      session.send(response);
      session.deliver_sm(receipt(pdu, rid));
    }
  });
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => session.send(pdu.response(), () => session.close()));
});

server.listen(0, '127.0.0.1', () => emit({ event: 'listening', port: server.address().port }));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
