// Patches and event streams that exercise the whole catalogue, for engine-level tests.
#pragma once

#include "model/interpreter.hpp"
#include "synth-worker/engine/engine.hpp"
#include "common/rt.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace chronus::test {

// One node of every catalogue type, each fed by a 110 Hz saw-ish source where it has an
// audio input, all mixed into the output at a low level; LFO-style modulation where it can.
// With `only` set, the patch holds just that type (plus the sources).
inline model::PatchSpec everyModulePatch(const std::string &only = {})
{
    using model::PatchSpec;
    PatchSpec spec;
    spec.nodes.push_back({"src", "sine", {{"freq", 110.0}, {"gain", 0.8}}});
    spec.nodes.push_back({"wob", "sine", {{"freq", 3.0}, {"gain", 1.0}}});
    for (const auto &m : model::moduleCatalogue()) {
        if (m.type == "output" || m.type == "voice" || (!only.empty() && m.type != only))
            continue;
        const std::string id = "n_" + m.type;
        spec.nodes.push_back({id, m.type, {}});
        if (m.mainInputs > 0)
            spec.connections.push_back({"src", id, 1.0});
        for (const auto &in : m.inputs)
            if (in.name == "gate")
                spec.connections.push_back({"wob", id + ".gate", 1.0});
        if (!m.outputs.empty())
            spec.connections.push_back({id, "output", 0.05});
        // Modulate the first continuous parameter a little.
        for (const auto &p : m.params) {
            if (p.type == model::ParamType::Float) {
                spec.connections.push_back({"wob", id + "." + p.name, 0.1 * (p.max - p.min)});
                break;
            }
        }
    }
    return spec;
}

// everyModulePatch() plus a voice played by a sequencer: drv.pitch -> voice.freq, drv.gate
// and drv.velocity -> env, voice -> env -> output, drv.lane1 modulating a filter cutoff.
// Text parameters (pattern, notes, lanes) and gates change what it plays.
inline model::PatchSpec sequencedPatch()
{
    model::PatchSpec spec = everyModulePatch();
    spec.nodes.push_back({"drv", "sequencer", {{"bpm", 140.0}, {"pattern", "X.x.x..x"}, {"notes", "A2 C3 E3"}}});
    spec.nodes.push_back({"voice", "osc", {{"waveform", "saw"}}});
    spec.nodes.push_back({"env", "adsr", {{"attack", 1.0}, {"decay", 60.0}, {"sustain", 0.4}, {"release", 30.0}}});
    spec.connections.push_back({"drv.pitch", "voice.freq", 1.0});
    spec.connections.push_back({"drv.gate", "env.gate", 1.0});
    spec.connections.push_back({"drv.velocity", "env.velocity", 1.0});
    spec.connections.push_back({"voice", "env", 1.0});
    spec.connections.push_back({"env", "output", 0.3});
    spec.connections.push_back({"drv.lane1", "n_biquad_filter.cutoff", 1.0});
    return spec;
}

// A reproducible stream of parameter changes and gates for every node of `patch`.
struct TimedCommand {
    std::uint64_t frame;
    std::string address;
    std::vector<model::Arg> args;
};

inline std::vector<TimedCommand> randomCommands(const model::CompiledPatch &patch, std::uint64_t frames,
                                                std::size_t count, unsigned seed = 7)
{
    std::mt19937 rng(seed);
    std::vector<TimedCommand> out;
    for (std::size_t i = 0; i < count; ++i) {
        const auto &node = patch.nodes[rng() % patch.nodes.size()];
        if (node.spec->params.empty())
            continue;
        const auto &p = node.spec->params[rng() % node.spec->params.size()];
        std::uniform_real_distribution<float> value(p.min, p.max);
        float v = value(rng);
        if (p.type == model::ParamType::Float && p.max > 1000.0f)
            v = std::min(v, 2000.0f); // keep frequencies musical
        out.push_back({rng() % frames, "/mod/" + node.id + "/" + p.name, {v}});
    }
    std::stable_sort(out.begin(), out.end(), [](auto &a, auto &b) { return a.frame < b.frame; });
    return out;
}

// Commands for sequencedPatch() that are not plain parameter sets: text parameters
// (pattern, notes, lane values), gates by command, a node reset, and at `swapFrame` a commit
// with a 10 ms crossfade that adds an audible node.
inline std::vector<TimedCommand> textGateAndSwapCommands(std::uint64_t swapFrame)
{
    using S = std::string;
    std::vector<TimedCommand> out = {
        {3001, "/seq/pattern", {S("drv"), S("x.X.xx.X")}},
        {5003, "/gate/n_kick", {1}},
        {5999, "/gate/n_kick", {0}},
        {7777, "/seq/notes", {S("drv"), S("C2"), S("G2"), S("Bb2"), S("D#3")}},
        {9001, "/mod/drv/lane1", {S("200 -300 600")}},
        {11111, "/gate/env", {S("on")}},
        {12345, "/gate/env", {S("off")}},
        {15000, "/seq/reset", {S("drv")}},
        {17003, "/mod/n_sequencer/pattern", {S("X..x")}},
        {19999, "/gate/n_snare", {1}},
        {swapFrame, "/patch/create", {S("late"), S("osc"), S("waveform"), S("square"), S("freq"), 330, S("amp"), 0.2f}},
        {swapFrame, "/patch/connect", {S("late"), S("output")}},
        {swapFrame, "/patch/commit", {10}},
        {swapFrame + 1, "/seq/pattern", {S("drv"), S("xxxx")}},
        {swapFrame + 4000, "/seq/notes", {S("drv"), S("E2 A2")}},
        {swapFrame + 4000, "/gate/n_hat", {1}},
    };
    return out;
}

// Merges two command lists by frame (stable: `a` first among equal frames).
inline std::vector<TimedCommand> merged(std::vector<TimedCommand> a, const std::vector<TimedCommand> &b)
{
    a.insert(a.end(), b.begin(), b.end());
    std::stable_sort(a.begin(), a.end(), [](auto &x, auto &y) { return x.frame < y.frame; });
    return a;
}

// Renders `frames` of a patch with commands in blocks of `blockSize`; returns L then R.
// Commits are built and swapped in at their command's frame with their crossfade.
inline std::vector<float> renderWith(const model::PatchSpec &spec, const std::vector<TimedCommand> &commands,
                                     std::uint64_t frames, std::uint32_t blockSize, double rate = 48000.0)
{
    model::Interpreter controller;
    engine::Engine engine(rate, blockSize, 1 << 16);
    auto loaded = controller.load(spec);
    EXPECT_TRUE(loaded) << (loaded ? "" : loaded.error());
    auto graph = engine::Graph::build(*loaded->commit, rate, blockSize);
    EXPECT_TRUE(graph) << (graph ? "" : graph.error());
    engine.install(std::move(*graph));
    std::vector<float> left(frames), right(frames);
    std::size_t next = 0;
    for (std::uint64_t pos = 0; pos < frames; pos += blockSize) {
        const auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(blockSize, frames - pos));
        while (next < commands.size() && commands[next].frame < pos + n) {
            auto outcome = controller.handle(commands[next].address, commands[next].args);
            EXPECT_TRUE(outcome) << commands[next].address << ": " << (outcome ? "" : outcome.error());
            if (outcome) {
                for (auto e : outcome->events) {
                    e.frame = commands[next].frame;
                    EXPECT_TRUE(engine.schedule(e));
                }
                if (outcome->commit) {
                    auto graph = engine::Graph::build(*outcome->commit, rate, blockSize);
                    EXPECT_TRUE(graph) << (graph ? "" : graph.error());
                    EXPECT_TRUE(engine.submitGraph(std::move(*graph), commands[next].frame,
                                                   model::crossfadeFrames(outcome->crossfadeMs, rate)));
                }
            }
            ++next;
        }
        float *out[2] = {left.data() + pos, right.data() + pos};
        engine.render(out, 2, n);
        while (engine.takeRetired()) {
        }
    }
    left.insert(left.end(), right.begin(), right.end());
    return left;
}

} // namespace chronus::test
