// Shared by the node-smpp peers: every PDU in or out is printed as one JSON line on
// stdout, so the Rust test can check each of them.
'use strict';

function text(value) {
  if (value && typeof value === 'object' && 'message' in value) {
    return Buffer.isBuffer(value.message) ? value.message.toString('latin1') : String(value.message);
  }
  return value === undefined ? undefined : String(value);
}

function describe(dir, pdu) {
  return {
    event: 'pdu',
    dir,
    command: pdu.command,
    status: pdu.command_status,
    sequence: pdu.sequence_number,
    system_id: pdu.system_id,
    password_present: pdu.password !== undefined && pdu.password !== '',
    interface_version: pdu.interface_version,
    source_addr: pdu.source_addr,
    destination_addr: pdu.destination_addr,
    esm_class: pdu.esm_class,
    registered_delivery: pdu.registered_delivery,
    data_coding: pdu.data_coding,
    message_id: pdu.message_id,
    receipted_message_id: pdu.receipted_message_id,
    message_state: pdu.message_state,
    short_message: text(pdu.short_message),
  };
}

function emit(record) {
  process.stdout.write(JSON.stringify(record) + '\n');
}

function trace(session) {
  session.on('pdu', (pdu) => emit(describe('in', pdu)));
  session.on('send', (pdu) => emit(describe('out', pdu)));
  session.on('error', (err) => emit({ event: 'error', message: String(err) }));
}

module.exports = { emit, trace };
