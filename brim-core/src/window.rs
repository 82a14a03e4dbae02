//! Send windows: the hours of the week an e-mail may leave, in the recipient's own time zone.
//!
//! A window is civil time (`Mon-Fri 09:00-17:00`): it opens at 09:00 on the recipient's wall
//! clock, whatever the UTC offset is that day, so it is right across daylight-saving changes.
//! Pure arithmetic: the caller passes "now"; the zone database is compiled in (jiff's bundled
//! tzdb), so the answer is the same on every machine and in the browser.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;

/// Minutes in a day.
const DAY_MINUTES: u16 = 24 * 60;

/// Looks up an IANA time zone (`Europe/Berlin`, `UTC`) in the bundled zone database.
///
/// ```
/// assert!(brim_core::time_zone("America/New_York").is_ok());
/// let err = brim_core::time_zone("Mars/Olympus").unwrap_err();
/// assert_eq!(err.to_string(), "unknown time zone \"Mars/Olympus\" (expected an IANA name like \"Europe/Berlin\")");
/// ```
pub fn time_zone(name: &str) -> Result<TimeZone, WindowError> {
    if name.is_empty() || name.len() > 64 {
        return Err(WindowError::UnknownZone(name.to_string()));
    }
    jiff::tz::db()
        .get(name)
        .map_err(|_| WindowError::UnknownZone(name.to_string()))
}

/// A send window that could not be read, or an unknown time zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// The text is not a window.
    #[error(
        "send window {text:?}: {problem} (expected e.g. \"Mon-Fri 09:00-17:00\", \"Tue,Thu 10:00-11:00\" or \"always\")"
    )]
    Syntax {
        /// The text as given.
        text: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The zone database has no such zone.
    #[error("unknown time zone {0:?} (expected an IANA name like \"Europe/Berlin\")")]
    UnknownZone(String),
}

/// The hours of the week an e-mail may be sent, in the recipient's local time.
///
/// ```
/// use brim_core::{SendWindow, time_zone};
/// let window: SendWindow = "Mon-Fri 09:00-17:00".parse().unwrap();
/// let berlin = time_zone("Europe/Berlin").unwrap();
/// // Saturday 2026-03-28 12:00 UTC is closed; the window next opens Monday 09:00 in Berlin,
/// // which is 07:00 UTC because summer time began on Sunday.
/// let saturday = 1_774_699_200_000; // 2026-03-28T12:00:00Z
/// assert!(!window.is_open(saturday, &berlin));
/// assert_eq!(window.next_open(saturday, &berlin), 1_774_854_000_000); // 2026-03-30T07:00:00Z
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendWindow {
    /// Any time.
    Always,
    /// On `days`, from `start` (inclusive) to `end` (exclusive), local time.
    Weekly {
        /// Open days, Monday first.
        days: [bool; 7],
        /// Opening time, minutes after local midnight.
        start: u16,
        /// Closing time, minutes after local midnight (up to 1440 = midnight).
        end: u16,
    },
}

impl Default for SendWindow {
    /// Monday to Friday, 09:00 to 17:00.
    fn default() -> Self {
        SendWindow::Weekly {
            days: [true, true, true, true, true, false, false],
            start: 9 * 60,
            end: 17 * 60,
        }
    }
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn day_index(name: &str) -> Option<usize> {
    let lower = name.trim().to_ascii_lowercase();
    let short = lower.get(..3)?;
    let index = DAY_NAMES
        .iter()
        .position(|d| d.eq_ignore_ascii_case(short))?;
    // Accept "Mon", "Monday", "mon"; not "Monkey".
    let full = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ][index];
    (lower.len() == 3 || lower == full).then_some(index)
}

fn parse_time(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

impl FromStr for SendWindow {
    type Err = WindowError;

    /// `always`, or days and hours: `Mon-Fri 09:00-17:00`, `Tue,Thu 10:00-11:00`,
    /// `Mon-Wed,Fri 8:30-12:00`, `daily 09:00-17:00`.
    fn from_str(text: &str) -> Result<Self, WindowError> {
        let err = |problem: &str| WindowError::Syntax {
            text: text.to_string(),
            problem: problem.to_string(),
        };
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("always") {
            return Ok(SendWindow::Always);
        }
        let (days_text, hours_text) = trimmed
            .rsplit_once(char::is_whitespace)
            .ok_or_else(|| err("expected days, a space, then hours"))?;
        let mut days = [false; 7];
        let days_text = days_text.trim();
        if days_text.eq_ignore_ascii_case("daily") || days_text.eq_ignore_ascii_case("every day") {
            days = [true; 7];
        } else {
            for part in days_text.split(',') {
                match part.split_once('-') {
                    Some((from, to)) => {
                        let from = day_index(from)
                            .ok_or_else(|| err(&format!("unknown day {:?}", from.trim())))?;
                        let to = day_index(to)
                            .ok_or_else(|| err(&format!("unknown day {:?}", to.trim())))?;
                        // A range may wrap the week end: Sat-Mon.
                        let mut d = from;
                        loop {
                            days[d] = true;
                            if d == to {
                                break;
                            }
                            d = (d + 1) % 7;
                        }
                    }
                    None => {
                        let d = day_index(part)
                            .ok_or_else(|| err(&format!("unknown day {:?}", part.trim())))?;
                        days[d] = true;
                    }
                }
            }
        }
        let (start, end) = hours_text
            .split_once('-')
            .ok_or_else(|| err("expected hours like 09:00-17:00"))?;
        let start =
            parse_time(start).ok_or_else(|| err(&format!("bad time {:?}", start.trim())))?;
        let end = parse_time(end).ok_or_else(|| err(&format!("bad time {:?}", end.trim())))?;
        if start >= end || start >= DAY_MINUTES {
            return Err(err("the window must open before it closes on the same day"));
        }
        Ok(SendWindow::Weekly { days, start, end })
    }
}

impl fmt::Display for SendWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendWindow::Always => f.write_str("always"),
            SendWindow::Weekly { days, start, end } => {
                let mut first = true;
                let mut d = 0;
                while d < 7 {
                    if !days[d] {
                        d += 1;
                        continue;
                    }
                    let run_start = d;
                    while d + 1 < 7 && days[d + 1] {
                        d += 1;
                    }
                    if !first {
                        f.write_str(",")?;
                    }
                    first = false;
                    if d == run_start {
                        f.write_str(DAY_NAMES[d])?;
                    } else {
                        write!(f, "{}-{}", DAY_NAMES[run_start], DAY_NAMES[d])?;
                    }
                    d += 1;
                }
                if first {
                    f.write_str("never")?;
                }
                write!(
                    f,
                    " {:02}:{:02}-{:02}:{:02}",
                    start / 60,
                    start % 60,
                    end / 60,
                    end % 60
                )
            }
        }
    }
}

fn local(at_ms: i64, tz: &TimeZone) -> DateTime {
    let ts = Timestamp::from_millisecond(at_ms).unwrap_or(if at_ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    tz.to_datetime(ts)
}

fn weekday_index(w: Weekday) -> usize {
    usize::from(w.to_monday_zero_offset().unsigned_abs())
}

impl SendWindow {
    /// Whether an e-mail may leave at `at_ms` (Unix ms) for a recipient in `tz`.
    pub fn is_open(&self, at_ms: i64, tz: &TimeZone) -> bool {
        match self {
            SendWindow::Always => true,
            SendWindow::Weekly { days, start, end } => {
                let local = local(at_ms, tz);
                let minute = u16::try_from(local.hour()).unwrap_or(0) * 60
                    + u16::try_from(local.minute()).unwrap_or(0);
                days[weekday_index(local.weekday())] && (*start..*end).contains(&minute)
            }
        }
    }

    /// The first instant at or after `at_ms` (Unix ms) when the window is open for a recipient
    /// in `tz`: `at_ms` itself when it is open now. A window that opens inside a
    /// daylight-saving gap (02:30 on the night clocks skip to 03:00) opens at the first valid
    /// local time after it. A window with no open day never opens: `i64::MAX`.
    pub fn next_open(&self, at_ms: i64, tz: &TimeZone) -> i64 {
        if self.is_open(at_ms, tz) {
            return at_ms;
        }
        let SendWindow::Weekly { days, start, .. } = self else {
            return at_ms;
        };
        let today: Date = local(at_ms, tz).date();
        let opens_at = Time::new(
            i8::try_from(start / 60).unwrap_or(0),
            i8::try_from(start % 60).unwrap_or(0),
            0,
            0,
        )
        .unwrap_or(Time::midnight());
        // Eight days cover a whole week from any starting point; a few more cover zones whose
        // calendar skipped a day (Pacific/Apia, 2011).
        let mut date = today;
        for _ in 0..10 {
            if days[weekday_index(date.weekday())] {
                let candidate = tz
                    .to_ambiguous_timestamp(DateTime::from_parts(date, opens_at))
                    .compatible()
                    .map(|t| t.as_millisecond());
                if let Ok(candidate) = candidate
                    && candidate > at_ms
                    && self.is_open(candidate, tz)
                {
                    return self.first_open_minute(candidate, at_ms, tz);
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        i64::MAX
    }

    /// `open` (an open instant after `at_ms`), moved back to the first minute of the opening it
    /// belongs to. An opening time the clocks skip (a daylight-saving gap, e.g. 02:01 on the
    /// night they jump from 02:00 to 02:30) resolves to after the gap (02:31), while the window
    /// is already open from the jump itself (02:30).
    fn first_open_minute(&self, mut open: i64, at_ms: i64, tz: &TimeZone) -> i64 {
        // A gap is at most a day (Pacific/Apia skipped 30 December 2011).
        for _ in 0..1440 {
            let earlier = open - 60_000;
            if earlier <= at_ms || !self.is_open(earlier, tz) {
                break;
            }
            open = earlier;
        }
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn parses_and_displays() {
        for (text, shown) in [
            ("Mon-Fri 09:00-17:00", "Mon-Fri 09:00-17:00"),
            ("tue,thu 10:00-11:00", "Tue,Thu 10:00-11:00"),
            ("Monday-Wednesday,Fri 8:30-12:00", "Mon-Wed,Fri 08:30-12:00"),
            ("daily 00:00-24:00", "Mon-Sun 00:00-24:00"),
            ("Sat-Mon 10:00-12:00", "Mon,Sat-Sun 10:00-12:00"),
            ("always", "always"),
        ] {
            let w: SendWindow = text.parse().unwrap();
            assert_eq!(w.to_string(), shown, "{text}");
            assert_eq!(w.to_string().parse::<SendWindow>().unwrap(), w);
        }
        for bad in [
            "",
            "Mon-Fri",
            "Mon-Fri 17:00-09:00",
            "Mon-Fri 9-17",
            "Funday 09:00-10:00",
            "Mon-Fri 25:00-26:00",
            "Monkey 09:00-10:00",
        ] {
            let err = bad.parse::<SendWindow>().unwrap_err().to_string();
            assert!(err.contains("expected e.g."), "{bad}: {err}");
        }
    }

    #[test]
    fn berlin_across_both_dst_changes() {
        let w = SendWindow::default();
        let tz = time_zone("Europe/Berlin").unwrap();
        // Friday 2026-03-27 18:00 local (17:00Z, CET) → Monday 09:00 CEST = 07:00Z.
        assert_eq!(
            w.next_open(ms("2026-03-27T17:00:00Z"), &tz),
            ms("2026-03-30T07:00:00Z")
        );
        // Friday 2026-10-23 17:30 CEST → Monday 2026-10-26 09:00 CET = 08:00Z.
        assert_eq!(
            w.next_open(ms("2026-10-23T15:30:00Z"), &tz),
            ms("2026-10-26T08:00:00Z")
        );
        // 08:30Z on Monday 2026-10-26 is 09:30 local: open.
        assert!(w.is_open(ms("2026-10-26T08:30:00Z"), &tz));
        // 07:30Z that day is 08:30 local: closed, opens at 08:00Z.
        assert_eq!(
            w.next_open(ms("2026-10-26T07:30:00Z"), &tz),
            ms("2026-10-26T08:00:00Z")
        );
    }

    #[test]
    fn new_york_and_kolkata() {
        let w: SendWindow = "Tue-Thu 10:00-11:00".parse().unwrap();
        let ny = time_zone("America/New_York").unwrap();
        // US summer time began Sunday 2026-03-08. Monday 2026-03-09 noon EDT → Tuesday 10:00
        // EDT = 14:00Z (it was 15:00Z the week before).
        assert_eq!(
            w.next_open(ms("2026-03-09T16:00:00Z"), &ny),
            ms("2026-03-10T14:00:00Z")
        );
        assert_eq!(
            w.next_open(ms("2026-03-02T16:00:00Z"), &ny),
            ms("2026-03-03T15:00:00Z")
        );
        // US winter time from Sunday 2026-11-01: Tuesday 11-03 10:00 EST = 15:00Z.
        assert_eq!(
            w.next_open(ms("2026-10-30T12:00:00Z"), &ny),
            ms("2026-11-03T15:00:00Z")
        );
        // Kolkata has no DST and a half-hour offset: 10:00 IST = 04:30Z.
        let kolkata = time_zone("Asia/Kolkata").unwrap();
        assert_eq!(
            w.next_open(ms("2026-03-29T12:00:00Z"), &kolkata),
            ms("2026-03-31T04:30:00Z")
        );
        assert!(w.is_open(ms("2026-03-31T05:29:00Z"), &kolkata));
        assert!(!w.is_open(ms("2026-03-31T05:30:00Z"), &kolkata));
    }

    #[test]
    fn a_window_inside_the_spring_gap_opens_after_it() {
        // 02:00-04:00 on Sunday 2026-03-29 in Berlin: 02:00 does not exist; it opens at 03:00
        // CEST = 01:00Z.
        let w: SendWindow = "Sun 02:00-04:00".parse().unwrap();
        let tz = time_zone("Europe/Berlin").unwrap();
        assert_eq!(
            w.next_open(ms("2026-03-28T12:00:00Z"), &tz),
            ms("2026-03-29T01:00:00Z")
        );
        let never = SendWindow::Weekly {
            days: [false; 7],
            start: 0,
            end: 60,
        };
        assert_eq!(never.next_open(0, &tz), i64::MAX);
        assert_eq!(SendWindow::Always.next_open(5, &tz), 5);
        // Extreme instants do not panic.
        let _ = w.next_open(i64::MAX, &tz);
        let _ = w.next_open(i64::MIN, &tz);
    }

    #[test]
    fn an_opening_time_the_clocks_skip_opens_at_the_jump() {
        // Lord Howe Island jumps from 02:00 to 02:30 on Sunday 2050-10-02 (+10:30 → +11:00).
        // "Sun 02:01-02:32": 02:01 does not exist; the window is open from the jump, 02:30
        // local = 15:30Z, not from 02:31 (where 02:01 lands when read across the gap).
        // Found by the property test `the_next_opening_is_open_and_nothing_earlier_is`.
        let w: SendWindow = "Sun 02:01-02:32".parse().unwrap();
        let tz = time_zone("Australia/Lord_Howe").unwrap();
        let next = w.next_open(ms("2050-09-29T17:23:00Z"), &tz);
        assert_eq!(next, ms("2050-10-01T15:30:00Z"));
        assert!(w.is_open(next, &tz) && !w.is_open(next - 60_000, &tz));
    }
}
