#include "service.hpp"

#include "log.hpp"
#include "service_notify.hpp"

#include <algorithm>

namespace chronus::supervisor {

namespace {
// A standby that does not verify within this long after the active slot plays does not
// hold up readiness: the service plays, without redundancy, and the status says so.
constexpr auto kReadyWithoutStandby = std::chrono::seconds(3);
constexpr auto kStatusEvery = std::chrono::milliseconds(50);
} // namespace

ServiceMonitor::ServiceMonitor(const OutputStage &output, const SlotManager &slots, std::string where)
    : output_(output), slots_(slots), where_(std::move(where)),
      lastCycles_(output.counters().cycles.load(std::memory_order_relaxed)), lastAdvance_(Clock::now())
{
    // Far above any JACK period (8192 frames at 22.05 kHz is 0.37 s), far below WatchdogSec.
    const auto period = std::chrono::duration<double>(output.periodFrames() / std::max(output.sampleRate(), 1.0));
    stallLimit_ = std::max<Clock::duration>(std::chrono::seconds(1),
                                            std::chrono::duration_cast<Clock::duration>(period * 8));
}

void ServiceMonitor::tick(bool serving)
{
    const auto now = Clock::now();
    const std::uint64_t cycles = output_.counters().cycles.load(std::memory_order_relaxed);
    if (cycles != lastCycles_) {
        lastCycles_ = cycles;
        lastAdvance_ = now;
        if (stalled_) {
            stalled_ = false;
            log::info("the JACK process callback runs again; feeding the watchdog again");
        }
    } else if (!stalled_ && now - lastAdvance_ > stallLimit_) {
        stalled_ = true;
        log::warn("the JACK process callback has not run for ",
                  std::chrono::duration_cast<std::chrono::milliseconds>(now - lastAdvance_).count(),
                  " ms; no longer feeding the watchdog");
    }
    // A wedged audio path must not be kept alive by a healthy control loop.
    if (!stalled_)
        service::watchdogTick();

    const bool playing = serving && output_.activeSlot() >= 0;
    if (playing && !playing_)
        playingSince_ = now;
    playing_ = playing;
    if (!ready_ && playing && !stalled_ && (slots_.redundant() || now - playingSince_ >= kReadyWithoutStandby)) {
        ready_ = true;
        service::ready();
        statusCheckedAt_ = {}; // say at once why it is ready
    }

    if (now - statusCheckedAt_ >= kStatusEvery) {
        statusCheckedAt_ = now;
        if (std::string text = describe(serving); text != status_) {
            status_ = std::move(text);
            service::status(status_);
        }
    }
}

void ServiceMonitor::stopping()
{
    service::status("stopping");
    service::stopping();
}

std::string ServiceMonitor::describe(bool serving) const
{
    if (stalled_)
        return "audio stalled: JACK does not run the process callback; " + where_;
    if (!serving)
        return "starting workers; " + where_;
    if (slots_.redundant())
        return "redundant, 2 workers; " + where_;
    const int active = output_.activeSlot();
    std::string text = active >= 0 ? log::cat("1 worker (slot ", active, " active)") : std::string("no worker playing");
    for (std::uint32_t s = 0; s < shm::kSlots; ++s)
        if (static_cast<int>(s) != active)
            text += log::cat(", slot ", s, " ", slots_.stateName(s));
    return text + "; " + where_;
}

} // namespace chronus::supervisor
