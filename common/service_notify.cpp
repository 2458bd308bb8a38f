#include "service_notify.hpp"

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

} // namespace chronus::service
