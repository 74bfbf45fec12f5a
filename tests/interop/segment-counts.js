// Reads JSON lines {"text": "..."} on stdin and prints, for each, one JSON line
// {"encoding": "gsm7"|"ucs2", "segments": N} as the sms-segments-calculator package
// computes them. The smsbridge test suite compares its own plans against these.
'use strict';
const { SegmentedMessage } = require('sms-segments-calculator');
const readline = require('readline');

const names = { 'GSM-7': 'gsm7', 'UCS-2': 'ucs2' };
const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  const { text } = JSON.parse(line);
  const message = new SegmentedMessage(text, 'auto', false);
  process.stdout.write(
    JSON.stringify({ encoding: names[message.encodingName], segments: message.segmentsCount }) + '\n',
  );
});
