#include "synth-worker/render/renderer.hpp"

#include <algorithm>
#include <cstdio>

namespace chronus::render {

using namespace chronus::engine;
using namespace chronus::model;

namespace {

// The engine's event queue never holds fewer than this (the busiest frame may need more).
constexpr std::size_t kMinEventCapacity = 1024;

std::string secondsText(std::uint64_t frame, double sampleRate)
{
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.6g s", static_cast<double>(frame) / sampleRate);
    return buf;
}

} // namespace

std::string Renderer::where(const Step &step) const
{
    return options_.scriptName + ":" + std::to_string(step.line) + ": ";
}

Expected<Renderer> Renderer::prepare(const RenderConfig &options, const Warn &warn)
{
    if (options.blockSize == 0 || options.channels == 0)
        return fail("block size and channel count must be positive");
    Renderer r;
    // Settings only: the patch and the script live on as initial_ and steps_.
    r.options_.frames = options.frames;
    r.options_.sampleRate = options.sampleRate;
    r.options_.blockSize = options.blockSize;
    r.options_.channels = options.channels;
    r.options_.patchName = options.patchName;
    r.options_.scriptName = options.scriptName;
    r.options_.inputChannels = options.inputChannels;
    r.options_.input = options.input;

    Interpreter controller;
    if (options.patch) {
        auto loaded = controller.load(*options.patch);
        if (!loaded)
            return fail(options.patchName + ": error: " + loaded.error());
        r.initial_ = loaded->commit;
    }

    // The dry run: every command, in the order the render will carry them out, including
    // those timed past the end, which are checked and then left out.
    bool warnedLate = false;
    for (const auto &cmd : options.script) {
        Step step{cmd.frame, cmd.line, cmd.address, {}};
        if (cmd.frame >= options.frames && !warnedLate && warn) {
            warn(r.where(step) + "warning: " + cmd.address + " at " + secondsText(cmd.frame, options.sampleRate) +
                 " is past the end of the render (" + secondsText(options.frames, options.sampleRate) +
                 "): it and the commands after it are checked but not rendered");
            warnedLate = true;
        }
        auto outcome = controller.handle(cmd.address, cmd.args);
        if (!outcome)
            return fail(r.where(step) + "error: " + cmd.address + ": " + outcome.error());
        if (warn && !outcome->warning.empty())
            warn(r.where(step) + "warning: " + cmd.address + ": " + outcome->warning);
        if (cmd.frame < options.frames) {
            step.outcome = std::move(*outcome);
            r.steps_.push_back(std::move(step));
        }
    }

    // run() renders up to each command's frame before handing it over, so the engine's
    // queues only ever hold what is due at one frame. Size them for the busiest frame.
    std::size_t events = 0, commits = 0;
    for (std::size_t i = 0; i < r.steps_.size(); ++i) {
        if (i == 0 || r.steps_[i].frame != r.steps_[i - 1].frame)
            events = commits = 0;
        const Outcome &o = r.steps_[i].outcome;
        events += o.events.size();
        if (o.commit && ++commits > Engine::kMaxPendingSwaps)
            return fail(r.where(r.steps_[i]) + "error: " + r.steps_[i].address + ": more than " +
                        std::to_string(Engine::kMaxPendingSwaps) + " patch commits at one frame");
        r.eventCapacity_ = std::max(r.eventCapacity_, events);
    }
    r.eventCapacity_ = std::max(kMinEventCapacity, r.eventCapacity_);
    return r;
}

Expected<void> Renderer::run(const BlockSink &sink, const Progress &progress) const
{
    const double rate = options_.sampleRate;
    const std::uint32_t block = options_.blockSize;
    Engine engine(rate, block, eventCapacity_);
    if (initial_) {
        auto graph = Graph::build(*initial_, rate, block);
        if (!graph)
            return fail(options_.patchName + ": error: " + graph.error());
        engine.install(std::move(*graph));
    }

    // The engine renders L and R; the file gets what --channels asks for.
    std::vector<float> left(block), right(block), mono, silence;
    std::vector<const float *> planes(options_.channels);
    if (options_.channels == 1) {
        mono.resize(block);
        planes[0] = mono.data();
    } else {
        silence.assign(block, 0.0f);
        for (std::uint32_t c = 0; c < options_.channels; ++c)
            planes[c] = c == 0 ? left.data() : c == 1 ? right.data() : silence.data();
    }

    // The block's input, read once per block and handed on span by span.
    const std::uint32_t inputs = options_.input ? std::min(options_.inputChannels, 16u) : 0;
    std::vector<float> input(std::size_t{inputs} * block);
    float *inputBlock[16] = {};
    for (std::uint32_t c = 0; c < inputs; ++c)
        inputBlock[c] = input.data() + std::size_t{c} * block;

    std::size_t next = 0;
    for (std::uint64_t pos = 0; pos < options_.frames; pos += block) {
        const auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(block, options_.frames - pos));
        if (inputs)
            options_.input(pos, n, inputBlock);
        std::uint32_t done = 0;
        auto renderTo = [&](std::uint32_t end) {
            if (end <= done)
                return;
            float *out[2] = {left.data() + done, right.data() + done};
            const float *in[16] = {};
            for (std::uint32_t c = 0; c < inputs; ++c)
                in[c] = inputBlock[c] + done;
            engine.render(out, 2, end - done, in, inputs);
            done = end;
        };
        while (next < steps_.size() && steps_[next].frame < pos + n) {
            const Step &step = steps_[next++];
            // Output does not depend on where a render call splits, so splitting at each
            // command keeps the engine's queues to one frame's worth.
            renderTo(static_cast<std::uint32_t>(step.frame - pos));
            for (Event e : step.outcome.events) {
                e.frame = step.frame;
                if (!engine.schedule(e))
                    return fail(where(step) + "error: " + step.address + ": too many events at one frame");
            }
            if (const auto &commit = step.outcome.commit) {
                auto graph = Graph::build(*commit, rate, block);
                if (!graph)
                    return fail(where(step) + "error: " + step.address + ": " + graph.error());
                const auto fade = crossfadeFrames(step.outcome.crossfadeMs, rate);
                if (!engine.submitGraph(std::move(*graph), step.frame, fade))
                    return fail(where(step) + "error: " + step.address + ": too many patch commits at one frame");
            }
        }
        renderTo(n);
        while (engine.takeRetired()) {
        }
        if (options_.channels == 1) {
            // Both channels at half level: a mono source keeps its level, a hard pan is heard.
            for (std::uint32_t i = 0; i < n; ++i)
                mono[i] = 0.5f * (left[i] + right[i]);
        }
        if (auto written = sink(planes.data(), n); !written)
            return written;
        if (progress)
            progress(pos + n, options_.frames);
    }
    return {};
}

} // namespace chronus::render
