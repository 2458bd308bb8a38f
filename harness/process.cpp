#include "harness/process.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace chronus::harness {

std::string envOr(const char *name, const char *fallback)
{
    const char *v = std::getenv(name);
    return v && *v ? v : fallback;
}

std::string readText(const std::filesystem::path &path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

pid_t spawn(const std::vector<std::string> &argv, const std::string &log, const std::function<void()> &beforeExec)
{
    // Built before fork: the child only makes async-signal-safe calls until exec.
    std::vector<char *> args;
    for (const auto &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        const int in = ::open("/dev/null", O_RDONLY);
        dup2(in, 0);
        const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(out, 1);
        dup2(out, 2);
        if (beforeExec)
            beforeExec();
        execvp(args[0], args.data());
        _exit(127);
    }
    return pid;
}

int stopChild(pid_t pid, int sig, int graceMs)
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

std::optional<int> waitExit(pid_t pid, int timeoutMs)
{
    int status = 0;
    for (int i = 0; i <= timeoutMs / 10; ++i) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
}

bool running(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string pidText, comm, state;
    if (!(in >> pidText >> comm >> state))
        return false;
    return state != "Z" && state != "X";
}

bool jackdAvailable() { return std::system("command -v jackd >/dev/null 2>&1") == 0; }

ScratchDir::ScratchDir(const std::string &prefix)
{
    static int n = 0;
    path = std::filesystem::temp_directory_path() /
           (prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(n++));
    std::filesystem::create_directories(path);
}

ScratchDir::~ScratchDir()
{
    if (!keep_ && !std::getenv("CHRONUS_KEEP_LOGS")) {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    } else {
        std::fprintf(stderr, "logs kept in %s\n", path.c_str());
    }
}

} // namespace chronus::harness
