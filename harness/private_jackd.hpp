// A private JACK server for one test or benchmark: "chronus-test-<pid>-<n>", dummy backend,
// 48 kHz, started by us, found through JACK_DEFAULT_SERVER, stopped by PID.
#pragma once

#include <filesystem>
#include <string>

#include <sys/types.h>

namespace chronus::harness {

class PrivateJackd {
public:
    // Starts jackd with its log in `dir`; true once a client can connect (up to 15 s on a
    // busy machine). Sets JACK_DEFAULT_SERVER for this process and its children.
    // CHRONUS_TEST_PERIOD overrides the period (for investigating JACK-skipped cycles).
    bool start(const std::filesystem::path &dir, int periodFrames = 256);
    // Why start() failed, for the assertion message.
    std::string failure() const;
    // Stops the server by PID and removes the semaphores it left under its own name.
    void stop();
    ~PrivateJackd() { stop(); }

    const std::string &name() const { return name_; }
    pid_t pid() const { return pid_; }

private:
    std::string name_;
    std::filesystem::path log_;
    pid_t pid_ = -1;
};

} // namespace chronus::harness
