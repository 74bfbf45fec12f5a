// A third-party SMSC (npm "smpp" server role) for smsbridge's ESME: accepts one
// bind_transceiver with the expected credentials, sends an MO right after the bind,
// answers submit_sm with decimal ids from 1000 and sends the receipt registered_delivery
// asks for, answers enquire_link and unbind. Prints its port, then every PDU.
'use strict';
const smpp = require('smpp');
const { emit, trace } = require('./smpp_common');

const SYSTEM_ID = process.env.SMSC_SYSTEM_ID || 'smsbridge';
const PASSWORD = process.env.SMSC_PASSWORD || 'secret';
let nextId = 1000;

const server = smpp.createServer((session) => {
  trace(session);
  session.on('bind_transceiver', (pdu) => {
    if (pdu.system_id !== SYSTEM_ID || pdu.password !== PASSWORD) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVPASWD }));
      return;
    }
    session.send(pdu.response({ system_id: 'node-smsc' }));
    session.deliver_sm({
      source_addr_ton: 1,
      source_addr: '14155550123',
      destination_addr: '18005550100',
      short_message: 'STOP',
    });
  });
  session.on('submit_sm', (pdu) => {
    const id = String(nextId++);
    session.send(pdu.response({ message_id: id }));
    if (pdu.registered_delivery & 0x03) {
      session.deliver_sm({
        source_addr: pdu.destination_addr,
        destination_addr: pdu.source_addr,
        esm_class: 4,
        short_message: `id:${id} sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD err:000 text:`,
        receipted_message_id: id,
        message_state: 2,
      });
    }
  });
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => {
    session.send(pdu.response(), () => {
      emit({ event: 'done' });
      session.close();
    });
  });
});

server.listen(0, '127.0.0.1', () => emit({ event: 'listening', port: server.address().port }));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
