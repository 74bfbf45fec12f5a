// A third-party ESME (npm "smpp" client role) against smsbridge's simulator: binds as a
// transceiver, submits one message asking for a receipt, answers the receipt and one
// MO deliver_sm, sends enquire_link, unbinds. Prints every PDU, then "done".
'use strict';
const smpp = require('smpp');
const { emit, trace } = require('./smpp_common');

const port = Number(process.argv[2]);
const session = smpp.connect({ url: `smpp://127.0.0.1:${port}` });
trace(session);

let receipt = false;
let mo = false;
let submitted = false;

function maybeFinish() {
  if (!(receipt && mo && submitted)) return;
  session.enquire_link({}, () => {
    session.unbind({}, () => {
      emit({ event: 'done' });
      session.close();
    });
  });
}

session.on('deliver_sm', (pdu) => {
  session.send(pdu.response());
  if (pdu.esm_class & 0x04) receipt = true; else mo = true;
  maybeFinish();
});

session.bind_transceiver({ system_id: 'node', password: 'secret', interface_version: 0x34 }, (pdu) => {
  if (pdu.command_status !== 0) {
    emit({ event: 'failed', status: pdu.command_status });
    process.exit(1);
  }
  session.submit_sm({
    source_addr: '18005550100',
    destination_addr: '14155550123',
    registered_delivery: 1,
    short_message: 'Hello from node',
  }, (resp) => {
    submitted = resp.command_status === 0;
    maybeFinish();
  });
});
session.on('close', () => process.exit(0));
