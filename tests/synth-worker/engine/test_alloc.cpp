// Counts heap calls while the engine renders: process() must not allocate or free. Every
// replaceable form of operator new and delete is replaced (plain, array, aligned, nothrow,
// sized), and a first test proves the counter sees a deliberate allocation.
#include "tests/synth-worker/engine/engine_fixtures.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

thread_local bool counting = false;
std::atomic<long> heapCalls{0};

void count() noexcept
{
    if (counting)
        heapCalls.fetch_add(1, std::memory_order_relaxed);
}

void *allocate(std::size_t size, std::size_t alignment) noexcept
{
    count();
    size = size ? size : 1;
    if (alignment <= alignof(std::max_align_t))
        return std::malloc(size);
    // aligned_alloc wants a size that is a multiple of the alignment.
    return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
}

void release(void *p) noexcept
{
    if (p)
        count();
    std::free(p);
}

void *allocateOrThrow(std::size_t size, std::size_t alignment)
{
    if (void *p = allocate(size, alignment))
        return p;
    throw std::bad_alloc();
}

constexpr std::size_t kPlain = alignof(std::max_align_t);

} // namespace

void *operator new(std::size_t size) { return allocateOrThrow(size, kPlain); }
void *operator new[](std::size_t size) { return allocateOrThrow(size, kPlain); }
void *operator new(std::size_t size, std::align_val_t a) { return allocateOrThrow(size, std::size_t(a)); }
void *operator new[](std::size_t size, std::align_val_t a) { return allocateOrThrow(size, std::size_t(a)); }
void *operator new(std::size_t size, const std::nothrow_t &) noexcept { return allocate(size, kPlain); }
void *operator new[](std::size_t size, const std::nothrow_t &) noexcept { return allocate(size, kPlain); }
void *operator new(std::size_t size, std::align_val_t a, const std::nothrow_t &) noexcept
{
    return allocate(size, std::size_t(a));
}
void *operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t &) noexcept
{
    return allocate(size, std::size_t(a));
}
void operator delete(void *p) noexcept { release(p); }
void operator delete[](void *p) noexcept { release(p); }
void operator delete(void *p, std::size_t) noexcept { release(p); }
void operator delete[](void *p, std::size_t) noexcept { release(p); }
void operator delete(void *p, std::align_val_t) noexcept { release(p); }
void operator delete[](void *p, std::align_val_t) noexcept { release(p); }
void operator delete(void *p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { release(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { release(p); }
void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept { release(p); }
void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept { release(p); }

using namespace chronus::engine;
using namespace chronus::model;

namespace {

// Escapes a pointer so the compiler cannot drop the allocation that made it.
void *volatile escaped = nullptr;

struct alignas(64) CacheLine {
    float values[16];
};

} // namespace

TEST(Allocation, TheCounterSeesEveryFormOfAllocationInsideTheCountedRegion)
{
    heapCalls = 0;
    counting = true;
    auto *plain = new std::vector<float>(100);
    escaped = plain->data();
    delete plain;
    auto *aligned = new CacheLine;
    escaped = aligned;
    delete aligned;
    auto *array = new CacheLine[3];
    escaped = array;
    delete[] array;
    auto *quiet = new (std::nothrow) int[8];
    escaped = quiet;
    delete[] quiet;
    counting = false;
    // Each new and each delete counts: vector + its buffer, aligned, aligned array, nothrow.
    EXPECT_EQ(heapCalls.load(), 10);
    heapCalls = 0;
    escaped = new int(1);
    delete static_cast<int *>(escaped);
    EXPECT_EQ(heapCalls.load(), 0) << "only the counted region counts";
}

TEST(Allocation, RenderingEveryModuleWithEventsTextResetsAndACommitNeverTouchesTheHeap)
{
    const double rate = 48000;
    Interpreter controller;
    auto loaded = controller.load(chronus::test::sequencedPatch());
    ASSERT_TRUE(loaded);
    Engine engine(rate, 256);
    engine.install(std::move(*Graph::build(*loaded->commit, rate, 256)));
    // Parameter sets, gates, text parameters (pattern, notes, lanes: SetElement events) and
    // node resets, resolved now; the crossfaded swap's own commands are left out (it is
    // submitted below, built off the audio path).
    auto commands = chronus::test::merged(chronus::test::randomCommands(*loaded->commit, 48000, 500),
                                          chronus::test::textGateAndSwapCommands(1u << 30));
    std::vector<Event> events;
    std::size_t texts = 0, resets = 0;
    for (const auto &c : commands) {
        if (c.frame >= 48000)
            continue;
        auto outcome = controller.handle(c.address, c.args);
        ASSERT_TRUE(outcome) << c.address << ": " << outcome.error();
        for (auto e : outcome->events) {
            e.frame = c.frame;
            texts += e.type == EventType::SetElement;
            resets += e.type == EventType::ResetNode;
            events.push_back(e);
        }
    }
    ASSERT_GT(texts, 10u);
    ASSERT_GT(resets, 0u);
    // A second patch to swap in mid-way, with a crossfade (built here, off the audio path).
    auto graph = Graph::build(*controller.liveShared(), rate, 256);
    ASSERT_TRUE(engine.submitGraph(std::move(*graph), 20000, 480));
    std::vector<std::byte> snapshot(engine.snapshotSize() + 1024);

    std::vector<float> l(256), r(256), extra(256);
    float *out[3] = {l.data(), r.data(), extra.data()};
    std::size_t nextEvent = 0;
    heapCalls = 0;
    counting = true;
    for (std::uint64_t pos = 0; pos < 48000; pos += 256) {
        while (nextEvent < events.size() && events[nextEvent].frame < pos + 256)
            engine.schedule(events[nextEvent++]);
        engine.render(out, 3, 256);
        if (pos == 30720)
            engine.saveSnapshot(snapshot);
    }
    counting = false;
    EXPECT_EQ(heapCalls.load(), 0) << "heap calls during render";
    EXPECT_EQ(engine.stats().swaps, 1u);
    EXPECT_EQ(engine.stats().eventsApplied, events.size());
    while (engine.takeRetired()) {
    }
}
