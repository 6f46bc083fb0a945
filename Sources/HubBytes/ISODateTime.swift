/// RFC 3339 / ISO-8601 date-times (`2026-12-02T17:00:00Z`, `2026-12-02T18:00:00.250+01:00`) as
/// epoch milliseconds, without Foundation. A time zone is required: a timer date without one would
/// fire at a different instant on every machine.
public enum ISODateTime {
    public static func milliseconds(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func digits(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        func char(_ at: Int, _ c: UInt8) -> Bool { at < b.count && b[at] == c }
        guard let year = digits(0, 4), char(4, 45), let month = digits(5, 2), char(7, 45), let day = digits(8, 2),
              b.count > 10, b[10] == 84 || b[10] == 116, let hour = digits(11, 2), char(13, 58), let minute = digits(14, 2),
              char(16, 58), let second = digits(17, 2) else { return nil }
        guard (1...12).contains(month), (1...daysIn(month, year)).contains(day), hour < 24, minute < 60, second < 60 else { return nil }
        var at = 19, fraction: Int64 = 0
        if char(at, 46) {
            at += 1
            var n = 0
            while at < b.count, b[at] >= 48, b[at] <= 57 {
                if n < 3 { fraction = fraction * 10 + Int64(b[at] - 48) }
                n += 1; at += 1
            }
            guard n > 0 else { return nil }
            if n < 3 { for _ in n..<3 { fraction *= 10 } }
        }
        var offsetMinutes: Int64 = 0
        if char(at, 90) || char(at, 122) {
            at += 1
        } else if char(at, 43) || char(at, 45) {
            let sign: Int64 = b[at] == 45 ? -1 : 1
            guard let oh = digits(at + 1, 2), char(at + 3, 58), let om = digits(at + 4, 2), oh < 24, om < 60 else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
            at += 6
        } else {
            return nil
        }
        guard at == b.count else { return nil }
        let days = daysFromCivil(year, month, day)
        return ((days * 24 + hour) * 60 + minute - offsetMinutes) * 60_000 + second * 1000 + fraction
    }

    static func daysIn(_ month: Int64, _ year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's days-from-civil).
    static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
