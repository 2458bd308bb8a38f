// What the service manager hears from chronus-recorder while it runs: WATCHDOG=1 only
// while JACK runs the process callback (or freewheels), so a frozen server or a wedged
// JACK thread ends in a watchdog restart instead of a healthy-looking control loop that
// records nothing; STATUS= when that changes. Control thread only.
#pragma once

#include "recorder/capture.hpp"
#include "common/service_notify.hpp"

#include <chrono>

namespace chronus::rec {

class CaptureWatchdog {
public:
    using Clock = std::chrono::steady_clock;
    // The callback counts as stalled after `stallLimit` without a cycle (at least 8 periods).
    explicit CaptureWatchdog(const Capture &capture, std::chrono::milliseconds stallLimit = std::chrono::seconds(2));

    // Call on every control-loop pass: feeds the watchdog when due, unless stalled.
    void tick();
    // True while JACK has not run the process callback for longer than the limit.
    bool stalled() const noexcept { return watchdog_.stalled(); }

private:
    const Capture &capture_;
    service::AudioWatchdog watchdog_;
};

} // namespace chronus::rec
