// Tells a service manager how the program is doing (systemd's sd_notify protocol):
// readiness, shutdown, status text and the watchdog. Without systemd support compiled in
// (meson feature `systemd`), or when not started by a manager (no $NOTIFY_SOCKET), every
// call does nothing. Control thread only; never from the audio thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace chronus::service {

// "READY=1": the program serves requests (e.g. JACK client active and OSC listening).
void ready();
// "STOPPING=1": shutdown has begun.
void stopping();
// "STATUS=<text>": one line shown by `systemctl status`.
void status(const std::string &text);
// Call from the control loop as often as convenient: sends "WATCHDOG=1" once half the
// manager's watchdog interval has passed since the last one. Cheap when nothing is due.
void watchdogTick();
// The watchdog interval the manager asked for, or zero when there is none.
std::chrono::microseconds watchdogInterval();

// Feeds the watchdog only while an audio thread runs: given that thread's cycle counter on
// every control-loop pass, it counts the thread as stalled once the counter has not moved
// for the limit (at least 8 periods), logs the change, and withholds WATCHDOG=1 meanwhile,
// so a wedged audio path is not kept alive by a healthy control loop. Control thread only.
class AudioWatchdog {
public:
    using Clock = std::chrono::steady_clock;
    // `who` names the program in the messages ("the supervisor").
    AudioWatchdog(std::uint64_t cycles, double periodSeconds, Clock::duration minLimit, std::string who);
    // `exempt`: cycles may pause without a fault (JACK freewheeling). True when the stall
    // state changed on this call.
    bool tick(std::uint64_t cycles, bool exempt = false);
    bool stalled() const noexcept { return stalled_; }
    // How long the counter had not moved when the stall was noticed.
    std::chrono::milliseconds stalledFor() const noexcept { return stalledFor_; }

private:
    std::string who_;
    Clock::duration limit_;
    std::uint64_t lastCycles_;
    Clock::time_point lastAdvance_;
    bool stalled_ = false;
    std::chrono::milliseconds stalledFor_{0};
};

} // namespace chronus::service
