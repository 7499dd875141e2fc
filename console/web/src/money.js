// Exact money formatting (CONSOLE_CONTRACT.md "Formatting"): a Money's unitsMinor (an int64 as a
// decimal string in proto3 JSON, absent when 0) is never turned into a JS Number for arithmetic.
// The decimal string "<units>.<fraction>" is built from the digits with the currency's exponent
// (Intl's maximumFractionDigits for it) and handed to Intl.NumberFormat#format as a string, which
// formats it exactly (Intl.NumberFormat v3).

const formatters = new Map();

function formatter(locale, currency, extra = '') {
  const key = locale + '|' + currency + '|' + extra;
  let nf = formatters.get(key);
  if (!nf) {
    const opts = currency ? {style: 'currency', currency} : {minimumFractionDigits: 2, maximumFractionDigits: 2};
    if (extra === 'compact') Object.assign(opts, {notation: 'compact', maximumFractionDigits: 1, minimumFractionDigits: 0});
    nf = new Intl.NumberFormat(locale, opts);
    formatters.set(key, nf);
  }
  return nf;
}

// The minor units of a Money as a canonical integer string ("0" when absent). Throws on a value
// that is not an integer.
export function minorOf(money) {
  const raw = money && money.unitsMinor !== undefined ? money.unitsMinor : '0';
  return BigInt(String(raw)).toString();
}

// The number of fraction digits of `currency` (2 for EUR, 0 for JPY); 2 without a currency.
export function exponentOf(currency, locale = 'en-US') {
  if (!currency) return 2;
  return formatter(locale, currency).resolvedOptions().maximumFractionDigits;
}

// "-12345" with exponent 2 -> "-123.45"; exponent 0 -> "-12345". Exact, any length.
export function minorToDecimal(minor, exponent) {
  let s = BigInt(String(minor)).toString();
  const neg = s.startsWith('-');
  if (neg) s = s.slice(1);
  if (exponent > 0) {
    s = s.padStart(exponent + 1, '0');
    s = s.slice(0, s.length - exponent) + '.' + s.slice(s.length - exponent);
  }
  return (neg ? '-' : '') + s;
}

// A Money formatted in `locale`: {unitsMinor:"364800000", currency:"EUR"} -> "€3,648,000.00".
// `fallbackCurrency` is used when the Money has none (e.g. a missing message).
export function formatMoney(money, locale, fallbackCurrency = '') {
  const currency = (money && money.currency) || fallbackCurrency;
  const decimal = minorToDecimal(minorOf(money), exponentOf(currency, locale));
  return formatter(locale, currency).format(decimal);
}

// A short form for chart axes and labels ("€3.6M"); display only.
export function formatMoneyCompact(money, locale, fallbackCurrency = '') {
  const currency = (money && money.currency) || fallbackCurrency;
  const decimal = minorToDecimal(minorOf(money), exponentOf(currency, locale));
  return formatter(locale, currency, 'compact').format(decimal);
}

// The sign of a Money: -1, 0 or 1.
export function signOf(money) {
  const v = BigInt(minorOf(money));
  return v < 0n ? -1 : v > 0n ? 1 : 0;
}

// value / max as a Number in [0, 1] for drawing (exact integers until the final division, so
// amounts beyond 2^53 keep their proportions). 0 when max <= 0.
export function ratio(valueMinor, maxMinor) {
  const v = BigInt(String(valueMinor));
  const m = BigInt(String(maxMinor));
  if (m <= 0n || v <= 0n) return 0;
  if (v >= m) return 1;
  return Number((v * 1000000n) / m) / 1000000;
}

// The largest of some integer strings, as a string ("0" for none).
export function maxMinor(values) {
  let best = 0n;
  for (const x of values) {
    const v = BigInt(String(x));
    if (v > best) best = v;
  }
  return best.toString();
}
