#include "supervisor/service_monitor.hpp"

#include "common/log.hpp"
#include "common/service_notify.hpp"

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
      watchdog_(output.counters().cycles.load(std::memory_order_relaxed),
                output.periodFrames() / std::max(output.sampleRate(), 1.0), std::chrono::seconds(1), "the supervisor")
{
}

void ServiceMonitor::tick(bool serving)
{
    const auto now = Clock::now();
    watchdog_.tick(output_.counters().cycles.load(std::memory_order_relaxed));

    const bool playing = serving && output_.activeSlot() >= 0;
    if (playing && !playing_)
        playingSince_ = now;
    playing_ = playing;
    if (!ready_ && playing && !watchdog_.stalled() && (slots_.redundant() || now - playingSince_ >= kReadyWithoutStandby)) {
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
    if (watchdog_.stalled())
        return "audio stalled: JACK does not run the process callback; " + where_;
    if (!serving)
        return "starting workers; " + where_;
    if (slots_.redundant())
        return "redundant, 2 workers; " + where_;
    const int active = output_.activeSlot();
    std::string text = active >= 0 ? log::cat("1 worker (slot ", active, " active)") : std::string("no worker playing");
    for (std::uint32_t s = 0; s < shm::kSlots; ++s)
        if (static_cast<int>(s) != active)
            text += log::cat(", slot ", s, " ", slots_.statusWord(s));
    return text + "; " + where_;
}

} // namespace chronus::supervisor
