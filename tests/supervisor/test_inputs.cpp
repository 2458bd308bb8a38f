// Audio into the patch, tested on the audio: a JACK client plays a known signal into
// chronus:in_1; through a unity patch it comes out bit for bit exactly (lookahead + 2)
// periods later, the latency the ports report; through a filter it survives a worker's
// SIGKILL hitlessly, and the recording equals chronus-render of the journal, whose recorded
// input (<journal>.input.wav) the render reads back.
#include "live_fixture.hpp"

#include <sndfile.h>

#include <csignal>
#include <cstdio>
#include <cmath>

namespace {

using namespace chronus::harness;
using namespace std::chrono_literals;
using chronus::osc::Arg;
using chronus::osc::Client;
using chronus::osc::Protocol;

// The source's sample at JACK frame t: a deterministic pseudo-random value in [-0.5, 0.5)
// with exactly representable steps, so any shift or alteration shows.
float sourceSample(std::uint32_t t) { return float((t * 2654435761u) >> 16) / 65536.0f - 0.5f; }

// A JACK client playing sourceSample() of each frame's JACK time on its port.
class Source {
public:
    bool open(const std::string &destination)
    {
        jack_status_t st;
        client_ = jack_client_open("chronus-test-source", JackNoStartServer, &st);
        if (!client_)
            return false;
        port_ = jack_port_register(client_, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
        jack_set_process_callback(client_, &Source::thunk, this);
        return port_ && jack_activate(client_) == 0 &&
               jack_connect(client_, jack_port_name(port_), destination.c_str()) == 0;
    }
    ~Source()
    {
        if (client_)
            jack_client_close(client_);
    }
    jack_client_t *client() const { return client_; }

private:
    static int thunk(jack_nframes_t n, void *arg) { return static_cast<Source *>(arg)->process(n); }
    int process(jack_nframes_t n)
    {
        auto *out = static_cast<float *>(jack_port_get_buffer(port_, n));
        const jack_nframes_t t0 = jack_last_frame_time(client_);
        for (jack_nframes_t i = 0; i < n; ++i)
            out[i] = sourceSample(t0 + i);
        return 0;
    }
    jack_client_t *client_ = nullptr;
    jack_port_t *port_ = nullptr;
};

using LiveInputs = LiveSuiteTest;

} // namespace

TEST_F(LiveInputs, AnInputPassesAUnityPatchBitExactlyWithTheReportedLatency)
{
    loadPatch(R"({"nodes":[{"id":"in","type":"input"}],"connections":[{"from":"in","to":"output"}]})");
    Source source;
    ASSERT_TRUE(source.open("chronus:in_1"));
    Capture cap;
    ASSERT_TRUE(cap.open("chronus", 30));
    std::this_thread::sleep_for(500ms);
    cap.start();
    std::this_thread::sleep_for(1500ms);
    cap.stop();
    const std::uint32_t delay = (3 + 2) * 256;
    // JACK says so: the outputs lag what comes in by the delay.
    jack_latency_range_t range{};
    jack_port_get_latency_range(jack_port_by_name(source.client(), "chronus:out_L"), JackCaptureLatency, &range);
    EXPECT_EQ(range.max, delay) << "capture latency of chronus:out_L";
    // Every recorded cycle is the source's samples of `delay` frames earlier, bit for bit, or
    // (where JACK did not run the source or the supervisor in time) silence: never anything
    // else, never shifted.
    // The capture client's own uncertainties are counted apart, each on its evidence: a
    // cycle it copied while JACK began the next one (its frame time moved during the copy)
    // may hold the next cycle's output; a callback that ran late and read the next cycle's
    // time ahead (the following callback repeats its label) holds the cycle before's.
    std::size_t exact = 0, silent = 0, wrong = 0, capturedTorn = 0, capturedEarly = 0, at = 0;
    auto holdsSource = [&](std::size_t at, std::uint32_t frame, std::uint32_t frames) {
        for (std::uint32_t i = 0; i < frames; ++i) {
            const float want = sourceSample(frame + i - delay);
            if (cap.channel(0)[at + i] != want || cap.channel(1)[at + i] != want)
                return false;
        }
        return true;
    };
    for (std::size_t k = 0; k < cap.cycleCount(); ++k) {
        const auto &cycle = cap.cycle(k);
        bool zero = true;
        for (std::uint32_t i = 0; i < cycle.frames; ++i)
            zero = zero && cap.channel(0)[at + i] == 0.0f && cap.channel(1)[at + i] == 0.0f;
        if (holdsSource(at, cycle.frame, cycle.frames))
            ++exact;
        else if (zero)
            ++silent;
        else if (cycle.torn && holdsSource(at, cycle.frame + cycle.frames, cycle.frames))
            ++capturedTorn;
        else if (k + 1 < cap.cycleCount() && cap.cycle(k + 1).frame == cycle.frame &&
                 holdsSource(at, cycle.frame - cycle.frames, cycle.frames))
            ++capturedEarly;
        else
            ++wrong;
        at += cycle.frames;
    }
    std::printf("%zu cycles: %zu the input, %zu silent, %zu torn and %zu read early by the capture client, %zu wrong\n",
                cap.cycleCount(), exact, silent, capturedTorn, capturedEarly, wrong);
    EXPECT_EQ(wrong, 0u) << wrong << " cycles hold something other than the input or silence";
    EXPECT_GT(exact, 200u);
    EXPECT_LE(silent * 20, exact) << silent << " silent cycles of " << exact + silent;
}

TEST_F(LiveInputs, AFilteredInputGoesThroughAWorkerKillAndLiveEqualsTheJournalsRender)
{
    loadPatch(R"({"nodes":[{"id":"in","type":"input"},{"id":"lp","type":"biquad_filter","params":{"cutoff":1500}}],
             "connections":[{"from":"in","to":"lp"},{"from":"lp","to":"output"}]})");
    Source source;
    ASSERT_TRUE(source.open("chronus:in_1"));
    Capture cap;
    ASSERT_TRUE(cap.open("chronus", 30));
    std::this_thread::sleep_for(500ms);
    cap.start();
    std::this_thread::sleep_for(600ms);
    const double failovers = killActiveWorker();
    std::this_thread::sleep_for(500ms);
    cap.stop();
    const auto after = status(*client);
    ASSERT_TRUE(after);
    EXPECT_EQ(num(*after, "failovers"), failovers + 1);
    // (Blocks before the first input was published at start-up count as missing too.)
    std::printf("blocks rendered without input (start-up included): slot 0 %.0f, slot 1 %.0f\n",
                num(*after, "slot0_inputs_missing"), num(*after, "slot1_inputs_missing"));
    ASSERT_TRUE(std::filesystem::exists(journal.string() + ".input.wav")) << "no recorded input beside the journal";
    expectLiveEqualsRender(cap);
}

namespace {

// A mono WAV of a 220 Hz saw-ish ramp, `seconds` long.
std::string writeLoop(const std::filesystem::path &dir, double seconds, float scale = 0.4f)
{
    const auto path = (dir / "loop.wav").string();
    SF_INFO info{};
    info.samplerate = 48000;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE *f = sf_open(path.c_str(), SFM_WRITE, &info);
    std::vector<float> x(std::size_t(seconds * 48000));
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = scale * (2.0f * std::fmod(float(i) * 220.0f / 48000.0f, 1.0f) - 1.0f);
    sf_writef_float(f, x.data(), sf_count_t(x.size()));
    sf_close(f);
    return path;
}

} // namespace

TEST_F(LiveInputs, ALoopingSamplerGoesThroughAWorkerKillAndAChangedFileIsRefused)
{
    const std::string file = writeLoop(dir.path, 0.3);
    auto bad = command(*client, "/buffer/load", {std::string("loop"), (dir.path / "missing.wav").string()});
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->address, "/fail");
    EXPECT_NE(bad->stringAt(1).value_or("").find("not a readable file"), std::string::npos) << toString(*bad);
    auto loaded = command(*client, "/buffer/load", {std::string("loop"), file}, 6000);
    ASSERT_TRUE(loaded && loaded->address == "/done") << (loaded ? toString(*loaded) : "no reply");
    loadPatch(R"({"buffers":{"loop":{"file":")" + file + R"("}},"nodes":[{"id":"s","type":"sampler","params":{"buffer":"loop","loop":1,"gate":1}}],
             "connections":[{"from":"s","to":"output"}]})");
    auto inUse = command(*client, "/buffer/free", {std::string("loop")});
    ASSERT_TRUE(inUse);
    EXPECT_EQ(inUse->address, "/fail") << toString(*inUse);
    Capture cap;
    ASSERT_TRUE(cap.open("chronus", 30));
    std::this_thread::sleep_for(400ms);
    cap.start();
    std::this_thread::sleep_for(500ms);
    killActiveWorker();
    std::this_thread::sleep_for(400ms);
    cap.stop();
    expectLiveEqualsRender(cap, 0.05);
    // The journal names the file and its hash: a replay of a changed file refuses to render.
    writeLoop(dir.path, 0.3, 0.2f);
    std::filesystem::create_directories(dir.path / "changed");
    const auto again = renderJournal(journal, 48000, dir.path / "changed");
    EXPECT_FALSE(again) << "rendered a journal whose buffer file changed";
    const std::string why = readText(dir.path / "changed" / "render.log");
    EXPECT_NE(why.find("has changed since it was loaded"), std::string::npos) << why;
}
