#include "recorder/capture_watchdog.hpp"

#include "common/log.hpp"

#include <algorithm>

namespace chronus::rec {

CaptureWatchdog::CaptureWatchdog(const Capture &capture, std::chrono::milliseconds stallLimit)
    : capture_(capture),
      watchdog_(capture.cycles(), double(capture.periodFrames()) / std::max<double>(capture.sampleRate(), 1.0),
                stallLimit, "the recorder")
{
}

void CaptureWatchdog::tick()
{
    // Freewheeling runs cycles off the clock, and starting or stopping it may pause them:
    // not a stall.
    if (!watchdog_.tick(capture_.cycles(), capture_.freewheeling()))
        return;
    service::status(watchdog_.stalled()
                        ? log::cat("audio stalled: JACK has not run the recorder for ", watchdog_.stalledFor().count(),
                                   " ms")
                        : std::string("JACK runs the recorder again"));
}

} // namespace chronus::rec
