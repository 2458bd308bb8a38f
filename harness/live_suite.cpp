#include "harness/live_suite.hpp"

#include "common/timeline_clock.hpp"

#include "common/log.hpp"
#include "harness/process.hpp"

#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace chronus::harness {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool Supervisor::start(const fs::path &dir, std::vector<std::string> extra, const std::string &instance)
{
    log_ = dir / ("supervisor-" + std::to_string(count_++) + ".log");
    instance_ = instance.empty() ? log::cat("t", getpid(), "-", count_) : instance;
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

int Supervisor::stop()
{
    if (pid_ > 0)
        exitStatus_ = stopChild(pid_);
    pid_ = -1;
    return exitStatus_;
}

std::string Supervisor::log() const { return readText(log_); }

std::optional<Status> status(osc::Client &client, int timeoutMs)
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

double num(const Status &s, const std::string &key)
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

std::string str(const Status &s, const std::string &key)
{
    auto it = s.find(key);
    if (it == s.end())
        return {};
    if (auto *v = std::get_if<std::string>(&it->second))
        return *v;
    return {};
}

std::optional<osc::Message> command(osc::Client &c, const std::string &address, const std::vector<osc::Arg> &args,
                                    int timeoutMs)
{
    return c.request(address, args, timeoutMs);
}

bool waitRedundant(osc::Client &c, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto s = status(c, 500); s && num(*s, "redundant") == 1)
            return true;
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

int freeUdpPort()
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

bool answers(osc::Client &c, int timeoutMs)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (std::chrono::steady_clock::now() < deadline)
        if (auto r = c.request("/ping", {}, 250); r && r->address == "/pong")
            return true;
    return false;
}

std::optional<osc::Message> awaitMessage(osc::Client &c, const std::string &address, const std::string &first,
                                         int timeoutMs)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (std::chrono::steady_clock::now() < deadline)
        if (auto m = c.receive(50); m && m->address == address && m->stringAt(0) == first)
            return m;
    return std::nullopt;
}

bool sync(osc::Client &c, int timeoutMs)
{
    if (!c.send("/sync", {std::int32_t(99)}))
        return false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (std::chrono::steady_clock::now() < deadline)
        if (auto m = c.receive(50); m && m->address == "/synced")
            return true;
    return false;
}

bool Capture::open(const std::string &source, std::size_t maxSeconds)
{
    jack_status_t st{};
    client_ = jack_client_open("chronus-test-capture", JackNoStartServer, &st);
    if (!client_)
        return false;
    for (int c = 0; c < 2; ++c)
        ports_[c] =
            jack_port_register(client_, c == 0 ? "in_L" : "in_R", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    clock_ = jack_port_register(client_, "clock", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
    capacity_ = maxSeconds * 48000;
    for (auto &d : data_)
        d.assign(capacity_, 0.0f);
    cycles_.assign(capacity_ / 16 + 16, Cycle{});
    jack_set_process_callback(client_, &Capture::thunk, this);
    if (jack_activate(client_) != 0)
        return false;
    if (clock_) // a source without a timeline clock leaves every cycle's timeline at -1
        jack_connect(client_, (source + ":clock").c_str(), jack_port_name(clock_));
    return jack_connect(client_, (source + ":out_L").c_str(), jack_port_name(ports_[0])) == 0 &&
           jack_connect(client_, (source + ":out_R").c_str(), jack_port_name(ports_[1])) == 0;
}

void Capture::stop()
{
    recording_.store(false);
    std::this_thread::sleep_for(30ms);
}

Capture::~Capture()
{
    if (client_) {
        jack_deactivate(client_);
        jack_client_close(client_);
    }
}

int Capture::thunk(jack_nframes_t n, void *arg) { return static_cast<Capture *>(arg)->process(n); }

int Capture::process(jack_nframes_t n)
{
    if (!recording_.load(std::memory_order_relaxed))
        return 0;
    const std::size_t at = nFrames_.load(std::memory_order_relaxed);
    const std::size_t ci = nCycles_.load(std::memory_order_relaxed);
    if (at + n > capacity_ || ci >= cycles_.size()) {
        overflow_.store(true);
        return 0;
    }
    const jack_nframes_t before = jack_last_frame_time(client_);
    const float *clock = clock_ ? static_cast<const float *>(jack_port_get_buffer(clock_, n)) : nullptr;
    const auto label = clock ? timeline_clock::read(clock, n) : std::nullopt;
    std::atomic_thread_fence(std::memory_order_acquire);
    for (int c = 0; c < 2; ++c) {
        const auto *in = static_cast<const float *>(jack_port_get_buffer(ports_[c], n));
        std::copy(in, in + n, data_[c].data() + at);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    const bool clocked = label && timeline_clock::read(clock, n) == label;
    cycles_[ci] = {before, n, jack_last_frame_time(client_) != before, clocked ? std::int64_t(*label) : -1};
    nCycles_.store(ci + 1, std::memory_order_release);
    nFrames_.store(at + n, std::memory_order_release);
    return 0;
}

std::optional<std::uint64_t> journalOrigin(const fs::path &journal)
{
    std::smatch m;
    const std::string text = readText(journal);
    if (!std::regex_search(text, m, std::regex("# origin ([0-9]+)")))
        return std::nullopt;
    return std::stoull(m[1]);
}

bool JournalDeclarations::inGap(std::uint64_t frame, std::uint32_t frames) const
{
    for (const auto &[from, to] : gaps)
        if (frame < to && frame + frames > from)
            return true;
    return false;
}

JournalDeclarations journalDeclarations(const fs::path &journal)
{
    JournalDeclarations d;
    const std::string text = readText(journal);
    const std::regex gap("# gap: frames ([0-9]+) \\+([0-9]+)"), uncertain("# uncertain: frames ([0-9]+) ");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), gap); it != std::sregex_iterator(); ++it) {
        const std::uint64_t from = std::stoull((*it)[1]);
        d.gaps.emplace_back(from, from + std::stoull((*it)[2]));
    }
    for (auto it = std::sregex_iterator(text.begin(), text.end(), uncertain); it != std::sregex_iterator(); ++it)
        d.early.insert(std::stoull((*it)[1]));
    return d;
}

std::optional<Rendered> renderJournal(const fs::path &journal, std::uint64_t frames, const fs::path &dir)
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
    Rendered out(2, std::vector<float>(std::size_t(info.frames)));
    for (std::size_t i = 0; i < std::size_t(info.frames); ++i) {
        out[0][i] = inter[2 * i];
        out[1][i] = inter[2 * i + 1];
    }
    return out;
}

Comparison compareWithRender(const Capture &cap, const Rendered &rendered, std::uint64_t origin,
                             const JournalDeclarations &declared)
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
        if (cap.cycle(i).torn && same(at, frame + n, n)) {
            ++r.excused;
            ++r.torn;
            continue;
        }
        if (declared.inGap(frame, n) || (declared.early.count(frame + n) && same(at, frame + n, n))) {
            ++r.declared;
            continue;
        }
        // JACK's clock can place a cycle one off (a late callback reads the next cycle's
        // time, common/jack_time.hpp); the supervisor's own clock says which block it played.
        if (const std::int64_t played = cap.cycle(i).timeline;
            played >= 0 && std::uint64_t(played) + n >= frame && std::uint64_t(played) <= frame + n &&
            same(at, std::uint64_t(played), n)) {
            ++r.relabelled;
            continue;
        }
        r.mismatchFrames += n;
        r.firstMismatch = std::min(r.firstMismatch, frame);
    }
    r.rms = cap.frames() ? std::sqrt(energy / double(2 * cap.frames())) : 0.0;
    return r;
}

Expected<Rendered> renderCaptured(const Capture &cap, const fs::path &journal, const fs::path &dir,
                                  std::uint64_t &origin)
{
    const auto o = journalOrigin(journal);
    if (!o)
        return fail("the journal has no origin");
    if (cap.cycleCount() < 10)
        return fail("the capture holds fewer than 10 cycles");
    origin = *o;
    const auto &last = cap.cycle(cap.cycleCount() - 1);
    auto rendered = renderJournal(journal, last.frame - origin + last.frames, dir);
    if (!rendered)
        return fail("chronus-render failed: " + readText(dir / "render.log"));
    return std::move(*rendered);
}

} // namespace chronus::harness
