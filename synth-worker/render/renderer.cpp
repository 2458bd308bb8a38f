#include "renderer.hpp"

namespace chronus::render {

using namespace chronus::engine;

namespace {

// Carries out a controller outcome at `frame`: events are scheduled, a commit is built
// now and swapped in at exactly that frame.
Expected<void> carryOut(Engine &engine, const Outcome &outcome, std::uint64_t frame)
{
    for (Event e : outcome.events) {
        e.frame = frame;
        if (!engine.schedule(e))
            return fail("too many pending events");
    }
    if (outcome.commit) {
        auto graph = Graph::build(*outcome.commit, engine.sampleRate(), engine.maxFrames());
        if (!graph)
            return fail(graph.error());
        if (!engine.submitGraph(std::move(*graph), frame, crossfadeFrames(outcome.crossfadeMs, engine.sampleRate())))
            return fail("too many pending patch commits");
    }
    return {};
}

} // namespace

Expected<void> render(const RenderOptions &options, const BlockSink &sink, const Progress &progress)
{
    if (options.blockSize == 0 || options.channels == 0)
        return fail("block size and channel count must be positive");
    Engine engine(options.sampleRate, options.blockSize, 1 << 16);
    Controller controller;
    if (options.patch) {
        auto loaded = controller.load(*options.patch);
        if (!loaded)
            return fail("patch: " + loaded.error());
        auto graph = Graph::build(*loaded->commit, options.sampleRate, options.blockSize);
        if (!graph)
            return fail("patch: " + graph.error());
        engine.install(std::move(*graph));
    }

    std::vector<std::vector<float>> buffers(options.channels, std::vector<float>(options.blockSize));
    std::vector<float *> out(options.channels);
    for (std::uint32_t c = 0; c < options.channels; ++c)
        out[c] = buffers[c].data();

    std::size_t next = 0;
    for (std::uint64_t pos = 0; pos < options.frames; pos += options.blockSize) {
        const auto n = static_cast<std::uint32_t>(std::min<std::uint64_t>(options.blockSize, options.frames - pos));
        // Hand over every command due inside this block; the engine splits at its frame.
        while (next < options.script.size() && options.script[next].frame < pos + n) {
            const auto &cmd = options.script[next++];
            const std::string where = "line " + std::to_string(cmd.line) + " (" + cmd.address + "): ";
            auto outcome = controller.handle(cmd.address, cmd.args);
            if (!outcome)
                return fail(where + outcome.error());
            if (auto done = carryOut(engine, *outcome, std::max(cmd.frame, pos)); !done)
                return fail(where + done.error());
        }
        engine.render(out.data(), options.channels, n);
        while (engine.takeRetired()) {
        }
        if (auto written = sink(out.data(), n); !written)
            return written;
        if (progress)
            progress(pos + n, options.frames);
    }
    return {};
}

} // namespace chronus::render
