#include "common/service_notify.hpp"

#include "common/log.hpp"

#include <algorithm>

#ifdef CHRONUS_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace chronus::service {

namespace {
#ifdef CHRONUS_HAVE_SYSTEMD
void notify(const std::string &state) { sd_notify(0, state.c_str()); }
#else
void notify(const std::string &) {}
#endif

struct Watchdog {
    bool checked = false;
    std::chrono::microseconds interval{0};
    std::chrono::steady_clock::time_point last{};
};
Watchdog &watchdog()
{
    static Watchdog w;
    if (!w.checked) {
        w.checked = true;
#ifdef CHRONUS_HAVE_SYSTEMD
        // Also checks WATCHDOG_PID, so a child that inherited the environment stays quiet.
        std::uint64_t usec = 0;
        if (sd_watchdog_enabled(0, &usec) > 0)
            w.interval = std::chrono::microseconds(usec);
#endif
    }
    return w;
}
} // namespace

void ready() { notify("READY=1"); }
void stopping() { notify("STOPPING=1"); }
void status(const std::string &text) { notify("STATUS=" + text); }

std::chrono::microseconds watchdogInterval() { return watchdog().interval; }

void watchdogTick()
{
    Watchdog &w = watchdog();
    if (w.interval.count() == 0)
        return;
    const auto now = std::chrono::steady_clock::now();
    if (now - w.last < w.interval / 2)
        return;
    w.last = now;
    notify("WATCHDOG=1");
}

AudioWatchdog::AudioWatchdog(std::uint64_t cycles, double periodSeconds, Clock::duration minLimit, std::string who)
    : who_(std::move(who)), lastCycles_(cycles), lastAdvance_(Clock::now())
{
    // Far above any JACK period (8192 frames at 22.05 kHz is 0.37 s), far below WatchdogSec.
    const auto eightPeriods = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(8 * periodSeconds));
    limit_ = std::max(minLimit, eightPeriods);
}

bool AudioWatchdog::tick(std::uint64_t cycles, bool exempt)
{
    const auto now = Clock::now();
    bool changed = false;
    if (cycles != lastCycles_ || exempt) {
        lastCycles_ = cycles;
        lastAdvance_ = now;
        if (stalled_) {
            stalled_ = false;
            changed = true;
            log::info("the JACK process callback runs again; feeding the watchdog again");
        }
    } else if (!stalled_ && now - lastAdvance_ > limit_) {
        stalled_ = changed = true;
        stalledFor_ = std::chrono::duration_cast<std::chrono::milliseconds>(now - lastAdvance_);
        log::warn("JACK has not run ", who_, "'s process callback for ", stalledFor_.count(),
                  " ms; no longer feeding the watchdog");
    }
    if (!stalled_)
        watchdogTick();
    return changed;
}

} // namespace chronus::service
