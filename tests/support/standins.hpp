// Stand-ins for what a service manager and a session manager do, for tests of the
// programs' systemd and NSM behaviour: a notification socket and a session manager that
// records what it receives and answers only what the test sends.
#pragma once

#include "common/osc.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace chronus::testsupport {

// A datagram socket standing in for systemd's NOTIFY_SOCKET. Keep its path short: unix
// socket paths are limited to 107 bytes.
class NotifySocket {
public:
    explicit NotifySocket(std::filesystem::path path) : path_(std::move(path))
    {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        ok_ = fd_ >= 0 && path_.string().size() < sizeof a.sun_path;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
        ::unlink(path_.c_str());
        ok_ = ok_ && bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
    }
    ~NotifySocket()
    {
        if (fd_ >= 0)
            close(fd_);
        ::unlink(path_.c_str());
    }
    NotifySocket(const NotifySocket &) = delete;
    NotifySocket &operator=(const NotifySocket &) = delete;

    bool ok() const { return ok_; }
    const std::filesystem::path &path() const { return path_; }
    // The next datagram within timeoutMs ("" on timeout); every one is kept in seen().
    std::string receive(int timeoutMs)
    {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, timeoutMs) <= 0)
            return {};
        char buf[4096];
        const ssize_t n = recv(fd_, buf, sizeof buf, 0);
        if (n <= 0)
            return {};
        seen_.emplace_back(buf, std::size_t(n));
        return seen_.back();
    }
    // Waits for a datagram holding `line`.
    bool await(const std::string &line, int timeoutMs)
    {
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
        while (std::chrono::steady_clock::now() < end)
            if (receive(50).find(line) != std::string::npos)
                return true;
        return false;
    }
    // How many datagrams holding `line` arrive within `ms`.
    int count(const std::string &line, int ms)
    {
        int n = 0;
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (std::chrono::steady_clock::now() < end)
            n += receive(20).find(line) != std::string::npos;
        return n;
    }
    // Whether any datagram so far held `text`.
    bool sawAny(const std::string &text) const
    {
        for (const auto &m : seen_)
            if (m.find(text) != std::string::npos)
                return true;
        return false;
    }
    const std::vector<std::string> &seen() const { return seen_; }
    std::string history() const
    {
        std::string all;
        for (const auto &m : seen_)
            all += "[" + m + "] ";
        return all;
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    bool ok_ = false;
    std::vector<std::string> seen_;
};

// A stand-in NSM server: keeps what it receives and answers nothing by itself.
struct FakeNsmd {
    std::vector<osc::Message> received;
    std::unique_ptr<osc::Server> server;

    FakeNsmd()
    {
        auto s = osc::Server::open(0, true, [this](const osc::Message &m) { received.push_back(m); });
        EXPECT_TRUE(s) << (s ? "" : s.error());
        if (s)
            server = std::move(*s);
    }
    std::string url() const { return "osc.udp://127.0.0.1:" + std::to_string(server->port()) + "/"; }

    // The first message at `address` whose first argument is `first` (any if empty) within
    // timeoutMs; `pump` runs between polls (an in-process client's own poll).
    std::optional<osc::Message> await(const std::string &address, const std::string &first, int timeoutMs,
                                      const std::function<void()> &pump = {})
    {
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
        while (std::chrono::steady_clock::now() < end) {
            for (auto it = received.begin(); it != received.end(); ++it)
                if (it->address == address && (first.empty() || it->stringAt(0) == first)) {
                    auto m = *it;
                    received.erase(it);
                    return m;
                }
            server->poll(pump ? 10 : 20);
            if (pump)
                pump();
        }
        return std::nullopt;
    }
};

} // namespace chronus::testsupport
