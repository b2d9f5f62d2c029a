import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../src/domain/ids.js';
import { captureLogs, maskChance } from '../helpers/app.js';

test('the leak-check text masks numbers, ids, SIDs and ports that hold a code by chance', () => {
  const line = JSON.stringify({ level: 30, time: 1796501582130, responseTime: 12.582131, msg: 'Server listening at http://127.0.0.1:58213' });
  const masked = maskChance(line);
  assert.ok(!masked.includes('58213'), masked);
  assert.match(masked, /"time":0,"responseTime":0,/);
  assert.match(masked, /127\.0\.0\.1:<port>"/);
  const id = 'msg_01m93x7c1shp58213b05dz0zs3';
  assert.equal(maskChance(`{"message_id":"${id}","sid":"SM0123456789abcdef58213abcdef01234"}`), '{"message_id":"msg_<id>","sid":"SM<sid>"}');
  assert.match(newId('msg'), /^msg_[0-9a-hjkmnp-tv-z]{26}$/, 'the id pattern is the one newId makes');
});

test('a code, key or secret written as text is never masked', () => {
  const { stream, capture } = captureLogs();
  stream.write(`${JSON.stringify({ msg: 'sent', body: 'Your code is 58213', url: 'http://127.0.0.1:8080/?otp=739104', key: 'otp_live_58213' })}\n`);
  stream.write(`${JSON.stringify({ msg: 'encoded', body: 'otp%22%3A%22552211%22', list: ['X7K2QP'] })}\n`);
  const text = capture.text();
  for (const s of ['58213', '739104', 'otp_live_58213', '552211', 'X7K2QP']) assert.ok(text.includes(s), s);
  assert.equal(capture.lines.length, 2);
});
