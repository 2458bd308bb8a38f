// Helpers for the live-suite integration tests: a private dummy jackd (unique name,
// stopped by PID), a chronus-supervisor child with its log, an OSC client, a JACK capture
// client that records the supervisor's output with frame stamps, and chronus-render of a
// journal for bit-exact comparison.
#pragma once

#include "tests/support/private_jackd.hpp"
#include "common/log.hpp"
#include "common/osc.hpp"

#include <gtest/gtest.h>
#include <jack/jack.h>
#include <sndfile.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace live {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using chronus::testsupport::envOr;
using chronus::testsupport::readText;
using chronus::testsupport::spawn;
using chronus::testsupport::stopChild;

#define LIVE_REQUIRE_JACKD CHRONUS_REQUIRE_JACKD

// A scratch directory removed at the end (kept when the test failed, for its logs).
struct TempDir {
    fs::path path;
    TempDir()
    {
        static int n = 0;
        path = fs::temp_directory_path() / ("chronus-live-" + std::to_string(getpid()) + "-" + std::to_string(n++));
        fs::create_directories(path);
    }
    ~TempDir()
    {
        if (!::testing::Test::HasFailure() && !std::getenv("CHRONUS_KEEP_LOGS"))
            fs::remove_all(path);
        else
            std::fprintf(stderr, "logs kept in %s\n", path.c_str());
    }
};

using JackServer = chronus::testsupport::PrivateJackd;

// chronus-supervisor as a child; the OSC port is read from its "ready" log line.
class Supervisor {
public:
    bool start(const fs::path &dir, std::vector<std::string> extra = {}, const std::string &instance = "")
    {
        log_ = dir / ("supervisor-" + std::to_string(count_++) + ".log");
        instance_ = instance.empty() ? chronus::log::cat("t", getpid(), "-", count_) : instance;
        std::vector<std::string> argv = {envOr("CHRONUS_SUPERVISOR", "chronus-supervisor"), "--osc-port", "0",
                                         "--instance", instance_, "--no-connect"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        pid_ = spawn(argv, log_.string());
        const std::regex ready("ready: OSC on port ([0-9]+)");
        for (int i = 0; i < 300; ++i) {
            std::smatch m;
            const std::string text = readText(log_);
            if (std::regex_search(text, m, ready)) {
                port_ = std::stoi(m[1]);
                return true;
            }
            if (waitpid(pid_, &exitStatus_, WNOHANG) == pid_) {
                pid_ = -1;
                return false;
            }
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }
    // Exit status after SIGTERM.
    int stop()
    {
        if (pid_ > 0)
            exitStatus_ = stopChild(pid_);
        pid_ = -1;
        return exitStatus_;
    }
    ~Supervisor() { stop(); }
    // The test reaped the process itself.
    void reaped() { pid_ = -1; }
    int port() const { return port_; }
    pid_t pid() const { return pid_; }
    const std::string &instance() const { return instance_; }
    std::string log() const { return readText(log_); }

private:
    static inline int count_ = 0;
    fs::path log_;
    std::string instance_;
    pid_t pid_ = -1;
    int port_ = 0;
    int exitStatus_ = 0;
};

// /status.reply as key -> value.
using Status = std::map<std::string, chronus::osc::Arg>;

inline std::optional<Status> status(chronus::osc::Client &client, int timeoutMs = 2000)
{
    auto r = client.request("/status", {}, timeoutMs);
    if (!r || r->address != "/status.reply")
        return std::nullopt;
    Status s;
    for (std::size_t i = 0; i + 1 < r->args.size(); i += 2)
        if (auto key = r->stringAt(i))
            s[*key] = r->args[i + 1];
    return s;
}

inline double num(const Status &s, const std::string &key)
{
    auto it = s.find(key);
    if (it == s.end())
        return -1e300;
    const auto &a = it->second;
    if (auto *v = std::get_if<std::int32_t>(&a))
        return *v;
    if (auto *v = std::get_if<std::int64_t>(&a))
        return double(*v);
    if (auto *v = std::get_if<float>(&a))
        return *v;
    return -1e300;
}

inline std::string str(const Status &s, const std::string &key)
{
    auto it = s.find(key);
    if (it == s.end())
        return {};
    if (auto *v = std::get_if<std::string>(&it->second))
        return *v;
    return {};
}

// Sends a command and returns its /done or /fail reply (nullopt on timeout).
inline std::optional<chronus::osc::Message> command(chronus::osc::Client &c, const std::string &address,
                                                    const std::vector<chronus::osc::Arg> &args = {},
                                                    int timeoutMs = 3000)
{
    return c.request(address, args, timeoutMs);
}

// Waits until both slots are verified (active + standby).
inline bool waitRedundant(chronus::osc::Client &c, std::chrono::milliseconds timeout = 5000ms)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto s = status(c, 500); s && num(*s, "redundant") == 1)
            return true;
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

// True if the server answers /ping within `timeoutMs`. UDP may drop a datagram when the
// server's socket is full after a flood, so the ping is repeated.
inline bool answers(chronus::osc::Client &c, int timeoutMs = 5000)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (std::chrono::steady_clock::now() < deadline)
        if (auto r = c.request("/ping", {}, 250); r && r->address == "/pong")
            return true;
    return false;
}

// Waits for a message `address` whose first argument is `first` (an answer or news that
// arrives later, e.g. /done /record/stop after a duration limit); others are dropped.
inline std::optional<chronus::osc::Message> awaitMessage(chronus::osc::Client &c, const std::string &address,
                                                         const std::string &first, int timeoutMs)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (std::chrono::steady_clock::now() < deadline)
        if (auto m = c.receive(50); m && m->address == address && m->stringAt(0) == first)
            return m;
    return std::nullopt;
}

// Sends /sync and waits for /synced.
inline bool sync(chronus::osc::Client &c, int timeoutMs = 3000)
{
    if (!c.send("/sync", {std::int32_t(99)}))
        return false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (std::chrono::steady_clock::now() < deadline)
        if (auto m = c.receive(50); m && m->address == "/synced")
            return true;
    return false;
}

// True while `pid` runs (a zombie waiting for a parent that does not reap is not running).
inline bool running(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string pidText, comm, state;
    if (!(in >> pidText >> comm >> state))
        return false;
    return state != "Z" && state != "X";
}

// Records the supervisor's output with the JACK frame of each cycle. Everything the
// process callback touches is preallocated.
class Capture {
public:
    bool open(const std::string &source, std::size_t maxSeconds = 90)
    {
        jack_status_t st{};
        client_ = jack_client_open("chronus-test-capture", JackNoStartServer, &st);
        if (!client_)
            return false;
        for (int c = 0; c < 2; ++c)
            ports_[c] = jack_port_register(client_, c == 0 ? "in_L" : "in_R", JACK_DEFAULT_AUDIO_TYPE,
                                           JackPortIsInput, 0);
        capacity_ = maxSeconds * 48000;
        for (auto &d : data_)
            d.assign(capacity_, 0.0f);
        cycles_.assign(capacity_ / 16 + 16, Cycle{});
        jack_set_process_callback(client_, &Capture::thunk, this);
        if (jack_activate(client_) != 0)
            return false;
        return jack_connect(client_, (source + ":out_L").c_str(), jack_port_name(ports_[0])) == 0 &&
               jack_connect(client_, (source + ":out_R").c_str(), jack_port_name(ports_[1])) == 0;
    }
    void start() { recording_.store(true); }
    void stop() { recording_.store(false); std::this_thread::sleep_for(30ms); }
    jack_client_t *client() const { return client_; }
    ~Capture()
    {
        if (client_) {
            jack_deactivate(client_);
            jack_client_close(client_);
        }
    }

    struct Cycle {
        std::uint32_t frame = 0;
        std::uint32_t frames = 0;
    };
    // Recorded cycles and samples (valid after stop()).
    std::size_t cycleCount() const { return nCycles_.load(); }
    const Cycle &cycle(std::size_t i) const { return cycles_[i]; }
    std::size_t frames() const { return nFrames_.load(); }
    const float *channel(int c) const { return data_[c].data(); }
    bool overflowed() const { return overflow_.load(); }

private:
    static int thunk(jack_nframes_t n, void *arg) { return static_cast<Capture *>(arg)->process(n); }
    int process(jack_nframes_t n)
    {
        if (!recording_.load(std::memory_order_relaxed))
            return 0;
        const std::size_t at = nFrames_.load(std::memory_order_relaxed);
        const std::size_t ci = nCycles_.load(std::memory_order_relaxed);
        if (at + n > capacity_ || ci >= cycles_.size()) {
            overflow_.store(true);
            return 0;
        }
        for (int c = 0; c < 2; ++c) {
            const auto *in = static_cast<const float *>(jack_port_get_buffer(ports_[c], n));
            std::copy(in, in + n, data_[c].data() + at);
        }
        cycles_[ci] = {jack_last_frame_time(client_), n};
        nCycles_.store(ci + 1, std::memory_order_release);
        nFrames_.store(at + n, std::memory_order_release);
        return 0;
    }
    jack_client_t *client_ = nullptr;
    jack_port_t *ports_[2] = {};
    std::vector<float> data_[2];
    std::vector<Cycle> cycles_;
    std::size_t capacity_ = 0;
    std::atomic<bool> recording_{false};
    std::atomic<bool> overflow_{false};
    std::atomic<std::size_t> nFrames_{0};
    std::atomic<std::size_t> nCycles_{0};
};

// The "# origin N" line of a journal.
inline std::optional<std::uint64_t> journalOrigin(const fs::path &journal)
{
    std::smatch m;
    const std::string text = readText(journal);
    if (!std::regex_search(text, m, std::regex("# origin ([0-9]+)")))
        return std::nullopt;
    return std::stoull(m[1]);
}

// Renders a journal with chronus-render for `frames` frames; returns planar float data.
inline std::optional<std::vector<std::vector<float>>> renderJournal(const fs::path &journal, std::uint64_t frames,
                                                                   const fs::path &dir)
{
    const fs::path wav = dir / "render.wav";
    char seconds[64];
    std::snprintf(seconds, sizeof seconds, "%.17g", double(frames) / 48000.0);
    const std::string cmd = envOr("CHRONUS_RENDER", "chronus-render") + " --quiet --script " + journal.string() +
                            " --block-size 256 --sample-rate 48000 --channels 2 --duration " + seconds + " -o " +
                            wav.string() + " > " + (dir / "render.log").string() + " 2>&1";
    if (std::system(cmd.c_str()) != 0)
        return std::nullopt;
    SF_INFO info{};
    SNDFILE *sf = sf_open(wav.c_str(), SFM_READ, &info);
    if (!sf || info.channels != 2)
        return std::nullopt;
    std::vector<float> inter(std::size_t(info.frames) * 2);
    sf_readf_float(sf, inter.data(), info.frames);
    sf_close(sf);
    std::vector<std::vector<float>> out(2, std::vector<float>(std::size_t(info.frames)));
    for (std::size_t i = 0; i < std::size_t(info.frames); ++i) {
        out[0][i] = inter[2 * i];
        out[1][i] = inter[2 * i + 1];
    }
    return out;
}

// Result of comparing a capture with an offline render, cycle by cycle at each cycle's
// own frame (so a cycle JACK did not run the capture client for shifts nothing).
struct Comparison {
    std::size_t cycles = 0;
    std::size_t captureGaps = 0;    // cycles JACK skipped for the capture client
    std::size_t excused = 0;        // cycles visibly left over from a cycle JACK skipped
    std::size_t repeated = 0;       // of which: a repeat of the previous block (the supervisor
                                    // was not run; it must have counted that as skipped)
    std::size_t mismatchFrames = 0; // frames in cycles that differ for no such reason
    std::uint64_t firstMismatch = UINT64_MAX;
    double rms = 0;
};

// A differing cycle is excused only when JACK visibly did not run the chain: it follows a
// capture gap, or it holds exactly the previous block (the supervisor's port buffer left
// over from a cycle JACK did not run it in).
inline Comparison compareWithRender(const Capture &cap, const std::vector<std::vector<float>> &rendered,
                                    std::uint64_t origin)
{
    Comparison r;
    auto same = [&](std::size_t at, std::uint64_t frame, std::uint32_t n) {
        for (int ch = 0; ch < 2; ++ch)
            if (frame + n > rendered[ch].size() ||
                std::memcmp(cap.channel(ch) + at, rendered[ch].data() + frame, n * sizeof(float)) != 0)
                return false;
        return true;
    };
    double energy = 0;
    for (std::size_t i = 0, at = 0; i < cap.cycleCount(); at += cap.cycle(i).frames, ++i) {
        ++r.cycles;
        const std::uint64_t frame = cap.cycle(i).frame - origin;
        const std::uint32_t n = cap.cycle(i).frames;
        for (std::uint32_t k = 0; k < n; ++k)
            for (int ch = 0; ch < 2; ++ch)
                energy += double(cap.channel(ch)[at + k]) * cap.channel(ch)[at + k];
        const bool afterGap = i > 0 && cap.cycle(i).frame != cap.cycle(i - 1).frame + cap.cycle(i - 1).frames;
        r.captureGaps += afterGap;
        if (same(at, frame, n))
            continue;
        if (afterGap || (frame >= n && same(at, frame - n, n))) {
            ++r.excused;
            r.repeated += !afterGap;
            continue;
        }
        r.mismatchFrames += n;
        r.firstMismatch = std::min(r.firstMismatch, frame);
    }
    r.rms = cap.frames() ? std::sqrt(energy / double(2 * cap.frames())) : 0.0;
    return r;
}

// The journal rendered over everything the capture holds (its origin in `origin`), for
// compareWithRender(). nullopt, with a test failure saying why, when that cannot be done.
inline std::optional<std::vector<std::vector<float>>> renderCaptured(const Capture &cap, const fs::path &journal,
                                                                    const fs::path &dir, std::uint64_t &origin)
{
    const auto o = journalOrigin(journal);
    if (!o || cap.cycleCount() < 10) {
        ADD_FAILURE() << (o ? "the capture holds fewer than 10 cycles" : "the journal has no origin");
        return std::nullopt;
    }
    origin = *o;
    const auto &last = cap.cycle(cap.cycleCount() - 1);
    auto rendered = renderJournal(journal, last.frame - origin + last.frames, dir);
    if (!rendered)
        ADD_FAILURE() << "chronus-render failed: " << readText(dir / "render.log");
    return rendered;
}

} // namespace live
