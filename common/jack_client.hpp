// Thin RAII owner of a jack_client_t for control threads: opens without starting a
// server, names the server it failed to reach, and records a server shutdown.
#pragma once

#include "common/expected.hpp"

#include <jack/jack.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace chronus {

class JackClient {
public:
    // Opens client `name` on server `serverName` (empty: $JACK_DEFAULT_SERVER, else
    // "default"); never starts a server. Fails with one sentence naming the server.
    static Expected<std::unique_ptr<JackClient>> open(const std::string &name, const std::string &serverName = {});
    // Deactivates and closes the client.
    ~JackClient();
    JackClient(const JackClient &) = delete;
    JackClient &operator=(const JackClient &) = delete;

    jack_client_t *get() const noexcept { return client_; }
    // True once the server has shut the client down (set from JACK's shutdown callback).
    bool serverGone() const noexcept { return gone_.load(std::memory_order_acquire); }
    // The reason JACK gave for the shutdown (valid once serverGone()).
    std::string shutdownReason() const;
    // The server name actually used.
    const std::string &serverName() const noexcept { return server_; }

private:
    JackClient() = default;
    static void onShutdown(jack_status_t code, const char *reason, void *arg);
    jack_client_t *client_ = nullptr;
    std::string server_;
    std::atomic<bool> gone_{false};
    char reason_[256] = {};
};

// The wall clock's microseconds (since the epoch) minus JACK's (jack_get_time()), read now:
// the wall-clock reading taken between two JACK readings, the tightest of a few tries (a thread
// preempted between its readings on a busy machine would otherwise be off by the preemption).
// Not for the audio thread.
std::int64_t wallMinusJackMicros();

} // namespace chronus
