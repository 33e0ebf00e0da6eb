import Foundation

/// The one clock for durations and latencies: seconds on CLOCK_MONOTONIC (never jumps with
/// wall-clock changes).
public enum MonotonicClock {
    public static func seconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}

