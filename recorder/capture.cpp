#include "recorder/capture.hpp"

#include "common/log.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <thread>
#include <cstring>
#include <ctime>

namespace chronus::rec {

namespace {

// "out_2" before "out_10": compare digit runs by value.
bool naturalLess(const std::string &a, const std::string &b)
{
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
            std::size_t ie = i, je = j;
            while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie])))
                ++ie;
            while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je])))
                ++je;
            const unsigned long long x = std::stoull(a.substr(i, ie - i)), y = std::stoull(b.substr(j, je - j));
            if (x != y)
                return x < y;
            i = ie;
            j = je;
        } else {
            if (a[i] != b[j])
                return a[i] < b[j];
            ++i;
            ++j;
        }
    }
    return a.size() - i < b.size() - j;
}

} // namespace

std::string globToRegex(const std::string &glob)
{
    std::string re = "^";
    for (char c : glob) {
        switch (c) {
        case '*': re += ".*"; break;
        case '?': re += '.'; break;
        case '.': case '[': case ']': case '(': case ')': case '{': case '}': case '+': case '^': case '$':
        case '|': case '\\':
            re += '\\';
            re += c;
            break;
        default: re += c;
        }
    }
    return re + "$";
}

Expected<std::unique_ptr<Capture>> Capture::open(const CaptureConfig &config)
{
    if (config.channels < 1 || config.channels > 1024)
        return fail(log::cat("channel count ", config.channels, " is out of range (1..1024)"));
    auto client = JackClient::open(config.clientName, config.serverName);
    if (!client)
        return fail(client.error());
    std::unique_ptr<Capture> c(new Capture());
    c->client_ = std::move(*client);
    jack_client_t *jc = c->client_->get();
    c->rate_ = jack_get_sample_rate(jc);
    c->sources_ = config.sources.empty() ? std::vector<std::string>{"chronus:out_*"} : config.sources;

    for (std::size_t i = 0; i < config.channels; ++i) {
        const std::string name = "in_" + std::to_string(i + 1);
        jack_port_t *p = jack_port_register(jc, name.c_str(), JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        if (!p)
            return fail("cannot register JACK port " + name);
        c->ports_.push_back(p);
    }
    c->buffers_.resize(config.channels);
    c->stageFrames_ = std::max<std::size_t>(4096, jack_get_buffer_size(jc));
    try {
        c->stage_.assign(config.channels * c->stageFrames_, 0.0f);
    } catch (const std::bad_alloc &) {
        return fail(log::cat("cannot allocate ", c->stageFrames_, " frames x ", config.channels, " channels"));
    }
    const std::size_t frames = std::max<std::size_t>(std::size_t(config.ringSeconds * c->rate_),
                                                     4 * std::size_t(jack_get_buffer_size(jc)));
    try {
        c->ring_ = std::make_unique<FrameRing>(config.channels, frames);
    } catch (const std::bad_alloc &) {
        return fail(log::cat("cannot allocate a ring of ", frames, " frames x ", config.channels, " channels"));
    }
    c->feeder_ = std::make_unique<RingFeeder>(*c->ring_, c->counters_,
                                             std::max<std::size_t>(4096, jack_get_buffer_size(jc)));
    if (!c->ring_->locked())
        log::info("ring memory could not be locked (RLIMIT_MEMLOCK); it is prefaulted");

    jack_set_process_callback(jc, &Capture::onProcess, c.get());
    jack_set_port_registration_callback(jc, &Capture::onRegistration, c.get());
    jack_set_xrun_callback(jc, &Capture::onXrun, c.get());
    jack_set_freewheel_callback(jc, &Capture::onFreewheel, c.get());
    if (jack_activate(jc) != 0)
        return fail("cannot activate JACK client " + config.clientName);
    return c;
}

Capture::~Capture()
{
    if (client_ && !client_->serverGone())
        jack_deactivate(client_->get());
}

std::uint32_t Capture::periodFrames() const { return jack_get_buffer_size(client_->get()); }

int Capture::onProcess(jack_nframes_t frames, void *arg) { return static_cast<Capture *>(arg)->process(frames); }

void Capture::onRegistration(jack_port_id_t, int, void *arg)
{
    // Notification thread: must not call back into the server. Flag only.
    static_cast<Capture *>(arg)->graphChanged_.store(true, std::memory_order_release);
}

int Capture::onXrun(void *arg)
{
    static_cast<Capture *>(arg)->counters_.xruns.fetch_add(1, std::memory_order_relaxed);
    return 0;
}

void Capture::onFreewheel(int starting, void *arg)
{
    static_cast<Capture *>(arg)->freewheeling_.store(starting != 0, std::memory_order_release);
}

int Capture::process(jack_nframes_t frames) noexcept
{
    const std::uint32_t t = jack_last_frame_time(client_->get());
    const std::uint64_t now = frameTime_.extend(t);
    cycleFrame_.store(now, std::memory_order_relaxed);
    cycleFrame32_.store(t, std::memory_order_release);

    const bool feeding = feeding_.load(std::memory_order_acquire);
    bool torn = false;
    if (feeding) {
        // The port buffers are the upstream clients' own: copied first, then JACK's frame
        // time read again. If it moved on, an upstream client may have begun writing the next
        // cycle into them while they were copied (a late callback on a loaded machine).
        const bool staged = frames <= stageFrames_;
        for (std::size_t c = 0; c < ports_.size(); ++c) {
            const auto *in = static_cast<const float *>(jack_port_get_buffer(ports_[c], frames));
            if (staged) {
                float *copy = stage_.data() + c * stageFrames_;
                std::memcpy(copy, in, frames * sizeof(float));
                in = copy;
            }
            buffers_[c] = in;
        }
        torn = staged && jack_last_frame_time(client_->get()) != t;
    }
    feeder_->cycle(now, buffers_.data(), frames, feeding, torn);
    cycles_.fetch_add(1, std::memory_order_release);
    return 0;
}

std::uint64_t Capture::nowFrame() const
{
    const std::uint32_t base32 = cycleFrame32_.load(std::memory_order_acquire);
    const std::uint64_t base = cycleFrame_.load(std::memory_order_relaxed);
    return frameNow(base, base32, jack_frame_time(client_->get()));
}

std::int64_t Capture::wallClockMicros(std::uint64_t jackFrame) const
{
    jack_client_t *jc = client_->get();
    const jack_time_t frameUs = jack_frames_to_time(jc, jack_nframes_t(jackFrame & 0xffffffffu));
    const jack_time_t nowUs = jack_get_time();
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    const std::int64_t wallNow = std::int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
    return wallNow - (std::int64_t(nowUs) - std::int64_t(frameUs));
}

bool Capture::awaitCycles(int cycles, int timeoutMs) const
{
    const std::uint64_t from = cycleFrame_.load(std::memory_order_acquire);
    const std::uint64_t until = from + std::uint64_t(cycles) * periodFrames();
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (cycleFrame_.load(std::memory_order_acquire) < until) {
        if (std::chrono::steady_clock::now() > end || serverGone())
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

int Capture::reconnect(bool force)
{
    if (!graphChanged_.exchange(false, std::memory_order_acq_rel) && !force)
        return 0;
    jack_client_t *jc = client_->get();
    std::vector<std::string> found;
    for (const std::string &pattern : sources_) {
        const char **names = jack_get_ports(jc, globToRegex(pattern).c_str(), JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput);
        std::vector<std::string> matched;
        for (const char **p = names; p && *p; ++p)
            matched.emplace_back(*p);
        if (names)
            jack_free(names);
        std::sort(matched.begin(), matched.end(), naturalLess);
        found.insert(found.end(), matched.begin(), matched.end());
    }
    int made = 0;
    for (std::size_t k = 0; k < ports_.size() && k < found.size(); ++k) {
        if (jack_port_connected_to(ports_[k], found[k].c_str()))
            continue;
        const int r = jack_connect(jc, found[k].c_str(), jack_port_name(ports_[k]));
        if (r == 0) {
            ++made;
            log::info("connected ", found[k], " -> ", jack_port_name(ports_[k]));
        } else if (r != EEXIST) {
            log::warn("cannot connect ", found[k], " -> ", jack_port_name(ports_[k]));
        }
    }
    return made;
}

std::vector<std::string> Capture::connections() const
{
    std::vector<std::string> out;
    for (jack_port_t *p : ports_) {
        const char **c = jack_port_get_connections(p);
        out.emplace_back(c && c[0] ? c[0] : "");
        if (c)
            jack_free(c);
    }
    return out;
}

} // namespace chronus::rec
