// The shared-memory layout: SPSC rings against a simple model and across two processes,
// block stamps and hashes, frame extension, and instance ownership of the segment.
#include "common/shm_layout.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <limits>
#include <random>
#include <string>
#include <thread>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace chronus::shm;

std::string uniqueInstance(const char *tag) { return std::string("test-") + tag + "-" + std::to_string(getpid()); }

Geometry smallGeometry()
{
    Geometry g;
    g.periodFrames = 64;
    g.eventCapacity = 64;
    g.controlCapacity = 8;
    g.textBytes = 256;
    g.snapshotBytes = 4096;
    return g;
}

TEST(ShmRings, RecordRingBehavesLikeABoundedFifoUnderRandomPushAndPop)
{
    auto seg = Segment::create(uniqueInstance("fifo"), smallGeometry());
    ASSERT_TRUE(seg) << seg.error();
    const SlotView slot = (*seg)->slot(1);
    std::deque<std::uint64_t> model;
    std::mt19937 rng(7);
    std::uint64_t next = 0;
    for (int step = 0; step < 100000; ++step) {
        if (rng() % 3 != 0) {
            CommandRecord r;
            r.frame = next;
            const bool pushed = slot.events.tryPush(r);
            EXPECT_EQ(pushed, model.size() < 64);
            if (pushed)
                model.push_back(next++);
        } else {
            CommandRecord r;
            const bool popped = slot.events.tryPop(r);
            ASSERT_EQ(popped, !model.empty());
            if (popped) {
                EXPECT_EQ(r.frame, model.front());
                model.pop_front();
            }
        }
        ASSERT_EQ(slot.events.size(), model.size());
    }
}

TEST(ShmRings, TextRingRoundTripsAcrossTheWrapAndRefusesWhatDoesNotFit)
{
    auto seg = Segment::create(uniqueInstance("text"), smallGeometry());
    ASSERT_TRUE(seg) << seg.error();
    const SlotView slot = (*seg)->slot(0);
    for (int i = 0; i < 50; ++i) {
        const std::string text = std::string(37 + i % 50, char('a' + i % 26)) + std::to_string(i);
        const std::uint64_t at = slot.text.write(text);
        ASSERT_NE(at, kNoBlock);
        EXPECT_EQ(slot.text.read(at, std::uint32_t(text.size())), text);
    }
    EXPECT_EQ(slot.text.write(std::string(257, 'x')), kNoBlock);
}

TEST(ShmBlocks, HashFlagsNanAndInfAndChangesWithOneBit)
{
    std::vector<float> a(64, 0.25f), b(64, 0.25f);
    const float *pa[1] = {a.data()};
    const float *pb[1] = {b.data()};
    bool bad = true;
    const auto h = blockHash(pa, 1, 64, bad);
    EXPECT_FALSE(bad);
    b[17] = std::nextafter(0.25f, 1.0f);
    EXPECT_NE(blockHash(pb, 1, 64, bad), h);
    b[17] = std::numeric_limits<float>::quiet_NaN();
    blockHash(pb, 1, 64, bad);
    EXPECT_TRUE(bad);
    b[17] = -std::numeric_limits<float>::infinity();
    blockHash(pb, 1, 64, bad);
    EXPECT_TRUE(bad);
}

TEST(ShmBlocks, ABlockIsReadOnlyForItsOwnFrameAndHashChecked)
{
    auto seg = Segment::create(uniqueInstance("block"), smallGeometry());
    ASSERT_TRUE(seg) << seg.error();
    const SlotView slot = (*seg)->slot(0);
    publishBlock(slot, 640, 3, [](float *const *ch) {
        for (int c = 0; c < 2; ++c)
            for (int i = 0; i < 64; ++i)
                ch[c][i] = float(i * (c + 1));
    });
    std::vector<float> l(64), r(64);
    float *out[2] = {l.data(), r.data()};
    BlockRead got = readBlock(slot, 640, out);
    EXPECT_TRUE(got.present && got.hashOk && !got.nonFinite);
    EXPECT_EQ(r[10], 20.0f);
    EXPECT_FALSE(readBlock(slot, 640 + 64 * 16, nullptr).present) << "same ring index, other frame";
    EXPECT_FALSE(readBlock(slot, 704, nullptr).present);
    slot.blockChannel(slot.block(640), 0)[5] = 99.0f; // corrupt behind the producer's back
    got = readBlock(slot, 640, nullptr);
    EXPECT_TRUE(got.present);
    EXPECT_FALSE(got.hashOk);
}

TEST(ShmProcesses, RecordsCrossProcessesInOrderWithoutLoss)
{
    const std::string instance = uniqueInstance("xproc");
    Geometry g = smallGeometry();
    g.eventCapacity = 256;
    auto seg = Segment::create(instance, g);
    ASSERT_TRUE(seg) << seg.error();
    constexpr std::uint64_t kCount = 200000;
    const pid_t child = fork();
    if (child == 0) {
        auto mine = Segment::open(instance);
        if (!mine)
            _exit(2);
        const SlotView slot = (*mine)->slot(0);
        for (std::uint64_t i = 0; i < kCount;) {
            CommandRecord r;
            r.frame = i;
            r.event.value = float(i % 1000);
            if (slot.events.tryPush(r))
                ++i;
        }
        _exit(0);
    }
    const SlotView slot = (*seg)->slot(0);
    std::uint64_t expect = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (expect < kCount && std::chrono::steady_clock::now() < deadline) {
        CommandRecord r;
        if (!slot.events.tryPop(r))
            continue;
        ASSERT_EQ(r.frame, expect);
        ASSERT_EQ(r.event.value, float(expect % 1000));
        ++expect;
    }
    EXPECT_EQ(expect, kCount);
    int st = 0;
    waitpid(child, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

TEST(ShmSegment, IsPrivateToItsOwnerAndRefusedWhileItsOwnerLives)
{
    const std::string instance = uniqueInstance("owner");
    int pipeFd[2];
    ASSERT_EQ(pipe(pipeFd), 0);
    const pid_t owner = fork();
    if (owner == 0) {
        auto seg = Segment::create(instance, smallGeometry());
        const char ok = seg ? 'y' : 'n';
        (void)!write(pipeFd[1], &ok, 1);
        pause();
        _exit(0);
    }
    char ok = 0;
    ASSERT_EQ(read(pipeFd[0], &ok, 1), 1);
    ASSERT_EQ(ok, 'y');
    struct stat info{};
    ASSERT_EQ(stat(("/dev/shm/" + segmentName(instance)).c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);

    auto second = Segment::create(instance, smallGeometry());
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().find("already running"), std::string::npos) << second.error();

    kill(owner, SIGKILL); // dies without removing its segment
    waitpid(owner, nullptr, 0);
    bool stale = false;
    auto third = Segment::create(instance, smallGeometry(), &stale);
    ASSERT_TRUE(third) << third.error();
    EXPECT_TRUE(stale);
    auto reader = Segment::open(instance);
    ASSERT_TRUE(reader) << reader.error();
    EXPECT_EQ((*reader)->header().supervisorPid, getpid());
}

TEST(ShmSegment, OpeningSomethingElseFailsWithAReason)
{
    auto missing = Segment::open(uniqueInstance("missing"));
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().find("cannot open"), std::string::npos);
    Geometry bad = smallGeometry();
    bad.ringBlocks = 12;
    auto created = Segment::create(uniqueInstance("bad"), bad);
    ASSERT_FALSE(created);
    EXPECT_NE(created.error().find("power of two"), std::string::npos);
}

} // namespace
