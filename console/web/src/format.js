// Formatting of the API's non-money values for people: Date{year,month,day}, *_micros instants,
// basis points, enum names; and the fiscal calendar arithmetic the pages need (calendar quarters,
// the forecast's default --quarter_start_month=1; weeks Monday-Sunday, docs/API.md §3).

const dateFormatters = new Map();

function dateFormatter(locale, withTime) {
  const key = locale + (withTime ? '|t' : '');
  let f = dateFormatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, withTime
      ? {dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC'}
      : {dateStyle: 'medium', timeZone: 'UTC'});
    dateFormatters.set(key, f);
  }
  return f;
}

// Date{year,month,day} -> "2026-12-31" ("" when unset).
export function isoDate(d) {
  if (!d || !d.year) return '';
  const p = (n, w) => String(n || 0).padStart(w, '0');
  return p(d.year, 4) + '-' + p(d.month, 2) + '-' + p(d.day, 2);
}

// Date{year,month,day} -> "Dec 31, 2026" in `locale` ("" when unset). The date is a business
// date, not an instant: formatted in UTC so no zone shifts the day.
export function formatDate(d, locale) {
  if (!d || !d.year) return '';
  return dateFormatter(locale, false).format(Date.UTC(d.year, (d.month || 1) - 1, d.day || 1));
}

// An int64 Unix-microseconds string -> "Dec 7, 2026, 8:15 AM" (UTC) or "" for 0/absent.
export function formatMicros(micros, locale) {
  if (!micros || micros === '0') return '';
  const ms = Number(BigInt(String(micros)) / 1000n);
  return dateFormatter(locale, true).format(ms) + ' UTC';
}

// Basis points (number or int64 string) -> "72.96%" (two decimals at most, exact: built from the
// integer, not by float division).
export function formatBp(bp, locale) {
  const v = BigInt(String(bp || 0));
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const whole = abs / 100n;
  const frac = (abs % 100n).toString().padStart(2, '0');
  const nf = new Intl.NumberFormat(locale, {minimumFractionDigits: 1, maximumFractionDigits: 2});
  return nf.format((neg ? '-' : '') + whole.toString() + '.' + frac) + '%';
}

// "WARNING_CODE_NO_COACH" -> "No coach" (the enum prefix named by `prefix` dropped).
export function enumLabel(name, prefix) {
  if (!name) return '';
  let s = String(name);
  if (prefix && s.startsWith(prefix)) s = s.slice(prefix.length);
  s = s.replace(/_/g, ' ').toLowerCase();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// The calendar quarter of a JS Date (UTC): {fy, fq}.
export function quarterOf(date) {
  return {fy: date.getUTCFullYear(), fq: Math.floor(date.getUTCMonth() / 3) + 1};
}

// The quarter `delta` quarters after {fy, fq}.
export function addQuarters({fy, fq}, delta) {
  const i = fy * 4 + (fq - 1) + delta;
  return {fy: Math.floor(i / 4), fq: (i % 4) + 1};
}

// The week of quarter {fy, fq} that `date` falls in (docs: week 1 holds the quarter's first day;
// week k+1 starts on the Monday after week k; the last week absorbs the rest), clamped to
// 1..weeks: a past quarter answers its last week, a future one week 1.
export function weekOf({fy, fq}, date, weeks = 13) {
  const start = Date.UTC(fy, (fq - 1) * 3, 1);
  const end = Date.UTC(fy, fq * 3, 1);  // exclusive
  const day = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  if (day < start) return 1;
  if (day >= end) return weeks;
  const DAY = 86400000;
  const startWeekday = (new Date(start).getUTCDay() + 6) % 7;  // 0 = Monday
  const firstMonday = start + (7 - startWeekday) * DAY;  // the first Monday after the start
  const week = day < firstMonday ? 1 : 2 + Math.floor((day - firstMonday) / (7 * DAY));
  return Math.min(Math.max(week, 1), weeks);
}

// Weeks per quarter from GetProgress's pace_bp (10000 / weeks, floored): 769 -> 13. 13 when 0.
export function weeksFromPace(paceBp) {
  const p = Number(paceBp || 0);
  if (p <= 0) return 13;
  for (let w = 1; w <= 14; w++) if (Math.floor(10000 / w) === p) return w;
  return Math.max(1, Math.min(14, Math.round(10000 / p)));
}
