#include "recorder/capture.hpp"

#include "common/log.hpp"
#include "common/timeline_clock.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <thread>
#include <cstring>
#include <ctime>
#include <iterator>
#include <optional>

namespace chronus::rec {

namespace {

// New bindings wait until the port graph has been still this long, so that a client
// registering several ports gets them bound in natural order whatever order it registers
// them in. A port already bound is reconnected at once.
constexpr auto kSettle = std::chrono::milliseconds(200);
// A connection JACK refused is tried again after this long.
constexpr auto kRetry = std::chrono::seconds(1);
// New ports named in one log line at most.
constexpr std::size_t kPortsLogged = 8;

std::string inputName(std::size_t k) { return "in_" + std::to_string(k + 1); }

// "a, b, c and 4 more"
std::string nameList(const std::vector<std::string> &names)
{
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < kPortsLogged; ++i)
        out += (i ? ", " : "") + names[i];
    if (names.size() > kPortsLogged)
        out += log::cat(" and ", names.size() - kPortsLogged, " more");
    return out;
}

std::vector<std::string> portList(const char **names)
{
    std::vector<std::string> out;
    for (const char **p = names; p && *p; ++p)
        out.emplace_back(*p);
    if (names)
        jack_free(names);
    return out;
}

bool contains(const std::vector<std::string> &v, const std::string &s) { return std::find(v.begin(), v.end(), s) != v.end(); }

} // namespace

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
    c->binding_ = std::make_unique<PortBinding>(
        config.sources.empty() ? std::vector<std::string>{"chronus:out_*"} : config.sources, config.channels);
    c->inputLog_.resize(config.channels);

    for (std::size_t i = 0; i < config.channels; ++i) {
        const std::string name = "in_" + std::to_string(i + 1);
        jack_port_t *p = jack_port_register(jc, name.c_str(), JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        if (!p)
            return fail("cannot register JACK port " + name);
        c->ports_.push_back(p);
    }
    if (!config.clock.empty()) {
        c->clockSource_ = config.clock;
        c->clockPort_ = jack_port_register(jc, "clock", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        if (!c->clockPort_)
            return fail("cannot register JACK port clock");
    }
    c->buffers_.resize(config.channels);
    c->connected_.assign(config.channels, 0);
    c->wasConnected_.assign(config.channels, 0);
    c->justConnected_.assign(config.channels, 0);
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
    jack_set_port_connect_callback(jc, &Capture::onConnect, c.get());
    jack_set_client_registration_callback(jc, &Capture::onClientRegistration, c.get());
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

// JACK's notification thread must not call back into the server: these only raise the flag
// the control loop's reconnect() looks at.
void Capture::onRegistration(jack_port_id_t, int, void *arg)
{
    static_cast<Capture *>(arg)->graphChanged_.store(true, std::memory_order_release);
}

void Capture::onConnect(jack_port_id_t, jack_port_id_t, int, void *arg)
{
    static_cast<Capture *>(arg)->graphChanged_.store(true, std::memory_order_release);
}

void Capture::onClientRegistration(const char *, int, void *arg)
{
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

namespace {
bool allZero(const float *x, std::size_t n) noexcept
{
    for (std::size_t i = 0; i < n; ++i)
        if (x[i] != 0.0f)
            return false;
    return true;
}
} // namespace

int Capture::process(jack_nframes_t frames) noexcept
{
    const std::uint32_t t = jack_last_frame_time(client_->get());
    const std::uint64_t now = frameTime_.extend(t);
    cycleFrame_.store(now, std::memory_order_relaxed);
    cycleFrame32_.store(t, std::memory_order_release);

    // Whether each input has a port connected in this cycle's graph (jack_port_connected
    // reads the current graph state without waiting when called from the process thread).
    for (std::size_t c = 0; c < ports_.size(); ++c) {
        connected_[c] = jack_port_connected(ports_[c]) > 0 ? 1 : 0;
        justConnected_[c] = connected_[c] && !wasConnected_[c];
        wasConnected_[c] = connected_[c];
    }
    const bool feeding = feeding_.load(std::memory_order_acquire);
    // With a timeline clock: the frame its writer gave this cycle's block, read before the
    // audio is copied and compared after (the writer clears it before writing the audio and
    // sets it after: an unchanged frame means the audio copied is that block's).
    std::optional<std::uint64_t> label;
    const float *clockBuffer = nullptr;
    if (clockPort_) {
        clockBuffer = static_cast<const float *>(jack_port_get_buffer(clockPort_, frames));
        label = timeline_clock::read(clockBuffer, frames);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (label) {
            clockToJack_.store(now - *label, std::memory_order_relaxed);
            clockSeen_.store(true, std::memory_order_release);
        }
    }
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
        if (clockPort_) {
            std::atomic_thread_fence(std::memory_order_acquire);
            torn = label && staged && timeline_clock::read(clockBuffer, frames) != label;
        } else {
            torn = staged && jack_last_frame_time(client_->get()) != t;
        }
        // The first cycle after a source is connected can still be silence: JACK may run us
        // before the (new) upstream client wrote into its port that cycle. All zeros then is
        // no source yet, declared as such, not the source's first block. Only that one cycle:
        // a source that stays silent is a source.
        for (std::size_t c = 0; c < ports_.size(); ++c)
            if (justConnected_[c] && allZero(buffers_[c], frames))
                connected_[c] = 0;
    }
    if (clockPort_)
        feeder_->clockedCycle(label, buffers_.data(), frames, feeding, torn, connected_.data());
    else
        feeder_->cycle(now, buffers_.data(), frames, feeding, torn, connected_.data());
    cycles_.fetch_add(1, std::memory_order_release);
    return 0;
}

std::uint64_t Capture::nowFrame() const
{
    const std::uint32_t base32 = cycleFrame32_.load(std::memory_order_acquire);
    const std::uint64_t base = cycleFrame_.load(std::memory_order_relaxed);
    const std::uint64_t now = frameNow(base, base32, jack_frame_time(client_->get()));
    if (!clockPort_)
        return now;
    if (!clockSeen_.load(std::memory_order_acquire))
        return 0;
    const std::uint64_t offset = clockToJack_.load(std::memory_order_relaxed);
    return now > offset ? now - offset : 0;
}

std::int64_t Capture::wallClockMicros(std::uint64_t frame) const
{
    const std::uint64_t jackFrame = clockPort_ ? jackFrameOf(frame) : frame;
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
    using Clock = std::chrono::steady_clock;
    const auto now = Clock::now();
    if (graphChanged_.exchange(false, std::memory_order_acq_rel)) {
        lastChange_ = now;
        passPending_ = true;
        nextPass_ = now;
    }
    if (!force && !(passPending_ && now >= nextPass_))
        return 0;
    passPending_ = false;
    jack_client_t *jc = client_->get();
    std::vector<std::string> sources = portList(jack_get_ports(jc, nullptr, JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput));
    std::sort(sources.begin(), sources.end());

    // When the next pass is due without a graph change: new ports settling, a refused connection.
    std::optional<Clock::time_point> due;
    if (binding_->wouldBind(sources)) {
        if (force || now - lastChange_ >= kSettle) {
            for (std::size_t k : binding_->bindNew(sources))
                log::info(inputName(k), " is bound to ", binding_->boundTo(k));
            ++bindingVersion_;
        } else {
            due = lastChange_ + kSettle;
        }
    }

    int made = 0;
    bool anyWithout = false;
    for (std::size_t k = 0; k < ports_.size(); ++k) {
        InputLog &in = inputLog_[k];
        const std::string &want = binding_->boundTo(k);
        const std::vector<std::string> have = portList(jack_port_get_connections(ports_[k]));
        bool hasSource = !want.empty() && contains(have, want);
        if (!want.empty() && !hasSource && std::binary_search(sources.begin(), sources.end(), want)) {
            const int r = jack_connect(jc, want.c_str(), jack_port_name(ports_[k]));
            if (r == 0 || r == EEXIST) {
                made += r == 0;
                hasSource = true;
                in.refused = false;
            } else {
                if (!in.refused)
                    log::warn("JACK refuses to connect ", want, " -> ", jack_port_name(ports_[k]),
                              "; trying again every second");
                in.refused = true;
                due = std::min(due.value_or(now + kRetry), now + kRetry);
            }
        }
        // Connections someone else made stay (somebody asked for them), but the recording
        // holds their sum with the source: said once per connection.
        std::erase_if(in.foreign, [&have](const std::string &p) { return !contains(have, p); });
        for (const std::string &p : have)
            if (p != want && !contains(in.foreign, p)) {
                log::warn(inputName(k), " is also connected to ", p, ", not by the recorder (its source is ",
                          want.empty() ? std::string("none yet") : want, "): the recording holds the sum");
                in.foreign.push_back(p);
            }
        // Loss and return, once each. An input with only connections someone else made
        // records those: it is not without a source.
        const bool connected = hasSource || !have.empty();
        anyWithout = anyWithout || !connected;
        if (connected == in.hadSource && !firstPass_)
            continue;
        if (hasSource)
            log::info(inputName(k), in.lost ? " has its source " : " records ", want, in.lost ? " again" : "");
        else if (connected)
            ; // said above
        else if (want.empty())
            log::info(inputName(k), " has no source yet: it records silence, declared in the sidecar, until a new "
                                    "port matches --port");
        else if (in.hadSource)
            log::warn(inputName(k), " lost its source ", want, ": it records silence, declared in the sidecar, until ",
                      want, " returns");
        else
            log::info(inputName(k), " waits for ", want, ": it records silence, declared in the sidecar, until then");
        in.lost = in.lost || (in.hadSource && !connected);
        in.hadSource = connected;
    }
    if (clockPort_) {
        // The clock is followed by name, like a source: connected whenever it exists.
        bool has = contains(portList(jack_port_get_connections(clockPort_)), clockSource_);
        if (!has && std::binary_search(sources.begin(), sources.end(), clockSource_)) {
            const int r = jack_connect(jc, clockSource_.c_str(), jack_port_name(clockPort_));
            has = r == 0 || r == EEXIST;
            made += r == 0;
        }
        if (firstPass_ || has != clockHad_) {
            if (has)
                log::info("cycles are placed by the timeline clock ", clockSource_);
            else
                log::warn("the timeline clock ", clockSource_,
                          " is not connected: cycles cannot be placed and are not recorded until it is");
        }
        clockHad_ = has;
    }
    if (due) {
        passPending_ = true;
        nextPass_ = *due;
    }

    // A source that came back under another name (NetJACK2 registers a returning slave as
    // "<name>-01" when its old name is still taken) is not followed: say what appeared.
    std::vector<std::string> appeared;
    std::set_difference(sources.begin(), sources.end(), knownPorts_.begin(), knownPorts_.end(),
                        std::back_inserter(appeared));
    if (anyWithout && !firstPass_ && !appeared.empty()) {
        // A matching port with a free input left is bound once the graph settles: not news.
        const std::vector<std::string> bound = boundSources();
        const bool freeInput = contains(bound, std::string());
        std::vector<std::string> unmatched, unbound;
        for (const std::string &p : appeared)
            if (!binding_->matches(p))
                unmatched.push_back(p);
            else if (!freeInput && !contains(bound, p))
                unbound.push_back(p);
        if (!unmatched.empty())
            log::warn("new ports that match no --port pattern, while an input has no source: ", nameList(unmatched));
        if (!unbound.empty())
            log::warn("new ports that match --port but find every input bound to another port: ", nameList(unbound));
    }
    knownPorts_ = std::move(sources);
    firstPass_ = false;
    return made;
}

std::vector<std::string> Capture::boundSources() const
{
    std::vector<std::string> out;
    for (std::size_t k = 0; k < binding_->inputs(); ++k)
        out.push_back(binding_->boundTo(k));
    return out;
}

std::vector<std::vector<std::string>> Capture::connections() const
{
    std::vector<std::vector<std::string>> out;
    for (jack_port_t *p : ports_)
        out.push_back(portList(jack_port_get_connections(p)));
    return out;
}

} // namespace chronus::rec
