// Tells a service manager how the program is doing (systemd's sd_notify protocol):
// readiness, shutdown, status text and the watchdog. Without systemd support compiled in
// (meson feature `systemd`), or when not started by a manager (no $NOTIFY_SOCKET), every
// call does nothing. Control thread only; never from the audio thread.
#pragma once

#include <chrono>
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

} // namespace chronus::service
