// Stems, tested on the audio: nodes named in the patch's "stems" or by /stem go out on
// chronus:stem_<node>_L/R from the active slot; chronus-recorder records them beside the
// main output in one take, and in every frame of that take (across a worker's SIGKILL) the
// stems sum to the main mix exactly, as the patch sums them.
#include "live_fixture.hpp"

#include "harness/process.hpp"

#include <jack/jack.h>
#include <sndfile.h>

#include <cmath>

namespace {

using namespace chronus::harness;
using namespace std::chrono_literals;
using chronus::osc::Client;
using chronus::osc::Protocol;
namespace fs = std::filesystem;

using LiveStems = LiveSuiteTest;

// Two voices summed by the output node (gain 1: the mix is exactly a + b), "a" a stem from
// the patch file.
const char *kTwoVoices =
    R"({"nodes":[{"id":"a","type":"osc","params":{"freq":220,"amp":0.25}},
                 {"id":"b","type":"osc","params":{"freq":331,"amp":0.2,"waveform":"saw"}}],
        "connections":[{"from":"a","to":"output"},{"from":"b","to":"output"}],"stems":["a"]})";

// True once port `name` exists on the JACK server (within `timeoutMs`), or once it is gone
// when `exists` is false.
bool awaitPort(const std::string &name, bool exists, int timeoutMs = 3000)
{
    jack_status_t st{};
    jack_client_t *c = jack_client_open("chronus-test-ports", JackNoStartServer, &st);
    if (!c)
        return false;
    bool ok = false;
    for (int waited = 0; waited <= timeoutMs && !ok; waited += 20) {
        ok = (jack_port_by_name(c, name.c_str()) != nullptr) == exists;
        if (!ok)
            std::this_thread::sleep_for(20ms);
    }
    jack_client_close(c);
    return ok;
}

TEST_F(LiveStems, StemsSumToTheMainMixInEveryFrameOfAMultitrackTakeAcrossAFailover)
{
    CHRONUS_REQUIRE_RECORDER(recorder);
    loadPatch(kTwoVoices);
    auto added = command(*client, "/stem", {std::string("b"), 1});
    ASSERT_TRUE(added);
    ASSERT_EQ(added->address, "/done") << toString(*added);
    ASSERT_TRUE(awaitPort("chronus:stem_b_R", true)) << sup.log();
    auto st = status(*client);
    ASSERT_TRUE(st);
    EXPECT_EQ(str(*st, "stems"), "a b");

    // One take: out_L, out_R, stem_a_L, stem_a_R, stem_b_L, stem_b_R.
    const int port = freeUdpPort();
    const fs::path log = dir.path / "recorder.log";
    const pid_t rec = spawn({recorder, "--osc-port", std::to_string(port), "--dir", (dir.path / "takes").string(),
                             "--channels", "6", "--port", "chronus:out_*", "--port", "chronus:stem_*"},
                            log.string());
    auto recClient = Client::open(Protocol::Udp, "127.0.0.1", port);
    ASSERT_TRUE(recClient);
    ASSERT_TRUE(answers(**recClient, 5000)) << readText(log);
    std::this_thread::sleep_for(300ms); // connected, and the graph runs with it
    auto started = (*recClient)->request("/record/start", {std::string("stems")}, 4000);
    ASSERT_TRUE(started);
    ASSERT_EQ(started->address, "/done") << toString(*started);
    std::this_thread::sleep_for(700ms);
    const double failovers = killActiveWorker();
    std::this_thread::sleep_for(700ms);
    auto stopped = (*recClient)->request("/record/stop", {}, 4000);
    ASSERT_TRUE(stopped);
    ASSERT_EQ(stopped->address, "/done") << toString(*stopped);
    stopChild(rec);
    st = status(*client);
    ASSERT_TRUE(st);
    EXPECT_EQ(num(*st, "failovers"), failovers + 1);

    SF_INFO info{};
    SNDFILE *sf = sf_open(stopped->stringAt(1).value_or("").c_str(), SFM_READ, &info);
    ASSERT_TRUE(sf) << "cannot open the take";
    ASSERT_EQ(info.channels, 6);
    std::vector<float> data(std::size_t(info.frames) * 6);
    ASSERT_EQ(sf_readf_float(sf, data.data(), info.frames), info.frames);
    sf_close(sf);
    EXPECT_GT(info.frames, 48000) << "the take is too short";
    std::size_t wrong = 0, firstWrong = SIZE_MAX;
    double energyA = 0, energyB = 0;
    for (sf_count_t i = 0; i < info.frames; ++i) {
        const float *f = &data[std::size_t(i) * 6];
        // a and b are mono: both sides of a stem carry the node's output.
        const bool ok = f[2] == f[3] && f[4] == f[5] && f[0] == f[2] + f[4] && f[1] == f[3] + f[5];
        if (!ok && wrong++ == 0)
            firstWrong = std::size_t(i);
        energyA += double(f[2]) * f[2];
        energyB += double(f[4]) * f[4];
    }
    EXPECT_EQ(wrong, 0u) << "frames where the stems do not sum to the mix; the first at take frame " << firstWrong;
    EXPECT_GT(std::sqrt(energyA / double(info.frames)), 0.1) << "stem a was not heard";
    EXPECT_GT(std::sqrt(energyB / double(info.frames)), 0.05) << "stem b was not heard";
}

TEST_F(LiveStems, StemCommandsAreCheckedKeptWithThePatchAndTheirPortsGoWhenTheyGo)
{
    loadPatch(kTwoVoices);
    ASSERT_TRUE(awaitPort("chronus:stem_a_L", true)) << sup.log();
    auto expectFail = [&](std::vector<chronus::osc::Arg> args, const std::string &why) {
        auto r = command(*client, "/stem", args);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->address, "/fail") << toString(*r);
        EXPECT_NE(r->stringAt(1).value_or("").find(why), std::string::npos) << toString(*r);
    };
    expectFail({std::string("nosuch"), 1}, "no node 'nosuch'");
    expectFail({std::string("a"), 1}, "a stem already");
    expectFail({std::string("b"), 0}, "not a stem");
    expectFail({std::string("a"), 2}, "/stem takes <node> <1|0>");
    expectFail({std::string("a")}, "/stem takes <node> <1|0>");

    auto dump = command(*client, "/patch/dump");
    ASSERT_TRUE(dump);
    EXPECT_NE(dump->stringAt(1).value_or("").find("\"stems\""), std::string::npos) << toString(*dump);

    auto removed = command(*client, "/stem", {std::string("a"), std::string("off")});
    ASSERT_TRUE(removed);
    ASSERT_EQ(removed->address, "/done") << toString(*removed);
    EXPECT_TRUE(awaitPort("chronus:stem_a_L", false)) << "the stem's ports stayed";
    dump = command(*client, "/patch/dump");
    ASSERT_TRUE(dump);
    EXPECT_EQ(dump->stringAt(1).value_or("").find("\"stems\""), std::string::npos) << toString(*dump);
    EXPECT_TRUE(answers(*client));
}

} // namespace

namespace {

// The levels a /meter message gives for `node` (peak left, rms left), if it names it.
std::optional<std::pair<double, double>> tapLevels(const chronus::osc::Message &m, const std::string &node)
{
    for (std::size_t i = 6; i + 6 < m.args.size() + 1; ++i)
        if (m.stringAt(i) == node && m.numberAt(i + 1) && m.numberAt(i + 3))
            return std::make_pair(*m.numberAt(i + 1), *m.numberAt(i + 3));
    return std::nullopt;
}

TEST_F(LiveStems, AMeterTapMeasuresOneNodeBesideTheMix)
{
    // Two sines: a at half scale, b at a tenth; the mix peaks near 0.6.
    loadPatch(R"({"nodes":[{"id":"a","type":"sine","params":{"freq":220,"gain":0.5}},
                            {"id":"b","type":"sine","params":{"freq":330,"gain":0.1}}],
                  "connections":[{"from":"a","to":"output"},{"from":"b","to":"output"}]})");
    auto tapped = command(*client, "/meter/tap", {std::string("b")});
    ASSERT_TRUE(tapped);
    ASSERT_EQ(tapped->address, "/done") << toString(*tapped);
    auto again = command(*client, "/meter/tap", {std::string("b")});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->address, "/done") << "tapping a tapped node changes nothing: " << toString(*again);
    auto bad = command(*client, "/meter/tap", {std::string("zz")});
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->address, "/fail");
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(command(*client, "/meters", {1, 20.0f}));
    std::optional<std::pair<double, double>> b;
    double mixPeak = -300;
    const auto until = std::chrono::steady_clock::now() + 1000ms;
    while (std::chrono::steady_clock::now() < until)
        if (auto m = client->receive(50); m && m->address == "/meter") {
            mixPeak = m->numberAt(0).value_or(-300);
            if (auto t = tapLevels(*m, "b"))
                b = t;
        }
    ASSERT_TRUE(command(*client, "/meters", {0}));
    ASSERT_TRUE(b) << "no /meter message measured the tapped node";
    EXPECT_NEAR(b->first, 20 * std::log10(0.1), 0.2) << "peak of b";
    EXPECT_NEAR(b->second, 20 * std::log10(0.1 / std::sqrt(2.0)), 0.3) << "rms of b";
    EXPECT_GT(mixPeak, 20 * std::log10(0.5)) << "the mix is louder than either";
    // Untapped, it is no stem any more.
    auto off = command(*client, "/meter/tap", {std::string("b"), 0});
    ASSERT_TRUE(off);
    EXPECT_EQ(off->address, "/done") << toString(*off);
    EXPECT_TRUE(awaitPort("chronus:stem_b_L", false));
}

} // namespace
