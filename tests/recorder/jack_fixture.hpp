// Helpers for recorder integration tests: a private dummy jackd (unique name, stopped by
// PID), child processes with logs, and a frame-by-frame check of ramp recordings.
#pragma once

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

inline std::uint64_t sidecarFirstFrame(const fs::path &audio)
{
    std::ifstream in(audio.string() + ".json");
    std::stringstream ss;
    ss << in.rdbuf();
    std::smatch m;
    const std::string text = ss.str();
    if (!std::regex_search(text, m, std::regex("\"first_frame_jack\": ([0-9]+)")))
        return UINT64_MAX;
    return std::stoull(m[1]);
}

inline float rampValue(std::uint64_t jackFrame, std::size_t channel)
{
    return float((std::uint32_t(jackFrame) + std::uint32_t(channel) * 65537u) & 0xffffffu);
}

struct RampCheck {
    bool opened = false;
    int channels = 0;
    std::uint64_t frames = 0;
    std::uint64_t silentFrames = 0;     // whole frames of zeros (stand-ins for lost frames)
    std::uint64_t silentRuns = 0;
    std::uint64_t firstSilent = UINT64_MAX;
    std::uint64_t mismatches = 0;       // frames neither silent nor the expected ramp
    std::uint64_t firstMismatch = UINT64_MAX;
    std::string describe() const
    {
        std::ostringstream s;
        s << "frames=" << frames << " channels=" << channels << " silent=" << silentFrames << " runs=" << silentRuns
          << " firstSilent=" << firstSilent << " mismatches=" << mismatches << " firstMismatch=" << firstMismatch;
        return s.str();
    }
};

// Reads `path` with libsndfile and checks every frame k against the ramp at JACK frame
// firstJackFrame + k: file time must equal JACK time, and lost frames must be silence.
inline RampCheck checkRamp(const fs::path &path, std::uint64_t firstJackFrame)
{
    RampCheck r;
    SF_INFO info{};
    SNDFILE *sf = sf_open(path.c_str(), SFM_READ, &info);
    if (!sf)
        return r;
    r.opened = true;
    r.channels = info.channels;
    const std::size_t ch = std::size_t(info.channels);
    std::vector<float> buf(ch * 8192);
    std::uint64_t k = 0;
    bool inSilence = false;
    for (;;) {
        const sf_count_t n = sf_readf_float(sf, buf.data(), 8192);
        if (n <= 0)
            break;
        for (sf_count_t i = 0; i < n; ++i, ++k) {
            const float *f = &buf[std::size_t(i) * ch];
            bool silent = true, match = true;
            for (std::size_t c = 0; c < ch; ++c) {
                silent = silent && f[c] == 0.0f;
                match = match && f[c] == rampValue(firstJackFrame + k, c);
            }
            if (silent && !match) {
                ++r.silentFrames;
                if (!inSilence)
                    ++r.silentRuns;
                if (r.firstSilent == UINT64_MAX)
                    r.firstSilent = k;
                inSilence = true;
            } else {
                inSilence = false;
                if (!match) {
                    ++r.mismatches;
                    if (r.firstMismatch == UINT64_MAX)
                        r.firstMismatch = k;
                }
            }
        }
    }
    r.frames = k;
    sf_close(sf);
    return r;
}

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
