// Child processes for integration tests and benchmarks: start one with its output in a log,
// stop it by PID, wait for it; scratch directories that keep their logs when asked. Nothing
// here needs GoogleTest (gtest_support.hpp adds what tests want on top).
#pragma once

#include <csignal>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace chronus::harness {

// $name, or `fallback` when it is unset or empty.
std::string envOr(const char *name, const char *fallback);
// The whole file as text ("" when it cannot be read).
std::string readText(const std::filesystem::path &path);

// Starts `argv` (searched on PATH) with stdin from /dev/null and stdout+stderr appended to
// `log`; `beforeExec` runs in the child just before exec. Returns the pid, -1 if fork failed.
pid_t spawn(const std::vector<std::string> &argv, const std::string &log,
            const std::function<void()> &beforeExec = {});
// Stops a child we started: `sig`, then SIGKILL after `graceMs`. Returns its wait status
// (-1 for no pid).
int stopChild(pid_t pid, int sig = SIGTERM, int graceMs = 5000);
// Waits up to `timeoutMs` for a child we started to exit: its wait status, or nullopt.
std::optional<int> waitExit(pid_t pid, int timeoutMs);
// True while `pid` runs (a zombie waiting for a parent that does not reap is not running).
bool running(pid_t pid);
// True when jackd is on PATH.
bool jackdAvailable();

// A scratch directory <tmp>/<prefix>-<pid>-<n>, created empty. Removed when destroyed unless
// keep() was called or CHRONUS_KEEP_LOGS is set; then its path is printed on stderr.
class ScratchDir {
public:
    explicit ScratchDir(const std::string &prefix);
    ~ScratchDir();
    ScratchDir(const ScratchDir &) = delete;
    ScratchDir &operator=(const ScratchDir &) = delete;

    void keep() { keep_ = true; }

    std::filesystem::path path;

private:
    bool keep_ = false;
};

} // namespace chronus::harness
