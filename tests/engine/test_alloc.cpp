// Counts heap allocations while the engine renders: process() must not allocate.
#include "engine_fixtures.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
thread_local bool counting = false;
std::atomic<long> allocations{0};
} // namespace

void *operator new(std::size_t size)
{
    if (counting)
        allocations.fetch_add(1, std::memory_order_relaxed);
    if (void *p = std::malloc(size ? size : 1))
        return p;
    throw std::bad_alloc();
}
void *operator new[](std::size_t size) { return operator new(size); }
void operator delete(void *p) noexcept
{
    if (counting && p)
        allocations.fetch_add(1, std::memory_order_relaxed);
    std::free(p);
}
void operator delete[](void *p) noexcept { operator delete(p); }
void operator delete(void *p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void *p, std::size_t) noexcept { operator delete(p); }

using namespace chronus::engine;

TEST(Allocation, RenderingEveryModuleWithEventsAndACommitNeverTouchesTheHeap)
{
    const double rate = 48000;
    Controller controller;
    auto loaded = controller.load(chronus::test::everyModulePatch());
    ASSERT_TRUE(loaded);
    Engine engine(rate, 256);
    engine.install(std::move(*Graph::build(*loaded->commit, rate, 256)));
    const auto commands = chronus::test::randomCommands(*loaded->commit, 48000, 500);
    std::vector<Event> events;
    for (const auto &c : commands) {
        auto outcome = controller.handle(c.address, c.args);
        ASSERT_TRUE(outcome);
        for (auto e : outcome->events) {
            e.frame = c.frame;
            events.push_back(e);
        }
    }
    // A second patch to swap in mid-way, with a crossfade (built here, off the audio path).
    auto next = controller.handle("/mod/output/gain", {0.5f});
    ASSERT_TRUE(next);
    auto graph = Graph::build(*controller.liveShared(), rate, 256);
    ASSERT_TRUE(engine.submitGraph(std::move(*graph), 20000, 480));
    std::vector<std::byte> snapshot(engine.snapshotSize() + 1024);

    std::vector<float> l(256), r(256), extra(256);
    float *out[3] = {l.data(), r.data(), extra.data()};
    std::size_t nextEvent = 0;
    counting = true;
    for (std::uint64_t pos = 0; pos < 48000; pos += 256) {
        while (nextEvent < events.size() && events[nextEvent].frame < pos + 256)
            engine.schedule(events[nextEvent++]);
        engine.render(out, 3, 256);
        if (pos == 30720)
            engine.saveSnapshot(snapshot);
    }
    counting = false;
    EXPECT_EQ(allocations.load(), 0) << "heap calls during render";
    EXPECT_EQ(engine.stats().swaps, 1u);
    while (engine.takeRetired()) {
    }
}
