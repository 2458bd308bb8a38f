// The sampler through the real engine: a known file at its own speed comes out sample for
// sample, an octave up in half the frames, looped, gated with a fade; a file changed since
// it was loaded is refused; the output does not depend on block size.
#include "engine_fixtures.hpp"

#include "common/sample_file.hpp"
#include "synth-worker/engine/graph.hpp"

#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <cstring>
#include <filesystem>

using namespace chronus;
using chronus::test::renderWith;
using chronus::test::TimedCommand;
using model::PatchSpec;
using S = std::string;

namespace {

// A mono file of `frames` deterministic samples; returns its path.
std::string writeFile(const std::string &name, std::size_t frames, int rate = 48000, float scale = 1.0f)
{
    const auto path = (std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".wav")).string();
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE *f = sf_open(path.c_str(), SFM_WRITE, &info);
    std::vector<float> x(frames);
    for (std::size_t i = 0; i < frames; ++i)
        x[i] = scale * (float((i * 2654435761u) >> 20) / 4096.0f - 0.5f);
    sf_writef_float(f, x.data(), sf_count_t(frames));
    sf_close(f);
    return path;
}

std::vector<float> fileSamples(const std::string &path)
{
    auto d = samples::load(path);
    return d ? d->samples : std::vector<float>{};
}

PatchSpec samplerPatch(const std::string &file, const std::string &params = "", const std::string &hash = "")
{
    auto spec = PatchSpec::fromJson(R"({"buffers":{"b":{"file":")" + file + R"(","hash":")" + hash +
                                    R"("}},"nodes":[{"id":"s","type":"sampler","params":{"buffer":"b")" + params +
                                    R"(}}],"connections":[{"from":"s","to":"output"}]})");
    EXPECT_TRUE(spec) << spec.error();
    return *spec;
}

} // namespace

TEST(Sampler, AFileAtItsOwnSpeedComesOutSampleForSample)
{
    const auto path = writeFile("plain", 10000);
    const auto x = fileSamples(path);
    ASSERT_EQ(x.size(), 10000u);
    const auto out = renderWith(samplerPatch(path), {{777, "/gate/s", {1}}}, 24000, 256);
    for (std::size_t i = 0; i < x.size(); ++i)
        ASSERT_EQ(out[777 + i], x[i]) << "frame " << i;
    EXPECT_EQ(out[777 + x.size()], 0.0f) << "stops at the end";
    EXPECT_EQ(out[776], 0.0f) << "nothing before the hit";
    std::filesystem::remove(path);
}

TEST(Sampler, AnOctaveUpPlaysInHalfTheFrames)
{
    const auto path = writeFile("octave", 10000);
    const auto x = fileSamples(path);
    const auto out = renderWith(samplerPatch(path, R"(,"rate":2)"), {{100, "/gate/s", {1}}}, 24000, 256);
    for (std::size_t k = 0; k < x.size() / 2; ++k)
        ASSERT_EQ(out[100 + k], x[2 * k]) << "frame " << k;
    EXPECT_EQ(out[100 + x.size() / 2], 0.0f) << "done in half the frames";
    // By pitch, in a poly: a note an octave above the root.
    auto poly = PatchSpec::fromJson(R"({"buffers":{"b":{"file":")" + path + R"("}},"nodes":[{"id":"p","type":"poly",
        "voice":{"nodes":[{"id":"s","type":"sampler","params":{"buffer":"b","root":60}}],
        "connections":[{"from":"voice.pitch","to":"s.pitch"},{"from":"voice.gate","to":"s.gate"},{"from":"s","to":"output"}]}}],
        "connections":[{"from":"p","to":"output"}]})");
    ASSERT_TRUE(poly) << poly.error();
    const auto played = renderWith(*poly, {{100, "/note/p", {72, 1.0f}}}, 24000, 256);
    std::size_t last = 0;
    for (std::size_t i = 0; i < 24000; ++i)
        if (played[i] != 0.0f)
            last = i;
    EXPECT_NEAR(double(last - 100), double(x.size()) / 2, 2.0) << "C5 from a C4 root plays twice as fast";
    std::filesystem::remove(path);
}

TEST(Sampler, LoopsGatesAndBlockSizesAgree)
{
    const auto path = writeFile("loop", 3000);
    const PatchSpec spec = samplerPatch(path, R"(,"loop":1,"loop_start":0.25,"loop_end":0.75,"mode":"gated","rate":1.3)");
    const std::vector<TimedCommand> commands = {{50, "/gate/s", {1}}, {20000, "/gate/s", {0}}, {30000, "/gate/s", {1}},
                                                {31000, "/mod/s/rate", {0.7f}}, {40000, "/gate/s", {0}}};
    const auto reference = renderWith(spec, commands, 48000, 256);
    float loud = 0;
    for (std::size_t i = 10000; i < 20000; ++i)
        loud = std::max(loud, std::fabs(reference[i]));
    EXPECT_GT(loud, 0.3f) << "still looping long after the file's length";
    for (std::size_t i = 20000 + 240; i < 30000; ++i)
        ASSERT_EQ(reference[i], 0.0f) << "a released gated loop stops after its 5 ms fade";
    for (std::uint32_t block : {1u, 7u, 64u, 253u, 1024u})
        EXPECT_EQ(std::memcmp(reference.data(), renderWith(spec, commands, 48000, block).data(),
                              reference.size() * sizeof(float)),
                  0)
            << "block " << block;
    std::filesystem::remove(path);
}

TEST(Sampler, AFileChangedSinceItWasLoadedIsRefusedAndOtherRatesAreResampled)
{
    const auto path = writeFile("changed", 4000);
    const auto original = samples::load(path);
    ASSERT_TRUE(original);
    writeFile("changed", 4000, 48000, 0.5f); // same name, other samples
    auto compiled = model::compile(samplerPatch(path, "", original->hash), 1);
    ASSERT_TRUE(compiled) << compiled.error();
    auto graph = engine::Graph::build(*compiled, 48000.0, 256);
    ASSERT_FALSE(graph) << "a changed file was played";
    EXPECT_NE(graph.error().find("has changed since it was loaded"), std::string::npos) << graph.error();
    // A 24 kHz file at 48 kHz: twice the frames.
    const auto slow = writeFile("slow", 2400, 24000);
    auto resampled = samples::load(slow, 48000.0);
    ASSERT_TRUE(resampled) << resampled.error();
    EXPECT_NEAR(double(resampled->frames), 4800.0, 2.0);
    EXPECT_FALSE(samples::load("/nonexistent.wav"));
    EXPECT_NE(samples::load("/etc/hostname").error().find("not an audio file"), std::string::npos);
    std::filesystem::remove(path);
    std::filesystem::remove(slow);
}
