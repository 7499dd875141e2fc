// node --test console/web/test/: the pure formatting and calendar helpers (no browser).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {isoDate, formatDate, formatBp, enumLabel, quarterOf, addQuarters, weekOf, weeksFromPace} from '../src/format.js';

test('dates', () => {
  assert.equal(isoDate({year: 2026, month: 3, day: 9}), '2026-03-09');
  assert.equal(isoDate(undefined), '');
  assert.equal(formatDate({year: 2026, month: 12, day: 31}, 'en-US'), 'Dec 31, 2026');
  assert.equal(formatDate({year: 2026, month: 12, day: 31}, 'de-DE'), '31.12.2026');
});

test('basis points are exact', () => {
  assert.equal(formatBp('7296', 'en-US'), '72.96%');
  assert.equal(formatBp(10000, 'en-US'), '100.0%');
  assert.equal(formatBp(undefined, 'en-US'), '0.0%');
  assert.equal(formatBp('-1499', 'en-US'), '-14.99%');
  assert.equal(formatBp('123456', 'de-DE'), '1.234,56%');
});

test('enum labels', () => {
  assert.equal(enumLabel('WARNING_CODE_NO_COACH', 'WARNING_CODE_'), 'No coach');
  assert.equal(enumLabel('', 'X_'), '');
});

test('quarters', () => {
  assert.deepEqual(quarterOf(new Date(Date.UTC(2026, 11, 7))), {fy: 2026, fq: 4});
  assert.deepEqual(addQuarters({fy: 2026, fq: 4}, 1), {fy: 2027, fq: 1});
  assert.deepEqual(addQuarters({fy: 2026, fq: 1}, -1), {fy: 2025, fq: 4});
  assert.deepEqual(addQuarters({fy: 2026, fq: 2}, -6), {fy: 2024, fq: 4});
});

test('weeks follow fiscal_calendar.h', () => {
  const q2 = {fy: 2026, fq: 2};  // Wed 04-01 .. Tue 06-30
  const d = (m, day) => new Date(Date.UTC(2026, m - 1, day));
  assert.equal(weekOf(q2, d(4, 1)), 1);
  assert.equal(weekOf(q2, d(4, 5)), 1);   // Sunday of the short week 1
  assert.equal(weekOf(q2, d(4, 6)), 2);   // Monday
  assert.equal(weekOf(q2, d(6, 21)), 12);
  assert.equal(weekOf(q2, d(6, 22)), 13);
  assert.equal(weekOf(q2, d(6, 30)), 13);  // week 14 days belong to 13
  assert.equal(weekOf(q2, d(7, 1)), 13);   // a past quarter: its last week
  assert.equal(weekOf(q2, d(3, 31)), 1);   // a future quarter: week 1
  const q2024 = {fy: 2024, fq: 2};  // Mon 2024-04-01: 13 full weeks
  assert.equal(weekOf(q2024, new Date(Date.UTC(2024, 3, 7))), 1);
  assert.equal(weekOf(q2024, new Date(Date.UTC(2024, 3, 8))), 2);
  assert.equal(weekOf({fy: 2026, fq: 4}, d(12, 7)), 11);  // Thu 10-01 start
});

test('weeks from pace', () => {
  assert.equal(weeksFromPace('769'), 13);
  assert.equal(weeksFromPace('714'), 14);
  assert.equal(weeksFromPace(undefined), 13);
});
