// Helpers for recorder integration tests: a private dummy jackd (unique name, stopped by
// PID), child processes with logs, and a frame-by-frame check of ramp recordings.
#pragma once

#include "ramp_check.hpp"

#include <gtest/gtest.h>
#include <jack/jack.h>
#include <sndfile.h>

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <sys/socket.h>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace testing_rec {

namespace fs = std::filesystem;

inline std::string envOr(const char *name, const char *fallback)
{
    const char *v = std::getenv(name);
    return v && *v ? v : fallback;
}

// Starts `argv` with stdin from /dev/null and output to `log`; `beforeExec` runs in the child.
inline pid_t spawn(const std::vector<std::string> &argv, const std::string &log,
                   const std::function<void()> &beforeExec = {})
{
    const pid_t pid = fork();
    if (pid == 0) {
        const int in = ::open("/dev/null", O_RDONLY);
        dup2(in, 0);
        const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(out, 1);
        dup2(out, 2);
        if (beforeExec)
            beforeExec();
        std::vector<char *> args;
        for (const auto &a : argv)
            args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    return pid;
}

// Stops a child we started: SIGTERM, then SIGKILL after `graceMs`. Returns its wait status.
inline int stopChild(pid_t pid, int sig = SIGTERM, int graceMs = 5000)
{
    if (pid <= 0)
        return -1;
    kill(pid, sig);
    int status = 0;
    for (int i = 0; i < graceMs / 10; ++i) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return status;
}

inline bool alive(pid_t pid) { return waitpid(pid, nullptr, WNOHANG) == 0; }

// A private jackd: "chronus-test-<pid>-<n>", dummy backend, 48 kHz, 256-frame periods.
class JackServer {
public:
    bool start(const std::string &dir)
    {
        static int counter = 0;
        name_ = "chronus-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
        pid_ = spawn({"jackd", "-n", name_, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256"},
                     dir + "/jackd.log");
        setenv("JACK_DEFAULT_SERVER", name_.c_str(), 1);
        for (int i = 0; i < 100; ++i) {
            jack_status_t st{};
            if (jack_client_t *c = jack_client_open("probe", JackNoStartServer, &st)) {
                jack_client_close(c);
                return true;
            }
            if (!alive(pid_))
                return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    }
    ~JackServer()
    {
        if (pid_ > 0)
            stopChild(pid_);
    }
    const std::string &name() const { return name_; }
    pid_t pid() const { return pid_; }

private:
    std::string name_;
    pid_t pid_ = -1;
};

inline bool jackdAvailable() { return std::system("command -v jackd >/dev/null 2>&1") == 0; }

// Fails under CI, skips elsewhere, when jackd is not installed.
#define REQUIRE_JACKD()                                                                            \
    do {                                                                                           \
        if (!testing_rec::jackdAvailable()) {                                                      \
            if (std::getenv("CI"))                                                                 \
                FAIL() << "jackd is not installed and CI is set";                                  \
            GTEST_SKIP() << "jackd is not installed";                                              \
        }                                                                                          \
    } while (0)

inline int freeUdpPort()
{
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    socklen_t len = sizeof a;
    bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

} // namespace testing_rec
