// Take names without JACK: default names, escapes refused, no overwrite, part names.
#include "harness/gtest_support.hpp"
#include "recorder/naming.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <unistd.h>

using namespace chronus::rec;
namespace fs = std::filesystem;

namespace {

struct NamingTest : ::testing::Test {
    fs::path dir;
    void SetUp() override
    {
        dir = chronus::harness::freshTestDir("chronus-naming-test");
        fs::create_directories(dir / "rec");
    }
    void TearDown() override { fs::remove_all(dir); }
};

} // namespace

TEST(Naming, DefaultNameIsChronusDateTimeInLocalTime)
{
    setenv("TZ", "UTC", 1);
    tzset();
    EXPECT_EQ(defaultName(1700000000, ".wav"), "chronus_20231114_221320.wav");
    setenv("TZ", "Asia/Kolkata", 1); // +05:30, where the zone database has it
    tzset();
    const std::string local = defaultName(1700000000, ".flac");
    EXPECT_TRUE(std::regex_match(local, std::regex("chronus_[0-9]{8}_[0-9]{6}\\.flac"))) << local;
    unsetenv("TZ");
    tzset();
}

TEST(Naming, PartNamesAreNumberedFromOneWithFourDigits)
{
    EXPECT_EQ(partName("/r/take.wav", 1), fs::path("/r/take_0001.wav"));
    EXPECT_EQ(partName("/r/take.wav", 2), fs::path("/r/take_0002.wav"));
    EXPECT_EQ(partName("/r/sub/x.flac", 123), fs::path("/r/sub/x_0123.flac"));
    EXPECT_EQ(partName("/r/take.wav", 12345), fs::path("/r/take_12345.wav"));
}

TEST_F(NamingTest, NamesThatEscapeTheDirectoryAreRefused)
{
    const fs::path rec = dir / "rec";
    for (const std::string &bad : std::vector<std::string>{"../x", "/tmp/x", "a/../../x", "sub/../../../x", "..", ".", "", "sub/..",
                                  (dir / "x").string()})
        EXPECT_FALSE(resolveInside(rec, bad, ".wav")) << "'" << bad << "' accepted";
    // A symlinked subdirectory that leads out is refused too.
    fs::create_directory_symlink(dir, rec / "out");
    EXPECT_FALSE(resolveInside(rec, "out/x", ".wav"));
    EXPECT_FALSE(fs::exists(dir / "x.wav"));
}

TEST_F(NamingTest, NamesInsideResolveWithTheExtensionAndCreateSubdirectories)
{
    const fs::path rec = fs::canonical(dir / "rec");
    auto a = resolveInside(dir / "rec", "take", ".wav");
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(*a, rec / "take.wav");
    auto b = resolveInside(dir / "rec", "deep/er/take.flac", ".wav");
    ASSERT_TRUE(b) << b.error();
    EXPECT_EQ(*b, rec / "deep" / "er" / "take.flac");
    EXPECT_TRUE(fs::is_directory(rec / "deep" / "er"));
    auto c = resolveInside(dir / "rec", (rec / "abs").string(), ".wav"); // absolute but inside
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(*c, rec / "abs.wav");
    auto d = resolveInside(dir / "rec", "x/../y", ".wav"); // stays inside
    ASSERT_TRUE(d) << d.error();
    EXPECT_EQ(*d, rec / "y.wav");
}

TEST_F(NamingTest, ExistingFilesAreNeverOverwrittenAUniqueSuffixIsAdded)
{
    const fs::path want = dir / "rec" / "take.wav";
    {
        std::ofstream(want) << "keep me";
    }
    auto a = createUnique(want);
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(a->path, dir / "rec" / "take-1.wav");
    auto b = createUnique(want);
    ASSERT_TRUE(b) << b.error();
    EXPECT_EQ(b->path, dir / "rec" / "take-2.wav");
    close(a->fd);
    close(b->fd);
    std::ifstream in(want);
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "keep me");
    auto fresh = createUnique(dir / "rec" / "new.wav");
    ASSERT_TRUE(fresh);
    EXPECT_EQ(fresh->path, dir / "rec" / "new.wav");
    close(fresh->fd);
    EXPECT_FALSE(createUnique(dir / "missing-dir" / "x.wav"));
}

TEST_F(NamingTest, AFirstPartIsNamedUniquelyAsAPartAndNamesTheRootOfItsSiblings)
{
    const fs::path rec = dir / "rec";
    auto a = createUnique(rec / "take.wav", 1);
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(a->path, rec / "take_0001.wav");
    EXPECT_EQ(a->base, rec / "take.wav");
    EXPECT_EQ(partName(a->base, 2), rec / "take_0002.wav");
    // take_0001.wav exists now: the next take's parts move to another root as a whole,
    // even though take.wav itself is free.
    auto b = createUnique(rec / "take.wav", 1);
    ASSERT_TRUE(b) << b.error();
    EXPECT_EQ(b->path, rec / "take-1_0001.wav");
    EXPECT_EQ(b->base, rec / "take-1.wav");
    EXPECT_FALSE(fs::exists(rec / "take.wav"));
    close(a->fd);
    close(b->fd);
}
