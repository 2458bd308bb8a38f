#include "service.hpp"

#include "log.hpp"
#include "service_notify.hpp"

#include <algorithm>

namespace chronus::rec {

ServiceMonitor::ServiceMonitor(const Capture &capture, std::chrono::milliseconds stallLimit)
    : capture_(capture), lastCycles_(capture.cycles()), lastAdvance_(Clock::now())
{
    // Far above any JACK period (8192 frames at 22.05 kHz is 0.37 s), far below WatchdogSec.
    const auto period = std::chrono::duration<double>(double(capture.periodFrames()) /
                                                      std::max<double>(capture.sampleRate(), 1.0));
    stallLimit_ = std::max<Clock::duration>(stallLimit, std::chrono::duration_cast<Clock::duration>(period * 8));
}

void ServiceMonitor::tick()
{
    const auto now = Clock::now();
    const std::uint64_t cycles = capture_.cycles();
    // Freewheeling runs cycles off the clock, and starting or stopping it may pause them:
    // not a stall.
    if (cycles != lastCycles_ || capture_.freewheeling()) {
        lastCycles_ = cycles;
        lastAdvance_ = now;
        if (stalled_) {
            stalled_ = false;
            log::info("the JACK process callback runs again; feeding the watchdog again");
            service::status("JACK runs the recorder again");
        }
    } else if (!stalled_ && now - lastAdvance_ > stallLimit_) {
        stalled_ = true;
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - lastAdvance_).count();
        log::warn("the JACK process callback has not run for ", ms, " ms; no longer feeding the watchdog");
        service::status(log::cat("audio stalled: JACK has not run the recorder for ", ms, " ms"));
    }
    // A frozen audio path must not be kept alive by a healthy control loop.
    if (!stalled_)
        service::watchdogTick();
}

} // namespace chronus::rec
