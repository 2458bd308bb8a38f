// What the service manager (systemd, Type=notify) hears from chronus-supervisor: READY=1
// once OSC is served and the workers play (both verified, or the active one for a while),
// STATUS= whenever the slots' picture changes, and WATCHDOG=1 only while the audio
// thread's cycle counter advances, so a wedged supervisor is restarted. Control thread only.
#pragma once

#include "supervisor/output_stage.hpp"
#include "common/service_notify.hpp"
#include "supervisor/slot_manager.hpp"

#include <chrono>
#include <string>

namespace chronus::supervisor {

class ServiceMonitor {
public:
    using Clock = std::chrono::steady_clock;
    // `where` ends every status line (e.g. "JACK client chronus, OSC port 5005").
    ServiceMonitor(const OutputStage &output, const SlotManager &slots, std::string where);

    // Call on every control-loop pass and while a command handler waits. `serving`: OSC
    // commands are being handled. Sends READY=1 once, status on change, the watchdog when due.
    void tick(bool serving);
    // STATUS=stopping and STOPPING=1.
    void stopping();

    bool readySent() const noexcept { return ready_; }
    // True while the JACK process callback has not run for longer than the stall limit.
    bool audioStalled() const noexcept { return watchdog_.stalled(); }

private:
    std::string describe(bool serving) const;

    const OutputStage &output_;
    const SlotManager &slots_;
    std::string where_;
    service::AudioWatchdog watchdog_;
    bool ready_ = false;
    Clock::time_point playingSince_{};
    bool playing_ = false;
    std::string status_;
    Clock::time_point statusCheckedAt_{};
};

} // namespace chronus::supervisor
