// Stand-ins for what a service manager and a session manager do, for tests of the programs'
// systemd and NSM behaviour: a notification socket, and a session manager that records what
// it receives and answers only what the test sends.
#pragma once

#include "common/osc.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chronus::harness {

// A datagram socket standing in for systemd's NOTIFY_SOCKET. Keep its path short: unix
// socket paths are limited to 107 bytes.
class NotifySocket {
public:
    explicit NotifySocket(std::filesystem::path path);
    ~NotifySocket();
    NotifySocket(const NotifySocket &) = delete;
    NotifySocket &operator=(const NotifySocket &) = delete;

    // False when the socket could not be bound.
    bool ok() const { return ok_; }
    const std::filesystem::path &path() const { return path_; }
    // The next datagram within timeoutMs ("" on timeout); every one is kept in seen().
    std::string receive(int timeoutMs);
    // Waits up to timeoutMs for a datagram holding `line`.
    bool await(const std::string &line, int timeoutMs);
    // How many datagrams holding `line` arrive within `ms`.
    int count(const std::string &line, int ms);
    // Whether any datagram so far held `text`.
    bool sawAny(const std::string &text) const;
    const std::vector<std::string> &seen() const { return seen_; }
    // Every datagram so far, each in [brackets], for a failure message.
    std::string history() const;

private:
    std::filesystem::path path_;
    int fd_ = -1;
    bool ok_ = false;
    std::vector<std::string> seen_;
};

// A stand-in NSM server on a free local UDP port: keeps what it receives and answers
// nothing by itself. The constructor throws std::runtime_error when it cannot listen.
struct FakeNsmd {
    std::vector<osc::Message> received;
    std::unique_ptr<osc::Server> server;

    FakeNsmd();
    std::string url() const;
    // The first message at `address` whose first argument is `first` (any if empty) within
    // timeoutMs, taken out of `received`; `pump` runs between polls (an in-process client's
    // own poll).
    std::optional<osc::Message> await(const std::string &address, const std::string &first, int timeoutMs,
                                      const std::function<void()> &pump = {});
};

} // namespace chronus::harness
