// node --test console/web/test/: exact money formatting (no browser; Node's Intl formats string
// input exactly as Chromium does).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {minorOf, minorToDecimal, exponentOf, formatMoney, signOf, ratio, maxMinor} from '../src/money.js';

test('minorOf treats a missing amount as 0', () => {
  assert.equal(minorOf({currency: 'EUR'}), '0');
  assert.equal(minorOf(undefined), '0');
  assert.equal(minorOf({unitsMinor: '-0005'}), '-5');
  assert.throws(() => minorOf({unitsMinor: '1.5'}));
});

test('minorToDecimal is exact at any size', () => {
  assert.equal(minorToDecimal('364800000', 2), '3648000.00');
  assert.equal(minorToDecimal('5', 2), '0.05');
  assert.equal(minorToDecimal('-5', 2), '-0.05');
  assert.equal(minorToDecimal('0', 2), '0.00');
  assert.equal(minorToDecimal('-123456', 0), '-123456');
  assert.equal(minorToDecimal('1000000000000000', 2), '10000000000000.00');
  assert.equal(minorToDecimal('9223372036854775807', 2), '92233720368547758.07');
});

test('exponents come from Intl', () => {
  assert.equal(exponentOf('EUR'), 2);
  assert.equal(exponentOf('JPY'), 0);
  assert.equal(exponentOf('KWD'), 3);
});

test('formatMoney', () => {
  assert.equal(formatMoney({unitsMinor: '364800000', currency: 'EUR'}, 'en-US'), '€3,648,000.00');
  assert.equal(formatMoney({currency: 'EUR'}, 'en-US'), '€0.00');
  assert.equal(formatMoney({unitsMinor: '-135200000', currency: 'EUR'}, 'en-US'), '-€1,352,000.00');
  assert.equal(formatMoney({unitsMinor: '12345', currency: 'JPY'}, 'en-US'), '¥12,345');
  assert.equal(formatMoney({unitsMinor: '364800000', currency: 'EUR'}, 'de-DE'), '3.648.000,00\u00a0€');
  // Beyond 2^53 a Number would round; the string path keeps every digit.
  assert.equal(formatMoney({unitsMinor: '900719925474099317', currency: 'USD'}, 'en-US'),
    '$9,007,199,254,740,993.17');
  assert.equal(formatMoney(undefined, 'en-US', 'EUR'), '€0.00');
});

test('sign, ratio, max', () => {
  assert.equal(signOf({unitsMinor: '-1'}), -1);
  assert.equal(signOf({}), 0);
  assert.equal(ratio('50', '200'), 0.25);
  assert.equal(ratio('0', '0'), 0);
  assert.equal(ratio('300', '200'), 1);
  assert.equal(maxMinor(['5', '17', '-3']), '17');
  assert.equal(maxMinor([]), '0');
});
