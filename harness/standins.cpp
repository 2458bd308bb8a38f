#include "harness/standins.hpp"

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace chronus::harness {

NotifySocket::NotifySocket(std::filesystem::path path) : path_(std::move(path))
{
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    ok_ = fd_ >= 0 && path_.string().size() < sizeof a.sun_path;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
    ::unlink(path_.c_str());
    ok_ = ok_ && bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
}

NotifySocket::~NotifySocket()
{
    if (fd_ >= 0)
        close(fd_);
    ::unlink(path_.c_str());
}

std::string NotifySocket::receive(int timeoutMs)
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

bool NotifySocket::await(const std::string &line, int timeoutMs)
{
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (std::chrono::steady_clock::now() < end)
        if (receive(50).find(line) != std::string::npos)
            return true;
    return false;
}

int NotifySocket::count(const std::string &line, int ms)
{
    int n = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end)
        n += receive(20).find(line) != std::string::npos;
    return n;
}

bool NotifySocket::sawAny(const std::string &text) const
{
    for (const auto &m : seen_)
        if (m.find(text) != std::string::npos)
            return true;
    return false;
}

std::string NotifySocket::history() const
{
    std::string all;
    for (const auto &m : seen_)
        all += "[" + m + "] ";
    return all;
}

FakeNsmd::FakeNsmd()
{
    auto s = osc::Server::open(0, true, [this](const osc::Message &m) { received.push_back(m); });
    if (!s)
        throw std::runtime_error("the stand-in NSM server cannot listen: " + s.error());
    server = std::move(*s);
}

std::string FakeNsmd::url() const { return "osc.udp://127.0.0.1:" + std::to_string(server->port()) + "/"; }

std::optional<osc::Message> FakeNsmd::await(const std::string &address, const std::string &first, int timeoutMs,
                                            const std::function<void()> &pump)
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

} // namespace chronus::harness
