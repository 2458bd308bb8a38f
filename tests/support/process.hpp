// Child processes for integration tests: start with a log, stop by PID, and the rule
// that a missing jackd fails under CI and skips elsewhere.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace chronus::testsupport {

inline std::string envOr(const char *name, const char *fallback)
{
    const char *v = std::getenv(name);
    return v && *v ? v : fallback;
}

inline std::string readText(const std::filesystem::path &p)
{
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Starts `argv` with stdin from /dev/null and stdout+stderr appended to `log`;
// `beforeExec` runs in the child just before exec.
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

// Stops a child we started: `sig` (SIGTERM), then SIGKILL after graceMs. Returns its wait status.
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

// An empty scratch directory named after the running test: <tmp>/<prefix>-<pid>-<test>.
inline std::filesystem::path freshTestDir(const std::string &prefix)
{
    const auto dir = std::filesystem::temp_directory_path() /
                     (prefix + "-" + std::to_string(getpid()) + "-" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

// Waits up to timeoutMs for a child we started to exit; its wait status, or nullopt.
inline std::optional<int> waitExit(pid_t pid, int timeoutMs)
{
    int status = 0;
    for (int i = 0; i <= timeoutMs / 10; ++i) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
}

inline bool jackdAvailable() { return std::system("command -v jackd >/dev/null 2>&1") == 0; }

} // namespace chronus::testsupport

// Fails under CI, skips elsewhere, when jackd is not installed.
#define CHRONUS_REQUIRE_JACKD()                                                                    \
    do {                                                                                           \
        if (!::chronus::testsupport::jackdAvailable()) {                                           \
            if (std::getenv("CI"))                                                                 \
                FAIL() << "jackd is not installed and CI is set";                                  \
            GTEST_SKIP() << "jackd is not installed";                                              \
        }                                                                                          \
    } while (0)
